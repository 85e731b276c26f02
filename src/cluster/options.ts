// Cluster options: the flags that make a node join a cluster, in the same
// table form as the server's (src/server/options.ts), so the CLI, config file
// and --help read them the same way.
import { OptionsError } from '../errors.js'
import { checkAdvertise } from '../config/host-port.js'
import type { OptionSpec } from '../config/option-table.js'
import { DEFAULT_SESSION_TIMEOUT_MS } from '../discovery/zookeeper.js'

/** nats-server pings routes on its client interval (2m); a mesh wants a dead peer noticed in seconds. */
export const DEFAULT_ROUTE_PING_INTERVAL_MS = 2000

export interface ClusterOptions {
  /** `nats://host:port` where routes are accepted; '' for a single node. */
  clusterListen: string
  /** Static seed route URLs (nats-server's --routes). */
  routes: string[]
  /** ZooKeeper connect string: `h1:2181,h2:2181/chroot`. */
  zookeeper: string
  zkSessionTimeoutMs: number
  /** `user:password` for a digest ACL on the cluster's znodes. */
  zkAuth: string
  /** `host[:port]` peers should dial; '' derives it from the route listener. */
  clusterAdvertise: string
  noAdvertise: boolean
  routePingIntervalMs: number
}

export const DEFAULT_CLUSTER_OPTIONS: Readonly<ClusterOptions> = Object.freeze({
  clusterListen: '',
  routes: [],
  zookeeper: '',
  zkSessionTimeoutMs: DEFAULT_SESSION_TIMEOUT_MS,
  zkAuth: '',
  clusterAdvertise: '',
  noAdvertise: false,
  routePingIntervalMs: DEFAULT_ROUTE_PING_INTERVAL_MS,
})

export const CLUSTER_OPTION_SPECS: readonly OptionSpec<ClusterOptions>[] = [
  { key: 'clusterListen', flag: 'cluster', alias: null, kind: 'string', describe: 'Accept routes on this URL, e.g. nats://0.0.0.0:6222 (port 0 picks one)' },
  { key: 'zookeeper', flag: 'zk', alias: null, kind: 'string', describe: 'Find the other members through ZooKeeper: host:port[,host:port][/chroot]' },
  { key: 'routes', flag: 'routes', alias: null, kind: 'list', describe: 'Or: a static seed list of route URLs, nats://h1:6222,nats://h2:6222' },
  { key: 'zkSessionTimeoutMs', flag: 'zk_session_timeout', alias: null, kind: 'duration', describe: 'ZooKeeper session timeout: how long a dead node stays registered' },
  { key: 'zkAuth', flag: 'zk_auth', alias: null, kind: 'string', describe: 'user:password guarding the cluster\'s znodes with a digest ACL' },
  { key: 'clusterAdvertise', flag: 'cluster_advertise', alias: null, kind: 'string', describe: 'host[:port] peers should dial (default: from --cluster)' },
  { key: 'noAdvertise', flag: 'no_advertise', alias: null, kind: 'boolean', describe: 'Do not tell clients the other nodes\' URLs (connect_urls)' },
  { key: 'routePingIntervalMs', flag: 'route_ping_interval', alias: null, kind: 'duration', describe: 'How often routes PING; max_pings_out unanswered closes the route' },
]

/**
 * `nats://h:p`, `h:p`, `[::1]:p` (any scheme, optional credentials) → host and
 * port; null when it is none of those or the port is out of range. One parser
 * for the URLs the mesh dials and the one it listens on.
 */
export function parseHostPort(url: string, minPort = 1): { host: string; port: number } | null {
  const m = /^(?:[a-z-]+:\/\/)?(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+):(\d+)\/?$/i.exec(url.trim())
  if (m === null) return null
  const port = Number(m[2])
  if (port < minPort || port > 65535) return null
  return { host: m[1].replace(/^\[|\]$/g, ''), port }
}

/** The route listener's host and port from `nats://host:port` (port 0 picks one). */
export function parseClusterListen(url: string): { host: string; port: number } {
  const text = url.trim()
  const listen = /^(?:nats(?:-route)?:\/\/)?[^@/]*\/?$/.test(text) ? parseHostPort(text, 0) : null
  if (listen === null) throw new OptionsError(`--cluster: expected a URL such as nats://0.0.0.0:6222, got "${url}"`)
  return listen
}

/**
 * clusterName is the server's --cluster_name ('' when not given: with static
 * routes the mesh then generates one, as nats-server does).
 */
export function resolveClusterOptions(input: Partial<ClusterOptions>, clusterName: string): ClusterOptions {
  const opts: ClusterOptions = { ...DEFAULT_CLUSTER_OPTIONS, ...input }
  const isClustered = opts.clusterListen !== ''
  if (!isClustered && (opts.zookeeper !== '' || opts.routes.length > 0)) {
    throw new OptionsError('--zk and --routes need --cluster, the URL this node accepts routes on (in a config file: cluster { listen })')
  }
  if (opts.zookeeper !== '' && opts.routes.length > 0) {
    throw new OptionsError('use either --zk or --routes to find the other members, not both')
  }
  if (isClustered) parseClusterListen(opts.clusterListen)
  // The name is the cluster's ZooKeeper path: a generated one would be a cluster of one.
  if (opts.zookeeper !== '' && clusterName === '') {
    throw new OptionsError('--cluster_name is required with --zk: the members find each other under /natsmesh/clusters/<name>')
  }
  if (opts.clusterAdvertise !== '') checkAdvertise('cluster_advertise', opts.clusterAdvertise)
  if (opts.zkAuth !== '' && !/^[^:]+:.+$/.test(opts.zkAuth)) throw new OptionsError('--zk_auth: expected user:password')
  return opts
}
