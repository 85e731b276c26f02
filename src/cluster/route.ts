// One route connection to a peer node, in nats-server 2.9's route protocol
// with the global account `$G`:
//
//   dialer   → CONNECT {…cluster…}  INFO {…server_id…}
//   acceptor → INFO {…server_id…}
//   both, once the peer's INFO names it: the full interest (RS+ …), then deltas
//   RS+ $G subj | RS+ $G subj queue weight | RS- $G subj [queue]
//   RMSG $G subj [reply | + reply q… | \| q…] size      (HMSG: hdr size before size)
//
// Interest deltas and messages share this one ordered connection: a client's
// SUB reaches the peer before anything that client publishes afterwards.
// The socket, read loop, outbound bytes, keepalive and closing are the
// server's Endpoint, as for client connections; this file adds the route ops.
// Read loop only.
import type { EndpointContext, EndpointSettings, LinkStats, Logger, Reader, RelayedSocket, RouteTarget } from '../server/cluster-seam.js'
import { Endpoint } from '../server/endpoint.js'
import { MsgWriter } from '../server/msg-writer.js'
import { LastSubject, parseSize, type OpHandler, type PubArg } from '../server/op-handler.js'
import { PeerInterest } from './interest.js'

/** Routes carry whatever any member accepted from its clients, queue name lists included. */
const ROUTE_MAX_CONTROL_LINE = 64 * 1024
const ROUTE_MAX_PAYLOAD = 999_999_999
/** Past this many queued bytes a route pauses the publisher feeding it (until 'drain'). */
const ROUTE_STALL_BYTES = 4 * 1024 * 1024
/** `RS+ $G subj [queue weight]`, `RS- $G subj [queue]`. */
const RS_PLUS_ARG_COUNTS = [2, 4]
const RS_MINUS_ARG_COUNTS = [2, 3]
/** How long a closing route may take to take its last bytes. */
const ROUTE_CLOSE_TIMEOUT_MS = 2000

/**
 * Route endpoints: a stale peer is cut at once without a word (it is not
 * reading anyway), and a route is never under a write deadline: it pauses
 * publishers instead (see sendMsg).
 */
export function routeEndpointSettings(pingIntervalMs: number, maxPingsOut: number): EndpointSettings {
  return {
    ops: 'route',
    label: 'Route',
    maxControlLine: ROUTE_MAX_CONTROL_LINE,
    maxPayload: ROUTE_MAX_PAYLOAD,
    pingIntervalMs,
    maxPingsOut,
    staleError: null,
    writeDeadlineMs: 0,
    closeTimeoutMs: ROUTE_CLOSE_TIMEOUT_MS,
    peerClosedReason: 'Route Closed',
    staleLogLevel: 'info',
    faultLogLevel: 'warn',
  }
}

/** What a route needs from the mesh that owns it. */
export interface RouteHost {
  readonly endpoints: EndpointContext
  readonly routeSettings: EndpointSettings
  readonly logger: Logger
  readonly clusterName: string
  readonly maxPending: number
  /** A message from the peer, for local subscribers only (one hop). */
  deliverRouted(pa: PubArg, payload: Buffer, payloadStart: number, subject: string): void
  /** The peer names another cluster: true if we took its name instead (ours was generated). */
  adoptClusterName(name: string, isPeerDynamic: boolean, route: Route): boolean
  /** The peer's INFO named it; false means close (self, duplicate, or wrong cluster). */
  routeRegistered(route: Route): boolean
  /** The peer sent a later INFO (connect_urls, lame duck). */
  routeInfoChanged(route: Route): void
  /** The peer's interest in `subject` changed: cached cluster matches of it are stale. */
  routeInterestChanged(route: Route, subject: string): void
  routeClosed(route: Route): void
}

/** The fields of a peer's route INFO we use. */
export interface PeerInfo {
  serverId: string
  serverName: string
  cluster: string
  /** Client URLs the peer advertises (`host:port`). */
  connectUrls: string[]
  isLameDuck: boolean
  /** Where the peer accepts routes (its INFO's host and port), to match it to a seed URL. */
  routeHost: string
  routePort: number
}

