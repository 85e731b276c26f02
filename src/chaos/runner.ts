// `natsmesh chaos`: a local ZooKeeper and N nodes as child processes, the
// traffic of traffic.ts, and faults from a seeded schedule, one at a time:
//
//   start ─ converge ─ connect + interest barrier ─┬─ traffic on ──────────────────────── traffic off ─ catch up ─ verdict
//                                                  └─ 3 s, fault, recover, converge, margin, quiet 1–3 s, fault, …
//
// The schedule (schedule.ts) runs each requested kind once, in a seeded
// order, as long as it fits before --duration ends, then seeded picks; it
// says at the start which kinds are expected to fit, and the report marks
// the kinds that never ran. Everything started is stopped at the end, and on
// abort (Ctrl-C).
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { analyze } from './analysis.js'
import { ChaosCluster } from './cluster.js'
import { waitConverged } from './convergence.js'
import { FaultInjector } from './faults.js'
import type { ChaosOptions } from './options.js'
import { Random } from './random.js'
import { REPORT_VERSION, type ChaosReport, type FaultReport } from './report.js'
import { describePlan, FaultSchedule, FIRST_FAULT_AFTER_MS, QUIET_MAX_MS, QUIET_MIN_MS } from './schedule.js'
import { AnomalyLog, BUCKET_MS } from './tracking.js'
import { Traffic } from './traffic.js'
import { freePorts } from '../local/ports.js'
import { sleep } from '../wait.js'
import { startLocalZooKeeper, type LocalZooKeeper } from '../local/zookeeper.js'

const STARTUP_BOUND_MS = 60_000
const CATCH_UP_MS = 5_000
const PROGRESS_EVERY_MS = 2_000
/** Most extra nodes `add` may start. */
const MAX_EXTRA_NODES = 2

export type Say = (line: string) => void

