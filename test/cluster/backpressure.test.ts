// A route that backs up pauses the publisher feeding it instead of being cut
// off as a slow consumer: a peer that stalls for a moment loses nothing. Past
// max_pending a route is cut after all, and only that route.
import t from 'tap'
import { FakeRoute, connectTo, interestBarrier, startMeshNode, uniqueSubject, until, waitForMesh } from '../helpers/cluster.js'
import { RawClient } from '../helpers/raw-client.js'

/** Queued bytes past which a route pauses the publisher feeding it (docs/architecture.md "Backpressure on routes"). */
const ROUTE_PAUSE_BYTES = 4 * 1024 * 1024
import { freePort } from '../helpers/free-port.js'

t.test('a peer that stops reading for a moment pauses the publisher; nothing is lost and the route stays', async (t) => {
  t.setTimeout(150_000)
  const [portA, portB] = [await freePort(), await freePort()]
  const routes = [`nats://127.0.0.1:${portA}`, `nats://127.0.0.1:${portB}`]
  // 8 MiB of pending bytes: without backpressure, the burst below would cut the route.
  const monitorA = await freePort()
  const a = await startMeshNode(t, { label: 'A', routes, routePort: portA, extraArgs: ['--max_pending', '8MB', '--route_ping_interval', '5s', '-D', '-m', String(monitorA)] })
  const b = await startMeshNode(t, { label: 'B', routes, routePort: portB, extraArgs: ['--route_ping_interval', '5s', '-D'] })
  await waitForMesh([a, b])
  const pub = await connectTo(t, a)
  const sub = await connectTo(t, b)
  const subject = uniqueSubject('burst')
  let received = 0
  sub.subscribe(subject, { callback: () => { received++ } })
  await interestBarrier(sub, pub)
  await interestBarrier(pub, sub)

  // B hangs while A's client publishes 20 MiB at it: over 8 MiB, so without
  // the pause the route would be cut.
  const burstAt = new Date().toISOString()
  b.process.kill('SIGSTOP')
  const payload = new Uint8Array(1024)
  const total = 20_000
  const publishing = (async () => {
    for (let i = 0; i < total; i++) {
      pub.publish(subject, payload)
      if (i % 500 === 499) await pub.flush()
    }
    await pub.flush()
  })()
  // B stays stopped until A's route to it holds more than the 4 MiB at which
  // the publisher is paused (what the kernel's socket buffers do not absorb
  // waits in A): the pause has happened then, however fast this machine is.
  let pendingAtResume = 0
  await until('A\'s route to B backs up past the 4 MiB pause threshold', async () => {
    const routez = await (await fetch(`http://127.0.0.1:${monitorA}/routez`, { signal: AbortSignal.timeout(5_000) })).json() as { routes: Array<{ pending_size: number }> }
    pendingAtResume = routez.routes[0]?.pending_size ?? 0
    return pendingAtResume > ROUTE_PAUSE_BYTES
  }, 30_000, 50)
  t.comment(`B resumed with ${pendingAtResume} bytes pending on A's route to it`)
  b.process.kill('SIGCONT')
  await publishing
  await until('every message reached B', () => received === total, 90_000).catch(() => 0)
  if (received !== total) {
    // Say where they went: a slow consumer or a closed route shows in a log.
    for (const [name, node] of [['A', a], ['B', b]] as const) {
      t.comment(`burst started ${burstAt}`)
      for (const line of node.output().split('\n').filter((l) => /Slow Consumer|closed|Stale|Route|route/.test(l)).slice(-15)) t.comment(`${name}: ${line}`)
    }
  }
  t.equal(received, total, 'every message arrived')
  t.notMatch(a.output(), /Slow Consumer Detected on route/, 'the route was never cut')
  t.equal(a.liveRoutes(), 1, 'A still has its route')
})

t.test('a route that owes more than max_pending is closed as a slow consumer; the node and its other routes carry on', async (t) => {
  // max_pending (1 MB) below the 4 MiB at which a route pauses its publisher,
  // and route PINGs far apart, so only the pending bytes can close the route.
  const node = await startMeshNode(t, { label: 'N', extraArgs: ['--max_pending', '1MB', '--route_ping_interval', '60s'] })
  const local = await RawClient.connect(node.port)
  t.teardown(() => local.close())
  await local.waitFor((text) => text.includes('\r\n'))
  local.send('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
  await local.waitFor((text) => text.includes('PONG\r\n'))
  const subject = uniqueSubject('stuck')
  const other = uniqueSubject('other')
  const stuck = await FakeRoute.connect(t, node.routePort)
  const bystander = await FakeRoute.connect(t, node.routePort)
  for (const [fake, s] of [[stuck, subject], [bystander, other]] as const) {
    fake.send(`RS+ $G ${s}\r\nPING\r\n`)
    await until('the node read the RS+', () => fake.lines('PONG').length > 0, 10_000, 5)
  }
  // The stuck peer stops reading; 24 MB is more than loopback socket buffers hold.
  stuck.socket.pause()
  const pub = await connectTo(t, node)
  const payload = new Uint8Array(32 * 1024)
  for (let i = 0; i < 768; i++) pub.publish(subject, payload)
  // Were the route kept, the publisher would stay paused (its route never drains) and this flush would not return.
  let timer: NodeJS.Timeout | undefined
  const isFlushed = await Promise.race([
    pub.flush().then(() => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), 20_000) }),
  ])
  clearTimeout(timer)
  t.ok(isFlushed, 'the publisher got through all 24 MB (it was not left paused behind the stuck route)')
  stuck.socket.resume()
  await until('the node closes the route it owes too much', () => stuck.closed(), 20_000)
  t.ok(stuck.closed(), 'the route that stopped reading was closed')
  t.match(node.output(), /Slow Consumer Detected on route/, 'as a slow consumer, past max_pending')
  t.notOk(pub.isClosed(), 'the publisher is still connected')
  t.notOk(bystander.closed(), 'the other route is still open')
  local.send(`PUB ${other} 5\r\nafter\r\n`)
  await until('the other route gets a publish made after the cut', () => bystander.ops.some((op) => op.payload === 'after'), 10_000, 5)
  t.pass('and still carries messages')
  t.equal(node.process.exitCode, null, 'the node is still running')
})
