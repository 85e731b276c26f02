// One socket of the node, to a client or to a peer: the read loop, the
// outbound bytes and their flush, PING/PONG keepalive and stale detection,
// the write deadline, pausing reads, protocol errors, and close-with-flush.
// Connection (clients) and cluster's Route are each composed from one
// Endpoint and add only their ops and policy (STYLE.md P10), so TLS, auth
// timeouts and per-connection limits plug in here, once for both.
// Read loop only: every method runs on the event loop thread, inside a socket
// event, a timer, or a flush.
import type { Socket } from 'node:net'
import type { Flushable, FlushQueue } from './flush.js'
import type { Logger } from './logger.js'
import { splitArgs, type LinkHandler, type OpHandler } from './op-handler.js'
import { Outbound, type ChunkPool } from './outbound.js'
import { CLIENT_OPS, Parser, ROUTE_OPS } from './parser.js'
import type { ChunkSink, RelayedSocket } from './read-buffer.js'

const PING = Buffer.from('PING\r\n')
const PONG = Buffer.from('PONG\r\n')

export type LogLevel = 'debug' | 'info' | 'warn'

/** What every endpoint of a server shares. */
export interface EndpointContext {
  readonly pool: ChunkPool
  readonly flusher: FlushQueue
  readonly logger: Logger
}

/** The policy of one kind of endpoint (clients or routes), fixed at setup. */
export interface EndpointSettings {
  /** The op set the parser accepts (client ops, or route ops). */
  readonly ops: 'client' | 'route'
  /** 'Client' or 'Route', for log lines. */
  readonly label: string
  readonly maxControlLine: number
  readonly maxPayload: number
  readonly pingIntervalMs: number
  readonly maxPingsOut: number
  /** Sent as `-ERR '…'` to a peer found stale before a flushed close; null cuts it at once, without a word. */
  readonly staleError: string | null
  /** A write that makes no progress for this long closes a slow consumer; 0 means no deadline. */
  readonly writeDeadlineMs: number
  /** How long a closing socket may take to take its last bytes before it is destroyed. */
  readonly closeTimeoutMs: number
  /** The close reason when the peer closes the socket. */
  readonly peerClosedReason: string
  /** Log level of the stale-connection line, and of protocol errors and slow consumers. */
  readonly staleLogLevel: LogLevel
  readonly faultLogLevel: LogLevel
}

/** Whoever an endpoint carries ops for: Connection or Route. */
export interface EndpointOwner extends OpHandler {
  /** `cid:5 127.0.0.1:50312 "name"` or `rid:2 peer`, for log lines. */
  describe(): string
  /** The peer sent PING; the PONG follows this call (a client may be owed a fresh INFO first). */
  pingReceived(): void
  /** Everything queued was taken by the kernel. */
  socketDrained(): void
  /** Counted when this endpoint is closed as a slow consumer. */
  slowConsumer(): void
  /** Called once, after the socket was ended or destroyed: drop subscriptions or interest, forget it. */
  endpointClosed(reason: string): void
}

/** Messages and payload bytes in and out of one link (nats-server's in_msgs … out_bytes). */
export class LinkStats {
  inMsgs = 0
  inBytes = 0
  outMsgs = 0
  outBytes = 0
}

export class Endpoint implements Flushable, ChunkSink, LinkHandler {
  readonly socket: Socket
  readonly outbound: Outbound
  readonly parser: Parser
  readonly stats = new LinkStats()
  readonly startTime = Date.now()
  readonly remoteAddress: string
  readonly remotePort: number
  flushQueued = false
  isClosed = false
  closeReason = ''
  lastActivity = Date.now()
  pingsOut = 0
  private readonly owner: EndpointOwner
  private readonly settings: EndpointSettings
  private readonly flusher: FlushQueue
  private readonly logger: Logger
  /** How many holders paused our reads (each route that our publishes backed up). */
  private stalls = 0
  private pingTimer: NodeJS.Timeout | null = null
  private writeDeadlineTimer: NodeJS.Timeout | null = null
  /** Bytes handed to the kernel when the write deadline was armed: progress since then means not stuck. */
  private bytesWrittenAtArm = 0

