// Membership changes under traffic, with a real ZooKeeper (tick 500 ms) and
// nodes whose sessions time out after 2 s: a node joins while A streams to B,
// a node is SIGKILLed and restarted with a new server id, and clients see the
// live nodes in INFO's connect_urls. The subtests run in order on one cluster.
import t from 'tap'
import type { NatsConnection } from 'nats'
import { RawClient } from '../helpers/raw-client.js'
import { startZooKeeper } from '../helpers/zookeeper.js'
import {
  NumberReceiver, NumberedPublisher, connectTo, interestBarrier, memberIds, sameIds, startMeshNode, startZkCluster,
  uniqueSubject, until, waitForMesh, watchMembers, type MeshNode,
} from '../helpers/cluster.js'

const zk = await startZooKeeper({ tickTimeMs: 500 })
t.teardown(() => zk.stop())
// Routes PING every second, so a hung peer is dropped after 2–3 s.
const NODE_ARGS = ['--route_ping_interval', '1s']
const [A, B, C] = await startZkCluster(t, zk.connectString, 3, NODE_ARGS)
await waitForMesh([A, B, C])
const members = await watchMembers(t, zk.connectString)
await until('the watch-only discovery sees A, B and C', () => sameIds(members.members(), [A, B, C]))
let D: MeshNode | null = null
const suite = t

function connectUrls(nc: NatsConnection): string[] {
  return [...(nc.info?.connect_urls ?? [])].sort()
}

function hostPorts(nodes: MeshNode[]): string[] {
  return nodes.map((n) => n.hostPort).sort()
}

/** A raw client that announced protocol 1, so the node sends it INFO updates. */
function rawProtocol1Client(node: MeshNode): Promise<RawClient> {
  return RawClient.setupConn(t, node.port, { protocol: 1 })
}

t.test('a fourth node joins while A streams to B: B loses nothing, a client on the new node starts receiving, and clients learn its URL', async (t) => {
  const subject = uniqueSubject('join')
  const pubConn = await connectTo(t, A)
  const subConn = await connectTo(t, B)
  const infoConn = await connectTo(t, A)
  const raw = await rawProtocol1Client(A)
  await until('connect_urls on A name A, B and C', () => connectUrls(infoConn).join() === hostPorts([A, B, C]).join())
  t.same(connectUrls(infoConn), hostPorts([A, B, C]), 'before the join, connect_urls lists the three live nodes')

  const rx = new NumberReceiver(subConn, subject)
  await interestBarrier(pubConn, subConn)
  const publisher = new NumberedPublisher(pubConn, subject)
  publisher.start(t, 5)
  const spawnedAt = Date.now()
  // Registered on the file's tap object: D outlives this subtest.
  D = await startMeshNode(suite, { label: 'D', zk: zk.connectString, extraArgs: NODE_ARGS })
  const upMs = Date.now() - spawnedAt
  const dConn = await connectTo(t, D)
  const rxD = new NumberReceiver(dConn, subject)
  await dConn.flush()
  await until('the client on D receives the stream', () => rxD.seen.length > 0, 15_000)
  const firstMs = Date.now() - spawnedAt
  const joined = D
  await until('connect_urls on A include D', () => connectUrls(infoConn).includes(joined.hostPort), 15_000)
  t.comment(`join: D's client port up ${upMs} ms after spawn; D's client got the A→B stream ${firstMs} ms after spawn; ` +
    `A's client saw D in connect_urls ${Date.now() - spawnedAt} ms after spawn`)
  const meshMs = await waitForMesh([A, B, C, D])
  t.comment(`join: 4-node mesh verified ${Date.now() - spawnedAt} ms after spawn (waitForMesh ${meshMs} ms)`)
  const published = await publisher.stop()
  await until('B has the last number', () => rx.last === published, 10_000)
  await until('D has the last number', () => rxD.last === published, 10_000)
  t.same(rx.report(published), { published, received: published, lost: 0, duplicates: 0, outOfOrder: 0, longestGap: 0 },
    `B got all ${published} messages A published across the join, once each, in order`)
  const fromD = rxD.report(published, rxD.seen[0])
  t.equal(fromD.lost + fromD.duplicates + fromD.outOfOrder, 0, `once D's client started receiving (at #${rxD.seen[0]}), it missed, doubled and reordered nothing`)
  t.same(connectUrls(infoConn), hostPorts([A, B, C, D]), 'connect_urls on A lists all four nodes')
  t.ok(raw.text().split('\r\n').filter((l) => l.startsWith('INFO ')).some((l) => l.includes(`"${joined.hostPort}"`)),
    'a raw protocol-1 client got an async INFO naming D')
  await until('the watch-only discovery sees four members', () => sameIds(members.members(), [A, B, C, joined]))
  t.pass('ZooKeeper lists A, B, C and D')
})

