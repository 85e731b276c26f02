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
// Read loop only.
import type { Socket } from 'node:net'
import { splitArgs, parseSize } from '../server/args.js'
import type { Reader, RouteTarget } from '../server/delivery.js'
import type { Logger } from '../server/logger.js'
import type { OpHandler, PubArg } from '../server/op-handler.js'
import { copyBytes, Outbound, type ChunkPool } from '../server/outbound.js'
import { Parser, ROUTE_OPS } from '../server/parser.js'
import { LastSubject } from '../server/subject-cache.js'
import type { DeliveryCore } from '../server/delivery.js'
import { PeerInterest } from './interest.js'

const PING = Buffer.from('PING\r\n')
const PONG = Buffer.from('PONG\r\n')
const CRLF = Buffer.from('\r\n')
const RMSG_G = Buffer.from('RMSG $G ')
const HMSG_G = Buffer.from('HMSG $G ')
const SPACE = 0x20
const PLUS = 0x2b
const PIPE = 0x7c
/** Routes carry whatever any member accepted from its clients, queue name lists included. */
const ROUTE_MAX_CONTROL_LINE = 64 * 1024
const ROUTE_MAX_PAYLOAD = 999_999_999
/** Past this many queued bytes a route pauses the publisher feeding it (until 'drain'). */
const ROUTE_STALL_BYTES = 4 * 1024 * 1024

/** What a route needs from the mesh that owns it. */
export interface RouteHost {
  readonly core: DeliveryCore
  readonly pool: ChunkPool
  readonly logger: Logger
  readonly clusterName: string
  readonly pingIntervalMs: number
  readonly maxPingsOut: number
  readonly maxPending: number
  /** The peer's INFO named it; false means close (self, duplicate, or wrong cluster). */
  routeRegistered(route: Route): boolean
  /** The peer sent a later INFO (connect_urls, lame duck). */
  routeInfoChanged(route: Route): void
  /** The peer's interest changed: cached cluster matches are stale. */
  routeInterestChanged(route: Route): void
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

export class RouteStats {
  inMsgs = 0
  inBytes = 0
  outMsgs = 0
  outBytes = 0
}

export class Route implements OpHandler, RouteTarget {
  readonly rid: number
  readonly socket: Socket
  /** We dialed it (nats-server's did_solicit). */
  readonly isSolicited: boolean
  /** The URL we dialed, or null for an accepted route. */
  readonly dialUrl: string | null
  readonly outbound: Outbound
  readonly parser: Parser
  readonly interest = new PeerInterest()
  readonly stats = new RouteStats()
  readonly startTime = Date.now()
  peer: PeerInfo | null = null
  isRegistered = false
  isClosed = false
  closeReason = ''
  flushQueued = false
  lastActivity = Date.now()
  pingsOut = 0
  private readonly host: RouteHost
  private readonly core: DeliveryCore
  private readonly logger: Logger
  private pingTimer: NodeJS.Timeout | null = null
  private readonly argViews: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]
  private line = Buffer.allocUnsafe(1024)
  /** Client connections paused until this route's socket drains. */
  private readonly stalled = new Set<Reader>()
  private readonly lastSubject = new LastSubject()

  constructor(host: RouteHost, rid: number, socket: Socket, dialUrl: string | null, hello: Buffer) {
    this.host = host
    this.core = host.core
    this.logger = host.logger
    this.rid = rid
    this.socket = socket
    this.dialUrl = dialUrl
    this.isSolicited = dialUrl !== null
    this.outbound = new Outbound(host.pool)
    this.parser = new Parser(this, ROUTE_OPS)
    this.parser.maxControlLine = ROUTE_MAX_CONTROL_LINE
    this.parser.maxPayload = ROUTE_MAX_PAYLOAD
    socket.setNoDelay(true)
    socket.on('error', this.onError)
    socket.on('close', this.onClose)
    socket.on('drain', this.onDrain)
    this.pingTimer = setInterval(this.onPingTimer, host.pingIntervalMs)
    this.pingTimer.unref()
    this.sendProto(hello)
  }

  describe(): string {
    const who = this.peer === null ? (this.dialUrl ?? `${this.socket.remoteAddress}:${this.socket.remotePort}`) : `${this.peer.serverName}`
    return `rid:${this.rid} ${who}`
  }

  get remoteId(): string { return this.peer?.serverId ?? '' }

  // ---- socket events ---------------------------------------------------------

  /** One read from the socket (a view of the shared read buffer: see server/read-buffer.ts). */
  readChunk(chunk: Buffer): void {
    if (this.isClosed) return
    this.lastActivity = Date.now()
    const core = this.core
    // Routed messages are never forwarded to another route, so a route is never paused by one.
    core.beginRead(null)
    this.parser.parse(chunk)
    core.endRead()
  }

