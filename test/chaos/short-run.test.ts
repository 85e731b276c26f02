// A chaos run too short for every fault kind: `natsmesh chaos --duration 30`
// with all six kinds (one of each needs about 65 s). It must say at the start
// which kinds fit, run what fits, mark the rest not run in the JSON and HTML
// reports, and not fail its verdict for that alone. Real ZooKeeper and node
// processes, as the 60 s run; timings are printed, never asserted.
import t from 'tap'
import { runChaosReport } from './run-chaos.js'

const SEED = 7
const DURATION_S = 30
const ALL_FAULTS = ['kill', 'pause', 'drain', 'add', 'zk', 'hotkill']

t.test(`a ${DURATION_S} s run says at the start which fault kinds fit, marks the others not run, and passes its verdict`, async (t) => {
  const result = await runChaosReport(t, DURATION_S, ['--seed', String(SEED), '--faults', ALL_FAULTS.join(',')])
  if (result === null) return
  const { run, report } = result

  const plan = report.schedule
  const startLine = run.output.split('\n').find((line) => line.startsWith('schedule: ')) ?? ''
  t.ok(run.output.indexOf(startLine) < run.output.indexOf('cluster up'), 'the schedule is said before the cluster starts')
  t.match(startLine, `${DURATION_S}s fits ${plan.expectedToFit.join(', ')}`, 'naming the kinds expected to fit')
  t.ok(plan.notExpectedToFit.length > 0, `and those that are not: ${plan.notExpectedToFit.join(', ')}`)
  t.match(startLine, `not expected to fit: ${plan.notExpectedToFit.join(', ')}`)

  t.ok(report.faults.length > 0, `faults ran: ${report.faults.map((f) => f.kind).join(', ')}`)
  t.ok(report.faultKindsMissing.length > 0, `some kinds did not run: ${report.faultKindsMissing.join(', ')}`)
  t.same(report.faultKindsNotRun.map((n) => n.kind).sort(), [...report.faultKindsMissing].sort(), 'each kind that did not run is marked not run')
  for (const n of report.faultKindsNotRun) t.equal(n.reason, 'did-not-fit', `${n.kind}: ${n.detail}`)
  t.match(run.output, /fault kinds not run:/, 'the terminal report lists them')
  for (const kind of report.faultKindsMissing) t.match(run.html, new RegExp(`<td>${kind}</td><td>did-not-fit</td>`), `the HTML report marks ${kind} not run`)

  for (const check of report.verdict.checks) t.ok(check.isPassed, `${check.name}: ${check.detail}`)
  t.equal(report.verdict.isPassed, true, 'the verdict passes')
  t.equal(run.code, 0, 'exit code 0')
})
