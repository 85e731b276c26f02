// The byte-level protocol parser shared by client connections and routes. One
// indexed loop and one switch over states named as in nats-server's
// server/parser.go (v2.9.10), so the two files can be read side by side.
// Behaviour marked "oracle" was checked against nats-server 2.9.10 over a raw socket.
import assert from 'node:assert'
import { ERR_MAX_CONTROL_LINE, ERR_MAX_PAYLOAD, ERR_UNKNOWN_PROTOCOL } from './errors.js'
import { PubArg, type LinkHandler, type OpHandler } from './op-handler.js'

/**
 * The ops one kind of peer may send. Any other op is an unknown op. Every peer
 * may send CONNECT, INFO, PING, PONG, +OK and -ERR.
 */
export interface OpSet {
  /** PUB and HPUB. */
  readonly hasPub: boolean
  /** SUB and UNSUB. */
  readonly hasSub: boolean
  /** RS+, RS-, RMSG and HMSG: account first, nats-server 2.9's route format. */
  readonly hasRouted: boolean
}

export const CLIENT_OPS: OpSet = Object.freeze({ hasPub: true, hasSub: true, hasRouted: false })

// nats-server also accepts PUB and SUB on a route and ignores them, but it never
// sends them. Here they are unknown ops, and so is a bare MSG, as in 2.9.
export const ROUTE_OPS: OpSet = Object.freeze({ hasPub: false, hasSub: false, hasRouted: true })

const DEFAULT_MAX_CONTROL_LINE = 4096 // nats-server MAX_CONTROL_LINE_SIZE
const DEFAULT_MAX_PAYLOAD = 1024 * 1024 // nats-server MAX_PAYLOAD_SIZE
const PROTO_SNIPPET_SIZE = 32 // nats-server PROTO_SNIPPET_SIZE
// nats-server parseSize reads at most 9 digits ("999M"), so a size can never
// overflow. A longer size is malformed, even `0000000001` (oracle).
const MAX_SIZE_DIGITS = 9

const EMPTY = Buffer.alloc(0)
/** How far skipToLineEnd scans in JS before it asks memchr. */
const SHORT_LINE_SCAN = 48

// Parser states, in parser.go's order and with its names. RS+ and RS- go through
// the SUB and UNSUB states, and RMSG goes through OP_M and MSG_ARG, as in parser.go.
const OP_START = 0
const OP_PLUS = 1, OP_PLUS_O = 2, OP_PLUS_OK = 3
const OP_MINUS = 4, OP_MINUS_E = 5, OP_MINUS_ER = 6, OP_MINUS_ERR = 7, OP_MINUS_ERR_SPC = 8, MINUS_ERR_ARG = 9
const OP_C = 10, OP_CO = 11, OP_CON = 12, OP_CONN = 13, OP_CONNE = 14, OP_CONNEC = 15, OP_CONNECT = 16, CONNECT_ARG = 17
const OP_H = 18, OP_HP = 19, OP_HPU = 20, OP_HPUB = 21, OP_HPUB_SPC = 22, HPUB_ARG = 23
const OP_HM = 24, OP_HMS = 25, OP_HMSG = 26, OP_HMSG_SPC = 27, HMSG_ARG = 28
const OP_P = 29, OP_PU = 30, OP_PUB = 31, OP_PUB_SPC = 32, PUB_ARG = 33
const OP_PI = 34, OP_PIN = 35, OP_PING = 36
const OP_PO = 37, OP_PON = 38, OP_PONG = 39
const MSG_PAYLOAD = 40, MSG_END_R = 41, MSG_END_N = 42
const OP_S = 43, OP_SU = 44, OP_SUB = 45, OP_SUB_SPC = 46, SUB_ARG = 47
const OP_U = 48, OP_UN = 49, OP_UNS = 50, OP_UNSU = 51, OP_UNSUB = 52, OP_UNSUB_SPC = 53, UNSUB_ARG = 54
const OP_M = 55, OP_MS = 56, OP_MSG = 57, OP_MSG_SPC = 58, MSG_ARG = 59
const OP_I = 60, OP_IN = 61, OP_INF = 62, OP_INFO = 63, INFO_ARG = 64
const OP_R = 65, OP_RS = 66

