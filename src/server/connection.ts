// One client connection: the client ops (CONNECT, SUB, UNSUB, PUB/HPUB, PING)
// and their policy, on top of an Endpoint that owns the socket, the read
// loop, outbound bytes, keepalive and closing. Read loop only.
import { ClientOptions, parseConnect } from './connect-options.js'
import type { DeliveryCore } from './delivery.js'
import { Endpoint, type EndpointContext, type EndpointSettings, type LinkStats } from './endpoint.js'
import { ERR_INVALID_PUBLISH_SUBJECT, ERR_INVALID_SUBJECT, ERR_NO_RESPONDERS_NEEDS_HEADERS, ERR_STALE_CONNECTION } from './errors.js'
import type { Logger } from './logger.js'
import { LastSubject, parseSize, type OpHandler, type PubArg } from './op-handler.js'
import type { ServerOptions } from './options.js'
import type { RelayedSocket } from './read-buffer.js'
import { isValidLiteralSubject } from './subject.js'
import { Subscription, type Subscriber } from './subscription.js'

const OK = Buffer.from('+OK\r\n')
/** `SUB subj [queue] sid`, `UNSUB sid [max]`. */
const SUB_ARG_COUNTS = [2, 3]
const UNSUB_ARG_COUNTS = [1, 2]

/** What a connection needs from the server that accepted it. */
export interface ClientHost {
  readonly core: DeliveryCore
  readonly options: ServerOptions
  readonly logger: Logger
  readonly endpoints: EndpointContext
  /** Changes whenever the client INFO changes; a client told an older one gets the new INFO with its first PONG. */
  readonly infoGeneration: number
  sendInfo(conn: Connection): void
  /** The connection is gone; forget it. */
  connectionClosed(conn: Connection): void
  slowConsumer(conn: Connection): void
}

/** Client endpoints: nats-server's client limits, `-ERR 'Stale Connection'` before a flushed close. */
export function clientEndpointSettings(options: ServerOptions): EndpointSettings {
  return {
    ops: 'client',
    label: 'Client',
    maxControlLine: options.maxControlLine,
    maxPayload: options.maxPayload,
    pingIntervalMs: options.pingIntervalMs,
    maxPingsOut: options.maxPingsOut,
    staleError: ERR_STALE_CONNECTION,
    writeDeadlineMs: options.writeDeadlineMs,
    closeTimeoutMs: options.writeDeadlineMs,
    peerClosedReason: 'Client Closed',
    staleLogLevel: 'debug',
    faultLogLevel: 'info',
  }
}

