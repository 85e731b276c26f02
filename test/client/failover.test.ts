// Failover of natsmesh/client when a node dies (SIGKILL), with a real
// ZooKeeper (tick 500 ms) and real node processes whose sessions time out
// after 2 s. Timings are printed, never asserted.
import t from 'tap'
import { startZooKeeper } from '../helpers/zookeeper.js'
import {
  NumberReceiver, NumberedPublisher, connectTo, interestBarrier, startMeshNode, startNodes, uniqueSubject, until, waitForMesh,
} from '../helpers/cluster.js'
import { connectClient, nodeOf } from '../helpers/client-cluster.js'

const zk = await startZooKeeper({ tickTimeMs: 500 })
t.teardown(() => zk.stop())
const clientOptions = { zookeeper: zk.connectString, zkSessionTimeoutMs: 2_000 }


t.test('a subscriber whose node is SIGKILLed resumes on another node: no duplicate, order kept', async (t) => {
  const nodes = await startNodes(t, zk.connectString, 'x', 3)
  await waitForMesh(nodes)
  const sub = await connectClient(t, { ...clientOptions, cluster: 'x' })
  const subNode = nodeOf(nodes, sub.nc)
  const pubNode = nodes.find((n) => n !== subNode) ?? subNode
  const pubConn = await connectTo(t, pubNode)
  const subject = uniqueSubject('failover')
  const rx = new NumberReceiver(sub.nc, subject)
  await sub.nc.flush()
  await interestBarrier(pubConn, sub.nc)

  const publisher = new NumberedPublisher(pubConn, subject)
  publisher.start(t, 2)
  await rx.waitFor(50)
  const receivedBeforeKill = rx.last
  const killedAt = Date.now()
  await subNode.kill('SIGKILL')
  const exitedAt = Date.now()
  await until('the subscriber reconnects', () => sub.of('reconnected').length > 0, 15_000)
  const reconnected = sub.of('reconnected')[0]
  await rx.waitFor(publisher.published + 20)
  const last = await publisher.stop()
  await rx.waitFor(last)

  const resumed = rx.firstAfter(exitedAt)
  t.ok(resumed !== null, 'messages arrive again after the failover')
  t.not(sub.nc.getServer(), subNode.hostPort, 'the client is on another node')
  t.equal(reconnected.planned, false, 'the failover was not a planned move')
  t.equal(rx.duplicates(), 0, 'no message arrives twice')
  t.equal(rx.outOfOrder(), 0, 'messages arrive in publish order')
  t.equal(rx.missing(1, receivedBeforeKill), 0, 'nothing was lost before the kill')
  t.equal(resumed === null ? -1 : rx.missing(resumed.number, last), 0, 'nothing is lost from the first message after the failover on')
  t.comment(`failover: SIGKILL → first message again ${resumed === null ? '?' : resumed.time - killedAt} ms ` +
    `(socket closed → reconnected ${reconnected.gapMs} ms); ${rx.missing(1, last)} of ${last} lost inside the window`)
})

t.test('requests keep being answered when the responder\'s node dies: the handler moves with the client', async (t) => {
  const nodes = await startNodes(t, zk.connectString, 'r', 3)
  await waitForMesh(nodes)
  const responder = await connectClient(t, { ...clientOptions, cluster: 'r' })
  const responderNode = nodeOf(nodes, responder.nc)
  const subject = uniqueSubject('svc')
  let handled = 0
  responder.nc.subscribe(subject, { callback: (_err, msg) => { handled++; msg.respond(`pong ${msg.string()}`) } })
  await responder.nc.flush()
  const requesterNode = nodes.find((n) => n !== responderNode) ?? responderNode
  const requester = await connectTo(t, requesterNode)
  await interestBarrier(requester, responder.nc)
  t.equal((await requester.request(subject, '1', { timeout: 2_000 })).string(), 'pong 1', 'answered before the kill')

  await responderNode.kill('SIGKILL')
  await until('the responder reconnects', () => responder.of('reconnected').length > 0, 15_000)
  // Its SUB travels to the requester's node as RS+: retry until it got there (bounded).
  let answer = ''
  for (let i = 0; i < 50 && answer === ''; i++) {
    answer = await requester.request(subject, '2', { timeout: 200 }).then((m) => m.string(), () => '')
  }
  t.equal(answer, 'pong 2', 'the same subscription answers from its new node')
  t.ok(handled >= 2, 'the handler ran again after the failover')
})

t.test('a node added while the client runs becomes its failover target when its node dies', async (t) => {
  const [a] = await startNodes(t, zk.connectString, 'grow', 1)
  const client = await connectClient(t, { ...clientOptions, cluster: 'grow' })
  t.equal(client.nc.getServer(), a.hostPort, 'the client is on the only node')
  const added = await startMeshNode(t, { label: 'N', zk: zk.connectString, cluster: 'grow' })
  await until('the client hears of the new node', () => client.of('members').some((e) => e.added.includes(added.hostPort)))
  await waitForMesh([a, added])
  const subject = uniqueSubject('grow')
  const rx = new NumberReceiver(client.nc, subject)
  await client.nc.flush()

  const killedAt = Date.now()
  await a.kill('SIGKILL')
  await until('the client reconnects', () => client.of('reconnected').length > 0, 15_000)
  t.equal(client.nc.getServer(), added.hostPort, 'the client moved to the node added after it connected')
  const pubConn = await connectTo(t, added)
  await interestBarrier(pubConn, client.nc)
  pubConn.publish(subject, '1')
  await rx.waitFor(1)
  t.pass('its subscription works on the new node')
  t.comment(`failover to the added node: reconnected ${client.of('reconnected')[0].gapMs} ms after the socket closed, ` +
    `${Date.now() - killedAt} ms after SIGKILL until a round trip through it`)
})
