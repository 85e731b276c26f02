// Unit tests for the byte-level parser, with a fake handler that logs each call
// as a line of text. Split tests compare a cut-up input's log with the log of the
// whole input (nats-server split_test.go), and overwrite every chunk once it is
// parsed, so that any view of an old chunk would show up as XXXX in the log.
import t from 'tap'
import { CLIENT_OPS, Parser, ROUTE_OPS, type OpSet } from '../../src/server/parser.js'
import type { LinkHandler, OpHandler, PubArg } from '../../src/server/op-handler.js'
import { ERR_MAX_CONTROL_LINE, ERR_MAX_PAYLOAD, ERR_UNKNOWN_PROTOCOL } from '../../src/server/errors.js'
import { seededRandom as mulberry32 } from '../helpers/seeded-random.js'

const OVERWRITE = 0x58 // 'X'

const ESCAPES: Record<string, string> = { '\r': '\\r', '\n': '\\n', '\t': '\\t' }

/** Bytes as latin1 text, with CR, LF and tab written as escapes so a log line stays one line. */
function text(b: Buffer | null): string {
  return b === null ? '-' : b.toString('latin1').replace(/[\r\n\t]/g, (c) => ESCAPES[c])
}

class Recorder implements OpHandler, LinkHandler {
  readonly log: string[] = []
  readonly details: string[] = []
  readonly payloads: Buffer[] = []
  readonly pubArgs: PubArg[] = []
  readonly parser: Parser
  isHaltingOnErr = false

  constructor(ops: OpSet) {
    this.parser = new Parser(this, this, ops)
  }

  processConnect(arg: Buffer): void { this.log.push(`CONNECT ${text(arg)}`) }
  processSub(arg: Buffer): void { this.log.push(`SUB ${text(arg)}`) }
  processUnsub(arg: Buffer): void { this.log.push(`UNSUB ${text(arg)}`) }
  processPing(): void { this.log.push('PING') }
  processPong(): void { this.log.push('PONG') }
  processInfo(arg: Buffer): void { this.log.push(`INFO ${text(arg)}`) }
  processOk(): void { this.log.push('OK') }
  processErr(arg: Buffer): void {
    this.log.push(`ERR ${text(arg)}`)
    if (this.isHaltingOnErr) this.parser.halt()
  }
  processMsg(pa: PubArg, payload: Buffer, payloadStart: number): void {
    const range = (start: number, end: number): Buffer | null => (start < 0 ? null : pa.line.subarray(start, end))
    const queues = Array.from({ length: pa.queueCount }, (_, q) => text(range(pa.queueStarts[q], pa.queueEnds[q]))).join(',') || '-'
    const hdrDigits = pa.hdrSize < 0 ? '' : text(range(pa.hdrSizeStart, pa.hdrSizeEnd))
    const body = payload.subarray(payloadStart, payloadStart + pa.size)
    this.log.push(`MSG account=${text(range(pa.accountStart, pa.accountEnd))} subject=${text(range(pa.subjectStart, pa.subjectEnd))} ` +
      `reply=${text(range(pa.replyStart, pa.replyEnd))} queues=${queues} hdr=${pa.hdrSize}/${hdrDigits} ` +
      `size=${pa.size}/${text(range(pa.sizeStart, pa.sizeEnd))} payload=${text(body)}`)
    this.payloads.push(body)
    this.pubArgs.push(pa)
  }
  protocolError(wireError: string | null, detail: string): void {
    this.log.push(`ERROR ${wireError ?? 'null'}`)
    this.details.push(detail)
  }
}

/** Parses input cut at the given offsets, overwriting each chunk after it is parsed. */
function parseCut(input: string, cuts: number[], ops: OpSet = CLIENT_OPS, setup?: (p: Parser) => void): Recorder {
  const rec = new Recorder(ops)
  setup?.(rec.parser)
  const bytes = Buffer.from(input, 'latin1')
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    const chunk = Buffer.from(bytes.subarray(from, cut))
    rec.parser.parse(chunk)
    chunk.fill(OVERWRITE)
    from = cut
  }
  return rec
}

