// `natsmesh up` as a developer runs it: a real ZooKeeper and real node
// processes started by the CLI, read back from its printed table, used with
// nats.js clients, then stopped with SIGINT; afterwards no process it started
// is left and its temp dir is gone.
import { existsSync } from 'node:fs'
import t from 'tap'
import { getJson, httpRequest } from '../../src/ops/http.js'
import { connectTo, publishUntil, uniqueSubject, until } from '../helpers/cluster.js'
import { isAlive, runCli, startUp } from '../helpers/ops.js'

interface LsNode { name: string; id: string; status: string; client_url: string; routes: number | null }

function lsNodes(stdout: string): LsNode[] {
  return (JSON.parse(stdout) as { nodes: LsNode[] }).nodes
}

async function healthz(monitorUrl: string): Promise<number> {
  try {
    return (await httpRequest('GET', `${monitorUrl}/healthz`, 2_000)).status
  } catch {
    return 0
  }
}

t.test('up starts ZooKeeper and three nodes; messages cross nodes; a killed node is reported while the rest serve; SIGINT stops every process', async (t) => {
  const up = await startUp(t, ['--nodes', '3', '--cluster_name', 'uptest'])
  const rows = up.rows()
  t.same(rows.map((r) => r.name), ['uptest-1', 'uptest-2', 'uptest-3'], 'the table names the three nodes')
  const zk = up.zookeeper()
  if (zk === null) throw new Error(`no ZooKeeper line in:\n${up.stdout()}`)
  t.ok(isAlive(zk.pid), 'ZooKeeper runs')
  t.ok(existsSync(zk.dir), 'ZooKeeper has its temp dir')
  t.match(up.stdout(), `natsmesh cluster ls --zk ${zk.connectString} --cluster_name uptest`, 'it says how to list the cluster')

  const subConn = await connectTo(t, { url: rows[0].clientUrl })
  const pubConn = await connectTo(t, { url: rows[1].clientUrl })
  const subject = uniqueSubject('up')
  const received: string[] = []
  subConn.subscribe(subject, { callback: (_err, msg) => { received.push(msg.string()) } })
  await subConn.flush()
  // Empty probes until the subscription's interest has reached uptest-2 (at-most-once drops earlier ones).
  await publishUntil(pubConn, subject, () => received.length > 0)
  pubConn.publish(subject, 'hello from uptest-2')
  await until('uptest-1 receives the message published on uptest-2', () => received.includes('hello from uptest-2'), 10_000)
  t.pass('a message published on node 2 reached a subscriber on node 1')

  const ls = await runCli(['cluster', 'ls', '--zk', zk.connectString, '--cluster_name', 'uptest', '--json'])
  t.equal(ls.code, 0, ls.stderr)
  const listed = lsNodes(ls.stdout)
  t.same(listed.map((n) => n.name).sort(), ['uptest-1', 'uptest-2', 'uptest-3'], 'cluster ls sees the three nodes up started')
  t.same(listed.map((n) => n.client_url).sort(), rows.map((r) => r.clientUrl).sort(), 'with the client URLs up printed')
  t.ok(listed.every((n) => n.status === 'OK' && n.routes === 2), 'all answer, fully meshed')

  process.kill(rows[2].pid, 'SIGKILL')
  await up.waitFor(/uptest-3 \(pid \d+\) died unexpectedly \(killed by SIGKILL\); 2 node\(s\) still running/)
  t.pass('up reports the node that died')
  t.equal(await healthz(rows[0].monitorUrl), 200, 'uptest-1 keeps serving')
  t.equal(await healthz(rows[1].monitorUrl), 200, 'uptest-2 keeps serving')
  t.ok(isAlive(up.process.pid ?? -1), 'up keeps running')

  up.process.kill('SIGINT')
  const exit = await up.exited
  t.equal(exit.code, 0, 'up exits 0 after SIGINT')
  for (const r of rows) t.notOk(isAlive(r.pid), `${r.name} (pid ${r.pid}) is gone`)
  t.notOk(isAlive(zk.pid), `ZooKeeper's JVM (pid ${zk.pid}) is gone`)
  t.notOk(existsSync(zk.dir), 'ZooKeeper\'s temp dir is removed')
  t.match(up.stdout(), /uptest-1 stopped \(exit code 0\)/, 'the nodes stopped cleanly')
  t.match(up.stdout(), /ZooKeeper stopped/)
})

t.test('up --no_zk runs a static cluster that meshes, listed through --monitor, and SIGINT stops it', async (t) => {
  const up = await startUp(t, ['--nodes', '2', '--no_zk', '--cluster_name', 'static', '--', '--max_payload', '2MB'])
  t.equal(up.zookeeper(), null, 'no ZooKeeper')
  t.match(up.stdout(), /Discovery: static seed list/)
  const rows = up.rows()
  t.equal(rows.length, 2)
  const ls = await runCli(['cluster', 'ls', '--monitor', rows.map((r) => r.monitorUrl).join(','), '--json'])
  t.equal(ls.code, 0, ls.stderr)
  const listed = lsNodes(ls.stdout)
  t.same(listed.map((n) => n.name), ['static-1', 'static-2'])
  t.ok(listed.every((n) => n.routes === 1), 'each node has a route to the other')
  const varz = await getJson(`${rows[0].monitorUrl}/varz`, 5_000) as { max_payload: number }
  t.equal(varz.max_payload, 2 * 1024 * 1024, 'flags after -- reach the nodes')

  up.process.kill('SIGINT')
  t.equal((await up.exited).code, 0)
  for (const r of rows) t.notOk(isAlive(r.pid), `${r.name} is gone`)
})

t.test('up refuses flags it sets itself, and bad values, before starting anything', async (t) => {
  const port = await runCli(['up', '--', '--port', '4222'])
  t.equal(port.code, 2)
  t.match(port.stderr, /--port after --: up sets that flag for each node itself/)
  const alias = await runCli(['up', '--', '-DVp', '4222'])
  t.equal(alias.code, 2, 'a single-letter alias inside a group is caught too')
  const nodes = await runCli(['up', '--nodes', '0'])
  t.equal(nodes.code, 2)
  t.match(nodes.stderr, /--nodes: expected 1 to 32, got 0/)
  const base = await runCli(['up', '--base_port', '65000'])
  t.equal(base.code, 2)
  t.match(base.stderr, /--base_port/)
})
