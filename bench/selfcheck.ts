// `npm run bench -- --selfcheck`: evidence that the load generator is not the
// bottleneck. (1) The publisher against a null sink (accepts bytes, answers
// PING) shows how fast it can emit; (2) the subscriber's scanner fed from
// memory shows how fast it can count; (3) a pub→sub run against nats-server
// shows how much CPU the server and each load generator used. Also checks
// that the scanner counts right however the bytes are split.
import net from 'node:net'
import assert from 'node:assert/strict'
import { measureThroughput } from './measure.js'
import { nowNs, ProtocolScanner } from './protocol.js'
import { SCENARIOS, type ThroughputScenario } from './scenarios.js'
import { startTarget, stopTarget, type ProcessRegistry } from './servers.js'
import { Worker } from './workers.js'

const SINK_MESSAGES = 30_000_000
const SCANNER_SECONDS = 1

/** Accepts and drops everything; answers each PING (never split: it is written alone). */
function startNullSink(): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.write('INFO {"server_id":"null-sink","max_payload":1048576}\r\n')
    socket.on('error', () => {})
    let tail = ''
    socket.on('data', (chunk: Buffer) => {
      // Only the chunk's ends can hold a PING: the payload bytes are letters, never "PING".
      const text = tail + chunk.toString('latin1', Math.max(0, chunk.length - 8))
      if (text.includes('PING\r\n')) socket.write('PONG\r\n')
      tail = text.slice(-5)
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function publisherIntoNullSink(payloadBytes: number, registry: ProcessRegistry): Promise<number> {
  const sink = await startNullSink()
  const address = sink.address() as net.AddressInfo
  const pub = new Worker(registry, {
    role: 'pub', port: address.port, subject: 'bench', payloadBytes,
    count: payloadBytes > 100 ? SINK_MESSAGES / 10 : SINK_MESSAGES, maxMs: 5000, probeSubject: '_probe',
  }, 'publisher into null sink')
  try {
    await pub.next('ready', 10_000)
    pub.send({ op: 'go' })
    const done = await pub.next('published', 30_000)
    return done.sent / ((done.endNs - done.startNs) / 1e9)
  } finally {
    pub.stop()
    sink.close()
  }
}

function scannerRate(payloadBytes: number): number {
  const frame = Buffer.concat([Buffer.from(`MSG bench.subject 1 ${payloadBytes}\r\n`), Buffer.alloc(payloadBytes, 'x'), Buffer.from('\r\n')])
  const perChunk = Math.max(1, Math.floor(65_536 / frame.length))
  const chunk = Buffer.concat(Array.from({ length: perChunk }, () => frame))
  const scanner = new ProtocolScanner({ onMsgLine: null, onPing: () => {}, onPong: () => {}, onInfo: () => {}, onErr: () => {} })
  const start = nowNs()
  const deadline = start + SCANNER_SECONDS * 1e9
  for (let round = 0; round < 10_000_000 && nowNs() < deadline; round++) {
    for (let k = 0; k < 100; k++) scanner.feed(chunk)
  }
  return scanner.dataMsgs / ((nowNs() - start) / 1e9)
}

/** The scanner must count the same whatever the chunk boundaries: split a sample at every pair of offsets. */
function checkScannerSplits(): void {
  const sample = Buffer.from('INFO {}\r\nMSG a 1 3\r\nabc\r\nMSG _p 2 0\r\n\r\nPING\r\nMSG a 1 _INBOX.x.5 2\r\nhi\r\n+OK\r\nMSG a 1 0\r\n\r\n')
  for (let a = 0; a <= sample.length; a++) {
    for (let b = a; b <= sample.length; b++) {
      let pings = 0
      const scanner = new ProtocolScanner({ onMsgLine: null, onPing: () => { pings++ }, onPong: () => {}, onInfo: () => {}, onErr: () => assert.fail('no error expected') })
      scanner.feed(sample.subarray(0, a))
      scanner.feed(sample.subarray(a, b))
      scanner.feed(sample.subarray(b))
      assert.deepEqual([scanner.dataMsgs, scanner.probeMsgs, pings], [3, 1, 1], `split at ${a} and ${b}`)
    }
  }
}

function mps(n: number): string {
  return `${(n / 1e6).toFixed(2)} M msgs/s`
}

export async function runSelfCheck(natsServerCommand: string[], registry: ProcessRegistry): Promise<void> {
  console.log('Load generator self-check\n')
  checkScannerSplits()
  console.log('subscriber scanner: same counts with the input split at every pair of offsets')
  for (const payloadBytes of [16, 1024]) {
    console.log(`publisher → null sink, ${payloadBytes} B: ${mps(await publisherIntoNullSink(payloadBytes, registry))}`)
  }
  for (const payloadBytes of [16, 1024]) {
    console.log(`subscriber scanner from memory, ${payloadBytes} B: ${mps(scannerRate(payloadBytes))}`)
  }
  const target = await startTarget({ name: 'nats-server', command: natsServerCommand }, 1, registry)
  try {
    for (const name of ['pub', 'pubsub']) {
      const scenario = SCENARIOS.find((s): s is ThroughputScenario => s.name === name && s.kind === 'throughput')
      if (scenario === undefined) continue
      for (const payloadBytes of [16, 1024]) {
        const result = await measureThroughput(target, scenario, payloadBytes, scenario.counts[payloadBytes], { maxMs: 20_000 }, registry)
        const serverPct = (result.serverCpuNsPerMsg * result.msgsPerSec) / 1e7
        console.log(`${name} against nats-server, ${payloadBytes} B: ${mps(result.msgsPerSec)} over ${result.seconds.toFixed(2)} s; ` +
          `CPU of one core: nats-server ${serverPct.toFixed(0)} %, publisher ${result.publisherCpuPct.toFixed(0)} %` +
          (scenario.subscribers.length > 0 ? `, subscriber ${result.subscriberCpuPct.toFixed(0)} %` : '') +
          (result.warning === null ? '' : ` (${result.warning})`))
      }
    }
  } finally {
    stopTarget(target)
  }
}