/** For log lines only, indexed by state. */
const STATE_NAMES = [
  'OP_START', 'OP_PLUS', 'OP_PLUS_O', 'OP_PLUS_OK', 'OP_MINUS', 'OP_MINUS_E', 'OP_MINUS_ER',
  'OP_MINUS_ERR', 'OP_MINUS_ERR_SPC', 'MINUS_ERR_ARG', 'OP_C', 'OP_CO', 'OP_CON', 'OP_CONN',
  'OP_CONNE', 'OP_CONNEC', 'OP_CONNECT', 'CONNECT_ARG', 'OP_H', 'OP_HP', 'OP_HPU', 'OP_HPUB',
  'OP_HPUB_SPC', 'HPUB_ARG', 'OP_HM', 'OP_HMS', 'OP_HMSG', 'OP_HMSG_SPC', 'HMSG_ARG', 'OP_P',
  'OP_PU', 'OP_PUB', 'OP_PUB_SPC', 'PUB_ARG', 'OP_PI', 'OP_PIN', 'OP_PING', 'OP_PO', 'OP_PON',
  'OP_PONG', 'MSG_PAYLOAD', 'MSG_END_R', 'MSG_END_N', 'OP_S', 'OP_SU', 'OP_SUB', 'OP_SUB_SPC',
  'SUB_ARG', 'OP_U', 'OP_UN', 'OP_UNS', 'OP_UNSU', 'OP_UNSUB', 'OP_UNSUB_SPC', 'UNSUB_ARG', 'OP_M',
  'OP_MS', 'OP_MSG', 'OP_MSG_SPC', 'MSG_ARG', 'OP_I', 'OP_IN', 'OP_INF', 'OP_INFO', 'INFO_ARG',
  'OP_R', 'OP_RS',
]

const TAB = 0x09, LF = 0x0a, CR = 0x0d, SPACE = 0x20, PLUS = 0x2b, MINUS = 0x2d, DIGIT_0 = 0x30, PIPE = 0x7c
const UPPER_A = 0x41, UPPER_Z = 0x5a, CASE_OFFSET = 0x20
// Op letters in lower case. toLower() folds the input, because op names are
// case-insensitive (parser.go matches `case 'P', 'p':`).
const CHAR_B = 0x62, CHAR_C = 0x63, CHAR_E = 0x65, CHAR_F = 0x66, CHAR_G = 0x67, CHAR_H = 0x68, CHAR_I = 0x69
const CHAR_K = 0x6b, CHAR_M = 0x6d, CHAR_N = 0x6e, CHAR_O = 0x6f, CHAR_P = 0x70, CHAR_R = 0x72, CHAR_S = 0x73
const CHAR_T = 0x74, CHAR_U = 0x75

/**
 * Turns read chunks into OpHandler and LinkHandler calls. Read loop only: one
 * Parser per socket, fed every chunk in order. It never throws on input. Bad
 * input means one link.protocolError call, and then the parser ignores
 * everything after it.
 *
 * Between two parse() calls the parser keeps only `argBuf` (a control line cut
 * by the chunk end) and `msgBuf` (a payload cut by the chunk end), plus a copy
 * of that payload's control line for pa to point into. All of them are copies,
 * never views of an old chunk.
 */
export class Parser {
  /** Longest argument after the op name; longer ones get `-ERR 'maximum control line exceeded'`. */
  maxControlLine: number
  /** Largest PUB/HPUB/RMSG/HMSG size; a route owner raises it (nats-server does not check routes). */
  maxPayload: number

  private readonly handler: OpHandler
  private readonly link: LinkHandler
  private readonly ops: OpSet
  private readonly pa: PubArg
  private state: number
  private isHalted: boolean
  /** Where the current argument starts in the current chunk (0 when it continues argBuf). */
  private argStart: number
  /** 1 when the byte before the LF was a CR, which the argument then leaves out. */
  private drop: number
  private argBuf: Buffer | null
  /** The control line just ended: lineBuf[lineStart, lineEnd), without the CR LF. */
  private lineBuf: Buffer
  private lineStart: number
  private lineEnd: number
  /** Where the payload starts in the chunk its control line ended in. */
  private msgStart: number
  private msgBuf: Buffer | null
  /** Payload bytes copied into msgBuf so far. */
  private msgLength: number
  /** Bounds of the message op's arguments inside the line; reused for every op. */
  private readonly argStarts: number[]
  private readonly argEnds: number[]

