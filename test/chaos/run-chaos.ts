// Runs `natsmesh chaos …` from dist/ as a child process, the way CI and
// operators do, and reads its JSON report. The child is started with the
// parent watch preloaded (src/local/parent-watch.ts): if this test process
// dies (tap timeout, crash), the child gets SIGTERM and stops everything it
// started. Not a test file: test/chaos/*.test.ts import it.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Test } from 'tap'
import type { ChaosReport } from '../../src/chaos/report.js'
import { CLI, ROOT } from '../helpers/natsmesh.js'

const PARENT_WATCH = pathToFileURL(path.join(ROOT, 'dist', 'src', 'local', 'parent-watch.js')).href
/** SIGTERM (the run stops and cleans up), then SIGKILL this long later. */
const KILL_GRACE_MS = 30_000
/** Beyond --duration: starting ZooKeeper and the nodes, catching up, stopping. */
const RUN_OVERHEAD_MS = 90_000

export interface ChaosRun<R> {
  code: number | null
  /** stdout and stderr, interleaved as they came (bounded). */
  output: string
  report: R | null
  /** The page written by --html, '' when not asked for or not written. */
  html: string
}

/**
 * `natsmesh chaos <args> --json <tmp> [--html <tmp>]`; resolves when it exits,
 * or SIGTERMs it after timeoutMs. The temp dir is removed in t.teardown.
 */
export async function runChaosCli<R>(t: Test, args: string[], timeoutMs: number, isWritingHtml = false): Promise<ChaosRun<R>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-chaos-test-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const jsonFile = path.join(dir, 'report.json')
  const htmlFile = path.join(dir, 'report.html')
  const files = ['--json', jsonFile, ...(isWritingHtml ? ['--html', htmlFile] : [])]
  const child = spawn(process.execPath, ['--import', PARENT_WATCH, CLI, 'chaos', ...args, ...files], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  const collect = (d: Buffer): void => { if (output.length < 1_000_000) output += d.toString() }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  child.stdin?.on('error', () => { /* the child is gone */ })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let killTimer: NodeJS.Timeout | null = null
  const stopTimer = setTimeout(() => {
    child.kill('SIGTERM')
    killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
  }, timeoutMs)
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  })
  const code = await exited
  clearTimeout(stopTimer)
  if (killTimer !== null) clearTimeout(killTimer)
  const text = await readFile(jsonFile, 'utf8').catch(() => null)
  const html = isWritingHtml ? await readFile(htmlFile, 'utf8').catch(() => '') : ''
  return { code, output, report: text === null ? null : JSON.parse(text) as R, html }
}

/**
 * `natsmesh chaos --duration <durationS> <args>` with --html; fails t with
 * the end of the output when no JSON report was written (null), else prints
 * the report's text from its fault list on as test comments.
 */
export async function runChaosReport(t: Test, durationS: number, args: string[]): Promise<{ run: ChaosRun<ChaosReport>; report: ChaosReport } | null> {
  const run = await runChaosCli<ChaosReport>(t, ['--duration', String(durationS), ...args], durationS * 1000 + RUN_OVERHEAD_MS, true)
  if (run.report === null) {
    t.fail(`no JSON report (exit code ${run.code}):\n${run.output.slice(-4000)}`)
    return null
  }
  t.comment(run.output.slice(run.output.indexOf('faults:')))
  return { run, report: run.report }
}
