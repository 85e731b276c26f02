// The rows of /connz and /routez (and the subscription details /subsz shares),
// with nats-server 2.9's field names, sort options and omissions, built from
// the live connections and from the cluster's route rows.
import type { RouteRow } from './cluster-seam.js'
import type { Connection } from './connection.js'
import { formatGoDuration, formatUptime } from './monitor-format.js'
import { MonitorQueryError, queryBool, queryInt, queryPage, querySubs, type SubsOption } from './monitor-query.js'
import type { Subscription } from './subscription.js'

/** One subscription in a `subs=detail` list (nats-server's SubDetail). */
export interface SubDetail {
  /** Only /subsz names the account; natsmesh has one, `$G`. */
  account?: string
  subject: string
  qgroup?: string
  sid: string
  msgs: number
  max?: number
  cid: number
}

/** One route in /routez, with nats-server 2.9's RouteInfo field names. Times are ISO 8601, durations Go strings. */
export interface RouteInfo {
  rid: number
  remote_id: string
  remote_name?: string
  did_solicit: boolean
  is_configured: boolean
  ip: string
  port: number
  start: string
  last_activity: string
  /** Go duration string (formatGoDuration), "0s" when not measured. */
  rtt: string
  /** formatUptime strings; see timeFields. */
  uptime: string
  idle: string
  pending_size: number
  in_msgs: number
  out_msgs: number
  in_bytes: number
  out_bytes: number
  /** How many subjects the peer has interest in. */
  subscriptions: number
  subscriptions_list?: string[]
  subscriptions_list_detail?: SubDetail[]
}

/** `start`, `last_activity`, `uptime` and `idle` as nats-server writes them, from epoch milliseconds. */
export function timeFields(startMs: number, lastActivityMs: number, nowMs: number): { start: string; last_activity: string; uptime: string; idle: string } {
  return {
    start: new Date(startMs).toISOString(),
    last_activity: new Date(lastActivityMs).toISOString(),
    uptime: formatUptime(nowMs - startMs),
    idle: formatUptime(nowMs - lastActivityMs),
  }
}

// ---- /connz sorting (nats-server monitor.go Connz + monitor_sort_opts.go) ---------

type SortKey = (c: Connection, nowMs: number) => number

/** Sort option → key, and whether larger comes first. cid/start ascend, uptime ascends (byUptime is not reversed), the rest descend. */
const CONNZ_SORTS: ReadonlyMap<string, { key: SortKey; isDescending: boolean }> = new Map([
  ['cid', { key: (c: Connection) => c.cid, isDescending: false }],
  ['start', { key: (c: Connection) => c.cid, isDescending: false }],
  ['subs', { key: (c: Connection) => c.subs.size, isDescending: true }],
  ['pending', { key: pendingBytes, isDescending: true }],
  ['msgs_to', { key: (c: Connection) => c.stats.outMsgs, isDescending: true }],
  ['msgs_from', { key: (c: Connection) => c.stats.inMsgs, isDescending: true }],
  ['bytes_to', { key: (c: Connection) => c.stats.outBytes, isDescending: true }],
  ['bytes_from', { key: (c: Connection) => c.stats.inBytes, isDescending: true }],
  ['last', { key: (c: Connection) => c.endpoint.lastActivity, isDescending: true }],
  ['idle', { key: (c: Connection, now: number) => now - c.endpoint.lastActivity, isDescending: true }],
  ['uptime', { key: (c: Connection, now: number) => now - c.endpoint.startTime, isDescending: false }],
])

/** What the client is owed: our buffer plus what the socket has not written yet. */
export function pendingBytes(c: Connection): number {
  return c.endpoint.pendingBytes
}

/** Node reports IPv4 peers of a dual-stack listener as `::ffff:1.2.3.4`; nats-server prints `1.2.3.4`. */
function plainIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

export function subDetail(sub: Subscription, account: string | null): SubDetail {
  return {
    ...(account === null ? {} : { account }),
    subject: sub.subject,
    ...(sub.queue === null ? {} : { qgroup: sub.queue }),
    sid: sub.sid.toString('latin1'),
    // Connection counts deliveries only for subscriptions with an UNSUB max; for the others this stays 0.
    msgs: sub.delivered,
    ...(sub.max > 0 ? { max: sub.max } : {}),
    cid: sub.client.cid,
  }
}

/**
 * One /routez entry with nats-server 2.9's RouteInfo fields. As its routez,
 * the list holds subjects only (no queue names); a detail's sid is the route
 * sid "$G subject [queue]" and its cid the route's rid.
 */
