// A nats-server configuration file (server/opts.go of 2.9.10) read into
// natsmesh's server and cluster options. Every key nats-server knows is a row
// of one of the tables below: mapped to a natsmesh option with nats-server's
// type checks and error texts, or refused by name ("not supported by
// natsmesh") when natsmesh does not implement it yet; adding a key is one row.
// A key nats-server does not know is its `unknown field` error, as in
// nats-server (a top-level variable that nothing refers to included).
//
// Where nats-server takes a value natsmesh cannot run with (a port beyond
// 65535, a negative limit) the key is refused here, with its position, so
// `-t` says so before anything starts. nats-server's "0 means the default"
// is kept: `max_payload: 0` is 1MB, `port: 0` is 4222, `port: -1` random.
//
// natsmesh's own settings (ZooKeeper, the route ping interval) live in a
// `natsmesh { … }` block, which nats-server refuses: such a file is for
// natsmesh only (docs/operations.md shows how to share the rest with an
// include).
import { CONFIG_ERROR_CODE, ConfigError } from '../config/config-error.js'
import { parseConfigFile, type ConfMap, type ConfValue, type ParseOptions } from '../config/conf-parser.js'
import {
  asArray, asBool, asDuration, asInt, asString, configError, errorPosition, goQuote, goTypeName, unknownFieldError,
} from '../config/conf-values.js'
import { parseGoDuration } from '../config/go-duration.js'
import { advertiseProblem, goAtoi, splitHostPort } from '../config/host-port.js'
import { OptionsError } from '../errors.js'
import { parseHostPort, type ClusterOptions } from '../cluster/options.js'
import { formatGoDuration } from '../server/monitor-format.js'
import { DEFAULT_HOST, type ServerOptions } from '../server/options.js'

/** nats-server refuses max_payload and max_control_line above an int32. */
const MAX_INT32 = 2 ** 31 - 1
/** opts.go: lame_duck_duration below this is an error. */
const MIN_LAME_DUCK_DURATION_MS = 30_000
/** natsmesh's parser needs room for an op and its arguments (resolveOptions checks flags the same way). */
const MIN_CONTROL_LINE = 32

export interface FileOptions {
  server: Partial<ServerOptions>
  cluster: Partial<ClusterOptions>
  /** nats-server's warnings (a duration as a bare number, a duplicate route): printed at start; `-t` fails on them. */
  warnings: ConfigError[]
  /** natsmesh's notes on input nats-server silently ignores (see conf-parser.ts). */
  notices: ConfigError[]
}

/** Everything wrong with a config file, nats-server's way: warnings first, then errors, one per line. */
export class ConfigFileError extends OptionsError {
  override readonly code: string = CONFIG_ERROR_CODE
  readonly errors: readonly ConfigError[]
  readonly warnings: readonly ConfigError[]

  constructor(errors: readonly ConfigError[], warnings: readonly ConfigError[]) {
    super([...warnings, ...errors].map((e) => e.message).join('\n'))
    this.errors = errors
    this.warnings = warnings
  }
}

/** What one file's keys fill in, and what they had to say. */
class Reading {
  readonly server: Partial<ServerOptions> = {}
  readonly cluster: Partial<ClusterOptions> = {}
  readonly errors: ConfigError[] = []
  readonly warnings: ConfigError[] = []
  /** cluster { host, port } (or listen) until the block is done: port 0 means no cluster, as in nats-server. */
  clusterHost = ''
  clusterPort = 0
}

type KeyReader = (value: ConfValue, into: Reading) => void

interface KeyRule {
  /** nats-server's name and its aliases; keys match in any case, as in nats-server. */
  readonly names: readonly string[]
  /** null: nats-server knows the key and natsmesh does not implement it; refused by name. */
  readonly read: KeyReader | null
}

/**
 * Reads a nats-server config file. Throws the parser's ConfigError, or a
 * ConfigFileError listing every key that is wrong (with the warnings).
 */
export function readConfFile(file: string, options: Omit<ParseOptions, 'file'> = {}): FileOptions {
  const parsed = parseConfigFile(file, options)
  const reading = new Reading()
  readBlock(parsed.root, TOP_LEVEL, reading)
  if (reading.errors.length > 0) throw new ConfigFileError(reading.errors, reading.warnings)
  return { server: reading.server, cluster: reading.cluster, warnings: reading.warnings, notices: [...parsed.notices] }
}

function readBlock(block: ConfMap, rules: ReadonlyMap<string, KeyRule>, into: Reading): void {
  for (const value of block.value.values()) {
    const name = value.key?.name ?? ''
    const rule = rules.get(name.toLowerCase())
    // Each key stands alone, as opts.go recovers a panic per key: one bad value does not hide the next.
    try {
      if (rule === undefined) {
        if (!value.isUsedVariable) into.errors.push(unknownFieldError(value))
      } else if (rule.read === null) {
        into.errors.push(configError(value, `${goQuote(name)} is not supported by natsmesh`))
      } else {
        rule.read(value, into)
      }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      into.errors.push(err)
    }
  }
}

