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
