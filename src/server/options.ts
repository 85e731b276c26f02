// Server options: one table gives every option its flag (nats-server's
// spelling where the meaning is the same), its type, default and check. The
// CLI, the config-file loader and /varz all read this table, so an option is
// added in one place.
import { OptionsError } from '../errors.js'

export const DEFAULT_HOST = '0.0.0.0'
export const DEFAULT_PORT = 4222
export const MAX_PAYLOAD_SIZE = 1024 * 1024
export const MAX_CONTROL_LINE_SIZE = 4096
export const DEFAULT_MAX_CONNECTIONS = 64 * 1024
export const MAX_PENDING_SIZE = 64 * 1024 * 1024
export const DEFAULT_PING_INTERVAL_MS = 120_000
export const DEFAULT_PING_MAX_OUT = 2
export const DEFAULT_WRITE_DEADLINE_MS = 10_000
export const DEFAULT_LAME_DUCK_DURATION_MS = 120_000
export const DEFAULT_LAME_DUCK_GRACE_PERIOD_MS = 10_000

export interface ServerOptions {
  host: string
  port: number
  httpPort: number
  serverName: string
  maxPayload: number
  maxControlLine: number
  maxConnections: number
  maxPending: number
  pingIntervalMs: number
  maxPingsOut: number
  writeDeadlineMs: number
  lameDuckDurationMs: number
  lameDuckGracePeriodMs: number
  debug: boolean
  trace: boolean
  logFile: string
  pidFile: string
  clusterName: string
}

type Kind = 'string' | 'port' | 'count' | 'size' | 'duration' | 'boolean' | 'list'

/** One option of a table; T is the options object it fills (the server's, or the cluster's). */
export interface OptionSpec<T = ServerOptions> {
  key: keyof T & string
  /** CLI flag and config-file key (the same word, nats-server's spelling). */
  flag: string
  alias: string | null
  kind: Kind
  describe: string
}

/** Every server option. The cluster adds its own table in src/cluster. */
export const SERVER_OPTION_SPECS: readonly OptionSpec<ServerOptions>[] = [
  { key: 'host', flag: 'addr', alias: 'a', kind: 'string', describe: 'Bind to host address' },
  { key: 'port', flag: 'port', alias: 'p', kind: 'port', describe: 'Port for clients (0 picks a free one)' },
  { key: 'httpPort', flag: 'http_port', alias: 'm', kind: 'port', describe: 'Port for HTTP monitoring (0: off)' },
  { key: 'serverName', flag: 'name', alias: 'n', kind: 'string', describe: 'Server name (default: the server id)' },
  { key: 'maxPayload', flag: 'max_payload', alias: null, kind: 'size', describe: 'Largest message payload in bytes (1MB, 512KB or a number)' },
  { key: 'maxControlLine', flag: 'max_control_line', alias: null, kind: 'size', describe: 'Longest protocol line in bytes' },
  { key: 'maxConnections', flag: 'max_connections', alias: null, kind: 'count', describe: 'Most client connections at once' },
  { key: 'maxPending', flag: 'max_pending', alias: null, kind: 'size', describe: 'Outbound bytes a client may owe before it is cut off as a slow consumer' },
  { key: 'pingIntervalMs', flag: 'ping_interval', alias: null, kind: 'duration', describe: 'How often the server PINGs a client (seconds, or 2m, 500ms)' },
  { key: 'maxPingsOut', flag: 'max_pings_out', alias: null, kind: 'count', describe: 'Unanswered PINGs before the client is closed as stale' },
  { key: 'writeDeadlineMs', flag: 'write_deadline', alias: null, kind: 'duration', describe: 'How long a blocked write may take before the client is a slow consumer' },
  { key: 'lameDuckDurationMs', flag: 'lame_duck_duration', alias: null, kind: 'duration', describe: 'In lame-duck mode, spread client closes over this long' },
  { key: 'lameDuckGracePeriodMs', flag: 'lame_duck_grace_period', alias: null, kind: 'duration', describe: 'In lame-duck mode, wait this long before closing clients' },
  { key: 'debug', flag: 'debug', alias: 'D', kind: 'boolean', describe: 'Log debug messages' },
  { key: 'trace', flag: 'trace', alias: 'V', kind: 'boolean', describe: 'Log the raw protocol (every op; slow)' },
  { key: 'logFile', flag: 'log', alias: 'l', kind: 'string', describe: 'Write the log to this file instead of stderr' },
  { key: 'pidFile', flag: 'pid', alias: 'P', kind: 'string', describe: 'Write the process id to this file' },
  { key: 'clusterName', flag: 'cluster_name', alias: null, kind: 'string', describe: 'Cluster name (routes from another name are refused)' },
]