export function routeInfo(r: RouteRow, now: number, subs: SubsOption): RouteInfo {
  const info: RouteInfo = {
    rid: r.rid,
    remote_id: r.remoteId,
    remote_name: r.remoteName,
    did_solicit: r.didSolicit,
    is_configured: r.isConfigured,
    ip: r.ip,
    port: r.port,
    ...timeFields(r.startMs, r.lastActivityMs, now),
    rtt: formatGoDuration(r.rttNs),
    pending_size: r.pendingBytes,
    in_msgs: r.inMsgs,
    out_msgs: r.outMsgs,
    in_bytes: r.inBytes,
    out_bytes: r.outBytes,
    subscriptions: r.subscriptions,
  }
  // omitempty in nats-server's RouteInfo: no list when the peer has no interest.
  if (subs === 'detail' && r.interest.length > 0) {
    info.subscriptions_list_detail = r.interest.map((sub) => ({
      subject: sub.subject,
      ...(sub.queue === null ? {} : { qgroup: sub.queue }),
      sid: sub.queue === null ? `$G ${sub.subject}` : `$G ${sub.subject} ${sub.queue}`,
      msgs: 0,
      cid: r.rid,
    }))
  } else if (subs === 'list' && r.interest.length > 0) {
    info.subscriptions_list = r.interest.map((sub) => sub.subject)
  }
  return info
}

// ---- /connz --------------------------------------------------------------------

export function connz(serverId: string, connections: ReadonlyMap<number, Connection>, q: URLSearchParams): Record<string, unknown> {
  const subs = querySubs(q)
  const page = queryPage(q)
  const cid = queryInt(q, 'cid', 0)
  if (cid < 0) throw new MonitorQueryError(`Error decoding uint64 for 'cid': invalid syntax: ${JSON.stringify(q.get('cid'))}`)
  queryBool(q, 'auth') // accepted for compatibility; natsmesh has no users to show
  const sortName = q.get('sort') ?? ''
  const state = q.get('state') ?? ''
  if (state !== '' && state !== 'open' && state !== 'closed' && state !== 'any' && state !== 'all') {
    throw new MonitorQueryError(`Error decoding state for ${state}`)
  }
  if (state === 'closed') throw new MonitorQueryError('state=closed: natsmesh keeps no record of closed connections')
  if (sortName === 'stop' || sortName === 'reason') {
    throw new MonitorQueryError(`sort by ${sortName} only valid on closed connections`)
  }
  const sort = CONNZ_SORTS.get(sortName === '' ? 'cid' : sortName)
  if (sort === undefined) throw new MonitorQueryError(`invalid sorting option: ${sortName}`)

  const now = Date.now()
  let list: Connection[]
  if (cid > 0) {
    const one = connections.get(cid)
    list = one === undefined ? [] : [one]
    // nats-server answers a cid query with a page of one.
    page.limit = 1
  } else {
    list = [...connections.values()]
  }
  const keyed = list.map((c) => ({ c, key: sort.key(c, now) }))
  keyed.sort((a, b) => (a.key !== b.key ? (sort.isDescending ? b.key - a.key : a.key - b.key) : a.c.cid - b.c.cid))
  const pageOf = keyed.slice(page.offset, page.offset + page.limit)
  return {
    server_id: serverId,
    now: new Date(now).toISOString(),
    num_connections: pageOf.length,
    total: keyed.length,
    offset: page.offset,
    limit: page.limit,
    connections: pageOf.map(({ c }) => connInfo(c, now, subs)),
  }
}

function connInfo(c: Connection, now: number, subs: SubsOption): Record<string, unknown> {
  const times = timeFields(c.endpoint.startTime, c.endpoint.lastActivity, now)
  const info: Record<string, unknown> = {
    cid: c.cid,
    kind: 'Client',
    type: 'nats',
    ip: plainIp(c.remoteAddress),
    port: c.endpoint.remotePort,
    start: times.start,
    last_activity: times.last_activity,
    // Connection does not time its PINGs yet: "0s" is Go's zero duration.
    rtt: '0s',
    uptime: times.uptime,
    idle: times.idle,
    pending_bytes: pendingBytes(c),
    in_msgs: c.stats.inMsgs,
    out_msgs: c.stats.outMsgs,
    in_bytes: c.stats.inBytes,
    out_bytes: c.stats.outBytes,
    subscriptions: c.subs.size,
  }
  // omitempty in nats-server's ConnInfo.
  if (c.opts.name !== '') info.name = c.opts.name
  if (c.opts.lang !== '') info.lang = c.opts.lang
  if (c.opts.version !== '') info.version = c.opts.version
  // omitempty in nats-server's ConnInfo: no list for a client without subscriptions.
  if (c.subs.size > 0 && subs === 'list') info.subscriptions_list = [...c.subs.values()].map((sub) => sub.subject)
  else if (c.subs.size > 0 && subs === 'detail') info.subscriptions_list_detail = [...c.subs.values()].map((sub) => subDetail(sub, null))
  return info
}
