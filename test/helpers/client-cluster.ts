// Helpers for the client library's tests: a natsmesh/client connection that
// records its events and closes in t.teardown, a receiver that stamps each
// message's arrival, and lookups between connections and node processes.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { NatsConnection, Subscription } from 'nats'
import type { Test } from 'tap'
import { connect, type ClientEvent, type NatsmeshConnectionOptions } from '../../src/client/index.js'
import { closeQuietly, until } from './cluster.js'

export interface RecordedClient {
  nc: NatsConnection
  events: ClientEvent[]
  /** Events of one type, in order. */
  of<T extends ClientEvent['type']>(type: T): Array<Extract<ClientEvent, { type: T }>>
}

/** connect() with events recorded (printed as test comments when `verbose`, and passed on to options.onEvent); closed in t.teardown. */
export async function connectClient(t: Test, options: NatsmeshConnectionOptions, verbose = false): Promise<RecordedClient> {
  const events: ClientEvent[] = []
  const nc = await connect({
    ...options,
    onEvent: (e) => {
      events.push(e)
      if (verbose) t.comment(`client event ${e.type}: ${e.message}`)
      options.onEvent?.(e)
    },
  })
  t.teardown(() => closeQuietly(nc))
  return {
    nc,
    events,
    of<T extends ClientEvent['type']>(type: T) {
      return events.filter((e): e is Extract<ClientEvent, { type: T }> => e.type === type)
    },
  }
}

/** Records events from connect() calls that may reject (no connection to close). */
export function eventRecorder(): { events: ClientEvent[]; onEvent: (e: ClientEvent) => void } {
  const events: ClientEvent[] = []
  return { events, onEvent: (e) => { events.push(e) } }
}

/** A numbered stream's receiver that stamps each arrival (Date.now()). */
export class TimedReceiver {
  readonly numbers: number[] = []
  readonly times: number[] = []
  readonly sub: Subscription

  constructor(nc: NatsConnection, subject: string) {
    this.sub = nc.subscribe(subject, {
      callback: (_err, msg) => {
        if (msg.data.length === 0) return // a probe, not part of the stream
        this.numbers.push(Number(msg.string()))
        this.times.push(Date.now())
      },
    })
  }

  get last(): number { return this.numbers.length === 0 ? 0 : this.numbers[this.numbers.length - 1] }

  /** The first arrival at or after `time`, or null. */
  firstAfter(time: number): { number: number; time: number } | null {
    for (let i = 0; i < this.times.length; i++) {
      if (this.times[i] >= time) return { number: this.numbers[i], time: this.times[i] }
    }
    return null
  }

  duplicates(): number {
    return this.numbers.length - new Set(this.numbers).size
  }

  outOfOrder(): number {
    let count = 0
    for (let i = 1; i < this.numbers.length; i++) if (this.numbers[i] <= this.numbers[i - 1]) count++
    return count
  }

  /** Numbers in [from, to] never received. */
  missing(from: number, to: number): number {
    const seen = new Set(this.numbers)
    let count = 0
    for (let n = from; n <= to; n++) if (!seen.has(n)) count++
    return count
  }

  async waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    await until(`message ${n} arrives`, () => this.last >= n, timeoutMs, 10)
  }
}

/** The node (by `host:port`) a connection is on. */
export function nodeOf<N extends { hostPort: string }>(nodes: readonly N[], nc: NatsConnection): N {
  const here = nc.getServer()
  const node = nodes.find((n) => n.hostPort === here)
  if (node === undefined) throw new Error(`connection is on ${here}, not one of ${nodes.map((n) => n.hostPort).join(', ')}`)
  return node
}

/** A temp folder for cache files; removed in t.teardown. */
export async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-client-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}