  constructor(handler: OpHandler, link: LinkHandler, ops: OpSet) {
    this.maxControlLine = DEFAULT_MAX_CONTROL_LINE
    this.maxPayload = DEFAULT_MAX_PAYLOAD
    this.handler = handler
    this.link = link
    this.ops = ops
    this.pa = new PubArg()
    this.state = OP_START
    this.isHalted = false
    this.argStart = 0
    this.drop = 0
    this.argBuf = null
    this.lineBuf = EMPTY
    this.lineStart = 0
    this.lineEnd = 0
    this.msgStart = 0
    this.msgBuf = null
    this.msgLength = 0
    this.argStarts = []
    this.argEnds = []
  }

  /**
   * Stops parsing for good: parse() returns at once from now on. The handler
   * calls it when it closes the connection in the middle of a chunk.
   */
  halt(): void {
    this.isHalted = true
    this.argBuf = null
    this.msgBuf = null
  }

  parse(buf: Buffer): void {
    for (let i = 0; i < buf.length && !this.isHalted; i++) {
      const b = buf[i]
      switch (this.state) {
        case OP_START:
          // No blank lines or leading spaces: `\r\n` and ` PING` are unknown ops (oracle).
          switch (toLower(b)) {
            case CHAR_P:
              // Fast path for the op that dominates: `PUB ` whole in this chunk skips
              // three trips through the switch (measured on 16-byte PUBs).
              if (i + 3 < buf.length && this.ops.hasPub && toLower(buf[i + 1]) === CHAR_U &&
                  toLower(buf[i + 2]) === CHAR_B && (buf[i + 3] === SPACE || buf[i + 3] === TAB)) {
                this.state = OP_PUB_SPC
                i += 3
                break
              }
              this.state = OP_P
              break
            case CHAR_H: this.state = OP_H; break
            case CHAR_C: this.state = OP_C; break
            case CHAR_I: this.state = OP_I; break
            case PLUS: this.state = OP_PLUS; break
            case MINUS: this.state = OP_MINUS; break
            case CHAR_S: if (!this.ops.hasSub) return this.unknownOp(buf, i); this.state = OP_S; break
            case CHAR_U: if (!this.ops.hasSub) return this.unknownOp(buf, i); this.state = OP_U; break
            case CHAR_R: if (!this.ops.hasRouted) return this.unknownOp(buf, i); this.state = OP_R; break
            default: return this.unknownOp(buf, i)
          }
          break

        case OP_PLUS: if (toLower(b) !== CHAR_O) return this.unknownOp(buf, i); this.state = OP_PLUS_O; break
        case OP_PLUS_O: if (toLower(b) !== CHAR_K) return this.unknownOp(buf, i); this.state = OP_PLUS_OK; break
        case OP_PLUS_OK:
          // Like PING: anything up to the LF is ignored, so `+OKX` is +OK (oracle).
          if (b === LF) {
            this.state = OP_START
            this.link.processOk()
          }
          break

        case OP_MINUS: if (toLower(b) !== CHAR_E) return this.unknownOp(buf, i); this.state = OP_MINUS_E; break
        case OP_MINUS_E: if (toLower(b) !== CHAR_R) return this.unknownOp(buf, i); this.state = OP_MINUS_ER; break
        case OP_MINUS_ER: if (toLower(b) !== CHAR_R) return this.unknownOp(buf, i); this.state = OP_MINUS_ERR; break
        // `-ERR\r\n` and `-ERRx` are unknown ops: the separator is required (oracle).
        case OP_MINUS_ERR: if (b !== SPACE && b !== TAB) return this.unknownOp(buf, i); this.state = OP_MINUS_ERR_SPC; break
        case OP_MINUS_ERR_SPC: if (b !== SPACE && b !== TAB) this.startArg(MINUS_ERR_ARG, i); break

        case OP_C: if (toLower(b) !== CHAR_O) return this.unknownOp(buf, i); this.state = OP_CO; break
        case OP_CO: if (toLower(b) !== CHAR_N) return this.unknownOp(buf, i); this.state = OP_CON; break
        case OP_CON: if (toLower(b) !== CHAR_N) return this.unknownOp(buf, i); this.state = OP_CONN; break
        case OP_CONN: if (toLower(b) !== CHAR_E) return this.unknownOp(buf, i); this.state = OP_CONNE; break
        case OP_CONNE: if (toLower(b) !== CHAR_C) return this.unknownOp(buf, i); this.state = OP_CONNEC; break
        case OP_CONNEC: if (toLower(b) !== CHAR_T) return this.unknownOp(buf, i); this.state = OP_CONNECT; break
        case OP_CONNECT:
          // No separator is required: `CONNECT{}` works, and `CONNECT\r\n` hands
          // over the argument `\r`, which the handler rejects (oracle: closed, no -ERR).
          if (b !== SPACE && b !== TAB) this.startArg(CONNECT_ARG, i)
          break

        case OP_H:
          switch (toLower(b)) {
            case CHAR_P: if (!this.ops.hasPub) return this.unknownOp(buf, i); this.state = OP_HP; break
            case CHAR_M: if (!this.ops.hasRouted) return this.unknownOp(buf, i); this.state = OP_HM; break
            default: return this.unknownOp(buf, i)
          }
          break
        case OP_HP: if (toLower(b) !== CHAR_U) return this.unknownOp(buf, i); this.state = OP_HPU; break
        case OP_HPU: if (toLower(b) !== CHAR_B) return this.unknownOp(buf, i); this.state = OP_HPUB; break
        case OP_HPUB: if (b !== SPACE && b !== TAB) return this.unknownOp(buf, i); this.state = OP_HPUB_SPC; break
        case OP_HPUB_SPC: if (b !== SPACE && b !== TAB) this.startArg(HPUB_ARG, i); break
        case OP_HM: if (toLower(b) !== CHAR_S) return this.unknownOp(buf, i); this.state = OP_HMS; break
        case OP_HMS: if (toLower(b) !== CHAR_G) return this.unknownOp(buf, i); this.state = OP_HMSG; break
        case OP_HMSG: if (b !== SPACE && b !== TAB) return this.unknownOp(buf, i); this.state = OP_HMSG_SPC; break
        case OP_HMSG_SPC: if (b !== SPACE && b !== TAB) this.startArg(HMSG_ARG, i); break

        case OP_P:
          switch (toLower(b)) {
            case CHAR_U: if (!this.ops.hasPub) return this.unknownOp(buf, i); this.state = OP_PU; break
            case CHAR_I: this.state = OP_PI; break
            case CHAR_O: this.state = OP_PO; break
            default: return this.unknownOp(buf, i)
          }
          break
        case OP_PU: if (toLower(b) !== CHAR_B) return this.unknownOp(buf, i); this.state = OP_PUB; break
        // `PUB\r\n` and `PUBa 1` are unknown ops; `PUB \r\n` is a malformed PUB (oracle).
        case OP_PUB: if (b !== SPACE && b !== TAB) return this.unknownOp(buf, i); this.state = OP_PUB_SPC; break
        case OP_PUB_SPC: if (b !== SPACE && b !== TAB) this.startArg(PUB_ARG, i); break

        case PUB_ARG:
        case HPUB_ARG:
        case MSG_ARG:
        case HMSG_ARG:
          i = this.skipToLineEnd(buf, i)
          if (buf[i] === LF) i = this.processMsgLine(buf, i)
          break
        case SUB_ARG:
        case UNSUB_ARG:
        case CONNECT_ARG:
        case INFO_ARG:
        case MINUS_ERR_ARG:
          i = this.skipToLineEnd(buf, i)
          if (buf[i] === LF) this.processArgLine(buf, i)
          break

        case OP_PI: if (toLower(b) !== CHAR_N) return this.unknownOp(buf, i); this.state = OP_PIN; break
        case OP_PIN: if (toLower(b) !== CHAR_G) return this.unknownOp(buf, i); this.state = OP_PING; break
        case OP_PING:
          // Bytes between PING and the LF are ignored, with no length limit:
          // `PING x\r\n` and `PINGPONG\r\n` each get one PONG (oracle).
          if (b === LF) {
            this.state = OP_START
            this.link.processPing()
          }
          break
        case OP_PO: if (toLower(b) !== CHAR_N) return this.unknownOp(buf, i); this.state = OP_PON; break
        case OP_PON: if (toLower(b) !== CHAR_G) return this.unknownOp(buf, i); this.state = OP_PONG; break
        case OP_PONG:
          if (b === LF) {
            this.state = OP_START
            this.link.processPong()
          }
          break

        case MSG_PAYLOAD: {
          // Only a payload carried over from an earlier chunk gets here. A payload
          // inside the chunk of its control line was jumped over in processMsgLine.
          const msgBuf = this.msgBuf
          assert(msgBuf !== null, 'MSG_PAYLOAD without a carried payload')
          const end = Math.min(buf.length, i + this.pa.size - this.msgLength)
          this.msgLength += buf.copy(msgBuf, this.msgLength, i, end)
          i = end - 1
          if (this.msgLength === this.pa.size) this.state = MSG_END_R
          break
        }
        case MSG_END_R:
          // The payload must be followed by exactly CRLF. Anything else, including a
          // bare LF or a size that does not match, is an unknown op (parser.go; oracle).
          if (b !== CR) return this.unknownOp(buf, i)
          this.state = MSG_END_N
          break
        case MSG_END_N: {
          if (b !== LF) return this.unknownOp(buf, i)
          const msgBuf = this.msgBuf
          this.msgBuf = null
          this.state = OP_START
          if (msgBuf === null) this.handler.processMsg(this.pa, buf, this.msgStart)
          else this.handler.processMsg(this.pa, msgBuf, 0)
          break
        }

        case OP_S: if (toLower(b) !== CHAR_U) return this.unknownOp(buf, i); this.state = OP_SU; break
        case OP_SU: if (toLower(b) !== CHAR_B) return this.unknownOp(buf, i); this.state = OP_SUB; break
        case OP_SUB: if (b !== SPACE && b !== TAB) return this.unknownOp(buf, i); this.state = OP_SUB_SPC; break
        case OP_SUB_SPC: if (b !== SPACE && b !== TAB) this.startArg(SUB_ARG, i); break

        case OP_U: if (toLower(b) !== CHAR_N) return this.unknownOp(buf, i); this.state = OP_UN; break
        case OP_UN: if (toLower(b) !== CHAR_S) return this.unknownOp(buf, i); this.state = OP_UNS; break
        case OP_UNS: if (toLower(b) !== CHAR_U) return this.unknownOp(buf, i); this.state = OP_UNSU; break
        case OP_UNSU: if (toLower(b) !== CHAR_B) return this.unknownOp(buf, i); this.state = OP_UNSUB; break
        case OP_UNSUB: if (b !== SPACE && b !== TAB) return this.unknownOp(buf, i); this.state = OP_UNSUB_SPC; break
        case OP_UNSUB_SPC: if (b !== SPACE && b !== TAB) this.startArg(UNSUB_ARG, i); break

        case OP_M: if (toLower(b) !== CHAR_S) return this.unknownOp(buf, i); this.state = OP_MS; break
        case OP_MS: if (toLower(b) !== CHAR_G) return this.unknownOp(buf, i); this.state = OP_MSG; break
        case OP_MSG: if (b !== SPACE && b !== TAB) return this.unknownOp(buf, i); this.state = OP_MSG_SPC; break
        case OP_MSG_SPC: if (b !== SPACE && b !== TAB) this.startArg(MSG_ARG, i); break

        case OP_I: if (toLower(b) !== CHAR_N) return this.unknownOp(buf, i); this.state = OP_IN; break
        case OP_IN: if (toLower(b) !== CHAR_F) return this.unknownOp(buf, i); this.state = OP_INF; break
        case OP_INF: if (toLower(b) !== CHAR_O) return this.unknownOp(buf, i); this.state = OP_INFO; break
        case OP_INFO:
          // Like CONNECT, no separator is required (`INFO{}` works, oracle).
          if (b !== SPACE && b !== TAB) this.startArg(INFO_ARG, i)
          break

        case OP_R:
          switch (toLower(b)) {
            case CHAR_S: this.state = OP_RS; break
            case CHAR_M: this.state = OP_M; break
            default: return this.unknownOp(buf, i)
          }
          break
        case OP_RS:
          switch (b) {
            case PLUS: this.state = OP_SUB; break
            case MINUS: this.state = OP_UNSUB; break
            default: return this.unknownOp(buf, i)
          }
          break

        default:
          assert.fail(`unknown parser state ${this.state}`)
      }
    }
    if (!this.isHalted) this.carryOver(buf)
  }

