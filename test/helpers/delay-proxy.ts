// A TCP proxy that holds back what the target sends by a fixed delay (the
// other direction passes at once), end of stream included: a slow link from
// a server to one client. Tests use it to widen, on purpose, the moment
// between a server acting on a request and the client hearing about it, so
// that an ordering the code promises ("A, and only after ZooKeeper confirmed
// it, B") can be seen from outside instead of guessed from timing.
import net from 'node:net'

export interface DelayProxy {
  readonly port: number
  /** `127.0.0.1:<proxy port>`. */
  readonly hostPort: string
  /** From now on, hold target → client bytes back this long. Only raise it: a lower delay could let later bytes overtake. */
  setDelay(ms: number): void
  close(): Promise<void>
}

/** Listens on a free 127.0.0.1 port and forwards to `targetPort`, delaying target → client bytes by delayMs (0: none). */
export async function startDelayProxy(targetPort: number, initialDelayMs: number): Promise<DelayProxy> {
  let delayMs = initialDelayMs
  const sockets = new Set<net.Socket>()
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, '127.0.0.1')
    sockets.add(inbound)
    sockets.add(outbound)
    const drop = (): void => {
      inbound.destroy()
      outbound.destroy()
      sockets.delete(inbound)
      sockets.delete(outbound)
    }
    inbound.on('error', drop).on('close', drop)
    outbound.on('error', () => setTimeout(drop, delayMs))
    inbound.pipe(outbound)
    // Timers with the same delay fire in the order they were set: bytes keep their order, the end comes last.
    outbound.on('data', (chunk: Buffer) => setTimeout(() => { if (!inbound.destroyed) inbound.write(chunk) }, delayMs))
    outbound.on('end', () => setTimeout(() => inbound.end(), delayMs))
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') reject(new Error('no proxy port'))
      else resolve(address.port)
    })
  })
  return {
    port,
    hostPort: `127.0.0.1:${port}`,
    setDelay(ms: number) {
      if (ms < delayMs) throw new Error(`the delay only goes up (${delayMs} ms now, ${ms} asked)`)
      delayMs = ms
    },
    close() {
      for (const s of sockets) s.destroy()
      sockets.clear()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
