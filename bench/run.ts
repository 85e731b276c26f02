// `npm run bench`: natsmesh against nats-server in the same run, as ratios.
// Both targets are started here on free ports and killed at the end, on error
// and on SIGINT. Every scenario runs nats-server then natsmesh, repeat after
// repeat, so machine noise lands on both. See docs/benchmarks.md.
import { existsSync } from 'node:fs'
import os from 'node:os'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { measureLatency, measureThroughput, type RunLimits } from './measure.js'
import { formatReport, writeJson, type LatencyRow, type Row, type ThroughputRow } from './report.js'
import { PAYLOAD_SIZES, SCENARIOS, type Scenario } from './scenarios.js'
import { ProcessRegistry, startTarget, stopTarget, type Target, type TargetSpec } from './servers.js'
import { runSelfCheck } from './selfcheck.js'
import { formatFailoverReport, runFailoverBench } from './failover.js'
import { CONVERGENCE_NAMES, convergenceErrors, formatConvergenceReport, runInterestBench, runJoinBench, type ConvergenceName, type ConvergenceReport } from './convergence.js'
import { formatStartupReport, runStartupBench, startupErrors, STARTUP_ROUNDS } from './startup.js'
import { formatRestartReport, runRestartProbe, RESTART_ROUNDS } from './restart-probe.js'

/** Named in --only like a scenario, run by their own modules. */
const STANDALONE_NAMES = ['failover', 'startup']

const NATSMESH_CLI = fileURLToPath(new URL('../bin/natsmesh.js', import.meta.url))

function parseArgs() {
  return yargs(hideBin(process.argv))
    .scriptName('npm run bench --')
    .usage('$0 [options]\n\nnatsmesh vs nats-server on this machine; prints ratios.')
    .option('only', { type: 'string', array: true, describe: `scenarios to run (${SCENARIOS.map((s) => s.name).join(', ')}, ${CONVERGENCE_NAMES.join(', ')}, ${STANDALONE_NAMES.join(', ')}); a cluster one implies --cluster` })
    .option('cluster', { type: 'boolean', default: true, describe: 'run the 3-node cluster scenarios too (--no-cluster: single node only)' })
    .option('count', { type: 'number', describe: 'messages per throughput run (default: per scenario, ~2-3 s against nats-server)' })
    .option('requests', { type: 'number', describe: 'measured round trips per latency run' })
    .option('quick', { type: 'boolean', default: false, describe: 'a tenth of the default counts (--count/--requests are taken as given)' })
    .option('repeat', { type: 'number', default: 1, describe: 'runs per target and scenario; the median is reported' })
    .option('max-seconds', { type: 'number', default: 20, describe: 'a run stops publishing after this long, whatever the count' })
    .option('json', { type: 'string', describe: 'also write the results to this file' })
    .option('natsmesh-cmd', { type: 'string', default: process.env.NATSMESH_CMD, describe: 'command for natsmesh (env NATSMESH_CMD); -a/-p and cluster flags are appended' })
    .option('nats-server-cmd', { type: 'string', default: process.env.NATS_SERVER_CMD ?? 'nats-server', describe: 'command for the reference (env NATS_SERVER_CMD)' })
    .option('failover', { type: 'boolean', default: false, describe: 'also run the failover benchmark (bench/failover.ts); --only failover runs it alone' })
    .option('startup', { type: 'boolean', default: false, describe: `also run the start-up scenario: spawn → first INFO byte beside nats-server and a bare Node.js process (${STARTUP_ROUNDS} rounds), and the nats.go restart probe (${RESTART_ROUNDS} rounds); --only startup runs it alone` })
    .option('convergence', { type: 'boolean', default: true, describe: 'with --cluster, also run the convergence scenarios interest and join (bench/convergence.ts, ~15 s); --no-convergence skips them' })
    .option('selfcheck', { type: 'boolean', default: false, describe: 'measure the load generator itself (null sink, scanner) and exit' })
    .check((a) => {
      for (const name of ['count', 'requests', 'repeat', 'max-seconds'] as const) {
        const value = a[name]
        if (value !== undefined && !(Number.isInteger(value) && value > 0) && !(name === 'max-seconds' && value > 0)) {
          throw new Error(`--${name} must be a positive ${name === 'max-seconds' ? 'number' : 'integer'}`)
        }
      }
      return true
    })
    .strict()
    .help()
    .parseSync()
}

type Args = ReturnType<typeof parseArgs>

