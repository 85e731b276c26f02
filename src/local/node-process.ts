// One node of a `natsmesh up` cluster: `natsmesh server` as a child process
// of this CLI, with the parent watch preloaded (parent-watch.ts), its log
// lines passed through to our stderr, and a bounded stop (SIGTERM, then
// SIGKILL). Each node runs in its own process group, so Ctrl-C reaches `up`
// only and `up` decides the order things stop in.
import { spawn, type ChildProcess } from 'node:child_process'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { httpRequest } from '../ops/http.js'
import { sleep } from './wait.js'

const CLI = fileURLToPath(new URL('../../bin/natsmesh.js', import.meta.url))
const PARENT_WATCH = new URL('./parent-watch.js', import.meta.url).href
/** Lines kept per node for error messages. */
const LOG_TAIL_LINES = 40
const READY_POLL_MS = 100

export interface LocalNodeSpec {
  name: string
  clientPort: number
  routePort: number
  monitorPort: number
  /** Every server flag, ports and discovery included. */
  args: string[]
}

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

export function describeExit(status: ExitStatus): string {
  return status.signal !== null ? `killed by ${status.signal}` : `exit code ${status.code ?? '?'}`
}

export class LocalNode {
  readonly name: string
  readonly clientUrl: string
  readonly monitorUrl: string
  readonly routeUrl: string
  readonly child: ChildProcess
  readonly pid: number
  readonly exited: Promise<ExitStatus>
  exitStatus: ExitStatus | null = null
  private readonly tail: string[] = []

  constructor(spec: LocalNodeSpec, onLine: (line: string) => void) {
    this.name = spec.name
    this.clientUrl = `nats://127.0.0.1:${spec.clientPort}`
    this.monitorUrl = `http://127.0.0.1:${spec.monitorPort}`
    this.routeUrl = `nats://127.0.0.1:${spec.routePort}`
    this.child = spawn(process.execPath, ['--import', PARENT_WATCH, CLI, 'server', ...spec.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    })
    this.pid = this.child.pid ?? -1
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal }
        resolve(this.exitStatus)
      })
      // spawn itself failed (no pid): report it as an exit, the caller says why from the tail.
      this.child.once('error', (err) => {
        this.keep(`spawn failed: ${err.message}`)
        this.exitStatus ??= { code: null, signal: null }
        resolve(this.exitStatus)
      })
    })
    // The pipe is there to be closed (parent-watch.ts); an EPIPE after the node exited is expected.
    this.child.stdin?.on('error', () => { /* the node is gone; its exit is reported by 'exit' */ })
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream === null) continue
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.keep(line)
        onLine(line)
      })
    }
  }

  get hasExited(): boolean {
    return this.exitStatus !== null
  }

  logTail(): string {
    return this.tail.join('\n')
  }

  /** Resolves once /healthz answers 200; throws if the node exits first or timeoutMs passes. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (let i = 0; i < timeoutMs / READY_POLL_MS + 10; i++) {
      if (this.exitStatus !== null) throw new Error(`${this.name} exited during startup (${describeExit(this.exitStatus)})`)
      try {
        if ((await httpRequest('GET', `${this.monitorUrl}/healthz`, 1_000)).status === 200) return
      } catch {
        // Not listening yet: poll again.
      }
      if (Date.now() > deadline) break
      await sleep(READY_POLL_MS)
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms`)
  }

  /** SIGTERM (the node shuts down cleanly), SIGKILL after timeoutMs. Idempotent. */
  async stop(timeoutMs: number): Promise<ExitStatus> {
    if (this.exitStatus !== null) return this.exitStatus
    this.signal('SIGTERM')
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs)
    const status = await this.exited
    clearTimeout(timer)
    return status
  }

  /** Immediately, for a second Ctrl-C. */
  kill(): void {
    this.signal('SIGKILL')
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.exitStatus !== null) return
    try {
      this.child.kill(signal)
    } catch {
      // Exited between the check and the kill.
    }
  }

  private keep(line: string): void {
    this.tail.push(line)
    if (this.tail.length > LOG_TAIL_LINES) this.tail.shift()
  }
}
