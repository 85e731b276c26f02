// Ports on 127.0.0.1 for local servers: free ones from the OS, and probes that
// tell whether something listens there, or answers like a NATS server.
import net from 'node:net'
import { until } from '../wait.js'

const PROBE_TIMEOUT_MS = 2_000
const PORT_POLL_MS = 25

/** A port the OS just handed out on 127.0.0.1; free when this resolves. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1)
  return port
}

/** `count` distinct ports the OS says are free, all held at once so none repeats; free when this resolves. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = []
  try {
    const ports: number[] = []
    for (let i = 0; i < count; i++) {
      const server = net.createServer()
      server.unref()
      servers.push(server)
      ports.push(await new Promise<number>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => {
          const address = server.address()
          if (address === null || typeof address === 'string') reject(new Error('no port from the OS'))
          else resolve(address.port)
        })
      }))
    }
    return ports
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))))
  }
}

/** True when something accepts a TCP connection on 127.0.0.1:port (closed again at once). */
export function isAccepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.setTimeout(PROBE_TIMEOUT_MS, () => { socket.destroy(); resolve(false) })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** Resolves once something accepts TCP connections on the port; throws after timeoutMs. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  await until(`something listens on 127.0.0.1:${port}`, () => isAccepting(port), timeoutMs, PORT_POLL_MS)
}

/** True when a connection gets a first line and it is INFO, as a NATS server sends on accept. */
export function answersInfo(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let seen = ''
    const timer = setTimeout(() => { socket.destroy(); resolve(false) }, PROBE_TIMEOUT_MS / 2)
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1')
      if (!seen.includes('\r\n')) return
      clearTimeout(timer)
      socket.destroy()
      resolve(seen.startsWith('INFO '))
    })
    socket.on('error', () => { clearTimeout(timer); resolve(false) })
  })
}
