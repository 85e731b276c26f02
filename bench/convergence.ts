// Cluster convergence, natsmesh beside nats-server in the same run, raw NATS
// sockets for both (`npm run bench -- --only interest,join`; part of every
// run with --cluster unless --no-convergence). See docs/benchmarks.md,
// "Convergence".
//
// interest: a 3-node cluster; a client on A publishes to a fresh subject
//   every PUBLISH_EVERY_US; a client on B sends SUB for it. Time = SUB written
//   on B → first MSG for it read on B. INTEREST_ROUNDS rounds, min/median/p99.
// join: nodes A and B up, one client on A holds JOIN_SUBJECTS subscriptions
//   (join.0 … join.9999); node C is spawned with --routes to A and B. Times
//   from C's spawn: C answers a client with INFO ("accepts clients"), and a
//   client on C, publishing every subject still missing at A again and again,
//   has had all of them delivered to A ("converged"). JOIN_ROUNDS rounds on a
//   fresh A+B each, median.
import net from 'node:net'
import type { NodeProcess } from '../src/local/node-process.js'
import { freePorts } from '../src/local/ports.js'
import { sleep } from '../src/wait.js'
import { spawnServer, startTarget, stopTarget, type ProcessRegistry, type Target, type TargetSpec } from './servers.js'
import { median } from './report.js'

export const CONVERGENCE_NAMES = ['interest', 'join'] as const
export type ConvergenceName = typeof CONVERGENCE_NAMES[number]

export const INTEREST_ROUNDS = 50
const PUBLISH_EVERY_US = 200
const INTEREST_TIMEOUT_MS = 5_000
export const JOIN_ROUNDS = 3
export const JOIN_SUBJECTS = 10_000
const JOIN_TIMEOUT_MS = 60_000
/** Pause between two passes over the subjects still missing at A. */
const JOIN_RETRY_MS = 5

export interface InterestSide { roundsMs: number[]; errors: string[] }
export interface JoinSide { acceptMs: number[]; convergedMs: number[]; errors: string[] }
export interface ConvergenceReport {
  interest?: { natsServer: InterestSide; natsmesh: InterestSide }
  join?: { natsServer: JoinSide; natsmesh: JoinSide }
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

/** A raw client: CONNECT, answers PING, hands every chunk (with the tail of the previous one) to onText. */
class RawClient {
  readonly socket: net.Socket
  private pongWaiters: Array<() => void> = []
  private carry = ''
  onText: (text: string) => void = () => {}

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.on('data', (d: Buffer) => {
      const text = this.carry + d.toString('latin1')
      // Keep the last line (it may be cut) for the next chunk; low volume, plain strings are fine.
      const cut = text.lastIndexOf('\r\n')
      this.carry = cut < 0 ? text : text.slice(cut + 2)
      const whole = cut < 0 ? '' : text.slice(0, cut + 2)
      if (whole.length === 0) return
      if (whole.includes('PING\r\n')) socket.write('PONG\r\n')
      let pongs = whole.split('PONG\r\n').length - 1
      while (pongs-- > 0) this.pongWaiters.shift()?.()
      this.onText(whole)
    })
  }

