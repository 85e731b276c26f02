// What the chaos run remembers about messages, in memory bounded by the run's
// length (not by its message count times anything larger than one bit):
//
//   SeqSet          one bit per sequence number: seen or not (gaps, duplicates)
//   StreamTracker   one publisher's stream as one subscription sees it
//   PublishLog      when each publish tick happened, for a sequence's send time
//   BucketCounter   deliveries per 100 ms per client, for the timeline plot
//
// A 300 s run at 200 msgs/s is 60,000 sequences: 7.5 KB per tracked pair.

/** Growable bitset of sequence numbers starting at 1. */
export class SeqSet {
  private bits: Uint8Array
  /** Largest sequence number set. */
  max = 0

  constructor(initialCapacity = 8192) {
    this.bits = new Uint8Array(Math.ceil(initialCapacity / 8))
  }

  has(seq: number): boolean {
    const byte = seq >>> 3
    return byte < this.bits.length && (this.bits[byte] & (1 << (seq & 7))) !== 0
  }

  /** Sets the bit; returns false when it was already set. */
  add(seq: number): boolean {
    const byte = seq >>> 3
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2))
      grown.set(this.bits)
      this.bits = grown
    }
    const mask = 1 << (seq & 7)
    if ((this.bits[byte] & mask) !== 0) return false
    this.bits[byte] |= mask
    if (seq > this.max) this.max = seq
    return true
  }

  /** Runs of sequence numbers in [from, to] that are not set, in order. */
  missingRuns(from: number, to: number): Array<{ first: number; last: number }> {
    const runs: Array<{ first: number; last: number }> = []
    let start = -1
    for (let seq = from; seq <= to; seq++) {
      if (!this.has(seq)) {
        if (start === -1) start = seq
      } else if (start !== -1) {
        runs.push({ first: start, last: seq - 1 })
        start = -1
      }
    }
    if (start !== -1) runs.push({ first: start, last: to })
    return runs
  }
}

/** One anomaly, kept for the report (the first few of each kind only). */
export interface Anomaly {
  /** ms since the run's start. */
  at: number
  kind: 'duplicate' | 'out-of-order' | 'misdelivered' | 'queue-twice' | 'wrong-reply'
  client: string
  detail: string
}

/** At most this many anomalies of each kind are kept with details; all are counted. */
export const MAX_KEPT_ANOMALIES = 20

export class AnomalyLog {
  readonly kept: Anomaly[] = []
  readonly counts = new Map<Anomaly['kind'], number>()

  add(anomaly: Anomaly): void {
    const n = (this.counts.get(anomaly.kind) ?? 0) + 1
    this.counts.set(anomaly.kind, n)
    if (n <= MAX_KEPT_ANOMALIES) this.kept.push(anomaly)
  }

  count(kind: Anomaly['kind']): number {
    return this.counts.get(kind) ?? 0
  }
}

/** One publisher's numbered stream as received by one subscription. */
export class StreamTracker {
  readonly publisher: string
  readonly subscriber: string
  readonly seen = new SeqSet()
  received = 0
  duplicates = 0
  outOfOrder = 0
  last = 0

  constructor(publisher: string, subscriber: string) {
    this.publisher = publisher
    this.subscriber = subscriber
  }

  /** Returns what was wrong with this arrival, or null. */
  record(seq: number): 'duplicate' | 'out-of-order' | null {
    if (!this.seen.add(seq)) {
      this.duplicates++
      return 'duplicate'
    }
    this.received++
    const previous = this.last
    if (seq < previous) {
      this.outOfOrder++
      return 'out-of-order'
    }
    this.last = seq
    return null
  }
}

/**
 * When each publish tick ran and the first sequence it sent: a sequence's send
 * time is its tick's time (ticks are 10 ms apart, so that is the resolution).
 */
export class PublishLog {
  private times: Float64Array = new Float64Array(4096)
  private firstSeqs: Float64Array = new Float64Array(4096)
  private length = 0

  /** `time` in ms since the run's start. */
  add(time: number, firstSeq: number): void {
    if (this.length === this.times.length) {
      const times = new Float64Array(this.length * 2)
      const seqs = new Float64Array(this.length * 2)
      times.set(this.times)
      seqs.set(this.firstSeqs)
      this.times = times
      this.firstSeqs = seqs
    }
    this.times[this.length] = time
    this.firstSeqs[this.length] = firstSeq
    this.length++
  }

  /** The first sequence number sent at or after `time` (ms since start), or -1 when none was. */
  firstSeqFrom(time: number): number {
    let lo = 0
    let hi = this.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.times[mid] >= time) {
        found = mid
        hi = mid - 1
      } else {
        lo = mid + 1
      }
    }
    return found === -1 ? -1 : this.firstSeqs[found]
  }

  /** The send time of `seq` (ms since start), or -1 when it was never logged. */
  timeOf(seq: number): number {
    let lo = 0
    let hi = this.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.firstSeqs[mid] <= seq) {
        found = mid
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    return found === -1 ? -1 : this.times[found]
  }
}

export const BUCKET_MS = 100

/** Deliveries per BUCKET_MS since the run's start; the last bucket takes anything later. */
export class BucketCounter {
  readonly counts: Uint32Array

  constructor(maxMs: number) {
    this.counts = new Uint32Array(Math.max(1, Math.ceil(maxMs / BUCKET_MS)))
  }

  add(timeMs: number): void {
    const i = timeMs < 0 ? 0 : Math.min(this.counts.length - 1, Math.floor(timeMs / BUCKET_MS))
    this.counts[i]++
  }
}

/** NATS subject matching for the misdelivery check: `*` one token, `>` the rest. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i
    if (i >= s.length) return false
    if (p[i] !== '*' && p[i] !== s[i]) return false
  }
  return p.length === s.length
}
