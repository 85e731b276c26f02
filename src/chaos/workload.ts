// The traffic of a chaos run, carried by clients of both kinds: natsmesh/client
// (ZooKeeper discovery, failover, publish buffer) and plain nats.js with a
// static list of the first nodes' URLs.
//
//   publishers        numbered streams on chaos.s.<id> ("P1:17"), at a fixed rate
//   subscribers       literal and wildcard subscriptions to those streams
//   decoys            subscriptions no publish matches: any delivery is a misdelivery
//   queue publisher   a numbered stream on chaos.q.jobs
//   workers           queue group 'workers' on chaos.q.jobs: each number once, cluster-wide
//   requesters        request/reply on chaos.svc.echo, paced
//   responders        queue group 'svc' on chaos.svc.echo
//
// Per message only counters, one bit and a bucket increment are touched.
import { connect as natsConnect, Events, type Msg, type NatsConnection } from 'nats'
import { connect as meshConnect, type ClientEvent } from '../client/index.js'
import { CLUSTER_NAME } from './cluster.js'
import { AnomalyLog, BucketCounter, PublishLog, SeqSet, StreamTracker, subjectMatches } from './tracking.js'
import { sleep } from '../wait.js'

export type ClientKind = 'natsmesh' | 'nats.js'
export type ClientRole = 'publisher' | 'subscriber' | 'decoy' | 'queue-publisher' | 'worker' | 'requester' | 'responder'

/** nats.js pings every second and gives up after two unanswered: a hung node is left in 2–3 s. */
export const CLIENT_PING_INTERVAL_MS = 1_000
export const CLIENT_MAX_PINGS_OUT = 2
const PUBLISH_TICK_MS = 10
const REQUEST_TIMEOUT_MS = 1_000
/** Connection changes and client-library events kept per client. */
const MAX_KEPT_CHANGES = 2_000
const MAX_KEPT_EVENTS = 200
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export interface ConnectionChange {
  /** ms since the run's start. */
  at: number
  type: 'disconnect' | 'reconnect'
  /** host:port left or reached. */
  server: string
  /** A move the client library started (the node was leaving); null for nats.js clients. */
  isPlanned: boolean | null
}

export interface WorkloadContext {
  /** ms since the run's start. */
  clock(): number
  anomalies: AnomalyLog
  /** Longest time anything is counted at, for the bucket counters. */
  maxMs: number
  zookeeper: string
  /** Static URL list for nats.js clients. */
  staticUrls: string[]
}

export class ChaosClient {
  readonly id: string
  readonly kind: ClientKind
  readonly role: ClientRole
  readonly nc: NatsConnection
  readonly delivered: BucketCounter
  readonly changes: ConnectionChange[] = []
  /** natsmesh/client events (one line each), the first MAX_KEPT_EVENTS. */
  readonly events: string[]
  isConnected = true
  /** natsmesh/client said it is moving off its node: the next disconnect and reconnect are that move. */
  isMovePlanned = false
  private readonly clock: () => number

  constructor(id: string, kind: ClientKind, role: ClientRole, nc: NatsConnection, events: string[], ctx: WorkloadContext) {
    this.id = id
    this.kind = kind
    this.role = role
    this.nc = nc
    this.events = events
    this.clock = ctx.clock
    this.delivered = new BucketCounter(ctx.maxMs)
  }

  /** host:port of the node it is on (or was last on, while disconnected). */
  server(): string {
    return this.nc.getServer()
  }

  record(change: ConnectionChange): void {
    if (change.type === 'disconnect') this.isConnected = false
    else this.isConnected = true
    if (this.changes.length < MAX_KEPT_CHANGES) this.changes.push(change)
  }