  /**
   * Enters an argument state at byte i. That byte starts the argument even when
   * it is a CR or an LF, as in parser.go. So `PUB \r\n` has the argument `\r`,
   * and `UNSUB \nPING\r\n` has the argument `\nPING`, which also swallows the
   * PING (oracle).
   */
  private startArg(state: number, i: number): void {
    this.state = state
    this.argStart = i
    this.drop = 0
  }

  /**
   * Moves from byte i of an argument to the LF that ends it, or to the chunk's
   * last byte when the line goes on in the next chunk, and keeps drop up to date.
   * A tight scan instead of one pass through the switch per argument byte made
   * a chunk of small PUBs parse 1.4-2x faster (2,000 PUBs per chunk).
   */
  private skipToLineEnd(buf: Buffer, i: number): number {
    // Most control lines are short: a JS scan of the first bytes beats the
    // native indexOf call; long lines (CONNECT, big SUB lists) still get memchr.
    let lf = -1
    const scanEnd = Math.min(buf.length, i + SHORT_LINE_SCAN)
    let j = i
    while (j < scanEnd && buf[j] !== LF) j++
    if (j < scanEnd) lf = j
    else if (scanEnd < buf.length) lf = buf.indexOf(LF, scanEnd)
    const end = lf < 0 ? buf.length - 1 : lf
    // The byte before the LF, unless it is the argument's first byte: a CR there
    // belongs to the argument, as in parser.go (see startArg).
    const last = lf < 0 ? end : lf - 1
    if (last >= i) this.drop = buf[last] === CR ? 1 : 0
    return end
  }

