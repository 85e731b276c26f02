// How interest travels between nodes: the full dump a joining node gets (10,000
// subscriptions, measured end to end with real nodes and ZooKeeper), and the
// route protocol itself seen from a fake route on a raw socket (nats-server's
// setupRoute pattern): RS+/RS- deduplication, queue weights, the cluster name
// check, and the one-hop rule.
import t, { type Test } from 'tap'
import { RawClient } from '../helpers/raw-client.js'
import { startZooKeeper } from '../helpers/zookeeper.js'
import {
  FakeRoute, connectTo, sleep, startMeshNode, uniqueSubject, until, type MeshNode,
} from '../helpers/cluster.js'

const SUBSCRIPTIONS = 10_000

t.test('a node that joins gets all 10,000 subscriptions of an existing node', async (t) => {
  const zk = await startZooKeeper({ tickTimeMs: 500 })
  t.teardown(() => zk.stop())
  const A = await startMeshNode(t, { label: 'A', zk: zk.connectString })
  const subConn = await connectTo(t, A)
  const root = uniqueSubject('sync')
  // The test republishes what has not arrived yet (a publish that got ahead
  // of its RS+ is dropped), so a slow machine can deliver one subject more
  // than once; a duplicate is a subject that arrived more often than it was published.
  const received = new Uint32Array(SUBSCRIPTIONS)
  const published = new Uint32Array(SUBSCRIPTIONS)
  let receivedCount = 0
  let duplicates = 0
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    subConn.subscribe(`${root}.${i}`, {
      callback: () => {
        if (received[i]++ === 0) receivedCount++
        if (received[i] > published[i]) duplicates++
      },
    })
  }
  await subConn.flush()

  const spawnedAt = Date.now()
  const B = await startMeshNode(t, { label: 'B', zk: zk.connectString })
  const upMs = Date.now() - spawnedAt
  const pubConn = await connectTo(t, B)
  const publish = (i: number): void => {
    published[i]++
    pubConn.publish(`${root}.${i}`)
  }
  // One subject first: until a message on it gets through, B has no route yet.
  for (let i = 0; i < 400 && received[0] === 0; i++) {
    publish(0)
    await pubConn.flush()
    await sleep(25)
  }
  t.ok(received[0] >= 1, 'a publish on B reached a subscriber on A')
  const firstMs = Date.now() - spawnedAt
  // Then every subject still missing, in rounds: a publish that got ahead of its RS+ is dropped (at-most-once).
  let rounds = 0
  for (; rounds < 50 && receivedCount < SUBSCRIPTIONS; rounds++) {
    for (let i = 0; i < SUBSCRIPTIONS; i++) if (received[i] === 0) publish(i)
    await pubConn.flush()
    await until('this round is delivered', () => receivedCount === SUBSCRIPTIONS, 500).catch(() => undefined)
  }
  const allMs = Date.now() - spawnedAt
  t.equal(receivedCount, SUBSCRIPTIONS, `a publish on B reached all ${SUBSCRIPTIONS} subjects subscribed on A`)
  t.equal(duplicates, 0, 'and none of them more often than it was published')
  t.comment(`interest sync, ${SUBSCRIPTIONS} subscriptions: B's client port up ${upMs} ms after spawn; first subject through ` +
    `${firstMs} ms after spawn; all ${SUBSCRIPTIONS} reached ${allMs} ms after spawn (${rounds} publish round(s) after the first)`)
  t.equal(B.liveRoutes(), 1, 'B has one route')
})

// ---- the route protocol against one node, from fake routes ---------------------------

interface Lab {
  node: MeshNode
  raw: RawClient
}

/** One node (no ZooKeeper, no seeds) and a raw local client on it. */
async function lab(t: Test): Promise<Lab> {
  const node = await startMeshNode(t, { label: 'N' })
  const raw = await RawClient.setupConn(t, node.port, { protocol: 1 })
  return { node, raw }
}

/**
 * A marker subscription made by the raw client after everything it sent so far:
 * once the fake route has its RS+, it has every earlier RS+/RS- (one ordered route).
 */
async function mark(raw: RawClient, fake: FakeRoute, sid: string): Promise<string> {
  const subject = uniqueSubject('mark')
  raw.send(`SUB ${subject} ${sid}\r\n`)
  await fake.waitForLine(`RS+ $G ${subject}`)
  return subject
}