t.test('a SIGKILLed node leaves the others exchanging without loss; restarted with a new id it rejoins and its old znode expires', async (t) => {
  t.ok(D !== null, 'D joined in the previous test')
  if (D === null) return
  const joined = D
  const survivors = [A, B, joined]
  const ab = uniqueSubject('ab')
  const ba = uniqueSubject('ba')
  const connA = await connectTo(t, A)
  const connB = await connectTo(t, B)
  const infoConn = await connectTo(t, A)
  const rxAB = new NumberReceiver(connB, ab)
  const rxBA = new NumberReceiver(connA, ba)
  await interestBarrier(connA, connB)
  await interestBarrier(connB, connA)
  const pubAB = new NumberedPublisher(connA, ab)
  const pubBA = new NumberedPublisher(connB, ba)
  pubAB.start(t, 5)
  pubBA.start(t, 5)
  await until('the streams flow', () => rxAB.seen.length > 20 && rxBA.seen.length > 20)
  await until('connect_urls on A list four nodes', () => connectUrls(infoConn).length === 4)

  const oldId = C.serverId
  const killedAt = Date.now()
  await C.kill('SIGKILL')
  await until('A, B and D each drop their route to C', () => survivors.every((n) => n.liveRoutes() === 2), 15_000)
  const routesMs = Date.now() - killedAt
  await until('connect_urls on A drop C', () => !connectUrls(infoConn).includes(C.hostPort), 15_000)
  const urlsMs = Date.now() - killedAt
  t.same(connectUrls(infoConn), hostPorts(survivors), 'connect_urls on A list the three live nodes')

  // The same client and route ports, a new process: a new server id. Peers may
  // still be redialing the old id's URL, which now answers with the new id.
  const C2 = await startMeshNode(t, { label: 'C2', zk: zk.connectString, port: C.port, routePort: C.routePort, extraArgs: NODE_ARGS })
  t.not(C2.serverId, oldId, 'the restarted node has a new server id')
  const meshMs = await waitForMesh([A, B, C2, joined])
  const rejoinMs = Date.now() - killedAt
  await until('ZooKeeper drops the old id and lists the new one', () => {
    const ids = memberIds(members.members())
    return !ids.includes(oldId) && sameIds(members.members(), [A, B, C2, joined])
  }, 20_000)
  const expiredAfter = Date.now() - killedAt
  t.comment(`failover: every peer had closed its route to C ${routesMs} ms after the SIGKILL began; A's clients had INFO without C ` +
    `${urlsMs} ms after; C restarted and meshed ${rejoinMs} ms after (waitForMesh ${meshMs} ms); ` +
    `the watch-only view had the old id gone and the new one in ${expiredAfter} ms after (session timeout 2000 ms)`)
  await until('connect_urls on A include the restarted node', () => connectUrls(infoConn).includes(C2.hostPort), 15_000)
  t.same(connectUrls(infoConn), hostPorts([A, B, C2, joined]), 'connect_urls on A list the four live nodes again')

  const lastAB = await pubAB.stop()
  const lastBA = await pubBA.stop()
  await until('both streams drained', () => rxAB.last === lastAB && rxBA.last === lastBA, 10_000)
  const clean = { lost: 0, duplicates: 0, outOfOrder: 0, longestGap: 0 }
  const repAB = rxAB.report(lastAB)
  const repBA = rxBA.report(lastBA)
  t.match(repAB, { published: lastAB, received: lastAB, ...clean }, `A→B: all ${lastAB} across the kill and the rejoin, once each, in order`)
  t.match(repBA, { published: lastBA, received: lastBA, ...clean }, `B→A: all ${lastBA} across the kill and the rejoin, once each, in order`)
})

t.test('a node paused (SIGSTOP) past the route PING timeout is dropped by its peers and rejoins when resumed, and the others lose nothing', async (t) => {
  t.ok(D !== null, 'D joined in the first test')
  if (D === null) return
  const paused = D
  // C2 of the previous test is gone with it: A, B and D are left.
  await waitForMesh([A, B, paused])
  const subject = uniqueSubject('pause')
  const connA = await connectTo(t, A)
  const connB = await connectTo(t, B)
  const rx = new NumberReceiver(connB, subject)
  await interestBarrier(connA, connB)
  const publisher = new NumberedPublisher(connA, subject)
  publisher.start(t, 5)
  const pausedAt = Date.now()
  paused.process.kill('SIGSTOP')
  t.teardown(() => { paused.process.kill('SIGCONT') })
  await until('A and B drop their stale routes to D', () => A.liveRoutes() === 1 && B.liveRoutes() === 1, 15_000)
  const droppedMs = Date.now() - pausedAt
  await until('D\'s session expires', () => !memberIds(members.members()).includes(paused.serverId), 15_000)
  paused.process.kill('SIGCONT')
  const resumedAt = Date.now()
  const meshMs = await waitForMesh([A, B, paused], 20_000)
  t.comment(`pause: A and B dropped D ${droppedMs} ms after SIGSTOP (route PING every 1 s, 2 unanswered); ` +
    `D resumed after ${resumedAt - pausedAt} ms and meshed again ${Date.now() - resumedAt} ms later (waitForMesh ${meshMs} ms)`)
  await until('D is registered again', () => sameIds(members.members(), [A, B, paused]), 15_000)
  const last = await publisher.stop()
  await until('B has the last number', () => rx.last === last, 10_000)
  t.same(rx.report(last), { published: last, received: last, lost: 0, duplicates: 0, outOfOrder: 0, longestGap: 0 },
    `A→B: all ${last} messages while D hung and came back, once each, in order`)
})
