// Limits and their errors, as nats-server enforces them: one bad or slow
// client is cut off and everyone else carries on.
import { connect } from 'nats'
import t from 'tap'
import { sleep } from '../../src/wait.js'
import { startNode } from '../helpers/natsmesh.js'
import { RawClient } from '../helpers/raw-client.js'

const QUIET = 'CONNECT {"verbose":false,"pedantic":false}\r\n'

t.test('a connection past max_connections gets INFO, the error, and is closed', async (t) => {
  const node = await startNode({ maxConnections: 2 })
  t.teardown(() => node.shutdown())
  const a = await RawClient.connect(node.port)
  const b = await RawClient.connect(node.port)
  t.teardown(() => { a.close(); b.close() })
  await a.waitFor((s) => s.includes('\r\n'))
  await b.waitFor((s) => s.includes('\r\n'))
  const c = await RawClient.connect(node.port)
  t.teardown(() => c.close())
  const text = await c.waitFor(() => false, 2000)
  t.match(text, /^INFO \{.*\} \r\n-ERR 'maximum connections exceeded'\r\n$/)
  t.ok(c.closed(), 'closed')
  a.send(QUIET + 'PING\r\n')
  t.match(await a.waitFor((s) => s.includes('PONG')), /PONG/, 'the others keep working')
})

t.test('a client that never answers PING is closed as stale', async (t) => {
  const node = await startNode({ pingIntervalMs: 100, maxPingsOut: 2 })
  t.teardown(() => node.shutdown())
  const c = await RawClient.connect(node.port)
  t.teardown(() => c.close())
  c.send(QUIET)
  const text = await c.waitFor((s) => s.includes('Stale'), 5000)
  t.equal(c.text(), "INFO\r\nPING\r\nPING\r\n-ERR 'Stale Connection'\r\n")
  t.match(text, /Stale Connection/)
  await c.waitFor(() => false, 500)
  t.ok(c.closed(), 'closed')
})

t.test('a client that answers PING stays connected', async (t) => {
  const node = await startNode({ pingIntervalMs: 100, maxPingsOut: 2 })
  t.teardown(() => node.shutdown())
  // A raw client that answers each PING, so the test sees the PINGs it answers.
  const raw = await RawClient.connect(node.port)
  t.teardown(() => raw.close())
  await raw.waitFor((s) => s.includes('\r\n'))
  raw.send(QUIET)
  let answered = 0
  const answer = (): void => {
    const pings = raw.text().split('PING\r\n').length - 1
    for (; answered < pings; answered++) raw.send('PONG\r\n')
  }
  raw.socket.on('data', answer)
  const nc = await connect({ servers: `127.0.0.1:${node.port}`, reconnect: false })
  t.teardown(() => nc.close())
  // Well past max_pings_out: a server that did not count the PONGs would have closed both by now.
  const wanted = 5
  await raw.waitFor(() => answered >= wanted || raw.closed(), 10_000)
  t.ok(answered >= wanted, `the node sent PINGs and the client answered ${answered} of them`)
  t.notOk(raw.closed(), 'the raw client that answered is still connected')
  t.notMatch(raw.text(), /-ERR/, 'and was never told it is stale')
  raw.send('PING\r\n')
  t.match(await raw.waitFor((s) => s.includes('PONG\r\n')), /PONG\r\n/, 'it still gets a PONG')
  t.notOk(nc.isClosed(), 'nats.js, which answers PINGs itself, is still open after the same intervals')
  await nc.flush()
})

