// The chaos run's cast of clients, who they are and what they do. The mix
// covers both kinds of client in every role, literal and wildcard interest,
// queue groups and request/reply; the nats.js clients have a static list of
// the first nodes, the natsmesh ones follow ZooKeeper.
import { randomBytes } from 'node:crypto'
import { connect as natsConnect, type NatsConnection } from 'nats'
import type { ChaosCluster } from './cluster.js'
import { sleep } from '../wait.js'
import {
  ChaosClient, DecoySubscriber, Publisher, QUEUE_SUBJECT, QueueTracker, Requester, StreamSubscriber, connectClient,
  startResponder, startWorker, streamSubject, type ClientKind, type ClientRole, type WorkloadContext,
} from './workload.js'

interface CastMember {
  id: string
  kind: ClientKind
  role: ClientRole
  /** Subscribers and decoys: their subscriptions. */
  patterns?: string[]
  /** Publishers: a multiple of --rate. */
  rateFactor?: number
}

/** P1 is the hot publisher (twice the rate): the `hotkill` fault kills the node it is on. */
export const HOT_PUBLISHER = 'P1'

export const CAST: readonly CastMember[] = [
  { id: 'P1', kind: 'natsmesh', role: 'publisher', rateFactor: 2 },
  { id: 'P2', kind: 'natsmesh', role: 'publisher', rateFactor: 1 },
  { id: 'P3', kind: 'nats.js', role: 'publisher', rateFactor: 1 },
  { id: 'S1', kind: 'natsmesh', role: 'subscriber', patterns: ['chaos.s.*'] },
  { id: 'S2', kind: 'nats.js', role: 'subscriber', patterns: ['chaos.s.*'] },
  { id: 'S3', kind: 'natsmesh', role: 'subscriber', patterns: ['chaos.s.P1'] },
  { id: 'S4', kind: 'natsmesh', role: 'subscriber', patterns: ['chaos.s.>'] },
  { id: 'S5', kind: 'nats.js', role: 'subscriber', patterns: ['chaos.s.P3'] },
  { id: 'D1', kind: 'nats.js', role: 'decoy', patterns: ['chaos.s.none', 'chaos.t.*'] },
  { id: 'D2', kind: 'natsmesh', role: 'decoy', patterns: ['chaos.s.*.x', 'chaos.s'] },
  { id: 'Q1', kind: 'natsmesh', role: 'queue-publisher', rateFactor: 1 },
  { id: 'W1', kind: 'natsmesh', role: 'worker' },
  { id: 'W2', kind: 'natsmesh', role: 'worker' },
  { id: 'W3', kind: 'nats.js', role: 'worker' },
  { id: 'RQ1', kind: 'natsmesh', role: 'requester' },
  { id: 'RQ2', kind: 'nats.js', role: 'requester' },
  { id: 'R1', kind: 'natsmesh', role: 'responder' },
  { id: 'R2', kind: 'nats.js', role: 'responder' },
]

export class Traffic {
  readonly clients: ChaosClient[] = []
  readonly publishers: Publisher[] = []
  readonly subscribers: StreamSubscriber[] = []
  readonly decoys: DecoySubscriber[] = []
  readonly queue = new QueueTracker()
  queuePublisher: Publisher | null = null
  readonly requesters: Requester[] = []

  private constructor() {
    // Built by connect() only.
  }