  private readonly onError = (err: Error): void => {
    this.closeRoute(`Socket Error: ${err.message}`)
  }

  private readonly onClose = (): void => {
    this.closeRoute('Route Closed')
  }

  private readonly onDrain = (): void => {
    this.resumeStalled()
  }

  private resumeStalled(): void {
    if (this.stalled.size === 0) return
    const readers = [...this.stalled]
    this.stalled.clear()
    for (const r of readers) r.resumeReading()
  }

  private readonly onPingTimer = (): void => {
    if (this.isClosed) return
    // A route lives or dies by its own PING/PONG, never by ZooKeeper.
    if (this.pingsOut + 1 > this.host.maxPingsOut) {
      this.logger.info(`${this.describe()} - Stale Route Connection - Closing`)
      this.closeRoute('Stale Connection', true)
      return
    }
    this.pingsOut++
    this.sendProto(PING)
  }

  // ---- outbound --------------------------------------------------------------

  sendProto(bytes: Buffer): void {
    if (this.isClosed) return
    this.outbound.appendAll(bytes)
    this.core.queueFlush(this)
  }

  flushOutbound(): void {
    if (this.socket.destroyed) {
      this.outbound.discard()
      return
    }
    this.outbound.flushTo(this.socket)
  }

  /** RS+ for interest that appeared or a queue weight that changed; RS- when weight is 0. */
  sendInterest(subject: string, queue: string | null, weight: number): void {
    let line: string
    if (weight === 0) line = queue === null ? `RS- $G ${subject}\r\n` : `RS- $G ${subject} ${queue}\r\n`
    else line = queue === null ? `RS+ $G ${subject}\r\n` : `RS+ $G ${subject} ${queue} ${weight}\r\n`
    this.sendProto(Buffer.from(line, 'latin1'))
  }

  /** RouteTarget: one RMSG/HMSG, naming the queue groups this peer was picked for. */
  sendMsg(pa: PubArg, payload: Buffer, payloadStart: number, queues: readonly Buffer[], queueCount: number): void {
    if (this.isClosed) return
    const src = pa.line
    const hasHdr = pa.hdrSize >= 0
    let need = 8 + pa.subjectLength + 4 + (pa.replyEnd - pa.replyStart + 1) +
      (pa.hdrSizeEnd - pa.hdrSizeStart) + 1 + (pa.sizeEnd - pa.sizeStart) + 2
    for (let q = 0; q < queueCount; q++) need += queues[q].length + 1
    if (need > this.line.length) this.line = Buffer.allocUnsafe(need * 2)
    const line = this.line
    const op = hasHdr ? HMSG_G : RMSG_G
    let n = copyBytes(op, 0, op.length, line, 0)
    n += copyBytes(src, pa.subjectStart, pa.subjectEnd, line, n)
    line[n++] = SPACE
    if (queueCount > 0) {
      // nats-server: `+ reply q…` when there is a reply, `| q…` when not.
      if (pa.hasReply) {
        line[n++] = PLUS
        line[n++] = SPACE
        n += copyBytes(src, pa.replyStart, pa.replyEnd, line, n)
        line[n++] = SPACE
      } else {
        line[n++] = PIPE
        line[n++] = SPACE
      }
      for (let q = 0; q < queueCount; q++) {
        n += copyBytes(queues[q], 0, queues[q].length, line, n)
        line[n++] = SPACE
      }
    } else if (pa.hasReply) {
      n += copyBytes(src, pa.replyStart, pa.replyEnd, line, n)
      line[n++] = SPACE
    }
    if (hasHdr) {
      n += copyBytes(src, pa.hdrSizeStart, pa.hdrSizeEnd, line, n)
      line[n++] = SPACE
    }
    n += copyBytes(src, pa.sizeStart, pa.sizeEnd, line, n)
    line[n++] = 0x0d
    line[n++] = 0x0a
    const out = this.outbound
    out.append(line, 0, n)
    out.append(payload, payloadStart, payloadStart + pa.size)
    out.append(CRLF, 0, 2)
    this.stats.outMsgs++
    this.stats.outBytes += pa.size
    this.core.queueFlush(this)
    const pending = out.pendingBytes + this.socket.writableLength
    if (pending > ROUTE_STALL_BYTES) {
      // Backpressure: the publisher waits for this route to drain rather than
      // the route, which carries everyone's traffic to the peer, being cut off.
      const reader = this.core.reader
      if (reader !== null && !this.stalled.has(reader)) {
        this.stalled.add(reader)
        reader.pauseReading()
      }
    }
    if (pending > this.host.maxPending) {
      this.logger.warn(`${this.describe()} - Slow Consumer Detected on route: MaxPending of ${this.host.maxPending} Exceeded`)
      this.closeRoute('Slow Consumer (Pending Bytes)', true)
    }
  }

