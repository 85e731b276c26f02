// The chaos schedule without any process: which fault kinds a --duration
// fits, what a run says about it at the start, which kind runs at its turn,
// and what the verdict makes of kinds that never ran.
import t from 'tap'
import { faultKindsCheck } from '../../src/chaos/analysis.js'
import { FAULT_KINDS, type FaultKind } from '../../src/chaos/options.js'
import { Random } from '../../src/chaos/random.js'
import { describePlan, FaultSchedule, FIRST_FAULT_AFTER_MS, TAIL_MS } from '../../src/chaos/schedule.js'

const MARGIN_MS = 2_000
const ALL: FaultKind[] = [...FAULT_KINDS]
const always = (): boolean => true

t.test('a 30 s run of every kind is told at the start which kinds fit and which do not, and how long all would need', async (t) => {
  const schedule = new FaultSchedule(ALL, new Random(7), 30_000, MARGIN_MS)
  const plan = schedule.plan
  t.ok(plan.expectedToFit.length > 0, `some kinds fit: ${plan.expectedToFit.join(', ')}`)
  t.ok(plan.notExpectedToFit.length > 0, `some do not: ${plan.notExpectedToFit.join(', ')}`)
  t.same([...plan.expectedToFit, ...plan.notExpectedToFit].sort(), [...ALL].sort(), 'every requested kind is in one list or the other')
  const plannedMs = FIRST_FAULT_AFTER_MS + plan.expectedToFit.reduce((sum, k) => sum + schedule.costMs(k), 0) + TAIL_MS
  t.ok(plannedMs <= 30_000, `the kinds expected to fit fit, back to back (${plannedMs} ms)`)
  t.ok(plan.allKindsMs > 30_000, `one of each kind needs more than 30 s (${plan.allKindsMs} ms)`)
  const line = describePlan(plan, 30_000)
  t.match(line, `30s fits ${plan.expectedToFit.join(', ')}`)
  t.match(line, `not expected to fit: ${plan.notExpectedToFit.join(', ')}`)
  t.match(line, `--duration ${Math.ceil(plan.allKindsMs / 1000)}`)
})

t.test('a 300 s run fits every kind, in the seeded order', async (t) => {
  const plan = new FaultSchedule(ALL, new Random(7), 300_000, MARGIN_MS).plan
  t.same(plan.notExpectedToFit, [])
  t.same(plan.expectedToFit, new Random(7).shuffle(ALL), 'the first round is the seeded shuffle')
  t.match(describePlan(plan, 300_000), 'every requested fault kind fits in 300s')
})

t.test('at its turn, a kind that no longer fits is marked not run and a shorter one runs instead', async (t) => {
  // Seed 1 puts zk before add in the first round.
  t.same(new Random(1).shuffle(['zk', 'add']), ['zk', 'add'])
  const schedule = new FaultSchedule(['zk', 'add'], new Random(1), 30_000, MARGIN_MS)
  const clockMs = 20_000
  t.notOk(schedule.fits('zk', clockMs), 'zk does not fit 10 s before the end')
  t.ok(schedule.fits('add', clockMs), 'add does')
  t.equal(schedule.next(clockMs, always), 'add', 'add runs: the schedule goes on past the kind that did not fit')
  const [zk] = schedule.notRun(['add'])
  t.equal(zk.kind, 'zk')
  t.equal(zk.reason, 'did-not-fit')
  t.match(zk.detail, '10.0s of the 30s run were left')
})

t.test('a kind with no target at its turn is marked could-not-run and ends the injections', async (t) => {
  const schedule = new FaultSchedule(['kill', 'pause'], new Random(3), 300_000, MARGIN_MS)
  t.equal(schedule.next(5_000, () => false), null)
  t.same(schedule.notRun([]).map((n) => `${n.kind} ${n.reason}`).sort(), ['kill could-not-run', 'pause could-not-run'])
})

t.test('after the first round, seeded picks go on while they fit, then stop', async (t) => {
  const schedule = new FaultSchedule(['add'], new Random(5), 30_000, MARGIN_MS)
  t.equal(schedule.next(3_000, always), 'add', 'the first round')
  t.equal(schedule.next(10_000, always), 'add', 'a pick that fits')
  t.equal(schedule.next(25_000, always), null, 'a pick that does not fit ends the schedule')
  t.same(schedule.notRun(['add']), [])
})

t.test('kinds that did not fit fail no verdict check; a kind that could not run does', async (t) => {
  const short = faultKindsCheck(['zk', 'pause'], [{ kind: 'kill', reason: 'did-not-fit', detail: '' }, { kind: 'drain', reason: 'did-not-fit', detail: '' }])
  t.equal(short.isPassed, true, short.detail)
  t.match(short.detail, 'not run, did not fit --duration: kill, drain')
  const blocked = faultKindsCheck(['zk'], [{ kind: 'kill', reason: 'could-not-run', detail: 'no target for it at 4.0s' }])
  t.equal(blocked.isPassed, false, blocked.detail)
  t.match(blocked.detail, 'could not run: kill (no target for it at 4.0s)')
})
