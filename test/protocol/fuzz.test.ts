// Random and mutated protocol frames at one node, from many connections,
// while a well-behaved client runs on the same node. The node answers with
// errors, never throws, and the good client loses nothing. Seeded: a failure
// prints FUZZ_SEED to replay it.
import net from 'node:net'
import { connect, StringCodec } from 'nats'
import t from 'tap'
import { startNode } from '../helpers/natsmesh.js'
import { seededRandom as rng } from '../helpers/seeded-random.js'

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
const CONNECTIONS = 40
const FRAMES_PER_CONNECTION = 60
/** How long a fuzzing connection may stay open after its frames and FIN before the test destroys it (and counts it against the node). */
const GIVE_UP_MS = 20_000


const VALID = [
  'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n',
  'CONNECT {"verbose":true,"pedantic":true,"echo":false}\r\n',
  'PUB foo 5\r\nhello\r\n', 'PUB foo.bar reply 3\r\nabc\r\n', 'HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
  'SUB foo 1\r\n', 'SUB foo.* q 2\r\n', 'SUB > 3\r\n', 'UNSUB 1\r\n', 'UNSUB 2 5\r\n',
  'PING\r\n', 'PONG\r\n', 'INFO {}\r\n', '+OK\r\n', 'RMSG $G foo 1\r\nx\r\n', 'MSG a 1 1\r\nx\r\n',
]

function mutate(frame: Buffer, next: () => number): Buffer {
  const b = Buffer.from(frame)
  switch (Math.floor(next() * 6)) {
    case 0: // flip a few bytes
      for (let k = 0; k < 1 + next() * 3; k++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256)
      return b
    case 1: // truncate
      return b.subarray(0, Math.floor(next() * b.length))
    case 2: // random bytes
      return Buffer.from(Array.from({ length: 1 + Math.floor(next() * 64) }, () => Math.floor(next() * 256)))
    case 3: // a size that lies
      return Buffer.from(b.toString('latin1').replace(/\d+\r\n/, `${Math.floor(next() * 2_000_000)}\r\n`), 'latin1')
    case 4: // huge control line
      return Buffer.concat([Buffer.from('SUB '), Buffer.alloc(5000 + Math.floor(next() * 5000), 0x61)])
    default: // valid as is
      return b
  }
}

t.test(`random and mutated frames never bring the node down (FUZZ_SEED=${SEED})`, async (t) => {
  const node = await startNode({ maxPayload: 64 * 1024 })
  t.teardown(() => node.shutdown())
  const sc = StringCodec()
  const good = await connect({ servers: `127.0.0.1:${node.port}`, reconnect: false })
  t.teardown(() => good.close())
  let received = 0
  let outOfOrder = 0
  let expected = 0
  good.subscribe('good.stream', {
    callback: (_e, m) => {
      const n = Number(sc.decode(m.data))
      if (n !== expected) outOfOrder++
      expected = n + 1
      received++
    },
  })
  await good.flush()

  const next = rng(SEED)
  let errors = 0
  // A connection the node ended (a close after bad input, or its FIN answering
  // ours), as opposed to one the test destroyed when it gave up waiting.
  let endedByNode = 0
  let givenUp = 0
  const fuzzers: Promise<void>[] = []
  for (let c = 0; c < CONNECTIONS; c++) {
    fuzzers.push(new Promise<void>((resolve) => {
      const s = net.connect(node.port, '127.0.0.1')
      let isGivenUp = false
      const done = setTimeout(() => { isGivenUp = true; givenUp++; s.destroy(); resolve() }, GIVE_UP_MS)
      s.on('data', (d: Buffer) => { if (d.includes('-ERR')) errors++ })
      s.on('error', () => { /* the server may reset us; that is an answer too */ })
      // Our end() only half-closes: 'close' needs the node's FIN or reset, unless we destroy the socket ourselves.
      s.on('close', () => { if (!isGivenUp) endedByNode++; clearTimeout(done); resolve() })
      s.on('connect', () => {
        const frames: Buffer[] = []
        for (let f = 0; f < FRAMES_PER_CONNECTION; f++) {
          frames.push(mutate(Buffer.from(VALID[Math.floor(next() * VALID.length)], 'latin1'), next))
        }
        s.write(Buffer.concat(frames))
        s.end()
      })
    }))
  }
  let published = 0
  const publishing = (async () => {
    for (let i = 0; i < 2000; i++) {
      good.publish('good.stream', sc.encode(String(i)))
      published++
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  await Promise.all([publishing, ...fuzzers])
  await good.flush()

  t.equal(received, published, 'the good client received everything it published')
  t.equal(outOfOrder, 0, 'in order')
  t.ok(errors > 0, `the node answered bad input with -ERR (${errors} times)`)
  t.equal(endedByNode, CONNECTIONS, `the node ended every fuzzing connection itself (${givenUp} left open until the test gave up)`)
  t.equal(node.state, 'running', 'the node is still running')
  const again = await connect({ servers: `127.0.0.1:${node.port}`, reconnect: false })
  await again.flush()
  await again.close()
  t.pass('a new client can still connect')
})
