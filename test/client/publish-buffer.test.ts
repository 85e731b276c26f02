// Publishes made while a client is between nodes. Plain nats.js 2.29 drops
// them (it resets its outbound buffer before each dial): the first test pins
// that down, since it is why natsmesh/client has a publish buffer. The others
// show the buffer keeping them, in order, within its bound.
import { connect as natsConnect, Events, type NatsConnection } from 'nats'
import t from 'tap'
import { CLIENT_ERROR_CODES, ClientError } from '../../src/client/index.js'
import { NatsInternals } from '../../src/client/nats-internals.js'
import { startZooKeeper } from '../helpers/zookeeper.js'
import {
  NumberReceiver, closeQuietly, connectTo, interestBarrier, sleep, startNodes, uniqueSubject, until,
} from '../helpers/cluster.js'
import { connectClient, nodeOf } from '../helpers/client-cluster.js'

const zk = await startZooKeeper({ tickTimeMs: 500 })
t.teardown(() => zk.stop())

t.test('plain nats.js drops what is published while it reconnects (why the buffer exists)', async (t) => {
  const [a, b] = await startNodes(t, zk.connectString, 'plain-drop', 2)
  const sub = await connectTo(t, b)
  const subject = uniqueSubject('drop')
  const rx = new NumberReceiver(sub, subject)
  await sub.flush()
  // noRandomize: on A first, B is where it goes when A dies.
  const pub = await natsConnect({ servers: [a.url, b.url], noRandomize: true, ignoreClusterUpdates: true, maxReconnectAttempts: -1 })
  t.teardown(() => closeQuietly(pub))
  t.equal(pub.getServer(), a.hostPort, 'the plain client is on A')
  await interestBarrier(pub, sub)
  pub.publish(subject, '1')
  await rx.waitFor(1)

  const reconnected = (async () => {
    for await (const s of pub.status()) {
      // Published the moment nats.js reports the disconnect: before it is on B.
      if (s.type === Events.Disconnect) for (let n = 2; n <= 5; n++) pub.publish(subject, String(n))
      if (s.type === Events.Reconnect) return
    }
  })()
  await a.kill('SIGKILL')
  await reconnected
  pub.publish(subject, '6')
  await rx.waitFor(6)
  t.same(rx.seen, [1, 6], 'nats.js dropped the four publishes made while disconnected')
})

t.test('natsmesh/client keeps what is published while it reconnects and sends it first, in order', async (t) => {
  const [a, b] = await startNodes(t, zk.connectString, 'kept', 2)
  const sub = await connectTo(t, b)
  const subject = uniqueSubject('kept')
  const rx = new NumberReceiver(sub, subject)
  await sub.flush()
  let pub: NatsConnection | null = null
  /** Publishes made while nats.js had no connection (its own flag, read at each publish). */
  let publishedBetween = 0
  const recorded = await connectClient(t, {
    servers: [a.url, b.url], noRandomize: true, ignoreClusterUpdates: true, maxReconnectAttempts: -1,
    onEvent: (e) => {
      if (e.type !== 'disconnected' || pub === null) return
      const internals = NatsInternals.fromConnection(pub)
      for (let n = 2; n <= 500; n++) {
        pub.publish(subject, String(n))
        if (!internals.isConnected()) publishedBetween++
      }
    },
  })
  pub = recorded.nc
  t.equal(pub.getServer(), a.hostPort, 'the client is on A')
  await interestBarrier(pub, sub)
  pub.publish(subject, '1')
  await rx.waitFor(1)

  await a.kill('SIGKILL')
  await until('the client reconnected', () => recorded.of('reconnected').length > 0, 10_000)
  pub.publish(subject, '501')
  await rx.waitFor(501)
  t.equal(publishedBetween, 499, '499 publishes were made between the nodes')
  t.same(rx.seen, Array.from({ length: 501 }, (_, i) => i + 1), 'all 501 arrive, once each, in order')
  t.equal(recorded.of('reconnected')[0].flushed, 499, 'the reconnect event counts the 499 buffered publishes it sent')
})