/** The interest lines (RS+/RS-) the fake route got, markers left out. */
function interestLines(fake: FakeRoute, subject: string): string[] {
  return fake.ops.map((op) => op.line).filter((l) => (l.startsWith('RS+ ') || l.startsWith('RS- ')) && l.split(' ')[2] === subject)
}

t.test('two local subscribers on one subject send one RS+, and RS- only after the last one goes', async (t) => {
  const { node, raw } = await lab(t)
  const fake = await FakeRoute.connect(t, node.routePort)
  await mark(raw, fake, '100')
  const subject = uniqueSubject('dedup')
  raw.send(`SUB ${subject} 1\r\nSUB ${subject} 2\r\n`)
  await mark(raw, fake, '101')
  t.same(interestLines(fake, subject), [`RS+ $G ${subject}`], 'one RS+ for two subscriptions')
  raw.send('UNSUB 1\r\n')
  await mark(raw, fake, '102')
  t.same(interestLines(fake, subject), [`RS+ $G ${subject}`], 'no RS- while one subscription remains')
  raw.send('UNSUB 2\r\n')
  await mark(raw, fake, '103')
  t.same(interestLines(fake, subject), [`RS+ $G ${subject}`, `RS- $G ${subject}`], 'RS- once the last one goes')
  // A client that closes takes its interest with it, as an unsubscribe would.
  const other = await RawClient.connect(node.port)
  t.teardown(() => other.close())
  const gone = uniqueSubject('gone')
  other.send(`CONNECT {"verbose":false}\r\nSUB ${gone} 1\r\nPING\r\n`)
  await fake.waitForLine(`RS+ $G ${gone}`)
  other.close()
  await fake.waitForLine(`RS- $G ${gone}`)
  t.pass('a closed client\'s subscription goes as RS-')
})

t.test('a queue group sends RS+ with its member count on every change, and RS- with the queue when the last member goes', async (t) => {
  const { node, raw } = await lab(t)
  const fake = await FakeRoute.connect(t, node.routePort)
  await mark(raw, fake, '100')
  const subject = uniqueSubject('q')
  raw.send(`SUB ${subject} workers 1\r\nSUB ${subject} workers 2\r\nSUB ${subject} workers 3\r\nSUB ${subject} others 4\r\n`)
  await mark(raw, fake, '101')
  raw.send('UNSUB 2\r\nUNSUB 1\r\nUNSUB 3\r\n')
  await mark(raw, fake, '102')
  t.same(interestLines(fake, subject), [
    `RS+ $G ${subject} workers 1`,
    `RS+ $G ${subject} workers 2`,
    `RS+ $G ${subject} workers 3`,
    `RS+ $G ${subject} others 1`,
    `RS+ $G ${subject} workers 2`,
    `RS+ $G ${subject} workers 1`,
    `RS- $G ${subject} workers`,
  ], 'one line per member count change, each group on its own')
})

