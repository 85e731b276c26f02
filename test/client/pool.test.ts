// The pool logic and the publish gate, with fakes: no nats.js connection, no
// ZooKeeper. (Their behaviour with real nodes is in failover.test.ts and
// publish-buffer.test.ts.)
import t from 'tap'
import { ErrorCode, headers, type Payload, type PublishOptions } from 'nats'
import { CLIENT_ERROR_CODES, ClientError } from '../../src/client/errors.js'
import { applyPlan, moveToEnd, normalizeAll, normalizeUrl, planPool, shuffle } from '../../src/client/pool.js'
import { PublishBuffer, PublishGate } from '../../src/client/publish-buffer.js'
import { seededRandom as seeded } from '../helpers/seeded-random.js'


t.test('normalizeUrl gives the host:port nats.js compares servers by', async (t) => {
  t.equal(normalizeUrl('nats://127.0.0.1:4223'), '127.0.0.1:4223')
  t.equal(normalizeUrl('127.0.0.1:4223'), '127.0.0.1:4223')
  t.equal(normalizeUrl('nats://node-1'), 'node-1:4222', 'the default port')
  t.equal(normalizeUrl('tls://Node-1.example:7422'), 'node-1.example:7422', 'any scheme; host names lowercased as URL does')
  t.equal(normalizeUrl('nats://[::1]:4222'), '[::1]:4222', 'IPv6 in brackets, as nats.js writes it')
  t.equal(normalizeUrl('nats://user:pass@h:1'), 'h:1', 'credentials are not part of the address')
  t.equal(normalizeUrl(''), null)
  t.equal(normalizeUrl('nats://h:1/path'), null, 'a path is not a server')
  t.equal(normalizeUrl('nats://h:99999'), null, 'a port out of range')
  t.equal(normalizeUrl('nats://h:80'), 'h:80', 'port 80 is kept (nats.js parses as https for it)')
  t.same(normalizeAll(['nats://a:1', 'a:1', 'bad url/x', 'nats://b:2']), ['a:1', 'b:2'], 'deduplicated, bad ones left out')
})

t.test('shuffle keeps every entry and spreads first places', async (t) => {
  const items = ['a', 'b', 'c']
  const firsts = new Map<string, number>()
  const random = seeded(7)
  let incomplete = 0
  for (let i = 0; i < 3000; i++) {
    const out = shuffle(items, random)
    if ([...out].sort().join() !== 'a,b,c') incomplete++
    firsts.set(out[0], (firsts.get(out[0]) ?? 0) + 1)
  }
  t.equal(incomplete, 0, 'every shuffle holds each entry once')
  for (const item of items) t.ok((firsts.get(item) ?? 0) > 800, `${item} comes first about a third of the time (${firsts.get(item)})`)
  t.same(items, ['a', 'b', 'c'], 'the input is not changed')
})

t.test('planPool adds new members, removes gone ones, never removes the current node, and never empties the pool', async (t) => {
  const plan = planPool(['a:1', 'b:1', 'c:1'], ['b:1', 'c:1', 'd:1'], 'a:1', seeded(1))
  t.same(plan.add.map((a) => a.hostPort), ['d:1'])
  t.same(plan.remove, [], 'the current node a stays (leaving it is a move)')
  const next = applyPlan(['b:1', 'c:1', 'a:1'], plan)
  t.equal(next[next.length - 1], 'a:1', 'a new member goes in before the current node, which stays last')

  t.same(planPool(['a:1', 'b:1'], ['b:1'], 'b:1'), { add: [], remove: ['a:1'] }, 'a gone member is removed')
  t.same(planPool(['a:1', 'b:1'], [], 'a:1'), { add: [], remove: [] }, 'no member known: the last pool stays')
  t.same(planPool(['a:1'], ['a:1'], 'a:1'), { add: [], remove: [] }, 'nothing changed, nothing to do')
})

t.test('planPool over random memberships: the result is exactly the members plus the current node, current last', async (t) => {
  const seed = Date.now() % 100_000
  t.comment(`seed ${seed}`)
  const random = seeded(seed)
  const universe = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1', 'f:1']
  const pick = (): string[] => universe.filter(() => random() < 0.5)
  let failures = 0
  for (let round = 0; round < 500 && failures === 0; round++) {
    const current = pick()
    if (current.length === 0) continue
    const here = current[current.length - 1]
    const desired = pick()
    const next = applyPlan(current, planPool(current, desired, here, random))
    const expected = desired.length === 0 ? current : [...new Set([...desired, here])]
    if (next.length === 0 || [...next].sort().join() !== [...expected].sort().join() || next[next.length - 1] !== here) {
      failures++
      t.fail(`round ${round}: ${JSON.stringify({ current, desired, here, next })}`)
    }
  }
  t.equal(failures, 0, '500 random rounds hold')
})

t.test('moveToEnd puts the node we are on last, where nats.js rotation leaves it', async (t) => {
  t.same(moveToEnd(['a', 'b', 'c'], 'a'), ['b', 'c', 'a'])
  t.same(moveToEnd(['a', 'b', 'c'], 'c'), ['a', 'b', 'c'])
  t.same(moveToEnd(['a', 'b'], 'x'), ['a', 'b'], 'an unknown entry changes nothing')
})

