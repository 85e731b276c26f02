// A raw-socket client for protocol tests that read like a transcript:
// send bytes, then expect bytes (nats-server's setupConn/expect pattern).
import net from 'node:net'

export class RawClient {
  readonly socket: net.Socket
  private received = Buffer.alloc(0)
  private isClosed = false
  private waiters: Array<() => void> = []

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d])
      this.wake()
    })
    socket.on('close', () => { this.isClosed = true; this.wake() })
    socket.on('error', () => { /* surfaced as close; the test asserts on closed() */ })
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => resolve(new RawClient(s)))
      s.once('error', reject)
    })
  }

  /**
   * nats-server's setupConn: a client past the handshake (INFO read,
   * `CONNECT {"verbose":false,"pedantic":false,…fields}` and PING sent, PONG
   * seen). Closed in t.teardown.
   */
  static async setupConn(t: { teardown(fn: () => void): void }, port: number, fields: Record<string, unknown> = {}): Promise<RawClient> {
    const c = await RawClient.connect(port)
    t.teardown(() => c.close())
    await c.waitFor((text) => text.includes('\r\n'))
    c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...fields })}\r\nPING\r\n`)
    await c.waitFor((text) => text.includes('PONG\r\n'))
    return c
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
  }

  /** Waits until `predicate(all bytes so far)` holds, the socket closes, or timeoutMs passes. */
  async waitFor(predicate: (text: string) => boolean, timeoutMs = 2000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const text = this.received.toString('latin1')
      if (predicate(text) || this.isClosed) return text
      const left = deadline - Date.now()
      if (left <= 0) return text
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Everything received, with the first INFO line replaced by `INFO\r\n` (ids differ per server). */
  text(): string {
    return this.received.toString('latin1').replace(/^INFO \{.*?\} ?\r\n/, 'INFO\r\n')
  }

  /** Consumes and returns what was received so far. */
  take(): string {
    const t = this.received.toString('latin1')
    this.received = Buffer.alloc(0)
    return t
  }

  closed(): boolean { return this.isClosed }

  close(): void { this.socket.destroy() }
}

/**
 * Sends `input` on a fresh connection and returns the transcript once the
 * server has been quiet for quietMs (or closed). Used to run the same bytes
 * against natsmesh and nats-server.
 */
export async function transcript(port: number, input: string | Buffer, quietMs = 150): Promise<{ text: string; closed: boolean }> {
  const c = await RawClient.connect(port)
  await c.waitFor((t) => t.includes('\r\n'))
  c.send(input)
  let last = -1
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, quietMs))
    const now = c.text().length
    if (c.closed() || now === last) break
    last = now
  }
  const result = { text: c.text(), closed: c.closed() }
  c.close()
  return result
}

/** The INFO a server (a client port, or a route port) sends a new connection, parsed. */
export async function firstInfo(port: number): Promise<Record<string, unknown>> {
  const c = await RawClient.connect(port)
  try {
    const text = await c.waitFor((s) => s.includes('\r\n'))
    if (!text.startsWith('INFO ')) throw new Error(`port ${port} sent no INFO first: ${JSON.stringify(text.slice(0, 80))}`)
    return JSON.parse(text.slice(5, text.indexOf('\r\n'))) as Record<string, unknown>
  } finally {
    c.close()
  }
}
