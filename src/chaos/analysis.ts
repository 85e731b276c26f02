// From what the clients saw to a verdict: every lost message is explained by
// a fault's window (DESIGN.md "Chaos tests") or it is a violation.
//
// A lost stream message (publisher P → subscription S, sent at time t) is
// explained by fault F when t lies in F's window and P's or S's client was on
// F's target when F began. A lost queue job is explained when the queue
// publisher or any worker was; a failed request when the requester or any
// responder was. ZooKeeper outages and added nodes touch no client, so any
// loss during them is a violation: the data plane must not notice.
//
// F's window is a time span with fixed margins (1 s before its start, --margin
// after it settled). A loaded machine can stall a node or a client for longer
// than those, and then a correct run loses messages just outside them. So a
// loss F touched is also explained by what was observed of its own flow (one
// stream to one subscription, the queue jobs, one requester's requests): it
// had not been delivered yet when F began, and it was sent before the flow
// resumed, that is before the first delivery of something sent after the
// flow's touched clients were connected again (eventWindow). That reaches at
// most --converge-bound before F's start and after F's recovery, so a flow
// that stays broken is still a violation, and so is any loss with no fault
// touching its clients.
import type { ChaosCluster } from './cluster.js'
import type { FaultKind } from './options.js'
import type { NotRunKind } from './schedule.js'
import {
  stats, type Check, type ClientReport, type FaultReport, type Gap, type PairLoss, type Summary, type Totals,
} from './report.js'
import type { AnomalyLog, PublishLog, SeqSet } from './tracking.js'
import type { Traffic } from './traffic.js'
import type { ChaosClient } from './workload.js'

/** Gaps listed in the report; the rest are counted. */
const MAX_GAPS = 300
const PUBLISH_TICK_MS = 10

export interface AnalysisInput {
  traffic: Traffic
  cluster: ChaosCluster
  faults: FaultReport[]
  requestedKinds: FaultKind[]
  /** Requested kinds that never ran, and why (schedule.ts). */
  notRun: readonly NotRunKind[]
  anomalies: AnomalyLog
  unexpectedExits: number
  convergeBoundMs: number
  trafficEndMs: number
  lag: { p99: number; max: number }
  /** What each flow had delivered when each fault began (by fault index), recorded by the injector. */
  startMarks?: ReadonlyMap<number, FaultStartMarks>
}

/** What the flows had delivered at the moment a fault began. */
export interface FaultStartMarks {
  /** The highest sequence number each subscription had from each publisher, by streamKey(). */
  streams: Map<string, number>
  /** The highest queue job any worker had. */
  queue: number
}

export function streamKey(publisherId: string, subscriberId: string, pattern: string): string {
  return `${publisherId}→${subscriberId} ${pattern}`
}

/** Taken when a fault begins. */
export function markStart(traffic: Traffic): FaultStartMarks {
  const streams = new Map<string, number>()
  for (const s of traffic.subscribers) {
    for (const [publisherId, tracker] of s.trackers) streams.set(streamKey(publisherId, s.client.id, s.pattern), tracker.seen.max)
  }
  return { streams, queue: traffic.queue.seen.max }
}

/** The part of a client the windows read. */
export interface ClientChanges {
  readonly id: string
  readonly changes: ReadonlyArray<{ readonly at: number; readonly type: 'disconnect' | 'reconnect' }>
}

/**
 * When all of `touched` were connected again after F began: for each client,
 * its first reconnect after its first disconnect since F began (F's start if
 * it never disconnected); null if one of them never came back.
 */
export function backAfter(f: FaultReport, touched: readonly ClientChanges[]): number | null {
  let back = f.startMs
  for (const c of touched) {
    const down = c.changes.find((x) => x.type === 'disconnect' && x.at >= f.startMs)
    if (down === undefined) continue
    const up = c.changes.find((x) => x.type === 'reconnect' && x.at >= down.at)
    if (up === undefined) return null
    back = Math.max(back, up.at)
  }
  return back
}

/**
 * The sequence numbers [fromSeq, toSeq) of one flow that fault F may have
 * cost, from what was observed rather than from fixed margins: from the first
 * one not delivered when F began (`deliveredAtStart` + 1) to the first one
 * delivered among those sent once the flow's touched clients were back
 * (`backAtMs`; null: they never were). Never earlier than `boundMs` before F's
 * start, never sent later than `boundMs` after its recovery.
 */
