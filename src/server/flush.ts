// One flush per read (client.go's pcd set and flushClients): whatever a read
// chunk makes the node write, to clients or routes, is handed to each socket
// once, after the whole chunk is parsed. Writes not born in a read (PING
// timers, INFO updates, ZooKeeper events) flush in one microtask.
// One FlushQueue per server, shared by every endpoint and the delivery core.

export interface Flushable {
  /** True while this is on the flush list. */
  flushQueued: boolean
  flushOutbound(): void
}

export class FlushQueue {
  private toFlush: Flushable[] = []
  private isInRead = false
  private isFlushScheduled = false
  private readonly flushAllBound = (): void => this.flushAll()

  /** Marks f to be flushed once at the end of this read chunk (or in a microtask outside reads). */
  queueFlush(f: Flushable): void {
    if (f.flushQueued) return
    f.flushQueued = true
    this.toFlush.push(f)
    if (!this.isInRead && !this.isFlushScheduled) {
      this.isFlushScheduled = true
      queueMicrotask(this.flushAllBound)
    }
  }

  beginRead(): void {
    this.isInRead = true
  }

  endRead(): void {
    this.isInRead = false
    this.flushAll()
  }

  private flushAll(): void {
    this.isFlushScheduled = false
    const list = this.toFlush
    // A flush can close a connection, which may queue more; take the list first.
    this.toFlush = []
    for (let i = 0; i < list.length; i++) {
      const f = list[i]
      f.flushQueued = false
      f.flushOutbound()
    }
  }
}