export async function runChaos(options: ChaosOptions, say: Say, signal: AbortSignal): Promise<ChaosReport> {
  const wallStart = Date.now()
  let t0 = wallStart
  const clock = (): number => Date.now() - t0
  const stamp = (line: string): void => say(`${(clock() / 1000).toFixed(1).padStart(6)}s  ${line}`)
  const rng = new Random(options.seed)
  const schedule = new FaultSchedule(options.faults, rng, options.durationMs, options.marginMs)
  const logDir = await mkdtemp(path.join(os.tmpdir(), `natsmesh-chaos-${options.seed}-`))
  const anomalies = new AnomalyLog()
  const unexpectedExits: ChaosReport['unexpectedExits'] = []
  const faults: FaultReport[] = []
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  let zookeeper: LocalZooKeeper | null = null
  let cluster: ChaosCluster | null = null
  let traffic: Traffic | null = null
  let progress: NodeJS.Timeout | null = null
  let isRemovingLogs = false
  try {
    say(`natsmesh chaos: seed ${options.seed}, ${options.nodes} nodes, ${options.durationMs / 1000}s, faults ${options.faults.join(',')}, ` +
      `${options.rate} msgs/s per publisher; logs in ${logDir}`)
    say(describePlan(schedule.plan, options.durationMs))
    const [zkPort] = await freePorts(1)
    zookeeper = await startLocalZooKeeper({ port: zkPort, dirPrefix: 'natsmesh-chaos-zk-' })
    const zk = zookeeper
    const c = new ChaosCluster(zk.connectString, logDir, {
      unexpectedExit(node, how, logTail) {
        unexpectedExits.push({ node: node.label, at: clock(), how, logTail })
        stamp(`!! ${node.label} exited on its own (${how})`)
      },
      log(line) { stamp(line) },
    }, clock)
    cluster = c
    await Promise.all(Array.from({ length: options.nodes }, () => c.addNode()))
    const formed = await waitConverged(c, Date.now(), STARTUP_BOUND_MS, () => zk.isRunning)
    if (!formed.isConverged || formed.membershipMs === null) throw new Error(`the cluster did not form within ${STARTUP_BOUND_MS / 1000}s: ${formed.problem}`)
    say(`cluster up: ${c.nodes.map((n) => `${n.label}=${n.hostPort}`).join(' ')}, ZooKeeper ${zk.connectString}`)
    abortable(signal)

    const t = await Traffic.connect({
      clock, anomalies, maxMs: options.durationMs + 60_000, zookeeper: zk.connectString, staticUrls: c.nodes.map((n) => n.clientUrl),
    }, options.rate, options.requestRate)
    traffic = t
    await t.waitForInterest(c, STARTUP_BOUND_MS)
    say(`${t.clients.length} clients connected: ${t.clients.map((x) => `${x.id}@${c.byHostPort(x.server())?.label ?? '?'}`).join(' ')}`)
    abortable(signal)

    t0 = Date.now()
    t.start(Math.ceil((options.durationMs / 1000 + 60) * options.requestRate))
    progress = setInterval(() => {
      const connected = t.clients.filter((x) => x.isConnected).length
      const nodes = c.nodes.filter((n) => n.state !== 'gone').map((n) => (n.state === 'up' ? n.label : `${n.label}(${n.state})`))
      stamp(`published ${t.published()}, delivered ${t.delivered()}, clients ${connected}/${t.clients.length} connected, ` +
        `nodes ${nodes.join(' ')}, ZooKeeper ${zk.isRunning ? 'up' : 'down'}`)
    }, PROGRESS_EVERY_MS)

    const injector = new FaultInjector({
      cluster: c, zookeeper: zk, traffic: t, rng, clock, marginMs: options.marginMs, convergeBoundMs: options.convergeBoundMs,
      maxNodes: options.nodes + MAX_EXTRA_NODES, say: stamp,
    })
    await sleepUnless(signal, FIRST_FAULT_AFTER_MS)
    for (let index = 1; index <= 10_000 && !signal.aborted; index++) {
      const kind = schedule.next(clock(), (k) => injector.canRun(k))
      if (kind === null) break
      faults.push(await injector.run(kind, index))
      await sleepUnless(signal, options.marginMs + rng.int(QUIET_MIN_MS, QUIET_MAX_MS))
    }
    const notRun = schedule.notRun(faults.map((f) => f.kind))
    for (const n of notRun) stamp(`not run: ${n.kind} (${n.reason}: ${n.detail})`)
    await sleepUnless(signal, options.durationMs - clock())

    await t.stop()
    const trafficEndMs = clock()
    stamp(`traffic off: ${t.published()} published; waiting up to ${CATCH_UP_MS / 1000}s for the last messages`)
    for (let i = 0; i < CATCH_UP_MS / 50 && !t.isCaughtUp(); i++) await sleep(50)
    clearInterval(progress)
    progress = null

    const analysis = analyze({
      traffic: t, cluster: c, faults, requestedKinds: options.faults, notRun, anomalies, unexpectedExits: unexpectedExits.length,
      convergeBoundMs: options.convergeBoundMs, trafficEndMs,
      lag: { p99: Math.round(lag.percentile(99) / 1e6), max: Math.round(lag.max / 1e6) },
      startMarks: injector.startMarks,
    })
    const buckets = Math.ceil(trafficEndMs / BUCKET_MS) + 1
    const isPassed = analysis.checks.every((x) => x.isPassed) && !signal.aborted
    isRemovingLogs = isPassed && !options.isKeepingLogs
    return {
      version: REPORT_VERSION,
      command: 'chaos',
      seed: options.seed,
      options: {
        nodes: options.nodes, duration: options.durationMs / 1000, faults: options.faults, rate: options.rate,
        requestRate: options.requestRate, margin: options.marginMs / 1000, convergeBound: options.convergeBoundMs / 1000,
      },
      startedAt: new Date(wallStart).toISOString(),
      durationMs: trafficEndMs,
      wallMs: Date.now() - wallStart,
      nodes: c.nodes.map((n) => ({ label: n.label, clientPort: n.clientPort, state: n.state, starts: n.starts, exits: n.exits })),
      clients: analysis.clients,
      faults,
      faultKindsRun: analysis.faultKindsRun,
      faultKindsMissing: analysis.faultKindsMissing,
      faultKindsNotRun: notRun,
      schedule: schedule.plan,
      totals: analysis.totals,
      summary: analysis.summary,
      gaps: analysis.gaps,
      gapsLeftOut: analysis.gapsLeftOut,
      anomalies: anomalies.kept,
      unexpectedExits,
      timeline: {
        bucketMs: BUCKET_MS,
        series: Object.fromEntries(t.clients.filter((x) => x.role !== 'publisher' && x.role !== 'queue-publisher' && x.role !== 'decoy')
          .map((x) => [x.id, Array.from(x.delivered.counts.subarray(0, buckets))])),
      },
      verdict: {
        isPassed,
        checks: signal.aborted ? [...analysis.checks, { name: 'not-aborted', isPassed: false, detail: 'interrupted before the end' }] : analysis.checks,
      },
      logDir: isPassed && !options.isKeepingLogs ? null : logDir,
    }
  } catch (err) {
    say(`the run failed; node logs kept in ${logDir}`)
    throw err
  } finally {
    if (progress !== null) clearInterval(progress)
    lag.disable()
    say('stopping clients, nodes and ZooKeeper')
    await traffic?.close()
    await cluster?.stopAll()
    await zookeeper?.stop()
    if (isRemovingLogs) await rm(logDir, { recursive: true, force: true })
  }
}


function abortable(signal: AbortSignal): void {
  if (signal.aborted) throw new Error('interrupted')
}

/** Sleeps ms (≤ 0: not at all), waking early on abort. */
function sleepUnless(signal: AbortSignal, ms: number): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
