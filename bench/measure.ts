// One run of one scenario against one target: fork the load generators, wait
// until every subscription is known where the publisher is (probes), let the
// publisher go, collect counts. Load generators are stopped in every case.
import { randomBytes } from 'node:crypto'
import type { LatencyScenario, ThroughputScenario } from './scenarios.js'
import type { ProcessRegistry, Target } from './servers.js'
import { sleep } from '../src/wait.js'
import { assertAlive, targetCpuSeconds } from './servers.js'
import { all, Worker } from './workers.js'

const SETUP_TIMEOUT_MS = 15_000
const STATUS_POLL_MS = 50
/** Subscribers that got nothing new for this long after the publisher finished are done. */
const IDLE_AFTER_PUBLISH_MS = 2_000
/**
 * Round trips before measuring, also with --quick: the first few hundred run
 * through V8's interpreter in both load generators and showed up as a p99 of
 * over 1 ms in 2,000-request runs.
 */
const LATENCY_WARMUP = 1000

export interface ThroughputResult {
  msgsPerSec: number
  sent: number
  expected: number
  received: number
  seconds: number
  /** Why the count is short (slow consumer, -ERR, …), or null. */
  warning: string | null
  /**
   * Share of one core the load generators used while measuring (publisher;
   * busiest subscriber): well under 100 % means they were not the bottleneck.
   */
  publisherCpuPct: number
  subscriberCpuPct: number
  /**
   * CPU time the target's processes used per message received (published,
   * for publish only), in ns. Other load on the machine stretches wall time
   * far more than it changes this, so its ratio is the steadier one.
   */
  serverCpuNsPerMsg: number
}

export interface LatencyRunResult {
  p50Us: number
  p90Us: number
  p99Us: number
  maxUs: number
  count: number
}

export interface RunLimits {
  /** The publisher (or requester) stops after this long, whatever the count. */
  maxMs: number
}

export async function measureThroughput(
  target: Target, scenario: ThroughputScenario, payloadBytes: number, count: number,
  limits: RunLimits, registry: ProcessRegistry,
): Promise<ThroughputResult> {
  assertAlive(target)
  // Fresh subjects per run, so nothing left over from an earlier run can match.
  const runId = randomBytes(4).toString('hex')
  const subject = `bench.${runId}`
  const probeSubject = `_bench.probe.${runId}`
  const workers: Worker[] = []
  try {
    const subs = scenario.subscribers.map((s, k) => {
      const w = new Worker(registry, {
        role: 'sub', port: target.nodes[s.node].port, subject, queue: s.queue, probeSubject,
      }, `${target.name} subscriber ${k}`)
      workers.push(w)
      return w
    })
    await all(subs, 'ready', SETUP_TIMEOUT_MS)
    const pub = new Worker(registry, {
      role: 'pub', port: target.nodes[scenario.publisherNode].port, subject, payloadBytes, count,
      maxMs: limits.maxMs, probeSubject,
    }, `${target.name} publisher`)
    workers.push(pub)
    await pub.next('ready', SETUP_TIMEOUT_MS)
    await all(subs, 'probed', SETUP_TIMEOUT_MS)
    const cpuBefore = targetCpuSeconds(target)
    pub.send({ op: 'go' })
    const published = await pub.next('published', limits.maxMs + SETUP_TIMEOUT_MS)
    const publishSeconds = (published.endNs - published.startNs) / 1e9
    const publisherCpuPct = published.cpuUs / 1e4 / publishSeconds
    if (subs.length === 0) {
      return {
        msgsPerSec: published.sent / publishSeconds, sent: published.sent, expected: published.sent, received: published.sent,
        seconds: publishSeconds, warning: null, publisherCpuPct, subscriberCpuPct: 0,
        serverCpuNsPerMsg: ((targetCpuSeconds(target) - cpuBefore) * 1e9) / published.sent,
      }
    }
    // A queue group gets each message once; every plain subscriber gets each.
    const plainSubs = scenario.subscribers.filter((s) => s.queue === null).length
    const hasQueue = scenario.subscribers.some((s) => s.queue !== null)
    const expected = published.sent * (plainSubs + (hasQueue ? 1 : 0))
    const collected = await collect(subs, published.sent, expected, limits)
    const serverCpuNsPerMsg = ((targetCpuSeconds(target) - cpuBefore) * 1e9) / Math.max(1, collected.received)
    return { ...collected, publisherCpuPct, serverCpuNsPerMsg }
  } finally {
    for (const w of workers) w.stop()
  }
}

async function collect(subs: Worker[], sent: number, expected: number, limits: RunLimits): Promise<Omit<ThroughputResult, 'publisherCpuPct' | 'serverCpuNsPerMsg'>> {
  let received = 0
  let lastProgress = Date.now()
  const deadline = Date.now() + limits.maxMs + IDLE_AFTER_PUBLISH_MS
  for (let poll = 0; poll < 100_000; poll++) {
    const statuses = await Promise.all(subs.map((w) => w.status(SETUP_TIMEOUT_MS)))
    const total = statuses.reduce((sum, s) => sum + s.received, 0)
    if (total !== received) lastProgress = Date.now()
    received = total
    const isStuck = Date.now() - lastProgress > IDLE_AFTER_PUBLISH_MS || Date.now() > deadline
    if (received >= expected || isStuck || statuses.every((s) => s.isClosed)) {
      const started = statuses.filter((s) => s.firstNs > 0)
      const firstNs = Math.min(...started.map((s) => s.firstNs))
      const lastNs = Math.max(...started.map((s) => s.lastNs))
      const seconds = started.length === 0 ? 0 : (lastNs - firstNs) / 1e9
      const problems = statuses.filter((s) => s.error !== null || s.isClosed).map((s) => s.error ?? 'closed')
      let warning: string | null = null
      if (received < expected) warning = `received ${received} of ${expected}${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`
      else if (received > expected) warning = `received ${received}, more than the ${expected} expected`
      // The subscriber's CPU since it was ready, over the receiving span: setup costs next to nothing.
      const subscriberCpuPct = seconds > 0 ? Math.max(...statuses.map((s) => s.cpuUs)) / 1e4 / seconds : 0
      return { msgsPerSec: seconds > 0 ? received / seconds : 0, sent, expected, received, seconds, warning, subscriberCpuPct }
    }
    await sleep(STATUS_POLL_MS)
  }
  throw new Error('status polling did not end')
}

export async function measureLatency(
  target: Target, scenario: LatencyScenario, count: number, limits: RunLimits, registry: ProcessRegistry,
): Promise<LatencyRunResult> {
  assertAlive(target)
  const subject = `bench.req.${randomBytes(4).toString('hex')}`
  const workers: Worker[] = []
  try {
    const responder = new Worker(registry, { role: 'responder', port: target.nodes[scenario.responderNode].port, subject }, `${target.name} responder`)
    workers.push(responder)
    await responder.next('ready', SETUP_TIMEOUT_MS)
    const requester = new Worker(registry, {
      role: 'requester', port: target.nodes[scenario.requesterNode].port, subject,
      payloadBytes: scenario.payloadBytes, warmup: LATENCY_WARMUP, count, maxMs: limits.maxMs,
    }, `${target.name} requester`)
    workers.push(requester)
    const result = await requester.next('latency', limits.maxMs + SETUP_TIMEOUT_MS)
    if (result.error !== null) throw new Error(`${target.name}: ${result.error}`)
    return { p50Us: result.p50Us, p90Us: result.p90Us, p99Us: result.p99Us, maxUs: result.maxUs, count: result.count }
  } finally {
    for (const w of workers) w.stop()
  }
}
