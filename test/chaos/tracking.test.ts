// The chaos runner's bookkeeping, without any process: gap detection,
// duplicate and order checks, send-time lookup, subject matching, the seeded
// schedule and fuzz frames (same seed, same bytes), and window attribution,
// by time and by what each flow showed (a stall must not fail a correct run).
import t from 'tap'
import { analyze, backAfter, eventWindow, explainedBy, requestEventExplained, streamKey, type ClientChanges } from '../../src/chaos/analysis.js'
import type { ChaosCluster } from '../../src/chaos/cluster.js'
import { fuzzScript } from '../../src/chaos/frames.js'
import { Random } from '../../src/chaos/random.js'
import type { Check, FaultReport } from '../../src/chaos/report.js'
import { AnomalyLog, PublishLog, SeqSet, StreamTracker, subjectMatches } from '../../src/chaos/tracking.js'
import type { Traffic } from '../../src/chaos/traffic.js'
import { QueueTracker } from '../../src/chaos/workload.js'

t.test('SeqSet reports the runs of missing sequence numbers, growing past its first size', async (t) => {
  const set = new SeqSet(8)
  for (const n of [1, 2, 3, 7, 8, 20_000]) set.add(n)
  t.same(set.missingRuns(1, 10), [{ first: 4, last: 6 }, { first: 9, last: 10 }])
  t.same(set.missingRuns(19_999, 20_001), [{ first: 19_999, last: 19_999 }, { first: 20_001, last: 20_001 }])
  t.equal(set.add(7), false, 'a second add of the same number says so')
  t.equal(set.max, 20_000)
})

t.test('StreamTracker tells a duplicate from an out-of-order arrival', async (t) => {
  const tracker = new StreamTracker('P1', 'S1')
  t.equal(tracker.record(1), null)
  t.equal(tracker.record(3), null)
  t.equal(tracker.record(2), 'out-of-order', 'a late first arrival is out of order')
  t.equal(tracker.record(3), 'duplicate', 'a second arrival is a duplicate')
  t.same([tracker.received, tracker.duplicates, tracker.outOfOrder, tracker.last], [3, 1, 1, 3])
})

t.test('PublishLog gives a sequence number the time of the tick that sent it', async (t) => {
  const log = new PublishLog()
  log.add(100, 1)
  log.add(110, 3)
  log.add(130, 4)
  t.same([log.timeOf(1), log.timeOf(2), log.timeOf(3), log.timeOf(4), log.timeOf(99)], [100, 100, 110, 130, 130])
  t.equal(log.timeOf(0), -1, 'before the first tick: unknown')
})

t.test('subjectMatches follows NATS wildcards', async (t) => {
  t.ok(subjectMatches('chaos.s.*', 'chaos.s.P1'))
  t.ok(subjectMatches('chaos.s.>', 'chaos.s.P1'))
  t.ok(subjectMatches('chaos.>', 'chaos.s.P1'))
  t.notOk(subjectMatches('chaos.s.>', 'chaos.s'), '> needs at least one token')
  t.notOk(subjectMatches('chaos.s.*.x', 'chaos.s.P1'))
  t.notOk(subjectMatches('chaos.s', 'chaos.s.P1'))
  t.notOk(subjectMatches('chaos.s.P1', 'chaos.s.P2'))
})

t.test('the same seed gives the same schedule picks and the same fuzz bytes', async (t) => {
  const a = new Random(7)
  const b = new Random(7)
  t.same(a.shuffle(['kill', 'pause', 'drain', 'add', 'zk', 'hotkill']), b.shuffle(['kill', 'pause', 'drain', 'add', 'zk', 'hotkill']))
  const sa = fuzzScript(new Random(99))
  const sb = fuzzScript(new Random(99))
  t.same(Buffer.concat(sa.frames), Buffer.concat(sb.frames))
  t.notSame(Buffer.concat(fuzzScript(new Random(100)).frames), Buffer.concat(sa.frames), 'another seed, other bytes')
})

function fault(index: number, windowStartMs: number, windowEndMs: number, affected: string[]): FaultReport {
  return {
    index, kind: 'kill', target: 'n1', detail: '', startMs: windowStartMs + 1000, recoveredMs: windowStartMs + 2000, windowStartMs, windowEndMs,
    affected, failovers: [], convergence: { isConverged: true, routesMs: 0, interestMs: 0, membershipMs: 0, problem: '' },
    lostMessages: 0, lostQueueJobs: 0, failedRequests: 0, pairLosses: [], bystandersDisconnected: [], notes: [],
  }
}