function parseWhole(input: string, ops: OpSet = CLIENT_OPS, setup?: (p: Parser) => void): Recorder {
  return parseCut(input, [], ops, setup)
}

const CLIENT_CASES: Array<[string, string[]]> = [
  ['CONNECT {"verbose":false,"name":"a b"}\r\n', ['CONNECT {"verbose":false,"name":"a b"}']],
  ['PUB foo 5\r\nhello\r\n', ['MSG account=- subject=foo reply=- queues=- hdr=-1/ size=5/5 payload=hello']],
  ['PUB foo bar 5\r\nhello\r\n', ['MSG account=- subject=foo reply=bar queues=- hdr=-1/ size=5/5 payload=hello']],
  ['PUB foo 0\r\n\r\n', ['MSG account=- subject=foo reply=- queues=- hdr=-1/ size=0/0 payload=']],
  ['PUB foo 4\r\n\r\n\r\n\r\n', ['MSG account=- subject=foo reply=- queues=- hdr=-1/ size=4/4 payload=\\r\\n\\r\\n']],
  ['HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
    ['MSG account=- subject=foo reply=- queues=- hdr=12/12 size=14/14 payload=NATS/1.0\\r\\n\\r\\nhi']],
  ['HPUB foo bar 12 12\r\nNATS/1.0\r\n\r\n\r\n',
    ['MSG account=- subject=foo reply=bar queues=- hdr=12/12 size=12/12 payload=NATS/1.0\\r\\n\\r\\n']],
  ['SUB foo 1\r\n', ['SUB foo 1']],
  ['SUB foo workers 22\r\n', ['SUB foo workers 22']],
  ['UNSUB 22 5\r\n', ['UNSUB 22 5']],
  ['PING\r\n', ['PING']],
  ['PONG\r\n', ['PONG']],
  ['INFO {"server_id":"x"}\r\n', ['INFO {"server_id":"x"}']],
  ['+OK\r\n', ['OK']],
  ["-ERR 'Stale Connection'\r\n", ["ERR 'Stale Connection'"]],
]

const ROUTE_CASES: Array<[string, string[]]> = [
  ['CONNECT {"name":"n1"}\r\n', ['CONNECT {"name":"n1"}']],
  ['INFO {"server_id":"n1"}\r\n', ['INFO {"server_id":"n1"}']],
  ['RS+ $G foo\r\n', ['SUB $G foo']],
  ['RS+ $G foo workers 3\r\n', ['SUB $G foo workers 3']],
  ['RS- $G foo workers\r\n', ['UNSUB $G foo workers']],
  ['RMSG $G foo 5\r\nhello\r\n', ['MSG account=$G subject=foo reply=- queues=- hdr=-1/ size=5/5 payload=hello']],
  ['RMSG $G foo bar 5\r\nhello\r\n', ['MSG account=$G subject=foo reply=bar queues=- hdr=-1/ size=5/5 payload=hello']],
  ['RMSG $G foo + bar q1 q2 5\r\nhello\r\n',
    ['MSG account=$G subject=foo reply=bar queues=q1,q2 hdr=-1/ size=5/5 payload=hello']],
  ['RMSG $G foo + bar 5\r\nhello\r\n', ['MSG account=$G subject=foo reply=bar queues=- hdr=-1/ size=5/5 payload=hello']],
  ['RMSG $G foo | q1 5\r\nhello\r\n', ['MSG account=$G subject=foo reply=- queues=q1 hdr=-1/ size=5/5 payload=hello']],
  ['HMSG $G foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
    ['MSG account=$G subject=foo reply=- queues=- hdr=12/12 size=14/14 payload=NATS/1.0\\r\\n\\r\\nhi']],
  ['HMSG $G foo bar 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
    ['MSG account=$G subject=foo reply=bar queues=- hdr=12/12 size=14/14 payload=NATS/1.0\\r\\n\\r\\nhi']],
  ['HMSG $G foo + bar q1 q2 q3 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
    ['MSG account=$G subject=foo reply=bar queues=q1,q2,q3 hdr=12/12 size=14/14 payload=NATS/1.0\\r\\n\\r\\nhi']],
  ['HMSG $G foo | q1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
    ['MSG account=$G subject=foo reply=- queues=q1 hdr=12/12 size=14/14 payload=NATS/1.0\\r\\n\\r\\nhi']],
  ['PING\r\n', ['PING']],
  ['PONG\r\n', ['PONG']],
  ['+OK\r\n', ['OK']],
  ["-ERR 'Authorization Violation'\r\n", ["ERR 'Authorization Violation'"]],
]