  constructor(context: EndpointContext, io: RelayedSocket, owner: EndpointOwner, settings: EndpointSettings, hello: Buffer) {
    this.owner = owner
    this.settings = settings
    this.flusher = context.flusher
    this.logger = context.logger
    const socket = io.socket
    this.socket = socket
    this.remoteAddress = socket.remoteAddress ?? ''
    this.remotePort = socket.remotePort ?? 0
    this.outbound = new Outbound(context.pool)
    this.parser = new Parser(owner, this, settings.ops === 'client' ? CLIENT_OPS : ROUTE_OPS)
    this.parser.maxControlLine = settings.maxControlLine
    this.parser.maxPayload = settings.maxPayload
    socket.setNoDelay(true)
    socket.on('error', this.onError)
    socket.on('close', this.onClose)
    socket.on('drain', this.onDrain)
    this.pingTimer = setInterval(this.onPingTimer, settings.pingIntervalMs)
    this.pingTimer.unref()
    io.relay.target = this
    this.sendProto(hello)
  }

  /** Bytes owed to the peer: ours plus what the socket has not written yet. */
  get pendingBytes(): number {
    return this.outbound.pendingBytes + this.socket.writableLength
  }

  // ---- reading ------------------------------------------------------------------

  /** One read from the socket (a view of the shared read buffer: see read-buffer.ts). */
  readChunk(chunk: Buffer): void {
    if (this.isClosed) return
    this.lastActivity = Date.now()
    const flusher = this.flusher
    flusher.beginRead()
    this.parser.parse(chunk)
    flusher.endRead()
  }

  /** Paused by each holder (a route this endpoint's publishes backed up); reads resume when all have resumed it. */
  pauseReading(): void {
    if (this.stalls++ === 0) this.socket.pause()
  }

  resumeReading(): void {
    if (this.stalls > 0 && --this.stalls === 0 && !this.isClosed) this.socket.resume()
  }

  /**
   * Splits an op's arguments into out and checks how many there are; a wrong
   * count is nats-server's `<handler> Parse Error` (logged, closed). Traces
   * the op. Returns the count, or -1 after a protocol error.
   */
  splitOpArgs(op: string, handlerName: string, arg: Buffer, out: Buffer[], counts: readonly number[]): number {
    const n = splitArgs(arg, out)
    if (!counts.includes(n)) {
      this.protocolError(null, `${handlerName} Parse Error: '${arg.toString('latin1')}'`)
      return -1
    }
    if (this.logger.isTrace) this.logger.trace(`${this.owner.describe()} - <<- [${op} ${arg.toString('latin1')}]`)
    return n
  }

  // ---- socket events (bound once) -------------------------------------------------

  private readonly onError = (err: Error): void => {
    this.close(`Socket Error: ${err.message}`)
  }

  private readonly onClose = (): void => {
    this.close(this.settings.peerClosedReason)
  }

  private readonly onDrain = (): void => {
    if (this.writeDeadlineTimer !== null) {
      clearTimeout(this.writeDeadlineTimer)
      this.writeDeadlineTimer = null
    }
    this.owner.socketDrained()
  }

  // ---- keepalive ------------------------------------------------------------------

  private readonly onPingTimer = (): void => {
    if (this.isClosed) return
    const settings = this.settings
    if (this.pingsOut + 1 > settings.maxPingsOut) {
      this.log(settings.staleLogLevel, `Stale ${settings.label} Connection - Closing`)
      if (settings.staleError === null) {
        this.close('Stale Connection', true)
      } else {
        this.sendErr(settings.staleError)
        this.close('Stale Connection')
      }
      return
    }
    this.pingsOut++
    this.sendProto(PING)
  }

  processPing(): void {
    if (this.logger.isTrace) this.logger.trace(`${this.owner.describe()} - <<- [PING]`)
    this.owner.pingReceived()
    this.sendProto(PONG)
  }

  /** The peer answered our PING. */
  processPong(): void {
    this.pingsOut = 0
  }

  processOk(): void {
    // +OK carries no request (routes are never verbose; a client has nothing to ack).
  }

  // ---- writing --------------------------------------------------------------------

  sendProto(bytes: Buffer): void {
    if (this.isClosed) return
    this.outbound.appendAll(bytes)
    this.flusher.queueFlush(this)
  }

  sendErr(text: string): void {
    this.sendProto(Buffer.from(`-ERR '${text}'\r\n`, 'latin1'))
  }

