// What the client library tells its user, besides nats.js's own status():
// one callback, `onEvent`, receiving a discriminated union. Each event carries
// a level and a one-line message, so a caller can log every event the same
// way and switch on `type` only for what it acts on.
//
// Without onEvent, warnings go to stderr (one line each) and the rest is
// dropped: a library never stays silent about connecting from a stale cache.
import type { CacheProblem } from './errors.js'

export type ClientEventLevel = 'info' | 'warn'

interface EventBase {
  level: ClientEventLevel
  /** One line for a log. */
  message: string
}

/** Where the node URLs came from. */
export type NodeSource = 'zookeeper' | 'cache' | 'servers'

export type ClientEvent =
  /**
   * A membership read from ZooKeeper (at connect and on every change): `urls`
   * are the members' client URLs; `added`/`removed` what changed in the pool
   * (host:port). An empty list (level warn) leaves the pool as it was.
   */
  | EventBase & { type: 'members'; urls: string[]; added: string[]; removed: string[] }
  /** ZooKeeper did not answer at connect time: the nodes come from the cache file (said once per connect). */
  | EventBase & { type: 'cache-used'; file: string; urls: string[]; writtenAt: string; zookeeper: string }
  /** The cache file was missing, corrupt, for another cluster, or could not be written. */
  | EventBase & { type: 'cache-error'; file: string; problem: CacheProblem }
  /** The watch-only ZooKeeper session changed state. */
  | EventBase & { type: 'zookeeper'; state: string }
  /** The node we are on left the membership or announced lame duck: moving off it now. */
  | EventBase & { type: 'moving'; from: string; reason: 'left-membership' | 'lame-duck' }
  /** The connection to a node was lost (nats.js reconnects by itself). */
  | EventBase & { type: 'disconnected'; from: string }
  /**
   * Connected again. `planned` for a move we started; `gapMs` is the time
   * without a connection; `flushed` the buffered publishes sent on arrival.
   */
  | EventBase & { type: 'reconnected'; from: string; to: string; planned: boolean; gapMs: number; flushed: number }
  /** The connection closed for good with publishes still buffered: they are dropped. */
  | EventBase & { type: 'buffer-dropped'; count: number; bytes: number }

export type ClientEventType = ClientEvent['type']
export type ClientEventListener = (event: ClientEvent) => void

/** The default listener: warnings to stderr, one line each. */
export function warnToStderr(event: ClientEvent): void {
  if (event.level === 'warn') process.stderr.write(`natsmesh client: ${event.message}\n`)
}

/** Calls the user's listener; a throwing listener never breaks the client (P14: log once, go on). */
export function safeListener(listener: ClientEventListener): ClientEventListener {
  return (event) => {
    try {
      listener(event)
    } catch (err) {
      process.stderr.write(`natsmesh client: an onEvent listener threw on '${event.type}': ${String(err)}\n`)
    }
  }
}
