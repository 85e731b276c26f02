// connect()'s options: nats.js's ConnectionOptions plus ours, split and
// validated once (P13). Everything that is not ours goes to nats.connect as it is.
import type { ConnectionOptions } from 'nats'
import { DEFAULT_SESSION_TIMEOUT_MS, DEFAULT_START_TIMEOUT_MS } from '../discovery/zookeeper.js'
import { CLIENT_ERROR_CODES, ClientError } from './errors.js'
import { safeListener, warnToStderr, type ClientEventListener } from './events.js'

/** 8 MiB of publishes may wait for the next node; more throws BUFFER_FULL. */
export const DEFAULT_PUBLISH_BUFFER_BYTES = 8 * 1024 * 1024
/** How long connect() waits for ZooKeeper before it falls back to the cache. */
export const DEFAULT_ZK_CONNECT_TIMEOUT_MS = DEFAULT_START_TIMEOUT_MS
export const DEFAULT_ZK_SESSION_TIMEOUT_MS = DEFAULT_SESSION_TIMEOUT_MS
/** A planned move waits this long, at most, for requests already sent to be answered. */
export const DEFAULT_MOVE_GRACE_MS = 2_000
/**
 * nats.js waits reconnectTimeWait only before redialing a node it dialed
 * less than that long ago; a node not tried yet is dialed at once. 2 s (its
 * default) would be paid each time the pool runs out of untried nodes.
 */
export const DEFAULT_RECONNECT_TIME_WAIT_MS = 250
export const DEFAULT_RECONNECT_JITTER_MS = 50

export interface NatsmeshConnectionOptions extends ConnectionOptions {
  /** ZooKeeper connect string (`host:port,host:port/chroot`). With it, `cluster` is required and `servers` not allowed. */
  zookeeper?: string
  /** The natsmesh cluster name (the nodes' --cluster_name). */
  cluster?: string
  /** Where the last membership read is kept (JSON, written atomically); used when ZooKeeper does not answer at connect time. */
  cacheFile?: string
  /** Requested ZooKeeper session timeout. Default 10 s. */
  zkSessionTimeoutMs?: number
  /** `user:password` digest credentials, when the cluster's znodes are guarded by an ACL (reading needs none). */
  zkAuth?: string
  /** How long connect() waits for ZooKeeper before using the cache. Default 3 s. */
  zkConnectTimeoutMs?: number
  /** Bytes of publishes kept while between nodes; 0 turns the buffer off (nats.js then drops them). Default 8 MiB. */
  publishBufferBytes?: number
  /** A planned move (node drained) waits up to this long for in-flight requests. Default 2 s. */
  moveGraceMs?: number
  /** Receives every ClientEvent; default: warnings to stderr. */
  onEvent?: ClientEventListener
}

export interface ZooKeeperSettings {
  connectString: string
  cluster: string
  cacheFile: string | null
  sessionTimeoutMs: number
  auth: string | null
  connectTimeoutMs: number
}

export interface ClientSettings {
  /** null: plain `servers`, no discovery. */
  zookeeper: ZooKeeperSettings | null
  publishBufferBytes: number
  moveGraceMs: number
  onEvent: ClientEventListener
  /** What goes to nats.connect (servers filled in later in ZooKeeper mode). */
  nats: ConnectionOptions
}

function optionsError(message: string): ClientError {
  return new ClientError(CLIENT_ERROR_CODES.OPTIONS, message)
}

function integerIn(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min || value > max) {
    throw optionsError(`${name}: expected an integer in [${min}, ${max}], got ${String(value)}`)
  }
  return value
}

function nonEmptyString(name: string, value: unknown): string | null {
  if (value === undefined) return null
  if (typeof value !== 'string' || value.trim() === '') throw optionsError(`${name}: expected a non-empty string`)
  return value
}

export function resolveClientOptions(input: NatsmeshConnectionOptions = {}): ClientSettings {
  const {
    zookeeper, cluster, cacheFile, zkSessionTimeoutMs, zkAuth, zkConnectTimeoutMs, publishBufferBytes, moveGraceMs,
    onEvent, ...given
  } = input
  // A key present with an undefined value would override a default inside nats.js.
  const nats: ConnectionOptions = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined))
  if (onEvent !== undefined && typeof onEvent !== 'function') throw optionsError('onEvent: expected a function')
  const settings: ClientSettings = {
    zookeeper: null,
    publishBufferBytes: integerIn('publishBufferBytes', publishBufferBytes, DEFAULT_PUBLISH_BUFFER_BYTES, 0, 2 ** 31),
    moveGraceMs: integerIn('moveGraceMs', moveGraceMs, DEFAULT_MOVE_GRACE_MS, 0, 600_000),
    onEvent: safeListener(onEvent ?? warnToStderr),
    nats,
  }
  const connectString = nonEmptyString('zookeeper', zookeeper)
  const clusterName = nonEmptyString('cluster', cluster)
  const cachePath = nonEmptyString('cacheFile', cacheFile)
  const auth = nonEmptyString('zkAuth', zkAuth)
  if (connectString === null) {
    const stray = [['cluster', clusterName], ['cacheFile', cachePath], ['zkAuth', auth]].find(([, v]) => v !== null)
    if (stray !== undefined) throw optionsError(`${stray[0]}: only used with zookeeper`)
    if (zkSessionTimeoutMs !== undefined || zkConnectTimeoutMs !== undefined) {
      throw optionsError('zkSessionTimeoutMs, zkConnectTimeoutMs: only used with zookeeper')
    }
    return settings
  }
  if (clusterName === null) throw optionsError('cluster: required with zookeeper (the nodes\' --cluster_name)')
  const hasServers = nats.servers !== undefined && (typeof nats.servers === 'string' || nats.servers.length > 0)
  if (hasServers || nats.port !== undefined) {
    throw optionsError('servers, port: not allowed with zookeeper (the nodes come from ZooKeeper)')
  }
  if (nats.ignoreClusterUpdates === false) {
    throw optionsError('ignoreClusterUpdates: false is not allowed with zookeeper (the pool follows ZooKeeper)')
  }
  if (nats.reconnect === false) throw optionsError('reconnect: false is not allowed with zookeeper (it defeats failover)')
  settings.zookeeper = {
    connectString,
    cluster: clusterName,
    cacheFile: cachePath,
    sessionTimeoutMs: integerIn('zkSessionTimeoutMs', zkSessionTimeoutMs, DEFAULT_ZK_SESSION_TIMEOUT_MS, 1_000, 86_400_000),
    auth,
    connectTimeoutMs: integerIn('zkConnectTimeoutMs', zkConnectTimeoutMs, DEFAULT_ZK_CONNECT_TIMEOUT_MS, 0, 600_000),
  }
  settings.nats = {
    reconnectTimeWait: DEFAULT_RECONNECT_TIME_WAIT_MS,
    reconnectJitter: DEFAULT_RECONNECT_JITTER_MS,
    maxReconnectAttempts: -1,
    ...nats,
    ignoreClusterUpdates: true,
    reconnect: true,
  }
  return settings
}
