// Protocol frames for the fuzzer: well-formed client ops from the NATS
// grammar (PUB, HPUB, SUB, UNSUB, PING, PONG, CONNECT), ops a client must not
// send (INFO, MSG, route ops), then mutated at the byte level: flips,
// insertions, deletions, truncation, CR/LF damage, wrong sizes, huge numbers,
// long lines, raw garbage. Seeded: the same seed gives the same bytes.
import type { Random } from './random.js'

const SUBJECTS = [
  'fz.a', 'fz.b.c', 'fz.*', 'fz.>', '>', '*', '*.*', 'fz..b', '.fz', 'fz.', 'fz. b', 'fz\tb', '',
  'fz.é', 'fz.\u0000', '$SYS.REQ.SERVER.PING', '_INBOX.fz', 'fz.>.x', 'fz.*x', 'FZ.A',
]
const QUEUES = ['q', 'q1', 'work ers', '', '*', 'q.>']
const SIDS = ['1', '2', '99', '0', '-1', 'abc', '18446744073709551616', '']
const JUNK_OPS = ['PUBX', 'SUBB', 'P', 'PI', 'PINGG', 'HPU', 'RS+', 'RS-', 'RMSG', 'LS+', 'MSG', 'INFO', '+OK', '-ERR', 'GET / HTTP/1.1', '\x16\x03\x01\x02\x00\x01']

function sizeText(rng: Random, actual: number): string {
  switch (rng.int(0, 9)) {
    case 0: return String(actual + 1)
    case 1: return String(Math.max(0, actual - 1))
    case 2: return '-1'
    case 3: return '99999999999999999999'
    case 4: return String(2 ** 31)
    case 5: return 'x1'
    case 6: return String(300 * 1024)
    default: return String(actual)
  }
}

function payload(rng: Random): Buffer {
  const size = rng.chance(0.05) ? rng.int(1024, 64 * 1024) : rng.int(0, 64)
  const out = Buffer.alloc(size)
  for (let i = 0; i < size; i++) out[i] = rng.chance(0.9) ? rng.int(32, 126) : rng.int(0, 255)
  return out
}

function subject(rng: Random): string {
  if (rng.chance(0.03)) return `fz.${'x'.repeat(rng.int(4_000, 9_000))}`
  return rng.pick(SUBJECTS)
}

function connectJson(rng: Random): string {
  const fields: string[] = []
  if (rng.chance(0.5)) fields.push(`"verbose":${rng.chance(0.3)}`)
  if (rng.chance(0.5)) fields.push(`"pedantic":${rng.chance(0.3)}`)
  if (rng.chance(0.5)) fields.push(`"headers":${rng.chance(0.7)}`)
  if (rng.chance(0.3)) fields.push(`"no_responders":${rng.chance(0.5)}`)
  if (rng.chance(0.3)) fields.push(`"echo":${rng.chance(0.5)}`)
  if (rng.chance(0.3)) fields.push(`"protocol":${rng.pick(['0', '1', '2', '-1', '"x"'])}`)
  if (rng.chance(0.2)) fields.push(`"name":"${'n'.repeat(rng.int(0, 300))}"`)
  if (rng.chance(0.1)) fields.push('"lang":null,"tls_required":true')
  const json = `{${fields.join(',')}}`
  return rng.chance(0.1) ? json.slice(0, rng.int(0, json.length)) : json
}

