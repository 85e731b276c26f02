// `natsmesh chaos --fuzz`: one node (a child process, low --max_connections)
// and well-behaved nats.js clients, then three kinds of bad client in turn:
//
//   baseline ─ fuzz ─ flood ─ slow consumer ─ after
//
//   fuzz           raw connections sending random and mutated frames (frames.ts),
//                  a bounded count, 12 at a time
//   flood          connections past --max_connections, held open
//   slow consumer  a subscriber that stops reading while 32 KB messages pour in
//
// Throughout: a numbered stream between good clients (no loss, no duplicate,
// no reordering allowed), closed-loop request/reply (its rate per phase,
// against the baseline, is the throughput ratio), and /varz sampled for
// memory. The node must never exit.
import net from 'node:net'
import { Events, connect as natsConnect, type NatsConnection } from 'nats'
import { randomBytes } from 'node:crypto'
import { waitForHealthz } from '../local/local-node.js'
import { NodeProcess, describeExit } from '../local/node-process.js'
import { freePorts } from '../local/ports.js'
import { sleep } from '../wait.js'
import { getJson, isHealthy } from '../ops/http.js'
import { fuzzScript, type FuzzScript } from './frames.js'
import type { FuzzOptions } from './options.js'
import { Random } from './random.js'
import type { Check } from './report.js'
import { SeqSet } from './tracking.js'

export const FUZZ_MAX_CONNECTIONS = 64
const FUZZ_MAX_PENDING = '4MB'
const FUZZ_CONCURRENCY = 12
const FUZZ_CONNECTION_TIMEOUT_MS = 2_000
/** Bytes of a fuzz connection's answers kept to read its -ERR lines. */
const MAX_ANSWER_BYTES = 64 * 1024
const FLOOD_EXTRA = 100
const STREAM_RATE = 200
const BLAST_PAYLOAD_BYTES = 32 * 1024
const BLAST_PER_TICK = 4
const MEMORY_SAMPLE_MS = 250
/** Memory may grow this much over the baseline (bad clients' buffers, GC lag) and still count as bounded. */
export const MEMORY_HEADROOM_BYTES = 256 * 1024 * 1024
const MAX_DISTINCT_ERRORS = 100

type PhaseName = 'warmup' | 'baseline' | 'fuzz' | 'flood' | 'slow-consumer' | 'after'
/** Shares of --duration. The warm-up lets the JIT settle; baseline and after, both without a bad client, are the reference. */
const PHASES: ReadonlyArray<{ name: PhaseName; share: number }> = [
  { name: 'warmup', share: 0.1 }, { name: 'baseline', share: 0.15 }, { name: 'fuzz', share: 0.35 }, { name: 'flood', share: 0.15 },
  { name: 'slow-consumer', share: 0.15 }, { name: 'after', share: 0.1 },
]

export interface PhaseReport {
  name: PhaseName
  startMs: number
  endMs: number
  requests: number
  requestsPerSec: number
  /** requestsPerSec ÷ the mean of baseline's and after's: 1 is unaffected. Timing on a shared machine: read, don't assert. */
  throughputRatio: number | null
}

export interface FuzzReport {
  command: 'chaos --fuzz'
  seed: number
  options: Record<string, unknown>
  phases: PhaseReport[]
  fuzz: {
    connections: number
    frames: number
    bytes: number
    closedByNode: number
    refused: number
    errors: Record<string, number>
    socketErrors: Record<string, number>
  }
  flood: { attempted: number; accepted: number; refusedWithError: number; other: number; goodConnectionsDuring: number }
  slowConsumer: { published: number; slowConsumersBefore: number; slowConsumersAfter: number; isCutOff: boolean }
  memory: { baselineRss: number; peakRss: number; endRss: number; samples: number }
  good: { published: number; delivered: number; lost: number; duplicated: number; outOfOrder: number; misdelivered: number; disconnects: number; requestErrors: number }
  node: { exits: string[]; isHealthyAtEnd: boolean }
  verdict: { isPassed: boolean; checks: Check[] }
}

