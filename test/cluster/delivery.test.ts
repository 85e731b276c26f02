// Delivery across a 3-node cluster joined through a real ZooKeeper, seen by
// the official nats client (and a raw socket where the client library would
// hide what the server sent). One cluster for the whole file; every subtest
// uses its own subjects.
import t from 'tap'
import { ErrorCode, headers, type Msg, type NatsError } from 'nats'
import { RawClient } from '../helpers/raw-client.js'
import { startZooKeeper } from '../helpers/zookeeper.js'
import {
  NumberReceiver, connectTo, interestBarrier, publishUntil, startZkCluster, uniqueSubject, until, waitForMesh,
  type MeshNode,
} from '../helpers/cluster.js'

const zk = await startZooKeeper()
t.teardown(() => zk.stop())
const bootStarted = Date.now()
const [A, B, C] = await startZkCluster(t, zk.connectString, 3)
const meshMs = await waitForMesh([A, B, C])
t.comment(`3 nodes up and meshed (every ordered pair carries a message) ${Date.now() - bootStarted} ms after the first spawn; waitForMesh ${meshMs} ms`)

/** A raw protocol-1 client with headers and no_responders, CONNECTed and PONGed. */
async function rawClient(node: MeshNode, connect: Record<string, unknown> = {}): Promise<RawClient> {
  const c = await RawClient.setupConn(t, node.port, { headers: true, no_responders: true, protocol: 1, ...connect })
  c.take()
  return c
}

/** `MSG <subject> …` lines a raw client received so far. */
function msgLines(text: string, subject: string): string[] {
  return text.split('\r\n').filter((l) => l.startsWith(`MSG ${subject} `) || l.startsWith(`HMSG ${subject} `))
}

t.test('every message published on A reaches a subscriber on B, in publish order', async (t) => {
  const N = 10_000
  const subject = uniqueSubject('order')
  const pub = await connectTo(t, A)
  const subConn = await connectTo(t, B)
  const rx = new NumberReceiver(subConn, subject)
  await interestBarrier(pub, subConn)
  const started = Date.now()
  for (let i = 1; i <= N; i++) pub.publish(subject, String(i))
  await pub.flush()
  await until(`${N} messages on B`, () => rx.seen.length >= N, 30_000)
  t.comment(`${N} messages A→B in ${Date.now() - started} ms`)
  const report = rx.report(N)
  t.same(report, { published: N, received: N, lost: 0, duplicates: 0, outOfOrder: 0, longestGap: 0 })
})

t.test('subscribers on every node each get each message exactly once, whoever published it', async (t) => {
  const PER_PUBLISHER = 1_000
  const subject = uniqueSubject('fanout')
  const nodes = [A, B, C]
  const conns = await Promise.all(nodes.map((n) => connectTo(t, n)))
  const got: Array<Map<string, number>> = nodes.map(() => new Map())
  conns.forEach((nc, i) => nc.subscribe(subject, {
    callback: (_e, m) => { if (m.data.length > 0) got[i].set(m.string(), (got[i].get(m.string()) ?? 0) + 1) },
  }))
  for (const from of conns) for (const to of conns) if (from !== to) await interestBarrier(from, to)
  conns.forEach((nc, p) => { for (let i = 1; i <= PER_PUBLISHER; i++) nc.publish(subject, `${nodes[p].label}-${i}`) })
  await Promise.all(conns.map((nc) => nc.flush()))
  const total = PER_PUBLISHER * nodes.length
  await until('every subscriber has every message', () => got.every((m) => m.size >= total), 20_000)
  // A closing round trip through every publisher's route: anything duplicated would be in by now.
  for (const from of conns) for (const to of conns) if (from !== to) await interestBarrier(from, to)
  for (let i = 0; i < nodes.length; i++) {
    const counts = [...got[i].values()]
    t.equal(got[i].size, total, `the subscriber on ${nodes[i].label} got all ${total} distinct messages`)
    t.equal(counts.filter((c) => c !== 1).length, 0, `the subscriber on ${nodes[i].label} got none twice`)
  }
})

