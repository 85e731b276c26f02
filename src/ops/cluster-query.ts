// What the operator commands (`cluster ls`, `node drain|stop`) read about a
// running cluster: the members registered in ZooKeeper (watch-only: nothing is
// registered), and each node's own account of itself from its monitoring
// port (/varz and /healthz, with a short timeout, so one hung node costs its
// row, not the command).
import type { MemberInfo } from '../discovery/discovery.js'
import { ZooKeeperDiscovery } from '../discovery/zookeeper.js'
import { NatsmeshError } from '../errors.js'
import { getJson, httpRequest, trimUrl, type HttpAnswer } from './http.js'

export const DEFAULT_HTTP_TIMEOUT = '2s'
/** How long to wait for a ZooKeeper session before saying it cannot be reached. */
export const ZOOKEEPER_CONNECT_TIMEOUT_MS = 5_000
/** The watch-only session: short, so a command that dies leaves nothing behind for long. */
const WATCH_SESSION_TIMEOUT_MS = 4_000

/** A cluster operation that could not be done (exit code 1); the message says why and names the node. */
export class OperationError extends NatsmeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATSMESH_ERR_OPERATION', message, options)
  }
}

// ---- one node's view --------------------------------------------------------------

/**
 * - OK: /healthz 200.
 * - LAME DUCK: draining (/healthz 503 "lame duck"); STOPPING, STARTING: likewise.
 * - NOT ANSWERING: registered, but its monitoring port gave no answer in time.
 * - NO MONITOR: registered without a monitoring URL (started without -m).
 */
export type NodeStatus = 'OK' | 'LAME DUCK' | 'STOPPING' | 'STARTING' | 'NOT ANSWERING' | 'NO MONITOR'

/** One row of `cluster ls`: snake_case like /varz, since scripts read it with --json. */
export interface NodeView {
  name: string
  id: string
  status: NodeStatus
  /** Why it is NOT ANSWERING; null otherwise. */
  error: string | null
  client_url: string
  route_url: string
  monitor_url: string | null
  version: string
  start: string
  /** The rest are null unless the node answered. */
  routes: number | null
  connections: number | null
  subscriptions: number | null
  in_msgs: number | null
  out_msgs: number | null
  uptime: string | null
}

function asNumber(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}

function asString(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback
}

function healthStatus(status: number, body: string): NodeStatus {
  if (status === 200) return 'OK'
  if (body.includes('lame duck')) return 'LAME DUCK'
  if (body.includes('not yet accepting')) return 'STARTING'
  return 'STOPPING'
}

/** Asks a registered member's monitoring port about it; never throws. */
export async function viewMember(member: MemberInfo, timeoutMs: number): Promise<NodeView> {
  const view: NodeView = {
    name: member.name,
    id: member.id,
    status: 'NO MONITOR',
    error: null,
    client_url: member.clientUrl,
    route_url: member.routeUrl,
    monitor_url: member.monitorUrl === null ? null : trimUrl(member.monitorUrl),
    version: member.version,
    start: member.startTime,
    routes: null,
    connections: null,
    subscriptions: null,
    in_msgs: null,
    out_msgs: null,
    uptime: null,
  }
  if (view.monitor_url === null) return view
  return fillFromMonitor(view, view.monitor_url, timeoutMs)
}

/** A node known only by its monitoring URL (a static cluster); never throws. */
export async function viewMonitor(monitorUrl: string, timeoutMs: number): Promise<NodeView> {
  const url = trimUrl(monitorUrl)
  const view: NodeView = {
    name: '',
    id: '',
    status: 'NOT ANSWERING',
    error: null,
    client_url: '',
    route_url: '',
    monitor_url: url,
    version: '',
    start: '',
    routes: null,
    connections: null,
    subscriptions: null,
    in_msgs: null,
    out_msgs: null,
    uptime: null,
  }
  return fillFromMonitor(view, url, timeoutMs)
}

async function fillFromMonitor(view: NodeView, url: string, timeoutMs: number): Promise<NodeView> {
  let varz: Record<string, unknown>
  let health: HttpAnswer
  try {
    [varz, health] = await Promise.all([getJson(`${url}/varz`, timeoutMs), httpRequest('GET', `${url}/healthz`, timeoutMs)])
  } catch (err) {
    view.status = 'NOT ANSWERING'
    view.error = err instanceof Error ? err.message : String(err)
    return view
  }
  view.status = healthStatus(health.status, health.body)
  view.name ||= asString(varz.server_name)
  view.id ||= asString(varz.server_id)
  view.version ||= asString(varz.version)
  view.start ||= asString(varz.start)
  if (view.client_url === '') {
    // The client listener's host as the node sees it; a wildcard bind is reached through the monitor's host.
    const host = asString(varz.host)
    const shown = host === '' || host === '0.0.0.0' || host === '::' ? new URL(url).hostname : host
    view.client_url = `nats://${shown}:${asNumber(varz.port) ?? 0}`
  }
  if (view.route_url === '' && typeof varz.cluster === 'object' && varz.cluster !== null && 'cluster_port' in varz.cluster) {
    const port = asNumber(varz.cluster.cluster_port)
    if (port !== null && port > 0) view.route_url = `nats://${new URL(url).hostname}:${port}`
  }
  view.routes = asNumber(varz.routes)
  view.connections = asNumber(varz.connections)
  view.subscriptions = asNumber(varz.subscriptions)
  view.in_msgs = asNumber(varz.in_msgs)
  view.out_msgs = asNumber(varz.out_msgs)
  view.uptime = asString(varz.uptime, '') || null
  return view
}

/** The node's server id from /varz; throws NoAnswer. */
export async function serverIdAt(monitorUrl: string, timeoutMs: number): Promise<{ id: string; name: string }> {
  const varz = await getJson(`${trimUrl(monitorUrl)}/varz`, timeoutMs)
  return { id: asString(varz.server_id), name: asString(varz.server_name) }
}

// ---- ZooKeeper ----------------------------------------------------------------------

/**
 * A watch-only view of a cluster's members. Throws OperationError when no
 * session is established within ZOOKEEPER_CONNECT_TIMEOUT_MS; the caller
 * closes it.
 */
export async function watchCluster(connectString: string, cluster: string): Promise<ZooKeeperDiscovery> {
  const discovery = new ZooKeeperDiscovery({
    connectString,
    cluster,
    self: null,
    sessionTimeoutMs: WATCH_SESSION_TIMEOUT_MS,
    startTimeoutMs: ZOOKEEPER_CONNECT_TIMEOUT_MS,
  })
  try {
    await discovery.start()
  } catch (err) {
    await discovery.close()
    throw new OperationError(`ZooKeeper at ${connectString}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  if (discovery.state !== 'connected') {
    await discovery.close()
    throw new OperationError(`cannot reach ZooKeeper at ${connectString} (no session within ${ZOOKEEPER_CONNECT_TIMEOUT_MS} ms)`)
  }
  return discovery
}

/** The members registered right now, sorted by name then id. */
export async function readMembers(connectString: string, cluster: string): Promise<MemberInfo[]> {
  const discovery = await watchCluster(connectString, cluster)
  try {
    return sortMembers(discovery.members())
  } finally {
    await discovery.close()
  }
}

export function sortMembers(members: readonly MemberInfo[]): MemberInfo[] {
  return [...members].sort((a, b) => (a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

export function shortId(id: string): string {
  return id.slice(0, SHORT_ID_LENGTH)
}

/** `cluster ls` shows this much of a server id; `node drain` accepts any unique prefix this long or longer. */
export const SHORT_ID_LENGTH = 12
