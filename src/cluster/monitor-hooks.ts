// What a clustered node adds to its monitoring endpoints: /routez entries,
// /varz `cluster` and `zookeeper`, and Prometheus families for routes and the
// ZooKeeper session. Field names follow nats-server 2.9's where it has them.
import type { Discovery, DiscoveryState } from '../discovery/discovery.js'
import type { MetricFamily, MonitorHooks, RouteRow } from '../server/cluster-seam.js'
import type { Mesh } from './mesh.js'

const STATES: readonly DiscoveryState[] = ['connected', 'disconnected', 'expired', 'closed', 'static']

export class ClusterMonitorHooks implements MonitorHooks {
  private readonly mesh: Mesh
  private readonly discovery: () => Discovery | null

  constructor(mesh: Mesh, discovery: () => Discovery | null) {
    this.mesh = mesh
    this.discovery = discovery
  }

  varz(): Record<string, unknown> {
    const mesh = this.mesh
    const d = this.discovery()
    return {
      cluster: {
        name: mesh.options.clusterName,
        addr: mesh.options.listenHost,
        cluster_port: mesh.routePort,
        urls: [...mesh.routes.values()].map((r) => `${r.endpoint.remoteAddress}:${r.endpoint.remotePort}`),
      },
      zookeeper: d === null ? null : {
        state: d.state,
        members: d.members().map((m) => ({ id: m.id, name: m.name, client_url: m.clientUrl, route_url: m.routeUrl, monitor_url: m.monitorUrl })),
      },
    }
  }

  routes(includeInterest: boolean): RouteRow[] {
    const rows: RouteRow[] = []
    for (const route of this.mesh.routes.values()) {
      const e = route.endpoint
      const interest: Array<{ subject: string; queue: string | null }> = []
      if (includeInterest) route.interest.forEach((sub) => interest.push({ subject: sub.subject, queue: sub.queue }))
      rows.push({
        rid: route.rid,
        remoteId: route.remoteId,
        remoteName: route.peer?.serverName ?? '',
        didSolicit: route.isSolicited,
        isConfigured: route.dialUrl !== null,
        ip: e.remoteAddress,
        port: e.remotePort,
        startMs: e.startTime,
        lastActivityMs: e.lastActivity,
        rttNs: 0,
        pendingBytes: e.pendingBytes,
        inMsgs: route.stats.inMsgs,
        outMsgs: route.stats.outMsgs,
        inBytes: route.stats.inBytes,
        outBytes: route.stats.outBytes,
        subscriptions: route.interest.count,
        interest,
      })
    }
    return rows
  }

  metrics(): MetricFamily[] {
    const routes = [...this.mesh.routes.values()]
    const label = (r: (typeof routes)[number]): Record<string, string> => ({ route: r.peer?.serverName ?? r.remoteId })
    const d = this.discovery()
    // natsmesh_routes is a core family (monitor.ts counts our routez rows); a copy here
    // would be dropped, with a warning in the log, on every scrape.
    const families: MetricFamily[] = [
      { name: 'natsmesh_route_pending_bytes', help: 'Bytes queued for a route and not yet written.', type: 'gauge',
        samples: routes.map((r) => ({ labels: label(r), value: r.endpoint.pendingBytes })) },
      { name: 'natsmesh_route_in_msgs_total', help: 'Messages received from a peer.', type: 'counter',
        samples: routes.map((r) => ({ labels: label(r), value: r.stats.inMsgs })) },
      { name: 'natsmesh_route_out_msgs_total', help: 'Messages forwarded to a peer.', type: 'counter',
        samples: routes.map((r) => ({ labels: label(r), value: r.stats.outMsgs })) },
    ]
    if (d !== null) {
      families.push(
        { name: 'natsmesh_zookeeper_session_state', help: 'Discovery state: 1 for the current state, 0 for the others.', type: 'gauge',
          samples: STATES.map((state) => ({ labels: { state }, value: d.state === state ? 1 : 0 })) },
        { name: 'natsmesh_cluster_members', help: 'Members this node sees in the cluster (itself included).', type: 'gauge',
          samples: [{ value: d.members().length }] },
      )
    }
    return families
  }
}