  // ---- route ops (OpHandler) ---------------------------------------------------

  processConnect(arg: Buffer): void {
    const obj = parseJsonObject(arg)
    if (obj === null) {
      this.protocolError(null, `invalid route CONNECT: ${arg.toString('utf8', 0, 64)}`)
      return
    }
    const cluster = typeof obj.cluster === 'string' ? obj.cluster : ''
    if (!this.checkCluster(cluster)) return
  }

  processInfo(arg: Buffer): void {
    const obj = parseJsonObject(arg)
    if (obj === null || typeof obj.server_id !== 'string' || obj.server_id === '') {
      this.protocolError(null, `invalid route INFO: ${arg.toString('utf8', 0, 64)}`)
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
    if (!this.checkCluster(info.cluster)) return
    this.peer = info
    if (!this.host.routeRegistered(this)) return
    this.isRegistered = true
  }

  private checkCluster(cluster: string): boolean {
    if (cluster === this.host.clusterName) return true
    this.protocolError(`Rejecting connection, cluster name "${cluster}" does not match "${this.host.clusterName}"`,
      `cluster name "${cluster}" does not match "${this.host.clusterName}"`)
    return false
  }

  processSub(arg: Buffer): void {
    const args = this.argViews
    const n = splitArgs(arg, args)
    if (n !== 2 && n !== 4) {
      this.protocolError(null, `processRemoteSub Parse Error: '${arg.toString('latin1')}'`)
      return
    }
    // Other accounts (nats-server's $SYS) are not ours to serve.
    if (!isGlobal(args[0])) return
    const subject = args[1].toString('latin1')
    const queue = n === 4 ? args[2].toString('latin1') : null
    const weight = n === 4 ? parseSize(args[3]) : 1
    if (weight < 1) {
      this.protocolError(null, `processRemoteSub bad queue weight: '${arg.toString('latin1')}'`)
      return
    }
    if (this.logger.isTrace) this.logger.trace(`${this.describe()} - <<- [RS+ ${arg.toString('latin1')}]`)
    if (this.interest.add(subject, queue, weight)) this.host.routeInterestChanged(this)
  }

  processUnsub(arg: Buffer): void {
    const args = this.argViews
    const n = splitArgs(arg, args)
    if (n !== 2 && n !== 3) {
      this.protocolError(null, `processRemoteUnsub Parse Error: '${arg.toString('latin1')}'`)
      return
    }
    if (!isGlobal(args[0])) return
    if (this.logger.isTrace) this.logger.trace(`${this.describe()} - <<- [RS- ${arg.toString('latin1')}]`)
    if (this.interest.remove(args[1].toString('latin1'), n === 3 ? args[2].toString('latin1') : null)) {
      this.host.routeInterestChanged(this)
    }
  }

  processMsg(pa: PubArg, payload: Buffer, payloadStart: number): void {
    // Other accounts (nats-server's $SYS) are not ours to serve.
    const line = pa.line
    if (pa.accountEnd - pa.accountStart !== 2 || line[pa.accountStart] !== 0x24 || line[pa.accountStart + 1] !== 0x47) return
    this.stats.inMsgs++
    this.stats.inBytes += pa.size
    this.core.deliverRouted(pa, payload, payloadStart, this.lastSubject.decode(line, pa.subjectStart, pa.subjectEnd))
  }

  processPing(): void {
    this.sendProto(PONG)
  }

  processPong(): void {
    this.pingsOut = 0
  }

  processErr(arg: Buffer): void {
    this.logger.warn(`${this.describe()} - peer sent -ERR ${arg.toString('latin1')}`)
    this.closeRoute('Peer sent -ERR')
  }

  processOk(): void {
    // Routes are never verbose; nothing to do.
  }

  protocolError(wireError: string | null, detail: string): void {
    this.parser.halt()
    if (wireError !== null) this.sendProto(Buffer.from(`-ERR '${wireError}'\r\n`, 'latin1'))
    this.logger.warn(`${this.describe()} - ${detail}`)
    this.closeRoute('Protocol Violation')
  }

  /** Closes once. All interest learned from the peer goes with it, at once. */
  closeRoute(reason: string, isAbrupt = false): void {
    if (this.isClosed) return
    this.isClosed = true
    this.closeReason = reason
    this.parser.halt()
    if (this.pingTimer !== null) clearInterval(this.pingTimer)
    this.pingTimer = null
    this.resumeStalled()
    if (isAbrupt || this.socket.destroyed) {
      this.outbound.discard()
      this.socket.destroy()
    } else {
      this.outbound.flushTo(this.socket)
      this.socket.end()
      setTimeout(() => this.socket.destroy(), 2000).unref()
    }
    this.host.routeClosed(this)
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