export const DEFAULT_OPTIONS: Readonly<ServerOptions> = Object.freeze({
  host: DEFAULT_HOST,
  port: DEFAULT_PORT,
  httpPort: 0,
  serverName: '',
  maxPayload: MAX_PAYLOAD_SIZE,
  maxControlLine: MAX_CONTROL_LINE_SIZE,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  maxPending: MAX_PENDING_SIZE,
  pingIntervalMs: DEFAULT_PING_INTERVAL_MS,
  maxPingsOut: DEFAULT_PING_MAX_OUT,
  writeDeadlineMs: DEFAULT_WRITE_DEADLINE_MS,
  lameDuckDurationMs: DEFAULT_LAME_DUCK_DURATION_MS,
  lameDuckGracePeriodMs: DEFAULT_LAME_DUCK_GRACE_PERIOD_MS,
  debug: false,
  trace: false,
  logFile: '',
  pidFile: '',
  clusterName: '',
})

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 }
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** `1MB`, `512KB`, `1048576` → bytes; -1 when it is none of those. */
export function parseSize(value: unknown): number {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : -1
  if (typeof value !== 'string') return -1
  const m = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(value)
  if (m === null) return -1
  const unit = SIZE_UNITS[m[2].toLowerCase()]
  return unit === undefined ? -1 : Number(m[1]) * unit
}

/** A number is seconds (nats-server's ping_interval); `2m`, `500ms`, `1h` carry a unit. -1 when invalid. */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : -1
  if (typeof value !== 'string') return -1
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value)
  if (m === null) return -1
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 's'])
}

function coerce<T>(spec: OptionSpec<T>, value: unknown): string | number | boolean | string[] {
  const bad = (what: string): never => {
    throw new OptionsError(`--${spec.flag}: ${what}, got ${JSON.stringify(value)}`)
  }
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') bad('expected a string')
      return value as string
    case 'boolean':
      if (value === 'true' || value === 'false') return value === 'true'
      if (typeof value !== 'boolean') bad('expected true or false')
      return value as boolean
    case 'list': {
      // `a,b` on the command line, or an array of strings in a config file.
      const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : bad('expected a comma-separated list')
      const out = (items as unknown[]).map((v) => (typeof v === 'string' ? v.trim() : bad('expected strings'))).filter((v) => v !== '')
      return out
    }
    case 'port': {
      const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) bad('expected a port number from 0 to 65535')
      return n as number
    }
    case 'count': {
      const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) bad('expected a whole number of at least 1')
      return n as number
    }
    case 'size': {
      const n = parseSize(value)
      if (n < 1) bad('expected a size in bytes such as 1048576, 512KB or 1MB')
      return n
    }
    case 'duration': {
      const n = parseDuration(value)
      if (n < 1) bad('expected a duration such as 120 (seconds), 2m or 500ms')
      return n
    }
  }
}

/**
 * Merges flag-named input (`{ port: 4333, max_payload: '1MB' }`, from the CLI
 * or a config file) over the defaults, checking every value. Unknown keys are
 * refused by name: a typo in a config file must not silently do nothing.
 */
export function optionsFromFlags<T = ServerOptions>(input: Record<string, unknown>, specs: readonly OptionSpec<T>[], isStrict = true): Partial<T> {
  const byFlag = new Map(specs.map((s) => [s.flag, s]))
  const out: Record<string, unknown> = {}
  for (const [flag, value] of Object.entries(input)) {
    if (value === undefined) continue
    const spec = byFlag.get(flag)
    if (spec === undefined) {
      if (isStrict) throw new OptionsError(`unknown option "${flag}"`)
      continue
    }
    out[spec.key] = coerce(spec, value)
  }
  return out as Partial<T>
}

/** The options as a config file would hold them (flag names, durations with units). */
export function optionsToFlags<T>(options: T, specs: readonly OptionSpec<T>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const spec of specs) {
    const v = options[spec.key]
    out[spec.flag] = spec.kind === 'duration' && typeof v === 'number' ? formatDuration(v) : v
  }
  return out
}

export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}

/** Fills in defaults and checks the values that depend on each other. */
export function resolveOptions(input: Partial<ServerOptions> = {}): ServerOptions {
  const opts: ServerOptions = { ...DEFAULT_OPTIONS, ...input }
  for (const spec of SERVER_OPTION_SPECS) {
    const v = opts[spec.key]
    // Programmatic callers pass typed values; still refuse nonsense such as NaN.
    if (typeof v === 'number' && (!Number.isFinite(v) || v < 0)) {
      throw new OptionsError(`--${spec.flag}: expected a non-negative number, got ${String(v)}`)
    }
  }
  if (opts.maxControlLine < 32) throw new OptionsError('--max_control_line: must be at least 32 bytes')
  if (opts.maxPayload > opts.maxPending) {
    throw new OptionsError(`--max_payload (${opts.maxPayload}) cannot be larger than --max_pending (${opts.maxPending})`)
  }
  return opts
}
