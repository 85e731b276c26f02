// The delivery core: one match per published message, MSG/HMSG bytes appended
// to each matching subscriber's outbound buffer, one hop to the cluster, and
// one flush per touched connection at the end of each read chunk. Read loop
// only: everything here runs synchronously inside one socket 'data' event or
// one microtask.
import type { PubArg } from './op-handler.js'
import { Sublist, type SublistResult } from './sublist.js'
import type { Flushable, Subscriber, Subscription } from './subscription.js'
import { copyBytes } from './outbound.js'

/**
 * A connection whose reads can be paused: a route that backs up pauses the
 * client whose publishes filled it, instead of being cut off (see Route).
 */
export interface Reader {
  pauseReading(): void
  resumeReading(): void
}

/** A peer node as the delivery core sees it: somewhere to send one RMSG/HMSG. */
export interface RouteTarget {
  /**
   * payload[payloadStart, +pa.size) is the message; queues[0..queueCount) name the
   * queue groups this peer must serve; none means plain subscribers only.
   */
  sendMsg(pa: PubArg, payload: Buffer, payloadStart: number, queues: readonly Buffer[], queueCount: number): void
}

export interface RemoteQueue {
  readonly name: string
  readonly nameBytes: Buffer
  readonly targets: readonly RouteTarget[]
  readonly weights: readonly number[]
  readonly totalWeight: number
}

/** Which peers want a subject: plain interest, and queue groups with their members' weights. */
export interface ClusterResult {
  readonly plain: readonly RouteTarget[]
  readonly queues: readonly RemoteQueue[]
}

/**
 * What the server needs from the cluster (implemented in src/cluster, never
 * imported from there). Messages from routes come back through
 * DeliveryCore.deliverRouted, which never calls match: the one-hop rule.
 */
export interface ClusterSink {
  /**
   * Local interest changed. weight is the number of local subscriptions on
   * (subject, queue) now; the core calls this only when it matters: a plain
   * subject going 0→1 or 1→0, and every change of a queue group's count.
   */
  interestChanged(subject: string, queue: string | null, weight: number): void
  match(subject: string): ClusterResult
}

export const EMPTY_CLUSTER_RESULT: ClusterResult = Object.freeze({ plain: [], queues: [] })

/** Single-node mode: no routes, no branches on "is there a cluster". */
export const NO_CLUSTER: ClusterSink = Object.freeze({
  interestChanged(): void {},
  match(): ClusterResult { return EMPTY_CLUSTER_RESULT },
})

