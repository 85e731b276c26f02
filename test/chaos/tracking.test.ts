// The chaos runner's bookkeeping, without any process: gap detection,
// duplicate and order checks, send-time lookup, subject matching, the seeded
// schedule and fuzz frames (same seed, same bytes), and window attribution.
import t from 'tap'
import { explainedBy } from '../../src/chaos/analysis.js'
import { fuzzScript } from '../../src/chaos/frames.js'
import { Random } from '../../src/chaos/random.js'
import type { FaultReport } from '../../src/chaos/report.js'
import { PublishLog, SeqSet, StreamTracker, subjectMatches } from '../../src/chaos/tracking.js'

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