  /** Follows nats.js's status stream (both kinds of client). */
  watch(): void {
    void (async () => {
      try {
        for await (const status of this.nc.status()) {
          if (status.type === Events.Disconnect || status.type === Events.Reconnect) {
            const type = status.type === Events.Disconnect ? 'disconnect' : 'reconnect'
            this.record({ at: this.clock(), type, server: String(status.data), isPlanned: this.kind === 'natsmesh' ? this.isMovePlanned : null })
            if (type === 'reconnect') this.isMovePlanned = false
          }
        }
      } catch {
        // The status stream ends with the connection; isConnected is settled by closed() below.
      }
    })()
    void this.nc.closed().then(() => { this.isConnected = false })
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return
    try {
      await this.nc.close()
    } catch {
      // Closed by the node already: nothing to release.
    }
  }
}

/** Connects one client of either kind; its status is followed from the start. */
export async function connectClient(id: string, kind: ClientKind, role: ClientRole, ctx: WorkloadContext, index: number): Promise<ChaosClient> {
  const events: string[] = []
  const common = {
    name: `chaos-${id}`,
    pingInterval: CLIENT_PING_INTERVAL_MS,
    maxPingOut: CLIENT_MAX_PINGS_OUT,
    reconnectTimeWait: 250,
    reconnectJitter: 50,
    maxReconnectAttempts: -1,
    timeout: 10_000,
  }
  let client: ChaosClient | null = null
  if (kind === 'natsmesh') {
    const onEvent = (e: ClientEvent): void => {
      if (events.length < MAX_KEPT_EVENTS) events.push(`${(ctx.clock() / 1000).toFixed(1)}s ${e.type}: ${e.message}`)
      if (e.type === 'moving' && e.level === 'info' && client !== null) client.isMovePlanned = true
    }
    const nc = await meshConnect({ ...common, zookeeper: ctx.zookeeper, cluster: CLUSTER_NAME, zkSessionTimeoutMs: 4_000, onEvent })
    client = new ChaosClient(id, kind, role, nc, events, ctx)
  } else {
    // Each nats.js client starts at a different node of the static list, and fails over in list order.
    const urls = ctx.staticUrls.slice(index % ctx.staticUrls.length).concat(ctx.staticUrls.slice(0, index % ctx.staticUrls.length))
    const nc = await natsConnect({ ...common, servers: urls, noRandomize: true })
    client = new ChaosClient(id, kind, role, nc, events, ctx)
  }
  client.watch()
  return client
}

// ---- publishers -----------------------------------------------------------------------

export function streamSubject(publisherId: string): string {
  return `chaos.s.${publisherId}`
}

export const QUEUE_SUBJECT = 'chaos.q.jobs'
export const SERVICE_SUBJECT = 'chaos.svc.echo'

/** A numbered stream at a fixed rate: "<id>:<seq>", seq from 1, no gaps in what was handed to the client. */
export class Publisher {
  readonly id: string
  readonly client: ChaosClient
  readonly subject: string
  readonly ratePerSec: number
  readonly log = new PublishLog()
  /** The last sequence number published. */
  seq = 0
  /** Publishes the client refused (threw), not numbered. */
  refused = 0
  /** Ticks missed by more than a second (event loop stalls) are skipped, not sent in one burst. */
  skipped = 0
  private timer: NodeJS.Timeout | null = null
  private startedAt = 0
  private due = 0
  private readonly clock: () => number

  constructor(id: string, client: ChaosClient, subject: string, ratePerSec: number, clock: () => number) {
    this.id = id
    this.client = client
    this.subject = subject
    this.ratePerSec = ratePerSec
    this.clock = clock
  }

