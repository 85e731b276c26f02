// What every load generator role shares: the IPC send and a raw socket dial.
import net from 'node:net'
import type { Command, Event } from './messages.js'
import type { ProtocolScanner } from './protocol.js'

/** One load generator process plays one Role, driven by the runner's Commands. */
export interface Role {
  command(cmd: Command): void
}

export function send(event: Event): void {
  if (process.send !== undefined && process.connected) process.send(event)
}

/** Connects to 127.0.0.1:port and feeds every chunk to the scanner. */
export function dial(port: number, scanner: ProtocolScanner, onClose: (error: string | null) => void): net.Socket {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
  let lastError: string | null = null
  socket.on('error', (err) => { lastError = err.message })
  socket.on('close', () => onClose(lastError))
  socket.on('data', (chunk: Buffer) => scanner.feed(chunk))
  return socket
}
