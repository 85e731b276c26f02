// The official nats.js client against one natsmesh node, unchanged.
import { connect, headers, StringCodec, Empty, ErrorCode, type NatsConnection, type Msg } from 'nats'
import t, { type Test } from 'tap'
import { sleep } from '../../src/wait.js'
import { startNode } from '../helpers/natsmesh.js'
import type { Server } from '../../src/server/server.js'

const sc = StringCodec()

async function setup(t: Test): Promise<{ server: Server; nc: () => Promise<NatsConnection> }> {
  const server = await startNode()
  const conns: NatsConnection[] = []
  t.teardown(async () => {
    for (const c of conns) await c.close().catch(() => {})
    await server.shutdown()
  })
  return {
    server,
    nc: async () => {
      const c = await connect({ servers: `127.0.0.1:${server.port}`, reconnect: false })
      conns.push(c)
      return c
    },
  }
}

/** Collects up to `count` messages from an async subscription, or what arrived within timeoutMs. */
async function collect(sub: AsyncIterable<Msg>, count: number, timeoutMs = 5000): Promise<Msg[]> {
  const got: Msg[] = []
  const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())
  const reading = (async () => { for await (const m of sub) { got.push(m); if (got.length >= count) break } })()
  await Promise.race([reading, timer])
  return got
}

t.test('publish and subscribe between two connections', async (t) => {
  const { nc } = await setup(t)
  const a = await nc(); const b = await nc()
  const sub = b.subscribe('greet')
  await b.flush()
  a.publish('greet', sc.encode('hello'))
  const [m] = await collect(sub, 1)
  t.equal(sc.decode(m.data), 'hello')
  t.equal(m.subject, 'greet')
})

