// A local client's subscription, and what the delivery core needs of the
// client that owns it. Connection implements Subscriber; tests can too.
import type { Endpoint } from './endpoint.js'

export interface Subscriber {
  readonly cid: number
  /** false when the client sent `echo: false`: it never gets its own publishes. */
  readonly isEcho: boolean
  /** true when the client sent `headers: true`; others get MSG without the headers. */
  readonly hasHeaders: boolean
  /** Where MSG bytes go; also the reader a full route pauses when this client publishes. */
  readonly endpoint: Endpoint
  /** Called after a message was appended for sub: counts (payload bytes, as nats-server), max-msgs auto-unsubscribe, slow-consumer check. */
  afterDeliver(sub: Subscription, payloadBytes: number): void
}

export class Subscription {
  readonly subject: string
  readonly queue: string | null
  /** The sid as the client sent it; copied once at SUB, written back unchanged in every MSG. */
  readonly sid: Buffer
  readonly client: Subscriber
  /** Auto-unsubscribe after this many messages; 0 means no limit (UNSUB sid max). */
  max = 0
  /** Messages delivered so far (/connz subscriptions_list_detail msgs). */
  delivered = 0
  isClosed = false

  constructor(client: Subscriber, subject: string, queue: string | null, sid: Buffer) {
    this.client = client
    this.subject = subject
    this.queue = queue
    this.sid = sid
  }
}