  /**
   * Sets lineBuf/lineStart/lineEnd to the argument of the control line that
   * ends at the LF at i, without the CR before the LF. Returns false if the
   * argument is longer than maxControlLine; that error is already reported and
   * parsing has stopped.
   */
  private takeLine(buf: Buffer, i: number): boolean {
    if (this.argBuf === null) {
      this.lineBuf = buf
      this.lineStart = this.argStart
      this.lineEnd = i - this.drop
    } else {
      const line = Buffer.concat([this.argBuf, buf.subarray(this.argStart, i)])
      this.lineBuf = line
      this.lineStart = 0
      this.lineEnd = line.length - this.drop
      this.argBuf = null
    }
    this.drop = 0
    const length = this.lineEnd - this.lineStart
    // nats-server 2.9 checks every complete argument of a client against
    // max_control_line, not only lines that were cut by a read: an argument of
    // 4097 bytes gets the -ERR, and 4096 does not. This holds for PUB, SUB, CONNECT,
    // INFO and -ERR (oracle). It does not check routes; a route owner raises the limit.
    if (length > this.maxControlLine) {
      this.parseError(ERR_MAX_CONTROL_LINE, i, this.lineBuf.subarray(this.lineStart, this.lineEnd), `argument of ${length} bytes`)
      return false
    }
    return true
  }

