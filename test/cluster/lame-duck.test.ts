// Lame duck, step by step, as docs/operations.md "Drain a node" lists the
// steps and a peer and clients see them: the node stops accepting clients and
// /healthz answers 503; its clients get INFO with ldm and connect_urls without
// it; its peers get a route INFO with ldm and no connect_urls, and stop
// advertising it to their own clients; after the grace period its clients are
// closed a batch at a time, not all at once; then it exits 0.
// Two nodes from a static seed list (no ZooKeeper: leaving membership is
// tested with ZooKeeper in test/ops/node-drain.test.ts) and a fake peer.
import t, { type Test } from 'tap'
import { RawClient } from '../helpers/raw-client.js'
import { FakeRoute, freePorts, startMeshNode, until, waitForMesh, type MeshNode } from '../helpers/cluster.js'
import { freePort, isAccepting } from '../helpers/free-port.js'

/** Clients of the drained node: with an 8 s duration they are closed one at a time, 2 s apart. */
const CLOSED_CLIENTS = 4

/** A raw client that announced protocol 1 (so it gets INFO updates), CONNECTed and PONGed. */
async function protocol1Client(t: Test, node: MeshNode): Promise<RawClient> {
  const c = await RawClient.connect(node.port)
  t.teardown(() => c.close())
  await c.waitFor((text) => text.includes('\r\n'))
  c.send('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nPING\r\n')
  await c.waitFor((text) => text.includes('PONG\r\n'))
  return c
}

/** Every INFO a raw client received, the first one included, parsed. */
async function infos(c: RawClient): Promise<Array<{ ldm?: boolean; connect_urls?: string[] }>> {
  const all = await c.waitFor(() => true) // everything received so far, at once
  return all.split('\r\n').filter((l) => l.startsWith('INFO {')).map((l) => JSON.parse(l.slice(5)) as { ldm?: boolean; connect_urls?: string[] })
}

async function everyClient(clients: RawClient[], test: (i: { ldm?: boolean; connect_urls?: string[] }) => boolean): Promise<boolean> {
  for (const c of clients) if (!(await infos(c)).some(test)) return false
  return true
}

t.test('a node in lame duck stops accepting, says so to clients, peers and /healthz, then closes its clients a batch at a time and exits 0', async (t) => {
  const [routeA, routeB] = await freePorts(2)
  const routes = [`nats://127.0.0.1:${routeA}`, `nats://127.0.0.1:${routeB}`]
  const monitorA = await freePort()
  const A = await startMeshNode(t, {
    label: 'A', routes, routePort: routeA,
    extraArgs: ['-m', String(monitorA), '--lame_duck_grace_period', '1s', '--lame_duck_duration', '8s'],
  })
  const B = await startMeshNode(t, { label: 'B', routes, routePort: routeB })
  await waitForMesh([A, B])
  const peer = await FakeRoute.connect(t, A.routePort)
  const onA = await Promise.all(Array.from({ length: CLOSED_CLIENTS }, () => protocol1Client(t, A)))
  const onB = await protocol1Client(t, B)
  const both = [A.hostPort, B.hostPort].sort()
  const knowsBoth = (i: { connect_urls?: string[] }): boolean => [...(i.connect_urls ?? [])].sort().join() === both.join()
  await until('A\'s clients know A and B', () => everyClient(onA, knowsBoth))
  await until('B\'s client knows A and B', () => everyClient([onB], knowsBoth))
  await until('the fake peer is registered (it got A\'s INFO)', () => peer.lines('INFO').length > 0)
  const infosBefore = { peer: peer.lines('INFO').length, onB: (await infos(onB)).length }

  A.process.kill('SIGUSR2')

  await until('A\'s clients get INFO with ldm and connect_urls of B only', () =>
    everyClient(onA, (i) => i.ldm === true && (i.connect_urls ?? []).join() === B.hostPort))
  t.pass('A\'s clients got INFO with ldm: true and connect_urls without A')
  t.notOk(await isAccepting(A.port), 'A no longer accepts clients')
  const health = await fetch(`http://127.0.0.1:${monitorA}/healthz`, { signal: AbortSignal.timeout(5_000) })
  t.equal(health.status, 503, '/healthz answers 503')
  t.match(await health.json(), { status: 'unavailable', error: 'server is in lame duck mode' }, 'saying it is in lame duck mode')

  await until('the peer gets a route INFO with ldm', () => peer.lines('INFO').slice(infosBefore.peer).some((l) => l.includes('"ldm":true')))
  const routeInfo = JSON.parse(peer.lines('INFO').slice(infosBefore.peer).find((l) => l.includes('"ldm":true'))?.slice(5) ?? '{}') as Record<string, unknown>
  t.match(routeInfo, { server_id: A.serverId, ldm: true, connect_urls: [] }, 'the route INFO to peers has ldm: true and no connect_urls')
  await until('B\'s client gets an INFO without A', async () => (await infos(onB)).slice(infosBefore.onB).some((i) => (i.connect_urls ?? []).join() === B.hostPort))
  t.pass('B stopped advertising A to its own clients')

  // Spread closes: when the first client is closed, the others must still answer a PING.
  await until('A closes its first client', () => onA.some((c) => c.closed()), 30_000, 10)
  const open = onA.filter((c) => !c.closed())
  for (const c of open) c.send('PING\r\n')
  const answered = await Promise.all(open.map(async (c) => {
    const pongs = c.text().split('PONG\r\n').length - 1
    const text = await c.waitFor((s) => s.split('PONG\r\n').length - 1 > pongs, 10_000)
    return text.split('PONG\r\n').length - 1 > pongs
  }))
  t.ok(answered.some((isAnswered) => isAnswered),
    `after the first client was closed, ${answered.filter(Boolean).length} of the other ${open.length} still answered a PING: not all closed at once`)

  await until('A closes every client', () => onA.every((c) => c.closed()), 30_000, 20)
  t.same(await A.exited, { code: 0, signal: null }, 'A exits 0')
  t.ok(onA.every((c) => !/-ERR/.test(c.text())), 'no client was told of an error')
})
