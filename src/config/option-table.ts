// The option-table machinery shared by the server's and the cluster's
// options: one row per option gives its flag (also its config-file key), its
// kind and its help text; values from the CLI or a config file are checked
// and coerced here, by kind, so every option of every table reads the same way.
import { OptionsError } from '../errors.js'

export type Kind = 'string' | 'port' | 'count' | 'size' | 'duration' | 'boolean' | 'list'

/** One option of a table; T is the options object it fills (the server's, or the cluster's). */
export interface OptionSpec<T> {
  key: keyof T & string
  /** CLI flag and config-file key (the same word, nats-server's spelling). */
  flag: string
  alias: string | null
  kind: Kind
  describe: string
}

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
export function optionsFromFlags<T>(input: Record<string, unknown>, specs: readonly OptionSpec<T>[], isStrict = true): Partial<T> {
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
