// `natsmesh cluster ls` against a real ZooKeeper and real nodes: it lists
// exactly the registered nodes with what each says about itself, marks a
// SIGSTOPped node NOT ANSWERING instead of hanging on it, and lists a static
// cluster from monitoring URLs. The subtests run in order on one cluster.
import t from 'tap'
import { until, waitForMesh } from '../helpers/cluster.js'
import { freePort } from '../helpers/free-port.js'
import { runCli, startOpsNode } from '../helpers/ops.js'
import { startZooKeeper } from '../helpers/zookeeper.js'

const CLUSTER = 'ls'

interface LsNode {
  name: string
  id: string
  status: string
  error: string | null
  client_url: string
  monitor_url: string | null
  routes: number | null
  connections: number | null
  subscriptions: number | null
  in_msgs: number | null
  out_msgs: number | null
  uptime: string | null
}

const zk = await startZooKeeper()
t.teardown(() => zk.stop())
const [n1, n2, n3] = await Promise.all(['n1', 'n2', 'n3'].map((name) => startOpsNode(t, { name, cluster: CLUSTER, zk: zk.connectString })))
await waitForMesh([n1, n2, n3])

async function ls(...extra: string[]): Promise<{ nodes: LsNode[]; cluster: string | null }> {
  const r = await runCli(['cluster', 'ls', '--zk', zk.connectString, '--cluster_name', CLUSTER, '--json', ...extra])
  if (r.code !== 0) throw new Error(`cluster ls failed (${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout) as { nodes: LsNode[]; cluster: string | null }
}

function names(nodes: readonly LsNode[]): string[] {
  return nodes.map((n) => n.name)
}

t.test('cluster ls --json lists exactly the live nodes, each with its own numbers', async (t) => {
  let listed: LsNode[] = []
  await until('ls shows three fully meshed nodes', async () => {
    listed = (await ls()).nodes
    return listed.length === 3 && listed.every((n) => n.routes === 2)
  })
  t.same(names(listed), ['n1', 'n2', 'n3'], 'sorted by name')
  for (const [i, node] of [n1, n2, n3].entries()) {
    t.match(listed[i], {
      name: node.name, id: node.serverId, status: 'OK', error: null, client_url: node.url, monitor_url: node.monitorUrl,
      routes: 2, connections: 0, subscriptions: 0,
    }, `${node.name}: id, URLs and counters`)
    t.match(listed[i].uptime, /^\d+s$/)
  }

  await n3.stop()
  await until('n3 is no longer listed', async () => names((await ls()).nodes).join() === 'n1,n2')
  const after = (await ls()).nodes
  t.same(after.map((n) => n.id), [n1.serverId, n2.serverId], 'a stopped node leaves the list')
  await until('n1 and n2 drop their route to n3', async () => (await ls()).nodes.every((n) => n.routes === 1))
})

t.test('a SIGSTOPped node is listed as NOT ANSWERING, within the timeout, and the others as usual', async (t) => {
  n2.pause()
  t.teardown(() => n2.resume())
  const { nodes } = await ls('--timeout', '500ms')
  t.same(names(nodes), ['n1', 'n2'], 'the paused node is still registered')
  t.match(nodes[0], { name: 'n1', status: 'OK' })
  t.match(nodes[1], { name: 'n2', status: 'NOT ANSWERING', routes: null, connections: null, uptime: null })
  t.match(nodes[1].error, /no answer within 500 ms/)

  const text = await runCli(['cluster', 'ls', '--zk', zk.connectString, '--cluster_name', CLUSTER, '--timeout', '500ms'])
  t.equal(text.code, 0)
  t.match(text.stdout, /2 node\(s\), 1 answering/)
  t.match(text.stdout, /^NAME\s+ID\s+STATUS\s+CLIENT URL\s+ROUTES\s+CONNS\s+SUBS\s+MSGS IN\s+MSGS OUT\s+UPTIME$/m, 'the table header')
  t.match(text.stdout, new RegExp(`^n2\\s+${n2.serverId.slice(0, 12)}\\s+NOT ANSWERING\\s+nats://127\\.0\\.0\\.1:${n2.port}\\s+-`, 'm'), 'n2\'s row says so')
  t.match(text.stdout, /^n2: not answering at http:\/\/127\.0\.0\.1:\d+ \(no answer within 500 ms\)$/m)
  t.comment(text.stdout)

  const drain = await runCli(['node', 'drain', 'n2', '--zk', zk.connectString, '--cluster_name', CLUSTER, '--timeout', '500ms'])
  t.equal(drain.code, 1, 'node drain of a paused node fails')
  t.match(drain.stderr, /node n2 \(N[A-Z0-9]{11}\) is not answering at http:\/\/127\.0\.0\.1:\d+: no answer within 500 ms/)
  n2.resume()
  await until('n2 answers again', async () => (await ls()).nodes.every((n) => n.status === 'OK'))
})

t.test('cluster ls --monitor lists a static set of nodes; a URL where nothing listens is NOT ANSWERING', async (t) => {
  const dead = `http://127.0.0.1:${await freePort()}`
  const r = await runCli(['cluster', 'ls', '--monitor', `${n1.monitorUrl},${dead}`, '--json'])
  t.equal(r.code, 0, r.stderr)
  const { nodes } = JSON.parse(r.stdout) as { nodes: LsNode[] }
  t.match(nodes[0], { name: 'n1', id: n1.serverId, status: 'OK', client_url: n1.url })
  t.match(nodes[1], { name: '', status: 'NOT ANSWERING', monitor_url: dead, error: 'connection refused' })
})

t.test('cluster ls says what is wrong with its flags (exit 2) and with an unreachable ZooKeeper (exit 1)', async (t) => {
  const none = await runCli(['cluster', 'ls'])
  t.equal(none.code, 2)
  t.match(none.stderr, /name the cluster: --zk host:port --cluster_name NAME, or --monitor/)
  const half = await runCli(['cluster', 'ls', '--zk', zk.connectString])
  t.equal(half.code, 2)
  t.match(half.stderr, /--zk needs --cluster_name/)
  const both = await runCli(['cluster', 'ls', '--zk', zk.connectString, '--cluster_name', CLUSTER, '--monitor', n1.monitorUrl])
  t.equal(both.code, 2)
  const timeout = await runCli(['cluster', 'ls', '--monitor', n1.monitorUrl, '--timeout', 'soon'])
  t.equal(timeout.code, 2)
  t.match(timeout.stderr, /--timeout: expected a duration/)
  const unreachable = await runCli(['cluster', 'ls', '--zk', `127.0.0.1:${await freePort()}`, '--cluster_name', CLUSTER])
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /cannot reach ZooKeeper at 127\.0\.0\.1:\d+/)
  const empty = await runCli(['cluster', 'ls', '--zk', zk.connectString, '--cluster_name', 'nobody', '--json'])
  t.equal(empty.code, 0)
  t.same((JSON.parse(empty.stdout) as { nodes: unknown[] }).nodes, [], 'an unknown cluster has no nodes')
})