t.test('a client whose node is SIGKILLed while it publishes: everything published after the socket closed arrives, in order', async (t) => {
  const nodes = await startNodes(t, zk.connectString, 'pubkill', 3)
  const pub = await connectClient(t, { zookeeper: zk.connectString, cluster: 'pubkill', zkSessionTimeoutMs: 2_000 })
  const pubNode = nodeOf(nodes, pub.nc)
  const subNode = nodes.find((n) => n !== pubNode) ?? pubNode
  const sub = await connectTo(t, subNode)
  const subject = uniqueSubject('pubkill')
  const rx = new NumberReceiver(sub, subject)
  await sub.flush()
  await interestBarrier(pub.nc, sub)

  let published = 0
  let publishedAtDisconnect = -1
  const timer = setInterval(() => {
    if (publishedAtDisconnect === -1 && pub.of('disconnected').length > 0) publishedAtDisconnect = published
    for (let i = 0; i < 5; i++) pub.nc.publish(subject, String(++published))
  }, 2)
  t.teardown(() => clearInterval(timer))
  await rx.waitFor(100)
  await pubNode.kill('SIGKILL')
  await until('the publisher failed over', () => pub.of('reconnected').length > 0, 15_000)
  // Keep publishing on the new node for a while (counted in publishes, not in time).
  const publishedAtReconnect = published
  await until('100 more publishes after the failover', () => published >= publishedAtReconnect + 100, 10_000, 5)
  clearInterval(timer)
  await pub.nc.flush()
  await rx.waitFor(published)

  t.ok(publishedAtDisconnect > 0, 'the publisher kept publishing through the failover')
  t.equal(rx.duplicates(), 0, 'no duplicate')
  t.equal(rx.outOfOrder(), 0, 'in publish order')
  t.equal(rx.missing(publishedAtDisconnect + 1, published), 0, 'nothing published after the client saw the socket close is lost')
  t.comment(`lost ${rx.missing(1, publishedAtDisconnect)} of ${publishedAtDisconnect} written into the dying socket (at-most-once); ` +
    `${pub.of('reconnected')[0].flushed} buffered publishes sent after a ${pub.of('reconnected')[0].gapMs} ms gap`)
})

t.test('a full publish buffer refuses the publish with BUFFER_FULL; closing drops the rest and says so', async (t) => {
  const [a] = await startNodes(t, zk.connectString, 'full', 1)
  const pub = await connectClient(t, { servers: a.url, reconnectTimeWait: 200, maxReconnectAttempts: -1, publishBufferBytes: 1_000 })
  await a.kill('SIGKILL')
  await until('the client saw the disconnect', () => pub.of('disconnected').length > 0)
  let kept = 0
  let refused: unknown = null
  for (let i = 0; i < 100 && refused === null; i++) {
    try {
      pub.nc.publish('full.subject', 'x'.repeat(90))
      kept++
    } catch (err) {
      refused = err
    }
  }
  t.equal(kept, 9, 'nine 102-byte publishes fit in 1000 bytes')
  t.ok(refused instanceof ClientError && refused.code === CLIENT_ERROR_CODES.BUFFER_FULL, 'the tenth throws BUFFER_FULL')
  t.match(String(refused), /between nodes/, 'the message says why')
  await pub.nc.close()
  await until('the drop is reported', () => pub.of('buffer-dropped').length > 0)
  t.match(pub.of('buffer-dropped')[0], { count: 9, bytes: 918 }, 'buffer-dropped counts the nine')
})

t.test('a request made between nodes is held and answered once the client is on the next node', async (t) => {
  const [a, b] = await startNodes(t, zk.connectString, 'req', 2)
  const responder = await connectTo(t, b)
  const subject = uniqueSubject('req')
  responder.subscribe(subject, { callback: (_err, msg) => msg.respond(`re:${msg.string()}`) })
  await responder.flush()
  let nc: NatsConnection | null = null
  let answer: Promise<string> | null = null
  const client = await connectClient(t, {
    servers: [a.url, b.url], noRandomize: true, ignoreClusterUpdates: true, maxReconnectAttempts: -1,
    onEvent: (e) => {
      if (e.type === 'disconnected' && nc !== null) {
        answer = nc.request(subject, 'held', { timeout: 5_000 }).then((m) => m.string(), (err: Error) => err.message)
      }
    },
  })
  nc = client.nc
  await interestBarrier(nc, responder)
  await a.kill('SIGKILL')
  await until('the request was made between the nodes', () => answer !== null)
  t.equal(await answer, 're:held', 'the request made while disconnected is answered after the reconnect')
})