  /**
   * The LF at i ends a SUB/UNSUB/CONNECT/INFO/-ERR line (RS+ and RS- come as SUB
   * and UNSUB). The handler parses the argument, as nats-server's processSub,
   * processRemoteSub, processConnect etc. do after the parser; so a wrong SUB or
   * UNSUB argument count is the handler's to report.
   */
  private processArgLine(buf: Buffer, i: number): void {
    if (!this.takeLine(buf, i)) return
    const arg = this.lineBuf.subarray(this.lineStart, this.lineEnd)
    const state = this.state
    this.state = OP_START
    if (state === SUB_ARG) this.handler.processSub(arg)
    else if (state === UNSUB_ARG) this.handler.processUnsub(arg)
    else if (state === CONNECT_ARG) this.handler.processConnect(arg)
    else if (state === INFO_ARG) this.handler.processInfo(arg)
    else this.handler.processErr(arg)
  }

  /**
   * The LF at i ends a PUB/HPUB/RMSG/HMSG line. Fills pa and sets up the payload.
   * Returns the index the loop goes on from: the payload's last byte when the
   * whole payload is in this chunk, or the chunk's end when it is not.
   */
  private processMsgLine(buf: Buffer, i: number): number {
    if (!this.takeLine(buf, i) || !this.processMsgArgs(this.lineBuf, this.lineStart, this.lineEnd, i)) return i
    this.msgStart = i + 1
    const payloadEnd = this.msgStart + this.pa.size
    if (payloadEnd + 1 < buf.length && buf[payloadEnd] === CR && buf[payloadEnd + 1] === LF) {
      // Payload and its CRLF are in this chunk: hand it over now, no MSG_END states.
      this.state = OP_START
      this.handler.processMsg(this.pa, buf, this.msgStart)
      return payloadEnd + 1
    }
    if (payloadEnd <= buf.length) {
      // The payload is a view of the chunk (zero copy). MSG_END_R checks the CRLF after it.
      this.state = MSG_END_R
      return payloadEnd - 1
    }
    this.state = MSG_PAYLOAD
    return buf.length - 1
  }

