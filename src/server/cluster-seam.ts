// Everything src/cluster may know of the node, and everything the node knows
// of a cluster (STYLE.md P9): implemented by src/cluster, never importing it.
//
//   delivery core ── ClusterSink.interestChanged ──▶ mesh ──▶ RS+/RS- to every route
//   delivery core ── ClusterSink.match ──▶ which peers want a subject (ClusterResult)
//   delivery core ── RouteTarget.sendMsg ──▶ one RMSG to one peer
//   route ── MeshHost.deliverRouted ──▶ local subscribers only (one hop)
//
// The publisher whose read is being processed travels with each message
// (sendMsg's `publisher`), so a route that backs up can pause exactly that
// client: no "current reader" state anywhere.
import type { EndpointContext } from './endpoint.js'
import type { Logger } from './logger.js'
import type { MetricFamily } from './monitor-format.js'
import type { PubArg } from './op-handler.js'
import type { ReadBuffer } from './read-buffer.js'

// Types that appear in the interfaces below, so the cluster can name them.
export type { EndpointContext, EndpointOwner, EndpointSettings, LinkStats } from './endpoint.js'
export type { Logger } from './logger.js'
export type { MetricFamily } from './monitor-format.js'
export type { RelayedSocket } from './read-buffer.js'

/** A connection whose reads can be paused: the client whose publishes filled a route. */
export interface Reader {
  pauseReading(): void
  resumeReading(): void
}

/** A peer node as the delivery core sees it: somewhere to send one RMSG/HMSG. */
export interface RouteTarget {
  /**
   * payload[payloadStart, +pa.size) is the message; queues[0..queueCount) name the
   * queue groups this peer must serve (none: plain subscribers only).
   * publisher is the local client that sent it, paused if this route backs up.
   */
  sendMsg(pa: PubArg, payload: Buffer, payloadStart: number, queues: readonly Buffer[], queueCount: number, publisher: Reader): void
}

export interface RemoteQueue {
  readonly name: string
  readonly nameBytes: Buffer
  readonly targets: readonly RouteTarget[]
  readonly weights: readonly number[]
  readonly totalWeight: number
}

/** Which peers want a subject: plain interest, and queue groups with their members' weights. */
export interface ClusterResult {
  readonly plain: readonly RouteTarget[]
  readonly queues: readonly RemoteQueue[]
}

/** What the delivery core needs from a cluster. */
export interface ClusterSink {
  /**
   * Local interest changed. weight is the number of local subscriptions on
   * (subject, queue) now; the core calls this only when it matters: a plain
   * subject going 0→1 or 1→0, and every change of a queue group's count.
   */
  interestChanged(subject: string, queue: string | null, weight: number): void
  /** The peers interested in a published subject. The result may be cached: never change it. */
  match(subject: string): ClusterResult
}

export const EMPTY_CLUSTER_RESULT: ClusterResult = Object.freeze({ plain: [], queues: [] })

/** Single-node mode: no routes, no branches on "is there a cluster". */
export const NO_CLUSTER: ClusterSink = Object.freeze({
  interestChanged(): void {},
  match(): ClusterResult { return EMPTY_CLUSTER_RESULT },
})

/** What the mesh is given of the node instead of the whole Server. */
export interface MeshHost {
  readonly id: string
  readonly name: string
  /** The nats-server protocol level we speak (INFO `version`). */
  readonly version: string
  readonly startTime: Date
  readonly logger: Logger
  /** What route endpoints share with client ones: chunk pool, flush queue, logger. */
  readonly endpoints: EndpointContext
  /** Route sockets read into the node's one read buffer too. */
  readonly readBuffer: ReadBuffer
  readonly maxPayload: number
  readonly maxPingsOut: number
  readonly maxPending: number
  /** The client listener's host (possibly a wildcard) and bound port, for connect_urls. */
  readonly clientHost: string
  readonly clientPort: number
  /** A message from a peer: to local subscribers only, never another route (one hop). */
  deliverRouted(pa: PubArg, payload: Buffer, payloadStart: number, subject: string): void
  /** Every (subject, queue, weight) with local interest: the full dump a new peer gets. */
  forEachInterest(fn: (subject: string, queue: string | null, weight: number) => void): void
  /** Fields a cluster adds to every client's INFO (cluster, connect_urls); clients that take async INFO get it now. */
  updateInfo(extras: Record<string, unknown>): void
}

/** One route as monitoring shows it; the monitor writes nats-server's /routez fields from it. */
export interface RouteRow {
  rid: number
  remoteId: string
  remoteName: string
  didSolicit: boolean
  isConfigured: boolean
  ip: string
  port: number
  /** Epoch milliseconds. */
  startMs: number
  lastActivityMs: number
  /** Round trip of the last PING/PONG in nanoseconds; 0 while not measured. */
  rttNs: number
  pendingBytes: number
  inMsgs: number
  outMsgs: number
  inBytes: number
  outBytes: number
  /** How many subjects (and queue groups) the peer has interest in. */
  subscriptions: number
  /** Those subjects and queue groups; empty unless asked for. */
  interest: ReadonlyArray<{ subject: string; queue: string | null }>
}

/**
 * What the cluster adds to monitoring (installed with server.setMonitorHooks).
 * Called on each request; a hook that throws costs its own fields only (it is
 * logged), except in /routez, which is all hook and answers 500.
 */
export interface MonitorHooks {
  /** Extra /varz fields, merged last: `cluster` {name, addr, cluster_port, urls}, `zookeeper` {state, members}. */
  varz(): Record<string, unknown>
  /** Current routes; interest is filled only when includeInterest. */
  routes(includeInterest: boolean): RouteRow[]
  /** Extra Prometheus families (natsmesh_ prefix): route msgs, pending per route, ZooKeeper state. */
  metrics(): MetricFamily[]
}

export const NO_MONITOR_HOOKS: MonitorHooks = Object.freeze({
  varz(): Record<string, unknown> { return {} },
  routes(): RouteRow[] { return [] },
  metrics(): MetricFamily[] { return [] },
})