export function eventWindow(
  f: FaultReport, deliveredAtStart: number, backAtMs: number | null, boundMs: number, log: PublishLog, seen: SeqSet, lastSeq: number,
): { fromSeq: number; toSeq: number } {
  const afterLast = lastSeq + 1
  const earliest = log.firstSeqFrom(f.startMs - boundMs)
  const fromSeq = Math.max(deliveredAtStart + 1, earliest === -1 ? afterLast : earliest)
  const cap = log.firstSeqFrom(f.recoveredMs + boundMs)
  const capEnd = cap === -1 ? afterLast : cap
  let toSeq = capEnd
  const resumeFrom = backAtMs === null ? -1 : log.firstSeqFrom(backAtMs)
  if (resumeFrom !== -1) {
    for (let seq = Math.max(resumeFrom, fromSeq); seq < capEnd; seq++) {
      if (seen.has(seq)) {
        toSeq = seq
        break
      }
    }
  }
  return { fromSeq, toSeq: Math.max(fromSeq, toSeq) }
}

/**
 * A failed request F touched is explained by what its requester saw: it had
 * not failed yet when F began, was sent at most `boundMs` before F's start,
 * and before the requester's first answered request sent once the touched
 * clients were back (never later than `boundMs` after F's recovery).
 */
export function requestEventExplained(
  f: FaultReport, failure: { at: number; failedAt: number }, backAtMs: number | null, answeredSentAt: readonly number[], boundMs: number,
): boolean {
  const cap = f.recoveredMs + boundMs
  let end = cap
  if (backAtMs !== null) {
    const resumed = answeredSentAt.find((sentAt) => sentAt >= backAtMs)
    if (resumed !== undefined && resumed < end) end = resumed
  }
  return failure.failedAt >= f.startMs && failure.at >= f.startMs - boundMs && failure.at < end
}

export interface Analysis {
  totals: Totals
  gaps: Gap[]
  gapsLeftOut: number
  clients: ClientReport[]
  summary: Summary
  checks: Check[]
  faultKindsRun: FaultKind[]
  faultKindsMissing: FaultKind[]
}

/** The fault whose window holds `time` and which touched one of `involved`'s clients, or null. */
export function explainedBy(faults: readonly FaultReport[], time: number, involved: readonly string[]): FaultReport | null {
  for (const f of faults) {
    if (time >= f.windowStartMs && time <= f.windowEndMs && involved.some((c) => f.affected.includes(c))) return f
  }
  return null
}

function duringZooKeeperOutage(faults: readonly FaultReport[], time: number): boolean {
  return faults.some((f) => f.kind === 'zk' && time >= f.startMs && time <= f.windowEndMs)
}