class FuzzStats {
  connections = 0
  frames = 0
  bytes = 0
  closedByNode = 0
  refused = 0
  readonly errors = new Map<string, number>()
  readonly socketErrors = new Map<string, number>()

  addError(text: string): void {
    if (this.errors.has(text) || this.errors.size < MAX_DISTINCT_ERRORS) this.errors.set(text, (this.errors.get(text) ?? 0) + 1)
  }
}

/** One fuzz connection: optional CONNECT, the frames (maybe split), then its ending; bounded in time. */
function runFuzzConnection(port: number, script: FuzzScript, stats: FuzzStats, rng: Random): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const answers: Buffer[] = []
    let answerBytes = 0
    let isClosingOurselves = false
    const timer = setTimeout(() => socket.destroy(), FUZZ_CONNECTION_TIMEOUT_MS)
    socket.on('data', (d: Buffer) => {
      if (answerBytes < MAX_ANSWER_BYTES) {
        answers.push(d)
        answerBytes += d.length
      }
    })
    socket.on('end', () => { if (!isClosingOurselves) stats.closedByNode++ })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'error'
      if (code === 'ECONNREFUSED') stats.refused++
      stats.socketErrors.set(code, (stats.socketErrors.get(code) ?? 0) + 1)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(answers).toString('latin1')
      for (const m of text.matchAll(/-ERR '([^'\r\n]*)'/g)) stats.addError(m[1].replace(/\d+/g, 'N'))
      resolve()
    })
    socket.on('connect', () => {
      void (async () => {
        stats.connections++
        if (script.isConnectingFirst) socket.write('CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n')
        for (const frame of script.frames) {
          if (socket.destroyed) break
          stats.frames++
          stats.bytes += frame.length
          if (script.splitBytes > 0) {
            for (let i = 0; i < frame.length; i += script.splitBytes) socket.write(frame.subarray(i, i + script.splitBytes))
          } else {
            socket.write(frame)
          }
          if (rng.chance(0.1)) await sleep(1)
        }
        if (socket.destroyed) return
        isClosingOurselves = script.ending !== 'linger'
        if (script.ending === 'end') socket.end()
        else if (script.ending === 'destroy') socket.destroy()
        else {
          await sleep(rng.int(20, 200))
          isClosingOurselves = true
          socket.destroy()
        }
      })()
    })
  })
}

/** The well-behaved side: a numbered stream to two subscriptions, and closed-loop requests. */
class GoodClients {
  readonly conns: NatsConnection[] = []
  readonly prefix = `good.${randomBytes(5).toString('hex')}`
  published = 0
  readonly seen = [new SeqSet(), new SeqSet()]
  readonly last = [0, 0]
  delivered = 0
  duplicated = 0
  outOfOrder = 0
  misdelivered = 0
  disconnects = 0
  requests = 0
  requestErrors = 0
  private isStopped = false
  private streamTimer: NodeJS.Timeout | null = null
  private requestLoop: Promise<void> = Promise.resolve()