  start(): void {
    this.startedAt = this.clock()
    this.timer = setInterval(() => this.tick(), PUBLISH_TICK_MS)
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  private tick(): void {
    const now = this.clock()
    const target = Math.floor(((now - this.startedAt) * this.ratePerSec) / 1000)
    if (target - this.due > this.ratePerSec) {
      this.skipped += target - this.due - this.ratePerSec
      this.due = target - this.ratePerSec
    }
    if (this.due >= target || this.client.nc.isClosed()) return
    this.log.add(now, this.seq + 1)
    for (; this.due < target; this.due++) {
      try {
        this.client.nc.publish(this.subject, encoder.encode(`${this.id}:${this.seq + 1}`))
        this.seq++
      } catch {
        this.refused++
      }
    }
  }
}

/** "P1:17" → ["P1", 17]; null when the payload is not ours. */
function parsePayload(data: Uint8Array): [string, number] | null {
  const text = decoder.decode(data)
  const colon = text.indexOf(':')
  if (colon <= 0) return null
  const seq = Number(text.slice(colon + 1))
  return Number.isSafeInteger(seq) && seq > 0 ? [text.slice(0, colon), seq] : null
}

// ---- subscribers ----------------------------------------------------------------------

/** One subscription to publisher streams; it must get exactly the streams its pattern matches. */
export class StreamSubscriber {
  readonly client: ChaosClient
  readonly pattern: string
  readonly trackers = new Map<string, StreamTracker>()
  private readonly anomalies: AnomalyLog
  private readonly clock: () => number

  constructor(client: ChaosClient, pattern: string, publishers: readonly Publisher[], ctx: WorkloadContext) {
    this.client = client
    this.pattern = pattern
    this.anomalies = ctx.anomalies
    this.clock = ctx.clock
    for (const p of publishers) {
      if (subjectMatches(pattern, p.subject)) this.trackers.set(p.id, new StreamTracker(p.id, client.id))
    }
    client.nc.subscribe(pattern, { callback: (_err, msg) => { if (msg !== undefined && msg !== null) this.onMessage(msg) } })
  }

