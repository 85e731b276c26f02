// The one writer of message control lines, to clients and to peers:
//
//   MSG  <subject> <sid> [reply] <size>                   to a client
//   HMSG <subject> <sid> [reply] <hdr size> <size>        to a client that announced headers
//   RMSG $G <subject> [reply | + reply q… | | q…] <size>   to a peer (queue names as nats-server writes them)
//   HMSG $G <subject> [… as RMSG …] <hdr size> <size>     to a peer, with headers
//
// Every piece is copied from the publisher's own bytes (subject, reply, size
// digits as they arrived) into one scratch line: nothing is formatted per
// delivery (client.go msgHeader). Only a client without headers support gets
// new size digits, because its copy loses the header bytes.
import type { PubArg } from './op-handler.js'
import { copyBytes, type Outbound } from './outbound.js'

const MSG_OP = Buffer.from('MSG ')
const HMSG_OP = Buffer.from('HMSG ')
const RMSG_G = Buffer.from('RMSG $G ')
const HMSG_G = Buffer.from('HMSG $G ')
const CRLF = Buffer.from('\r\n')
const SPACE = 0x20
const PLUS = 0x2b
const PIPE = 0x7c

export class MsgWriter {
  /** Scratch for one control line; grows to the longest line seen. */
  private line = Buffer.allocUnsafe(1024)

  /**
   * Appends `MSG subj sid [reply] size\r\n<payload>\r\n` (HMSG when the
   * message has headers and the client takes them; a client that does not
   * gets the body only, as nats-server strips them). Returns the payload
   * bytes written (body only when stripped), which is what nats-server counts.
   */
  appendMsg(out: Outbound, pa: PubArg, payload: Buffer, payloadStart: number, sid: Buffer, hasHeaders: boolean): number {
    const src = pa.line
    const hasHdr = pa.hdrSize >= 0
    const withHdr = hasHdr && hasHeaders
    let bodyStart = payloadStart
    let sizeDigits: Buffer = src
    let sizeStart = pa.sizeStart
    let sizeEnd = pa.sizeEnd
    if (hasHdr && !withHdr) {
      bodyStart += pa.hdrSize
      sizeDigits = Buffer.from(String(pa.size - pa.hdrSize), 'latin1')
      sizeStart = 0
      sizeEnd = sizeDigits.length
    }
    const line = this.reserve(5 + pa.subjectLength + 1 + sid.length + 1 + (pa.replyEnd - pa.replyStart + 1) +
      (pa.hdrSizeEnd - pa.hdrSizeStart + 1) + (sizeEnd - sizeStart) + 2)
    let n = this.opAndSubject(line, withHdr ? HMSG_OP : MSG_OP, pa)
    n += copyBytes(sid, 0, sid.length, line, n)
    line[n++] = SPACE
    if (pa.replyStart >= 0) {
      n += copyBytes(src, pa.replyStart, pa.replyEnd, line, n)
      line[n++] = SPACE
    }
    n = this.sizes(line, n, withHdr, pa, sizeDigits, sizeStart, sizeEnd)
    const bodyEnd = payloadStart + pa.size
    out.append(line, 0, n)
    out.append(payload, bodyStart, bodyEnd)
    out.append(CRLF, 0, 2)
    return bodyEnd - bodyStart
  }

  /**
   * Appends one RMSG (HMSG with headers) for a peer, naming queues[0..queueCount)
   * as the queue groups the peer must serve; none means plain subscribers only.
   */
  appendRoutedMsg(out: Outbound, pa: PubArg, payload: Buffer, payloadStart: number, queues: readonly Buffer[], queueCount: number): void {
    const src = pa.line
    const hasHdr = pa.hdrSize >= 0
    let need = 8 + pa.subjectLength + 4 + (pa.replyEnd - pa.replyStart + 1) +
      (pa.hdrSizeEnd - pa.hdrSizeStart) + 1 + (pa.sizeEnd - pa.sizeStart) + 2
    for (let q = 0; q < queueCount; q++) need += queues[q].length + 1
    const line = this.reserve(need)
    let n = this.opAndSubject(line, hasHdr ? HMSG_G : RMSG_G, pa)
    if (queueCount > 0) {
      // nats-server: `+ reply q…` when there is a reply, `| q…` when not.
      if (pa.hasReply) {
        line[n++] = PLUS
        line[n++] = SPACE
        n += copyBytes(src, pa.replyStart, pa.replyEnd, line, n)
        line[n++] = SPACE
      } else {
        line[n++] = PIPE
        line[n++] = SPACE
      }
      for (let q = 0; q < queueCount; q++) {
        n += copyBytes(queues[q], 0, queues[q].length, line, n)
        line[n++] = SPACE
      }
    } else if (pa.hasReply) {
      n += copyBytes(src, pa.replyStart, pa.replyEnd, line, n)
      line[n++] = SPACE
    }
    n = this.sizes(line, n, hasHdr, pa, src, pa.sizeStart, pa.sizeEnd)
    out.append(line, 0, n)
    out.append(payload, payloadStart, payloadStart + pa.size)
    out.append(CRLF, 0, 2)
  }

  private reserve(length: number): Buffer {
    if (length > this.line.length) this.line = Buffer.allocUnsafe(length * 2)
    return this.line
  }

  /** `<op><subject> `; returns the bytes written. */
  private opAndSubject(line: Buffer, op: Buffer, pa: PubArg): number {
    let n = copyBytes(op, 0, op.length, line, 0)
    n += copyBytes(pa.line, pa.subjectStart, pa.subjectEnd, line, n)
    line[n++] = SPACE
    return n
  }

  /** `[hdr size ]<size>\r\n` from n; returns the new end. */
  private sizes(line: Buffer, n: number, withHdr: boolean, pa: PubArg, sizeDigits: Buffer, sizeStart: number, sizeEnd: number): number {
    if (withHdr) {
      n += copyBytes(pa.line, pa.hdrSizeStart, pa.hdrSizeEnd, line, n)
      line[n++] = SPACE
    }
    n += copyBytes(sizeDigits, sizeStart, sizeEnd, line, n)
    line[n++] = 0x0d
    line[n++] = 0x0a
    return n
  }
}