const CRLF = Buffer.from('\r\n')
const MSG_OP = Buffer.from('MSG ')
const HMSG_OP = Buffer.from('HMSG ')
const SPACE = 0x20
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
  private toFlush: Flushable[] = []
  private isInRead = false
  /** The connection whose read chunk is being processed; null outside reads. */
  reader: Reader | null = null
  private isFlushScheduled = false
  private readonly flushAllBound = (): void => this.flushAll()
  /** Scratch for one MSG control line: `MSG subj sid [reply] size\r\n`. Grows to the longest line seen. */
  private line = Buffer.allocUnsafe(1024)
  // Per-message scratch for picking queue members on peers.
  private readonly pickedTargets: RouteTarget[] = []
  private readonly pickedQueues: Buffer[][] = []
  private pickedCount = 0

  constructor(sublist: Sublist<Subscription> = new Sublist<Subscription>()) {
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

  // ---- flushing --------------------------------------------------------------

  /** Marks f to be flushed once at the end of this read chunk (or in a microtask outside reads). */
  queueFlush(f: Flushable): void {
    if (f.flushQueued) return
    f.flushQueued = true
    this.toFlush.push(f)
    if (!this.isInRead && !this.isFlushScheduled) {
      this.isFlushScheduled = true
      queueMicrotask(this.flushAllBound)
    }
  }

  beginRead(reader: Reader | null): void {
    this.isInRead = true
    this.reader = reader
  }

  endRead(): void {
    this.isInRead = false
    this.reader = null
    this.flushAll()
  }

  private flushAll(): void {
    this.isFlushScheduled = false
    const list = this.toFlush
    // A flush can close a connection, which may queue more; take the list first.
    this.toFlush = []
    for (let i = 0; i < list.length; i++) {
      const f = list[i]
      f.flushQueued = false
      f.flushOutbound()
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
      this.forward(remote, pa, payload, payloadStart)
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
      const out = client.outbound
      const size = String(NO_RESPONDERS_HDR.length)
      const head = Buffer.from(`HMSG ${replySubject} ${sub.sid.toString('latin1')} ${size} ${size}\r\n`, 'latin1')
      out.appendAll(head)
      out.appendAll(NO_RESPONDERS_HDR)
      out.appendAll(CRLF)
      this.queueFlush(client)
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
  private forward(remote: ClusterResult, pa: PubArg, payload: Buffer, payloadStart: number): void {
    const plain = remote.plain
    const picked = this.pickedCount
    for (let i = 0; i < plain.length; i++) {
      const target = plain[i]
      let slot = 0
      while (slot < picked && this.pickedTargets[slot] !== target) slot++
      if (slot < picked) {
        const queues = this.pickedQueues[slot]
        target.sendMsg(pa, payload, payloadStart, queues, queues.length)
        queues.length = 0
      } else {
        target.sendMsg(pa, payload, payloadStart, EMPTY_QUEUES, 0)
      }
    }
    for (let slot = 0; slot < picked; slot++) {
      const queues = this.pickedQueues[slot]
      if (queues.length !== 0) this.pickedTargets[slot].sendMsg(pa, payload, payloadStart, queues, queues.length)
      queues.length = 0
      this.pickedTargets[slot] = NO_TARGET
    }
    this.pickedCount = 0
  }

  /**
   * Appends `MSG subj sid [reply] size\r\n<payload>\r\n` (or HMSG) to the
   * subscriber's outbound buffer, copying the publisher's bytes: nothing is
   * formatted per delivery.
   */
  deliverMsg(sub: Subscription, pa: PubArg, payload: Buffer, payloadStart: number): void {
    const client = sub.client
    const out = client.outbound
    const src = pa.line
    const hasHdr = pa.hdrSize >= 0
    const withHdr = hasHdr && client.hasHeaders
    let bodyStart = payloadStart
    let sizeDigits: Buffer = src
    let sizeStart = pa.sizeStart
    let sizeEnd = pa.sizeEnd
    if (hasHdr && !withHdr) {
      // nats-server strips the headers for clients that did not ask for them.
      bodyStart += pa.hdrSize
      sizeDigits = Buffer.from(String(pa.size - pa.hdrSize), 'latin1')
      sizeStart = 0
      sizeEnd = sizeDigits.length
    }
    const bodyEnd = payloadStart + pa.size
    const lineLength = 5 + pa.subjectLength + 1 + sub.sid.length + 1 +
      (pa.replyEnd - pa.replyStart + 1) + (pa.hdrSizeEnd - pa.hdrSizeStart + 1) + (sizeEnd - sizeStart) + 2
    if (lineLength > this.line.length) this.line = Buffer.allocUnsafe(lineLength * 2)
    const line = this.line
    const op = withHdr ? HMSG_OP : MSG_OP
    let n = copyBytes(op, 0, op.length, line, 0)
    n += copyBytes(src, pa.subjectStart, pa.subjectEnd, line, n)
    line[n++] = SPACE
    n += copyBytes(sub.sid, 0, sub.sid.length, line, n)
    line[n++] = SPACE
    if (pa.replyStart >= 0) {
      n += copyBytes(src, pa.replyStart, pa.replyEnd, line, n)
      line[n++] = SPACE
    }
    if (withHdr) {
      n += copyBytes(src, pa.hdrSizeStart, pa.hdrSizeEnd, line, n)
      line[n++] = SPACE
    }
    n += copyBytes(sizeDigits, sizeStart, sizeEnd, line, n)
    line[n++] = 0x0d
    line[n++] = 0x0a
    out.append(line, 0, n)
    out.append(payload, bodyStart, bodyEnd)
    out.append(CRLF, 0, 2)
    const stats = this.stats
    stats.outMsgs++
    stats.outBytes += bodyEnd - bodyStart
    this.queueFlush(client)
    client.afterDeliver(sub, bodyEnd - bodyStart)
  }
}

const EMPTY_QUEUES: readonly Buffer[] = Object.freeze([])
const NO_TARGET: RouteTarget = Object.freeze({ sendMsg(): void {} })
