// Request/reply over raw sockets: one requester sends sequential requests with
// `_INBOX.<id>.<seq>` reply subjects, one responder answers each. Raw sockets
// rather than the nats client so both targets are measured through the same
// thin code, and the client library's own overhead (promises, muxed inbox
// lookup) does not dilute the difference between the servers.
import type net from 'node:net'
import { randomBytes } from 'node:crypto'
import type { Command, RequesterJob, ResponderJob } from './messages.js'
import { CONNECT_LINE, msgReply, msgSubject, nowNs, ProtocolScanner, trailingNumber } from './protocol.js'
import { dial, send, type Role } from './role.js'

/** Until the first answer, a request unanswered this long is sent again (routes may still form). */
const WARMUP_RETRY_MS = 200
/** No answer for this long in the measured phase ends the run with an error. */
const STALL_MS = 3000

/** Answers every request with a payload of the same size, one write per read chunk. */
export class Responder implements Role {
  private readonly socket: net.Socket
  private readonly fill: Buffer

  constructor(job: ResponderJob) {
    this.fill = Buffer.alloc(1 << 16, 'r')
    const scanner = new ProtocolScanner({
      onMsgLine: (line) => this.processRequest(line),
      onPing: () => this.socket.write('PONG\r\n'),
      onPong: () => send({ ev: 'ready' }),
      onInfo: () => {},
      onErr: (line) => send({ ev: 'error', message: `responder got ${line.toString('latin1')}` }),
    })
    this.socket = dial(job.port, scanner, () => {})
    // Several answers found in one chunk leave in one write.
    this.socket.on('data', () => this.socket.uncork())
    this.socket.prependListener('data', () => this.socket.cork())
    this.socket.write(`${CONNECT_LINE}SUB ${job.subject} 1\r\nPING\r\n`)
  }

  private processRequest(line: Buffer): void {
    const reply = msgReply(line)
    if (reply === null) return
    const size = trailingNumber(line)
    this.socket.write(Buffer.concat([
      Buffer.from('PUB '), reply, Buffer.from(` ${size}\r\n`),
      this.fill.subarray(0, size), Buffer.from('\r\n'),
    ]))
  }

  command(_cmd: Command): void {}
}

/** Sends one request, waits for its answer, records the round trip, repeats. */
export class Requester implements Role {
  private readonly job: RequesterJob
  private readonly socket: net.Socket
  private readonly inboxPrefix: string
  private readonly payload: string
  private readonly samplesUs: Float64Array
  private seq = 0
  private sentNs = 0
  private warmedUp = 0
  private measured = 0
  private startNs = 0
  private lastAnswerNs = 0
  private retryTimer: NodeJS.Timeout | null = null
  private watchdog: NodeJS.Timeout | null = null
  private isDone = false

  constructor(job: RequesterJob) {
    this.job = job
    this.inboxPrefix = `_INBOX.${randomBytes(8).toString('hex')}.`
    this.payload = 'q'.repeat(job.payloadBytes)
    this.samplesUs = new Float64Array(job.count)
    const scanner = new ProtocolScanner({
      onMsgLine: (line) => this.processAnswer(line),
      onPing: () => this.socket.write('PONG\r\n'),
      onPong: () => this.begin(),
      onInfo: () => {},
      onErr: (line) => this.finish(`requester got ${line.toString('latin1')}`),
    })
    this.socket = dial(job.port, scanner, (error) => this.finish(`requester connection closed: ${error ?? 'by server'}`))
    this.socket.write(`${CONNECT_LINE}SUB ${this.inboxPrefix}* 1\r\nPING\r\n`)
  }

  command(_cmd: Command): void {}

  private begin(): void {
    if (this.startNs !== 0) return
    this.startNs = nowNs()
    this.lastAnswerNs = this.startNs
    this.watchdog = setInterval(() => this.checkProgress(), 250)
    this.sendRequest()
  }

  private sendRequest(): void {
    this.seq++
    this.socket.write(`PUB ${this.job.subject} ${this.inboxPrefix}${this.seq} ${this.job.payloadBytes}\r\n${this.payload}\r\n`)
    this.sentNs = nowNs()
    if (this.warmedUp === 0) {
      if (this.retryTimer !== null) clearTimeout(this.retryTimer)
      this.retryTimer = setTimeout(() => this.sendRequest(), WARMUP_RETRY_MS)
    }
  }

  private processAnswer(line: Buffer): void {
    const answeredNs = nowNs()
    // An answer to a request that was retried during warmup: ignore it.
    if (trailingNumber(msgSubject(line)) !== this.seq || this.isDone) return
    this.lastAnswerNs = answeredNs
    if (this.warmedUp < this.job.warmup) {
      if (this.retryTimer !== null) clearTimeout(this.retryTimer)
      this.retryTimer = null
      this.warmedUp++
    } else {
      this.samplesUs[this.measured++] = (answeredNs - this.sentNs) / 1000
      if (this.measured === this.job.count) return this.finish(null)
    }
    this.sendRequest()
  }

  private checkProgress(): void {
    const now = nowNs()
    if (now - this.startNs > this.job.maxMs * 1e6) this.finish(this.measured > 0 ? null : 'no answers within the time limit')
    else if (this.warmedUp > 0 && now - this.lastAnswerNs > STALL_MS * 1e6) this.finish(`no answer for ${STALL_MS} ms`)
  }

  private finish(error: string | null): void {
    if (this.isDone) return
    this.isDone = true
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    if (this.watchdog !== null) clearInterval(this.watchdog)
    const sorted = this.samplesUs.slice(0, this.measured).sort()
    const at = (q: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))])
    send({
      ev: 'latency', count: sorted.length, error,
      p50Us: at(0.5), p90Us: at(0.9), p99Us: at(0.99), maxUs: at(1),
    })
  }
}
