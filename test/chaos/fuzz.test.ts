// `natsmesh chaos --fuzz` for 20 s with a fixed seed: random and mutated
// frames from hundreds of raw connections, a flood past max_connections and a
// slow consumer, against one node while good clients run. Each verdict check
// is asserted on its own; throughput ratios are printed, never asserted.
import t from 'tap'
import type { FuzzReport } from '../../src/chaos/fuzz.js'
import { runChaosCli } from './run-chaos.js'

const SEED = 4242
const DURATION_S = 20

t.test('bad frames, a connection flood and a slow consumer never crash the node nor cost the good clients a message', async (t) => {
  const run = await runChaosCli<FuzzReport>(t, ['--fuzz', '--duration', String(DURATION_S), '--seed', String(SEED), '--fuzz-connections', '400', '--quiet'],
    (DURATION_S + 60) * 1000)
  const report = run.report
  if (report === null) {
    t.fail(`no JSON report (exit code ${run.code}):\n${run.output.slice(-4000)}`)
    return
  }
  t.comment(run.output.slice(run.output.indexOf('phases')))
  for (const check of report.verdict.checks) t.ok(check.isPassed, `${check.name}: ${check.detail}`)
  t.same(report.node.exits, [], 'the node never exited')
  t.equal(report.good.lost, 0, 'good subscribers lost nothing')
  t.equal(report.good.disconnects, 0, 'no good client was disconnected')
  t.ok(report.fuzz.connections > 0 && Object.keys(report.fuzz.errors).length > 0, 'the fuzzer ran and the node answered bad frames with -ERR')
  t.equal(run.code, report.verdict.isPassed ? 0 : 1, 'the exit code follows the verdict')
})