export class Route implements OpHandler, RouteTarget {
  readonly rid: number
  readonly endpoint: Endpoint
  /** We dialed it (nats-server's did_solicit). */
  readonly isSolicited: boolean
  /** The URL we dialed, or null for an accepted route. */
  readonly dialUrl: string | null
  readonly interest = new PeerInterest()
  readonly stats: LinkStats
  peer: PeerInfo | null = null
  isRegistered = false
  private readonly host: RouteHost
  private readonly logger: Logger
  private readonly argViews: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]
  private readonly writer = new MsgWriter()
  /** Client connections paused until this route's socket drains. */
  private readonly stalled = new Set<Reader>()
  private readonly lastSubject = new LastSubject()

  constructor(host: RouteHost, rid: number, io: RelayedSocket, dialUrl: string | null, hello: Buffer) {
    this.host = host
    this.logger = host.logger
    this.rid = rid
    this.dialUrl = dialUrl
    this.isSolicited = dialUrl !== null
    this.endpoint = new Endpoint(host.endpoints, io, this, host.routeSettings, hello)
    this.stats = this.endpoint.stats
  }

  get isClosed(): boolean { return this.endpoint.isClosed }
  get closeReason(): string { return this.endpoint.closeReason }
  get remoteId(): string { return this.peer?.serverId ?? '' }

  describe(): string {
    const e = this.endpoint
    const who = this.peer === null ? (this.dialUrl ?? `${e.remoteAddress}:${e.remotePort}`) : `${this.peer.serverName}`
    return `rid:${this.rid} ${who}`
  }

  // ---- endpoint events (EndpointOwner) --------------------------------------------

  pingReceived(): void {
    // A route PING is answered with PONG alone.
  }

  socketDrained(): void {
    this.resumeStalled()
  }

  slowConsumer(): void {
    // A route cut as a slow consumer is logged by the endpoint and counted nowhere else.
  }

  /** All interest learned from the peer goes with it, at once (the mesh drops this route). */
  endpointClosed(): void {
    this.resumeStalled()
    this.host.routeClosed(this)
  }

  private resumeStalled(): void {
    if (this.stalled.size === 0) return
    const readers = [...this.stalled]
    this.stalled.clear()
    for (const r of readers) r.resumeReading()
  }

  closeRoute(reason: string, isAbrupt = false): void {
    this.endpoint.close(reason, isAbrupt)
  }

  sendProto(bytes: Buffer): void {
    this.endpoint.sendProto(bytes)
  }

  /** RS+ for interest that appeared or a queue weight that changed; RS- when weight is 0. */
  sendInterest(subject: string, queue: string | null, weight: number): void {
    let line: string
    if (weight === 0) line = queue === null ? `RS- $G ${subject}\r\n` : `RS- $G ${subject} ${queue}\r\n`
    else line = queue === null ? `RS+ $G ${subject}\r\n` : `RS+ $G ${subject} ${queue} ${weight}\r\n`
    this.endpoint.sendProto(Buffer.from(line, 'latin1'))
  }

  /** RouteTarget: one RMSG/HMSG, naming the queue groups this peer was picked for. */
  sendMsg(pa: PubArg, payload: Buffer, payloadStart: number, queues: readonly Buffer[], queueCount: number, publisher: Reader): void {
    const endpoint = this.endpoint
    if (endpoint.isClosed) return
    this.writer.appendRoutedMsg(endpoint.outbound, pa, payload, payloadStart, queues, queueCount)
    this.stats.outMsgs++
    this.stats.outBytes += pa.size
    endpoint.queueFlush()
    if (endpoint.pendingBytes > ROUTE_STALL_BYTES && !this.stalled.has(publisher)) {
      // Backpressure: the publisher waits for this route to drain rather than
      // the route, which carries everyone's traffic to the peer, being cut off.
      this.stalled.add(publisher)
      publisher.pauseReading()
    }
    endpoint.checkMaxPending(this.host.maxPending)
  }

  // ---- route ops (OpHandler) ---------------------------------------------------

  processConnect(arg: Buffer): void {
    const obj = parseJsonObject(arg)
    if (obj === null) {
      this.endpoint.protocolError(null, `invalid route CONNECT: ${arg.toString('utf8', 0, 64)}`)
      return
    }
    const cluster = typeof obj.cluster === 'string' ? obj.cluster : ''
    if (!this.checkCluster(cluster, obj.cluster_dynamic === true)) return
  }

  processInfo(arg: Buffer): void {
    const obj = parseJsonObject(arg)
    if (obj === null || typeof obj.server_id !== 'string' || obj.server_id === '') {
      this.endpoint.protocolError(null, `invalid route INFO: ${arg.toString('utf8', 0, 64)}`)
      return
    }
    const info: PeerInfo = {
      serverId: obj.server_id,
      serverName: typeof obj.server_name === 'string' && obj.server_name !== '' ? obj.server_name
        : typeof obj.name === 'string' && obj.name !== '' ? obj.name : obj.server_id,
      cluster: typeof obj.cluster === 'string' ? obj.cluster : '',
      connectUrls: Array.isArray(obj.connect_urls) ? obj.connect_urls.filter((u): u is string => typeof u === 'string') : [],
      isLameDuck: obj.ldm === true,
      routeHost: typeof obj.host === 'string' ? obj.host : '',
      routePort: typeof obj.port === 'number' ? obj.port : 0,
    }
    if (this.peer !== null) {
      // A later INFO: new client URLs or lame duck. The id never changes on a route.
      if (info.serverId !== this.peer.serverId) return
      this.peer = info
      this.host.routeInfoChanged(this)
      return
    }
    if (!this.checkCluster(info.cluster, obj.cluster_dynamic === true)) return
    this.peer = info
    if (!this.host.routeRegistered(this)) return
    this.isRegistered = true
  }

  private checkCluster(cluster: string, isPeerDynamic: boolean): boolean {
    if (cluster === this.host.clusterName || this.host.adoptClusterName(cluster, isPeerDynamic, this)) return true
    this.endpoint.protocolError(`Rejecting connection, cluster name "${cluster}" does not match "${this.host.clusterName}"`,
      `cluster name "${cluster}" does not match "${this.host.clusterName}"`)
    return false
  }

  processSub(arg: Buffer): void {
    const args = this.argViews
    const n = this.endpoint.splitOpArgs('RS+', 'processRemoteSub', arg, args, RS_PLUS_ARG_COUNTS)
    if (n < 0) return
    // Other accounts (nats-server's $SYS) are not ours to serve.
    if (!isGlobal(args[0])) return
    const subject = args[1].toString('latin1')
    const queue = n === 4 ? args[2].toString('latin1') : null
    const weight = n === 4 ? parseSize(args[3]) : 1
    if (weight < 1) {
      this.endpoint.protocolError(null, `processRemoteSub bad queue weight: '${arg.toString('latin1')}'`)
      return
    }
    if (this.interest.add(subject, queue, weight)) this.host.routeInterestChanged(this, subject)
  }

  processUnsub(arg: Buffer): void {
    const args = this.argViews
    const n = this.endpoint.splitOpArgs('RS-', 'processRemoteUnsub', arg, args, RS_MINUS_ARG_COUNTS)
    if (n < 0 || !isGlobal(args[0])) return
    const subject = args[1].toString('latin1')
    if (this.interest.remove(subject, n === 3 ? args[2].toString('latin1') : null)) {
      this.host.routeInterestChanged(this, subject)
    }
  }

  processMsg(pa: PubArg, payload: Buffer, payloadStart: number): void {
    // Other accounts (nats-server's $SYS) are not ours to serve.
    const line = pa.line
    if (pa.accountEnd - pa.accountStart !== 2 || line[pa.accountStart] !== 0x24 || line[pa.accountStart + 1] !== 0x47) return
    this.stats.inMsgs++
    this.stats.inBytes += pa.size
    this.host.deliverRouted(pa, payload, payloadStart, this.lastSubject.decode(line, pa.subjectStart, pa.subjectEnd))
  }

  processErr(arg: Buffer): void {
    this.logger.warn(`${this.describe()} - peer sent -ERR ${arg.toString('latin1')}`)
    this.closeRoute('Peer sent -ERR')
  }
}

function isGlobal(account: Buffer): boolean {
  return account.length === 2 && account[0] === 0x24 && account[1] === 0x47 // "$G"
}

function parseJsonObject(arg: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(arg.toString('utf8'))
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null
  } catch {
    return null
  }
}