  /**
   * Splits a message op's arguments and fills pa. They are, as in nats-server 2.9
   * (processPub, processHeaderPub, processRoutedMsgArgs, processRoutedHeaderMsgArgs):
   *   PUB  subj [reply] size                HPUB subj [reply] hdrSize size
   *   RMSG account subj [reply] size        HMSG account subj [reply] hdrSize size
   *   RMSG account subj + reply q1 q2… size    (a reply, then queue names)
   *   RMSG account subj | q1 q2… size          (queue names, no reply)
   * A malformed list closes the connection with no -ERR (oracle). Returns false
   * after reporting an error.
   */
  private processMsgArgs(line: Buffer, lineStart: number, lineEnd: number, i: number): boolean {
    const isRouted = this.state === MSG_ARG || this.state === HMSG_ARG
    const hasHeaders = this.state === HPUB_ARG || this.state === HMSG_ARG
    const count = this.splitArgs(line, lineStart, lineEnd)
    const starts = this.argStarts
    const ends = this.argEnds
    const subjectAt = isRouted ? 1 : 0
    const minCount = subjectAt + (hasHeaders ? 3 : 2)
    const sizeAt = count - 1
    const hdrSizeAt = hasHeaders ? count - 2 : -1
    let replyAt = -1
    let queuesAt = 0
    let queuesEnd = 0
    if (count < minCount || (count > minCount + 1 && !isRouted)) {
      return this.parseError(null, i, line.subarray(lineStart, lineEnd), `${count} arguments`)
    }
    if (count === minCount + 1) {
      replyAt = subjectAt + 1
    } else if (count > minCount + 1) {
      const indicatorAt = subjectAt + 1
      const indicator = ends[indicatorAt] - starts[indicatorAt] === 1 ? line[starts[indicatorAt]] : 0
      if (indicator === PLUS) {
        replyAt = indicatorAt + 1
        queuesAt = indicatorAt + 2
      } else if (indicator === PIPE) {
        queuesAt = indicatorAt + 1
      } else {
        return this.parseError(null, i, line.subarray(lineStart, lineEnd), 'bad reply indicator')
      }
      queuesEnd = hasHeaders ? hdrSizeAt : sizeAt
    }
    const size = parseSize(line, starts[sizeAt], ends[sizeAt])
    const hdrSize = hasHeaders ? parseSize(line, starts[hdrSizeAt], ends[hdrSizeAt]) : -1
    if (size < 0) return this.parseError(null, i, line.subarray(lineStart, lineEnd), 'bad size')
    if (hasHeaders && (hdrSize < 0 || hdrSize > size)) return this.parseError(null, i, line.subarray(lineStart, lineEnd), 'bad header size')
    if (size > this.maxPayload) return this.parseError(ERR_MAX_PAYLOAD, i, line.subarray(lineStart, lineEnd), `size ${size} > ${this.maxPayload}`)

    const pa = this.pa
    pa.line = line
    pa.accountStart = isRouted ? starts[0] : -1
    pa.accountEnd = isRouted ? ends[0] : -1
    pa.subjectStart = starts[subjectAt]
    pa.subjectEnd = ends[subjectAt]
    pa.replyStart = replyAt < 0 ? -1 : starts[replyAt]
    pa.replyEnd = replyAt < 0 ? -1 : ends[replyAt]
    pa.queueCount = queuesEnd - queuesAt
    for (let q = 0; q < pa.queueCount; q++) {
      pa.queueStarts[q] = starts[queuesAt + q]
      pa.queueEnds[q] = ends[queuesAt + q]
    }
    pa.hdrSize = hdrSize
    pa.hdrSizeStart = hasHeaders ? starts[hdrSizeAt] : 0
    pa.hdrSizeEnd = hasHeaders ? ends[hdrSizeAt] : 0
    pa.size = size
    pa.sizeStart = starts[sizeAt]
    pa.sizeEnd = ends[sizeAt]
    return true
  }

  /**
   * Records the bounds of line's space- or tab-separated words in argStarts and
   * argEnds. Returns how many there are. A CR inside the line is part of a word,
   * as in processPub: `PUB a 1\r\r\n` has the size `1\r` (oracle: closed, no -ERR).
   */
  private splitArgs(line: Buffer, lineStart: number, lineEnd: number): number {
    let count = 0
    let start = -1
    for (let j = lineStart; j < lineEnd; j++) {
      const b = line[j]
      if (b === SPACE || b === TAB) {
        if (start >= 0) {
          this.argStarts[count] = start
          this.argEnds[count] = j
          count++
          start = -1
        }
      } else if (start < 0) {
        start = j
      }
    }
    if (start >= 0) {
      this.argStarts[count] = start
      this.argEnds[count] = lineEnd
      count++
    }
    return count
  }