export function analyze(input: AnalysisInput): Analysis {
  const { traffic, faults } = input
  const byId = new Map(traffic.clients.map((c) => [c.id, c]))
  const gaps: Gap[] = []
  let gapsLeftOut = 0
  let expected = 0
  let delivered = 0
  let lost = 0
  let lostInWindows = 0
  let lostOutside = 0
  let lostDuringZk = 0
  let lostOutsideDuringDrain = 0
  const drainLoss = { natsmesh: 0, natsJs: 0 }
  const pairLosses = new Map<number, Map<string, PairLoss>>()
  // Losses each fault explains only through its flows' observed events (outside its time window).
  const eventExplained = new Map<number, number>()
  const eventExplainedJobs = new Map<number, number>()
  const eventExplainedRequests = new Map<number, number>()
  let duplicated = 0
  let outOfOrder = 0

  for (const s of traffic.subscribers) {
    for (const [publisherId, tracker] of s.trackers) {
      const publisher = traffic.publishers.find((p) => p.id === publisherId)
      if (publisher === undefined) continue
      expected += publisher.seq
      delivered += tracker.received
      duplicated += tracker.duplicates
      outOfOrder += tracker.outOfOrder
      const involved = [publisher.client.id, s.client.id]
      const key = streamKey(publisher.id, s.client.id, s.pattern)
      const flowWindows = touchingFaults(faults, involved).flatMap((f) => {
        const mark = input.startMarks?.get(f.index)?.streams.get(key)
        if (mark === undefined) return []
        const back = backAfter(f, touchedClients(f, involved, byId))
        return [{ fault: f, ...eventWindow(f, mark, back, input.convergeBoundMs, publisher.log, tracker.seen, publisher.seq) }]
      })
      for (const run of tracker.seen.missingRuns(1, publisher.seq)) {
        let current: Gap | null = null
        for (let seq = run.first; seq <= run.last; seq++) {
          const time = publisher.log.timeOf(seq)
          let fault = explainedBy(faults, time, involved)
          if (fault === null) {
            fault = flowWindows.find((w) => seq >= w.fromSeq && seq < w.toSeq)?.fault ?? null
            if (fault !== null) eventExplained.set(fault.index, (eventExplained.get(fault.index) ?? 0) + 1)
          }
          lost++
          if (fault === null) {
            lostOutside++
            if (duringZooKeeperOutage(faults, time)) lostDuringZk++
            if (faults.some((f) => f.kind === 'drain' && time >= f.windowStartMs && time <= f.windowEndMs)) lostOutsideDuringDrain++
          } else {
            lostInWindows++
            fault.lostMessages++
            const pair = `${publisher.id}→${s.client.id}${s.pattern === `chaos.s.${publisher.id}` ? '' : `(${s.pattern})`}`
            let perFault = pairLosses.get(fault.index)
            if (perFault === undefined) pairLosses.set(fault.index, perFault = new Map())
            const pl = perFault.get(pair)
            if (pl === undefined) perFault.set(pair, { pair, firstSeq: seq, lastSeq: seq, count: 1, fromMs: time, toMs: time, durationMs: PUBLISH_TICK_MS })
            else {
              pl.lastSeq = seq
              pl.count++
              pl.toMs = time
              pl.durationMs = time - pl.fromMs + PUBLISH_TICK_MS
            }
            if (fault.kind === 'drain') {
              const touched = involved.map((id) => byId.get(id)).filter((c): c is ChaosClient => c !== undefined && fault.affected.includes(c.id))
              if (touched.every((c) => c.kind === 'natsmesh')) drainLoss.natsmesh++
              else drainLoss.natsJs++
            }
          }
          const faultIndex = fault === null ? null : fault.index
          if (current !== null && current.fault === faultIndex) {
            current.lastSeq = seq
            current.count++
            current.toMs = time
          } else {
            if (current !== null) gapsLeftOut += pushGap(gaps, current)
            current = { publisher: publisher.id, subscriber: `${s.client.id} ${s.pattern}`, firstSeq: seq, lastSeq: seq, count: 1, fromMs: time, toMs: time, fault: faultIndex }
          }
        }
        if (current !== null) gapsLeftOut += pushGap(gaps, current)
      }
    }
  }
  for (const f of faults) f.pairLosses = [...(pairLosses.get(f.index)?.values() ?? [])]

  // Queue jobs: lost when no member got them.
  const queue = traffic.queue
  const qp = traffic.queuePublisher
  const workers = traffic.clients.filter((c) => c.role === 'worker').map((c) => c.id)
  let queueLost = 0
  let queueLostOutside = 0
  if (qp !== null) {
    const involved = [qp.client.id, ...workers]
    const queueWindows = touchingFaults(faults, involved).flatMap((f) => {
      const mark = input.startMarks?.get(f.index)?.queue
      if (mark === undefined) return []
      const back = backAfter(f, touchedClients(f, involved, byId))
      return [{ fault: f, ...eventWindow(f, mark, back, input.convergeBoundMs, qp.log, queue.seen, qp.seq) }]
    })
    for (const run of queue.seen.missingRuns(1, qp.seq)) {
      for (let seq = run.first; seq <= run.last; seq++) {
        queueLost++
        let fault = explainedBy(faults, qp.log.timeOf(seq), involved)
        if (fault === null) {
          fault = queueWindows.find((w) => seq >= w.fromSeq && seq < w.toSeq)?.fault ?? null
          if (fault !== null) eventExplainedJobs.set(fault.index, (eventExplainedJobs.get(fault.index) ?? 0) + 1)
        }
        if (fault === null) queueLostOutside++
        else fault.lostQueueJobs++
      }
    }
  }

  // Requests.
  const responders = traffic.clients.filter((c) => c.role === 'responder').map((c) => c.id)
  const requests = { sent: 0, answered: 0, timedOut: 0, noResponders: 0, errors: 0, wrong: 0, failedOutsideWindows: 0 }
  for (const r of traffic.requesters) {
    requests.sent += r.sent
    requests.answered += r.answered
    requests.wrong += r.wrong
    for (const failure of r.failures) {
      if (failure.kind === 'timeout') requests.timedOut++
      else if (failure.kind === 'no-responders') requests.noResponders++
      else requests.errors++
      const involved = [r.client.id, ...responders]
      let fault = explainedBy(faults, failure.at, involved)
      if (fault === null) {
        fault = touchingFaults(faults, involved).find((f) =>
          requestEventExplained(f, failure, backAfter(f, touchedClients(f, involved, byId)), r.answeredSentAt, input.convergeBoundMs)) ?? null
        if (fault !== null) eventExplainedRequests.set(fault.index, (eventExplainedRequests.get(fault.index) ?? 0) + 1)
      }
      if (fault === null) requests.failedOutsideWindows++
      else fault.failedRequests++
    }
  }

  for (const f of faults) {
    const counts = [eventExplained.get(f.index) ?? 0, eventExplainedJobs.get(f.index) ?? 0, eventExplainedRequests.get(f.index) ?? 0]
    if (counts.some((n) => n > 0)) {
      f.notes.push(`outside its window but in flight when it began or sent before their flow resumed: ${counts[0]} stream messages, ` +
        `${counts[1]} queue jobs, ${counts[2]} requests`)
    }
  }

  // Disconnects of clients the fault did not touch, and disconnects while no fault was on.
  const unexplainedDisconnects: string[] = []
  for (const c of traffic.clients) {
    for (const change of c.changes) {
      if (change.type !== 'disconnect' || change.at > input.trafficEndMs) continue
      const f = faults.find((x) => change.at >= x.windowStartMs && change.at <= x.windowEndMs)
      if (f === undefined) unexplainedDisconnects.push(`${c.id} at ${(change.at / 1000).toFixed(1)}s`)
      else if (!f.affected.includes(c.id) && !f.bystandersDisconnected.includes(c.id)) f.bystandersDisconnected.push(c.id)
    }
  }

  const anomalies = input.anomalies
  const misdelivered = anomalies.count('misdelivered') + anomalies.count('wrong-reply')
  const totals: Totals = {
    published: traffic.published(),
    delivered,
    expected,
    lost,
    lostInWindows,
    lostOutsideWindows: lostOutside,
    duplicated,
    outOfOrder,
    misdelivered,
    queue: {
      published: qp?.seq ?? 0, delivered: queue.delivered, lost: queueLost, lostOutsideWindows: queueLostOutside,
      deliveredTwice: queue.twice, outOfOrder: queue.outOfOrder, perWorker: Object.fromEntries(queue.perWorker),
    },
    requests,
    publishRefused: [...traffic.publishers, ...(qp === null ? [] : [qp])].reduce((n, p) => n + p.refused, 0),
    publishSkipped: [...traffic.publishers, ...(qp === null ? [] : [qp])].reduce((n, p) => n + p.skipped, 0),
  }

  const clients: ClientReport[] = traffic.clients.map((c) => ({
    id: c.id,
    kind: c.kind,
    role: c.role,
    node: c.isConnected ? input.cluster.byHostPort(c.server())?.label ?? c.server() : '',
    isConnectedAtEnd: c.isConnected,
    delivered: c.delivered.counts.reduce((a, b) => a + b, 0),
    changes: c.changes,
    events: c.events,
  }))

  const failoverTimes = faults.flatMap((f) => f.failovers.map((x) => x.failoverMs).filter((v): v is number => v !== null))
  const convergeTimes = faults.map((f) => f.convergence.interestMs).filter((v): v is number => v !== null)
  const summary: Summary = {
    failoverMs: stats(failoverTimes),
    convergenceMs: stats(convergeTimes),
    drainLoss,
    runnerLagMs: input.lag,
  }

  const kindsRun = [...new Set(faults.map((f) => f.kind))]
  const kindsMissing = input.requestedKinds.filter((k) => !kindsRun.includes(k))
  const bystanders = faults.filter((f) => f.bystandersDisconnected.length > 0).map((f) => `#${f.index} ${f.kind}: ${f.bystandersDisconnected.join(',')}`)
  const notConverged = faults.filter((f) => !f.convergence.isConverged)
  const badMembership = faults.filter((f) => f.convergence.membershipMs === null)
  const disconnectedAtEnd = clients.filter((c) => !c.isConnectedAtEnd).map((c) => c.id)
  const starved = traffic.subscribers.flatMap((s) => [...s.trackers.values()]).filter((t) => t.received === 0)
  const zkFaults = faults.filter((f) => f.kind === 'zk')
  const drains = faults.filter((f) => f.kind === 'drain')
  const bound = `${(input.convergeBoundMs / 1000).toFixed(0)}s`

  const checks: Check[] = [
    check('traffic-flowed', starved.length === 0 && totals.queue.delivered > 0 && requests.answered > 0,
      starved.length === 0 ? `${delivered} stream deliveries, ${totals.queue.delivered} queue jobs, ${requests.answered} answered requests`
        : `nothing delivered for ${starved.map((t) => `${t.publisher}→${t.subscriber}`).join(', ')}`),
    check('no-duplicates', duplicated === 0, `${duplicated} stream messages delivered twice to one subscription`),
    check('no-misdelivery', misdelivered === 0, `${anomalies.count('misdelivered')} to a non-matching subscription, ${anomalies.count('wrong-reply')} wrong replies`),
    check('queue-group-once', queue.twice === 0, `${queue.twice} queue jobs delivered to two members`),
    check('order-kept', outOfOrder === 0 && queue.outOfOrder === 0,
      `${outOfOrder} stream messages and ${queue.outOfOrder} queue jobs arrived after a later one from the same publisher`),
    check('no-node-exited-on-its-own', input.unexpectedExits === 0, `${input.unexpectedExits} unexpected node exits`),
    check('clients-connected-at-end', disconnectedAtEnd.length === 0,
      disconnectedAtEnd.length === 0 ? `all ${clients.length} clients connected` : `disconnected at the end: ${disconnectedAtEnd.join(', ')}`),
    check('loss-only-in-fault-windows', lostOutside === 0 && queueLostOutside === 0 && requests.failedOutsideWindows === 0,
      `${lostOutside} stream messages, ${queueLostOutside} queue jobs and ${requests.failedOutsideWindows} requests lost outside a window ` +
      `of a fault touching their clients (${lostInWindows} stream messages lost inside windows)`),
    check('bystanders-stay-connected', bystanders.length === 0 && unexplainedDisconnects.length === 0,
      bystanders.length === 0 && unexplainedDisconnects.length === 0 ? 'only clients of the faulted node disconnected'
        : [...bystanders, ...(unexplainedDisconnects.length > 0 ? [`outside any fault: ${unexplainedDisconnects.slice(0, 10).join(', ')}`] : [])].join('; ')),
    check('converged-within-bound', notConverged.length === 0,
      notConverged.length === 0 ? `routes and interest held again within ${bound} after each of ${faults.length} faults`
        : notConverged.map((f) => `#${f.index} ${f.kind}: ${f.convergence.problem}`).join('; ')),
    check('membership-correct', badMembership.length === 0,
      badMembership.length === 0 ? `every live node listed exactly the live nodes within ${bound} after each fault`
        : badMembership.map((f) => `#${f.index} ${f.kind}: ${f.convergence.problem}`).join('; ')),
    check('zookeeper-outage-data-plane', lostDuringZk === 0,
      zkFaults.length === 0 ? 'no ZooKeeper outage in this run' : `${lostDuringZk} messages lost during ${zkFaults.length} ZooKeeper outages`),
    check('drain-spares-other-clients', lostOutsideDuringDrain === 0,
      drains.length === 0 ? 'no drain in this run' : `${lostOutsideDuringDrain} messages lost between clients of other nodes during ${drains.length} drains`),
    faultKindsCheck(kindsRun, input.notRun),
  ]
  return { totals, gaps, gapsLeftOut, clients, summary, checks, faultKindsRun: kindsRun, faultKindsMissing: kindsMissing }
}

