// The seam between the byte-level parser and whoever handles its ops.
// Connection (client side) and cluster's Route implement OpHandler; the parser
// never asks which one it talks to (policy such as "CONNECT first" or "headers
// must be enabled" lives in the handler, not in the byte loop). Below it, the
// byte-level helpers both handlers read their arguments with: no regex, no
// string split, one decoded string per message (the subject).

const EMPTY = Buffer.alloc(0)

/**
 * The arguments of the message op being parsed (PUB/HPUB from clients,
 * RMSG/HMSG from routes). One instance per parser, refilled for every op.
 * Every argument is a range of `line`, not a Buffer of its own: a view costs an
 * object per argument per message, and a profile of small PUBs showed views
 * and their GC as a third of the parser's time. The handler must copy
 * whatever it keeps past processMsg.
 */
export class PubArg {
  /** The control line's bytes (often the read chunk itself); every range indexes into it. */
  line: Buffer = EMPTY
  /** Account of a routed message (`$G`); start -1 for client ops. */
  accountStart = -1
  accountEnd = -1
  subjectStart = 0
  subjectEnd = 0
  /** -1 when there is no reply subject. */
  replyStart = -1
  replyEnd = -1
  /** Queue names on a routed message; only the first queueCount entries are valid. */
  queueStarts: number[] = []
  queueEnds: number[] = []
  queueCount = 0
  /** Header bytes at the front of the payload; -1 when the op carries no headers. */
  hdrSize = -1
  /** The header size digits as they arrived (HPUB/HMSG), for building HMSG without formatting. */
  hdrSizeStart = 0
  hdrSizeEnd = 0
  /** Total payload bytes, headers included. */
  size = 0
  /** The total size digits as they arrived. */
  sizeStart = 0
  sizeEnd = 0

  get subjectLength(): number { return this.subjectEnd - this.subjectStart }
  get hasReply(): boolean { return this.replyStart >= 0 }

  subject(): string { return this.line.toString('latin1', this.subjectStart, this.subjectEnd) }
  reply(): string { return this.replyStart < 0 ? '' : this.line.toString('latin1', this.replyStart, this.replyEnd) }
  queue(q: number): string { return this.line.toString('latin1', this.queueStarts[q], this.queueEnds[q]) }
  /** A copy of the reply subject's bytes (for the rare paths that keep it). */
  replyBytes(): Buffer { return Buffer.from(this.line.subarray(this.replyStart, this.replyEnd)) }
}

export interface OpHandler {
  /** `CONNECT <json>`: arg is the JSON. */
  processConnect(arg: Buffer): void
  /** Client `SUB subj [queue] sid`; route `RS+ $G subj [queue weight]`. */
  processSub(arg: Buffer): void
  /** Client `UNSUB sid [max]`; route `RS- $G subj [queue]`. */
  processUnsub(arg: Buffer): void
  /**
   * A whole message: payload[payloadStart, payloadStart + pa.size) holds headers
   * and body, without the trailing CRLF. It is often the read chunk itself:
   * valid only during this call.
   */
  processMsg(pa: PubArg, payload: Buffer, payloadStart: number): void
  /** `INFO <json>`. */
  processInfo(arg: Buffer): void
  /** `-ERR <text>`. */
  processErr(arg: Buffer): void
}

/**
 * The ops that mean the same on every link, client or route, and the one way
 * out for bad input: the Endpoint implements these, once for both.
 */
export interface LinkHandler {
  processPing(): void
  processPong(): void
  /** `+OK`. */
  processOk(): void
  /**
   * The input broke the protocol. wireError is the text to send as
   * `-ERR '<wireError>'`, or null when nats-server closes without a word;
   * detail (state, offset, a quoted snippet) is for the log. The handler closes
   * the connection; the parser stops parsing this chunk and every later one.
   */
  protocolError(wireError: string | null, detail: string): void
}

// ---- argument helpers ------------------------------------------------------

const SPACE = 0x20
const TAB = 0x09
const CR = 0x0d
const LF = 0x0a

/**
 * Splits arg on runs of spaces, tabs, CRs and LFs into views stored in
 * out[0..n) (nats-server's SUB/UNSUB argument splitting; PUB splits in the parser).
 * Returns n, or -1 when there are more than out.length arguments.
 */
export function splitArgs(arg: Buffer, out: Buffer[]): number {
  let n = 0
  let start = -1
  for (let i = 0; i < arg.length; i++) {
    const b = arg[i]
    if (b === SPACE || b === TAB || b === CR || b === LF) {
      if (start >= 0) {
        if (n === out.length) return -1
        out[n++] = arg.subarray(start, i)
        start = -1
      }
    } else if (start < 0) {
      start = i
    }
  }
  if (start >= 0) {
    if (n === out.length) return -1
    out[n++] = arg.subarray(start)
  }
  return n
}

/** nats-server's parseSize reads at most 9 digits ("999M"); a longer number is no number. */
const MAX_SIZE_DIGITS = 9

/** Reads a non-negative decimal number; -1 on any other byte, an empty input, or more than 9 digits. */
export function parseSize(digits: Buffer): number {
  if (digits.length === 0 || digits.length > MAX_SIZE_DIGITS) return -1
  let n = 0
  for (let i = 0; i < digits.length; i++) {
    const d = digits[i] - 0x30
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

// The last subject a connection published, as bytes and as the string that
// keys the match cache. Publishers mostly repeat a subject, and a byte loop
// against the last one is cheaper than decoding again (Buffer.compare's
// native call cost more than the loop in a profile of small PUBs).
export class LastSubject {
  private bytes = Buffer.alloc(256)
  private length = -1
  private text = ''

  /** line[start, end) as a latin1 string, reusing the last one when the bytes match. */
  decode(line: Buffer, start: number, end: number): string {
    const len = end - start
    const last = this.bytes
    if (len === this.length) {
      let j = 0
      while (j < len && line[start + j] === last[j]) j++
      if (j === len) return this.text
    }
    const s = line.toString('latin1', start, end)
    if (len <= last.length) {
      line.copy(last, 0, start, end)
      this.length = len
      this.text = s
    }
    return s
  }
}