  /**
   * Runs once the loop reaches the end of a chunk. It keeps copies of whatever
   * the next chunk will need, because this chunk's memory goes back to the socket
   * (parser.go does the same at the end of parse).
   */
  private carryOver(buf: Buffer): void {
    const state = this.state
    if (state === MSG_PAYLOAD || state === MSG_END_R || state === MSG_END_N) {
      if (this.msgBuf === null) this.carryPayload(buf)
    } else if (
      state === PUB_ARG || state === HPUB_ARG || state === MSG_ARG || state === HMSG_ARG ||
      state === SUB_ARG || state === UNSUB_ARG || state === CONNECT_ARG || state === INFO_ARG ||
      state === MINUS_ERR_ARG
    ) {
      const tail = buf.subarray(this.argStart)
      this.argBuf = this.argBuf === null ? Buffer.from(tail) : Buffer.concat([this.argBuf, tail])
      this.argStart = 0
      // parser.go checks the carried line after every read, so a peer cannot grow it
      // without limit by never sending the LF.
      const length = this.argBuf.length - this.drop
      if (length > this.maxControlLine) {
        this.parseError(ERR_MAX_CONTROL_LINE, buf.length, this.argBuf, `unfinished argument of ${length} bytes`)
      }
    }
  }

  /**
   * The payload runs past the chunk, so pa must stop pointing into the chunk.
   * Copy the control line and move pa's ranges onto the copy (parser.go's
   * clonePubArg). Then copy the start of the payload into msgBuf, which is
   * sized for the whole payload and its CRLF, so that it is never grown.
   */
  private carryPayload(buf: Buffer): void {
    const pa = this.pa
    const shift = this.lineStart
    pa.line = Buffer.from(this.lineBuf.subarray(this.lineStart, this.lineEnd))
    if (pa.accountStart >= 0) { pa.accountStart -= shift; pa.accountEnd -= shift }
    pa.subjectStart -= shift
    pa.subjectEnd -= shift
    if (pa.replyStart >= 0) { pa.replyStart -= shift; pa.replyEnd -= shift }
    for (let q = 0; q < pa.queueCount; q++) { pa.queueStarts[q] -= shift; pa.queueEnds[q] -= shift }
    if (pa.hdrSize >= 0) { pa.hdrSizeStart -= shift; pa.hdrSizeEnd -= shift }
    pa.sizeStart -= shift
    pa.sizeEnd -= shift
    this.lineBuf = EMPTY

    this.msgBuf = Buffer.allocUnsafe(pa.size + 2)
    this.msgLength = Math.min(pa.size, buf.copy(this.msgBuf, 0, this.msgStart))
  }

  private unknownOp(buf: Buffer, i: number): void {
    this.parseError(ERR_UNKNOWN_PROTOCOL, i, buf.subarray(i), 'unknown op')
  }

  /** Stops for good and reports once; the detail follows parser.go's parseErr log line. */
  private parseError(wireError: string | null, i: number, proto: Buffer, reason: string): false {
    const name = STATE_NAMES[this.state] ?? String(this.state)
    const detail = `parser error state=${name} i=${i} proto='${protoSnippet(proto)}': ${reason}`
    this.halt()
    this.link.protocolError(wireError, detail)
    return false
  }
}

function toLower(b: number): number {
  return b >= UPPER_A && b <= UPPER_Z ? b + CASE_OFFSET : b
}

/** Digits only, at most MAX_SIZE_DIGITS of them; -1 for anything else (nats-server parseSize). */
function parseSize(buf: Buffer, start: number, end: number): number {
  if (end <= start || end - start > MAX_SIZE_DIGITS) return -1
  let n = 0
  for (let j = start; j < end; j++) {
    const digit = buf[j] - DIGIT_0
    if (digit < 0 || digit > 9) return -1
    n = n * 10 + digit
  }
  return n
}

/** The first PROTO_SNIPPET_SIZE bytes, with control characters escaped for a log line. */
function protoSnippet(buf: Buffer): string {
  const text = buf.toString('latin1', 0, Math.min(buf.length, PROTO_SNIPPET_SIZE))
  return JSON.stringify(text).slice(1, -1)
}
