// The chaos report: one JSON-able object (written by --json, drawn by --html,
// summarised on the terminal). Times are ms since traffic started, unless the
// name says otherwise. Field names are stable: CI and scripts read them.
import type { Convergence } from './convergence.js'
import type { FaultKind } from './options.js'
import type { NotRunKind, SchedulePlan } from './schedule.js'
import type { Anomaly } from './tracking.js'
import type { ClientKind, ClientRole, ConnectionChange } from './workload.js'

/** 2: `schedule` and `faultKindsNotRun` added; the check `all-fault-kinds-ran` became `fault-kinds-ran-where-time-allowed`. */
export const REPORT_VERSION = 2

export interface Failover {
  client: string
  kind: ClientKind
  /** The client library moved on purpose (drain); null for nats.js clients. */
  isPlanned: boolean | null
  /** ms from the fault's start to the client's disconnect; null if it stayed connected. */
  disconnectMs: number | null
  /** ms from the fault's start until connected again; null if it stayed connected (or never came back). */
  failoverMs: number | null
  /** Node label it landed on. */
  to: string | null
}

/** Lost messages of one publisher→subscriber pair inside one fault's window. */
export interface PairLoss {
  pair: string
  firstSeq: number
  lastSeq: number
  count: number
  /** Send time of the first and last lost message. */
  fromMs: number
  toMs: number
  /** toMs − fromMs plus one publish tick. */
  durationMs: number
}

export interface FaultReport {
  index: number
  kind: FaultKind
  /** Node label, 'zookeeper', or the new node for 'add'. */
  target: string
  detail: string
  startMs: number
  /** When the recovery step was done: restarted, resumed, drained and replaced, added, ZooKeeper serving. */
  recoveredMs: number
  windowStartMs: number
  windowEndMs: number
  /** Clients on the target node when the fault began. */
  affected: string[]
  failovers: Failover[]
  /** Timed from recoveredMs. */
  convergence: Convergence
  /** Stream, queue and request losses attributed to this fault. */
  lostMessages: number
  lostQueueJobs: number
  failedRequests: number
  pairLosses: PairLoss[]
  /** Clients not on the target that disconnected during the window. */
  bystandersDisconnected: string[]
  notes: string[]
}

export interface Gap {
  publisher: string
  subscriber: string
  firstSeq: number
  lastSeq: number
  count: number
  fromMs: number
  toMs: number
  /** Index of the fault whose window explains it; null: lost while no fault touched this pair. */
  fault: number | null
}

export interface ClientReport {
  id: string
  kind: ClientKind
  role: ClientRole
  /** Node label at the end ('' when disconnected). */
  node: string
  isConnectedAtEnd: boolean
  delivered: number
  changes: ConnectionChange[]
  events: string[]
}

export interface NodeReport {
  label: string
  clientPort: number
  state: string
  starts: number
  exits: Array<{ at: number; expected: boolean; how: string }>
}

export interface Totals {
  published: number
  /** Stream messages delivered (each subscription counts). */
  delivered: number
  /** Stream messages that should have been delivered: each publish times the subscriptions matching it. */
  expected: number
  lost: number
  lostInWindows: number
  lostOutsideWindows: number
  duplicated: number
  outOfOrder: number
  misdelivered: number
  queue: { published: number; delivered: number; lost: number; lostOutsideWindows: number; deliveredTwice: number; outOfOrder: number; perWorker: Record<string, number> }
  requests: { sent: number; answered: number; timedOut: number; noResponders: number; errors: number; wrong: number; failedOutsideWindows: number }
  publishRefused: number
  publishSkipped: number
}

export interface Check {
  name: string
  isPassed: boolean
  detail: string
}

export interface Summary {
  failoverMs: { count: number; min: number | null; median: number | null; max: number | null }
  convergenceMs: { count: number; min: number | null; median: number | null; max: number | null }
  /** Loss for natsmesh/client clients of drained nodes (ideally 0), and for nats.js ones. */
  drainLoss: { natsmesh: number; natsJs: number }
  /** Event-loop delay of the runner itself (p99, max), so a starved run is visible. */
  runnerLagMs: { p99: number; max: number }
}

export interface ChaosReport {
  version: number
  command: string
  seed: number
  options: Record<string, unknown>
  startedAt: string
  /** Traffic time (publishers on to publishers off). */
  durationMs: number
  wallMs: number
  nodes: NodeReport[]
  clients: ClientReport[]
  faults: FaultReport[]
  faultKindsRun: FaultKind[]
  /** Requested kinds that never ran; faultKindsNotRun says why. */
  faultKindsMissing: FaultKind[]
  faultKindsNotRun: NotRunKind[]
  /** What the estimates said at the start: which kinds were expected to fit --duration. */
  schedule: SchedulePlan
  totals: Totals
  summary: Summary
  gaps: Gap[]
  gapsLeftOut: number
  anomalies: Anomaly[]
  unexpectedExits: Array<{ node: string; at: number; how: string; logTail: string }>
  timeline: { bucketMs: number; series: Record<string, number[]> }
  verdict: { isPassed: boolean; checks: Check[] }
  logDir: string | null
}

export function stats(values: readonly number[]): { count: number; min: number | null; median: number | null; max: number | null } {
  if (values.length === 0) return { count: 0, min: null, median: null, max: null }
  const sorted = values.slice().sort((a, b) => a - b)
  return { count: sorted.length, min: sorted[0], median: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted[sorted.length - 1] }
}

