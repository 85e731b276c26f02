// `natsmesh chaos`: kill, pause, drain and add nodes and stop ZooKeeper
// under load, then say what the clients saw (src/chaos/runner.ts);
// `natsmesh chaos --fuzz`: bad bytes, floods and a slow consumer against one
// node (src/chaos/fuzz.ts). See docs/chaos.md.
//
// Exit code: 0 the verdict passed, 1 it failed (or the run could not start),
// 2 bad options. Ctrl-C (or SIGTERM) ends the run early (the report says so)
// and stops everything it started; a second one exits at once (the nodes and
// ZooKeeper follow: they watch a pipe from this process, see parent-watch.ts).
import { writeFile } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import { NatsmeshError } from '../../src/errors.js'
import { runFuzz, formatFuzzReport } from '../../src/chaos/fuzz.js'
import { renderHtml } from '../../src/chaos/html.js'
import {
  DEFAULT_CONVERGE_BOUND_MS, DEFAULT_DURATION_S, DEFAULT_FUZZ_CONNECTIONS, DEFAULT_MARGIN_MS, DEFAULT_NODES, DEFAULT_RATE,
  DEFAULT_REQUEST_RATE, FAULT_KINDS, resolveChaosOptions, resolveFuzzOptions, type RawChaosFlags,
} from '../../src/chaos/options.js'
import { formatReport } from '../../src/chaos/report.js'
import { runChaos } from '../../src/chaos/runner.js'
import { planFirstRound } from '../../src/chaos/schedule.js'

/** How long one of each kind takes by the schedule's estimates, with the default margin. */
const ALL_KINDS_S = Math.ceil(planFirstRound(FAULT_KINDS, Infinity, DEFAULT_MARGIN_MS).allKindsMs / 1000)

interface ChaosFlags extends RawChaosFlags {
  fuzz: boolean
}

function builder(y: Argv): Argv<ChaosFlags> {
  return y
    .option('nodes', { type: 'number', default: DEFAULT_NODES, describe: 'Nodes at the start (add and drain change the set)' })
    .option('duration', { type: 'number', default: DEFAULT_DURATION_S, describe: `Seconds of traffic; faults are scheduled inside it, and kinds that do not fit are reported as not run (every kind once needs about ${ALL_KINDS_S} s)` })
    .option('seed', { type: 'number', describe: 'Seed of the fault schedule and the fuzzer (default: random, printed)' })
    .option('faults', { type: 'string', default: FAULT_KINDS.join(','), describe: 'Fault kinds to inject' })
    .option('rate', { type: 'number', default: DEFAULT_RATE, describe: 'Messages per second per publisher (the hot one sends twice that)' })
    .option('request-rate', { type: 'number', default: DEFAULT_REQUEST_RATE, describe: 'Requests per second per requester' })
    .option('margin', { type: 'number', default: DEFAULT_MARGIN_MS / 1000, describe: 'Seconds a fault window stays open after recovery' })
    .option('converge-bound', { type: 'number', default: DEFAULT_CONVERGE_BOUND_MS / 1000, describe: 'Seconds allowed for routes, interest and membership to hold again' })
    .option('json', { type: 'string', describe: 'Write the report as JSON to this file' })
    .option('html', { type: 'string', describe: 'Write the report as a self-contained HTML page with a timeline' })
    .option('keep-logs', { type: 'boolean', default: false, describe: 'Keep node and ZooKeeper logs even when the verdict passes' })
    .option('quiet', { type: 'boolean', default: false, describe: 'No progress lines, only the report' })
    .option('fuzz', { type: 'boolean', default: false, describe: 'Instead: fuzz one node with bad frames, a connection flood and a slow consumer' })
    .option('fuzz-connections', { type: 'number', default: DEFAULT_FUZZ_CONNECTIONS, describe: 'With --fuzz: raw connections sending bad frames, in all' })
    .example('$0 chaos', 'a 60 s run with every fault kind')
    .example('$0 chaos --duration 300 --seed 7 --json chaos.json --html chaos.html', 'a longer run, with both reports')
    .example('$0 chaos --faults kill,zk --nodes 5', 'only crashes and ZooKeeper outages, on 5 nodes')
    .example('$0 chaos --fuzz --duration 20', 'protocol fuzzing, floods and a slow consumer against one node') as unknown as Argv<ChaosFlags>
}

async function handler(argv: ChaosFlags): Promise<void> {
  const controller = new AbortController()
  let interrupts = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++
    if (interrupts === 1) {
      process.stderr.write(`\nnatsmesh chaos: ${signal}; stopping (once more to quit at once)\n`)
      controller.abort()
    } else {
      process.exit(signal === 'SIGINT' ? 130 : 143)
    }
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const say = argv.quiet ? (): void => undefined : (line: string): void => { process.stdout.write(`${line}\n`) }
  try {
    if (argv.fuzz) {
      const options = resolveFuzzOptions(argv)
      const report = await runFuzz(options, say, controller.signal)
      process.stdout.write(`${formatFuzzReport(report)}\n`)
      if (options.jsonFile !== null) await writeFile(options.jsonFile, `${JSON.stringify(report, null, 2)}\n`)
      process.exitCode = report.verdict.isPassed ? 0 : 1
      return
    }
    const options = resolveChaosOptions(argv)
    const report = await runChaos(options, say, controller.signal)
    process.stdout.write(`${formatReport(report)}\n`)
    if (options.jsonFile !== null) await writeFile(options.jsonFile, `${JSON.stringify(report, null, 2)}\n`)
    if (options.htmlFile !== null) await writeFile(options.htmlFile, renderHtml(report))
    process.exitCode = report.verdict.isPassed ? 0 : 1
  } catch (err) {
    const message = err instanceof NatsmeshError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)
    process.stderr.write(`natsmesh chaos: ${message}\n`)
    process.exitCode = err instanceof NatsmeshError ? 2 : 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

export const chaosCommand: CommandModule<object, ChaosFlags> = {
  command: 'chaos',
  describe: 'Start ZooKeeper and nodes, inject faults under load, report what clients saw (or --fuzz one node)',
  builder,
  handler,
}