  /** Resolves once the server's INFO line has arrived, i.e. the server accepts clients. */
  static connect(port: number, timeoutMs = 2_000): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no INFO from port ${port}`)) }, timeoutMs)
      let seen = ''
      const onData = (d: Buffer): void => {
        seen += d.toString('latin1')
        if (!seen.includes('\r\n')) return
        clearTimeout(timer)
        socket.off('data', onData)
        if (!seen.startsWith('INFO ')) { socket.destroy(); reject(new Error(`unexpected greeting ${seen.slice(0, 80)}`)); return }
        const client = new RawClient(socket)
        socket.write('CONNECT {"verbose":false,"pedantic":false}\r\n')
        resolve(client)
      }
      socket.on('data', onData)
      socket.on('error', (err) => { clearTimeout(timer); reject(err) })
    })
  }

  ping(): Promise<void> {
    return new Promise((resolve) => { this.pongWaiters.push(resolve); this.socket.write('PING\r\n') })
  }

  close(): void { this.socket.destroy() }
}

async function connectUntil(port: number, deadlineMs: number): Promise<RawClient> {
  for (;;) {
    try {
      return await RawClient.connect(port)
    } catch (err) {
      if (nowMs() > deadlineMs) throw err
      await sleep(5)
    }
  }
}

// ---- interest propagation ----------------------------------------------------

async function interestRounds(target: Target, rounds: number, side: InterestSide): Promise<void> {
  const pub = await RawClient.connect(target.nodes[0].port)
  const sub = await RawClient.connect(target.nodes[1].port)
  pub.socket.on('error', () => {})
  sub.socket.on('error', () => {})
  try {
    await Promise.all([pub.ping(), sub.ping()])
    const tag = `${process.pid}.${Date.now()}`
    for (let round = 1; round <= rounds; round++) {
      const subject = `interest.${tag}.${round}`
      const sid = String(round)
      let arrived = -1
      sub.onText = (text) => { if (arrived < 0 && text.includes(`MSG ${subject} ${sid} `)) arrived = nowMs() }
      // The publisher runs before and during the SUB: a PUB every PUBLISH_EVERY_US, paced on the
      // event loop (setImmediate) so B's socket is read between two PUBs.
      const frame = `PUB ${subject} 0\r\n\r\n`
      let running = true
      const publisher = (async () => {
        let next = nowMs()
        while (running) {
          const t = nowMs()
          if (t >= next && pub.socket.writableLength < 16_384) { pub.socket.write(frame); next = t + PUBLISH_EVERY_US / 1000 }
          await new Promise<void>((r) => setImmediate(r))
        }
      })()
      try {
        await sleep(2)
        const subAt = nowMs()
        sub.socket.write(`SUB ${subject} ${sid}\r\n`)
        while (arrived < 0 && nowMs() - subAt < INTEREST_TIMEOUT_MS) await new Promise<void>((r) => setImmediate(r))
        if (arrived < 0) throw new Error(`round ${round}: no message within ${INTEREST_TIMEOUT_MS} ms of the SUB`)
        side.roundsMs.push(arrived - subAt)
      } finally {
        running = false
        await publisher
        sub.socket.write(`UNSUB ${sid}\r\n`)
        await Promise.all([pub.ping(), sub.ping()])
        await sleep(5)
      }
    }
  } finally {
    pub.close()
    sub.close()
  }
}

export async function runInterestBench(specs: [TargetSpec, TargetSpec], registry: ProcessRegistry, rounds = INTEREST_ROUNDS):
    Promise<NonNullable<ConvergenceReport['interest']>> {
  const result = { natsServer: { roundsMs: [], errors: [] } as InterestSide, natsmesh: { roundsMs: [], errors: [] } as InterestSide }
  for (const [k, spec] of specs.entries()) {
    const side = k === 0 ? result.natsServer : result.natsmesh
    let target: Target | null = null
    try {
      target = await startTarget(spec, 3, registry)
      await interestRounds(target, rounds, side)
      const s = summary(side.roundsMs)
      console.error(`interest ${spec.name}: min ${fmt(s.min)} median ${fmt(s.median)} p99 ${fmt(s.p99)} ms over ${side.roundsMs.length} rounds`)
    } catch (err) {
      side.errors.push((err as Error).message)
      console.error(`interest ${spec.name}: ERROR ${(err as Error).message}`)
    } finally {
      if (target !== null) stopTarget(target)
    }
  }
  return result
}

// ---- join convergence ----------------------------------------------------------

async function joinRound(spec: TargetSpec, registry: ProcessRegistry, subjects: number): Promise<{ acceptMs: number; convergedMs: number }> {
  const pair = await startTarget(spec, 2, registry)
  let c: NodeProcess | null = null
  let holder: RawClient | null = null
  let publisher: RawClient | null = null
  try {
    holder = await RawClient.connect(pair.nodes[0].port)
    holder.socket.on('error', () => {})
    const got = new Uint8Array(subjects)
    let missing = subjects
    let lastAt = 0
    holder.onText = (text) => {
      for (const m of text.matchAll(/MSG join\.(\d+) /g)) {
        const i = Number(m[1])
        if (got[i] === 0) { got[i] = 1; missing--; if (missing === 0) lastAt = nowMs() }
      }
    }
    let subs = ''
    for (let i = 0; i < subjects; i++) subs += `SUB join.${i} ${i + 1}\r\n`
    holder.socket.write(subs)
    await holder.ping()
    // Let A pass its 10,000 subscriptions to B before C comes.
    await sleep(200)

    const [port, clusterPort] = await freePorts(2)
    const routes = pair.nodes.map((n) => `nats://127.0.0.1:${n.clusterPort}`).join(',')
    const args = ['--cluster', `nats://127.0.0.1:${clusterPort}`, '--cluster_name', 'bench', '--routes', routes]
    const spawnedAt = nowMs()
    c = spawnServer(spec, port, args, registry)
    const deadline = spawnedAt + JOIN_TIMEOUT_MS
    publisher = await connectUntil(port, deadline)
    const acceptMs = nowMs() - spawnedAt
    publisher.socket.on('error', () => {})
    while (missing > 0) {
      if (nowMs() > deadline) throw new Error(`${missing} of ${subjects} subjects still not delivered to A ${JOIN_TIMEOUT_MS} ms after C was spawned`)
      let pubs = ''
      for (let i = 0; i < subjects; i++) if (got[i] === 0) pubs += `PUB join.${i} 0\r\n\r\n`
      publisher.socket.write(pubs)
      await publisher.ping()
      await holder.ping()
      if (missing > 0) await sleep(JOIN_RETRY_MS)
    }
    return { acceptMs, convergedMs: lastAt - spawnedAt }
  } finally {
    holder?.close()
    publisher?.close()
    c?.killNow()
    stopTarget(pair)
  }
}

