// Results: medians over repeats, ratios, the stdout table and the JSON file.
// Throughput ratio = natsmesh / nats-server; latency ratio = nats-server /
// natsmesh. Either way a ratio above 1 means natsmesh did better.
import { writeFileSync } from 'node:fs'
import type { LatencyRunResult, ThroughputResult } from './measure.js'

export interface ThroughputRow {
  kind: 'throughput'
  scenario: string
  payloadBytes: number
  natsServer: ThroughputResult[]
  natsmesh: ThroughputResult[]
  errors: string[]
}

export interface LatencyRow {
  kind: 'latency'
  scenario: string
  payloadBytes: number
  natsServer: LatencyRunResult[]
  natsmesh: LatencyRunResult[]
  errors: string[]
}

export type Row = ThroughputRow | LatencyRow

export function median(values: number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function ratio(numerator: number, denominator: number): number {
  return denominator > 0 && numerator > 0 ? numerator / denominator : NaN
}

function rate(n: number): string {
  if (Number.isNaN(n)) return '—'
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`
  return n.toFixed(0)
}

function nanos(n: number): string {
  return Number.isNaN(n) ? '—' : `${n.toFixed(0)} ns`
}

function micros(n: number): string {
  return Number.isNaN(n) ? '—' : `${n.toFixed(0)} µs`
}

function times(n: number): string {
  return Number.isNaN(n) ? '—' : `${n.toFixed(2)}×`
}

function bytes(n: number): string {
  return n >= 1024 ? `${n / 1024} KiB` : `${n} B`
}

/**
 * A run that lost messages (slow consumer, -ERR) measured something else: its
 * rate is left out of the medians, and listed under Problems instead.
 */
function complete(runs: ThroughputResult[]): ThroughputResult[] {
  return runs.filter((x) => x.warning === null)
}

/** `min–max` of the natsmesh / nats-server ratios of each repeat where both runs were complete. */
function spread(natsServer: ThroughputResult[], natsmesh: ThroughputResult[]): string {
  const ratios: number[] = []
  for (let k = 0; k < Math.min(natsServer.length, natsmesh.length); k++) {
    if (natsServer[k].warning === null && natsmesh[k].warning === null) ratios.push(ratio(natsmesh[k].msgsPerSec, natsServer[k].msgsPerSec))
  }
  if (ratios.length < 2 || ratios.some(Number.isNaN)) return ''
  return `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`
}

export function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)))
  const fmt = (cells: string[]): string => `| ${cells.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n')
}

export function formatReport(rows: Row[]): string {
  const out: string[] = []
  const throughput = rows.filter((r): r is ThroughputRow => r.kind === 'throughput')
  const latency = rows.filter((r): r is LatencyRow => r.kind === 'latency')
  if (throughput.length > 0) {
    out.push('Throughput, msgs/s received (publish only: accepted), median of repeats. ratio = natsmesh / nats-server, > 1 means natsmesh is faster;')
    out.push('ratio range = lowest and highest ratio of the paired runs. CPU/msg = server CPU time per message (all nodes, all threads);')
    out.push('CPU ratio = nats-server / natsmesh, > 1 means natsmesh spends less CPU per message.\n')
    out.push(table(
      ['scenario', 'payload', 'nats-server msgs/s', 'natsmesh msgs/s', 'ratio', 'ratio range', 'nats-server CPU/msg', 'natsmesh CPU/msg', 'CPU ratio'],
      throughput.map((r) => {
        const ns = median(complete(r.natsServer).map((x) => x.msgsPerSec))
        const nm = median(complete(r.natsmesh).map((x) => x.msgsPerSec))
        const nsCpu = median(complete(r.natsServer).map((x) => x.serverCpuNsPerMsg))
        const nmCpu = median(complete(r.natsmesh).map((x) => x.serverCpuNsPerMsg))
        return [
          r.scenario, bytes(r.payloadBytes), rate(ns), rate(nm), times(ratio(nm, ns)), spread(r.natsServer, r.natsmesh),
          nanos(nsCpu), nanos(nmCpu), times(ratio(nsCpu, nmCpu)),
        ]
      }),
    ))
  }
  if (latency.length > 0) {
    out.push('\nRequest/reply round trip, median of repeats. ratio = nats-server / natsmesh, > 1 means natsmesh is faster.\n')
    out.push(table(
      ['scenario', 'payload', 'nats-server p50', 'nats-server p99', 'natsmesh p50', 'natsmesh p99', 'ratio p50', 'ratio p99'],
      latency.map((r) => {
        const ns50 = median(r.natsServer.map((x) => x.p50Us))
        const ns99 = median(r.natsServer.map((x) => x.p99Us))
        const nm50 = median(r.natsmesh.map((x) => x.p50Us))
        const nm99 = median(r.natsmesh.map((x) => x.p99Us))
        return [r.scenario, bytes(r.payloadBytes), micros(ns50), micros(ns99), micros(nm50), micros(nm99), times(ratio(ns50, nm50)), times(ratio(ns99, nm99))]
      }),
    ))
  }
  const problems = rows.flatMap((r) => [
    ...r.errors.map((e) => `${r.scenario} ${bytes(r.payloadBytes)}: ERROR ${e}`),
    ...(r.kind === 'throughput'
      ? [...r.natsServer.map((x) => ['nats-server', x] as const), ...r.natsmesh.map((x) => ['natsmesh', x] as const)]
          .filter(([, x]) => x.warning !== null)
          .map(([name, x]) => `${r.scenario} ${bytes(r.payloadBytes)}: ${name} ${x.warning}`)
      : []),
  ])
  if (problems.length > 0) out.push(`\nProblems (runs with lost messages are left out of the medians above):\n${problems.map((p) => `  ${p}`).join('\n')}`)
  return out.join('\n')
}

export function writeJson(path: string, meta: Record<string, unknown>, rows: Row[]): void {
  writeFileSync(path, JSON.stringify({ ...meta, rows }, null, 2) + '\n')
}
