// Helpers for the operator tests (test/ops/) and the CLI tests: run a natsmesh
// CLI command to completion, start `natsmesh up` and read its table, and
// start nodes with monitoring on and a long ZooKeeper session (so a
// SIGSTOPped node stays registered while a test looks at it). Everything
// started here is stopped in the caller's t.teardown; every wait is bounded.
import { spawn, type ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { startMeshNode, until, type MeshNode } from './cluster.js'
import { CLI } from './natsmesh.js'

// ---- one CLI command ------------------------------------------------------------------

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `natsmesh <args>` to completion (env: added to ours); SIGKILLed (and rejected) after timeoutMs. */
export function runCli(args: string[], timeoutMs = 30_000, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`natsmesh ${args.join(' ')} still running after ${timeoutMs} ms:\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.once('error', reject)
    // 'close', not 'exit': it comes after the pipes are drained.
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

// ---- nodes with monitoring ---------------------------------------------------------------

/** A mesh node with a name and monitoring (monitorPort 0 when started without). */
export type OpsNode = MeshNode

export interface OpsNodeOptions {
  name: string
  cluster: string
  zk?: string
  routes?: string[]
  /** 0 (default): the node picks its route port. */
  routePort?: number
  /** Default true. */
  hasMonitor?: boolean
  /** Default 30s: long enough that a paused node stays registered for the whole test. */
  zkSessionTimeout?: string
  extraArgs?: string[]
}

/** `natsmesh server` named o.name, clustered, monitoring on a free port; stopped in t.teardown (continued first if paused). */
export function startOpsNode(t: Test, o: OpsNodeOptions): Promise<OpsNode> {
  return startMeshNode(t, {
    label: o.name, name: o.name, cluster: o.cluster, zk: o.zk, routes: o.routes, routePort: o.routePort,
    hasMonitor: o.hasMonitor ?? true, zkSessionTimeout: o.zkSessionTimeout ?? '30s', extraArgs: o.extraArgs,
  })
}

/** Whether a process exists (signal 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

// ---- natsmesh up ----------------------------------------------------------------------

export interface UpNodeRow {
  name: string
  pid: number
  clientUrl: string
  monitorUrl: string
  routeUrl: string
}

export interface RunningUp {
  process: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves once stdout matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** The table's rows, once printed. */
  rows(): UpNodeRow[]
  /** ZooKeeper's connect string, pid and data dir from the header; null for a static cluster. */
  zookeeper(): { connectString: string; pid: number; dir: string } | null
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * Spawns `natsmesh up <args>` and waits for "Ctrl-C stops the cluster". The
 * teardown sends SIGINT, then SIGKILL to up and to every pid it printed, so a
 * failed test leaves nothing behind.
 */
export async function startUp(t: Test, args: string[], timeoutMs = 60_000): Promise<RunningUp> {
  const child = spawn(process.execPath, [CLI, 'up', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { if (err.length < 1_000_000) err += d.toString() })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })))
  let isExited = false
  void exited.then(() => { isExited = true })

  const rows = (): UpNodeRow[] => [...out.matchAll(/^(\S+)\s+(\d+)\s+(nats:\/\/\S+)\s+(http:\/\/\S+)\s+(nats:\/\/\S+)$/gm)]
    .map((m) => ({ name: m[1], pid: Number(m[2]), clientUrl: m[3], monitorUrl: m[4], routeUrl: m[5] }))
  const zookeeper = (): { connectString: string; pid: number; dir: string } | null => {
    const m = /^ZooKeeper: (\S+) \(pid (\d+), data in (\S+)\)$/m.exec(out)
    return m === null ? null : { connectString: m[1], pid: Number(m[2]), dir: m[3] }
  }
  t.teardown(async () => {
    const pids = [...rows().map((r) => r.pid), zookeeper()?.pid ?? -1].filter((p) => p > 0)
    if (!isExited) {
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      await exited
      clearTimeout(timer)
    }
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  })
  const waitFor = async (pattern: RegExp, waitMs = 30_000): Promise<RegExpExecArray> => {
    const found: { match: RegExpExecArray | null } = { match: null }
    await until(`natsmesh up prints ${String(pattern)}`, () => {
      found.match = pattern.exec(out)
      if (found.match === null && isExited) throw new Error(`natsmesh up exited:\n${out}\n${err.slice(-3000)}`)
      return found.match !== null
    }, waitMs, 25)
    if (found.match === null) throw new Error('until() returned without a match')
    return found.match
  }
  await waitFor(/Ctrl-C stops the cluster/, timeoutMs)
  return { process: child, stdout: () => out, stderr: () => err, waitFor, rows, zookeeper, exited }
}
