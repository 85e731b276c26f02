// A broker node with its cluster parts: the server, the mesh of routes, and
// the discovery that tells the mesh who the members are. Used by the CLI and
// by tests that run nodes in-process.
import type { Logger } from '../server/logger.js'
import type { ServerOptions } from '../server/options.js'
import { Server } from '../server/server.js'
import type { Discovery, DiscoveryLogger } from './discovery.js'
import { Mesh } from './mesh.js'
import { parseClusterListen, type ClusterOptions } from './options.js'
import { StaticDiscovery } from './static.js'
import { ZooKeeperDiscovery } from './zookeeper.js'

export class ClusterNode {
  readonly server: Server
  readonly clusterOptions: ClusterOptions
  readonly mesh: Mesh | null
  discovery: Discovery | null = null

  constructor(serverOptions: Partial<ServerOptions>, clusterOptions: ClusterOptions, logger?: Logger) {
    this.server = new Server(serverOptions, logger)
    this.clusterOptions = clusterOptions
    if (clusterOptions.clusterListen === '') {
      this.mesh = null
      return
    }
    const listen = parseClusterListen(clusterOptions.clusterListen)
    this.mesh = new Mesh(this.server, {
      clusterName: this.server.options.clusterName,
      listenHost: listen.host,
      listenPort: listen.port,
      clusterAdvertise: clusterOptions.clusterAdvertise,
      clientAdvertise: clusterOptions.clientAdvertise,
      noAdvertise: clusterOptions.noAdvertise,
      pingIntervalMs: clusterOptions.routePingIntervalMs,
    })
  }

  get logger(): Logger { return this.server.logger }

  async start(): Promise<void> {
    await this.server.start()
    const mesh = this.mesh
    if (mesh === null) return
    await mesh.listen()
    const self = mesh.memberInfo(null)
    const logger: DiscoveryLogger = this.server.logger
    const o = this.clusterOptions
    this.discovery = o.zookeeper !== ''
      ? new ZooKeeperDiscovery({
        connectString: o.zookeeper,
        cluster: this.server.options.clusterName,
        self,
        sessionTimeoutMs: o.zkSessionTimeoutMs,
        auth: o.zkAuth === '' ? null : o.zkAuth,
        logger,
      })
      : new StaticDiscovery({ routes: o.routes, self, logger })
    // Never rejects for an unreachable ZooKeeper: the node serves alone and joins later.
    await this.discovery.start()
    mesh.follow(this.discovery)
  }

  /** Leave membership first (no peer or client picks us), then routes, then clients. */
  async shutdown(): Promise<void> {
    if (this.discovery !== null) await this.discovery.close()
    if (this.mesh !== null) await this.mesh.shutdown()
    await this.server.shutdown()
  }
}
