// Byte-level helpers for protocol arguments: no regex, no string split.

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
