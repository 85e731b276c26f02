// One client connection: socket in, parser, client ops, outbound buffer,
// keepalive and limits. Read loop only: every method runs on the event loop
// thread, inside a socket event, a timer, or the delivery core's flush.
import type { Socket } from 'node:net'
import { parseSize, splitArgs } from './args.js'
import type { DeliveryCore, Reader } from './delivery.js'
import { ERR_INVALID_PUBLISH_SUBJECT, ERR_INVALID_SUBJECT, ERR_NO_RESPONDERS_NEEDS_HEADERS, ERR_STALE_CONNECTION } from './errors.js'
import type { Logger } from './logger.js'
import type { OpHandler, PubArg } from './op-handler.js'
import type { ServerOptions } from './options.js'
import { Outbound, type ChunkPool } from './outbound.js'
import { CLIENT_OPS, Parser } from './parser.js'
import { LastSubject } from './subject-cache.js'
import { isValidLiteralSubject } from './subject.js'
import { Subscription, type Subscriber } from './subscription.js'

const OK = Buffer.from('+OK\r\n')
const PING = Buffer.from('PING\r\n')
const PONG = Buffer.from('PONG\r\n')

/** What a connection needs from the server that accepted it. */
export interface ClientHost {
  readonly core: DeliveryCore
  readonly options: ServerOptions
  readonly logger: Logger
  readonly pool: ChunkPool
  /** The connection is gone; forget it. */
  connectionClosed(conn: Connection): void
  slowConsumer(conn: Connection): void
}

/** The fields of CONNECT we act on, with nats-server's defaults for a client that omits them. */
export class ClientOptions {
  verbose = true
  pedantic = true
  echo = true
  headers = false
  noResponders = false
  protocol = 0
  name = ''
  lang = ''
  version = ''
  user = ''
}

const CONNECT_BOOLEANS = ['verbose', 'pedantic', 'echo', 'headers', 'no_responders', 'tls_required'] as const
const CONNECT_STRINGS = ['name', 'lang', 'version', 'user', 'pass', 'auth_token', 'jwt', 'nkey', 'sig'] as const

/** Parses CONNECT's JSON as nats-server's strict decoder would: wrong types are an error. */
function parseConnect(json: string): ClientOptions | null {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    return null
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null
  const obj = raw as Record<string, unknown>
  for (const k of CONNECT_BOOLEANS) if (k in obj && obj[k] !== null && typeof obj[k] !== 'boolean') return null
  for (const k of CONNECT_STRINGS) if (k in obj && obj[k] !== null && typeof obj[k] !== 'string') return null
  if ('protocol' in obj && obj.protocol !== null && !Number.isInteger(obj.protocol)) return null
  const o = new ClientOptions()
  if (typeof obj.verbose === 'boolean') o.verbose = obj.verbose
  if (typeof obj.pedantic === 'boolean') o.pedantic = obj.pedantic
  if (typeof obj.echo === 'boolean') o.echo = obj.echo
  if (typeof obj.headers === 'boolean') o.headers = obj.headers
  if (typeof obj.no_responders === 'boolean') o.noResponders = obj.no_responders
  if (typeof obj.protocol === 'number') o.protocol = obj.protocol
  if (typeof obj.name === 'string') o.name = obj.name
  if (typeof obj.lang === 'string') o.lang = obj.lang
  if (typeof obj.version === 'string') o.version = obj.version
  if (typeof obj.user === 'string') o.user = obj.user
  return o
}

export class ConnectionStats {
  inMsgs = 0
  inBytes = 0
  outMsgs = 0
  outBytes = 0
}