function table(rules: readonly KeyRule[]): ReadonlyMap<string, KeyRule> {
  return new Map(rules.flatMap((rule) => rule.names.map((name): [string, KeyRule] => [name, rule])))
}

function unsupported(...names: string[]): KeyRule {
  return { names, read: null }
}

// ---- value rules ----------------------------------------------------------------------

/** The key as written in the file, for messages (nats-server prints it so). */
function keyName(value: ConfValue): string {
  return value.key?.name ?? ''
}

function outOfRange(value: ConfValue, shown: string | number, takes: string): ConfigError {
  return configError(value, `${keyName(value)} ${shown} is out of range for natsmesh, which takes ${takes}`)
}

/** A listen port: -1 is a random port (natsmesh's 0), 0 stays 0 (the caller's "not set"). */
function listenPort(value: ConfValue, port: number, zeroMeans: string): number {
  if (port === -1) return 0
  if (port !== 0 && (port < 1 || port > 65535)) throw outOfRange(value, port, `1 to 65535, -1 (a random port) or 0 (${zeroMeans})`)
  return port
}

function monitorPort(value: ConfValue, port: number): number {
  if (port < 0 || port > 65535) throw outOfRange(value, port, '1 to 65535, or 0 (no monitoring)')
  return port
}

/** Sets an option unless the file asked for the default (undefined): the default then stays. */
function setIf<T, K extends keyof T>(target: Partial<T>, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value
}

/** A limit where nats-server reads 0 as "the default": undefined then. */
function limit(value: ConfValue, n: number, min = 1): number | undefined {
  if (n === 0) return undefined
  if (n < min) throw outOfRange(value, n, `${min} or more, or 0 (the default)`)
  return n
}

/** max_payload and max_control_line: nats-server's int32 check first, in its words. */
function int32Limit(value: ConfValue, min = 1): number | undefined {
  const n = asInt(value)
  if (n > MAX_INT32) throw configError(value, `${keyName(value)} value is too big`)
  return limit(value, n, min)
}

/** ping_interval, write_deadline: nats-server's parseDuration (a bare number is seconds, with a warning); 0 is the default. */
function durationLimit(value: ConfValue, field: string, into: Reading): number | undefined {
  const ms = asDuration(value, { field, warnings: into.warnings })
  if (ms === 0) return undefined
  if (ms < 0) throw outOfRange(value, goDuration(ms), 'a positive duration, or 0 (the default)')
  return ms
}

/** lame_duck_*: only a Go duration string, as opts.go reads them. */
function goDurationString(value: ConfValue, field: string): number {
  const parsed = parseGoDuration(asString(value))
  if (parsed.ns === null) throw configError(value, `error parsing ${field}: ${parsed.error}`)
  return Number(parsed.ns) / 1e6
}

function goDuration(ms: number): string {
  return formatGoDuration(BigInt(Math.round(ms * 1e6)))
}

/** nats-server's parseListen: a port, or "host:port". */
function parseListen(value: ConfValue): { host: string; port: number } {
  if (value.kind === 'int') return { host: '', port: value.value }
  if (value.kind !== 'string') throw configError(value, `expected port or host:port, got ${goTypeName(value)}`)
  const split = splitHostPort(value.value)
  if (split.error !== null) throw configError(value, `could not parse address string ${goQuote(value.value)}`)
  const port = goAtoi(split.port)
  if (port === null) throw configError(value, `could not parse port ${goQuote(split.port)}`)
  return { host: split.host, port }
}

function advertise(value: ConfValue): string {
  const text = asString(value)
  const problem = advertiseProblem(text)
  if (problem !== null) throw configError(value, `${keyName(value)}: ${problem}`)
  return text
}

/** Expected map to define cluster, got int64: nats-server's words for a block that is not one. */
function block(value: ConfValue, what: string): ConfMap {
  if (value.kind !== 'map') throw configError(value, `Expected map to define ${what}, got ${goTypeName(value)}`)
  return value
}

// ---- top level (opts.go processConfigFileLine) ------------------------------------

