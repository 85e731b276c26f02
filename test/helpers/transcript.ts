// A transcript that ends on an event, not on silence: the input goes out with
// one more PING appended, and the transcript is complete when the server has
// answered every PING in it (the last PONG comes after everything the server
// wrote for the input, since it answers in order) or has closed the socket.
// Used to send the same bytes to natsmesh and to nats-server (differential
// tests): both get exactly the same bytes, sentinel included.
import { RawClient } from './raw-client.js'

const SENTINEL = 'PING\r\n'

/**
 * How many PINGs a server answers in `input`, reading it as the protocol does:
 * op names in any case, arguments after spaces or tabs, a PUB/HPUB payload
 * skipped by its size when CRLF follows it. Where the input is malformed it
 * keeps counting the lines that follow: a PING too many only makes the
 * transcript wait for the close such input leads to (or fail loudly), while
 * one too few would end it early.
 */
export function countPings(input: string): number {
  let count = 0
  let pos = 0
  for (let guard = 0; guard < 100_000 && pos < input.length; guard++) {
    const eol = input.indexOf('\n', pos)
    if (eol < 0) break
    const line = input.slice(pos, input[eol - 1] === '\r' ? eol - 1 : eol)
    pos = eol + 1
    const args = line.split(/[ \t]+/).filter((a) => a !== '')
    const op = (args[0] ?? '').toLowerCase()
    if (op === 'ping') count++
    if (op === 'pub' || op === 'hpub') {
      const size = Number(args[args.length - 1])
      if (Number.isInteger(size) && size >= 0 && input.slice(pos + size, pos + size + 2) === '\r\n') pos += size + 2
    }
  }
  return count
}

function pongs(text: string): number {
  return text.split('PONG\r\n').length - 1
}

/**
 * Sends `input` plus a PING on a fresh connection (after the server's INFO)
 * and returns what came back, with the first INFO shortened to `INFO`, once
 * the server has answered every PING or closed. Throws, with what it got so
 * far, if neither happens within timeoutMs.
 */
export async function transcriptToPong(port: number, input: string, timeoutMs = 10_000): Promise<{ text: string; closed: boolean }> {
  const c = await RawClient.connect(port)
  try {
    await c.waitFor((t) => t.includes('\r\n'), timeoutMs)
    const expected = countPings(input + SENTINEL)
    c.send(input + SENTINEL)
    const text = await c.waitFor((t) => pongs(t) >= expected, timeoutMs)
    if (!c.closed() && pongs(text) < expected) {
      throw new Error(`no answer to the closing PING (${expected} PINGs sent, ${pongs(text)} PONGs) and no close within ${timeoutMs} ms; ` +
        `got ${JSON.stringify(c.text())}`)
    }
    return { text: c.text(), closed: c.closed() }
  } finally {
    c.close()
  }
}