t.test('a queue group with members on all three nodes gets every message exactly once cluster-wide, and every member gets some', async (t) => {
  const N = 3_000
  const subject = uniqueSubject('queue')
  const pub = await connectTo(t, A)
  // Two members on C: C weighs 2 in A's pick.
  const members = [A, B, C, C]
  const conns = await Promise.all(members.map((n) => connectTo(t, n)))
  const got: number[][] = members.map(() => [])
  conns.forEach((nc, i) => nc.subscribe(subject, { queue: 'workers', callback: (_e, m) => { if (m.data.length > 0) got[i].push(Number(m.string())) } }))
  for (const nc of conns) await interestBarrier(pub, nc)
  for (let i = 1; i <= N; i++) pub.publish(subject, String(i))
  await pub.flush()
  await until(`${N} queue deliveries`, () => got.reduce((s, g) => s + g.length, 0) >= N, 20_000)
  for (const nc of conns) await interestBarrier(pub, nc)
  const all = got.flat()
  t.equal(all.length, N, 'as many deliveries as messages')
  t.equal(new Set(all).size, N, 'each message delivered once')
  got.forEach((g, i) => t.ok(g.length > 0, `the member on ${members[i].label} (#${i}) got some (${g.length})`))
  t.comment(`queue split A/B/C/C: ${got.map((g) => g.length).join('/')}`)
  // Per member, messages still arrive in publish order.
  for (const g of got) t.ok(g.every((n, k) => k === 0 || n > g[k - 1]), 'each member sees its share in order')
})

t.test('a queue group with one member on A, one on B and two on C gets about ¼, ¼ and ½ of what is published on A', async (t) => {
  // docs/architecture.md "Queue-group weighting": A draws over 1 (its member) + 1 (B's RS+ weight) + 2 (C's).
  // Six-standard-deviation bounds (√(n·p·(1−p))): a correct node misses one with probability ~2·10⁻⁹;
  // weights ignored (⅓ each) puts A and B 10 deviations above their bound and C 12 below its own.
  const N = 3_000
  const subject = uniqueSubject('weights')
  const pub = await connectTo(t, A)
  const members = [A, B, C, C]
  const conns = await Promise.all(members.map((n) => connectTo(t, n)))
  const got = members.map(() => 0)
  conns.forEach((nc, i) => nc.subscribe(subject, { queue: 'workers', callback: (_e, m) => { if (m.data.length > 0) got[i]++ } }))
  // Interest of all four members at A, with C's weight at 2: its second RS+ follows the first on the same route.
  for (const nc of conns) await interestBarrier(pub, nc)
  for (let i = 1; i <= N; i++) pub.publish(subject, String(i))
  await pub.flush()
  await until(`${N} queue deliveries`, () => got.reduce((s, g) => s + g, 0) >= N, 20_000)
  const bound = (p: number): [number, number] => {
    const sd = Math.sqrt(N * p * (1 - p))
    return [Math.ceil(N * p - 6 * sd), Math.floor(N * p + 6 * sd)]
  }
  const shares = { A: got[0], B: got[1], C: got[2] + got[3] }
  t.comment(`queue split A/B/C: ${shares.A}/${shares.B}/${shares.C} of ${N}`)
  t.equal(shares.A + shares.B + shares.C, N, 'each message went to one member')
  for (const [name, p] of [['A', 1 / 4], ['B', 1 / 4], ['C', 1 / 2]] as const) {
    const [low, high] = bound(p)
    t.ok(shares[name] >= low && shares[name] <= high, `${name} got about ${p === 0.5 ? '½' : '¼'}: ${shares[name]} (bound ${low}–${high})`)
  }
})

t.test('a request made on A is answered by a responder on C', async (t) => {
  const subject = uniqueSubject('svc')
  const requester = await connectTo(t, A)
  const responder = await connectTo(t, C)
  responder.subscribe(subject, { callback: (_e, m) => { m.respond(`re:${m.string()}`) } })
  await interestBarrier(requester, responder)
  const started = Date.now()
  for (let i = 0; i < 50; i++) {
    const reply = await requester.request(subject, `q${i}`, { timeout: 5_000 })
    t.equal(reply.string(), `re:q${i}`, `request ${i} got its own answer`)
  }
  t.comment(`50 sequential requests A→C→A in ${Date.now() - started} ms`)
})

