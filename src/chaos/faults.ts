// The faults a chaos run injects, one at a time, each followed by its
// recovery step and a wait for the cluster to converge:
//
//   kill     SIGKILL a node; restart it on the same ports 1–3 s later
//   hotkill  the same, on the node the hot publisher (P1) is on
//   pause    SIGSTOP a node for 1.5–5 s, then SIGCONT (a hang, not a crash:
//            sockets stay open, peers and clients must notice by PING)
//   drain    POST /drain (lame duck) and start a replacement node
//   add      start one more node (the cluster grows by at most two)
//   zk       SIGKILL ZooKeeper for 3–6 s, then start it again (same data)
//
// A fault's window, in which loss is allowed for the clients it touched:
//
//   [ start − PRE_WINDOW_MS ,  settled + margin ]
//
// where `settled` is when the runner saw routes, interest and membership
// converged and every client that was on the target connected again.
// PRE_WINDOW_MS covers messages already handed to the node's sockets. The
// analysis also explains a loss by what its own flow showed (startMarks,
// taken as the fault begins): see analysis.ts.
import { markStart, type FaultStartMarks } from './analysis.js'
import type { ChaosCluster, ChaosNode } from './cluster.js'
import { sleep } from '../wait.js'
import { waitConverged } from './convergence.js'
import type { FaultKind } from './options.js'
import type { Random } from './random.js'
import type { Failover, FaultReport } from './report.js'
import { HOT_PUBLISHER, type Traffic } from './traffic.js'
import type { LocalZooKeeper } from '../local/zookeeper.js'

export const PRE_WINDOW_MS = 1_000
const RECONNECT_POLL_MS = 50

export interface InjectorContext {
  cluster: ChaosCluster
  zookeeper: LocalZooKeeper
  traffic: Traffic
  rng: Random
  clock(): number
  marginMs: number
  convergeBoundMs: number
  /** Most nodes alive at once (the start count + 2). */
  maxNodes: number
  say(line: string): void
}

export class FaultInjector {
  /** What every flow had delivered when each fault began, by fault index (see analysis.ts eventWindow). */
  readonly startMarks = new Map<number, FaultStartMarks>()
  private readonly ctx: InjectorContext

  constructor(ctx: InjectorContext) {
    this.ctx = ctx
  }

  /** Whether `kind` can run now (enough live nodes, room to add one). */
  canRun(kind: FaultKind): boolean {
    const live = this.ctx.cluster.live().length
    if (kind === 'add') return live < this.ctx.maxNodes
    if (kind === 'zk') return this.ctx.zookeeper.isRunning
    return live >= 2
  }

