// Text formats the monitor speaks that are not JSON: Go's duration strings
// (nats-server prints rtt with time.Duration.String and uptime/idle with its
// own myUptime), and the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).

const NS_PER_US = 1_000n
const NS_PER_MS = 1_000_000n
const NS_PER_S = 1_000_000_000n

/** `digits` as a fraction of `scale` nanoseconds with trailing zeros dropped: 1_500_000 of 1e6 → "1.5". */
function fixed(value: bigint, scale: bigint): string {
  const whole = value / scale
  const frac = value % scale
  if (frac === 0n) return whole.toString()
  const width = scale.toString().length - 1
  return `${whole}.${frac.toString().padStart(width, '0').replace(/0+$/, '')}`
}

/**
 * Go's time.Duration.String for a duration in nanoseconds: "0s", "850ns",
 * "3.175596ms", "168µs", "1m30s", "2h0m0.5s". Used for `rtt`, which
 * nats-server formats this way in /connz and /routez.
 */
export function formatGoDuration(nanoseconds: number | bigint): string {
  let ns = typeof nanoseconds === 'bigint' ? nanoseconds : BigInt(Math.round(Number.isFinite(nanoseconds) ? nanoseconds : 0))
  if (ns === 0n) return '0s'
  const sign = ns < 0n ? '-' : ''
  if (ns < 0n) ns = -ns
  if (ns < NS_PER_US) return `${sign}${ns}ns`
  if (ns < NS_PER_MS) return `${sign}${fixed(ns, NS_PER_US)}µs`
  if (ns < NS_PER_S) return `${sign}${fixed(ns, NS_PER_MS)}ms`
  const totalSeconds = ns / NS_PER_S
  const seconds = `${fixed(ns % (60n * NS_PER_S), NS_PER_S)}s`
  const minutes = totalSeconds / 60n
  if (minutes === 0n) return sign + seconds
  const hours = minutes / 60n
  if (hours === 0n) return `${sign}${minutes}m${seconds}`
  return `${sign}${hours}h${minutes % 60n}m${seconds}`
}

/**
 * nats-server's myUptime (monitor.go): whole seconds, with days and years
 * spelled out: "0s", "1m5s", "3h0m0s", "2d4h0m12s", "1y3d0h0m0s". /varz uptime
 * and /connz uptime and idle use it; nats-top parses it.
 */
export function formatUptime(milliseconds: number): string {
  const totalSeconds = Math.max(0, Math.floor(milliseconds / 1000))
  const minutes = Math.floor(totalSeconds / 60)
  const hours = Math.floor(minutes / 60)
  const days = Math.floor(hours / 24)
  const years = Math.floor(days / 365)
  const s = totalSeconds % 60
  const m = minutes % 60
  const h = hours % 24
  if (years > 0) return `${years}y${days % 365}d${h}h${m}m${s}s`
  if (days > 0) return `${days}d${h}h${m}m${s}s`
  if (hours > 0) return `${hours}h${m}m${s}s`
  if (minutes > 0) return `${minutes}m${s}s`
  return `${s}s`
}

/** Milliseconds to the integer nanoseconds a Go time.Duration marshals to in JSON (ping_interval, write_deadline). */
export function goDurationJson(milliseconds: number): number {
  return milliseconds * 1_000_000
}

// ---- Prometheus text format ---------------------------------------------------

export type MetricType = 'counter' | 'gauge' | 'untyped'

export interface MetricSample {
  /** Label name → value; values are escaped on output. */
  readonly labels?: Readonly<Record<string, string>>
  readonly value: number
}

/** One metric family: one `# HELP`, one `# TYPE`, then its samples. */
export interface MetricFamily {
  /** With the `natsmesh_` prefix; counters end in `_total`. */
  readonly name: string
  readonly help: string
  readonly type: MetricType
  readonly samples: readonly MetricSample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** A label value in double quotes: backslash, double quote and line feed are escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** HELP text escapes only backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

/**
 * Why a family cannot be written, or null when it can. A hook's bad family is
 * dropped rather than breaking the whole scrape: Prometheus refuses a page
 * with one malformed line.
 */
export function checkFamily(family: MetricFamily): string | null {
  if (!METRIC_NAME.test(family.name)) return `invalid metric name '${family.name}'`
  for (const sample of family.samples) {
    if (typeof sample.value !== 'number') return `${family.name}: sample value is not a number`
    for (const label of Object.keys(sample.labels ?? {})) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) return `${family.name}: invalid label name '${label}'`
    }
  }
  return null
}

/** Appends one family's lines (the caller has checked it). */
export function writeFamily(lines: string[], family: MetricFamily): void {
  lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
  lines.push(`# TYPE ${family.name} ${family.type}`)
  for (const sample of family.samples) {
    const labels = sample.labels === undefined ? [] : Object.entries(sample.labels)
    const labelText = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`
    lines.push(`${family.name}${labelText} ${formatSampleValue(sample.value)}`)
  }
}