function secs(ms: number | null): string {
  return ms === null ? '—' : `${(ms / 1000).toFixed(2)}s`
}

/** The report as terminal text: faults, totals, verdict. */
export function formatReport(r: ChaosReport): string {
  const lines: string[] = []
  lines.push('', `natsmesh chaos: seed ${r.seed}, ${r.nodes.length} nodes over the run, ${(r.durationMs / 1000).toFixed(0)}s of traffic, ${r.faults.length} faults`, '')
  lines.push('faults:')
  for (const f of r.faults) {
    const c = f.convergence
    lines.push(`  #${f.index} ${f.kind.padEnd(7)} ${f.target.padEnd(9)} at ${secs(f.startMs)}  ${f.detail}`)
    lines.push(`      window ${secs(f.windowStartMs)} → ${secs(f.windowEndMs)}; converged ${c.isConverged ? 'yes' : 'NO'}: routes ${secs(c.routesMs)}, interest ${secs(c.interestMs)}, membership ${secs(c.membershipMs)}${c.problem === '' ? '' : ` (${c.problem})`}`)
    const moved = f.failovers.filter((x) => x.failoverMs !== null)
    const stayed = f.failovers.filter((x) => x.failoverMs === null).map((x) => x.client)
    if (f.affected.length === 0) lines.push('      no client on the target')
    else {
      lines.push(`      failover: ${moved.map((x) => `${x.client}${x.isPlanned === true ? '(planned)' : ''} ${secs(x.failoverMs)}→${x.to ?? '?'}`).join(', ') || 'none'}` +
        (stayed.length > 0 ? `; stayed connected: ${stayed.join(', ')}` : ''))
    }
    const loss = f.pairLosses.map((p) => `${p.pair} #${p.firstSeq}–#${p.lastSeq} (${p.count}, ${secs(p.durationMs)})`)
    lines.push(`      lost: ${f.lostMessages} messages${loss.length > 0 ? ` [${loss.slice(0, 8).join('; ')}${loss.length > 8 ? '; …' : ''}]` : ''}, ` +
      `${f.lostQueueJobs} queue jobs, ${f.failedRequests} requests failed`)
    if (f.bystandersDisconnected.length > 0) lines.push(`      bystanders disconnected: ${f.bystandersDisconnected.join(', ')}`)
    for (const note of f.notes) lines.push(`      note: ${note}`)
  }
  if (r.faultKindsNotRun.length > 0) {
    lines.push('', 'fault kinds not run:')
    for (const n of r.faultKindsNotRun) lines.push(`  ${n.kind.padEnd(7)} ${n.reason}: ${n.detail}`)
  }
  const t = r.totals
  const s = r.summary
  lines.push('', 'totals:')
  lines.push(`  published ${t.published}, expected deliveries ${t.expected}, delivered ${t.delivered}, lost ${t.lost} (${t.lostInWindows} in fault windows, ${t.lostOutsideWindows} outside)`)
  lines.push(`  duplicated ${t.duplicated}, out of order ${t.outOfOrder}, misdelivered ${t.misdelivered}; publishes refused ${t.publishRefused}, skipped ${t.publishSkipped}`)
  lines.push(`  queue: published ${t.queue.published}, delivered ${t.queue.delivered}, lost ${t.queue.lost} (${t.queue.lostOutsideWindows} outside windows), twice ${t.queue.deliveredTwice}, per worker ${JSON.stringify(t.queue.perWorker)}`)
  lines.push(`  requests: sent ${t.requests.sent}, answered ${t.requests.answered}, timed out ${t.requests.timedOut}, no responders ${t.requests.noResponders}, errors ${t.requests.errors}, wrong ${t.requests.wrong} (${t.requests.failedOutsideWindows} failed outside windows)`)
  lines.push(`  failover ms: min ${s.failoverMs.min ?? '—'}, median ${s.failoverMs.median ?? '—'}, max ${s.failoverMs.max ?? '—'} (${s.failoverMs.count} client failovers)`)
  lines.push(`  convergence ms (routes + interest after recovery): min ${s.convergenceMs.min ?? '—'}, median ${s.convergenceMs.median ?? '—'}, max ${s.convergenceMs.max ?? '—'}`)
  lines.push(`  drain loss for the drained node's own clients: natsmesh/client ${s.drainLoss.natsmesh}, nats.js ${s.drainLoss.natsJs}`)
  lines.push(`  runner event-loop delay: p99 ${s.runnerLagMs.p99} ms, max ${s.runnerLagMs.max} ms`)
  if (r.anomalies.length > 0) {
    lines.push('', 'anomalies (first of each kind):')
    for (const a of r.anomalies.slice(0, 20)) lines.push(`  ${secs(a.at)} ${a.kind} at ${a.client}: ${a.detail}`)
  }
  for (const e of r.unexpectedExits) lines.push('', `node ${e.node} exited on its own at ${secs(e.at)} (${e.how}); last lines:`, e.logTail)
  lines.push('', `verdict: ${r.verdict.isPassed ? 'PASS' : 'FAIL'}`)
  for (const c of r.verdict.checks) lines.push(`  ${c.isPassed ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`)
  if (r.logDir !== null) lines.push('', `node and ZooKeeper logs: ${r.logDir}`)
  return lines.join('\n')
}