  private onMessage(msg: Msg): void {
    const now = this.clock()
    this.client.delivered.add(now)
    const parsed = parsePayload(msg.data)
    const tracker = parsed === null ? undefined : this.trackers.get(parsed[0])
    if (parsed === null || tracker === undefined || msg.subject !== streamSubject(parsed[0]) || !subjectMatches(this.pattern, msg.subject)) {
      this.anomalies.add({ at: now, kind: 'misdelivered', client: this.client.id,
        detail: `'${msg.subject}' (${decoder.decode(msg.data).slice(0, 40)}) delivered to subscription '${this.pattern}'` })
      return
    }
    const wrong = tracker.record(parsed[1])
    if (wrong !== null) {
      this.anomalies.add({ at: now, kind: wrong, client: this.client.id,
        detail: `${parsed[0]} #${parsed[1]} ${wrong === 'duplicate' ? 'arrived again' : `arrived after #${tracker.last}`}` })
    }
  }
}

/** Every message here is a misdelivery: no publisher's subject matches the pattern. */
export class DecoySubscriber {
  readonly client: ChaosClient
  readonly patterns: string[]
  received = 0

  constructor(client: ChaosClient, patterns: string[], ctx: WorkloadContext) {
    this.client = client
    this.patterns = patterns
    for (const pattern of patterns) {
      client.nc.subscribe(pattern, {
        callback: (_err, msg) => {
          if (msg === undefined || msg === null) return
          this.received++
          ctx.anomalies.add({ at: ctx.clock(), kind: 'misdelivered', client: client.id,
            detail: `'${msg.subject}' delivered to decoy subscription '${pattern}'` })
        },
      })
    }
  }
}

/** A queue group's deliveries, all members together: each number at most once cluster-wide. */
export class QueueTracker {
  readonly seen = new SeqSet()
  delivered = 0
  twice = 0
  outOfOrder = 0
  readonly perWorker = new Map<string, number>()
  private readonly lastPerWorker = new Map<string, number>()

  record(worker: string, seq: number): 'queue-twice' | 'out-of-order' | null {
    this.perWorker.set(worker, (this.perWorker.get(worker) ?? 0) + 1)
    if (!this.seen.add(seq)) {
      this.twice++
      return 'queue-twice'
    }
    this.delivered++
    const last = this.lastPerWorker.get(worker) ?? 0
    if (seq < last) {
      this.outOfOrder++
      return 'out-of-order'
    }
    this.lastPerWorker.set(worker, seq)
    return null
  }
}

export function startWorker(client: ChaosClient, tracker: QueueTracker, ctx: WorkloadContext): void {
  client.nc.subscribe(QUEUE_SUBJECT, {
    queue: 'workers',
    callback: (_err, msg) => {
      if (msg === undefined || msg === null) return
      const now = ctx.clock()
      client.delivered.add(now)
      const parsed = parsePayload(msg.data)
      if (parsed === null || parsed[0] !== 'Q1') {
        ctx.anomalies.add({ at: now, kind: 'misdelivered', client: client.id, detail: `'${msg.subject}' (${decoder.decode(msg.data).slice(0, 40)}) delivered to worker` })
        return
      }
      const wrong = tracker.record(client.id, parsed[1])
      if (wrong !== null) {
        ctx.anomalies.add({ at: now, kind: wrong, client: client.id,
          detail: wrong === 'queue-twice' ? `job #${parsed[1]} delivered to a second member` : `job #${parsed[1]} arrived after a later one` })
      }
    },
  })
}

export function startResponder(client: ChaosClient, ctx: WorkloadContext): void {
  client.nc.subscribe(SERVICE_SUBJECT, {
    queue: 'svc',
    callback: (_err, msg) => {
      if (msg === undefined || msg === null) return
      client.delivered.add(ctx.clock())
      try {
        msg.respond(encoder.encode(`echo:${decoder.decode(msg.data)}`))
      } catch {
        // Between nodes with the publish buffer full, or closed: the requester times out, which is counted there.
      }
    },
  })
}

export type RequestFailure = 'timeout' | 'no-responders' | 'error'

/** Sequential requests at a fixed pace; every answer is checked against the question. */
export class Requester {
  readonly client: ChaosClient
  readonly ratePerSec: number
  sent = 0
  answered = 0
  wrong = 0
  /** Send time (ms since start), when it failed, and kind of every failed request. */
  readonly failures: Array<{ at: number; failedAt: number; kind: RequestFailure }> = []
  /** Send times of the answered requests, in order (the analysis sees when a requester's traffic resumed). */
  readonly answeredSentAt: number[] = []
  private isStopped = false
  private done: Promise<void> = Promise.resolve()
  private readonly ctx: WorkloadContext

  constructor(client: ChaosClient, ratePerSec: number, ctx: WorkloadContext) {
    this.client = client
    this.ratePerSec = ratePerSec
    this.ctx = ctx
  }

  start(maxRequests: number): void {
    this.done = (async () => {
      const interval = 1000 / this.ratePerSec
      for (let n = 1; n <= maxRequests && !this.isStopped; n++) {
        const sentAt = this.ctx.clock()
        await this.requestOnce(n, sentAt)
        const wait = interval - (this.ctx.clock() - sentAt)
        if (wait > 0 && !this.isStopped) await sleep(wait)
      }
    })()
  }

  async stop(): Promise<void> {
    this.isStopped = true
    await this.done
  }

  private async requestOnce(n: number, sentAt: number): Promise<void> {
    if (this.client.nc.isClosed()) return
    const question = `${this.client.id}:${n}`
    this.sent++
    try {
      const reply = await this.client.nc.request(SERVICE_SUBJECT, encoder.encode(question), { timeout: REQUEST_TIMEOUT_MS })
      this.client.delivered.add(this.ctx.clock())
      if (decoder.decode(reply.data) === `echo:${question}`) {
        this.answered++
        if (this.answeredSentAt.length < 1_000_000) this.answeredSentAt.push(sentAt)
      } else {
        this.wrong++
        this.ctx.anomalies.add({ at: this.ctx.clock(), kind: 'wrong-reply', client: this.client.id,
          detail: `asked '${question}', got '${decoder.decode(reply.data).slice(0, 40)}'` })
      }
    } catch (err) {
      const code = err !== null && typeof err === 'object' && 'code' in err ? String(err.code) : ''
      const kind: RequestFailure = code === '503' ? 'no-responders' : code === 'TIMEOUT' ? 'timeout' : 'error'
      if (this.failures.length < 100_000) this.failures.push({ at: sentAt, failedAt: this.ctx.clock(), kind })
    }
  }
}