export async function runJoinBench(specs: [TargetSpec, TargetSpec], registry: ProcessRegistry, rounds = JOIN_ROUNDS, subjects = JOIN_SUBJECTS):
    Promise<NonNullable<ConvergenceReport['join']>> {
  const fresh = (): JoinSide => ({ acceptMs: [], convergedMs: [], errors: [] })
  const result = { natsServer: fresh(), natsmesh: fresh() }
  // Alternate the targets round by round, as the other scenarios do, so machine noise lands on both.
  for (let round = 1; round <= rounds; round++) {
    for (const [k, spec] of specs.entries()) {
      const side = k === 0 ? result.natsServer : result.natsmesh
      try {
        const r = await joinRound(spec, registry, subjects)
        side.acceptMs.push(r.acceptMs)
        side.convergedMs.push(r.convergedMs)
        console.error(`join ${spec.name} round ${round}/${rounds}: accepts clients ${fmt(r.acceptMs)} ms, ${subjects} subjects delivered ${fmt(r.convergedMs)} ms after spawn`)
      } catch (err) {
        side.errors.push(`round ${round}: ${(err as Error).message}`)
        console.error(`join ${spec.name} round ${round}/${rounds}: ERROR ${(err as Error).message}`)
      }
    }
  }
  return result
}

// ---- report ----------------------------------------------------------------------

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

function summary(values: number[]): { min: number; median: number; p99: number } {
  return { min: values.length === 0 ? NaN : Math.min(...values), median: median(values), p99: percentile(values, 99) }
}

function fmt(ms: number): string {
  if (Number.isNaN(ms)) return '—'
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)
}

function ratio(natsServer: number, natsmesh: number): string {
  return natsServer > 0 && natsmesh > 0 ? `${(natsServer / natsmesh).toFixed(2)}×` : '—'
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

export function formatConvergenceReport(report: ConvergenceReport): string {
  const out: string[] = []
  if (report.interest !== undefined) {
    const { natsServer, natsmesh } = report.interest
    const a = summary(natsServer.roundsMs)
    const b = summary(natsmesh.roundsMs)
    out.push(`Interest propagation: SUB written on B → first message from A read on B (ms), ${INTEREST_ROUNDS} fresh subjects, a PUB every ${PUBLISH_EVERY_US} µs`,
      'ratio = nats-server / natsmesh (> 1: natsmesh faster)', '',
      table(['', 'rounds', 'min', 'median', 'p99'], [
        ['nats-server', String(natsServer.roundsMs.length), fmt(a.min), fmt(a.median), fmt(a.p99)],
        ['natsmesh', String(natsmesh.roundsMs.length), fmt(b.min), fmt(b.median), fmt(b.p99)],
        ['ratio', '', ratio(a.min, b.min), ratio(a.median, b.median), ratio(a.p99, b.p99)],
      ]), '')
    for (const [name, side] of [['nats-server', natsServer], ['natsmesh', natsmesh]] as const) {
      for (const e of side.errors) out.push(`error (interest, ${name}): ${e}`)
    }
  }
  if (report.join !== undefined) {
    const { natsServer, natsmesh } = report.join
    const m = (v: number[]): number => median(v)
    out.push(`Join convergence: node C joins A+B, ${JOIN_SUBJECTS} subscriptions held on A; ms from C's spawn, median of ${Math.max(natsServer.convergedMs.length, natsmesh.convergedMs.length)}`,
      'ratio = nats-server / natsmesh (> 1: natsmesh faster)', '',
      table(['', 'C accepts clients', `all ${JOIN_SUBJECTS} delivered to A`, 'per round (delivered)'], [
        ['nats-server', fmt(m(natsServer.acceptMs)), fmt(m(natsServer.convergedMs)), natsServer.convergedMs.map(fmt).join(', ')],
        ['natsmesh', fmt(m(natsmesh.acceptMs)), fmt(m(natsmesh.convergedMs)), natsmesh.convergedMs.map(fmt).join(', ')],
        ['ratio', ratio(m(natsServer.acceptMs), m(natsmesh.acceptMs)), ratio(m(natsServer.convergedMs), m(natsmesh.convergedMs)), ''],
      ]), '')
    for (const [name, side] of [['nats-server', natsServer], ['natsmesh', natsmesh]] as const) {
      for (const e of side.errors) out.push(`error (join, ${name}): ${e}`)
    }
  }
  return out.join('\n')
}

export function convergenceErrors(report: ConvergenceReport): number {
  return [report.interest?.natsServer, report.interest?.natsmesh, report.join?.natsServer, report.join?.natsmesh]
    .reduce((n, side) => n + (side?.errors.length ?? 0), 0)
}
