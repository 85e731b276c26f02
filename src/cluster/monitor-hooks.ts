// What a clustered node adds to its monitoring endpoints: /routez entries,
// /varz `cluster` and `zookeeper`, and Prometheus families for routes and the
// ZooKeeper session. Field names follow nats-server 2.9's where it has them.
import type { MetricFamily } from '../server/monitor-format.js'
import { timeFields, type MonitorHooks, type RouteInfo } from '../server/monitor.js'
import type { Discovery, DiscoveryState } from '../discovery/discovery.js'
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
        urls: [...mesh.routes.values()].map((r) => `${r.socket.remoteAddress ?? ''}:${r.socket.remotePort ?? 0}`),
      },
      zookeeper: d === null ? null : {
        state: d.state,
        members: d.members().map((m) => ({ id: m.id, name: m.name, client_url: m.clientUrl, route_url: m.routeUrl, monitor_url: m.monitorUrl })),
      },
    }
  }

  routez(includeSubs: boolean, isDetail: boolean): RouteInfo[] {
    const now = Date.now()
    const out: RouteInfo[] = []
    for (const route of this.mesh.routes.values()) {
      const info: RouteInfo = {
        rid: route.rid,
        remote_id: route.remoteId,
        remote_name: route.peer?.serverName ?? '',
        did_solicit: route.isSolicited,
        is_configured: route.dialUrl !== null,
        ip: route.socket.remoteAddress ?? '',
        port: route.socket.remotePort ?? 0,
        ...timeFields(route.startTime, route.lastActivity, now),
        rtt: '0s',
        pending_size: route.outbound.pendingBytes + route.socket.writableLength,
        in_msgs: route.stats.inMsgs,
        out_msgs: route.stats.outMsgs,
        in_bytes: route.stats.inBytes,
        out_bytes: route.stats.outBytes,
        subscriptions: route.interest.count,
      }
      // As nats-server 2.9's routez: the list holds subjects only (no queue names); a detail's
      // sid is the route sid "$G subject [queue]".
      if (includeSubs && isDetail) {
        const details: NonNullable<RouteInfo['subscriptions_list_detail']> = []
        route.interest.forEach((sub) => details.push({
          subject: sub.subject,
          ...(sub.queue === null ? {} : { qgroup: sub.queue }),
          sid: sub.queue === null ? `$G ${sub.subject}` : `$G ${sub.subject} ${sub.queue}`,
          msgs: 0,
          cid: route.rid,
        }))
        info.subscriptions_list_detail = details
      } else if (includeSubs) {
        const subjects: string[] = []
        route.interest.forEach((sub) => subjects.push(sub.subject))
        info.subscriptions_list = subjects
      }
      out.push(info)
    }
    return out
  }

  metrics(): MetricFamily[] {
    const routes = [...this.mesh.routes.values()]
    const label = (r: (typeof routes)[number]): Record<string, string> => ({ route: r.peer?.serverName ?? r.remoteId })
    const d = this.discovery()
    // natsmesh_routes is a core family (monitor.ts counts our routez rows); a copy here
    // would be dropped, with a warning in the log, on every scrape.
    const families: MetricFamily[] = [
      { name: 'natsmesh_route_pending_bytes', help: 'Bytes queued for a route and not yet written.', type: 'gauge',
        samples: routes.map((r) => ({ labels: label(r), value: r.outbound.pendingBytes + r.socket.writableLength })) },
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