export class Connection implements OpHandler, Subscriber, Reader {
  readonly cid: number
  readonly socket: Socket
  readonly outbound: Outbound
  readonly parser: Parser
  readonly subs = new Map<string, Subscription>()
  readonly stats = new ConnectionStats()
  readonly startTime = Date.now()
  readonly remoteAddress: string
  readonly remotePort: number
  opts = new ClientOptions()
  flushQueued = false
  isClosed = false
  closeReason = ''
  lastActivity = Date.now()
  pingsOut = 0
  private stalls = 0
  private readonly host: ClientHost
  private readonly core: DeliveryCore
  private readonly logger: Logger
  private pingTimer: NodeJS.Timeout | null = null
  private writeDeadlineTimer: NodeJS.Timeout | null = null
  /** Bytes handed to the kernel when the write deadline was armed: progress since then means not stuck. */
  private bytesWrittenAtArm = 0
  private readonly argViews: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]
  private readonly lastSubject = new LastSubject()

  constructor(host: ClientHost, cid: number, socket: Socket, info: Buffer) {
    this.host = host
    this.core = host.core
    this.logger = host.logger
    this.cid = cid
    this.socket = socket
    this.remoteAddress = socket.remoteAddress ?? ''
    this.remotePort = socket.remotePort ?? 0
    this.outbound = new Outbound(host.pool)
    this.parser = new Parser(this, CLIENT_OPS)
    this.parser.maxPayload = host.options.maxPayload
    this.parser.maxControlLine = host.options.maxControlLine
    socket.setNoDelay(true)
    socket.on('error', this.onError)
    socket.on('close', this.onClose)
    socket.on('drain', this.onDrain)
    this.pingTimer = setInterval(this.onPingTimer, host.options.pingIntervalMs)
    this.pingTimer.unref()
    this.sendProto(info)
  }

  get isEcho(): boolean { return this.opts.echo }
  get hasHeaders(): boolean { return this.opts.headers }

  /** `cid:5 127.0.0.1:50312 "name"`, for log lines. */
  describe(): string {
    const name = this.opts.name === '' ? '' : ` "${this.opts.name}"`
    return `cid:${this.cid} ${this.remoteAddress}:${this.remotePort}${name}`
  }

  // ---- socket events (bound once) --------------------------------------------

  /** One read from the socket (a view of the shared read buffer: see read-buffer.ts). */
  readChunk(chunk: Buffer): void {
    if (this.isClosed) return
    this.lastActivity = Date.now()
    const core = this.core
    core.beginRead(this)
    this.parser.parse(chunk)
    core.endRead()
  }

  /** Paused by each route that this client's publishes backed up; reads resume when all have drained. */
  pauseReading(): void {
    if (this.stalls++ === 0) this.socket.pause()
  }

  resumeReading(): void {
    if (this.stalls > 0 && --this.stalls === 0 && !this.isClosed) this.socket.resume()
  }

  private readonly onError = (err: Error): void => {
    this.closeConnection(`Socket Error: ${err.message}`)
  }

  private readonly onClose = (): void => {
    this.closeConnection('Client Closed')
  }

  private readonly onDrain = (): void => {
    if (this.writeDeadlineTimer !== null) {
      clearTimeout(this.writeDeadlineTimer)
      this.writeDeadlineTimer = null
    }
  }

  private readonly onPingTimer = (): void => {
    if (this.isClosed) return
    if (this.pingsOut + 1 > this.host.options.maxPingsOut) {
      this.logger.debug(`${this.describe()} - Stale Client Connection - Closing`)
      this.sendErr(ERR_STALE_CONNECTION)
      this.closeConnection('Stale Connection')
      return
    }
    this.pingsOut++
    this.sendProto(PING)
  }

  /**
   * nats-server's write deadline bounds one blocked write, not a busy
   * stream: a client that keeps reading, however far behind, is making
   * progress. So the deadline only fires when nothing at all was written
   * for a whole deadline while bytes were waiting.
   */
  private readonly onWriteDeadline = (): void => {
    this.writeDeadlineTimer = null
    if (this.socket.writableLength === 0 || this.isClosed) return
    const written = this.bytesHandedToKernel()
    if (written !== this.bytesWrittenAtArm) {
      this.bytesWrittenAtArm = written
      this.writeDeadlineTimer = setTimeout(this.onWriteDeadline, this.host.options.writeDeadlineMs)
      return
    }
    this.logger.info(`${this.describe()} - Slow Consumer Detected: WriteDeadline of ${this.host.options.writeDeadlineMs}ms Exceeded`)
    this.host.slowConsumer(this)
    this.closeConnection('Slow Consumer (Write Deadline)', true)
  }

  /** socket.bytesWritten counts what Node still buffers too; take that away. */
  private bytesHandedToKernel(): number {
    return this.socket.bytesWritten - this.socket.writableLength
  }

  // ---- outbound --------------------------------------------------------------

  sendProto(bytes: Buffer): void {
    if (this.isClosed) return
    this.outbound.appendAll(bytes)
    this.core.queueFlush(this)
  }

  sendErr(text: string): void {
    this.sendProto(Buffer.from(`-ERR '${text}'\r\n`, 'latin1'))
  }

  flushOutbound(): void {
    if (this.socket.destroyed) {
      this.outbound.discard()
      return
    }
    this.outbound.flushTo(this.socket)
    if (this.socket.writableLength > 0 && this.writeDeadlineTimer === null && !this.isClosed) {
      this.bytesWrittenAtArm = this.bytesHandedToKernel()
      this.writeDeadlineTimer = setTimeout(this.onWriteDeadline, this.host.options.writeDeadlineMs)
    }
  }

  afterDeliver(sub: Subscription, payloadBytes: number): void {
    const stats = this.stats
    stats.outMsgs++
    stats.outBytes += payloadBytes
    if (++sub.delivered === sub.max) this.removeSub(sub)
    if (this.outbound.pendingBytes + this.socket.writableLength > this.host.options.maxPending) {
      this.logger.info(`${this.describe()} - Slow Consumer Detected: MaxPending of ${this.host.options.maxPending} Exceeded`)
      this.host.slowConsumer(this)
      this.closeConnection('Slow Consumer (Pending Bytes)', true)
    }
  }

  // ---- client ops (OpHandler) ------------------------------------------------

  processConnect(arg: Buffer): void {
    const opts = parseConnect(arg.toString('utf8'))
    if (opts === null) {
      // nats-server closes on a CONNECT it cannot decode, without an -ERR.
      this.protocolError(null, `invalid CONNECT: ${arg.toString('utf8', 0, 64)}`)
      return
    }
    if (opts.noResponders && !opts.headers) {
      this.protocolError(ERR_NO_RESPONDERS_NEEDS_HEADERS, 'no_responders without headers in CONNECT')
      return
    }
    this.opts = opts
    if (this.logger.isTrace) this.logger.trace(`${this.describe()} - <<- [CONNECT ${arg.toString('utf8')}]`)
    if (opts.verbose) this.sendProto(OK)
  }

  processSub(arg: Buffer): void {
    const args = this.argViews
    const n = splitArgs(arg, args)
    if (n !== 2 && n !== 3) {
      this.protocolError(null, `processSub Parse Error: '${arg.toString('latin1')}'`)
      return
    }
    if (this.logger.isTrace) this.logger.trace(`${this.describe()} - <<- [SUB ${arg.toString('latin1')}]`)
    const subject = args[0].toString('latin1')
    const queue = n === 3 ? args[1].toString('latin1') : null
    const sidBytes = args[n - 1]
    const sid = sidBytes.toString('latin1')
    if (this.subs.has(sid)) {
      // nats-server keeps the first subscription for a sid and ignores the repeat.
      if (this.opts.verbose) this.sendProto(OK)
      return
    }
    const sub = new Subscription(this, subject, queue, Buffer.from(sidBytes))
    if (!this.core.addSubscription(sub)) {
      this.sendErr(ERR_INVALID_SUBJECT)
      return
    }
    this.subs.set(sid, sub)
    if (this.opts.verbose) this.sendProto(OK)
  }

  processUnsub(arg: Buffer): void {
    const args = this.argViews
    const n = splitArgs(arg, args)
    if (n !== 1 && n !== 2) {
      this.protocolError(null, `processUnsub Parse Error: '${arg.toString('latin1')}'`)
      return
    }
    if (this.logger.isTrace) this.logger.trace(`${this.describe()} - <<- [UNSUB ${arg.toString('latin1')}]`)
    // An unreadable max counts as none, which unsubscribes at once (as nats-server).
    const max = n === 2 ? parseSize(args[1]) : -1
    const sub = this.subs.get(args[0].toString('latin1'))
    if (sub !== undefined) {
      if (max > 0 && sub.delivered < max) sub.max = max
      else this.removeSub(sub)
    }
    if (this.opts.verbose) this.sendProto(OK)
  }

  processMsg(pa: PubArg, payload: Buffer, payloadStart: number): void {
    if (pa.hdrSize >= 0 && !this.opts.headers) {
      // nats-server refuses HPUB from a client that did not announce headers, and closes.
      this.protocolError(null, 'HPUB from a client without headers support')
      return
    }
    const stats = this.stats
    stats.inMsgs++
    stats.inBytes += pa.size
    const subject = this.lastSubject.decode(pa.line, pa.subjectStart, pa.subjectEnd)
    if (this.logger.isTrace) this.logger.trace(`${this.describe()} - <<- [${pa.hdrSize >= 0 ? 'HPUB' : 'PUB'} ${subject} ${pa.hasReply ? pa.reply() + ' ' : ''}${pa.size}]`)
    // nats-server warns a pedantic client about a wildcard or empty token and
    // still delivers (client.go processPub); the -ERR comes before the +OK.
    if (this.opts.pedantic && !isValidLiteralSubject(subject)) this.sendErr(ERR_INVALID_PUBLISH_SUBJECT)
    if (this.opts.verbose) this.sendProto(OK)
    const delivered = this.core.processInboundMsg(this, pa, payload, payloadStart, subject)
    if (!delivered && pa.hasReply && this.opts.headers && this.opts.noResponders) {
      this.core.sendNoResponders(this, pa.reply())
    }
  }

  processPing(): void {
    if (this.logger.isTrace) this.logger.trace(`${this.describe()} - <<- [PING]`)
    this.sendProto(PONG)
  }

  processPong(): void {
    this.pingsOut = 0
  }

  processInfo(arg: Buffer): void {
    // nats-server decodes a client's INFO and ignores it; one it cannot decode closes the client.
    try {
      JSON.parse(arg.toString('utf8'))
    } catch {
      this.protocolError(null, `invalid INFO: ${arg.toString('utf8', 0, 64)}`)
    }
  }

  processErr(arg: Buffer): void {
    this.logger.debug(`${this.describe()} - client sent -ERR ${arg.toString('latin1')}`)
    this.closeConnection('Client sent -ERR')
  }

  processOk(): void {
    // Nothing to do: +OK from a client carries no request.
  }

  protocolError(wireError: string | null, detail: string): void {
    this.parser.halt()
    if (wireError !== null) this.sendErr(wireError)
    this.logger.info(`${this.describe()} - ${detail}`)
    this.closeConnection('Protocol Violation')
  }

  // ---- lifecycle -------------------------------------------------------------

  removeSub(sub: Subscription): void {
    this.subs.delete(sub.sid.toString('latin1'))
    this.core.removeSubscription(sub)
  }

  /**
   * Closes once: subscriptions leave the sublist (interest deltas go out), what
   * the client is owed is flushed, then the socket ends. isAbrupt drops the
   * pending bytes instead (slow consumers will not read them anyway).
   */
  closeConnection(reason: string, isAbrupt = false): void {
    if (this.isClosed) return
    this.isClosed = true
    this.closeReason = reason
    this.parser.halt()
    if (this.pingTimer !== null) clearInterval(this.pingTimer)
    if (this.writeDeadlineTimer !== null) clearTimeout(this.writeDeadlineTimer)
    this.pingTimer = null
    this.writeDeadlineTimer = null
    for (const sub of this.subs.values()) this.core.removeSubscription(sub)
    this.subs.clear()
    const socket = this.socket
    if (isAbrupt || socket.destroyed) {
      this.outbound.discard()
      socket.destroy()
    } else {
      this.outbound.flushTo(socket)
      socket.end()
      // A peer that never reads would hold the socket open forever.
      setTimeout(() => socket.destroy(), this.host.options.writeDeadlineMs).unref()
    }
    this.logger.debug(`${this.describe()} - Client connection closed: ${reason}`)
    this.host.connectionClosed(this)
  }
}