const SUITES: Array<[string, OpSet, Array<[string, string[]]>]> = [
  ['client', CLIENT_OPS, CLIENT_CASES],
  ['route', ROUTE_OPS, ROUTE_CASES],
]

for (const [kind, ops, cases] of SUITES) {
  const pipelined = cases.map(([input]) => input).join('')
  const pipelinedLog = cases.flatMap(([, log]) => log)

  t.test(`every ${kind} op alone gives its one handler call`, async (t) => {
    for (const [input, log] of cases) t.same(parseWhole(input, ops).log, log, JSON.stringify(input))
  })

  t.test(`every ${kind} op cut into two chunks at every offset gives the same calls as the whole op`, async (t) => {
    for (const [input, log] of cases) {
      for (let cut = 1; cut < input.length; cut++) {
        const got = parseCut(input, [cut], ops).log
        if (JSON.stringify(got) !== JSON.stringify(log)) t.same(got, log, `${JSON.stringify(input)} cut at ${cut}`)
      }
    }
    t.pass('all cuts agree')
  })

  t.test(`every ${kind} op fed one byte at a time gives the same calls as the whole op`, async (t) => {
    for (const [input, log] of cases) {
      const cuts = Array.from({ length: input.length - 1 }, (_, k) => k + 1)
      t.same(parseCut(input, cuts, ops).log, log, JSON.stringify(input))
    }
  })

  t.test(`all ${kind} ops pipelined in one chunk give every call in order`, async (t) => {
    t.same(parseWhole(pipelined, ops).log, pipelinedLog)
  })

  t.test(`all ${kind} ops pipelined and cut at every offset give every call in order`, async (t) => {
    for (let cut = 1; cut < pipelined.length; cut++) {
      const got = parseCut(pipelined, [cut], ops).log
      if (JSON.stringify(got) !== JSON.stringify(pipelinedLog)) t.same(got, pipelinedLog, `cut at ${cut}`)
    }
    t.same(parseCut(pipelined, Array.from({ length: pipelined.length - 1 }, (_, k) => k + 1), ops).log, pipelinedLog,
      'one byte at a time')
  })

  t.test(`all ${kind} ops pipelined and cut at random offsets give every call in order`, async (t) => {
    const seed = Number(process.env.PARSER_SEED ?? Date.now() % 2 ** 31)
    t.comment(`random cuts from seed ${seed} (rerun with PARSER_SEED=${seed})`)
    const random = mulberry32(seed)
    for (let run = 0; run < 300; run++) {
      const cutCount = 1 + Math.floor(random() * 12)
      const cuts = Array.from({ length: cutCount }, () => 1 + Math.floor(random() * (pipelined.length - 1)))
        .sort((a, b) => a - b)
      const got = parseCut(pipelined, cuts, ops).log
      if (JSON.stringify(got) !== JSON.stringify(pipelinedLog)) {
        t.same(got, pipelinedLog, `seed ${seed} run ${run} cuts ${cuts.join(',')}`)
        break
      }
    }
    t.pass('all random cuts agree')
  })
}


t.test('a payload inside the chunk is handed over as a view of that chunk, not a copy', async (t) => {
  const input = Buffer.from('PING\r\nPUB foo 5\r\nhello\r\n')
  const rec = new Recorder(CLIENT_OPS)
  rec.parser.parse(input)
  const payload = rec.payloads[0]
  t.equal(payload.buffer, input.buffer)
  t.equal(payload.byteOffset, input.byteOffset + input.indexOf('hello'))
  t.equal(payload.length, 5)
})

