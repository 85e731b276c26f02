// What `nats-server -t` would say about a parsed config, for the few options
// the grammar tests use (port, max_payload, ping_interval, authorization,
// cluster, …), so a differential test can compare whole verdicts and texts.
// It mirrors server/opts.go (2.9.10) for those keys only: a test stand-in for
// the option layer, built from the typed readers it will use.
import { ConfigError } from '../../src/config/config-error.js'
import type { ConfMap, ConfValue, ParsedConfig } from '../../src/config/conf-parser.js'
import { parseConfigFile, type ParseOptions } from '../../src/config/conf-parser.js'
import {
  asArray, asBool, asDuration, asInt, asMap, asSize, asString, configError, goTypeName, unknownFieldError,
} from '../../src/config/conf-values.js'

export interface Verdict {
  isValid: boolean
  /** nats-server's lines after `nats-server: `: warnings then errors, sorted (nats-server's order follows a Go map). */
  lines: string[]
}

/** Our verdict on a file, in `nats-server -t -c file` terms. */
export function checkConfigFile(file: string, options: Omit<ParseOptions, 'file'> = {}): Verdict {
  let parsed: ParsedConfig
  try {
    parsed = parseConfigFile(file, options)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { isValid: false, lines: [err.message] }
  }
  const errors: ConfigError[] = []
  const warnings: ConfigError[] = []
  for (const value of parsed.root.value.values()) {
    // opts.go recovers a panic per top-level key: the first bad value ends that key.
    try {
      checkTopLevel(value, errors, warnings)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      errors.push(err)
    }
  }
  if (errors.length === 0 && warnings.length === 0) return { isValid: true, lines: [`configuration file ${file} is valid`] }
  return { isValid: false, lines: [...warnings.map((w) => w.message).sort(), ...errors.map((e) => e.message).sort()] }
}

function checkTopLevel(value: ConfValue, errors: ConfigError[], warnings: ConfigError[]): void {
  const name = value.key?.name ?? ''
  switch (name.toLowerCase()) {
    case 'port': case 'http_port': case 'max_connections':
      asInt(value)
      return
    case 'server_name':
      asString(value)
      return
    case 'debug': case 'trace': case 'logtime': case 'no_sublist_cache': case 'disable_sublist_cache':
      asBool(value)
      return
    case 'max_payload': case 'max_control_line':
      if (asSize(value) > 2 ** 31 - 1) errors.push(configError(value, `${name} value is too big`))
      return
    case 'max_pending':
      asSize(value)
      return
    case 'ping_interval': case 'write_deadline':
      asDuration(value, { field: name.toLowerCase(), warnings })
      return
    case 'listen':
      checkListen(value, errors)
      return
    case 'authorization':
      checkAuthorization(asMap(value), errors)
      return
    case 'cluster':
      if (value.kind !== 'map') {
        errors.push(configError(value, `Expected map to define cluster, got ${goTypeName(value)}`))
        return
      }
      checkCluster(value, errors)
      return
    default:
      if (!value.isUsedVariable) errors.push(unknownFieldError(value))
  }
}

function checkAuthorization(block: ConfMap, errors: ConfigError[]): void {
  for (const member of block.value.values()) {
    switch (member.key?.name.toLowerCase()) {
      case 'user': case 'username': case 'pass': case 'password': case 'token':
        asString(member)
        break
      case 'timeout':
        break // any type: nats-server falls back to 1 second
      default:
        if (!member.isUsedVariable) errors.push(unknownFieldError(member))
    }
  }
}

function checkCluster(block: ConfMap, errors: ConfigError[]): void {
  for (const member of block.value.values()) {
    try {
      switch (member.key?.name.toLowerCase()) {
        case 'name':
          asString(member)
          break
        case 'listen':
          checkListen(member, errors)
          break
        case 'routes':
          for (const route of asArray(member).value) asString(route)
          break
        default:
          if (!member.isUsedVariable) errors.push(unknownFieldError(member))
      }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      errors.push(err)
      return // the panic ends parseCluster
    }
  }
}

/** parseListen: a port, or "host:port". */
function checkListen(value: ConfValue, errors: ConfigError[]): void {
  if (value.kind === 'int') return
  if (value.kind !== 'string') {
    errors.push(configError(value, `expected port or host:port, got ${goTypeName(value)}`))
    return
  }
  const colon = value.value.lastIndexOf(':')
  if (colon < 0) errors.push(configError(value, `could not parse address string ${JSON.stringify(value.value)}`))
}