  /** Bytes were appended to outbound: flush them with this read's other writes. */
  queueFlush(): void {
    this.flusher.queueFlush(this)
  }

  flushOutbound(): void {
    if (this.socket.destroyed) {
      this.outbound.discard()
      return
    }
    this.outbound.flushTo(this.socket)
    if (this.socket.writableLength > 0 && this.writeDeadlineTimer === null && !this.isClosed && this.settings.writeDeadlineMs > 0) {
      this.bytesWrittenAtArm = this.bytesHandedToKernel()
      this.writeDeadlineTimer = setTimeout(this.onWriteDeadline, this.settings.writeDeadlineMs)
    }
  }

  /**
   * nats-server's write deadline bounds one blocked write, not a busy
   * stream: a peer that keeps reading, however far behind, is making
   * progress. So the deadline only fires when nothing at all was written
   * for a whole deadline while bytes were waiting.
   */
  private readonly onWriteDeadline = (): void => {
    this.writeDeadlineTimer = null
    if (this.socket.writableLength === 0 || this.isClosed) return
    const written = this.bytesHandedToKernel()
    if (written !== this.bytesWrittenAtArm) {
      this.bytesWrittenAtArm = written
      this.writeDeadlineTimer = setTimeout(this.onWriteDeadline, this.settings.writeDeadlineMs)
      return
    }
    this.closeSlowConsumer(`WriteDeadline of ${this.settings.writeDeadlineMs}ms Exceeded`, 'Slow Consumer (Write Deadline)')
  }

  /** socket.bytesWritten counts what Node still buffers too; take that away. */
  private bytesHandedToKernel(): number {
    return this.socket.bytesWritten - this.socket.writableLength
  }

  /** Closes the endpoint, without flushing, when it owes more than maxPending bytes. True when it did. */
  checkMaxPending(maxPending: number): boolean {
    if (this.pendingBytes <= maxPending) return false
    this.closeSlowConsumer(`MaxPending of ${maxPending} Exceeded`, 'Slow Consumer (Pending Bytes)')
    return true
  }

  private closeSlowConsumer(detail: string, reason: string): void {
    this.log(this.settings.faultLogLevel, `Slow Consumer Detected${this.settings.ops === 'route' ? ' on route' : ''}: ${detail}`)
    this.owner.slowConsumer()
    this.close(reason, true)
  }

  // ---- errors and closing ------------------------------------------------------------

  /**
   * The peer broke the protocol: stop parsing, send `-ERR '<wireError>'`
   * (none when nats-server closes without a word), log the detail, close.
   */
  protocolError(wireError: string | null, detail: string): void {
    this.parser.halt()
    if (wireError !== null) this.sendErr(wireError)
    this.log(this.settings.faultLogLevel, detail)
    this.close('Protocol Violation')
  }

  /**
   * Closes once: what the peer is owed is flushed, then the socket ends (a
   * peer that never reads is destroyed after closeTimeoutMs); isAbrupt drops
   * the pending bytes instead. Then the owner forgets it.
   */
  close(reason: string, isAbrupt = false): void {
    if (this.isClosed) return
    this.isClosed = true
    this.closeReason = reason
    this.parser.halt()
    if (this.pingTimer !== null) clearInterval(this.pingTimer)
    if (this.writeDeadlineTimer !== null) clearTimeout(this.writeDeadlineTimer)
    this.pingTimer = null
    this.writeDeadlineTimer = null
    const socket = this.socket
    if (isAbrupt || socket.destroyed) {
      this.outbound.discard()
      socket.destroy()
    } else {
      this.outbound.flushTo(socket)
      socket.end()
      setTimeout(() => socket.destroy(), this.settings.closeTimeoutMs).unref()
    }
    this.owner.endpointClosed(reason)
  }

  /**
   * Resolves once the socket has handed the kernel everything it was given
   * (after close(): its 'finish'), or is gone. The process may then exit
   * without losing what the peer is owed: the kernel still sends it.
   */
  written(): Promise<void> {
    const socket = this.socket
    if (socket.destroyed || socket.writableFinished) return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('finish', done)
        socket.off('close', done)
        resolve()
      }
      socket.once('finish', done)
      socket.once('close', done)
    })
  }

  private log(level: LogLevel, msg: string): void {
    this.logger[level](`${this.owner.describe()} - ${msg}`)
  }
}