t.test('every message reuses the one PubArg of its parser', async (t) => {
  const rec = parseWhole('PUB a 1\r\nx\r\nPUB b r 1\r\ny\r\n')
  t.equal(rec.pubArgs.length, 2)
  t.equal(rec.pubArgs[0], rec.pubArgs[1])
})

t.test('a payload cut by the chunk end survives the old chunk being overwritten', async (t) => {
  const rec = parseCut('PUB foo bar 5\r\nhello\r\n', ['PUB foo bar 5\r\nhel'.length])
  t.same(rec.log, ['MSG account=- subject=foo reply=bar queues=- hdr=-1/ size=5/5 payload=hello'])
})

t.test('a routed message cut inside its payload keeps its account, reply and queue names', async (t) => {
  const input = 'RMSG $G foo + bar q1 q2 5\r\nhello\r\n'
  const rec = parseCut(input, [input.indexOf('hello') + 2], ROUTE_OPS)
  t.same(rec.log, ['MSG account=$G subject=foo reply=bar queues=q1,q2 hdr=-1/ size=5/5 payload=hello'])
})

t.test('a header message cut inside its control line and again inside its payload arrives whole', async (t) => {
  const input = 'HPUB foo bar 12 14\r\nNATS/1.0\r\n\r\nhi\r\n'
  const rec = parseCut(input, [7, 16, 25])
  t.same(rec.log, ['MSG account=- subject=foo reply=bar queues=- hdr=12/12 size=14/14 payload=NATS/1.0\\r\\n\\r\\nhi'])
})

t.test('a payload cut right before its CRLF is still checked for the CRLF', async (t) => {
  t.same(parseCut('PUB a 2\r\nhi\r\nPING\r\n', [11]).log,
    ['MSG account=- subject=a reply=- queues=- hdr=-1/ size=2/2 payload=hi', 'PING'])
  t.same(parseCut('PUB a 2\r\nhix\r\n', [11]).log, [`ERROR ${ERR_UNKNOWN_PROTOCOL}`])
  t.same(parseCut('PUB a 2\r\nhi\rx', [12]).log, [`ERROR ${ERR_UNKNOWN_PROTOCOL}`])
})

t.test('an empty chunk changes nothing, wherever it falls', async (t) => {
  const input = 'SUB foo 1\r\nPUB foo 5\r\nhello\r\n'
  const rec = new Recorder(CLIENT_OPS)
  for (let k = 0; k < input.length; k++) {
    rec.parser.parse(Buffer.alloc(0))
    rec.parser.parse(Buffer.from(input[k], 'latin1'))
  }
  t.same(rec.log, ['SUB foo 1', 'MSG account=- subject=foo reply=- queues=- hdr=-1/ size=5/5 payload=hello'])
})

t.test('op names are case-insensitive', async (t) => {
  t.same(parseWhole('pInG\r\npong\r\nconnect {}\r\ninfo {}\r\n+ok\r\n-err x\r\n').log,
    ['PING', 'PONG', 'CONNECT {}', 'INFO {}', 'OK', 'ERR x'])
  t.same(parseWhole('pub a 1\r\nx\r\nhPuB a 0 0\r\n\r\nsub a 1\r\nunsub 1\r\n').log, [
    'MSG account=- subject=a reply=- queues=- hdr=-1/ size=1/1 payload=x',
    'MSG account=- subject=a reply=- queues=- hdr=0/0 size=0/0 payload=',
    'SUB a 1',
    'UNSUB 1',
  ])
  t.same(parseWhole('rs+ $G a\r\nRs- $G a\r\nrmsg $G a 1\r\nx\r\nhmsg $G a 0 1\r\nx\r\n', ROUTE_OPS).log, [
    'SUB $G a',
    'UNSUB $G a',
    'MSG account=$G subject=a reply=- queues=- hdr=-1/ size=1/1 payload=x',
    'MSG account=$G subject=a reply=- queues=- hdr=0/0 size=1/1 payload=x',
  ])
})