const TOP_LEVEL: ReadonlyMap<string, KeyRule> = table([
  {
    names: ['listen'],
    read: (v, r) => {
      const { host, port } = parseListen(v)
      r.server.host = host === '' ? DEFAULT_HOST : host
      const resolved = listenPort(v, port, 'the default, 4222')
      if (port !== 0) r.server.port = resolved
    },
  },
  { names: ['port'], read: (v, r) => { const port = asInt(v); if (port !== 0) r.server.port = listenPort(v, port, 'the default, 4222') } },
  { names: ['host', 'net'], read: (v, r) => { const host = asString(v); r.server.host = host === '' ? DEFAULT_HOST : host } },
  { names: ['client_advertise'], read: (v, r) => { r.server.clientAdvertise = advertise(v) } },
  { names: ['server_name'], read: (v, r) => { r.server.serverName = asString(v) } },
  { names: ['debug'], read: (v, r) => { r.server.debug = asBool(v) } },
  { names: ['trace'], read: (v, r) => { r.server.trace = asBool(v) } },
  {
    names: ['http'],
    read: (v, r) => {
      const { host, port } = parseListen(v)
      r.server.httpHost = host
      r.server.httpPort = monitorPort(v, port)
    },
  },
  { names: ['http_port', 'monitor_port'], read: (v, r) => { r.server.httpPort = monitorPort(v, asInt(v)) } },
  { names: ['max_control_line'], read: (v, r) => setIf(r.server, 'maxControlLine', int32Limit(v, MIN_CONTROL_LINE)) },
  { names: ['max_payload'], read: (v, r) => setIf(r.server, 'maxPayload', int32Limit(v)) },
  { names: ['max_pending'], read: (v, r) => setIf(r.server, 'maxPending', limit(v, asInt(v))) },
  { names: ['max_connections', 'max_conn'], read: (v, r) => setIf(r.server, 'maxConnections', limit(v, asInt(v))) },
  { names: ['ping_interval'], read: (v, r) => setIf(r.server, 'pingIntervalMs', durationLimit(v, 'ping_interval', r)) },
  { names: ['ping_max'], read: (v, r) => setIf(r.server, 'maxPingsOut', limit(v, asInt(v))) },
  { names: ['write_deadline'], read: (v, r) => setIf(r.server, 'writeDeadlineMs', durationLimit(v, 'write_deadline', r)) },
  {
    names: ['lame_duck_duration'],
    read: (v, r) => {
      const ms = goDurationString(v, 'lame_duck_duration')
      if (ms < MIN_LAME_DUCK_DURATION_MS) throw configError(v, `invalid lame_duck_duration of ${goDuration(ms)}, minimum is 30 seconds`)
      r.server.lameDuckDurationMs = ms
    },
  },
  {
    names: ['lame_duck_grace_period'],
    read: (v, r) => {
      const ms = goDurationString(v, 'lame_duck_grace_period')
      if (ms < 0) throw configError(v, 'invalid lame_duck_grace_period, needs to be positive')
      // 0 is nats-server's "not set": the default grace period.
      if (ms > 0) r.server.lameDuckGracePeriodMs = ms
    },
  },
  { names: ['logfile', 'log_file'], read: (v, r) => { r.server.logFile = asString(v) } },
  { names: ['pidfile', 'pid_file'], read: (v, r) => { r.server.pidFile = asString(v) } },
  { names: ['cluster'], read: (v, r) => readCluster(block(v, 'cluster'), r) },
  { names: ['natsmesh'], read: (v, r) => readBlock(block(v, 'natsmesh'), NATSMESH, r) },
  // Logging that natsmesh does not have yet.
  unsupported('logtime'),
  unsupported('trace_verbose'),
  unsupported('logfile_size_limit', 'log_size_limit'),
  unsupported('syslog'),
  unsupported('remote_syslog'),
  // Security: accounts, users, TLS, operators (the next issue).
  unsupported('authorization'),
  unsupported('accounts'),
  unsupported('no_auth_user'),
  unsupported('tls'),
  unsupported('allow_non_tls'),
  unsupported('ocsp'),
  unsupported('operator', 'operators', 'roots', 'root', 'root_operators', 'root_operator'),
  unsupported('resolver', 'account_resolver', 'accounts_resolver'),
  unsupported('resolver_tls'),
  unsupported('resolver_preload'),
  unsupported('resolver_pinned_accounts'),
  unsupported('trusted', 'trusted_keys'),
  unsupported('system_account', 'system'),
  unsupported('no_system_account', 'no_system', 'no_sys_acc'),
  unsupported('mappings', 'maps'),
  // Other servers and protocols.
  unsupported('gateway'),
  unsupported('leaf', 'leafnodes'),
  unsupported('websocket', 'ws'),
  unsupported('mqtt'),
  unsupported('jetstream'),
  unsupported('store_dir', 'storedir'),
  unsupported('default_js_domain'),
  // Monitoring and limits natsmesh does not have.
  unsupported('https'),
  unsupported('https_port'),
  unsupported('http_base_path'),
  unsupported('max_subscriptions', 'max_subs'),
  unsupported('max_sub_tokens', 'max_subscription_tokens'),
  unsupported('max_traced_msg_len'),
  unsupported('disable_sublist_cache', 'no_sublist_cache'),
  unsupported('no_header_support'),
  unsupported('server_tags'),
  unsupported('connect_error_reports'),
  unsupported('reconnect_error_reports'),
  unsupported('ports_file_dir'),
  unsupported('prof_port'),
])

