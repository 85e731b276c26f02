// ZooKeeper is the control plane only (DESIGN.md "ZooKeeper"): losing it for
// longer than the session timeout changes nothing for messages between nodes,
// every node registers again when it is back, and a node started while it is
// down serves its own clients and joins later. Real ZooKeeper (tick 500 ms),
// node sessions of 2 s. The subtests run in order on one cluster.
import t from 'tap'
import { freePort } from '../helpers/free-port.js'
import { memberPath, startTcpProxy, startZooKeeper, withZooKeeperSession, znodeStat } from '../helpers/zookeeper.js'
import {
  CLUSTER_NAME, NumberReceiver, NumberedPublisher, connectTo, interestBarrier, memberIds, sameIds, sleep, startMeshNode,
  startZkCluster, uniqueSubject, until, waitForMesh, watchMembers,
} from '../helpers/cluster.js'

const OUTAGE_MS = 5_000
const zk = await startZooKeeper({ tickTimeMs: 500 })
t.teardown(() => zk.stop())
const nodes = await startZkCluster(t, zk.connectString, 3)
const [A, B, C] = nodes
await waitForMesh(nodes)
const suite = t

/** The creation time (ms since the epoch, ZooKeeper's clock) of each node's znode; -1 where there is none. */
async function znodeCreatedAt(ids: string[]): Promise<number[]> {
  return withZooKeeperSession(zk.connectString, (client) => Promise.all(ids.map(async (id) => {
    const stat = await znodeStat(client, memberPath(CLUSTER_NAME, id))
    return stat === null ? -1 : Number(stat.ctime.readBigInt64BE(0))
  })), { sessionTimeout: 2_000, retries: 0 }, 5_000)
}