t.test('a route that connects gets the whole local interest first: one RS+ per subject, one per queue group with its weight', async (t) => {
  const { node, raw } = await lab(t)
  const plain = uniqueSubject('dump')
  const queued = uniqueSubject('dumpq')
  raw.send(`SUB ${plain} 1\r\nSUB ${plain} 2\r\nSUB ${queued} g 3\r\nSUB ${queued} g 4\r\nSUB ${plain}.* 5\r\nPING\r\n`)
  await raw.waitFor((text) => text.split('PONG').length > 2)
  const fake = await FakeRoute.connect(t, node.routePort)
  await mark(raw, fake, '6')
  const rs = fake.lines('RS')
  t.same(rs.slice(0, 3).sort(), [`RS+ $G ${plain}`, `RS+ $G ${plain}.*`, `RS+ $G ${queued} g 2`].sort(), 'the dump: each subject and group once')
  t.equal(rs.length, 4, 'then only the marker')
  t.match(fake.ops[0]?.line ?? '', /^INFO \{.*"cluster":"x"/, 'the node spoke first, with its INFO')
})

t.test('a route from another cluster name gets nats-server\'s -ERR and is closed', async (t) => {
  const { node } = await lab(t)
  const fake = await FakeRoute.connect(t, node.routePort, 'other')
  await until('the node closes the route', () => fake.closed(), 10_000)
  t.ok(fake.lines('-ERR').includes('-ERR \'Rejecting connection, cluster name "other" does not match "x"\''), 'the -ERR names both cluster names')
  t.same(fake.lines('RS'), [], 'and it learned no interest')
})

t.test('a message from one route is delivered to local subscribers and never forwarded to another route', async (t) => {
  const { node, raw } = await lab(t)
  const subject = uniqueSubject('hop')
  const sender = await FakeRoute.connect(t, node.routePort)
  const listener = await FakeRoute.connect(t, node.routePort)
  raw.send(`SUB ${subject} 1\r\nSUB ${subject} workers 2\r\n`)
  await mark(raw, sender, '100')
  await mark(raw, listener, '101')
  // The listener wants the subject, for plain and queue delivery; its PONG says the node has read that.
  const pongs = listener.lines('PONG').length
  listener.send(`RS+ $G ${subject}\r\nRS+ $G ${subject} workers 1\r\nPING\r\n`)
  await until('the node answers the listener\'s PING', () => listener.lines('PONG').length > pongs)
  sender.send(`RMSG $G ${subject} 2\r\nhi\r\nRMSG $G ${subject} | workers 6\r\nqueued\r\n`)
  await raw.waitFor((text) => text.includes('queued\r\n'))
  t.match(raw.text(), new RegExp(`MSG ${subject.replace(/\./g, '\\.')} 1 2\r\nhi\r\n`), 'the plain subscriber got the routed message')
  t.match(raw.text(), new RegExp(`MSG ${subject.replace(/\./g, '\\.')} 2 6\r\nqueued\r\n`), 'the local queue member got the message routed for its group')
  // As nats-server's processMsgResults: the queue names pick queue members only; plain subscribers always get a routed message.
  t.match(raw.text(), new RegExp(`MSG ${subject.replace(/\./g, '\\.')} 1 6\r\nqueued\r\n`), 'the plain subscriber got the queue-routed message too, as in nats-server')
  // A local publish does reach the listener: it is a working route with that interest.
  raw.send(`PUB ${subject} 5\r\nlocal\r\n`)
  await until('the listener gets the local publish', () => listener.lines('RMSG').length > 0)
  const payloads = listener.ops.filter((op) => op.line.startsWith('RMSG')).map((op) => op.payload)
  t.same(payloads, ['local'], 'the listener got the local publish only, none of the routed messages (one hop)')
  t.same(sender.lines('RMSG'), [], 'nothing went back to the sender either')
})

t.test('a route ignores interest and messages of accounts other than $G', async (t) => {
  const { node, raw } = await lab(t)
  const subject = uniqueSubject('acct')
  const fake = await FakeRoute.connect(t, node.routePort)
  raw.send(`SUB ${subject} 1\r\n`)
  await mark(raw, fake, '100')
  const pongs = fake.lines('PONG').length
  fake.send(`RS+ $SYS ${subject}\r\nRMSG $SYS ${subject} 3\r\nsys\r\nRMSG $G ${subject} 1\r\ng\r\nPING\r\n`)
  await until('the node answers the PING', () => fake.lines('PONG').length > pongs)
  await raw.waitFor((text) => text.includes('g\r\n'))
  t.notMatch(raw.text(), /sys\r\n/, 'a $SYS message is not delivered')
  t.match(raw.text(), /1 1\r\ng\r\n/, 'the $G one is')
  raw.send(`PUB ${subject} 5\r\nlocal\r\n`)
  await raw.waitFor((text) => text.includes('local\r\n'))
  // The marker's RS+ leaves after any RMSG for that publish would have (one ordered route).
  await mark(raw, fake, '101')
  t.same(fake.lines('RMSG'), [], 'interest for $SYS does not count as interest: nothing forwarded')
  // The same route with $G interest in the subject does get the next publish: the check above could see one.
  const pongsBefore = fake.lines('PONG').length
  fake.send(`RS+ $G ${subject}\r\nPING\r\n`)
  await until('the node answers the PING after the $G RS+', () => fake.lines('PONG').length > pongsBefore)
  raw.send(`PUB ${subject} 6\r\nlocal2\r\n`)
  await until('the route gets the publish made after its $G RS+', () => fake.lines('RMSG').length > 0)
  t.same(fake.ops.filter((op) => op.line.startsWith('RMSG')).map((op) => op.payload), ['local2'], 'with $G interest, the route gets the publish')
})
