// A NATS server (natsmesh or nats-server) on 127.0.0.1 as a child process,
// the one way `natsmesh up`, the chaos runner, the benchmarks, the example and
// the tests start one: spawned as `<command> -a 127.0.0.1 -p <port> <args>`,
// its output read line by line, waited on until it is ready, and stopped with
// a bound (SIGTERM, then SIGKILL).
//
// Output: the last lines are always kept (for error messages) and each line
// can go to a callback. When asked, the whole output is kept too, up to a
// bound; past it, output() throws instead of returning a log that silently
// lacks its end, so a check that reads the log fails rather than passes by
// default.
//
// Options that change how the process relates to ours:
// - isDetached: it leads its own process group, so Ctrl-C in a terminal
//   reaches our process only, and every signal goes to the whole group (a
//   wrapper command, a shell script or npx, goes down with what it started).
// - isWatchingParent (a Node.js command only): parent-watch.ts is preloaded
//   and we hold its stdin pipe, so the child stops when we go, even by SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { until } from '../wait.js'

/** The built CLI, dist/bin/natsmesh.js, as seen from this module compiled (code run from source passes its own command). */
export const NATSMESH_CLI = fileURLToPath(new URL('../../bin/natsmesh.js', import.meta.url))
/** `natsmesh server` of this build. */
export const NATSMESH_SERVER: readonly string[] = [process.execPath, NATSMESH_CLI, 'server']
const PARENT_WATCH = new URL('./parent-watch.js', import.meta.url).href
/** Lines kept for error messages. */
const LOG_TAIL_LINES = 40
export const DEFAULT_STOP_TIMEOUT_MS = 5_000
const READY_POLL_MS = 20

export interface NodeProcessOptions {
  /** Names the process in messages ("<name> exited during startup …"). */
  name: string
  /** The client port, given as `-p`. */
  port: number
  /** Flags after `-a 127.0.0.1 -p <port>`. */
  args: readonly string[]
  /** The server's argv before the flags; default NATSMESH_SERVER. */
  command?: readonly string[]
  /** See the file comment. Default false. */
  isDetached?: boolean
  /** See the file comment; needs a Node.js command. Default false. */
  isWatchingParent?: boolean
  /** Keep the whole output up to this many bytes (output() throws past it); 0, the default: only the tail. */
  logLimitBytes?: number
  /** Every output line (stdout and stderr), as it arrives. */
  onLine?: (line: string) => void
  /** The child's whole environment; default: ours. */
  env?: NodeJS.ProcessEnv
}

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

export function describeExit(status: ExitStatus): string {
  return status.signal !== null ? `killed by ${status.signal}` : `exit code ${status.code ?? '?'}`
}

/** output() of a process whose output passed its bound: what it returns would lack the end. */
export class LogLimitError extends Error {
  constructor(name: string, limitBytes: number) {
    super(`${name} wrote more than ${limitBytes} bytes of log; checks that read its log cannot be trusted (raise logLimitBytes)`)
    this.name = 'LogLimitError'
  }
}

interface LineWatch {
  pattern: RegExp
  found: (match: RegExpExecArray) => void
}

export class NodeProcess {
  readonly name: string
  readonly port: number
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string
  /** `127.0.0.1:<port>`, as in INFO's connect_urls and nats.js getServer(). */
  readonly hostPort: string
  readonly process: ChildProcess
  /** The child's pid; -1 when spawn failed. */
  readonly pid: number
  readonly exited: Promise<ExitStatus>
  exitStatus: ExitStatus | null = null
  private readonly isDetached: boolean
  private readonly logLimitBytes: number
  private readonly onLine: ((line: string) => void) | null
  private log = ''
  private logBytes = 0
  private isLogOverLimit = false
  private readonly tail: string[] = []
  private readonly partialLines = new Map<Readable, string>()
  private lineWatches: LineWatch[] = []
  private isPaused = false

