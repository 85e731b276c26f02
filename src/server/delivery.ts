// The delivery core: one match per published message, MSG/HMSG bytes appended
// to each matching subscriber's outbound buffer, one hop to the cluster, and
// one flush per touched connection at the end of each read chunk (FlushQueue).
// Read loop only: everything here runs synchronously inside one socket 'data'
// event or one microtask.
import { NO_CLUSTER, type ClusterResult, type ClusterSink, type Reader, type RemoteQueue, type RouteTarget } from './cluster-seam.js'
import type { FlushQueue } from './flush.js'
import { MsgWriter } from './msg-writer.js'
import type { PubArg } from './op-handler.js'
import { Sublist, type SublistResult } from './sublist.js'
import type { Subscriber, Subscription } from './subscription.js'

const CRLF = Buffer.from('\r\n')
const NO_RESPONDERS_HDR = Buffer.from('NATS/1.0 503\r\n\r\n')

export class DeliveryStats {
  inMsgs = 0
  inBytes = 0
  outMsgs = 0
  outBytes = 0
}

export class DeliveryCore {
  readonly sublist: Sublist<Subscription>
  readonly stats = new DeliveryStats()
  cluster: ClusterSink = NO_CLUSTER
  /** Local subscription counts per `subject` or `subject queue`, to send only the interest deltas that matter. */
  private readonly interest = new Map<string, number>()
  private readonly flusher: FlushQueue
  private readonly writer = new MsgWriter()
  // Per-message scratch for picking queue members on peers.
  private readonly pickedTargets: RouteTarget[] = []
  private readonly pickedQueues: Buffer[][] = []
  private pickedCount = 0

  constructor(flusher: FlushQueue, sublist: Sublist<Subscription> = new Sublist<Subscription>()) {
    this.flusher = flusher
    this.sublist = sublist
  }

  // ---- subscriptions -------------------------------------------------------

  /** false when the subject is not a valid subscription subject. */
  addSubscription(sub: Subscription): boolean {
    if (!this.sublist.insert(sub)) return false
    this.countInterest(sub.subject, sub.queue, 1)
    return true
  }

  removeSubscription(sub: Subscription): void {
    if (sub.isClosed) return
    sub.isClosed = true
    if (this.sublist.remove(sub)) this.countInterest(sub.subject, sub.queue, -1)
  }

  private countInterest(subject: string, queue: string | null, delta: number): void {
    const key = queue === null ? subject : subject + ' ' + queue
    const n = (this.interest.get(key) ?? 0) + delta
    if (n === 0) this.interest.delete(key)
    else this.interest.set(key, n)
    // A plain subject matters to peers only when it appears or disappears;
    // a queue group's weight is part of its interest (nats-server's RS+ weight).
    if (queue !== null || n === 0 || (n === 1 && delta === 1)) this.cluster.interestChanged(subject, queue, n)
  }

  /** Every (subject, queue, weight) with local interest: the full dump a new peer gets. */
  forEachInterest(fn: (subject: string, queue: string | null, weight: number) => void): void {
    for (const [key, weight] of this.interest) {
      const space = key.indexOf(' ')
      if (space < 0) fn(key, null, weight)
      else fn(key.slice(0, space), key.slice(space + 1), weight)
    }
  }

  // ---- delivery --------------------------------------------------------------

  /**
   * A publish from a local client: to matching local subscriptions, then one hop
   * to each peer with interest. Returns whether anyone at all was sent the message.
   */
  processInboundMsg(from: Subscriber, pa: PubArg, payload: Buffer, payloadStart: number, subject: string): boolean {
    const stats = this.stats
    stats.inMsgs++
    stats.inBytes += pa.size
    const result = this.sublist.match(subject)
    let delivered = this.deliverPlain(result, pa, payload, payloadStart, from)
    const remote = this.cluster.match(subject)
    if (result.qsubs.length !== 0 || remote.queues.length !== 0) {
      if (this.deliverQueues(result, remote, pa, payload, payloadStart, from)) delivered = true
    } else {
      this.pickedCount = 0
    }
    if (remote.plain.length !== 0 || this.pickedCount !== 0) {
      this.forward(remote, pa, payload, payloadStart, from.endpoint)
      delivered = true
    }
    return delivered
  }

  /** A message from a peer: local subscribers only, never another route (one hop). */
  deliverRouted(pa: PubArg, payload: Buffer, payloadStart: number, subject: string): void {
    const stats = this.stats
    stats.inMsgs++
    stats.inBytes += pa.size
    const result = this.sublist.match(subject)
    this.deliverPlain(result, pa, payload, payloadStart, null)
    // Queue members only for the groups the sender picked this node for.
    const qsubs = result.qsubs
    for (let q = 0; q < pa.queueCount; q++) {
      const name = pa.queue(q)
      for (let g = 0; g < qsubs.length; g++) {
        if (qsubs[g][0].queue === name) {
          this.deliverToGroup(qsubs[g], pa, payload, payloadStart, null)
          break
        }
      }
    }
  }

  /**
   * The 503 status nats-server sends for a request nobody can answer, to the
   * requester's own subscription on the reply subject.
   */
  sendNoResponders(client: Subscriber, replySubject: string): void {
    const result = this.sublist.match(replySubject)
    for (let i = 0; i < result.psubs.length; i++) {
      const sub = result.psubs[i]
      if (sub.client !== client) continue
      const out = client.endpoint.outbound
      const size = String(NO_RESPONDERS_HDR.length)
      const head = Buffer.from(`HMSG ${replySubject} ${sub.sid.toString('latin1')} ${size} ${size}\r\n`, 'latin1')
      out.appendAll(head)
      out.appendAll(NO_RESPONDERS_HDR)
      out.appendAll(CRLF)
      this.flusher.queueFlush(client.endpoint)
      client.afterDeliver(sub, NO_RESPONDERS_HDR.length)
      return
    }
  }

