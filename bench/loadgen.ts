// Entry of a load generator process (child_process.fork of dist/bench/loadgen.js).
// One process plays one role, so a publisher and its subscribers never share
// an event loop with each other or with the runner. Each role speaks raw NATS
// over one socket (see protocol.ts); the runner drives it with the Commands
// in messages.ts.
import net from 'node:net'
import type { Command, Job, PubJob, SubJob } from './messages.js'
import {
  buildPubBatch, CONNECT_LINE, DATA_SID, messagesPerBatch, nowNs, PROBE_SID,
  ProtocolScanner, pubFrameBytes,
} from './protocol.js'
import { Requester, Responder } from './latency-roles.js'
import { dial, send, type Role } from './role.js'

/** The publisher queues up to this much in Node before waiting for 'drain'. */
const MAX_QUEUED_BYTES = 1 << 20
const PROBE_INTERVAL_MS = 10

/**
 * Writes pre-built PUB batches as fast as the socket drains, then PING and
 * waits for the PONG: the server has processed every PUB once it answers.
 */
class Publisher implements Role {
  private readonly job: PubJob
  private readonly socket: net.Socket
  private readonly batch: Buffer
  private readonly perBatch: number
  private readonly frameBytes: number
  private readonly probe: Buffer
  private probeTimer: NodeJS.Timeout | null = null
  private sent = 0
  private startNs = 0
  private startCpu: NodeJS.CpuUsage | null = null
  private deadlineNs = 0
  private isFinishing = false

  constructor(job: PubJob) {
    this.job = job
    this.perBatch = messagesPerBatch(job.subject, job.payloadBytes)
    this.frameBytes = pubFrameBytes(job.subject, job.payloadBytes)
    this.batch = buildPubBatch(job.subject, job.payloadBytes, this.perBatch)
    this.probe = Buffer.from(`PUB ${job.probeSubject} 0\r\n\r\n`, 'latin1')
    const scanner = new ProtocolScanner({
      onMsgLine: null,
      onPing: () => this.socket.write('PONG\r\n'),
      onPong: () => this.processPong(),
      onInfo: () => {},
      onErr: (line) => send({ ev: 'error', message: `publisher got ${line.toString('latin1')}` }),
    })
    this.socket = dial(job.port, scanner, (error) => {
      if (!this.isFinishing) send({ ev: 'error', message: `publisher connection closed: ${error ?? 'by server'}` })
    })
    this.socket.on('drain', () => this.pump())
    this.socket.write(CONNECT_LINE + 'PING\r\n')
  }

  private processPong(): void {
    if (this.startNs === 0) {
      // Connected: probe until the runner has seen every subscriber get one.
      this.probeTimer = setInterval(() => this.socket.write(this.probe), PROBE_INTERVAL_MS)
      send({ ev: 'ready' })
      return
    }
    send({ ev: 'published', sent: this.sent, startNs: this.startNs, endNs: nowNs(), cpuUs: cpuSince(this.startCpu) })
  }

  command(cmd: Command): void {
    if (cmd.op !== 'go') return
    if (this.probeTimer !== null) clearInterval(this.probeTimer)
    this.probeTimer = null
    this.startNs = nowNs()
    this.startCpu = process.cpuUsage()
    this.deadlineNs = this.startNs + this.job.maxMs * 1e6
    this.pump()
  }

  private pump(): void {
    if (this.startNs === 0 || this.isFinishing) return
    const socket = this.socket
    while (this.sent < this.job.count) {
      const n = Math.min(this.perBatch, this.job.count - this.sent)
      this.sent += n
      socket.write(n === this.perBatch ? this.batch : this.batch.subarray(0, n * this.frameBytes))
      if (socket.writableLength >= MAX_QUEUED_BYTES) {
        if (nowNs() < this.deadlineNs) return // 'drain' calls pump again
        break
      }
    }
    this.isFinishing = true
    socket.write('PING\r\n')
  }
}

/** Counts MSG frames; the runner polls it with 'status'. */
class Subscriber implements Role {
  private readonly socket: net.Socket
  private readonly scanner: ProtocolScanner
  private firstNs = 0
  private lastNs = 0
  private isReady = false
  private readyCpu: NodeJS.CpuUsage | null = null
  private isProbed = false
  private isClosed = false
  private error: string | null = null

  constructor(job: SubJob) {
    this.scanner = new ProtocolScanner({
      onMsgLine: null,
      onPing: () => this.socket.write('PONG\r\n'),
      onPong: () => {
        if (this.isReady) return
        this.isReady = true
        this.readyCpu = process.cpuUsage()
        send({ ev: 'ready' })
      },
      onInfo: () => {},
      onErr: (line) => { this.error = line.toString('latin1') },
    })
    this.socket = net.connect({ port: job.port, host: '127.0.0.1', noDelay: true })
    this.socket.on('error', (err) => { this.error = err.message })
    this.socket.on('close', () => { this.isClosed = true })
    this.socket.on('data', (chunk: Buffer) => this.processChunk(chunk))
    const queue = job.queue === null ? '' : ` ${job.queue}`
    // Data SUB before the probe SUB: interest travels in order, so a probe
    // arriving proves the data interest has reached the publisher's node.
    this.socket.write(
      CONNECT_LINE +
      `SUB ${job.subject}${queue} ${DATA_SID}\r\n` +
      `SUB ${job.probeSubject} ${PROBE_SID}\r\n` +
      'PING\r\n',
    )
  }

  private processChunk(chunk: Buffer): void {
    const before = this.scanner.dataMsgs
    const arrivedNs = nowNs()
    this.scanner.feed(chunk)
    if (this.scanner.dataMsgs !== before) {
      if (this.firstNs === 0) this.firstNs = arrivedNs
      this.lastNs = nowNs()
    }
    if (!this.isProbed && this.scanner.probeMsgs > 0) {
      this.isProbed = true
      send({ ev: 'probed' })
    }
  }

  command(cmd: Command): void {
    if (cmd.op !== 'status') return
    send({
      ev: 'status', received: this.scanner.dataMsgs, firstNs: this.firstNs, lastNs: this.lastNs,
      isClosed: this.isClosed, error: this.error, cpuUs: cpuSince(this.readyCpu),
    })
  }
}

function cpuSince(start: NodeJS.CpuUsage | null): number {
  if (start === null) return 0
  const used = process.cpuUsage(start)
  return used.user + used.system
}

function startRole(job: Job): Role {
  switch (job.role) {
    case 'pub': return new Publisher(job)
    case 'sub': return new Subscriber(job)
    case 'responder': return new Responder(job)
    case 'requester': return new Requester(job)
  }
}

function main(): void {
  let role: Role | null = null
  process.on('message', (cmd: Command) => {
    if (cmd.op === 'stop') process.exit(0)
    if (cmd.op === 'job') role = startRole(cmd.job)
    else if (role !== null) role.command(cmd)
  })
  // The runner is gone (killed, crashed): never outlive it.
  process.on('disconnect', () => process.exit(0))
}

main()