/** Collects every message up to and including the one on `last`; throws if it has not come within timeoutMs. */
async function collectUntil(sub: AsyncIterable<Msg>, last: string, timeoutMs = 5000): Promise<string[]> {
  const got: string[] = []
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no message on ${last} within ${timeoutMs} ms; got ${got.join(', ')}`)), timeoutMs)
  })
  const reading = (async () => {
    for await (const m of sub) {
      got.push(m.subject)
      if (m.subject === last) break
    }
  })()
  try {
    await Promise.race([reading, timeout])
  } finally {
    clearTimeout(timer)
  }
  return got
}

t.test('wildcard subscriptions receive matching subjects only', async (t) => {
  const { nc } = await setup(t)
  const c = await nc()
  const star = c.subscribe('a.*'); const full = c.subscribe('a.>')
  await c.flush()
  // a.end matches both and goes last: one connection keeps order, so once it
  // arrives everything published before it that was going to arrive has.
  for (const s of ['a.b', 'a.b.c', 'b.a', 'a', 'a.end']) c.publish(s, Empty)
  await c.flush()
  t.same(await collectUntil(star, 'a.end'), ['a.b', 'a.end'], '`*` gets exactly one more token')
  t.same(await collectUntil(full, 'a.end'), ['a.b', 'a.b.c', 'a.end'], '`>` gets one or more tokens, not the bare prefix')
})

t.test('request and reply', async (t) => {
  const { nc } = await setup(t)
  const responder = await nc(); const requester = await nc()
  responder.subscribe('svc.echo', { callback: (_e, m) => m.respond(sc.encode(`echo ${sc.decode(m.data)}`)) })
  await responder.flush()
  const reply = await requester.request('svc.echo', sc.encode('ping'), { timeout: 2000 })
  t.equal(sc.decode(reply.data), 'echo ping')
})

t.test('a request with no responders fails fast with 503', async (t) => {
  const { nc } = await setup(t)
  const c = await nc()
  await t.rejects(c.request('nobody.home', Empty, { timeout: 2000 }), { code: ErrorCode.NoResponders })
})

t.test('each message goes to exactly one queue group member', async (t) => {
  const { nc } = await setup(t)
  const pub = await nc()
  const members = [await nc(), await nc(), await nc()]
  const counts = [0, 0, 0]
  members.forEach((m, i) => m.subscribe('work', { queue: 'workers', callback: () => { counts[i]++ } }))
  for (const m of members) await m.flush()
  for (let i = 0; i < 300; i++) pub.publish('work', Empty)
  await pub.flush()
  for (const m of members) await m.flush()
  t.equal(counts[0] + counts[1] + counts[2], 300, 'every message delivered once')
  t.ok(counts.every((n) => n > 0), `spread over members: ${counts.join(',')}`)
})

t.test('headers travel with the message', async (t) => {
  const { nc } = await setup(t)
  const c = await nc()
  const sub = c.subscribe('h')
  const h = headers()
  h.set('X-Trace', 'abc123')
  c.publish('h', sc.encode('body'), { headers: h })
  const [m] = await collect(sub, 1)
  t.equal(m.headers?.get('X-Trace'), 'abc123')
  t.equal(sc.decode(m.data), 'body')
})

t.test('max messages: the subscription ends after N', async (t) => {
  const { nc } = await setup(t)
  const c = await nc()
  const sub = c.subscribe('m', { max: 3 })
  for (let i = 0; i < 10; i++) c.publish('m', sc.encode(String(i)))
  await c.flush()
  const got = await collect(sub, 10, 1000)
  t.same(got.map((m) => sc.decode(m.data)), ['0', '1', '2'])
})

t.test('a 1 MiB payload arrives intact', async (t) => {
  const { nc } = await setup(t)
  const c = await nc()
  t.equal(c.info?.max_payload, 1024 * 1024)
  const sub = c.subscribe('big')
  const payload = new Uint8Array(1024 * 1024 - 64)
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 255
  c.publish('big', payload)
  const [m] = await collect(sub, 1)
  t.equal(m.data.length, payload.length)
  t.ok(Buffer.from(m.data).equals(Buffer.from(payload)), 'same bytes')
})

t.test('100,000 messages arrive complete and in order', async (t) => {
  const { nc } = await setup(t)
  const pub = await nc(); const subc = await nc()
  let expected = 0
  let outOfOrder = 0
  const done = new Promise<void>((resolve) => {
    subc.subscribe('seq', {
      callback: (_e, m) => {
        const n = Number(sc.decode(m.data))
        if (n !== expected) outOfOrder++
        expected = n + 1
        if (expected === 100_000) resolve()
      },
    })
  })
  await subc.flush()
  for (let i = 0; i < 100_000; i++) pub.publish('seq', sc.encode(String(i)))
  await pub.flush()
  await Promise.race([done, sleep(20_000)])
  t.equal(expected, 100_000, 'last sequence number seen')
  t.equal(outOfOrder, 0, 'no gaps or reordering')
})

t.test('flush round-trips and drain delivers what was in flight', async (t) => {
  const { nc } = await setup(t)
  const pub = await nc(); const subc = await nc()
  let got = 0
  subc.subscribe('d', { callback: () => { got++ } })
  await subc.flush()
  for (let i = 0; i < 1000; i++) pub.publish('d', Empty)
  await pub.flush()
  await subc.drain()
  t.equal(got, 1000)
  t.ok(subc.isClosed())
})

t.test('echo off: a client does not receive its own publishes', async (t) => {
  const server = await startNode()
  t.teardown(() => server.shutdown())
  const c = await connect({ servers: `127.0.0.1:${server.port}`, noEcho: true })
  const other = await connect({ servers: `127.0.0.1:${server.port}` })
  t.teardown(async () => { await c.close(); await other.close() })
  let own = 0
  c.subscribe('e', { callback: () => { own++ } })
  await c.flush()
  c.publish('e', Empty)
  other.publish('e', Empty)
  await c.flush(); await other.flush(); await c.flush()
  t.equal(own, 1, 'only the other client\'s message')
})