t.test('a loss is explained only inside the window of a fault that touched one of its clients', async (t) => {
  const faults = [fault(1, 1_000, 5_000, ['S1']), fault(2, 10_000, 12_000, ['P2'])]
  t.equal(explainedBy(faults, 3_000, ['P1', 'S1'])?.index, 1, 'the subscriber was on the faulted node')
  t.equal(explainedBy(faults, 11_000, ['P2', 'S3'])?.index, 2, 'the publisher was on the faulted node')
  t.equal(explainedBy(faults, 3_000, ['P1', 'S2']), null, 'both clients elsewhere: not explained')
  t.equal(explainedBy(faults, 7_000, ['P1', 'S1']), null, 'between faults: not explained')
  t.equal(explainedBy(faults, 5_001, ['P1', 'S1']), null, 'after the window closed: not explained')
})

// ---- windows tied to what each flow showed (analysis.ts eventWindow) -------------------

/** One message every 10 ms from t = 0: sequence n is sent at (n − 1) · 10 ms. */
function steadyLog(last: number): PublishLog {
  const log = new PublishLog()
  for (let seq = 1; seq <= last; seq++) log.add((seq - 1) * 10, seq)
  return log
}

function delivered(last: number, lost: Array<[number, number]>): SeqSet {
  const seen = new SeqSet()
  for (let seq = 1; seq <= last; seq++) if (!lost.some(([a, b]) => seq >= a && seq <= b)) seen.add(seq)
  return seen
}

/** A fault at 10 s, recovered at 12 s, time window 9 s → 15 s, that touched S1. */
const F = { ...fault(1, 9_000, 15_000, ['S1']), startMs: 10_000, recoveredMs: 12_000 }
const BOUND_MS = 5_000
const LAST = 3_000
/** S1 disconnected just after the fault began and was back 80 ms later. */
const S1 = { id: 'S1', changes: [{ at: 10_050, type: 'disconnect' as const }, { at: 10_080, type: 'reconnect' as const }] }

t.test('a loss still in flight when its fault began is explained, though sent 3 s before it (a stalled path), and not one sent after its flow resumed', async (t) => {
  // The pair had nothing newer than seq 700 (sent at 6.99 s) when the fault began: its path had stalled for 3 s.
  // Lost: 701–1049 (in flight, then the fault) and 1600 (after the flow resumed with 1050).
  const seen = delivered(LAST, [[701, 1049], [1600, 1600]])
  const back = backAfter(F, [S1])
  t.equal(back, 10_080, 'the touched client was back at 10.08 s')
  const w = eventWindow(F, 700, back, BOUND_MS, steadyLog(LAST), seen, LAST)
  t.same(w, { fromSeq: 701, toSeq: 1050 }, 'from the first message not delivered at the start to the first delivered after the client was back')
  t.equal(explainedBy([F], steadyLog(LAST).timeOf(701), ['P1', 'S1']), null, 'seq 701 lies before the time window (what failed a correct run before)')
  t.ok(701 >= w.fromSeq && 701 < w.toSeq, 'seq 701 is explained by the flow\'s own window')
  t.notOk(1600 >= w.fromSeq && 1600 < w.toSeq, 'seq 1600, lost after the flow resumed, is not')
})

t.test('a flow that resumes after the time window closed has its losses explained until it resumes, never past recovery plus the bound', async (t) => {
  const log = steadyLog(LAST)
  // Interest took until 16 s to reach the publisher's node: 1001–1599 lost, the flow resumes with 1600.
  const slow = eventWindow(F, 1000, 10_080, BOUND_MS, log, delivered(LAST, [[1001, 1599]]), LAST)
  t.same(slow, { fromSeq: 1001, toSeq: 1600 }, 'explained up to the first message delivered after the client was back')
  // A flow that never resumes: explained only for what was sent before recovery (12 s) + bound (5 s).
  const broken = eventWindow(F, 1000, 10_080, BOUND_MS, log, delivered(LAST, [[1001, LAST]]), LAST)
  t.same(broken, { fromSeq: 1001, toSeq: 1701 }, 'seq 1701 (sent at 17 s) and later are violations')
  // A client that never came back: the same cap.
  t.equal(backAfter(F, [{ id: 'S1', changes: [{ at: 10_050, type: 'disconnect' }] }]), null, 'never back')
  t.same(eventWindow(F, 1000, null, BOUND_MS, log, delivered(LAST, [[1001, LAST]]), LAST), broken, 'capped the same way')
  // Nor does it reach back further than the bound: a pair silent since 2 s is not excused by a fault at 10 s.
  t.equal(eventWindow(F, 100, 10_080, BOUND_MS, log, delivered(LAST, [[101, 1049]]), LAST).fromSeq, 501, 'from 5 s before the start at most')
})

