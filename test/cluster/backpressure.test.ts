// A route that backs up pauses the publisher feeding it instead of being cut
// off as a slow consumer: a peer that stalls for a moment loses nothing.
import t from 'tap'
import { connectTo, interestBarrier, sleep, startMeshNode, uniqueSubject, until, waitForMesh } from '../helpers/cluster.js'
import { freePort } from '../helpers/free-port.js'

t.test('a peer that stops reading for a moment pauses the publisher; nothing is lost and the route stays', async (t) => {
  t.setTimeout(150_000)
  const [portA, portB] = [await freePort(), await freePort()]
  const routes = [`nats://127.0.0.1:${portA}`, `nats://127.0.0.1:${portB}`]
  // 8 MiB of pending bytes: without backpressure, the burst below would cut the route.
  const a = await startMeshNode(t, { label: 'A', routes, routePort: portA, extraArgs: ['--max_pending', '8MB', '--route_ping_interval', '5s', '-D'] })
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
  await sleep(1500)
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
