// natsmesh/server: a node embedded in your own process, for other projects'
// tests and tools (as nats-server offers its Go API). It is the same node the
// CLI runs, without signals, pid file or process exit:
//
//   import { startServer } from 'natsmesh/server'
//   const server = await startServer()            // 127.0.0.1, a free port
//   const nc = await connect({ servers: server.url })
//   …
//   await server.close()
import { DEFAULT_CLUSTER_OPTIONS, resolveClusterOptions, type ClusterOptions } from '../cluster/options.js'
import { SILENT_LOGGER, type Logger } from '../server/logger.js'
import { resolveOptions, type ServerOptions } from '../server/options.js'
import { ClusterNode } from './cluster-node.js'

export { COMPAT_VERSION, NATSMESH_VERSION } from '../server/server.js'
export type { Logger } from '../server/logger.js'
export type { ServerOptions } from '../server/options.js'
export type { ClusterOptions } from '../cluster/options.js'

export interface EmbeddedServerOptions extends Partial<ServerOptions> {
  /** Cluster flags (clusterListen with zookeeper or routes, and clusterName above); none: a single node. */
  cluster?: Partial<ClusterOptions>
  /** Where log lines go; silent by default. */
  logger?: Logger
}

export interface EmbeddedServer {
  /** `nats://127.0.0.1:<port>`: give it to any NATS client. */
  readonly url: string
  readonly port: number
  /** The server id, new at every start. */
  readonly id: string
  readonly name: string
  /** `http://…` of the monitoring endpoints, or null without httpPort. */
  readonly monitorUrl: string | null
  /** Lame-duck drain (clients are told, then closed over lameDuckDurationMs), then stop. */
  drain(): Promise<void>
  /** Stops accepting, flushes what clients are owed, closes everything. Idempotent. */
  close(): Promise<void>
}

/**
 * Starts a node in this process and resolves once it accepts clients. Unlike
 * the CLI it listens on 127.0.0.1 and a free port unless told otherwise, and
 * logs nothing unless given a logger. Rejects with an OptionsError for a bad
 * option, or with the listener's error (EADDRINUSE, …).
 */
export async function startServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const { cluster = {}, logger = SILENT_LOGGER, ...server } = options
  const serverOptions = resolveOptions({ host: '127.0.0.1', port: 0, ...server })
  const clusterOptions = resolveClusterOptions({ ...DEFAULT_CLUSTER_OPTIONS, ...cluster }, serverOptions.clusterName)
  const node = new ClusterNode(serverOptions, clusterOptions, logger)
  try {
    await node.start()
  } catch (err) {
    await node.shutdown()
    throw err
  }
  const s = node.server
  return {
    url: s.clientUrl,
    port: s.port,
    id: s.id,
    name: s.name,
    monitorUrl: s.monitorUrl,
    drain: () => node.lameDuck(),
    close: () => node.shutdown(),
  }
}