t.test('a failed request is explained by its requester\'s own flow: outstanding when the fault began, sent before requests were answered again', async (t) => {
  const answered = [8_000, 8_100, 9_950, 10_300, 10_400]
  t.ok(requestEventExplained(F, { at: 7_500, failedAt: 10_010 }, 10_080, answered, BOUND_MS), 'sent at 7.5 s, still waiting when the fault began (a stall): explained')
  t.notOk(requestEventExplained(F, { at: 7_500, failedAt: 8_500 }, 10_080, answered, BOUND_MS), 'failed before the fault began: not')
  t.ok(requestEventExplained(F, { at: 10_200, failedAt: 11_200 }, 10_080, answered, BOUND_MS), 'sent after the client was back but before the first answer: explained')
  t.notOk(requestEventExplained(F, { at: 10_350, failedAt: 11_350 }, 10_080, answered, BOUND_MS), 'sent after requests were answered again: not')
  t.notOk(requestEventExplained(F, { at: 17_500, failedAt: 18_500 }, null, [], BOUND_MS), 'past recovery plus the bound: not')
})

t.test('the verdict: a stalled path before a fault passes, a loss after the flow resumed or with no fault fails', async (t) => {
  const run = (lost: Array<[number, number]>, marks: boolean): Check | undefined => {
    const seen = delivered(LAST, lost)
    const tracker = Object.assign(new StreamTracker('P1', 'S1'), { seen, received: LAST })
    const client = (id: string, changes: ClientChanges['changes']): unknown => ({
      id, kind: 'nats.js', role: id.startsWith('P') ? 'publisher' : 'subscriber', changes, events: [], isConnected: true,
      server: () => '127.0.0.1:1', delivered: { counts: new Uint32Array(1) },
    })
    const p1 = client('P1', [])
    const s1 = client('S1', S1.changes)
    const traffic = {
      clients: [p1, s1],
      publishers: [{ id: 'P1', client: p1, seq: LAST, log: steadyLog(LAST), refused: 0, skipped: 0 }],
      subscribers: [{ client: s1, pattern: 'chaos.s.P1', trackers: new Map([['P1', tracker]]) }],
      queue: new QueueTracker(), queuePublisher: null, requesters: [],
      published: () => LAST,
    }
    const startMarks = new Map([[1, { streams: new Map([[streamKey('P1', 'S1', 'chaos.s.P1'), 700]]), queue: 0 }]])
    const analysis = analyze({
      traffic: traffic as unknown as Traffic, cluster: { byHostPort: () => null } as unknown as ChaosCluster,
      faults: [{ ...F, notes: [], pairLosses: [], bystandersDisconnected: [], lostMessages: 0 }], requestedKinds: ['kill'], notRun: [],
      anomalies: new AnomalyLog(), unexpectedExits: 0, convergeBoundMs: BOUND_MS, trafficEndMs: LAST * 10,
      lag: { p99: 0, max: 0 }, startMarks: marks ? startMarks : undefined,
    })
    return analysis.checks.find((c) => c.name === 'loss-only-in-fault-windows')
  }
  t.equal(run([[701, 1049]], false)?.isPassed, false, 'with the time window alone, the stall before the fault fails the run')
  t.equal(run([[701, 1049]], true)?.isPassed, true, 'with what the flow showed, it passes')
  t.equal(run([[701, 1049], [1600, 1600]], true)?.isPassed, false, 'a loss after the flow resumed still fails it')
  t.equal(run([[2500, 2500]], true)?.isPassed, false, 'so does a loss while no fault was on')
})
