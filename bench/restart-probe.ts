// `npm run bench -- --only startup`, part two: nats.go's own tests restart a
// server on the same port and expect a client with ReconnectWait 50 ms and
// MaxReconnects 2 to reconnect (bench/probes/restart.go). Per round and
// server: start it on a free port, connect the probe, SIGTERM the server,
// and the moment it has exited start it again on the same port; the probe
// says whether it reconnected (and when, after its disconnect) or gave up.
// Reported, never asserted: it is a race between the new process and the
// client's two attempts. Needs `go` and Debian's nats.go
// (golang-github-nats-io-go-nats-dev); without them it says so and is skipped.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { answersInfo, freePort } from '../src/local/ports.js'
import { until } from '../src/wait.js'
import { median, table } from './report.js'
import { spawnServer, type ProcessRegistry, type TargetSpec } from './servers.js'
import { firstInfoByteMs, nowMs } from './startup.js'

export const RESTART_ROUNDS = 5
const PROBE_SOURCE = fileURLToPath(new URL('../../bench/probes/restart.go', import.meta.url))
/** Debian's Go sources (GOPATH layout): nats.go, nkeys, nuid. */
const DEBIAN_GOPATH = '/usr/share/gocode'
const NATS_GO_SOURCE = path.join(DEBIAN_GOPATH, 'src', 'github.com', 'nats-io', 'nats.go', 'nats.go')
const GO_BUILD_TIMEOUT_MS = 180_000
const READY_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 10_000
/** The probe's own bound is 10 s from "connected"; a little more here. */
const OUTCOME_TIMEOUT_MS = 12_000
const PROBE_POLL_MS = 2

export type RestartOutcome = 'reconnected' | 'closed' | 'error'

export interface RestartRound {
  outcome: RestartOutcome
  /** The probe's outcome, ms after its disconnect; null on error. */
  clientMs: number | null
  /** SIGTERM → the old process exited. */
  stopMs: number | null
  /** The old process exited → the new one's first INFO byte. */
  backMs: number | null
  detail: string
}

export interface RestartSide {
  name: string
  rounds: RestartRound[]
}

export interface RestartReport {
  /** Why the probe did not run, or null. */
  skipped: string | null
  natsGoVersion: string
  natsServer: RestartSide
  natsmesh: RestartSide
}

async function buildProbe(work: string): Promise<string> {
  const pkg = path.join(work, 'src', 'restart')
  fs.mkdirSync(pkg, { recursive: true })
  fs.copyFileSync(PROBE_SOURCE, path.join(pkg, 'main.go'))
  const binary = path.join(work, 'restart')
  // GOPATH mode: Debian ships nats.go as sources, no module download.
  const env = { ...process.env, GOPATH: `${work}:${DEBIAN_GOPATH}`, GO111MODULE: 'off' }
  await promisify(execFile)('go', ['build', '-o', binary, 'restart'], { env, cwd: work, timeout: GO_BUILD_TIMEOUT_MS })
  return binary
}

function natsGoVersion(): string {
  try {
    return /Version\s*=\s*"([^"]+)"/.exec(fs.readFileSync(NATS_GO_SOURCE, 'utf8'))?.[1] ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