  constructor(options: NodeProcessOptions) {
    this.name = options.name
    this.port = options.port
    this.url = `nats://127.0.0.1:${options.port}`
    this.hostPort = `127.0.0.1:${options.port}`
    this.isDetached = options.isDetached ?? false
    this.logLimitBytes = options.logLimitBytes ?? 0
    this.onLine = options.onLine ?? null
    const [executable, ...commandArgs] = options.command ?? NATSMESH_SERVER
    const isWatchingParent = options.isWatchingParent ?? false
    const argv = [...(isWatchingParent ? ['--import', PARENT_WATCH] : []), ...commandArgs, '-a', '127.0.0.1', '-p', String(options.port), ...options.args]
    this.process = spawn(executable, argv, {
      stdio: [isWatchingParent ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: this.isDetached,
      env: options.env ?? process.env,
    })
    this.pid = this.process.pid ?? -1
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exitStatus = { code, signal }
        resolve(this.exitStatus)
      })
      // spawn itself failed (no pid): report it as an exit; the tail says why.
      this.process.once('error', (err) => {
        this.keepLine(`spawn failed: ${err.message}`)
        this.exitStatus ??= { code: null, signal: null }
        resolve(this.exitStatus)
      })
    })
    // The pipe is there to be closed (parent-watch.ts); an EPIPE after the child exited is expected.
    this.process.stdin?.on('error', () => { /* the child is gone; 'exit' reports it */ })
    for (const stream of [this.process.stdout, this.process.stderr]) {
      if (stream === null) continue
      stream.setEncoding('utf8')
      stream.on('data', (chunk: string) => this.onOutput(stream, chunk))
      stream.on('end', () => this.flushPartialLine(stream))
    }
  }

  get hasExited(): boolean {
    return this.exitStatus !== null
  }

  /** Everything the process wrote so far (stdout and stderr as they came); LogLimitError past the bound. */
  output(): string {
    if (this.logLimitBytes === 0) throw new Error(`${this.name}: its output is not kept (logLimitBytes is 0)`)
    if (this.isLogOverLimit) throw new LogLimitError(this.name, this.logLimitBytes)
    return this.log
  }

  /** The last lines written, for error messages; never throws. */
  logTail(): string {
    return this.tail.join('\n')
  }

  /**
   * Polls check() until it holds, with a bound; throws "<name> exited during
   * startup (…)" if the process exits first, "<name> not ready after N ms"
   * when time runs out. Returns the milliseconds it took.
   */
  async waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = READY_POLL_MS): Promise<number> {
    try {
      return await until(`${this.name} is ready`, () => {
        // Fail at once, not at the deadline: an exited process will not become ready.
        if (this.exitStatus !== null) throw new Error('exited')
        return check()
      }, timeoutMs, stepMs)
    } catch (err) {
      if (this.exitStatus !== null) throw new Error(`${this.name} exited during startup (${describeExit(this.exitStatus)})`, { cause: err })
      throw new Error(`${this.name} not ready after ${timeoutMs} ms`, { cause: err })
    }
  }

  /**
   * Resolves with the first line matching `pattern`: one already in the kept
   * output (or, without one, in the tail) or one still to come. Throws as
   * waitUntil does.
   */
  async waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    // Complete lines only: the last piece of the kept output may be a line still being written.
    const earlier = this.logLimitBytes > 0 ? this.output().split('\n').slice(0, -1) : this.tail
    for (const line of earlier) {
      const match = pattern.exec(line)
      if (match !== null) return match
    }
    let found: RegExpExecArray | null = null
    const watch: LineWatch = { pattern, found: (match) => { found = match } }
    this.lineWatches.push(watch)
    try {
      await this.waitUntil(() => found !== null, timeoutMs)
    } finally {
      this.lineWatches = this.lineWatches.filter((w) => w !== watch)
    }
    if (found === null) throw new Error(`${this.name}: no line matching ${String(pattern)}`)
    return found
  }

  /** Sends a signal (to the group when detached); quiet when the process is gone. */
  signal(signal: NodeJS.Signals): void {
    if (this.exitStatus !== null || this.pid <= 0) return
    try {
      if (this.isDetached) process.kill(-this.pid, signal)
      else this.process.kill(signal)
    } catch {
      // Exited between the check and the kill: its 'exit' reports it.
    }
  }

  /** SIGSTOP: a hang with every socket left open. stop() and kill() continue it first. */
  pause(): void {
    this.isPaused = true
    this.signal('SIGSTOP')
  }

  resume(): void {
    this.isPaused = false
    this.signal('SIGCONT')
  }

  /** SIGTERM (the server shuts down cleanly), SIGKILL after timeoutMs; resolves when it has exited. Idempotent. */
  async stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<ExitStatus> {
    if (this.exitStatus !== null) return this.exitStatus
    if (this.isPaused) this.resume()
    this.signal('SIGTERM')
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs)
    const status = await this.exited
    clearTimeout(timer)
    return status
  }

  /** SIGKILL (a crash), or SIGTERM without a bound; resolves when the process has exited. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<ExitStatus> {
    this.killNow(signal)
    return this.exited
  }

  /** As kill(), without waiting: for 'exit' handlers and a second Ctrl-C. */
  killNow(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): void {
    this.signal(signal)
    if (this.isPaused) this.resume()
  }

  private onOutput(stream: Readable, chunk: string): void {
    if (this.logLimitBytes > 0 && !this.isLogOverLimit) {
      this.logBytes += Buffer.byteLength(chunk)
      if (this.logBytes > this.logLimitBytes) this.isLogOverLimit = true
      else this.log += chunk
    }
    const lines = ((this.partialLines.get(stream) ?? '') + chunk).split('\n')
    this.partialLines.set(stream, lines.pop() ?? '')
    for (const line of lines) this.takeLine(line.endsWith('\r') ? line.slice(0, -1) : line)
  }

  private flushPartialLine(stream: Readable): void {
    const rest = this.partialLines.get(stream) ?? ''
    this.partialLines.delete(stream)
    if (rest !== '') this.takeLine(rest)
  }

  private takeLine(line: string): void {
    this.keepLine(line)
    for (const watch of this.lineWatches) {
      const match = watch.pattern.exec(line)
      if (match !== null) watch.found(match)
    }
    this.onLine?.(line)
  }

  private keepLine(line: string): void {
    this.tail.push(line)
    if (this.tail.length > LOG_TAIL_LINES) this.tail.shift()
  }
}