  async connect(url: string): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const nc = await natsConnect({ servers: url, reconnect: false, ignoreClusterUpdates: true, name: `fuzz-good-${i}` })
      this.conns.push(nc)
      void (async () => {
        for await (const s of nc.status()) if (s.type === Events.Disconnect) this.disconnects++
      })().catch(() => undefined)
      void nc.closed().then(() => { if (!this.isStopped) this.disconnects++ })
    }
    const [, sub1, sub2, , responder] = this.conns
    ;[sub1, sub2].forEach((nc, i) => {
      nc.subscribe(i === 0 ? `${this.prefix}.s.n` : `${this.prefix}.s.*`, {
        callback: (_err, msg) => {
          if (msg === null || msg === undefined) return
          const seq = Number(msg.string())
          if (msg.subject !== `${this.prefix}.s.n` || !Number.isSafeInteger(seq) || seq < 1) {
            this.misdelivered++
            return
          }
          if (!this.seen[i].add(seq)) {
            this.duplicated++
            return
          }
          this.delivered++
          if (seq < this.last[i]) this.outOfOrder++
          else this.last[i] = seq
        },
      })
    })
    responder.subscribe(`${this.prefix}.svc`, { callback: (_err, msg) => { if (msg !== null && msg !== undefined) msg.respond(msg.data) } })
    await Promise.all(this.conns.map((nc) => nc.flush()))
  }

  start(): void {
    const started = Date.now()
    this.streamTimer = setInterval(() => {
      const due = Math.floor(((Date.now() - started) * STREAM_RATE) / 1000)
      for (; this.published < due; this.published++) {
        try {
          this.conns[0].publish(`${this.prefix}.s.n`, String(this.published + 1))
        } catch {
          break
        }
      }
    }, 10)
    const requester = this.conns[3]
    this.requestLoop = (async () => {
      for (let i = 0; i < 10_000_000 && !this.isStopped; i++) {
        try {
          await requester.request(`${this.prefix}.svc`, 'x', { timeout: 2_000 })
          this.requests++
        } catch {
          this.requestErrors++
          if (requester.isClosed()) return
        }
      }
    })()
  }

  async stop(): Promise<void> {
    this.isStopped = true
    if (this.streamTimer !== null) clearInterval(this.streamTimer)
    await this.requestLoop
    for (let i = 0; i < 100 && this.last.some((l) => l < this.published); i++) await sleep(50)
  }

  lost(): number {
    let lost = 0
    for (const set of this.seen) lost += set.missingRuns(1, this.published).reduce((n, r) => n + r.last - r.first + 1, 0)
    return lost
  }

  async close(): Promise<void> {
    this.isStopped = true
    await Promise.all(this.conns.map((nc) => nc.close().catch(() => undefined)))
  }
}

function varz(monitorUrl: string): Promise<Record<string, unknown> | null> {
  return getJson(`${monitorUrl}/varz`, 2_000).catch(() => null)
}

function numberField(v: Record<string, unknown> | null, key: string): number {
  const x = v?.[key]
  return typeof x === 'number' ? x : 0
}