t.test('wildcard subscriptions on other nodes get exactly the subjects they match', async (t) => {
  const root = uniqueSubject('wild')
  const pub = await connectTo(t, A)
  const onB = await connectTo(t, B)
  const onC = await connectTo(t, C)
  const star: string[] = []
  const full: string[] = []
  const literal: string[] = []
  onB.subscribe(`${root}.*.x`, { callback: (_e, m) => { star.push(m.subject) } })
  onB.subscribe(`${root}.a.x`, { callback: (_e, m) => { literal.push(m.subject) } })
  onC.subscribe(`${root}.>`, { callback: (_e, m) => { full.push(m.subject) } })
  await interestBarrier(pub, onB)
  await interestBarrier(pub, onC)
  for (const s of ['a.x', 'b.x', 'a.y', 'a', 'a.b.x']) pub.publish(`${root}.${s}`)
  pub.publish(root)
  pub.publish(`${root}.end.x`)
  await pub.flush()
  // end.x is last (after the bare root) and matches both wildcards: once both have it, everything before it is in.
  await until('both wildcards got the last subject', () => star.includes(`${root}.end.x`) && full.includes(`${root}.end.x`))
  t.same(star, ['a.x', 'b.x', 'end.x'].map((s) => `${root}.${s}`), '`*` matches exactly one token')
  t.same(full, ['a.x', 'b.x', 'a.y', 'a', 'a.b.x', 'end.x'].map((s) => `${root}.${s}`), '`>` matches one or more tokens, not the bare root')
  t.same(literal, [`${root}.a.x`], 'a literal and a wildcard on the same node both get the message, once each')
})

t.test('after an unsubscribe on B, messages published on A are no longer sent there', async (t) => {
  const subject = uniqueSubject('unsub')
  const marker = uniqueSubject('marker')
  const pub = await connectTo(t, A)
  const raw = await rawClient(B)
  raw.send(`SUB ${subject} 1\r\nSUB ${marker} 2\r\n`)
  await publishUntil(pub, marker, () => raw.text().includes(`MSG ${marker} 2`))
  pub.publish(subject, 'before')
  await pub.flush()
  await raw.waitFor((text) => text.includes('before'))
  t.equal(msgLines(raw.text(), subject).length, 1, 'delivered while subscribed')
  // UNSUB, then a fresh marker on the same connection: B sends RS- before the marker's RS+.
  const marker2 = uniqueSubject('marker')
  raw.send(`UNSUB 1\r\nSUB ${marker2} 3\r\n`)
  await publishUntil(pub, marker2, () => raw.text().includes(`MSG ${marker2} 3`))
  pub.publish(subject, 'after')
  pub.publish(marker2, 'end')
  await pub.flush()
  await raw.waitFor((text) => text.includes('end\r\n'))
  t.equal(msgLines(raw.text(), subject).length, 1, 'nothing delivered after the unsubscribe')
  // A itself knows: nobody is left, so a request gets no-responders at once.
  const err = await pub.request(subject, '', { timeout: 5_000 }).then(() => null, (e: NatsError) => e)
  t.equal(err?.code, ErrorCode.NoResponders, 'A answers a request on the subject with no-responders')
})

t.test('headers published on A arrive intact on B, and are stripped for a client that did not ask for them', async (t) => {
  const subject = uniqueSubject('hdr')
  const pub = await connectTo(t, A)
  const subConn = await connectTo(t, B)
  const plain = await rawClient(B, { headers: false, no_responders: false })
  const got: Msg[] = []
  subConn.subscribe(subject, { callback: (_e, m) => { got.push(m) } })
  plain.send(`SUB ${subject} 7\r\n`)
  await interestBarrier(pub, subConn)
  const h = headers()
  h.append('X-Trace', 'one')
  h.append('X-Trace', 'two')
  h.set('Content-Type', 'text/plain; charset=utf-8')
  pub.publish(subject, 'body', { headers: h, reply: 'some.reply' })
  await pub.flush()
  await until('the header message on B', () => got.length === 1)
  const m = got[0]
  t.same(m.headers?.values('X-Trace'), ['one', 'two'], 'a repeated header keeps both values, in order')
  t.equal(m.headers?.get('Content-Type'), 'text/plain; charset=utf-8')
  t.equal(m.string(), 'body', 'the payload follows the headers')
  t.equal(m.reply, 'some.reply', 'the reply subject travels with it')
  await plain.waitFor((text) => text.includes('body\r\n'))
  t.same(msgLines(plain.text(), subject), [`MSG ${subject} 7 some.reply 4`], 'a client without headers gets MSG with the payload only')
})

