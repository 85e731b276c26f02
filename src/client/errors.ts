// The client library's errors: one class, a stable code per failure (P14).
// Errors thrown by nats.js itself (NatsError: TIMEOUT, 503, …) pass through
// unchanged: the connection is nats.js's.
import { NatsmeshError } from '../errors.js'

export const CLIENT_ERROR_CODES = {
  /** An option is missing, malformed or conflicts with another; the message names it. */
  OPTIONS: 'NATSMESH_ERR_CLIENT_OPTIONS',
  /** ZooKeeper answered, but the cluster has no live member (unknown name, or every node is down). */
  NO_MEMBERS: 'NATSMESH_ERR_CLIENT_NO_MEMBERS',
  /** ZooKeeper did not answer and the cache gave nothing to try (missing, corrupt, another cluster, none configured). */
  UNREACHABLE: 'NATSMESH_ERR_CLIENT_UNREACHABLE',
  /** Node URLs were known (from ZooKeeper or the cache) and none accepted a connection. */
  CONNECT: 'NATSMESH_ERR_CLIENT_CONNECT',
  /** ZooKeeper refused the zkAuth credentials. */
  ZOOKEEPER_AUTH: 'NATSMESH_ERR_CLIENT_ZOOKEEPER_AUTH',
  /** The cache file could not be read or written (the `cause` of UNREACHABLE, and in 'cache-error' events). */
  CACHE: 'NATSMESH_ERR_CLIENT_CACHE',
  /** A publish made while between nodes did not fit in publishBufferBytes. */
  BUFFER_FULL: 'NATSMESH_ERR_CLIENT_BUFFER_FULL',
  /** The installed nats package lacks the (internal) parts this library drives. */
  NATS_VERSION: 'NATSMESH_ERR_CLIENT_NATS_VERSION',
} as const

export type ClientErrorCode = typeof CLIENT_ERROR_CODES[keyof typeof CLIENT_ERROR_CODES]

export class ClientError extends NatsmeshError {
  declare readonly code: ClientErrorCode
  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** Why a cache file could not be used. */
export type CacheProblem = 'missing' | 'unreadable' | 'corrupt' | 'other-cluster' | 'empty' | 'unwritable'

export class CacheError extends ClientError {
  readonly problem: CacheProblem
  readonly file: string
  constructor(problem: CacheProblem, file: string, message: string, options?: { cause?: unknown }) {
    super(CLIENT_ERROR_CODES.CACHE, message, options)
    this.problem = problem
    this.file = file
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