export async function runFuzz(options: FuzzOptions, say: (line: string) => void, signal: AbortSignal): Promise<FuzzReport> {
  const rng = new Random(options.seed)
  const [clientPort, monitorPort] = await freePorts(2)
  const exits: string[] = []
  let isStopping = false
  const monitorUrl = `http://127.0.0.1:${monitorPort}`
  // Its log is not needed, only its exit.
  const node = new NodeProcess({
    name: 'fuzz', port: clientPort, isDetached: true, isWatchingParent: true,
    args: ['-m', String(monitorPort), '-n', 'fuzz',
      '--max_connections', String(FUZZ_MAX_CONNECTIONS), '--max_pending', FUZZ_MAX_PENDING, '--max_payload', '256KB'],
  })
  void node.exited.then((status) => { if (!isStopping) exits.push(describeExit(status)) })
  const good = new GoodClients()
  const memory: number[] = []
  let sampler: NodeJS.Timeout | null = null
  const phases: PhaseReport[] = []
  const stats = new FuzzStats()
  const flood = { attempted: 0, accepted: 0, refusedWithError: 0, other: 0, goodConnectionsDuring: 0 }
  const slow = { published: 0, slowConsumersBefore: 0, slowConsumersAfter: 0, isCutOff: false }
  const t0 = Date.now()
  try {
    await waitForHealthz(node, monitorUrl, 30_000)
    say(`natsmesh chaos --fuzz: seed ${options.seed}, one node on ${node.url} (max_connections ${FUZZ_MAX_CONNECTIONS}, max_pending ${FUZZ_MAX_PENDING}), ${options.durationMs / 1000}s`)
    await good.connect(node.url)
    sampler = setInterval(() => {
      void varz(monitorUrl).then((v) => { if (v !== null) memory.push(numberField(v, 'mem')) })
    }, MEMORY_SAMPLE_MS)
    good.start()
    for (const { name, share } of PHASES) {
      if (signal.aborted) break
      const startMs = Date.now() - t0
      const requestsBefore = good.requests
      const until = Date.now() + share * options.durationMs
      say(`${(startMs / 1000).toFixed(1).padStart(6)}s  phase ${name}`)
      if (name === 'fuzz') await fuzzPhase(clientPort, options.connections, until, rng, stats, signal)
      else if (name === 'flood') Object.assign(flood, await floodPhase(clientPort, until, monitorUrl))
      else if (name === 'slow-consumer') Object.assign(slow, await slowConsumerPhase(node.url, monitorUrl, until, good.prefix))
      await sleep(until - Date.now())
      const endMs = Date.now() - t0
      const requests = good.requests - requestsBefore
      const perSec = requests / Math.max(0.001, (endMs - startMs) / 1000)
      phases.push({ name, startMs, endMs, requests, requestsPerSec: Math.round(perSec), throughputRatio: null })
      if (name === 'fuzz') say(`        ${stats.connections} fuzz connections, ${stats.frames} frames, ${stats.closedByNode} closed by the node`)
      if (name === 'flood') say(`        ${flood.attempted} connections: ${flood.accepted} accepted, ${flood.refusedWithError} refused with -ERR, ${flood.other} other`)
      if (name === 'slow-consumer') say(`        slow consumer ${slow.isCutOff ? 'cut off' : 'NOT cut off'} (slow_consumers ${slow.slowConsumersBefore} → ${slow.slowConsumersAfter})`)
    }
    const reference = phases.filter((p) => p.name === 'baseline' || p.name === 'after').map((p) => p.requestsPerSec)
    const base = reference.length === 0 ? 0 : reference.reduce((a, b) => a + b, 0) / reference.length
    for (const p of phases) p.throughputRatio = base > 0 ? Math.round((p.requestsPerSec / base) * 100) / 100 : null
    await good.stop()
  } finally {
    if (sampler !== null) clearInterval(sampler)
    await good.close()
  }
  const health = await isHealthy(monitorUrl, 2_000)
  isStopping = true
  await node.stop(5_000)

  const baselinePhase = phases.find((p) => p.name === 'baseline')
  const baselineSamples = memory.slice(0, Math.max(1, Math.floor((baselinePhase?.endMs ?? 0) / MEMORY_SAMPLE_MS)))
  const baselineRss = baselineSamples.length > 0 ? Math.min(...baselineSamples) : 0
  const peakRss = memory.length > 0 ? Math.max(...memory) : 0
  const lost = good.lost()
  const report: FuzzReport = {
    command: 'chaos --fuzz',
    seed: options.seed,
    options: { duration: options.durationMs / 1000, connections: options.connections, maxConnections: FUZZ_MAX_CONNECTIONS, maxPending: FUZZ_MAX_PENDING },
    phases,
    fuzz: {
      connections: stats.connections, frames: stats.frames, bytes: stats.bytes, closedByNode: stats.closedByNode, refused: stats.refused,
      errors: Object.fromEntries([...stats.errors].sort((a, b) => b[1] - a[1])), socketErrors: Object.fromEntries(stats.socketErrors),
    },
    flood,
    slowConsumer: slow,
    memory: { baselineRss, peakRss, endRss: memory[memory.length - 1] ?? 0, samples: memory.length },
    good: {
      published: good.published, delivered: good.delivered, lost, duplicated: good.duplicated, outOfOrder: good.outOfOrder,
      misdelivered: good.misdelivered, disconnects: good.disconnects, requestErrors: good.requestErrors,
    },
    node: { exits, isHealthyAtEnd: health },
    verdict: { isPassed: false, checks: [] },
  }
  const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`
  const starvedPhases = phases.filter((p) => p.requests === 0).map((p) => p.name)
  const checks: Check[] = [
    { name: 'node-never-exited', isPassed: exits.length === 0 && health, detail: exits.length === 0 ? (health ? 'up and healthy at the end' : '/healthz did not answer 200 at the end') : `exited: ${exits.join(', ')}` },
    { name: 'fuzz-ran', isPassed: stats.connections > 0 && stats.refused === 0, detail: `${stats.connections} connections, ${stats.frames} frames, ${stats.bytes} bytes; ${stats.refused} refused (the node was not listening)` },
    { name: 'good-clients-lose-nothing',
      isPassed: lost === 0 && good.duplicated === 0 && good.outOfOrder === 0 && good.misdelivered === 0 && good.disconnects === 0 && good.published > 0,
      detail: `${good.published} published to 2 subscriptions: ${lost} lost, ${good.duplicated} duplicated, ${good.outOfOrder} out of order, ` +
        `${good.misdelivered} misdelivered; ${good.disconnects} good-client disconnects` },
    { name: 'good-clients-keep-flowing', isPassed: starvedPhases.length === 0, detail: starvedPhases.length === 0 ? `requests answered in every phase (ratios to baseline: ${phases.map((p) => `${p.name} ${p.throughputRatio ?? '—'}`).join(', ')})` : `no request answered during ${starvedPhases.join(', ')}` },
    { name: 'memory-bounded', isPassed: peakRss <= baselineRss + MEMORY_HEADROOM_BYTES, detail: `rss baseline ${mb(baselineRss)}, peak ${mb(peakRss)}, end ${mb(report.memory.endRss)} (bound: baseline + ${mb(MEMORY_HEADROOM_BYTES)})` },
    { name: 'connection-limit-enforced', isPassed: flood.refusedWithError > 0 && flood.accepted + flood.goodConnectionsDuring <= FUZZ_MAX_CONNECTIONS,
      detail: `${flood.accepted} flood connections accepted next to ${flood.goodConnectionsDuring} others, ${flood.refusedWithError} refused with -ERR 'maximum connections exceeded' (limit ${FUZZ_MAX_CONNECTIONS})` },
    { name: 'slow-consumer-cut-off', isPassed: slow.isCutOff, detail: `slow_consumers ${slow.slowConsumersBefore} → ${slow.slowConsumersAfter} after ${slow.published} messages of ${BLAST_PAYLOAD_BYTES / 1024} KB` },
  ]
  if (signal.aborted) checks.push({ name: 'not-aborted', isPassed: false, detail: 'interrupted before the end' })
  report.verdict = { isPassed: checks.every((c) => c.isPassed), checks }
  return report
}

async function fuzzPhase(port: number, total: number, until: number, rng: Random, stats: FuzzStats, signal: AbortSignal): Promise<void> {
  let started = 0
  const worker = async (): Promise<void> => {
    for (let i = 0; i < total && started < total && Date.now() < until && !signal.aborted; i++) {
      started++
      await runFuzzConnection(port, fuzzScript(rng), stats, rng)
    }
  }
  await Promise.all(Array.from({ length: FUZZ_CONCURRENCY }, worker))
}

/** Opens max_connections + FLOOD_EXTRA sockets and classifies the node's first answer on each; all closed before returning. */
async function floodPhase(port: number, until: number, monitorUrl: string): Promise<FuzzReport['flood']> {
  const result = { attempted: 0, accepted: 0, refusedWithError: 0, other: 0, goodConnectionsDuring: 0 }
  const sockets: net.Socket[] = []
  const answers = await Promise.all(Array.from({ length: FUZZ_MAX_CONNECTIONS + FLOOD_EXTRA }, () => new Promise<string>((resolve) => {
    result.attempted++
    const socket = net.connect(port, '127.0.0.1')
    sockets.push(socket)
    let text = ''
    const timer = setTimeout(() => resolve(text), 3_000)
    socket.on('error', () => { /* counted by what it answered */ })
    socket.on('close', () => { clearTimeout(timer); resolve(text) })
    socket.on('data', (d: Buffer) => {
      if (text.length < 8_192) text += d.toString('latin1')
      if (text.includes('-ERR')) {
        clearTimeout(timer)
        resolve(text)
      } else if (text.includes('INFO ') && text.includes('\r\n') && !text.includes('PONG')) {
        socket.write('CONNECT {"verbose":false}\r\nPING\r\n')
      } else if (text.includes('PONG')) {
        clearTimeout(timer)
        resolve(text)
      }
    })
  })))
  for (const text of answers) {
    if (text.includes("-ERR 'maximum connections exceeded'")) result.refusedWithError++
    else if (text.includes('PONG')) result.accepted++
    else result.other++
  }
  const v = await varz(monitorUrl)
  result.goodConnectionsDuring = Math.max(0, numberField(v, 'connections') - result.accepted)
  await sleep(until - Date.now())
  for (const s of sockets) s.destroy()
  return result
}

/** A subscriber that stops reading while a good client publishes big messages to it; the node must cut it off. */
async function slowConsumerPhase(url: string, monitorUrl: string, until: number, prefix: string): Promise<FuzzReport['slowConsumer']> {
  const before = numberField(await varz(monitorUrl), 'slow_consumers')
  const subject = `${prefix}.big`
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1')
  socket.on('error', () => { /* the node cutting us off is the point */ })
  await new Promise<void>((resolve) => {
    let text = ''
    const timer = setTimeout(resolve, 3_000)
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      if (text.includes('INFO ') && !text.includes('PONG') && !text.includes('SUBSENT')) {
        text += 'SUBSENT'
        socket.write(`CONNECT {"verbose":false}\r\nSUB ${subject} 1\r\nPING\r\n`)
      }
      if (text.includes('PONG')) {
        clearTimeout(timer)
        socket.pause()
        socket.removeAllListeners('data')
        resolve()
      }
    })
  })
  const blaster = await natsConnect({ servers: url, reconnect: false, ignoreClusterUpdates: true, name: 'fuzz-blaster' })
  const payload = new Uint8Array(BLAST_PAYLOAD_BYTES)
  let published = 0
  let after = before
  for (let i = 0; i < 100_000 && Date.now() < until; i++) {
    for (let j = 0; j < BLAST_PER_TICK; j++) {
      blaster.publish(subject, payload)
      published++
    }
    await blaster.flush()
    if (i % 20 === 0) {
      after = numberField(await varz(monitorUrl), 'slow_consumers')
      if (after > before) break
    }
    await sleep(5)
  }
  after = numberField(await varz(monitorUrl), 'slow_consumers')
  await blaster.close().catch(() => undefined)
  socket.destroy()
  return { published, slowConsumersBefore: before, slowConsumersAfter: after, isCutOff: after > before }
}

export function formatFuzzReport(r: FuzzReport): string {
  const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`
  const lines = ['', `natsmesh chaos --fuzz: seed ${r.seed}`, '', 'phases (closed-loop requests per second of the good clients; ratio to the mean of baseline and after):']
  for (const p of r.phases) lines.push(`  ${p.name.padEnd(14)} ${(p.startMs / 1000).toFixed(1)}s–${(p.endMs / 1000).toFixed(1)}s  ${String(p.requestsPerSec).padStart(6)} req/s  ratio ${p.throughputRatio ?? '—'}`)
  lines.push('', `fuzz: ${r.fuzz.connections} connections, ${r.fuzz.frames} frames, ${r.fuzz.bytes} bytes; ${r.fuzz.closedByNode} closed by the node`)
  const errors = Object.entries(r.fuzz.errors).slice(0, 12).map(([e, n]) => `${n}× '${e}'`)
  lines.push(`  errors the node sent: ${errors.join(', ') || 'none'}`)
  lines.push(`flood: ${r.flood.attempted} connections, ${r.flood.accepted} accepted, ${r.flood.refusedWithError} refused with -ERR, ${r.flood.other} other`)
  lines.push(`slow consumer: ${r.slowConsumer.published} messages; slow_consumers ${r.slowConsumer.slowConsumersBefore} → ${r.slowConsumer.slowConsumersAfter}`)
  lines.push(`memory (rss): baseline ${mb(r.memory.baselineRss)}, peak ${mb(r.memory.peakRss)}, end ${mb(r.memory.endRss)} (${r.memory.samples} samples)`)
  lines.push(`good clients: ${r.good.published} published, ${r.good.delivered} delivered, ${r.good.lost} lost, ${r.good.duplicated} duplicated, ` +
    `${r.good.outOfOrder} out of order, ${r.good.misdelivered} misdelivered, ${r.good.disconnects} disconnects`)
  lines.push('', `verdict: ${r.verdict.isPassed ? 'PASS' : 'FAIL'}`)
  for (const c of r.verdict.checks) lines.push(`  ${c.isPassed ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`)
  return lines.join('\n')
}
