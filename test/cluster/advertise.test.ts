// What a node tells its clients and peers about where to reach it
// (docs/protocol.md "INFO"): connect_urls lists the live nodes, --no_advertise
// leaves it out, --client_advertise replaces the client address in INFO and
// connect_urls, --cluster_advertise the route address peers are given; the
// advertise flags are checked against nats-server. Nodes from a static seed list.
import t from 'tap'
import { firstInfo, RawClient } from '../helpers/raw-client.js'
import { connectTo, freePorts, startMeshNode, until, waitForMesh, type MeshNode } from '../helpers/cluster.js'
import { startBoth, varz } from '../helpers/nats-server.js'

/** A raw client that announced protocol 1 (so it would get INFO updates), CONNECTed and PONGed. */
async function protocol1Client(node: MeshNode): Promise<RawClient> {
  const c = await RawClient.connect(node.port)
  t.teardown(() => c.close())
  await c.waitFor((text) => text.includes('\r\n'))
  c.send('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nPING\r\n')
  await c.waitFor((text) => text.includes('PONG\r\n'))
  return c
}

/** Every INFO the client received, the first one included. */
async function infos(c: RawClient): Promise<Array<Record<string, unknown>>> {
  const all = await c.waitFor(() => true) // everything received so far, at once
  return all.split('\r\n').filter((l) => l.startsWith('INFO {')).map((l) => JSON.parse(l.slice(5)) as Record<string, unknown>)
}

t.test('a node started with --no_advertise never sends its clients connect_urls, while its peer does', async (t) => {
  const [routeA, routeB] = await freePorts(2)
  const routes = [`nats://127.0.0.1:${routeA}`, `nats://127.0.0.1:${routeB}`]
  const A = await startMeshNode(t, { label: 'A', routes, routePort: routeA, extraArgs: ['--no_advertise'] })
  // Connected before B exists: a node that advertised would send these clients an INFO update when B's route registers.
  const onA = await protocol1Client(A)
  const B = await startMeshNode(t, { label: 'B', routes, routePort: routeB })
  await waitForMesh([A, B])
  // Connected once the route is up, so its first INFO already lists both (see the todo test below for a client that races the route).
  const onB = await protocol1Client(B)
  await until('B\'s clients are told both nodes', async () =>
    (await infos(onB)).some((i) => Array.isArray(i.connect_urls) && i.connect_urls.includes(A.hostPort) && i.connect_urls.includes(B.hostPort)))
  t.pass('without the flag, B sends connect_urls with both nodes')
  // Anything A sent its client before this PONG has arrived.
  onA.send('PING\r\n')
  await onA.waitFor((text) => text.split('PONG\r\n').length > 2)
  const fromA = await infos(onA)
  t.ok(fromA.length > 0 && fromA.every((i) => i.cluster === 'x'), 'A\'s INFO names the cluster')
  t.same(fromA.filter((i) => 'connect_urls' in i), [], 'no INFO from A carries connect_urls')
  const nc = await connectTo(t, A)
  t.equal(nc.info?.connect_urls, undefined, 'nats.js on A sees no connect_urls')
})

t.test('a client whose INFO went out before the cluster changed and whose CONNECT came after is sent the new connect_urls with its first PONG, as nats-server does', async (t) => {
  const [routeA, routeB] = await freePorts(2)
  const routes = [`nats://127.0.0.1:${routeA}`, `nats://127.0.0.1:${routeB}`]
  const B = await startMeshNode(t, { label: 'B', routes, routePort: routeB })
  // Accepted (and sent its INFO) while B is alone, but silent: no CONNECT yet.
  const early = await RawClient.connect(B.port)
  t.teardown(() => early.close())
  await early.waitFor((text) => text.includes('\r\n'))
  const A = await startMeshNode(t, { label: 'A', routes, routePort: routeA })
  await waitForMesh([A, B])
  const current = await protocol1Client(B)
  t.ok((await infos(current)).some((i) => Array.isArray(i.connect_urls) && i.connect_urls.includes(A.hostPort)), 'B advertises A by now')
  early.send('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nPING\r\n')
  await early.waitFor((text) => text.includes('PONG\r\n'))
  // A second round trip: whatever B sent with the first PONG has arrived.
  early.send('PING\r\n')
  await early.waitFor((text) => text.split('PONG\r\n').length > 2)
  t.ok((await infos(early)).some((i) => Array.isArray(i.connect_urls) && i.connect_urls.includes(A.hostPort)),
    'the client that CONNECTed after the change was told A\'s URL')
})

