// What peers told us their clients want (RS+/RS-): each peer's interest in
// its own Sublist (the same class that holds local subscriptions, reused),
// and the per-subject answer to "which peers want this", cached exactly: an
// RS+ or RS- for a subject drops only the cached subjects it matches, as the
// sublist's own cache does (STYLE.md P7).
import type { ClusterResult, RemoteQueue, RouteTarget } from '../server/cluster-seam.js'
import { EMPTY_CLUSTER_RESULT } from '../server/cluster-seam.js'
import { SubjectCache, Sublist } from '../server/sublist.js'

export class RemoteSub {
  readonly subject: string
  readonly queue: string | null
  /** Queue members on the peer (RS+'s weight); 1 for plain interest. */
  weight: number

  constructor(subject: string, queue: string | null, weight: number) {
    this.subject = subject
    this.queue = queue
    this.weight = weight
  }
}

/** One peer's interest. */
export class PeerInterest {
  readonly sublist: Sublist<RemoteSub>
  private readonly byKey = new Map<string, RemoteSub>()

  constructor(options: { cacheEnabled?: boolean } = {}) {
    this.sublist = new Sublist<RemoteSub>(options)
  }

  get count(): number { return this.byKey.size }

  /** RS+: new interest, or a queue group's new weight. false when the subject is invalid. */
  add(subject: string, queue: string | null, weight: number): boolean {
    const key = queue === null ? subject : subject + ' ' + queue
    const known = this.byKey.get(key)
    if (known !== undefined) {
      known.weight = weight
      return true
    }
    const sub = new RemoteSub(subject, queue, weight)
    if (!this.sublist.insert(sub)) return false
    this.byKey.set(key, sub)
    return true
  }

  /** RS-: the interest is gone. false when it was not there. */
  remove(subject: string, queue: string | null): boolean {
    const key = queue === null ? subject : subject + ' ' + queue
    const known = this.byKey.get(key)
    if (known === undefined) return false
    this.byKey.delete(key)
    this.sublist.remove(known)
    return true
  }

  forEach(fn: (sub: RemoteSub) => void): void {
    for (const sub of this.byKey.values()) fn(sub)
  }
}

/** A registered peer: where to send, and what it wants. */
export interface InterestPeer extends RouteTarget {
  readonly interest: PeerInterest
}

class MutableRemoteQueue implements RemoteQueue {
  readonly name: string
  readonly nameBytes: Buffer
  readonly targets: RouteTarget[] = []
  readonly weights: number[] = []
  totalWeight = 0

  constructor(name: string) {
    this.name = name
    this.nameBytes = Buffer.from(name, 'latin1')
  }
}

/** Every registered peer's interest, answered per published subject. */
export class ClusterInterest {
  private readonly peers: InterestPeer[] = []
  /** null when caching is off (tests run every case both ways). */
  private readonly cache: SubjectCache<ClusterResult> | null

  constructor(options: { cacheEnabled?: boolean } = {}) {
    this.cache = options.cacheEnabled === false ? null : new SubjectCache()
  }

  get peerCount(): number { return this.peers.length }
  get cacheCount(): number { return this.cache === null ? 0 : this.cache.size }

  /** A peer whose interest now counts (its route registered). */
  addPeer(peer: InterestPeer): void {
    if (this.peers.includes(peer)) return
    this.peers.push(peer)
    // It may have sent RS+ before it registered; rare, so start over.
    this.cache?.clear()
  }

  removePeer(peer: InterestPeer): void {
    const i = this.peers.indexOf(peer)
    if (i < 0) return
    this.peers.splice(i, 1)
    this.cache?.clear()
  }

  /** A peer's interest in `subject` (a literal or a wildcard) appeared, changed weight, or went. */
  subjectChanged(subject: string): void {
    this.cache?.invalidate(subject)
  }

  /** The peers that want a published subject. Never change the result: it may be cached and shared. */
  match(subject: string): ClusterResult {
    const peers = this.peers
    if (peers.length === 0) return EMPTY_CLUSTER_RESULT
    const cache = this.cache
    if (cache !== null) {
      const cached = cache.get(subject)
      if (cached !== undefined) return cached
    }
    const plain: RouteTarget[] = []
    const queues: MutableRemoteQueue[] = []
    for (let p = 0; p < peers.length; p++) {
      const peer = peers[p]
      const r = peer.interest.sublist.match(subject)
      if (r.psubs.length !== 0) plain.push(peer)
      for (let g = 0; g < r.qsubs.length; g++) {
        const group = r.qsubs[g]
        let weight = 0
        for (let k = 0; k < group.length; k++) weight += group[k].weight
        const name = group[0].queue ?? ''
        let rq = queues.find((q) => q.name === name)
        if (rq === undefined) {
          rq = new MutableRemoteQueue(name)
          queues.push(rq)
        }
        rq.targets.push(peer)
        rq.weights.push(weight)
        rq.totalWeight += weight
      }
    }
    const result: ClusterResult = plain.length === 0 && queues.length === 0 ? EMPTY_CLUSTER_RESULT : { plain, queues }
    if (cache !== null) cache.set(subject, result)
    return result
  }
}