export class Connection implements OpHandler, Subscriber {
  readonly cid: number
  readonly endpoint: Endpoint
  readonly subs = new Map<string, Subscription>()
  readonly stats: LinkStats
  opts = new ClientOptions()
  /** The INFO generation this client was last sent (see ClientHost.infoGeneration). */
  infoGenerationSeen: number
  private isFirstPongSent = false
  private readonly host: ClientHost
  private readonly core: DeliveryCore
  private readonly logger: Logger
  private readonly argViews: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]
  private readonly lastSubject = new LastSubject()

  constructor(host: ClientHost, cid: number, io: RelayedSocket, settings: EndpointSettings, info: Buffer) {
    this.host = host
    this.core = host.core
    this.logger = host.logger
    this.cid = cid
    this.infoGenerationSeen = host.infoGeneration
    this.endpoint = new Endpoint(host.endpoints, io, this, settings, info)
    this.stats = this.endpoint.stats
  }

  get isEcho(): boolean { return this.opts.echo }
  get hasHeaders(): boolean { return this.opts.headers }
  get isClosed(): boolean { return this.endpoint.isClosed }
  get remoteAddress(): string { return this.endpoint.remoteAddress }

  /** `cid:5 127.0.0.1:50312 "name"`, for log lines. */
  describe(): string {
    const name = this.opts.name === '' ? '' : ` "${this.opts.name}"`
    return `cid:${this.cid} ${this.endpoint.remoteAddress}:${this.endpoint.remotePort}${name}`
  }

  sendProto(bytes: Buffer): void {
    this.endpoint.sendProto(bytes)
  }

  afterDeliver(sub: Subscription, payloadBytes: number): void {
    const stats = this.stats
    stats.outMsgs++
    stats.outBytes += payloadBytes
    if (++sub.delivered === sub.max) this.removeSub(sub)
    this.endpoint.checkMaxPending(this.host.options.maxPending)
  }

  // ---- endpoint events (EndpointOwner) --------------------------------------------

  socketDrained(): void {
    // Nothing waits on a client's socket draining.
  }

  /**
   * Before the PONG to the client's first PING: if the INFO changed since
   * this client was sent one (it connected before a cluster change and had
   * not CONNECTed yet), it gets the current INFO first (nats-server processPing).
   */
  pingReceived(): void {
    if (this.isFirstPongSent) return
    this.isFirstPongSent = true
    if (this.opts.protocol >= 1 && this.infoGenerationSeen !== this.host.infoGeneration) this.host.sendInfo(this)
  }

  slowConsumer(): void {
    this.host.slowConsumer(this)
  }

  /** Subscriptions leave the sublist (interest deltas go out), then the server forgets us. */
  endpointClosed(reason: string): void {
    for (const sub of this.subs.values()) this.core.removeSubscription(sub)
    this.subs.clear()
    this.logger.debug(`${this.describe()} - Client connection closed: ${reason}`)
    this.host.connectionClosed(this)
  }

  closeConnection(reason: string, isAbrupt = false): void {
    this.endpoint.close(reason, isAbrupt)
  }

  // ---- client ops (OpHandler) ------------------------------------------------

  processConnect(arg: Buffer): void {
    const opts = parseConnect(arg.toString('utf8'))
    if (opts === null) {
      // nats-server closes on a CONNECT it cannot decode, without an -ERR.
      this.endpoint.protocolError(null, `invalid CONNECT: ${arg.toString('utf8', 0, 64)}`)
      return
    }
    if (opts.noResponders && !opts.headers) {
      this.endpoint.protocolError(ERR_NO_RESPONDERS_NEEDS_HEADERS, 'no_responders without headers in CONNECT')
      return
    }
    this.opts = opts
    if (this.logger.isTrace) this.logger.trace(`${this.describe()} - <<- [CONNECT ${arg.toString('utf8')}]`)
    if (opts.verbose) this.sendProto(OK)
  }

  processSub(arg: Buffer): void {
    const args = this.argViews
    const n = this.endpoint.splitOpArgs('SUB', 'processSub', arg, args, SUB_ARG_COUNTS)
    if (n < 0) return
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
      this.endpoint.sendErr(ERR_INVALID_SUBJECT)
      return
    }
    this.subs.set(sid, sub)
    if (this.opts.verbose) this.sendProto(OK)
  }

  processUnsub(arg: Buffer): void {
    const args = this.argViews
    const n = this.endpoint.splitOpArgs('UNSUB', 'processUnsub', arg, args, UNSUB_ARG_COUNTS)
    if (n < 0) return
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
      this.endpoint.protocolError(null, 'HPUB from a client without headers support')
      return
    }
    const stats = this.stats
    stats.inMsgs++
    stats.inBytes += pa.size
    const subject = this.lastSubject.decode(pa.line, pa.subjectStart, pa.subjectEnd)
    if (this.logger.isTrace) this.logger.trace(`${this.describe()} - <<- [${pa.hdrSize >= 0 ? 'HPUB' : 'PUB'} ${subject} ${pa.hasReply ? pa.reply() + ' ' : ''}${pa.size}]`)
    // nats-server warns a pedantic client about a wildcard or empty token and
    // still delivers (client.go processPub); the -ERR comes before the +OK.
    if (this.opts.pedantic && !isValidLiteralSubject(subject)) this.endpoint.sendErr(ERR_INVALID_PUBLISH_SUBJECT)
    if (this.opts.verbose) this.sendProto(OK)
    const delivered = this.core.processInboundMsg(this, pa, payload, payloadStart, subject)
    if (!delivered && pa.hasReply && this.opts.headers && this.opts.noResponders) {
      this.core.sendNoResponders(this, pa.reply())
    }
  }

  processInfo(arg: Buffer): void {
    // nats-server decodes a client's INFO and ignores it; one it cannot decode closes the client.
    try {
      JSON.parse(arg.toString('utf8'))
    } catch {
      this.endpoint.protocolError(null, `invalid INFO: ${arg.toString('utf8', 0, 64)}`)
    }
  }

  processErr(arg: Buffer): void {
    this.logger.debug(`${this.describe()} - client sent -ERR ${arg.toString('latin1')}`)
    this.closeConnection('Client sent -ERR')
  }

  removeSub(sub: Subscription): void {
    this.subs.delete(sub.sid.toString('latin1'))
    this.core.removeSubscription(sub)
  }
}
