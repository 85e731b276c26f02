// Publishes made while the client is between two nodes. nats.js drops them
// (it resets its outbound buffer before each dial), so PublishGate sits in
// front of nats.js's publish and keeps them, in order, within a byte bound,
// until the next node has our subscriptions again; then it sends them first.
//
//   publish ─► PublishGate ─┬─ connected, not holding, buffer empty ─► nats.js publish
//                           └─ otherwise ─► PublishBuffer (FIFO, ≤ maxBytes) ─► release() on reconnect
//
// "Holding" is for a planned move: from the moment we decide to leave a node
// until we are on the next one, publishes wait even though the old socket is
// still up, so none is written into a socket we are about to close.
import { ErrorCode, MsgHdrsImpl, NatsError, type MsgHdrs, type Payload, type PublishOptions } from 'nats'
import { CLIENT_ERROR_CODES, ClientError } from './errors.js'
import type { PublishFn } from './nats-internals.js'

const EMPTY = new Uint8Array(0)
const encoder = new TextEncoder()

class BufferedPublish {
  readonly subject: string
  readonly data: Uint8Array
  readonly options: PublishOptions | undefined
  readonly bytes: number

  constructor(subject: string, data: Uint8Array, options: PublishOptions | undefined, bytes: number) {
    this.subject = subject
    this.data = data
    this.options = options
    this.bytes = bytes
  }
}

/** A FIFO of publishes bounded in bytes (subject + reply + headers + payload). */
export class PublishBuffer {
  readonly maxBytes: number
  bytes = 0
  private queue: BufferedPublish[] = []
  /** Index of the oldest entry: shifting an array per message would be O(n²) on a long outage. */
  private head = 0

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  get count(): number {
    return this.queue.length - this.head
  }

  push(entry: BufferedPublish): void {
    if (this.bytes + entry.bytes > this.maxBytes) {
      throw new ClientError(CLIENT_ERROR_CODES.BUFFER_FULL,
        `publish to '${entry.subject}' refused: the client is between nodes and its publish buffer is full ` +
        `(${this.count} messages, ${this.bytes} of ${this.maxBytes} bytes held; publishBufferBytes raises it)`)
    }
    this.queue.push(entry)
    this.bytes += entry.bytes
  }

  shift(): BufferedPublish | null {
    if (this.head === this.queue.length) return null
    const entry = this.queue[this.head++]
    this.bytes -= entry.bytes
    if (this.head === this.queue.length) this.reset()
    return entry
  }

  /** Drops everything; returns what was dropped. */
  clear(): { count: number; bytes: number } {
    const dropped = { count: this.count, bytes: this.bytes }
    this.reset()
    return dropped
  }

  private reset(): void {
    this.queue = []
    this.head = 0
    this.bytes = 0
  }
}

export interface ReleaseResult {
  sent: number
  /** Refused by nats.js on the new node (e.g. a smaller max_payload); dropped. */
  failed: number
}

export class PublishGate {
  /** Bound once: nats.js calls it as protocol.publish. */
  readonly publish: PublishFn
  private readonly buffer: PublishBuffer
  private readonly send: PublishFn
  private readonly isConnected: () => boolean
  private readonly maxPayload: () => number | null
  private isHolding = false
  /** The last node's max_payload: nats.js forgets it while dialing, and we check buffered publishes against it. */
  private lastMaxPayload: number | null = null

  constructor(maxBytes: number, send: PublishFn, isConnected: () => boolean, maxPayload: () => number | null) {
    this.buffer = new PublishBuffer(maxBytes)
    this.send = send
    this.isConnected = isConnected
    this.maxPayload = maxPayload
    this.publish = this.processPublish.bind(this)
  }

  get bufferedCount(): number { return this.buffer.count }
  get bufferedBytes(): number { return this.buffer.bytes }
  get holding(): boolean { return this.isHolding }

  /** From now on every publish waits, even while the socket is up (a planned move). */
  hold(): void {
    if (this.buffer.maxBytes > 0) this.isHolding = true
  }

  /** Connected again: send what waited, oldest first, then let publishes through. */
  release(): ReleaseResult {
    const result: ReleaseResult = { sent: 0, failed: 0 }
    if (!this.isConnected()) return result
    this.isHolding = false
    for (let entry = this.buffer.shift(); entry !== null; entry = this.buffer.shift()) {
      try {
        this.send(entry.subject, entry.data, entry.options)
        result.sent++
      } catch {
        result.failed++ // nats.js's own check refused it on this node; counted, reported by the caller
      }
    }
    return result
  }

  dropAll(): { count: number; bytes: number } {
    this.isHolding = false
    return this.buffer.clear()
  }

  private processPublish(subject: string, payload?: Payload, options?: PublishOptions): void {
    if (this.buffer.maxBytes === 0) {
      this.send(subject, payload, options)
      return
    }
    const maxPayload = this.maxPayload()
    if (maxPayload !== null) this.lastMaxPayload = maxPayload
    if (!this.isHolding && this.isConnected()) {
      if (this.buffer.count > 0) this.release()
      this.send(subject, payload, options)
      return
    }
    const data = copyPayload(payload)
    const headerBytes = options?.headers === undefined ? 0 : headersSize(options.headers)
    if (this.lastMaxPayload !== null && data.length + headerBytes > this.lastMaxPayload) {
      throw NatsError.errorForCode(ErrorCode.MaxPayloadExceeded)
    }
    const reply = options?.reply ?? ''
    // Our own options object: nats.js writes into the one it is given.
    const kept: PublishOptions | undefined = options === undefined ? undefined : { reply, headers: options.headers }
    this.buffer.push(new BufferedPublish(subject, data, kept, subject.length + reply.length + headerBytes + data.length))
  }
}

/** A copy: the caller may reuse its buffer as soon as publish() returns, as with nats.js. */
function copyPayload(payload: Payload | undefined): Uint8Array {
  if (payload === undefined) return EMPTY
  if (typeof payload === 'string') return encoder.encode(payload)
  if (payload instanceof Uint8Array) return payload.slice()
  throw NatsError.errorForCode(ErrorCode.BadPayload)
}

function headersSize(headers: MsgHdrs): number {
  if (headers instanceof MsgHdrsImpl) return headers.encode().length
  let size = 12 // "NATS/1.0\r\n" and the closing "\r\n"
  for (const [key, values] of headers) for (const value of values) size += key.length + value.length + 4
  return size
}
