// The seam between the byte-level parser and whoever owns the socket.
// Connection (client side) and cluster's Route implement OpHandler; the parser
// never asks which one it talks to (policy such as "CONNECT first" or "headers
// must be enabled" lives in the handler, not in the byte loop).

const EMPTY = Buffer.alloc(0)

/**
 * The arguments of the message op being parsed (PUB/HPUB from clients,
 * RMSG/HMSG from routes). One instance per parser, refilled for every op:
 * the handler must copy whatever it keeps past processMsg.
 */
export class PubArg {
  /** Account of a routed message (`$G`); null for client ops. */
  account: Buffer | null = null
  subject: Buffer = EMPTY
  reply: Buffer | null = null
  /** Queue names on a routed message; only the first queueCount entries are valid. */
  queues: Buffer[] = []
  queueCount = 0
  /** Header bytes at the front of the payload; -1 when the op carries no headers. */
  hdrSize = -1
  /** The header size digits as they arrived (HPUB/HMSG), for building HMSG without formatting. */
  hdrSizeBytes: Buffer = EMPTY
  /** Total payload bytes, headers included. */
  size = 0
  /** The total size digits as they arrived. */
  sizeBytes: Buffer = EMPTY
}

export interface OpHandler {
  /** `CONNECT <json>`: arg is the JSON. */
  processConnect(arg: Buffer): void
  /** Client `SUB subj [queue] sid`; route `RS+ $G subj [queue weight]`. */
  processSub(arg: Buffer): void
  /** Client `UNSUB sid [max]`; route `RS- $G subj [queue]`. */
  processUnsub(arg: Buffer): void
  /**
   * A whole message: payload holds headers and body, without the trailing CRLF.
   * It may be a view of the read chunk: valid only during this call.
   */
  processMsg(pa: PubArg, payload: Buffer): void
  processPing(): void
  processPong(): void
  /** `INFO <json>`. */
  processInfo(arg: Buffer): void
  /** `-ERR <text>`. */
  processErr(arg: Buffer): void
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
