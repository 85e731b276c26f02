// The runner's handle on one load generator process: fork it with a job, send
// it commands, await its events with a timeout. An 'error' event or an early
// exit fails whatever is being awaited, so a scenario never waits forever.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Command, Event, Job } from './messages.js'
import type { ProcessRegistry } from './servers.js'

const LOADGEN_PATH = fileURLToPath(new URL('./loadgen.js', import.meta.url))

type EventKind = Event['ev']

interface Waiter {
  kind: EventKind
  resolve: (event: Event) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

export class Worker {
  private readonly child: ChildProcess
  private readonly label: string
  private readonly queued: Event[] = []
  private waiters: Waiter[] = []
  private failure: Error | null = null

  constructor(registry: ProcessRegistry, job: Job, label: string) {
    this.label = label
    // No inherited --cpu-prof or inspector flags: the load generator is not under study.
    this.child = fork(LOADGEN_PATH, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    registry.add(this.child)
    this.child.on('message', (event: Event) => this.processEvent(event))
    this.child.on('exit', (code, signal) => this.fail(new Error(`${label} exited (${signal ?? code})`)))
    this.child.on('error', (err) => this.fail(err))
    this.send({ op: 'job', job })
  }

  send(cmd: Command): void {
    if (this.child.connected) this.child.send(cmd)
  }

  /** The next event of this kind (earlier ones of the kind are kept in order). */
  next<K extends EventKind>(kind: K, timeoutMs: number): Promise<Extract<Event, { ev: K }>> {
    const at = this.queued.findIndex((e) => e.ev === kind)
    if (at >= 0) return Promise.resolve(this.queued.splice(at, 1)[0] as Extract<Event, { ev: K }>)
    if (this.failure !== null) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        kind,
        resolve: (e) => resolve(e as Extract<Event, { ev: K }>),
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter)
          reject(new Error(`${this.label}: no '${kind}' within ${timeoutMs} ms`))
        }, timeoutMs),
      }
      this.waiters.push(waiter)
    })
  }

  /** Sends 'status' and returns the answer (subscribers only). */
  async status(timeoutMs: number): Promise<Extract<Event, { ev: 'status' }>> {
    this.send({ op: 'status' })
    return this.next('status', timeoutMs)
  }

  stop(): void {
    this.waiters.forEach((w) => clearTimeout(w.timer))
    this.waiters = []
    this.failure = new Error(`${this.label} stopped`)
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }

  private processEvent(event: Event): void {
    if (event.ev === 'error') return this.fail(new Error(`${this.label}: ${event.message}`))
    const at = this.waiters.findIndex((w) => w.kind === event.ev)
    if (at < 0) {
      this.queued.push(event)
      return
    }
    const [waiter] = this.waiters.splice(at, 1)
    clearTimeout(waiter.timer)
    waiter.resolve(event)
  }

  private fail(err: Error): void {
    if (this.failure !== null) return
    this.failure = err
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) {
      clearTimeout(w.timer)
      w.reject(err)
    }
  }
}

/** Awaits the same event from every worker. */
export function all<K extends EventKind>(workers: Worker[], kind: K, timeoutMs: number): Promise<Array<Extract<Event, { ev: K }>>> {
  return Promise.all(workers.map((w) => w.next(kind, timeoutMs)))
}