/** interest/join: named in --only, or all of them when no --only and --cluster and --convergence are on. */
function selectConvergence(args: Args): ConvergenceName[] {
  const named = (args.only ?? []).flatMap((s) => s.split(',')).filter(Boolean)
  if (named.length > 0) return CONVERGENCE_NAMES.filter((name) => named.includes(name))
  return args.cluster && args.convergence ? [...CONVERGENCE_NAMES] : []
}

function natsmeshSpec(args: Args): TargetSpec {
  if (args['natsmesh-cmd'] !== undefined) return { name: 'natsmesh', command: args['natsmesh-cmd'].split(/\s+/).filter(Boolean) }
  if (!existsSync(NATSMESH_CLI)) {
    throw new Error(`natsmesh CLI not found at ${NATSMESH_CLI}: build it (npx tsc -p .) or pass --natsmesh-cmd "<command>"`)
  }
  return { name: 'natsmesh', command: [process.execPath, NATSMESH_CLI, 'server'] }
}

function selectScenarios(args: Args): Scenario[] {
  const named = (args.only ?? []).flatMap((s) => s.split(',')).filter(Boolean)
  const only = named.filter((name) => !STANDALONE_NAMES.includes(name) && !(CONVERGENCE_NAMES as readonly string[]).includes(name))
  if (named.length > 0 && only.length === 0) return []
  const unknown = only.filter((name) => !SCENARIOS.some((s) => s.name === name))
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${[...SCENARIOS.map((s) => s.name), ...CONVERGENCE_NAMES, ...STANDALONE_NAMES].join(', ')}`)
  if (only.length > 0) return SCENARIOS.filter((s) => only.includes(s.name))
  return SCENARIOS.filter((s) => s.nodes === 1 || args.cluster)
}

function countFor(args: Args, scenario: Scenario, payloadBytes: number): number {
  const given = scenario.kind === 'latency' ? args.requests : args.count
  if (given !== undefined) return given
  const base = scenario.kind === 'latency' ? scenario.count : scenario.counts[payloadBytes]
  return args.quick ? Math.round(base / 10) : base
}

interface Machine {
  date: string
  cpus: number
  cpuModel: string
  node: string
  natsServerVersion: string
  loadAverage1m: number
}

function machine(): Machine {
  let natsServerVersion = 'unknown'
  try {
    natsServerVersion = execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim()
  } catch { /* only shown in the header */ }
  return {
    date: new Date().toISOString(), cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version, natsServerVersion,
    // Other work on a 2-core machine moves the ratios: the header shows how busy it was.
    loadAverage1m: Number(os.loadavg()[0].toFixed(2)),
  }
}

function payloadsOf(scenario: Scenario): number[] {
  return scenario.kind === 'latency' ? [scenario.payloadBytes] : PAYLOAD_SIZES
}

function emptyRow(scenario: Scenario, payloadBytes: number): Row {
  return scenario.kind === 'latency'
    ? { kind: 'latency', scenario: scenario.name, payloadBytes, natsServer: [], natsmesh: [], errors: [] }
    : { kind: 'throughput', scenario: scenario.name, payloadBytes, natsServer: [], natsmesh: [], errors: [] }
}

async function runScenario(scenario: Scenario, pair: [Target, Target], args: Args, registry: ProcessRegistry): Promise<Row[]> {
  const limits: RunLimits = { maxMs: args['max-seconds'] * 1000 }
  const rows: Row[] = []
  for (const payloadBytes of payloadsOf(scenario)) {
    const count = countFor(args, scenario, payloadBytes)
    const row = emptyRow(scenario, payloadBytes)
    for (let r = 0; r < args.repeat; r++) {
      for (const [k, target] of pair.entries()) {
        const label = `${scenario.name} ${payloadBytes} B run ${r + 1}/${args.repeat} ${target.name}`
        try {
          if (scenario.kind === 'latency') {
            const result = await measureLatency(target, scenario, count, limits, registry)
            ;(k === 0 ? (row as LatencyRow).natsServer : (row as LatencyRow).natsmesh).push(result)
            console.error(`${label}: p50 ${result.p50Us.toFixed(0)} µs p99 ${result.p99Us.toFixed(0)} µs (${result.count} round trips)`)
          } else {
            const result = await measureThroughput(target, scenario, payloadBytes, count, limits, registry)
            ;(k === 0 ? (row as ThroughputRow).natsServer : (row as ThroughputRow).natsmesh).push(result)
            console.error(`${label}: ${Math.round(result.msgsPerSec)} msgs/s over ${result.seconds.toFixed(2)} s${result.warning === null ? '' : ` (${result.warning})`}`)
          }
        } catch (err) {
          row.errors.push(`${target.name}: ${(err as Error).message}`)
          console.error(`${label}: ERROR ${(err as Error).message}`)
        }
      }
    }
    rows.push(row)
  }
  return rows
}

async function main(): Promise<number> {
  const args = parseArgs()
  const registry = new ProcessRegistry()
  process.on('exit', () => registry.killAll())
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => { registry.killAll(); process.exit(130) })
  }
  if (args.selfcheck) {
    await runSelfCheck(args['nats-server-cmd'].split(/\s+/).filter(Boolean), registry)
    return 0
  }
  const scenarios = selectScenarios(args)
  const specs: [TargetSpec, TargetSpec] = [
    { name: 'nats-server', command: args['nats-server-cmd'].split(/\s+/).filter(Boolean) },
    natsmeshSpec(args),
  ]
  const meta = { ...machine(), commands: { natsServer: specs[0].command.join(' '), natsmesh: specs[1].command.join(' ') }, quick: args.quick, repeat: args.repeat }
  console.error(`bench: ${JSON.stringify(meta)}`)
  if (meta.loadAverage1m > 0.5) console.error(`bench: load average ${meta.loadAverage1m} before starting; expect noisy ratios (use --repeat)`)
  const rows: Row[] = []
  const started: Target[] = []
  try {
    for (const nodes of [1, 3]) {
      const group = scenarios.filter((s) => s.nodes === nodes)
      if (group.length === 0) continue
      const pair: Target[] = []
      try {
        for (const spec of specs) {
          pair.push(await startTarget(spec, nodes, registry))
          started.push(pair[pair.length - 1])
        }
      } catch (err) {
        // Say so in the report and go on: the other group's results stay useful when one target cannot start.
        const message = (err as Error).message
        console.error(`bench: ${message}`)
        for (const scenario of group) {
          for (const payloadBytes of payloadsOf(scenario)) rows.push({ ...emptyRow(scenario, payloadBytes), errors: [message] })
        }
        continue
      } finally {
        if (pair.length < specs.length) pair.forEach(stopTarget)
      }
      for (const scenario of group) rows.push(...await runScenario(scenario, [pair[0], pair[1]], args, registry))
      pair.forEach(stopTarget)
    }
  } finally {
    for (const t of started) stopTarget(t)
  }
  console.log(`natsmesh: ${meta.commands.natsmesh}\nnats-server: ${meta.commands.natsServer}\n`)
  if (rows.length > 0) console.log(formatReport(rows))
  const convergenceNames = selectConvergence(args)
  const convergence: ConvergenceReport = {}
  if (convergenceNames.includes('interest')) convergence.interest = await runInterestBench(specs, registry)
  if (convergenceNames.includes('join')) convergence.join = await runJoinBench(specs, registry)
  if (convergenceNames.length > 0) console.log(formatConvergenceReport(convergence))
  if (args.failover || (args.only ?? []).some((s) => s.split(',').includes('failover'))) {
    const failover = await runFailoverBench({ natsServerCommand: specs[0].command, natsmeshCommand: specs[1].command })
    console.log(formatFailoverReport(failover))
    if (failover.natsmesh.errors.length + failover.natsServer.errors.length > 0) return 1
  }
  const extras: Record<string, unknown> = convergenceNames.length > 0 ? { convergence } : {}
  let startupFailed = false
  if (args.startup || (args.only ?? []).some((s) => s.split(',').includes('startup'))) {
    const rounds = args.quick ? Math.ceil(STARTUP_ROUNDS / 4) : STARTUP_ROUNDS
    const startup = await runStartupBench(specs[0], specs[1], registry, rounds)
    console.log(`\n${formatStartupReport(startup)}`)
    const restart = await runRestartProbe(specs[0], specs[1], registry, args.quick ? 2 : RESTART_ROUNDS)
    console.log(`\n${formatRestartReport(restart)}`)
    extras.startup = startup
    extras.restart = restart
    // The restart outcome is a timing, reported and never a failure; a target that did not start is.
    startupFailed = startupErrors(startup) > 0
  }
  if (args.json !== undefined) writeJson(args.json, { ...meta, ...extras }, rows)
  if (convergenceErrors(convergence) > 0 || startupFailed) return 1
  return rows.some((r) => r.errors.length > 0) ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => { console.error(`bench: ${(err as Error).message}`); process.exit(1) },
)