t.test('no-responders works across the cluster: 503 for a subject nobody wants, an answer for one served only on C', async (t) => {
  const nobody = uniqueSubject('nobody')
  const served = uniqueSubject('served')
  const requester = await connectTo(t, A)
  const responder = await connectTo(t, C)
  responder.subscribe(served, { callback: (_e, m) => { m.respond('here') } })
  await interestBarrier(requester, responder)
  const started = Date.now()
  const err = await requester.request(nobody, '', { timeout: 5_000 }).then(() => null, (e: NatsError) => e)
  t.comment(`no-responders answer after ${Date.now() - started} ms (request timeout 5000 ms)`)
  t.equal(err?.code, ErrorCode.NoResponders, 'a request nobody can answer fails with no-responders, not a timeout')
  const reply = await requester.request(served, '', { timeout: 5_000 })
  t.equal(reply.string(), 'here', 'a subject subscribed only on C gets its answer')
})

t.test('echo off keeps a client\'s own messages from coming back to it through another node', async (t) => {
  const subject = uniqueSubject('echo')
  const quiet = await connectTo(t, A, { noEcho: true })
  const other = await connectTo(t, B)
  const quietGot: string[] = []
  const otherGot: string[] = []
  quiet.subscribe(subject, { callback: (_e, m) => { if (m.data.length > 0) quietGot.push(m.string()) } })
  other.subscribe(subject, { callback: (_e, m) => { if (m.data.length > 0) otherGot.push(m.string()) } })
  await interestBarrier(quiet, other)
  await interestBarrier(other, quiet)
  quiet.publish(subject, 'from-quiet')
  await quiet.flush()
  other.publish(subject, 'from-other')
  await other.flush()
  await until('both messages reached the echo-on client', () => otherGot.length === 2)
  await until('the echo-off client got the other one', () => quietGot.length >= 1)
  await interestBarrier(quiet, other)
  await interestBarrier(other, quiet)
  t.same(quietGot, ['from-other'], 'the echo-off client gets only the other client\'s message')
  t.same(otherGot, ['from-quiet', 'from-other'], 'the echo-on client gets both, its own included')
})

t.test('UNSUB with a max count on B stops after that many messages published on A', async (t) => {
  const subject = uniqueSubject('max')
  const marker = uniqueSubject('marker')
  const pub = await connectTo(t, A)
  const raw = await rawClient(B)
  raw.send(`SUB ${subject} 1\r\nUNSUB 1 5\r\nSUB ${marker} 2\r\n`)
  await publishUntil(pub, marker, () => raw.text().includes(`MSG ${marker} 2`))
  for (let i = 1; i <= 20; i++) pub.publish(subject, `m${i}`)
  pub.publish(marker, 'end')
  await pub.flush()
  await raw.waitFor((text) => text.includes('end\r\n'))
  const lines = msgLines(raw.text(), subject)
  t.equal(lines.length, 5, 'exactly 5 delivered')
  t.match(raw.text(), /m1\r\n[\s\S]*m5\r\n/, 'the first five, in order')
  t.notMatch(raw.text(), /m6\r\n/, 'not the sixth')
  // The auto-unsubscribe reached A as RS- once the 5th went out: a request now gets no-responders.
  await until('A forgets the interest', async () => {
    const err = await pub.request(subject, '', { timeout: 2_000 }).then(() => null, (e: NatsError) => e)
    return err?.code === ErrorCode.NoResponders
  }, 10_000, 100)
  t.pass('A answers no-responders for the exhausted subscription')
})