t.test('a subscriber that stops reading is cut off as a slow consumer; the others keep up', async (t) => {
  t.setTimeout(60_000)
  // 1 MiB of pending bytes; the reading subscriber never owes more than one
  // flushed batch (100 KiB), the stalled one owes everything past what the
  // kernel's socket buffers absorb.
  const node = await startNode({ maxPending: 1024 * 1024, maxPayload: 64 * 1024 })
  t.teardown(() => node.shutdown())
  // A raw socket whose errors are ignored: the server cuts it off, as expected.
  const slow = await RawClient.connect(node.port)
  t.teardown(() => slow.close())
  slow.send(QUIET + 'SUB flood 1\r\nPING\r\n')
  // The PONG says the SUB is in; then it stops reading.
  await slow.waitFor((text) => text.includes('PONG\r\n'))
  slow.socket.pause()
  const good = await connect({ servers: `127.0.0.1:${node.port}`, reconnect: false })
  const pub = await connect({ servers: `127.0.0.1:${node.port}`, reconnect: false })
  t.teardown(async () => { await good.close(); await pub.close() })
  let received = 0
  good.subscribe('flood', { callback: () => { received++ } })
  await good.flush()
  const payload = new Uint8Array(1024)
  const total = 40_000
  for (let i = 0; i < total; i++) {
    pub.publish('flood', payload)
    if (i % 100 === 99) {
      await pub.flush()
      await good.flush()
    }
    if (node.stats.slowConsumers > 0 && i % 100 === 99 && i > 2000) break
  }
  await pub.flush()
  await good.flush()
  const sent = received
  t.equal(node.stats.slowConsumers, 1, 'one slow consumer counted')
  t.notOk(good.isClosed(), 'the reading subscriber is still connected')
  t.ok(sent > 0 && node.connections.size === 2, 'the slow one is gone, the others stay')
  // Everything published reached the reading subscriber.
  t.equal(received, node.core.stats.inMsgs, 'the reading subscriber got every message')
})

t.test('a payload over max_payload is refused and closes the connection', async (t) => {
  const node = await startNode({ maxPayload: 100 })
  t.teardown(() => node.shutdown())
  const c = await RawClient.connect(node.port)
  t.teardown(() => c.close())
  t.match(await c.waitFor((s) => s.includes('\r\n')), /"max_payload":100/, 'INFO announces the limit')
  c.send(QUIET + 'PUB a 101\r\n')
  await c.waitFor(() => false, 1000)
  t.equal(c.text(), "INFO\r\n-ERR 'Maximum Payload Violation'\r\n")
  t.ok(c.closed())
})

t.test('a control line over max_control_line is refused', async (t) => {
  const node = await startNode({ maxControlLine: 64 })
  t.teardown(() => node.shutdown())
  const c = await RawClient.connect(node.port)
  t.teardown(() => c.close())
  c.send(QUIET + `SUB ${'a'.repeat(70)} 1\r\n`)
  await c.waitFor(() => false, 1000)
  t.equal(c.text(), "INFO\r\n-ERR 'maximum control line exceeded'\r\n")
  t.ok(c.closed())
})

t.test('a subscriber whose socket makes no progress for write_deadline is cut off', async (t) => {
  t.setTimeout(60_000)
  const node = await startNode({ writeDeadlineMs: 300, maxPayload: 64 * 1024 })
  t.teardown(() => node.shutdown())
  // A raw socket whose errors are ignored: cut off, as expected.
  const stuck = await RawClient.connect(node.port)
  t.teardown(() => stuck.close())
  stuck.send(QUIET + 'SUB stuck 1\r\nPING\r\n')
  await stuck.waitFor((text) => text.includes('PONG\r\n'))
  stuck.socket.pause()
  const pub = await connect({ servers: `127.0.0.1:${node.port}`, reconnect: false })
  t.teardown(() => pub.close())
  const payload = new Uint8Array(16 * 1024)
  // Enough to fill the kernel's socket buffers, far below max_pending (64 MiB).
  for (let i = 0; i < 2000 && node.stats.slowConsumers === 0; i++) {
    pub.publish('stuck', payload)
    if (i % 100 === 99) await pub.flush()
  }
  for (let i = 0; i < 100 && node.stats.slowConsumers === 0; i++) await sleep(50)
  t.equal(node.stats.slowConsumers, 1, 'cut off by the write deadline')
  t.equal(node.connections.size, 1, 'only the publisher is left')
})