t.test('PublishBuffer is a FIFO bounded in bytes', async (t) => {
  const buffer = new PublishBuffer(100)
  const gate = new PublishGate(100, () => { throw new Error('not connected') }, () => false, () => null)
  gate.publish('s', 'x'.repeat(40))
  gate.publish('s', 'y'.repeat(40))
  t.equal(gate.bufferedCount, 2)
  t.equal(gate.bufferedBytes, 82, 'subject and payload bytes are counted')
  const err = (() => { try { gate.publish('s', 'z'.repeat(40)); return null } catch (e) { return e } })()
  t.ok(err instanceof ClientError && err.code === CLIENT_ERROR_CODES.BUFFER_FULL, 'the publish that does not fit throws BUFFER_FULL')
  t.match(String(err), /buffer is full \(2 messages, 82 of 100 bytes/, 'the message says how full')
  t.equal(gate.bufferedCount, 2, 'a refused publish is not kept')
  t.equal(buffer.shift(), null, 'an empty buffer shifts null')

  // The buffer itself: filled to its bound, emptied and refilled across its
  // head index, entries come out in the order they went in.
  const entry = (subject: string, bytes: number) => ({ subject, data: new Uint8Array(0), options: undefined, bytes })
  const order: string[] = []
  const drain = (n: number): void => {
    for (let i = 0; i < n; i++) order.push(buffer.shift()?.subject ?? 'nothing')
  }
  for (const s of ['a', 'b', 'c', 'd']) buffer.push(entry(s, 25))
  t.equal(buffer.bytes, 100, 'full: four 25-byte entries fill 100 bytes')
  t.throws(() => buffer.push(entry('x', 1)), { code: CLIENT_ERROR_CODES.BUFFER_FULL }, 'one byte more does not fit')
  drain(2)
  buffer.push(entry('e', 25))
  buffer.push(entry('f', 25))
  t.equal(buffer.count, 4, 'room made by shifting is used again')
  drain(1)
  buffer.push(entry('g', 25))
  drain(4)
  t.same(order, ['a', 'b', 'c', 'd', 'e', 'f', 'g'], 'first in, first out')
  t.same([buffer.count, buffer.bytes, buffer.shift()], [0, 0, null], 'empty again, nothing counted')
})

class FakeConnection {
  isConnected = false
  maxPayload: number | null = 1024
  readonly sent: string[] = []
  readonly send = (subject: string, payload?: Payload, options?: PublishOptions): void => {
    const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload ?? new Uint8Array(0))
    this.sent.push(`${subject}${options?.reply ? `>${options.reply}` : ''}:${text}`)
  }
}

t.test('PublishGate: through when connected, buffered between nodes, sent first and in order on release', async (t) => {
  const fake = new FakeConnection()
  const gate = new PublishGate(1 << 20, fake.send, () => fake.isConnected, () => fake.maxPayload)
  fake.isConnected = true
  gate.publish('a', '1')
  t.same(fake.sent, ['a:1'], 'connected: straight to nats.js')

  fake.isConnected = false
  const reused = new TextEncoder().encode('2')
  gate.publish('a', reused)
  reused[0] = 0x39 // the caller reuses its buffer: the buffered copy must not change
  gate.publish('a', '3', { reply: 'inbox.1' })
  t.same(fake.sent, ['a:1'], 'between nodes: nothing goes to nats.js')

  fake.isConnected = true
  gate.publish('a', '4')
  t.same(fake.sent, ['a:1', 'a:2', 'a>inbox.1:3', 'a:4'], 'the first publish after reconnecting sends the buffered ones first, in order')
  t.same(gate.release(), { sent: 0, failed: 0 }, 'nothing left to release')
})

t.test('PublishGate: hold keeps publishes even while connected, until release', async (t) => {
  const fake = new FakeConnection()
  fake.isConnected = true
  const gate = new PublishGate(1 << 20, fake.send, () => fake.isConnected, () => fake.maxPayload)
  gate.hold()
  gate.publish('a', '1')
  gate.publish('a', '2')
  t.same(fake.sent, [], 'held')
  t.same(gate.release(), { sent: 2, failed: 0 })
  gate.publish('a', '3')
  t.same(fake.sent, ['a:1', 'a:2', 'a:3'], 'released in order, then straight through')
})

t.test('PublishGate: release does nothing while disconnected; dropAll empties it', async (t) => {
  const fake = new FakeConnection()
  const gate = new PublishGate(1 << 20, fake.send, () => fake.isConnected, () => fake.maxPayload)
  const h = headers()
  h.set('trace', 'abc')
  gate.publish('a', '1', { headers: h })
  t.same(gate.release(), { sent: 0, failed: 0 }, 'not connected: kept')
  const bytes = gate.bufferedBytes
  t.ok(bytes > 'a'.length + '1'.length + 'trace: abc'.length, `headers are counted (${bytes} bytes)`)
  t.same(gate.dropAll(), { count: 1, bytes }, 'dropAll says what it dropped')
  t.equal(gate.bufferedCount, 0)
})

t.test('PublishGate: a buffered publish larger than the last max_payload is refused at once, as nats.js does', async (t) => {
  const fake = new FakeConnection()
  fake.isConnected = true
  const gate = new PublishGate(1 << 20, fake.send, () => fake.isConnected, () => fake.maxPayload)
  gate.publish('a', 'x') // learns max_payload 1024
  fake.isConnected = false
  fake.maxPayload = null // nats.js forgets INFO while dialing
  t.throws(() => gate.publish('a', 'x'.repeat(2000)), { code: ErrorCode.MaxPayloadExceeded })
  t.throws(() => gate.publish('a', 42 as unknown as Payload), { code: ErrorCode.BadPayload }, 'a payload of the wrong type')
})

t.test('PublishGate with publishBufferBytes 0 passes everything through, as plain nats.js', async (t) => {
  const fake = new FakeConnection()
  const gate = new PublishGate(0, fake.send, () => fake.isConnected, () => fake.maxPayload)
  gate.hold()
  gate.publish('a', '1')
  t.same(fake.sent, ['a:1'], 'not buffered, not held')
})
