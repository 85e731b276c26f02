// Server options: one table gives every option its flag (nats-server's
// spelling where the meaning is the same), its type, default and check. The
// CLI, the config-file loader and /varz all read this table, so an option is
// added in one place. The table machinery is in src/config/option-table.ts.
import { OptionsError } from '../errors.js'
import { checkAdvertise } from '../config/host-port.js'
import type { OptionSpec } from '../config/option-table.js'

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
  /** Where monitoring listens; '' is the client host, as in nats-server. */
  httpHost: string
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
  /** `host[:port]` clients are told (INFO, connect_urls) instead of the listener's; '' for none. */
  clientAdvertise: string
}

/** Every server option. The cluster adds its own table in src/cluster. */
export const SERVER_OPTION_SPECS: readonly OptionSpec<ServerOptions>[] = [
  { key: 'host', flag: 'addr', alias: 'a', kind: 'string', describe: 'Bind to host address' },
  { key: 'port', flag: 'port', alias: 'p', kind: 'port', describe: 'Port for clients (0 picks a free one)' },
  { key: 'httpPort', flag: 'http_port', alias: 'm', kind: 'port', describe: 'Port for HTTP monitoring (0: off)' },
  { key: 'httpHost', flag: 'http_host', alias: null, kind: 'string', describe: 'Host for HTTP monitoring (default: --addr)' },
  { key: 'serverName', flag: 'name', alias: 'n', kind: 'string', describe: 'Server name (default: the server id)' },
  { key: 'clientAdvertise', flag: 'client_advertise', alias: null, kind: 'string', describe: 'host[:port] clients are told about in INFO and connect_urls (default: from --addr/--port)' },
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
  { key: 'clusterName', flag: 'cluster_name', alias: null, kind: 'string', describe: 'Cluster name (routes from another name are refused; with --cluster and no name, one is generated)' },
]

export const DEFAULT_OPTIONS: Readonly<ServerOptions> = Object.freeze({
  host: DEFAULT_HOST,
  port: DEFAULT_PORT,
  httpPort: 0,
  httpHost: '',
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
  clientAdvertise: '',
})

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
  // nats-server's validateOptions (server.go), in its words.
  if (opts.maxPayload > opts.maxPending) {
    throw new OptionsError(`max_payload (${opts.maxPayload}) cannot be higher than max_pending (${opts.maxPending})`)
  }
  if (opts.clientAdvertise !== '') checkAdvertise('client_advertise', opts.clientAdvertise)
  if (opts.httpHost === '') opts.httpHost = opts.host
  return opts
}
