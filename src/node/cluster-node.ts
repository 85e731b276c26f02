// A broker node with its cluster parts: the server, the mesh of routes, and
// the discovery that tells the mesh who the members are. The one place that
// knows all three (the composition root): src/server and src/cluster only
// meet through the seam, so wiring them together happens here. Used by the
// CLI, the embedding API (index.ts) and tests that run nodes in-process.
import { Mesh } from '../cluster/mesh.js'
import { ClusterMonitorHooks } from '../cluster/monitor-hooks.js'
import { parseClusterListen, type ClusterOptions } from '../cluster/options.js'
import type { Discovery, DiscoveryLogger } from '../discovery/discovery.js'
import { StaticDiscovery } from '../discovery/static.js'
import { ZooKeeperDiscovery } from '../discovery/zookeeper.js'
import type { Logger } from '../server/logger.js'
import type { ServerOptions } from '../server/options.js'
import { Server } from '../server/server.js'
import { sleep } from '../wait.js'

export type NodeState = 'new' | 'running' | 'draining' | 'stopping' | 'stopped'

export class ClusterNode {
  readonly server: Server
  readonly clusterOptions: ClusterOptions
  readonly mesh: Mesh | null
  discovery: Discovery | null = null
  state: NodeState = 'new'
  private stopped: Promise<void> | null = null

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
      noAdvertise: clusterOptions.noAdvertise,
      pingIntervalMs: clusterOptions.routePingIntervalMs,
    })
  }

  get logger(): Logger { return this.server.logger }

  async start(): Promise<void> {
    await this.server.start()
    this.state = 'running'
    const mesh = this.mesh
    if (mesh === null) return
    await mesh.listen()
    this.server.setCluster(mesh)
    this.server.setMonitorHooks(new ClusterMonitorHooks(mesh, () => this.discovery))
    const self = mesh.memberInfo(this.server.monitorUrl)
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

  /**
   * Lame-duck drain, as nats-server's SIGUSR2 (`isGraceful` false is `node
   * stop`: no grace period). Leave ZooKeeper first so no client or peer picks
   * this node; stop accepting clients; tell clients and peers (INFO ldm, and
   * connect_urls without us); wait the grace period; close clients spread over
   * the lame-duck duration, each flushed; then routes, flushed; then exit.
   * Messages accepted before a client's close are delivered or forwarded.
   */
  async lameDuck(isGraceful = true): Promise<void> {
    if (this.state !== 'running') return this.stopped ?? Promise.resolve()
    this.state = 'draining'
    const o = this.server.options
    const run = async (): Promise<void> => {
      if (this.discovery !== null) await this.discovery.deregister()
      this.server.enterLameDuck()
      this.mesh?.enterLameDuck()
      if (isGraceful && o.lameDuckGracePeriodMs > 0) {
        this.logger.info(`Lame duck: waiting ${o.lameDuckGracePeriodMs}ms before closing clients`)
        await sleep(o.lameDuckGracePeriodMs)
      }
      await this.server.closeClientsSpread(o.lameDuckDurationMs)
      await this.finish()
    }
    this.stopped = run()
    return this.stopped
  }

  /** Leave membership first (no peer or client picks us), then routes, then clients. */
  async shutdown(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return this.stopped ?? Promise.resolve()
    this.stopped = this.finish()
    return this.stopped
  }

  private async finish(): Promise<void> {
    this.state = 'stopping'
    if (this.discovery !== null) await this.discovery.close()
    // Clients first, so what they published reaches the routes; then routes, flushed.
    await this.server.shutdown()
    if (this.mesh !== null) await this.mesh.shutdown()
    this.state = 'stopped'
  }
}