t.test('--client_advertise is the host and port in INFO and /varz, as nats-server has them; without a port, the listen port', async (t) => {
  for (const { kind, server, monitorPort } of await startBoth(t, () => ['--client_advertise', 'nats.example.com:5555'])) {
    t.match(await firstInfo(server.port), { host: 'nats.example.com', port: 5555 }, `${kind}: INFO`)
    t.match(await varz(monitorPort), { host: 'nats.example.com', port: 5555 }, `${kind}: /varz`)
  }
  for (const { kind, server } of await startBoth(t, () => ['--client_advertise', 'nats.example.com'])) {
    t.match(await firstInfo(server.port), { host: 'nats.example.com', port: server.port }, `${kind}: a host alone keeps the listen port`)
  }
})

t.test('--client_advertise is the URL of its node in connect_urls, on its own clients and on its peers\'', async (t) => {
  const [routeA, routeB] = await freePorts(2)
  const routes = [`nats://127.0.0.1:${routeA}`, `nats://127.0.0.1:${routeB}`]
  const A = await startMeshNode(t, { label: 'A', routes, routePort: routeA, extraArgs: ['--client_advertise', 'a.example.com:1111'] })
  const B = await startMeshNode(t, { label: 'B', routes, routePort: routeB })
  await waitForMesh([A, B])
  const onA = await protocol1Client(A)
  const onB = await protocol1Client(B)
  const urlsOf = async (c: RawClient): Promise<unknown> => (await infos(c)).map((i) => i.connect_urls).filter((u) => u !== undefined).pop()
  await until('both nodes list A by its advertised URL', async () => {
    const [a, b] = [await urlsOf(onA), await urlsOf(onB)]
    return Array.isArray(a) && a.includes('a.example.com:1111') && Array.isArray(b) && b.includes('a.example.com:1111')
  })
  const fromA = await urlsOf(onA) as string[]
  t.same(fromA, ['a.example.com:1111', B.hostPort], 'A lists itself first, as advertised, then B')
  t.notOk(fromA.includes(A.hostPort), 'and not by its listen address')
})

t.test('--cluster_advertise is the host and port peers are told in the route INFO, as nats-server\'s', async (t) => {
  const [meshRoute, natsRoute] = await freePorts(2)
  const routeArgs = (kind: string, advertise: string): string[] =>
    ['--cluster', `nats://127.0.0.1:${kind === 'natsmesh' ? meshRoute : natsRoute}`, '--cluster_name', 'x', '--cluster_advertise', advertise]
  for (const { kind } of await startBoth(t, (kind) => routeArgs(kind, '10.1.2.3:7777'))) {
    t.match(await firstInfo(kind === 'natsmesh' ? meshRoute : natsRoute), { host: '10.1.2.3', port: 7777 }, `${kind}: route INFO`)
  }
})

t.test('--cluster_advertise without a port advertises the route port, as nats-server does', async (t) => {
  const [meshRoute, natsRoute] = await freePorts(2)
  const routePort = (kind: string): number => (kind === 'natsmesh' ? meshRoute : natsRoute)
  for (const { kind } of await startBoth(t, (kind) => ['--cluster', `nats://127.0.0.1:${routePort(kind)}`, '--cluster_name', 'x', '--cluster_advertise', '10.1.2.3'])) {
    t.match(await firstInfo(routePort(kind)), { host: '10.1.2.3', port: routePort(kind) }, `${kind}: route INFO`)
  }
})