  /** Connects the whole cast and makes every subscription; nothing is published yet. */
  static async connect(ctx: WorkloadContext, rate: number, requestRate: number): Promise<Traffic> {
    const traffic = new Traffic()
    let natsIndex = 0
    const clients = await Promise.all(CAST.map((m) => connectClient(m.id, m.kind, m.role, ctx, m.kind === 'nats.js' ? natsIndex++ : 0)))
    traffic.clients.push(...clients)
    const byId = new Map(clients.map((c) => [c.id, c]))
    const client = (id: string): ChaosClient => byId.get(id) as ChaosClient
    for (const m of CAST) {
      if (m.role === 'publisher') {
        traffic.publishers.push(new Publisher(m.id, client(m.id), streamSubject(m.id), rate * (m.rateFactor ?? 1), ctx.clock))
      } else if (m.role === 'queue-publisher') {
        traffic.queuePublisher = new Publisher(m.id, client(m.id), QUEUE_SUBJECT, rate * (m.rateFactor ?? 1), ctx.clock)
      }
    }
    for (const m of CAST) {
      const c = client(m.id)
      if (m.role === 'subscriber') for (const p of m.patterns ?? []) traffic.subscribers.push(new StreamSubscriber(c, p, traffic.publishers, ctx))
      else if (m.role === 'decoy') traffic.decoys.push(new DecoySubscriber(c, m.patterns ?? [], ctx))
      else if (m.role === 'worker') startWorker(c, traffic.queue, ctx)
      else if (m.role === 'responder') startResponder(c, ctx)
      else if (m.role === 'requester') traffic.requesters.push(new Requester(c, requestRate, ctx))
    }
    await Promise.all(clients.map((c) => c.nc.flush()))
    return traffic
  }

  client(id: string): ChaosClient | null {
    return this.clients.find((c) => c.id === id) ?? null
  }

  /**
   * Resolves once every node knows every subscription of the cast: each
   * client subscribes a fresh subject after its real ones, and a probe
   * published on each node reaches it (interest travels in order on each
   * route, DESIGN.md "Order"). Bounded by timeoutMs.
   */
  async waitForInterest(cluster: ChaosCluster, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    const probes: NatsConnection[] = []
    try {
      for (const node of cluster.live()) {
        probes.push(await natsConnect({ servers: node.clientUrl, reconnect: false, ignoreClusterUpdates: true, name: `chaos-barrier-${node.label}` }))
      }
      const waits = this.clients.map(async (c) => {
        const subject = `chaos.barrier.${randomBytes(6).toString('hex')}`
        const seen = new Set<number>()
        const sub = c.nc.subscribe(subject, { callback: (_err, msg) => { if (msg !== null && msg !== undefined) seen.add(Number(msg.string())) } })
        await c.nc.flush()
        for (let i = 0; i < 100_000 && seen.size < probes.length && Date.now() < deadline; i++) {
          probes.forEach((p, n) => { if (!seen.has(n)) p.publish(subject, String(n)) })
          await sleep(100)
        }
        sub.unsubscribe()
        if (seen.size < probes.length) throw new Error(`interest of ${c.id} did not reach every node within ${timeoutMs} ms`)
      })
      await Promise.all(waits)
    } finally {
      await Promise.all(probes.map((p) => p.close().catch(() => undefined)))
    }
  }

  start(maxRequestsEach: number): void {
    for (const p of this.publishers) p.start()
    this.queuePublisher?.start()
    for (const r of this.requesters) r.start(maxRequestsEach)
  }

  async stop(): Promise<void> {
    for (const p of this.publishers) p.stop()
    this.queuePublisher?.stop()
    await Promise.all(this.requesters.map((r) => r.stop()))
  }

  /** Every subscription has the last number of every stream it follows, and the queue has its last job. */
  isCaughtUp(): boolean {
    for (const s of this.subscribers) {
      for (const [id, tracker] of s.trackers) {
        const p = this.publishers.find((x) => x.id === id)
        if (p !== undefined && tracker.last < p.seq) return false
      }
    }
    const q = this.queuePublisher
    return q === null || q.seq === 0 || this.queue.seen.has(q.seq)
  }

  published(): number {
    return this.publishers.reduce((n, p) => n + p.seq, 0) + (this.queuePublisher?.seq ?? 0)
  }

  delivered(): number {
    let n = this.queue.delivered
    for (const s of this.subscribers) for (const t of s.trackers.values()) n += t.received
    return n
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()))
  }
}