  async run(kind: FaultKind, index: number): Promise<FaultReport> {
    const { cluster, clock } = this.ctx
    const notes: string[] = []
    const target = this.pickTarget(kind, notes)
    const startMs = clock()
    this.startMarks.set(index, markStart(this.ctx.traffic))
    const affected = target === null ? [] : this.ctx.traffic.clients.filter((c) => c.isConnected && c.server() === target.hostPort).map((c) => c.id)
    const label = kind === 'zk' ? 'zookeeper' : kind === 'add' ? '(new node)' : target?.label ?? '?'
    this.ctx.say(`fault #${index} ${kind} ${label}` + (affected.length > 0 ? `: clients on it ${affected.join(' ')}` : ''))
    let detail = ''
    let resultTarget = label
    switch (kind) {
      case 'kill':
      case 'hotkill': {
        const node = target as ChaosNode
        await cluster.kill(node)
        const holdMs = this.ctx.rng.int(1_000, 3_000)
        await sleep(holdMs)
        try {
          await cluster.start(node)
          detail = `SIGKILL; restarted after ${(holdMs / 1000).toFixed(1)}s on the same ports`
        } catch (err) {
          // The run goes on with one node less; a node that crashed while starting is also an unexpected exit.
          detail = `SIGKILL; the restart after ${(holdMs / 1000).toFixed(1)}s failed`
          notes.push(`restart failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
        }
        break
      }
      case 'pause': {
        const node = target as ChaosNode
        cluster.pause(node)
        const holdMs = this.ctx.rng.int(1_500, 5_000)
        await sleep(holdMs)
        cluster.resume(node)
        detail = `SIGSTOP for ${(holdMs / 1000).toFixed(1)}s, then SIGCONT`
        break
      }
      case 'drain': {
        const node = target as ChaosNode
        const [isInTime, replacement] = await Promise.all([cluster.drain(node), cluster.addNode()])
        detail = `POST /drain; replacement ${replacement.label}; the drained node exited ${isInTime ? 'by itself' : 'only when killed (drain hung)'}`
        if (!isInTime) notes.push('the drain did not finish within 20 s: the node was SIGKILLed')
        break
      }
      case 'add': {
        const node = await cluster.addNode()
        resultTarget = node.label
        detail = `new node ${node.label}`
        break
      }
      case 'zk': {
        await this.ctx.zookeeper.kill()
        const holdMs = this.ctx.rng.int(3_000, 6_000)
        await sleep(holdMs)
        await this.ctx.zookeeper.restart()
        detail = `ZooKeeper SIGKILLed for ${(holdMs / 1000).toFixed(1)}s, restarted with its data`
        break
      }
    }
    const recoveredAt = Date.now()
    const recoveredMs = clock()
    const convergence = await waitConverged(cluster, recoveredAt, this.ctx.convergeBoundMs, () => this.ctx.zookeeper.isRunning)
    const reconnectDeadline = recoveredAt + this.ctx.convergeBoundMs
    const affectedClients = this.ctx.traffic.clients.filter((c) => affected.includes(c.id))
    for (let i = 0; i < this.ctx.convergeBoundMs / RECONNECT_POLL_MS + 10; i++) {
      if (affectedClients.every((c) => c.isConnected) || Date.now() > reconnectDeadline) break
      await sleep(RECONNECT_POLL_MS)
    }
    const settledMs = clock()
    const stuck = affectedClients.filter((c) => !c.isConnected).map((c) => c.id)
    if (stuck.length > 0) notes.push(`still disconnected ${((settledMs - recoveredMs) / 1000).toFixed(1)}s after recovery: ${stuck.join(', ')}`)
    const failovers = affectedClients.map((c): Failover => {
      const down = c.changes.find((x) => x.type === 'disconnect' && x.at >= startMs)
      const up = down === undefined ? undefined : c.changes.find((x) => x.type === 'reconnect' && x.at >= down.at)
      return {
        client: c.id,
        kind: c.kind,
        isPlanned: up?.isPlanned ?? down?.isPlanned ?? (c.kind === 'natsmesh' ? false : null),
        disconnectMs: down === undefined ? null : down.at - startMs,
        failoverMs: up === undefined ? null : up.at - startMs,
        to: up === undefined ? null : cluster.byHostPort(up.server)?.label ?? up.server,
      }
    })
    const c = convergence
    this.ctx.say(`fault #${index} ${kind} ${resultTarget} recovered: ` +
      (c.isConverged ? `converged (routes ${ms(c.routesMs)}, interest ${ms(c.interestMs)}, membership ${ms(c.membershipMs)})` : `NOT converged: ${c.problem}`) +
      (failovers.length > 0 ? `; failover ${failovers.map((f) => `${f.client} ${ms(f.failoverMs)}`).join(', ')}` : ''))
    return {
      index, kind, target: resultTarget, detail, startMs, recoveredMs,
      windowStartMs: startMs - PRE_WINDOW_MS,
      windowEndMs: settledMs + this.ctx.marginMs,
      affected, failovers, convergence,
      lostMessages: 0, lostQueueJobs: 0, failedRequests: 0, pairLosses: [], bystandersDisconnected: [], notes,
    }
  }

  private pickTarget(kind: FaultKind, notes: string[]): ChaosNode | null {
    const live = this.ctx.cluster.live()
    if (kind === 'add' || kind === 'zk') return null
    if (kind === 'hotkill') {
      const hot = this.ctx.traffic.client(HOT_PUBLISHER)
      const node = hot !== null && hot.isConnected ? this.ctx.cluster.byHostPort(hot.server()) : null
      if (node !== null && node.isLive) return node
      notes.push(`the hot publisher ${HOT_PUBLISHER} was not connected to a live node: a random node was killed`)
    }
    // A node without clients tests only the mesh: prefer one that has some.
    const busy = live.filter((n) => this.ctx.traffic.clients.some((c) => c.isConnected && c.server() === n.hostPort))
    return this.ctx.rng.pick(busy.length > 0 ? busy : live)
  }
}

function ms(value: number | null): string {
  return value === null ? '—' : `${(value / 1000).toFixed(2)}s`
}
