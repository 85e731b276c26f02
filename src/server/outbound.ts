// Outbound bytes of one connection (client or route), kept until the next
// flush. Deliveries copy into fixed-size chunks taken from a shared pool (the
// shape of nats-server's three outbound pools):
//
//   chunks: [ 64 KiB full ][ 64 KiB full ][ 4 KiB, `fill` bytes used ]
//                                                   ^ appends go here
//
// A chunk belongs to the socket from socket.write until the write callback;
// only then does it go back to the pool. Reusing it earlier would overwrite
// bytes the kernel has not taken yet.
import type { Socket } from 'node:net'

/**
 * Below this many bytes a JS loop beats Buffer.copy, which allocates a
 * Uint8Array view for every copy with offsets (lib/buffer.js _copyActual) and
 * crosses into C++: most MSG line pieces are a few bytes long.
 */
const LOOP_COPY_MAX = 64

/** Copies src[start, end) to dst at dstStart; returns the byte count. */
export function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, dstStart: number): number {
  const n = end - start
  if (n > LOOP_COPY_MAX) return src.copy(dst, dstStart, start, end)
  for (let k = 0; k < n; k++) dst[dstStart + k] = src[start + k]
  return n
}

export const SMALL_CHUNK = 512
export const MEDIUM_CHUNK = 4096
export const LARGE_CHUNK = 65536
// Free chunks kept per size: 128 KiB, 256 KiB and 4 MiB at most. A route to a
// fast peer has many large chunks in flight; dropping them all to GC showed up
// as 8% of a forwarding node's profile with a limit of 32.
const POOL_LIMITS = [256, 64, 64] as const

/** Free lists of outbound chunks, one per size. One per server, passed in. */
export class ChunkPool {
  private readonly free: [Buffer[], Buffer[], Buffer[]] = [[], [], []]

  /** A chunk that can hold at least `wanted` bytes, up to LARGE_CHUNK. */
  take(wanted: number): Buffer {
    const slot = wanted <= SMALL_CHUNK ? 0 : wanted <= MEDIUM_CHUNK ? 1 : 2
    const list = this.free[slot]
    const chunk = list.pop()
    if (chunk !== undefined) return chunk
    return Buffer.allocUnsafeSlow(slot === 0 ? SMALL_CHUNK : slot === 1 ? MEDIUM_CHUNK : LARGE_CHUNK)
  }

  give(chunk: Buffer): void {
    const size = chunk.length
    const slot = size === SMALL_CHUNK ? 0 : size === MEDIUM_CHUNK ? 1 : size === LARGE_CHUNK ? 2 : null
    if (slot === null) return
    const list = this.free[slot]
    if (list.length < POOL_LIMITS[slot]) list.push(chunk)
  }

  giveAll(chunks: Buffer[]): void {
    for (let i = 0; i < chunks.length; i++) this.give(chunks[i])
  }
}

export class Outbound {
  /** Bytes appended and not yet handed to the socket. */
  pendingBytes = 0
  private chunks: Buffer[] = []
  /** Bytes used in the last chunk. */
  private fill = 0
  private readonly pool: ChunkPool

  constructor(pool: ChunkPool) {
    this.pool = pool
  }

  /** Copies src[start, end) to the end of the outbound bytes. */
  append(src: Buffer, start: number, end: number): void {
    let remaining = end - start
    this.pendingBytes += remaining
    const chunks = this.chunks
    while (remaining > 0) {
      let last = chunks.length === 0 ? null : chunks[chunks.length - 1]
      if (last === null || this.fill === last.length) {
        // The first chunk of a flush is sized to the need; later ones are large.
        last = this.pool.take(chunks.length === 0 ? remaining : LARGE_CHUNK)
        chunks.push(last)
        this.fill = 0
      }
      const n = Math.min(remaining, last.length - this.fill)
      copyBytes(src, start, start + n, last, this.fill)
      this.fill += n
      start += n
      remaining -= n
    }
  }

  appendAll(src: Buffer): void {
    this.append(src, 0, src.length)
  }

  /** Hands every pending byte to the socket in one corked batch. */
  flushTo(socket: Socket): void {
    if (this.pendingBytes === 0) return
    const chunks = this.chunks
    const last = chunks.length - 1
    const pool = this.pool
    this.chunks = []
    this.pendingBytes = 0
    const done = (): void => pool.giveAll(chunks)
    if (last === 0) {
      socket.write(chunks[0].subarray(0, this.fill), done)
    } else {
      socket.cork()
      for (let i = 0; i < last; i++) socket.write(chunks[i])
      socket.write(chunks[last].subarray(0, this.fill), done)
      socket.uncork()
    }
    this.fill = 0
  }

  /** Drops whatever is pending (the connection is gone). */
  discard(): void {
    this.pool.giveAll(this.chunks)
    this.chunks = []
    this.fill = 0
    this.pendingBytes = 0
  }
}
