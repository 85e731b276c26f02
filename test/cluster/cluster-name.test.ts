// The cluster name as nats-server 2.9.10 handles it, checked against
// nats-server itself: --cluster_name without --cluster still goes into the
// clients' INFO (the nats.go client reads it) and /varz; --cluster without
// --cluster_name runs under a generated name (a NUID) that gives way to a
// peer's configured or greater name, so nameless nodes on a seed list agree.
import t from 'tap'
import { connectTo, freePorts, until, waitForMesh } from '../helpers/cluster.js'
import { freePort } from '../helpers/free-port.js'
import { startBoth, startNatsServer, varz } from '../helpers/nats-server.js'
import { spawnNode } from '../helpers/natsmesh.js'
import { runCli } from '../helpers/ops.js'
import { firstInfo } from '../helpers/raw-client.js'

/** nats-server's NUID: 22 characters of base 62. */
const NUID = /^[0-9A-Za-z]{22}$/

t.test('--cluster_name without --cluster: INFO and /varz carry the name, as nats-server\'s do', async (t) => {
  for (const { server, monitorPort, kind: label } of await startBoth(t, () => ['--cluster_name', 'edge'])) {
    const info = await firstInfo(server.port)
    t.equal(info.cluster, 'edge', `${label}: INFO names the cluster`)
    t.notOk('connect_urls' in info, `${label}: and lists no connect_urls`)
    t.same((await varz(monitorPort)).cluster, { name: 'edge' }, `${label}: /varz cluster is the name alone`)
    const nc = await connectTo(t, server)
    t.equal(nc.info?.cluster, 'edge', `${label}: the nats.js client sees it`)
  }
})

t.test('--cluster without --cluster_name: a generated NUID in INFO and /varz, and a warning, as nats-server', async (t) => {
  const names: string[] = []
  const servers = await startBoth(t, (kind) => ['--cluster', `nats://127.0.0.1:${kind === 'natsmesh' ? 0 : -1}`])
  for (const { server, monitorPort, kind: label } of servers) {
    const info = await firstInfo(server.port)
    t.match(info.cluster, NUID, `${label}: INFO carries a generated name`)
    t.notOk('cluster_dynamic' in info, `${label}: and does not tell clients it was generated`)
    t.match((await varz(monitorPort)).cluster, { name: info.cluster }, `${label}: /varz shows the same name`)
    await server.waitForLine(/Cluster name was dynamically generated, consider setting one/, 5_000)
    t.pass(`${label}: warns that the name was generated`)
    names.push(String(info.cluster))
  }
  t.not(names[0], names[1], 'each server generates its own')
})

t.test('nameless nodes on a static seed list agree on one generated name and carry messages', async (t) => {
  const routePorts = await freePorts(3)
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',')
  const nodes = await Promise.all(routePorts.map((p) => spawnNode(['--cluster', `nats://127.0.0.1:${p}`, '--routes', routes])))
  for (const node of nodes) t.teardown(() => node.stop())
  await waitForMesh(nodes.map((n, i) => ({ url: n.url, label: `node ${i}` })), 20_000)
  let clusterNames: unknown[] = []
  await until('every node tells its clients the same cluster name', async () => {
    clusterNames = await Promise.all(nodes.map(async (n) => (await firstInfo(n.port)).cluster))
    return new Set(clusterNames).size === 1
  })
  t.match(clusterNames[0], NUID, 'a generated name')
  t.ok(nodes.some((n) => n.output().includes(`Cluster name updated to ${String(clusterNames[0])}`)), 'some node gave its own name up for it')
})

t.test('a nameless natsmesh node routed to a named nats-server takes its name, and the other way round', async (t) => {
  const natsRoutePort = await freePort()
  const named = await startNatsServer(['--cluster', `nats://127.0.0.1:${natsRoutePort}`, '--cluster_name', 'prod'])
  t.teardown(() => named.stop())
  const nameless = await spawnNode(['--cluster', 'nats://127.0.0.1:0', '--routes', `nats://127.0.0.1:${natsRoutePort}`])
  t.teardown(() => nameless.stop())
  await waitForMesh([{ url: named.url, label: 'nats-server' }, { url: nameless.url, label: 'natsmesh' }], 20_000)
  t.equal((await firstInfo(nameless.port)).cluster, 'prod', 'natsmesh took nats-server\'s configured name')

  const [meshRoutePort, natsMonitor] = await freePorts(2)
  const meshNamed = await spawnNode(['--cluster', `nats://127.0.0.1:${meshRoutePort}`, '--cluster_name', 'edge'])
  t.teardown(() => meshNamed.stop())
  const natsNameless = await startNatsServer(['-m', String(natsMonitor), '--cluster', 'nats://127.0.0.1:-1', '--routes', `nats://127.0.0.1:${meshRoutePort}`])
  t.teardown(() => natsNameless.stop())
  await waitForMesh([{ url: meshNamed.url, label: 'natsmesh' }, { url: natsNameless.url, label: 'nats-server' }], 20_000)
  t.match((await varz(natsMonitor)).cluster, { name: 'edge' }, 'nats-server took natsmesh\'s configured name')
})

t.test('--zk without --cluster_name is refused: the name is the cluster\'s ZooKeeper path', async (t) => {
  const r = await runCli(['server', '--cluster', 'nats://127.0.0.1:0', '--zk', '127.0.0.1:2181', '--check'])
  t.equal(r.code, 2)
  t.match(r.stderr, /--cluster_name is required with --zk/)
  const withoutZk = await runCli(['server', '--cluster', 'nats://127.0.0.1:0', '--check'])
  t.equal(withoutZk.code, 0, `--cluster alone is accepted: ${withoutZk.stderr}`)
  t.equal((JSON.parse(withoutZk.stdout) as Record<string, unknown>).cluster_name, '', '--check shows no name: it is generated at start')
})
