// Helpers for the client library's tests: a natsmesh/client connection that
// records its events and closes in t.teardown, and lookups between
// connections and node processes. (Numbered streams: NumberReceiver in
// cluster.ts stamps each arrival.)
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { NatsConnection } from 'nats'
import type { Test } from 'tap'
import { connect, type ClientEvent, type NatsmeshConnectionOptions } from '../../src/client/index.js'
import { closeQuietly } from '../../src/local/mesh-probe.js'

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