// ---- cluster { } (opts.go parseCluster) ----------------------------------------------

function readCluster(clusterBlock: ConfMap, into: Reading): void {
  readBlock(clusterBlock, CLUSTER, into)
  // As nats-server: without a port there is no route listener, whatever else the block says.
  if (into.clusterPort === 0) return
  const host = into.clusterHost === '' ? DEFAULT_HOST : into.clusterHost
  const port = into.clusterPort === -1 ? 0 : into.clusterPort
  into.cluster.clusterListen = `nats://${host.includes(':') ? `[${host}]` : host}:${port}`
}

function clusterPort(value: ConfValue, port: number): number {
  if (port < -1 || port > 65535) throw outOfRange(value, port, '1 to 65535, -1 (a random port) or 0 (no cluster)')
  return port
}

function readRoutes(value: ConfValue, into: Reading): void {
  const seen = new Set<string>()
  const routes: string[] = []
  for (const item of asArray(value).value) {
    try {
      const url = asString(item)
      if (seen.has(url)) {
        const at = errorPosition(item)
        into.warnings.push(ConfigError.at(at, `invalid use of field ${goQuote(url)}: Duplicate route entry detected`, { isWarning: true }))
        continue
      }
      seen.add(url)
      const trimmed = url.trim()
      if (parseHostPort(trimmed) === null) {
        throw configError(item, `error parsing route url [${goQuote(trimmed)}]: natsmesh needs a host and a port`)
      }
      routes.push(trimmed)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      into.errors.push(err)
    }
  }
  into.cluster.routes = routes
}

const CLUSTER: ReadonlyMap<string, KeyRule> = table([
  { names: ['name'], read: (v, r) => { r.server.clusterName = asString(v) } },
  {
    names: ['listen'],
    read: (v, r) => {
      const { host, port } = parseListen(v)
      r.clusterHost = host
      r.clusterPort = clusterPort(v, port)
    },
  },
  { names: ['port'], read: (v, r) => { r.clusterPort = clusterPort(v, asInt(v)) } },
  { names: ['host', 'net'], read: (v, r) => { r.clusterHost = asString(v) } },
  { names: ['routes'], read: readRoutes },
  { names: ['cluster_advertise', 'advertise'], read: (v, r) => { r.cluster.clusterAdvertise = advertise(v) } },
  { names: ['no_advertise'], read: (v, r) => { r.cluster.noAdvertise = asBool(v) } },
  unsupported('authorization'),
  unsupported('tls'),
  unsupported('permissions'),
  // natsmesh learns no routes by gossip, so there are no implicit routes to retry.
  unsupported('connect_retries'),
])

// ---- natsmesh { } (natsmesh's own settings) -------------------------------------------

function positiveDuration(value: ConfValue, field: string, into: Reading): number {
  const ms = asDuration(value, { field, warnings: into.warnings })
  if (ms <= 0) throw outOfRange(value, goDuration(ms), 'a positive duration')
  return ms
}

const ZOOKEEPER: ReadonlyMap<string, KeyRule> = table([
  { names: ['servers'], read: (v, r) => { r.cluster.zookeeper = asString(v) } },
  { names: ['session_timeout'], read: (v, r) => { r.cluster.zkSessionTimeoutMs = positiveDuration(v, 'session_timeout', r) } },
  { names: ['auth'], read: (v, r) => { r.cluster.zkAuth = asString(v) } },
])

const NATSMESH: ReadonlyMap<string, KeyRule> = table([
  { names: ['zookeeper'], read: (v, r) => readBlock(block(v, 'zookeeper'), ZOOKEEPER, r) },
  { names: ['route_ping_interval'], read: (v, r) => { r.cluster.routePingIntervalMs = positiveDuration(v, 'route_ping_interval', r) } },
])

/** Every top-level key nats-server knows (with its aliases), and whether natsmesh maps it; for the docs test. */
export function natsServerKeys(): Array<{ names: readonly string[]; isSupported: boolean }> {
  const rules = new Set([...TOP_LEVEL.values()].filter((rule) => !rule.names.includes('natsmesh')))
  return [...rules].map((rule) => ({ names: rule.names, isSupported: rule.read !== null }))
}

/** The same for the cluster block. */
export function natsServerClusterKeys(): Array<{ names: readonly string[]; isSupported: boolean }> {
  return [...new Set(CLUSTER.values())].map((rule) => ({ names: rule.names, isSupported: rule.read !== null }))
}