/** One op as a client would (mostly) send it. */
export function wellFormedOp(rng: Random): Buffer {
  switch (rng.int(0, 11)) {
    case 0:
    case 1:
    case 2: {
      const data = payload(rng)
      const reply = rng.chance(0.3) ? ` ${subject(rng)}` : ''
      return Buffer.concat([Buffer.from(`PUB ${subject(rng)}${reply} ${sizeText(rng, data.length)}\r\n`), data, Buffer.from('\r\n')])
    }
    case 3: {
      const data = payload(rng)
      const headers = rng.chance(0.8) ? `NATS/1.0\r\nK: ${'v'.repeat(rng.int(0, 40))}\r\n\r\n` : rng.pick(['NATS/1.0 503\r\n\r\n', 'HTTP/1.1\r\n\r\n', '', 'NATS/1.0\r\n'])
      const h = Buffer.from(headers)
      return Buffer.concat([
        Buffer.from(`HPUB ${subject(rng)} ${sizeText(rng, h.length)} ${sizeText(rng, h.length + data.length)}\r\n`), h, data, Buffer.from('\r\n'),
      ])
    }
    case 4:
    case 5: {
      const queue = rng.chance(0.3) ? ` ${rng.pick(QUEUES)}` : ''
      return Buffer.from(`SUB ${subject(rng)}${queue} ${rng.pick(SIDS)}\r\n`)
    }
    case 6: return Buffer.from(`UNSUB ${rng.pick(SIDS)}${rng.chance(0.4) ? ` ${rng.pick(['0', '1', '5', '-3', 'x', '99999999999'])}` : ''}\r\n`)
    case 7: return Buffer.from(rng.chance(0.5) ? 'PING\r\n' : 'PONG\r\n')
    case 8: return Buffer.from(`CONNECT ${connectJson(rng)}\r\n`)
    case 9: return Buffer.from(`INFO {"server_id":"FZ","port":${rng.int(0, 70000)}}\r\n`)
    case 10: {
      const data = payload(rng)
      return Buffer.concat([Buffer.from(`${rng.pick(['MSG', 'RMSG $G', 'RS+ $G', 'RS- $G', 'LMSG'])} ${subject(rng)} ${rng.pick(SIDS)} ${data.length}\r\n`), data, Buffer.from('\r\n')])
    }
    default: return Buffer.from(`${rng.pick(JUNK_OPS)}${rng.chance(0.5) ? ` ${subject(rng)}` : ''}\r\n`)
  }
}

/** Damages a frame at the byte level (sometimes not at all). */
export function mutate(rng: Random, frame: Buffer): Buffer {
  const kind = rng.int(0, 11)
  if (frame.length === 0) return frame
  const at = rng.int(0, frame.length - 1)
  switch (kind) {
    case 0: {
      const out = Buffer.from(frame)
      for (let i = rng.int(1, 4); i > 0; i--) out[rng.int(0, out.length - 1)] ^= 1 << rng.int(0, 7)
      return out
    }
    case 1: return Buffer.concat([frame.subarray(0, at), randomBytes(rng, rng.int(1, 16)), frame.subarray(at)])
    case 2: return Buffer.concat([frame.subarray(0, at), frame.subarray(Math.min(frame.length, at + rng.int(1, 8)))])
    case 3: return frame.subarray(0, at)
    case 4: return Buffer.from(frame.toString('latin1').replace(/\r\n/g, rng.pick(['\n', '\r', '\r\r\n', '\n\r'])), 'latin1')
    case 5: return Buffer.from(frame.toString('latin1').replace(/ /g, () => rng.pick([' ', '  ', '\t', ' \t '])), 'latin1')
    case 6: return Buffer.from(frame.toString('latin1').toLowerCase(), 'latin1')
    case 7: return Buffer.concat([frame, frame.subarray(0, at)])
    default: return frame
  }
}

function randomBytes(rng: Random, count: number): Buffer {
  const out = Buffer.alloc(count)
  for (let i = 0; i < count; i++) out[i] = rng.int(0, 255)
  return out
}

/** One fuzz frame: mostly mutated ops, sometimes raw garbage or a control line longer than any limit. */
export function fuzzFrame(rng: Random): Buffer {
  const roll = rng.next()
  if (roll < 0.05) return randomBytes(rng, rng.int(1, 2_000))
  if (roll < 0.08) return Buffer.from(`PUB fz.a ${'9'.repeat(rng.int(10, 9_000))}`)
  if (roll < 0.10) return Buffer.from('PING\r\n'.repeat(rng.int(10, 2_000)))
  const op = wellFormedOp(rng)
  return rng.chance(0.6) ? mutate(rng, op) : op
}

export interface FuzzScript {
  /** A valid CONNECT first (or not: some connections start with garbage). */
  isConnectingFirst: boolean
  frames: Buffer[]
  /** How the connection ends: FIN, RST, or wait for the node's answers first. */
  ending: 'end' | 'destroy' | 'linger'
  /** Write the bytes in pieces this big (0: each frame at once). */
  splitBytes: number
}

export function fuzzScript(rng: Random): FuzzScript {
  const frames: Buffer[] = []
  for (let i = rng.int(1, 25); i > 0; i--) frames.push(fuzzFrame(rng))
  return {
    isConnectingFirst: rng.chance(0.75),
    frames,
    ending: rng.pick(['end', 'destroy', 'linger', 'linger'] as const),
    splitBytes: rng.chance(0.3) ? rng.int(1, 64) : 0,
  }
}
