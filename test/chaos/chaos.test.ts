// The chaos run CI does: `natsmesh chaos` for 60 s with a fixed seed and
// every fault kind (kill, pause, drain, add, zk, hotkill) at least once,
// against a real ZooKeeper and real node processes. Each verdict check is
// asserted on its own, so a failure names what broke (its detail says how
// much and where); the run's own report is printed as test comments. Timings
// are printed, never asserted.
import t from 'tap'
import { runChaosReport } from './run-chaos.js'

const SEED = 20261122
const DURATION_S = 60
const ALL_FAULTS = ['kill', 'pause', 'drain', 'add', 'zk', 'hotkill']

t.test(`a ${DURATION_S} s run with every fault kind passes every verdict check`, async (t) => {
  const result = await runChaosReport(t, DURATION_S, ['--seed', String(SEED), '--faults', ALL_FAULTS.join(','), '--quiet'])
  if (result === null) return
  const { run, report } = result

  t.same(report.faultKindsMissing, [], 'every fault kind ran at least once')
  for (const check of report.verdict.checks) t.ok(check.isPassed, `${check.name}: ${check.detail}`)
  t.equal(report.totals.duplicated, 0, 'no stream message delivered twice')
  t.equal(report.totals.misdelivered, 0, 'no message delivered to a subscription that does not match')
  t.equal(report.totals.queue.deliveredTwice, 0, 'no queue job delivered to two members')
  t.equal(report.totals.outOfOrder, 0, 'no stream message out of order')
  t.equal(report.totals.lostOutsideWindows, 0, 'no stream message lost outside a fault window')
  t.same(report.unexpectedExits.map((e) => `${e.node}: ${e.how}`), [], 'no node exited on its own')
  t.same(report.clients.filter((c) => !c.isConnectedAtEnd).map((c) => c.id), [], 'every client connected at the end')
  t.equal(run.code, report.verdict.isPassed ? 0 : 1, 'the exit code follows the verdict')

  t.match(run.html, /<svg[^>]*>[\s\S]*<polyline/, 'the HTML report holds the timeline as inline SVG')
  t.notMatch(run.html, /<(script|link|img)\b|src=/, 'the HTML report loads nothing from anywhere')
})
