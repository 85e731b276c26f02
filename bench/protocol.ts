// The load generator's view of the NATS client protocol: pre-built outbound
// bytes and a streaming scanner for what the server sends back. The scanner
// never decodes a message to a string: it finds each control line with the
// native Buffer.indexOf and jumps over the payload by its size, so a
// subscriber's cost per MSG is one indexOf plus a few byte reads (see
// docs/benchmarks.md for its measured rate).

const CR = 13
const LF = 10
const SPACE = 32
const ZERO = 48
const NINE = 57
const UPPER_M = 77
const UPPER_P = 80
const UPPER_I = 73
const UPPER_O = 79
const PLUS = 43

/** The sid of the data subscription; the probe subscription is PROBE_SID. */
export const DATA_SID = 1
export const PROBE_SID = 2

/** Every load generator sends this first: no +OK per op, no pedantic checks. */
export const CONNECT_LINE = 'CONNECT {"verbose":false,"pedantic":false,"echo":true}\r\n'

/** How many whole messages fit in about 64 KiB; at least one. */
export function messagesPerBatch(subject: string, payloadBytes: number): number {
  return Math.max(1, Math.floor(65_536 / pubFrameBytes(subject, payloadBytes)))
}

export function pubFrameBytes(subject: string, payloadBytes: number): number {
  return `PUB ${subject} ${payloadBytes}\r\n`.length + payloadBytes + 2
}

/**
 * `count` copies of `PUB subject n\r\n<payload>\r\n` in one buffer. The publisher
 * writes the same buffer again and again, so building it is paid once.
 */
export function buildPubBatch(subject: string, payloadBytes: number, count: number): Buffer {
  const frame = pubFrameBytes(subject, payloadBytes)
  const out = Buffer.allocUnsafe(frame * count)
  const head = Buffer.from(`PUB ${subject} ${payloadBytes}\r\n`, 'latin1')
  for (let m = 0; m < count; m++) {
    const at = m * frame
    head.copy(out, at)
    out.fill(97 + (m % 26), at + head.length, at + head.length + payloadBytes)
    out[at + frame - 2] = CR
    out[at + frame - 1] = LF
  }
  return out
}

/** Called with the control line (without CRLF) of every MSG when set. */
export type MsgLineHandler = (line: Buffer) => void

/**
 * Streaming scanner for server → client bytes. Counts MSG frames on the data
 * sid and on the probe sid, answers nothing itself: the owner decides what a
 * PING or a PONG means. Fixed shape; the handlers are chosen at setup.
 */
export class ProtocolScanner {
  dataMsgs = 0
  probeMsgs = 0
  /** Payload bytes (plus CRLF) still to skip from an earlier chunk. */
  private skip = 0
  /** A control line cut at a chunk boundary; null almost always. */
  private carry: Buffer | null = null
  private readonly onMsgLine: MsgLineHandler | null
  private readonly onPing: () => void
  private readonly onPong: () => void
  private readonly onInfo: (line: Buffer) => void
  private readonly onErr: (line: Buffer) => void

  constructor(handlers: {
    onMsgLine: MsgLineHandler | null
    onPing: () => void
    onPong: () => void
    onInfo: (line: Buffer) => void
    onErr: (line: Buffer) => void
  }) {
    this.onMsgLine = handlers.onMsgLine
    this.onPing = handlers.onPing
    this.onPong = handlers.onPong
    this.onInfo = handlers.onInfo
    this.onErr = handlers.onErr
  }

  feed(chunk: Buffer): void {
    const len = chunk.length
    let i = 0
    if (this.skip > 0) {
      const take = this.skip < len ? this.skip : len
      this.skip -= take
      i = take
    }
    while (i < len) {
      const nl = chunk.indexOf(LF, i)
      if (nl < 0) {
        const rest = chunk.subarray(i)
        // Copy: the chunk belongs to the socket and may be reused after this call.
        this.carry = this.carry === null ? Buffer.from(rest) : Buffer.concat([this.carry, rest])
        return
      }
      let size: number
      if (this.carry === null) {
        size = this.processLine(chunk, i, nl > i && chunk[nl - 1] === CR ? nl - 1 : nl)
      } else {
        const whole = Buffer.concat([this.carry, chunk.subarray(i, nl)])
        this.carry = null
        size = this.processLine(whole, 0, whole.length > 0 && whole[whole.length - 1] === CR ? whole.length - 1 : whole.length)
      }
      i = nl + 1
      if (size >= 0) {
        const need = size + 2
        if (i + need <= len) {
          i += need
        } else {
          this.skip = need - (len - i)
          return
        }
      }
    }
  }

  /**
   * The control line is buf[start, end), CRLF excluded; passed as indices so
   * counting a MSG allocates nothing. Returns the payload size to skip, or -1
   * for ops without a payload.
   */
  private processLine(buf: Buffer, start: number, end: number): number {
    const first = buf[start]
    if (first === UPPER_M) {
      if (isProbeSid(buf, start, end)) this.probeMsgs++
      else this.dataMsgs++
      if (this.onMsgLine !== null) this.onMsgLine(buf.subarray(start, end))
      // The payload size is the last argument: `MSG subject sid [reply] size`.
      return trailingNumber(buf, start, end)
    }
    if (first === UPPER_P) {
      if (buf[start + 1] === UPPER_I) this.onPing()
      else if (buf[start + 1] === UPPER_O) this.onPong()
      return -1
    }
    const line = buf.subarray(start, end)
    if (first === UPPER_I) this.onInfo(line)
    // '+OK' (not asked for, but harmless): ignore; -ERR and anything unknown: report.
    else if (first !== PLUS) this.onErr(line)
    return -1
  }
}

/** The decimal number ending buf[start, end); -1 if it does not end in digits. */
export function trailingNumber(buf: Buffer, start = 0, end = buf.length): number {
  let last = end
  while (last > start && buf[last - 1] === SPACE) last--
  let first = last
  while (first > start && buf[first - 1] >= ZERO && buf[first - 1] <= NINE) first--
  if (first === last) return -1
  let n = 0
  for (let k = first; k < last; k++) n = n * 10 + (buf[k] - ZERO)
  return n
}

/** True when the `MSG subject sid ...` line buf[start, end) carries PROBE_SID (servers send single spaces). */
function isProbeSid(buf: Buffer, start: number, end: number): boolean {
  const subjectEnd = buf.indexOf(SPACE, start + 4)
  return subjectEnd > 0 && subjectEnd + 2 < end && buf[subjectEnd + 1] === ZERO + PROBE_SID && buf[subjectEnd + 2] === SPACE
}

/** The subject of a `MSG subject sid [reply] size` line, as a view. */
export function msgSubject(line: Buffer): Buffer {
  const subjectEnd = line.indexOf(SPACE, 4)
  return line.subarray(4, subjectEnd)
}

/** The reply subject of a MSG line, or null when the line has three arguments. */
export function msgReply(line: Buffer): Buffer | null {
  const subjectEnd = line.indexOf(SPACE, 4)
  const sidEnd = line.indexOf(SPACE, subjectEnd + 1)
  const replyEnd = line.indexOf(SPACE, sidEnd + 1)
  return replyEnd < 0 ? null : line.subarray(sidEnd + 1, replyEnd)
}

/** Monotonic nanoseconds as a number: CLOCK_MONOTONIC, so comparable across processes. */
export function nowNs(): number {
  return Number(process.hrtime.bigint())
}
