// Typed reads of parsed config values for the option layer, refusing a wrong
// type the way nats-server 2.9.10's server/opts.go does. opts.go reads a value
// with a bare Go type assertion (`o.Port = int(v.(int64))`), so a wrong type is
// a recovered panic whose text becomes the error, reported at the key:
//   f.conf:1:0: interface conversion: interface {} is string, not int64
// Each reader here throws a ConfigError with that text at the same position:
// the key for a map member (nats-server reports map members at their key), the
// value itself in an array.
//
// Which reader fits which option (opts.go):
//   asInt      port, http_port, max_connections, max_subscriptions, ping_max, …
//   asSize     max_payload, max_pending, max_control_line: integers only; the
//              unquoted `1MB` works because the lexer applies the suffix, a quoted
//              "1MB" is refused like any string
//   asStorageSize  jetstream max_memory_store / max_file_store: an integer, or a
//              string "<int>K|M|G|T" (binary, upper case only)
//   asDuration ping_interval, write_deadline, lame_duck_*: a Go duration string;
//              an integer is seconds, accepted with a warning (which fails `-t`)
//   asString, asBool, asMap, asArray: the rest
import { ConfigError, type ConfPosition } from './config-error.js'
import type { ConfArray, ConfMap, ConfValue } from './conf-parser.js'
import { parseGoDuration } from './go-duration.js'

/** The Go type nats-server's parser gives each kind, as `%T` and panics print it. */
export function goTypeName(value: ConfValue): string {
  switch (value.kind) {
    case 'string': return 'string'
    case 'int': return 'int64'
    case 'float': return 'float64'
    case 'bool': return 'bool'
    case 'datetime': return 'time.Time'
    case 'map': return 'map[string]interface {}'
    case 'array': return '[]interface {}'
  }
}

/** Where nats-server reports an error about this value: its key when it has one. */
export function errorPosition(value: ConfValue): ConfPosition {
  return value.key ?? value
}

/** nats-server's configErr: `file:line:col: reason`, at the value's key when it has one. */
export function configError(value: ConfValue, reason: string): ConfigError {
  return ConfigError.at(errorPosition(value), reason)
}

/** nats-server's unknownConfigFieldErr, at the key. The option layer skips values with isUsedVariable, as nats-server does. */
export function unknownFieldError(value: ConfValue): ConfigError {
  return ConfigError.at(errorPosition(value), `unknown field ${goQuote(value.key?.name ?? '')}`)
}

function conversionError(value: ConfValue, goType: string): ConfigError {
  return configError(value, `interface conversion: interface {} is ${goTypeName(value)}, not ${goType}`)
}

export function asString(value: ConfValue): string {
  if (value.kind !== 'string') throw conversionError(value, 'string')
  return value.value
}

/** An integer (int64 in nats-server; here within ±(2^53-1), which the parser already checked). */
export function asInt(value: ConfValue): number {
  if (value.kind !== 'int') throw conversionError(value, 'int64')
  return value.value
}

export function asBool(value: ConfValue): boolean {
  if (value.kind !== 'bool') throw conversionError(value, 'bool')
  return value.value
}

export function asMap(value: ConfValue): ConfMap {
  if (value.kind !== 'map') throw conversionError(value, 'map[string]interface {}')
  return value
}

export function asArray(value: ConfValue): ConfArray {
  if (value.kind !== 'array') throw conversionError(value, '[]interface {}')
  return value
}

/** Bytes, for max_payload, max_pending and max_control_line: only an integer (size suffixes applied by the lexer). */
export function asSize(value: ConfValue): number {
  return asInt(value)
}

/**
 * Bytes, as nats-server's getStorageSize reads JetStream sizes: an integer, or
 * a string whose last character is K, M, G or T (powers of 1024) after an
 * integer; "" is 0. `field` prefixes the message, as nats-server does
 * (`max_file_store sizes defined as strings must end in K, M, G, T`).
 */
export function asStorageSize(value: ConfValue, field: string): number {
  if (value.kind === 'int') return value.value
  if (value.kind !== 'string') throw configError(value, `${field} must be int64 or string`)
  const s = value.value
  if (s === '') return 0
  const digits = s.slice(0, -1)
  if (!/^[+-]?[0-9]+$/.test(digits)) throw configError(value, `${field} strconv.ParseInt: parsing ${goQuote(digits)}: invalid syntax`)
  if (BigInt(digits) >= 1n << 63n || BigInt(digits) < -(1n << 63n)) {
    throw configError(value, `${field} strconv.ParseInt: parsing ${goQuote(digits)}: value out of range`)
  }
  const shift = { K: 10n, M: 20n, G: 30n, T: 40n }[s.slice(-1)]
  if (shift === undefined) throw configError(value, `${field} sizes defined as strings must end in K, M, G, T`)
  const bytes = BigInt(digits) << shift
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER) || bytes < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw configError(value, `${field} value ${JSON.stringify(s)} is out of the range natsmesh can hold exactly`)
  }
  return Number(bytes)
}

export interface DurationOptions {
  /** The option's name in messages; the key's name by default. nats-server uses its canonical spelling. */
  field?: string
  /** Receives nats-server's warning when the duration is a bare number of seconds. */
  warnings?: ConfigError[]
}

/**
 * Milliseconds (fractional below 1 ms: "300us" is 0.3), as nats-server's
 * parseDuration reads ping_interval and write_deadline: a string is a Go
 * duration; an integer is seconds, with a warning; anything else gets the
 * warning too, then panics on `v.(int64)`, which is the error here.
 */
export function asDuration(value: ConfValue, options: DurationOptions = {}): number {
  const field = options.field ?? value.key?.name ?? ''
  if (value.kind === 'string') {
    const parsed = parseGoDuration(value.value)
    if (parsed.ns === null) throw configError(value, `error parsing ${field}: ${parsed.error}`)
    return Number(parsed.ns) / 1e6
  }
  // nats-server warns first, then converts: a bool or a map gets the warning and the panic.
  const reason = `${field} should be converted to a duration`
  options.warnings?.push(ConfigError.at(errorPosition(value), `invalid use of field ${goQuote(field)}: ${reason}`, { isWarning: true }))
  if (value.kind !== 'int') throw conversionError(value, 'int64')
  return value.value * 1000
}

const GO_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\',
}

/** strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u

/** Go's %q (strconv.Quote): C escapes, \xNN below 0x80, \uNNNN and \UNNNNNNNN for other unprintable runes. */
export function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0
    if (GO_ESCAPES[ch] !== undefined) out += GO_ESCAPES[ch]
    else if (GO_PRINTABLE.test(ch)) out += ch
    else if (code < 0x80) out += `\\x${code.toString(16).padStart(2, '0')}`
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`
    else out += `\\U${code.toString(16).padStart(8, '0')}`
  }
  return `${out}"`
}