async function restartRound(spec: TargetSpec, probe: string, registry: ProcessRegistry): Promise<RestartRound> {
  const port = await freePort()
  let server = spawnServer(spec, port, [], registry)
  let client: ChildProcess | null = null
  const result: RestartRound = { outcome: 'error', clientMs: null, stopMs: null, backMs: null, detail: '' }
  try {
    await server.waitUntil(() => answersInfo(port), READY_TIMEOUT_MS)
    const probeProcess = spawn(probe, [`nats://127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] })
    client = probeProcess
    registry.add(probeProcess)
    let output = ''
    probeProcess.stdout?.on('data', (d: Buffer) => { output += d.toString() })
    probeProcess.stderr?.on('data', (d: Buffer) => { output += d.toString() })
    await until('the Go probe connected', () => /^connected$/m.test(output) || probeProcess.exitCode !== null, READY_TIMEOUT_MS, PROBE_POLL_MS)
    if (!/^connected$/m.test(output)) throw new Error(`the Go probe did not connect: ${output.trim()}`)
    const stopAt = nowMs()
    await server.stop(STOP_TIMEOUT_MS)
    const exitedAt = nowMs()
    result.stopMs = exitedAt - stopAt
    server = spawnServer(spec, port, [], registry)
    const back = firstInfoByteMs(port, exitedAt, server).then((ms) => { result.backMs = ms }, (err: Error) => { result.detail = err.message })
    const outcome = /^(reconnected|closed) ([\d.]+)$/m
    await until('the Go probe\'s outcome', () => outcome.test(output) || probeProcess.exitCode !== null, OUTCOME_TIMEOUT_MS, PROBE_POLL_MS)
    await back
    const match = outcome.exec(output)
    if (match === null) throw new Error(`no outcome from the Go probe: ${output.trim()}`)
    result.outcome = match[1] as RestartOutcome
    result.clientMs = Number(match[2])
  } catch (err) {
    result.detail = (err as Error).message
  } finally {
    client?.kill('SIGKILL')
    server.killNow()
    await server.exited
  }
  return result
}

export async function runRestartProbe(natsServer: TargetSpec, natsmesh: TargetSpec, registry: ProcessRegistry, rounds = RESTART_ROUNDS): Promise<RestartReport> {
  const report: RestartReport = {
    skipped: null, natsGoVersion: natsGoVersion(), natsServer: { name: natsServer.name, rounds: [] }, natsmesh: { name: natsmesh.name, rounds: [] },
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-bench-go-'))
  try {
    let probe: string
    try {
      probe = await buildProbe(work)
    } catch (err) {
      report.skipped = `the Go probe did not build (needs go and golang-github-nats-io-go-nats-dev): ${(err as Error).message.split('\n')[0]}`
      console.error(`restart: ${report.skipped}`)
      return report
    }
    const targets: Array<[TargetSpec, RestartSide]> = [[natsServer, report.natsServer], [natsmesh, report.natsmesh]]
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < targets.length; k++) {
        const [spec, side] = targets[(k + round) % targets.length]
        const r = await restartRound(spec, probe, registry)
        side.rounds.push(r)
        console.error(`restart ${spec.name} round ${round + 1}/${rounds}: ${r.outcome}` +
          (r.clientMs === null ? '' : ` ${r.clientMs} ms after the disconnect`) +
          (r.backMs === null ? '' : `; new process answered ${r.backMs.toFixed(1)} ms after the old one exited`) +
          (r.detail === '' ? '' : ` (${r.detail})`))
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
  return report
}

function msList(values: ReadonlyArray<number | null>): string {
  return values.map((v) => (v === null ? '—' : v.toFixed(v < 100 ? 1 : 0))).join(', ')
}

function medianOf(values: ReadonlyArray<number | null>): string {
  const known = values.filter((v): v is number => v !== null)
  return known.length === 0 ? '—' : median(known).toFixed(1)
}

export function formatRestartReport(report: RestartReport): string {
  if (report.skipped !== null) return `Go client restart probe: skipped: ${report.skipped}`
  const rows = [report.natsServer, report.natsmesh].map((side) => [
    side.name,
    `${side.rounds.filter((r) => r.outcome === 'reconnected').length}/${side.rounds.length}`,
    side.rounds.map((r) => `${r.outcome === 'error' ? 'error' : r.outcome} ${msList([r.clientMs])}`).join(', '),
    medianOf(side.rounds.map((r) => r.stopMs)),
    medianOf(side.rounds.map((r) => r.backMs)),
  ])
  const lines = [
    `Go client restart probe: nats.go ${report.natsGoVersion}, ReconnectWait 50 ms, MaxReconnects 2, no jitter; ` +
      'the server gets SIGTERM and is started again on the same port as soon as it has exited',
    '',
    table(['server', 'reconnected', 'client outcome, ms after its disconnect', 'SIGTERM → exit, median ms', 'exit → new INFO, median ms'], rows),
  ]
  for (const side of [report.natsServer, report.natsmesh]) {
    for (const r of side.rounds.filter((x) => x.detail !== '').slice(0, 3)) lines.push(`  ${side.name}: ${r.detail}`)
  }
  return lines.join('\n')
}