t.test('runs of spaces and tabs separate arguments like one space', async (t) => {
  t.same(parseWhole('PUB  a\t 1\r\nx\r\nPUB\ta \t r  1  \r\ny\r\n').log, [
    'MSG account=- subject=a reply=- queues=- hdr=-1/ size=1/1 payload=x',
    'MSG account=- subject=a reply=r queues=- hdr=-1/ size=1/1 payload=y',
  ])
  t.same(parseWhole('RMSG\t$G  foo \t|  q1\tq2  3\r\nabc\r\n', ROUTE_OPS).log,
    ['MSG account=$G subject=foo reply=- queues=q1,q2 hdr=-1/ size=3/3 payload=abc'])
})

t.test('SUB, UNSUB, CONNECT and INFO hand over their raw argument after the separators', async (t) => {
  t.same(parseWhole('SUB \t foo  q\t1 \r\nUNSUB\t\t7\r\nCONNECT   {"a": 1} \r\nINFO\t{}\r\n').log,
    ['SUB foo  q\\t1 ', 'UNSUB 7', 'CONNECT {"a": 1} ', 'INFO {}'])
})

t.test('CONNECT and INFO need no separator after the op name', async (t) => {
  t.same(parseWhole('CONNECT{}\r\nINFO{"a":1}\r\n').log, ['CONNECT {}', 'INFO {"a":1}'])
})

t.test('the first byte after the separators starts the argument even when it is a CR or LF', async (t) => {
  // nats-server's *_SPC states take any such byte as the argument's first one.
  t.same(parseWhole('CONNECT\r\nINFO \r\nSUB \r\n-ERR \r\n').log, ['CONNECT \\r', 'INFO \\r', 'SUB \\r', 'ERR \\r'])
  t.same(parseWhole('UNSUB \nPING\r\nPONG\r\n').log, ['UNSUB \\nPING', 'PONG'])
  t.same(parseWhole('PUB\t \n0PUB a 1\r\nx\r\n').log,
    ['MSG account=- subject=\\n0PUB reply=a queues=- hdr=-1/ size=1/1 payload=x'])
})

t.test('a bare LF ends a control line like CRLF', async (t) => {
  t.same(parseWhole('PING\nPONG\nSUB foo 1\nPUB foo 1\nx\r\nCONNECT {}\n+OK\n-ERR e\n').log, [
    'PING',
    'PONG',
    'SUB foo 1',
    'MSG account=- subject=foo reply=- queues=- hdr=-1/ size=1/1 payload=x',
    'CONNECT {}',
    'OK',
    'ERR e',
  ])
})

t.test('anything between PING, PONG or +OK and the line end is ignored', async (t) => {
  t.same(parseWhole(`PING x\r\nPINGPONG\r\nPONG junk\r\n+OKAY\r\nPING ${'x'.repeat(10_000)}\r\n`).log,
    ['PING', 'PING', 'PONG', 'OK', 'PING'])
})

t.test('a CR inside a PUB line belongs to the argument next to it', async (t) => {
  // nats-server splits PUB arguments on spaces and tabs only: `1\r` is not a size.
  const rec = parseWhole('PUB a 1\r\r\nx\r\n')
  t.same(rec.log, ['ERROR null'])
  t.same(parseWhole('PUB a\rb 1\r\nx\r\n').log,
    ['MSG account=- subject=a\\rb reply=- queues=- hdr=-1/ size=1/1 payload=x'])
})

t.test('sizes take up to nine digits, leading zeros included', async (t) => {
  t.same(parseWhole('PUB a 000000001\r\nx\r\n').log,
    ['MSG account=- subject=a reply=- queues=- hdr=-1/ size=1/000000001 payload=x'])
  t.same(parseWhole('PUB a 0000000001\r\nx\r\n').log, ['ERROR null'])
})

