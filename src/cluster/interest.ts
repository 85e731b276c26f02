// What one peer told us its clients want (RS+/RS-), kept in its own Sublist:
// the same class that holds local subscriptions, reused.
import { Sublist } from '../server/sublist.js'

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

export class PeerInterest {
  readonly sublist = new Sublist<RemoteSub>()
  private readonly byKey = new Map<string, RemoteSub>()

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

  /** RS-: the interest is gone. */
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