/**
 * Every requested kind ran, or did not fit --duration: a kind marked not run
 * for lack of time fails nothing (a short run is a choice, not a fault); one
 * that had no target when its turn came does (interrupted runs fail
 * not-aborted instead).
 */
export function faultKindsCheck(kindsRun: readonly FaultKind[], notRun: readonly NotRunKind[]): Check {
  const blocked = notRun.filter((n) => n.reason === 'could-not-run')
  const tooLong = notRun.filter((n) => n.reason === 'did-not-fit')
  return check('fault-kinds-ran-where-time-allowed', blocked.length === 0,
    blocked.length > 0 ? `could not run: ${blocked.map((n) => `${n.kind} (${n.detail})`).join('; ')}`
      : `ran ${kindsRun.join(', ') || 'no fault'}` + (tooLong.length > 0 ? `; not run, did not fit --duration: ${tooLong.map((n) => n.kind).join(', ')}` : ''))
}

function touchingFaults(faults: readonly FaultReport[], involved: readonly string[]): FaultReport[] {
  return faults.filter((f) => involved.some((c) => f.affected.includes(c)))
}

function touchedClients(f: FaultReport, involved: readonly string[], byId: ReadonlyMap<string, ClientChanges>): ClientChanges[] {
  return involved.filter((id) => f.affected.includes(id)).map((id) => byId.get(id)).filter((c): c is ClientChanges => c !== undefined)
}

function pushGap(gaps: Gap[], gap: Gap): number {
  if (gaps.length >= MAX_GAPS) return 1
  gaps.push(gap)
  return 0
}

function check(name: string, isPassed: boolean, detail: string): Check {
  return { name, isPassed, detail }
}