  private deliverPlain(result: SublistResult<Subscription>, pa: PubArg, payload: Buffer, payloadStart: number, from: Subscriber | null): boolean {
    const psubs = result.psubs
    let delivered = false
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i]
      if (sub.client === from && !from.isEcho) continue
      this.deliverMsg(sub, pa, payload, payloadStart)
      delivered = true
    }
    return delivered
  }

  /**
   * Each queue group gets the message once cluster-wide: a member is picked at
   * random with local members weighing one each and every peer weighing its
   * member count, as nats-server weighs routed queue subscriptions.
   */
  private deliverQueues(result: SublistResult<Subscription>, remote: ClusterResult, pa: PubArg, payload: Buffer, payloadStart: number, from: Subscriber | null): boolean {
    this.pickedCount = 0
    let delivered = false
    const qsubs = result.qsubs
    const rqs = remote.queues
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g]
      const name = group[0].queue
      let rq: RemoteQueue | null = null
      for (let r = 0; r < rqs.length; r++) if (rqs[r].name === name) { rq = rqs[r]; break }
      const remoteWeight = rq === null ? 0 : rq.totalWeight
      const pick = Math.floor(Math.random() * (group.length + remoteWeight))
      if (pick < group.length) {
        if (this.deliverToGroup(group, pa, payload, payloadStart, from, pick)) delivered = true
        else if (rq !== null) { this.pickRemote(rq, Math.floor(Math.random() * remoteWeight)); delivered = true }
      } else if (rq !== null) {
        this.pickRemote(rq, pick - group.length)
        delivered = true
      }
    }
    // Groups with members on peers only.
    for (let r = 0; r < rqs.length; r++) {
      const rq = rqs[r]
      let isLocal = false
      for (let g = 0; g < qsubs.length; g++) if (qsubs[g][0].queue === rq.name) { isLocal = true; break }
      if (isLocal) continue
      this.pickRemote(rq, Math.floor(Math.random() * rq.totalWeight))
      delivered = true
    }
    return delivered
  }

  /** Delivers to one member, starting at `start` and skipping the publisher if it has echo off. */
  private deliverToGroup(group: readonly Subscription[], pa: PubArg, payload: Buffer, payloadStart: number, from: Subscriber | null, start = Math.floor(Math.random() * group.length)): boolean {
    for (let k = 0; k < group.length; k++) {
      const sub = group[(start + k) % group.length]
      if (sub.isClosed || (sub.client === from && !from.isEcho)) continue
      this.deliverMsg(sub, pa, payload, payloadStart)
      return true
    }
    return false
  }

  private pickRemote(rq: RemoteQueue, point: number): void {
    let t = 0
    while (t < rq.targets.length - 1 && point >= rq.weights[t]) {
      point -= rq.weights[t]
      t++
    }
    const target = rq.targets[t]
    let slot = 0
    while (slot < this.pickedCount && this.pickedTargets[slot] !== target) slot++
    if (slot === this.pickedCount) {
      this.pickedTargets[slot] = target
      if (this.pickedQueues.length <= slot) this.pickedQueues.push([])
      this.pickedQueues[slot].length = 0
      this.pickedCount++
    }
    this.pickedQueues[slot].push(rq.nameBytes)
  }

  /** One RMSG per peer: plain interest, plus the queue groups it was picked for. */
  private forward(remote: ClusterResult, pa: PubArg, payload: Buffer, payloadStart: number, publisher: Reader): void {
    const plain = remote.plain
    const picked = this.pickedCount
    for (let i = 0; i < plain.length; i++) {
      const target = plain[i]
      let slot = 0
      while (slot < picked && this.pickedTargets[slot] !== target) slot++
      if (slot < picked) {
        const queues = this.pickedQueues[slot]
        target.sendMsg(pa, payload, payloadStart, queues, queues.length, publisher)
        queues.length = 0
      } else {
        target.sendMsg(pa, payload, payloadStart, EMPTY_QUEUES, 0, publisher)
      }
    }
    for (let slot = 0; slot < picked; slot++) {
      const queues = this.pickedQueues[slot]
      if (queues.length !== 0) this.pickedTargets[slot].sendMsg(pa, payload, payloadStart, queues, queues.length, publisher)
      queues.length = 0
      this.pickedTargets[slot] = NO_TARGET
    }
    this.pickedCount = 0
  }

  /** One MSG/HMSG to one subscription (the line from the shared MsgWriter), counted and queued for this read's flush. */
  deliverMsg(sub: Subscription, pa: PubArg, payload: Buffer, payloadStart: number): void {
    const client = sub.client
    const endpoint = client.endpoint
    const bytes = this.writer.appendMsg(endpoint.outbound, pa, payload, payloadStart, sub.sid, client.hasHeaders)
    const stats = this.stats
    stats.outMsgs++
    stats.outBytes += bytes
    this.flusher.queueFlush(endpoint)
    client.afterDeliver(sub, bytes)
  }
}

const EMPTY_QUEUES: readonly Buffer[] = Object.freeze([])
const NO_TARGET: RouteTarget = Object.freeze({ sendMsg(): void {} })
