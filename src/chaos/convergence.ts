// When has the cluster recovered from a fault? Three things, each timed:
//
//   routes      every live node's /routez lists exactly one route to every
//               other live node (by server id), and none to anything else
//   interest    for every ordered pair (A, B) of live nodes, a message
//               published on A reaches a fresh subscription on B: routes are
//               not just up, they carry interest (RS+) and messages (RMSG)
//   membership  every live node's /varz says its ZooKeeper session is
//               connected and lists exactly the live nodes (skipped while
//               ZooKeeper is down)
//
// "Converged" is routes and interest; membership is reported beside it and
// has its own verdict check. Every poll is bounded by the caller's deadline.
import { randomBytes } from 'node:crypto'
import { connect as natsConnect, type NatsConnection } from 'nats'
import { sleep } from '../wait.js'
import type { ChaosCluster, ChaosNode } from './cluster.js'

const POLL_MS = 250
const PROBE_REPEAT_MS = 100

export interface Convergence {
  isConverged: boolean
  /** ms from the reference time until each part held; null if it never did before the deadline. */
  routesMs: number | null
  interestMs: number | null
  membershipMs: number | null
  /** What was still wrong at the deadline, '' when everything held. */
  problem: string
}

export async function checkRoutes(cluster: ChaosCluster): Promise<string> {
  const live = cluster.live()
  const problems: string[] = []
  await Promise.all(live.map(async (node) => {
    const want = new Set(live.filter((n) => n !== node).map((n) => n.serverId))
    try {
      const routez = await cluster.getJson(node, '/routez')
      const routes = Array.isArray(routez.routes) ? routez.routes as unknown[] : []
      const ids = routes.map((r) => (r !== null && typeof r === 'object' && 'remote_id' in r ? String(r.remote_id) : '?'))
      const missing = [...want].filter((id) => !ids.includes(id))
      const extra = ids.filter((id) => !want.has(id))
      if (missing.length > 0 || extra.length > 0 || ids.length !== want.size) {
        problems.push(`${node.label} has ${ids.length} routes (missing ${labels(cluster, missing)}, extra ${labels(cluster, extra)})`)
      }
    } catch (err) {
      problems.push(`${node.label} /routez: ${errorText(err)}`)
    }
  }))
  return problems.join('; ')
}

export async function checkMembership(cluster: ChaosCluster): Promise<string> {
  const live = cluster.live()
  const want = new Set(live.map((n) => n.serverId))
  const problems: string[] = []
  await Promise.all(live.map(async (node) => {
    try {
      const varz = await cluster.getJson(node, '/varz')
      const zk = varz.zookeeper
      if (zk === null || typeof zk !== 'object') {
        problems.push(`${node.label} /varz has no zookeeper section`)
        return
      }
      const state = 'state' in zk ? String(zk.state) : '?'
      const members = 'members' in zk && Array.isArray(zk.members) ? zk.members as unknown[] : []
      const ids = members.map((m) => (m !== null && typeof m === 'object' && 'id' in m ? String(m.id) : '?'))
      const missing = [...want].filter((id) => !ids.includes(id))
      const extra = ids.filter((id) => !want.has(id))
      if (state !== 'connected' || missing.length > 0 || extra.length > 0) {
        problems.push(`${node.label} sees ZooKeeper ${state}, members missing ${labels(cluster, missing)}, extra ${labels(cluster, extra)}`)
      }
    } catch (err) {
      problems.push(`${node.label} /varz: ${errorText(err)}`)
    }
  }))
  return problems.join('; ')
}

/** Resolves '' once every ordered pair of live nodes carries a probe, or the problem at the deadline. */
export async function probeInterest(cluster: ChaosCluster, deadline: number): Promise<string> {
  const live = cluster.live()
  const conns: Array<NatsConnection | null> = []
  try {
    for (const node of live) {
      conns.push(await natsConnect({
        servers: node.clientUrl, reconnect: false, ignoreClusterUpdates: true, name: `chaos-probe-${node.label}`,
        timeout: Math.max(500, Math.min(5_000, deadline - Date.now())),
      }).catch(() => null))
    }
    const down = live.filter((_, i) => conns[i] === null)
    if (down.length > 0) return `cannot connect a probe to ${down.map((n) => n.label).join(', ')}`
    const pairs: Array<Promise<string>> = []
    for (let a = 0; a < live.length; a++) {
      for (let b = 0; b < live.length; b++) {
        if (a === b) continue
        pairs.push(probePair(conns[a] as NatsConnection, conns[b] as NatsConnection, live[a], live[b], deadline))
      }
    }
    const failed = (await Promise.all(pairs)).filter((p) => p !== '')
    return failed.length === 0 ? '' : `no probe arrived ${failed.join(', ')}`
  } finally {
    await Promise.all(conns.map((nc) => (nc === null ? Promise.resolve() : nc.close().catch(() => undefined))))
  }
}

async function probePair(from: NatsConnection, to: NatsConnection, a: ChaosNode, b: ChaosNode, deadline: number): Promise<string> {
  const subject = `chaos.probe.${randomBytes(6).toString('hex')}`
  let isReceived = false
  const sub = to.subscribe(subject, { max: 1, callback: () => { isReceived = true } })
  try {
    await to.flush()
    for (let i = 0; i < 100_000 && !isReceived && Date.now() < deadline; i++) {
      from.publish(subject)
      await sleep(PROBE_REPEAT_MS)
    }
  } catch {
    // A probe connection closed under us: the pair counts as not carrying.
  } finally {
    sub.unsubscribe()
  }
  return isReceived ? '' : `${a.label}→${b.label}`
}

/**
 * Polls routes (and membership when `isZooKeeperUp`) until they hold, then
 * probes interest; all within `boundMs` of `since` (Date.now() time).
 */
export async function waitConverged(cluster: ChaosCluster, since: number, boundMs: number, isZooKeeperUp: () => boolean): Promise<Convergence> {
  const deadline = since + boundMs
  const result: Convergence = { isConverged: false, routesMs: null, interestMs: null, membershipMs: null, problem: '' }
  let routeProblem = 'not checked'
  let memberProblem = 'not checked'
  for (let i = 0; i < boundMs / POLL_MS + 10 && Date.now() < deadline; i++) {
    if (result.routesMs === null) {
      routeProblem = await checkRoutes(cluster)
      if (routeProblem === '') result.routesMs = Date.now() - since
    }
    if (result.membershipMs === null && isZooKeeperUp()) {
      memberProblem = await checkMembership(cluster)
      if (memberProblem === '') result.membershipMs = Date.now() - since
    }
    if (result.routesMs !== null && result.interestMs === null) {
      const interestProblem = await probeInterest(cluster, deadline)
      if (interestProblem === '') result.interestMs = Date.now() - since
      else routeProblem = interestProblem
    }
    if (result.interestMs !== null && result.membershipMs !== null) break
    if (result.interestMs !== null && !isZooKeeperUp()) break
    await sleep(POLL_MS)
  }
  result.isConverged = result.routesMs !== null && result.interestMs !== null
  const problems: string[] = []
  if (!result.isConverged) problems.push(routeProblem)
  if (result.membershipMs === null && isZooKeeperUp()) problems.push(`membership: ${memberProblem}`)
  result.problem = problems.join('; ')
  return result
}

function labels(cluster: ChaosCluster, ids: readonly string[]): string {
  if (ids.length === 0) return 'none'
  return ids.map((id) => cluster.knownIds.get(id) ?? `${id.slice(0, 8)}…`).join(',')
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