const ERROR_CASES: Array<[string, OpSet, string | null, string, string]> = [
  // [what, ops, wire error, state in the detail, input]
  ['an unknown op letter', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_START', 'XYZ\r\n'],
  ['a blank line', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_START', '\r\nPING\r\n'],
  ['a space before the op', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_START', ' PING\r\n'],
  ['a misspelled op', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_PIN', 'PIN G\r\n'],
  ['a lone P', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_P', 'P\r\n'],
  ['+O without K', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_PLUS_O', '+O\r\n'],
  ['MSG from a client', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_START', 'MSG a 1\r\nx\r\n'],
  ['RMSG from a client', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_START', 'RMSG $G a 1\r\nx\r\n'],
  ['RS+ from a client', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_START', 'RS+ $G a\r\n'],
  ['HMSG from a client', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_H', 'HMSG a 0 1\r\nx\r\n'],
  ['PUB from a route', ROUTE_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_P', 'PUB a 1\r\nx\r\n'],
  ['HPUB from a route', ROUTE_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_H', 'HPUB a 0 1\r\nx\r\n'],
  ['SUB from a route', ROUTE_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_START', 'SUB a 1\r\n'],
  ['UNSUB from a route', ROUTE_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_START', 'UNSUB 1\r\n'],
  ['MSG from a route', ROUTE_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_START', 'MSG $G a 1\r\nx\r\n'],
  ['RS followed by neither + nor -', ROUTE_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_RS', 'RSX $G a\r\n'],
  ['RS+ with no separator', ROUTE_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_SUB', 'RS+\r\n'],
  ['PUB with no separator', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_PUB', 'PUB\r\n'],
  ['PUB glued to its subject', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_PUB', 'PUBa 1\r\nx\r\n'],
  ['SUB with no separator', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_SUB', 'SUB\r\n'],
  ['UNSUB with no separator', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_UNSUB', 'UNSUB\r\n'],
  ['-ERR with no separator', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_MINUS_ERR', '-ERR\r\n'],
  ['-ERR glued to its text', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'OP_MINUS_ERR', '-ERRx\r\n'],
  ['a payload longer than its size', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'MSG_END_R', 'PUB a 2\r\nhix\r\n'],
  ['a payload followed by a bare LF', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'MSG_END_R', 'PUB a 2\r\nhi\n'],
  ['a payload followed by CR CR LF', CLIENT_OPS, ERR_UNKNOWN_PROTOCOL, 'MSG_END_N', 'PUB a 1\r\nx\r\r\n'],
  ['a routed payload longer than its size', ROUTE_OPS, ERR_UNKNOWN_PROTOCOL, 'MSG_END_R', 'RMSG $G a 2\r\nhix\r\n'],
  ['PUB with only a subject', CLIENT_OPS, null, 'PUB_ARG', 'PUB foo\r\n'],
  ['PUB with an empty argument', CLIENT_OPS, null, 'PUB_ARG', 'PUB \r\n'],
  ['PUB with four arguments', CLIENT_OPS, null, 'PUB_ARG', 'PUB a 1 2 3\r\n'],
  ['PUB with a size that is not a number', CLIENT_OPS, null, 'PUB_ARG', 'PUB foo x\r\n'],
  ['PUB with a negative size', CLIENT_OPS, null, 'PUB_ARG', 'PUB foo -1\r\n'],
  ['PUB with a plus sign in its size', CLIENT_OPS, null, 'PUB_ARG', 'PUB foo +1\r\n'],
  ['PUB with a ten-digit size', CLIENT_OPS, null, 'PUB_ARG', 'PUB foo 0000000001\r\n'],
  ['HPUB with two arguments', CLIENT_OPS, null, 'HPUB_ARG', 'HPUB a 2\r\nab\r\n'],
  ['HPUB with five arguments', CLIENT_OPS, null, 'HPUB_ARG', 'HPUB a 0 2 2 2\r\nab\r\n'],
  ['HPUB with a header size that is not a number', CLIENT_OPS, null, 'HPUB_ARG', 'HPUB a x 2\r\nab\r\n'],
  ['HPUB with a header larger than the message', CLIENT_OPS, null, 'HPUB_ARG', 'HPUB a 3 2\r\nab\r\n'],
  ['RMSG with two arguments', ROUTE_OPS, null, 'MSG_ARG', 'RMSG $G 2\r\nhi\r\n'],
  ['RMSG with a size that is not a number', ROUTE_OPS, null, 'MSG_ARG', 'RMSG $G foo x\r\nhi\r\n'],
  ['RMSG with a bad reply indicator', ROUTE_OPS, null, 'MSG_ARG', 'RMSG $G foo x q1 2\r\nhi\r\n'],
  ['RMSG with a two-byte reply indicator', ROUTE_OPS, null, 'MSG_ARG', 'RMSG $G foo ++ r q1 2\r\nhi\r\n'],
  ['HMSG with three arguments', ROUTE_OPS, null, 'HMSG_ARG', 'HMSG $G foo 2\r\nhi\r\n'],
  ['HMSG with a header larger than the message', ROUTE_OPS, null, 'HMSG_ARG', 'HMSG $G foo 14 12\r\nx\r\n'],
  ['PUB larger than max_payload', CLIENT_OPS, ERR_MAX_PAYLOAD, 'PUB_ARG', 'PUB a 1048577\r\n'],
  ['PUB with the largest nine-digit size', CLIENT_OPS, ERR_MAX_PAYLOAD, 'PUB_ARG', 'PUB a 999999999\r\n'],
  ['HPUB larger than max_payload', CLIENT_OPS, ERR_MAX_PAYLOAD, 'HPUB_ARG', 'HPUB a 1 1048577\r\n'],
]

t.test('each kind of bad input gets the wire error nats-server sends, or none', async (t) => {
  for (const [what, ops, wireError, state, input] of ERROR_CASES) {
    const rec = parseWhole(input, ops)
    t.same(rec.log, [`ERROR ${wireError ?? 'null'}`], what)
    t.match(rec.details[0], new RegExp(`^parser error state=${state} i=\\d+ proto='`), `${what}: detail names ${state}`)
  }
})

t.test('bad input cut at every offset still gets its one error', async (t) => {
  for (const [what, ops, wireError, , input] of ERROR_CASES) {
    for (let cut = 1; cut < input.length; cut++) {
      const log = parseCut(input, [cut], ops).log
      if (log.length !== 1 || log[0] !== `ERROR ${wireError ?? 'null'}`) t.same(log, [`ERROR ${wireError ?? 'null'}`], `${what} cut at ${cut}`)
    }
  }
  t.pass('all cuts agree')
})

t.test('the error detail gives the offset and a quoted snippet of 32 bytes', async (t) => {
  const rec = parseWhole(`PING\r\nXY\r\n${'z'.repeat(100)}`)
  t.equal(rec.details[0], `parser error state=OP_START i=6 proto='XY\\r\\n${'z'.repeat(28)}': unknown op`)
})

t.test('ops before an error in the same chunk are handled, ops after it are not', async (t) => {
  t.same(parseWhole('PING\r\nSUB a 1\r\nXYZ\r\nPING\r\n').log, ['PING', 'SUB a 1', `ERROR ${ERR_UNKNOWN_PROTOCOL}`])
})

t.test('an argument of exactly max_control_line bytes is accepted and one more byte is not', async (t) => {
  for (const [op, ok] of [['SUB', 'SUB'], ['UNSUB', 'UNSUB'], ['CONNECT', 'CONNECT'], ['INFO', 'INFO'], ['-ERR', 'ERR']]) {
    t.same(parseWhole(`${op} ${'x'.repeat(4096)}\r\n`).log, [`${ok} ${'x'.repeat(4096)}`], `${op} at the limit`)
    t.same(parseWhole(`${op} ${'x'.repeat(4097)}\r\n`).log, [`ERROR ${ERR_MAX_CONTROL_LINE}`], `${op} past the limit`)
  }
  t.equal(parseWhole(`PUB ${'x'.repeat(4094)} 1\r\nx\r\n`).log.length, 1)
  t.same(parseWhole(`PUB ${'x'.repeat(4095)} 1\r\nx\r\n`).log, [`ERROR ${ERR_MAX_CONTROL_LINE}`])
  t.same(parseWhole(`HPUB ${'x'.repeat(4095)} 0 1\r\nx\r\n`).log, [`ERROR ${ERR_MAX_CONTROL_LINE}`])
  t.match(parseWhole(`SUB ${'x'.repeat(5000)} 1\r\n`).details[0], /^parser error state=SUB_ARG /)
})

t.test('an unfinished control line is refused as soon as the carried part passes max_control_line', async (t) => {
  const rec = new Recorder(CLIENT_OPS)
  rec.parser.parse(Buffer.from(`SUB ${'x'.repeat(2000)}`))
  rec.parser.parse(Buffer.from('x'.repeat(2000)))
  t.same(rec.log, [], 'still under the limit after two chunks')
  rec.parser.parse(Buffer.from('x'.repeat(2000)))
  t.same(rec.log, [`ERROR ${ERR_MAX_CONTROL_LINE}`], 'refused before any LF arrives')
  t.match(rec.details[0], /^parser error state=SUB_ARG i=2000 /)
})

t.test('a carried control line is measured without its trailing CR', async (t) => {
  const line = `CONNECT ${'x'.repeat(4096)}\r`
  t.same(parseCut(`${line}\n`, [line.length]).log, [`CONNECT ${'x'.repeat(4096)}`])
})

t.test('the owner can lower max_control_line and max_payload', async (t) => {
  const lower = (p: Parser): void => { p.maxControlLine = 8; p.maxPayload = 4 }
  t.same(parseWhole('SUB abc 1\r\nSUB abcdefgh 1\r\n', CLIENT_OPS, lower).log, ['SUB abc 1', `ERROR ${ERR_MAX_CONTROL_LINE}`])
  t.same(parseWhole('PUB a 4\r\nabcd\r\nPUB a 5\r\n', CLIENT_OPS, lower).log,
    ['MSG account=- subject=a reply=- queues=- hdr=-1/ size=4/4 payload=abcd', `ERROR ${ERR_MAX_PAYLOAD}`])
})

t.test('a PUB of exactly max_payload bytes is accepted', async (t) => {
  const input = `PUB a 1048576\r\n${'x'.repeat(1048576)}\r\n`
  const rec = parseCut(input, [20, 70_000, 600_000])
  t.equal(rec.log.length, 1)
  t.equal(rec.payloads[0].length, 1048576)
  t.equal(rec.payloads[0].toString('latin1'), 'x'.repeat(1048576))
})

t.test('a route parser with no payload limit accepts any nine-digit size', async (t) => {
  const rec = parseWhole('RMSG $G foo 999999999\r\nabc', ROUTE_OPS, (p) => { p.maxPayload = Infinity })
  t.same(rec.log, [])
})

t.test('after a protocol error the parser ignores every later chunk', async (t) => {
  const rec = parseWhole('XYZ\r\n')
  rec.parser.parse(Buffer.from('PING\r\n'))
  t.same(rec.log, [`ERROR ${ERR_UNKNOWN_PROTOCOL}`])
})

t.test('a handler that halts the parser mid-chunk stops the rest of that chunk and every later one', async (t) => {
  const rec = new Recorder(CLIENT_OPS)
  rec.isHaltingOnErr = true
  rec.parser.parse(Buffer.from("PING\r\n-ERR 'boom'\r\nPING\r\nPUB a 1\r\nx\r\n"))
  rec.parser.parse(Buffer.from('PING\r\n'))
  t.same(rec.log, ['PING', "ERR 'boom'"])
})

t.test('halting in the middle of a carried payload drops it', async (t) => {
  const rec = new Recorder(CLIENT_OPS)
  rec.parser.parse(Buffer.from('PUB a 5\r\nhe'))
  rec.parser.halt()
  rec.parser.parse(Buffer.from('llo\r\n'))
  t.same(rec.log, [])
})