t.test('stopping ZooKeeper for longer than the session timeout loses, doubles and reorders nothing between nodes; every node registers again', async (t) => {
  const ab = uniqueSubject('ab')
  const ca = uniqueSubject('ca')
  const connA = await connectTo(t, A)
  const connB = await connectTo(t, B)
  const connC = await connectTo(t, C)
  const rxAB = new NumberReceiver(connB, ab)
  const rxCA = new NumberReceiver(connA, ca)
  await interestBarrier(connA, connB)
  await interestBarrier(connC, connA)
  const pubAB = new NumberedPublisher(connA, ab)
  const pubCA = new NumberedPublisher(connC, ca)
  // 200 messages a second each.
  pubAB.start(t, 5)
  pubCA.start(t, 5)
  await until('both streams flow', () => rxAB.seen.length >= 50 && rxCA.seen.length >= 50, 10_000)

  // Everything each node logs from here on is about the outage and after.
  const logMarks = nodes.map((n) => n.output().length)
  await zk.kill()
  const publishedAtKill = { ab: pubAB.published, ca: pubCA.published }
  t.comment(`ZooKeeper killed; down for ${OUTAGE_MS} ms (node session timeout 2000 ms)`)
  await sleep(OUTAGE_MS)
  // Only numbers published after the kill and received before the restart count.
  const flowedWhileDown = {
    ab: rxAB.seen.filter((n) => n > publishedAtKill.ab).length,
    ca: rxCA.seen.filter((n) => n > publishedAtKill.ca).length,
  }
  t.ok(flowedWhileDown.ab > 0 && flowedWhileDown.ca > 0,
    `messages flowed while ZooKeeper was down (published after the kill, received before the restart: A→B ${flowedWhileDown.ab}, C→A ${flowedWhileDown.ca})`)
  const restartedAt = Date.now()
  await zk.restart()
  const zkUpMs = Date.now() - restartedAt
  const publishedAtRestart = { ab: pubAB.published, ca: pubCA.published }
  await until('both streams deliver messages published after the restart',
    () => rxAB.last > publishedAtRestart.ab + 50 && rxCA.last > publishedAtRestart.ca + 50, 10_000)
  const lastAB = await pubAB.stop()
  const lastCA = await pubCA.stop()
  await until('both streams drained', () => rxAB.last === lastAB && rxCA.last === lastCA, 10_000)
  const clean = { lost: 0, duplicates: 0, outOfOrder: 0, longestGap: 0 }
  t.match(rxAB.report(lastAB), { published: lastAB, received: lastAB, ...clean }, `A→B: all ${lastAB} messages across the outage, once each, in order`)
  t.match(rxCA.report(lastCA), { published: lastCA, received: lastCA, ...clean }, `C→A: all ${lastCA} messages across the outage, once each, in order`)
  // Created minus closed would hide a route that closed and was dialed again: count closes and creations since the kill.
  const since = (i: number, what: RegExp): number => nodes[i].output().slice(logMarks[i]).match(what)?.length ?? 0
  t.same(nodes.map((_, i) => since(i, /Route connection closed/g)), [0, 0, 0], 'no route was closed')
  t.same(nodes.map((_, i) => since(i, /Route connection created/g)), [0, 0, 0], 'and none was created: no redial')
  t.same(nodes.map((n) => n.liveRoutes()), [2, 2, 2], 'each node still has its two routes')

  // Registered again: each node's znode was created by a new session after the restart.
  const members = await watchMembers(t, zk.connectString)
  await until('every node has a znode created after ZooKeeper came back, and nothing else is listed', async () => {
    if (!sameIds(members.members(), nodes)) return false
    const created = await znodeCreatedAt(nodes.map((n) => n.serverId))
    return created.every((ms) => ms >= restartedAt - 1_000)
  }, 20_000, 200)
  t.comment(`ZooKeeper back in ${zkUpMs} ms; all three nodes registered again (new znodes, watch-only view A/B/C) ${Date.now() - restartedAt} ms after the restart began`)
  t.ok(nodes.every((n) => /registered \/natsmesh\/clusters\/x\/nodes\//.test(n.output().split('counts as lost').slice(1).join(''))),
    'each node logged that it counted its session as lost, then registered again')
})

t.test('a node started while ZooKeeper is down serves its own clients, and joins the cluster when ZooKeeper is back', async (t) => {
  await zk.kill()
  const D = await startMeshNode(suite, { label: 'D', zk: zk.connectString })
  const pub = await connectTo(t, D)
  const subConn = await connectTo(t, D)
  const subject = uniqueSubject('alone')
  const rx = new NumberReceiver(subConn, subject)
  await subConn.flush()
  for (let i = 1; i <= 100; i++) pub.publish(subject, String(i))
  await pub.flush()
  await until('D delivers to its own clients', () => rx.seen.length === 100, 10_000)
  t.same(rx.report(100), { published: 100, received: 100, lost: 0, duplicates: 0, outOfOrder: 0, longestGap: 0 }, 'D serves its own clients alone')
  t.equal(D.liveRoutes(), 0, 'D has no routes while ZooKeeper is down')

  const restartedAt = Date.now()
  await zk.restart()
  const meshMs = await waitForMesh([A, B, C, D], 30_000)
  t.comment(`ZooKeeper back: D meshed with A, B and C ${Date.now() - restartedAt} ms after the restart began (waitForMesh ${meshMs} ms)`)
  t.same([A, B, C, D].map((n) => n.liveRoutes()), [3, 3, 3, 3], 'four nodes, three routes each')
})

t.test('a node whose ZooKeeper session expired while its routes stayed up is redialed when one of those routes breaks later', async (t) => {
  // Own cluster name, so nodes A–D above do not take part. Each node reaches
  // ZooKeeper through its own proxy (to cut one node off) and is dialed
  // through a proxy in front of its route port (to break its routes).
  const cluster = 'y'
  const setups = await Promise.all(['P', 'Q', 'R'].map(async (label) => {
    const routePort = await freePort()
    const routeProxy = await startTcpProxy(routePort)
    const zkProxy = await startTcpProxy(zk.port)
    t.teardown(() => routeProxy.close())
    t.teardown(() => zkProxy.close())
    const node = await startMeshNode(t, {
      label, cluster, zk: zkProxy.connectString, routePort,
      extraArgs: ['--cluster_advertise', `127.0.0.1:${routeProxy.port}`, '--route_ping_interval', '1s'],
    })
    return { node, routeProxy, zkProxy }
  }))
  const meshNodes = setups.map((s) => s.node)
  await waitForMesh(meshNodes)
  const members = await watchMembers(t, zk.connectString, cluster)
  await until('ZooKeeper lists P, Q and R', () => sameIds(members.members(), meshNodes))
  // The highest id is dialed by both others: they are the ones that must redial it.
  const victim = setups.reduce((max, s) => (s.node.serverId > max.node.serverId ? s : max))
  t.comment(`cutting ${victim.node.label} (the highest server id) off from ZooKeeper`)

  const cutAt = Date.now()
  victim.zkProxy.cut()
  await until(`${victim.node.label}'s session expires and its znode goes`, () => !memberIds(members.members()).includes(victim.node.serverId), 20_000)
  const goneMs = Date.now() - cutAt
  await waitForMesh(meshNodes)
  t.pass('while it is not in ZooKeeper, its routes stay and carry messages')
  victim.zkProxy.heal()
  await until(`${victim.node.label} registers again`, () => sameIds(members.members(), meshNodes), 20_000)
  // And the others have seen it leave and come back (their discovery logs `+<id>` a second time).
  const others = meshNodes.filter((n) => n !== victim.node)
  await until('the other nodes saw it come back', () => others.every((n) => n.output().split(`+${victim.node.serverId}`).length > 2), 20_000)
  t.comment(`${victim.node.label}'s znode gone ${goneMs} ms after the cut; back ${Date.now() - cutAt} ms after the cut`)

  // Now its routes break (not its process): the lower ids must dial it again.
  const routesBefore = meshNodes.map((n) => n.liveRoutes())
  victim.routeProxy.cut()
  await until('both routes to it close', () => victim.node.liveRoutes() === 0, 15_000)
  victim.routeProxy.heal()
  const brokeAt = Date.now()
  const meshMs = await waitForMesh(meshNodes, 20_000)
  t.comment(`routes to ${victim.node.label} redialed and carrying messages ${Date.now() - brokeAt} ms after the break (waitForMesh ${meshMs} ms)`)
  t.same(routesBefore, [2, 2, 2], 'three routes before the break')
  await until('two routes per node again', () => meshNodes.every((n) => n.liveRoutes() === 2), 10_000)
  t.pass('every node has its two routes back')
})
