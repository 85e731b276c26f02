// A cluster from a static seed list (nats-server's --routes), every node given
// all three route URLs, its own included. Both sides of each pair dial; the
// duplicate-route rule must leave exactly one route per pair, and the route to
// itself must be dropped.
import t from 'tap'
import {
  NumberReceiver, connectTo, freePorts, interestBarrier, sleep, startMeshNode, uniqueSubject, until, waitForMesh,
  type MeshNode,
} from '../helpers/cluster.js'

/** Peer server ids of the routes a node's log says are open (created and not closed since), by rid. */
function livePeers(node: MeshNode): string[] {
  const open = new Map<string, string>()
  for (const line of node.output().split('\n')) {
    const created = / rid:(\d+) .* - Route connection created \((?:dialed|accepted), (N[A-Z0-9]+)\)/.exec(line)
    if (created !== null) open.set(created[1], created[2])
    const closed = / rid:(\d+) .* - Route connection closed/.exec(line)
    if (closed !== null) open.delete(closed[1])
  }
  return [...open.values()].sort()
}

const routePorts = await freePorts(3)
const seeds = routePorts.map((p) => `nats://127.0.0.1:${p}`)
const startedAt = Date.now()
const nodes = await Promise.all(['A', 'B', 'C'].map((label, i) => startMeshNode(t, { label, routes: seeds, routePort: routePorts[i] })))
const meshMs = await waitForMesh(nodes)
t.comment(`static 3-node cluster carrying messages between every pair ${Date.now() - startedAt} ms after the first spawn (waitForMesh ${meshMs} ms)`)

t.test('after convergence there is exactly one route per pair, and none to self', async (t) => {
  const expected = (n: MeshNode): string => nodes.filter((o) => o !== n).map((o) => o.serverId).sort().join()
  const ms = await until('each node has one route to each other node', () => nodes.every((n) => livePeers(n).join() === expected(n)), 15_000)
  // Stable, not just passing through: a second look after redials would have happened.
  await sleep(1_500)
  for (const n of nodes) {
    t.same(livePeers(n), nodes.filter((o) => o !== n).map((o) => o.serverId).sort(), `${n.label} has one route to each of the other two`)
    t.equal(n.liveRoutes(), 2, `${n.label}: routes created minus closed is 2`)
    t.notOk(n.output().includes(`Route connection created (dialed, ${n.serverId})`), `${n.label} never registered a route to itself`)
  }
  t.comment(`one route per pair ${ms} ms after the mesh carried messages; routes created per node (duplicates included): ` +
    nodes.map((n) => `${n.label}=${n.output().match(/Route connection created/g)?.length ?? 0}`).join(' '))
})

t.test('messages flow both ways between every pair, once each and in order', async (t) => {
  const N = 500
  const conns = await Promise.all(nodes.map((n) => connectTo(t, n)))
  const receivers: Array<{ from: number; to: number; rx: NumberReceiver }> = []
  for (let from = 0; from < nodes.length; from++) {
    for (let to = 0; to < nodes.length; to++) {
      if (from === to) continue
      receivers.push({ from, to, rx: new NumberReceiver(conns[to], uniqueSubject(`static.${nodes[from].label}${nodes[to].label}`)) })
    }
  }
  for (const { from, to } of receivers) await interestBarrier(conns[from], conns[to])
  for (const { from, rx } of receivers) for (let i = 1; i <= N; i++) conns[from].publish(rx.sub.getSubject(), String(i))
  await Promise.all(conns.map((nc) => nc.flush()))
  await until('every pair delivered everything', () => receivers.every(({ rx }) => rx.seen.length >= N), 20_000)
  for (const { from, to } of receivers) await interestBarrier(conns[from], conns[to])
  for (const { from, to, rx } of receivers) {
    t.same(rx.report(N), { published: N, received: N, lost: 0, duplicates: 0, outOfOrder: 0, longestGap: 0 },
      `${nodes[from].label}→${nodes[to].label}: all ${N}, once each, in order`)
  }
})
