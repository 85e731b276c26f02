// natsmesh/client: `connect()` returns the official nats.js NatsConnection,
// found through ZooKeeper, with a node cache, failover and a publish buffer.
// See docs/client.md.
export { connect } from './connect.js'
export {
  DEFAULT_MOVE_GRACE_MS, DEFAULT_PUBLISH_BUFFER_BYTES, DEFAULT_RECONNECT_JITTER_MS, DEFAULT_RECONNECT_TIME_WAIT_MS,
  DEFAULT_ZK_CONNECT_TIMEOUT_MS, DEFAULT_ZK_SESSION_TIMEOUT_MS, type NatsmeshConnectionOptions,
} from './options.js'
export { CLIENT_ERROR_CODES, CacheError, ClientError, type CacheProblem, type ClientErrorCode } from './errors.js'
export type { ClientEvent, ClientEventLevel, ClientEventListener, ClientEventType, NodeSource } from './events.js'
export { CACHE_FORMAT_VERSION, readCache, type CacheContent } from './cache.js'
export { NatsmeshError } from '../errors.js'
