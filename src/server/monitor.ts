// The HTTP monitoring endpoints, with nats-server 2.9's paths, query options
// and JSON field names, so nats-top, `nats server` tooling and dashboards
// written for nats-server read a natsmesh node unchanged; plus /metrics in
// the Prometheus text format. node:http only. Everything runs on the event
// loop between socket events, so a snapshot is consistent without locks.
//
// The cluster adds its part (routes, ZooKeeper) through MonitorHooks; this
// file never imports src/cluster (P9).
import http from 'node:http'
import os from 'node:os'
import { NO_MONITOR_HOOKS, type MonitorHooks } from './cluster-seam.js'
import type { Connection } from './connection.js'
import type { DeliveryStats } from './delivery.js'
import type { Logger } from './logger.js'
import {
  checkFamily, formatUptime, goDurationJson, writeFamily, type MetricFamily,
} from './monitor-format.js'
import { MonitorQueryError, queryBool, queryPage, querySubs } from './monitor-query.js'
import { connz, pendingBytes, routeInfo, subDetail } from './monitor-rows.js'
import type { ServerOptions } from './options.js'
import { isValidLiteralSubject, matchLiteral } from './subject.js'
import type { Sublist } from './sublist.js'
import type { Subscription } from './subscription.js'

/** What the monitor reads from the server; Server satisfies it (no import of server.ts, so no cycle). */
export interface MonitoredServer {
  readonly id: string
  readonly name: string
  readonly options: ServerOptions
  readonly logger: Logger
  readonly startTime: Date
  /** The client port actually bound. */
  readonly port: number
  /** What clients are told to connect to (client_advertise, else the listener). */
  readonly clientHost: string
  readonly clientPort: number
  readonly state: string
  readonly connections: ReadonlyMap<number, Connection>
  readonly stats: { readonly totalConnections: number; readonly slowConsumers: number }
  readonly core: { readonly stats: DeliveryStats; readonly sublist: Sublist<Subscription> }
}

export interface MonitorVersions {
  /** The nats-server version we are compatible with (COMPAT_VERSION): /varz `version`. */
  readonly version: string
  readonly natsmeshVersion: string
}

// ---- responses ------------------------------------------------------------------

class Reply {
  constructor(readonly status: number, readonly contentType: string, readonly body: string) {}
}

const JSON_TYPE = 'application/json'
const TEXT_TYPE = 'text/plain; charset=utf-8'
const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** nats-server pretty-prints its monitoring JSON with two spaces. */
function jsonReply(value: unknown, status = 200): Reply {
  return new Reply(status, JSON_TYPE, JSON.stringify(value, null, 2))
}

function textReply(status: number, text: string): Reply {
  return new Reply(status, TEXT_TYPE, text.endsWith('\n') ? text : text + '\n')
}

const ENDPOINTS = ['/varz', '/connz', '/routez', '/subsz', '/healthz', '/metrics'] as const

const INDEX_HTML = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>natsmesh monitoring</title></head>
<body>
<h1>natsmesh</h1>
<a href="./varz">General</a><br>
<a href="./connz">Connections</a><br>
<a href="./subsz">Subscriptions</a><br>
<a href="./routez">Routes</a><br>
<a href="./healthz">Health Probe</a><br>
<a href="./metrics">Prometheus metrics</a><br>
<a href="https://docs.nats.io/running-a-nats-service/nats_admin/monitoring">Help (nats-server monitoring)</a>
</body>
</html>
`

/** Every state a Server goes through, for the natsmesh_server_state gauge (one sample per state). */
const SERVER_STATES = ['new', 'running', 'lame-duck', 'stopping', 'stopped'] as const

// ---- the monitor ----------------------------------------------------------------

/**
 * One HTTP listener on options.host:options.httpPort. Server.start() starts
 * it before the client listener (as nats-server does), so /healthz answers
 * 503 until clients can connect; Server.shutdown() stops it last.
 */
export class Monitor {
  hooks: MonitorHooks = NO_MONITOR_HOOKS
  /** Runs `drain` (lame duck) or `stop` for POST /drain and /stop; null answers 501. */
  control: ((action: 'drain' | 'stop') => void) | null = null
  private readonly server: MonitoredServer
  private readonly versions: MonitorVersions
  private readonly http: http.Server
  /** nats-server's http_req_stats: requests per known path. */
  private readonly requestCounts = new Map<string, number>()
  /** The previous CPU sample, so /varz cpu is the share of one core used since the last request. */
  private cpuWallMs: number
  private cpuUsageMicros: number

  constructor(server: MonitoredServer, versions: MonitorVersions) {
    this.server = server
    this.versions = versions
    this.http = http.createServer(this.onRequest)
    this.cpuWallMs = Date.now() - process.uptime() * 1000
    this.cpuUsageMicros = 0
  }

  get isListening(): boolean {
    return this.http.listening
  }

  /** The bound port, or options.httpPort before start. */
  get port(): number {
    const addr = this.http.address()
    return addr !== null && typeof addr === 'object' ? addr.port : this.server.options.httpPort
  }

  /** `http://host:port`, or null when not listening. */
  get url(): string | null {
    if (!this.http.listening) return null
    const host = this.server.options.httpHost
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
    return `http://${shown}:${this.port}`
  }

  async start(): Promise<void> {
    const { httpHost: host, httpPort } = this.server.options
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.http.once('error', onError)
      this.http.listen({ host, port: httpPort }, () => {
        this.http.off('error', onError)
        resolve()
      })
    })
    this.http.on('error', (err) => this.server.logger.error(`http monitor: ${err.message}`))
    this.server.logger.info(`Starting http monitor on ${host}:${this.port}`)
  }

  /** Closes the listener and every open (keep-alive) HTTP connection. Idempotent. */
  async stop(): Promise<void> {
    if (!this.http.listening) return
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()))
    this.http.closeAllConnections()
    await closed
  }

  private readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const method = req.method ?? 'GET'
    let reply: Reply
    try {
      reply = this.route(method, req.url ?? '/')
    } catch (err) {
      if (err instanceof MonitorQueryError) {
        reply = textReply(400, err.message)
      } else {
        const message = err instanceof Error ? err.message : String(err)
        this.server.logger.error(`http monitor: ${req.url ?? ''}: ${message}`)
        reply = textReply(500, `internal error: ${message}`)
      }
    }
    try {
      res.statusCode = reply.status
      res.setHeader('Content-Type', reply.contentType)
      res.setHeader('Content-Length', Buffer.byteLength(reply.body))
      res.setHeader('Cache-Control', 'no-store')
      if (reply.status === 405) res.setHeader('Allow', req.url?.startsWith('/drain') === true || req.url?.startsWith('/stop') === true ? 'POST' : 'GET, HEAD')
      res.end(method === 'HEAD' ? undefined : reply.body)
    } catch (err) {
      // The peer went away mid-answer; nothing to tell it.
      this.server.logger.debug(`http monitor: response failed: ${String(err)}`)
    }
  }

  private route(method: string, url: string): Reply {
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1))
    if (path === '/drain' || path === '/stop') return this.controlRequest(method, path)
    const isKnown = path === '/' || (ENDPOINTS as readonly string[]).includes(path)
    if (!isKnown) return textReply(404, '404 page not found')
    if (method !== 'GET' && method !== 'HEAD') return textReply(405, `method ${method} not allowed: use GET or HEAD`)
    this.requestCounts.set(path, (this.requestCounts.get(path) ?? 0) + 1)
    switch (path) {
      case '/varz': return jsonReply(this.varz())
      case '/connz': return jsonReply(connz(this.server.id, this.server.connections, query))
      case '/routez': return jsonReply(this.routez(query))
      case '/subsz': return jsonReply(this.subsz(query))
      case '/healthz': return this.healthz()
      case '/metrics': return new Reply(200, PROMETHEUS_TYPE, this.metrics())
      default: return new Reply(200, 'text/html; charset=utf-8', INDEX_HTML)
    }
  }

  /**
   * POST /drain (lame duck) and POST /stop: how `natsmesh node drain|stop`
   * reaches a node. Anyone who can reach the monitoring port can do this, as
   * with nats-server's signals to anyone who can reach the process: keep the
   * port on a management network.
   */
  private controlRequest(method: string, path: string): Reply {
    if (method !== 'POST') return new Reply(405, 'text/plain; charset=utf-8', `method ${method} not allowed: use POST`)
    const action = path === '/drain' ? 'drain' : 'stop'
    if (this.control === null) return textReply(501, `${action} is not available on this node`)
    this.server.logger.info(`http monitor: ${action} requested`)
    // Answer first: the drain ends with this process exiting.
    setImmediate(() => this.control?.(action))
    return jsonReply({ status: 'ok', action })
  }

  /** A hook's answer, or the fallback (logged) when the hook throws. */
  private callHook<T>(name: string, call: () => T, fallback: T): T {
    try {
      return call()
    } catch (err) {
      this.server.logger.warn(`http monitor: hook ${name} failed: ${err instanceof Error ? err.message : String(err)}`)
      return fallback
    }
  }

  private routeCount(): number {
    return this.callHook('routez', () => this.hooks.routes(false).length, 0)
  }

  /** Share of one core since the previous sample, in percent (nats-server's pcpu, as `ps` reports it). */
  private sampleCpu(nowMs: number): number {
    const usage = process.cpuUsage()
    const usedMicros = usage.user + usage.system
    const wallMs = nowMs - this.cpuWallMs
    const cpu = wallMs <= 0 ? 0 : ((usedMicros - this.cpuUsageMicros) / 1000 / wallMs) * 100
    this.cpuWallMs = nowMs
    this.cpuUsageMicros = usedMicros
    return Math.round(cpu * 100) / 100
  }

  varz(): Record<string, unknown> {
    const s = this.server
    const o = s.options
    const now = Date.now()
    const core = s.core.stats
    const extras = this.callHook('varz', () => this.hooks.varz(), {})
    const routes = this.routeCount()
    return {
      server_id: s.id,
      server_name: s.name,
      version: this.versions.version,
      natsmesh_version: this.versions.natsmeshVersion,
      proto: 1,
      // INFO's host and port: client_advertise when set, as nats-server shows them.
      host: s.clientHost,
      port: s.clientPort,
      max_connections: o.maxConnections,
      // Go marshals a time.Duration as integer nanoseconds.
      ping_interval: goDurationJson(o.pingIntervalMs),
      ping_max: o.maxPingsOut,
      http_host: o.httpHost,
      http_port: this.port,
      http_base_path: '',
      https_port: 0,
      max_control_line: o.maxControlLine,
      max_payload: o.maxPayload,
      max_pending: o.maxPending,
      cluster: o.clusterName !== '' ? { name: o.clusterName } : {},
      write_deadline: goDurationJson(o.writeDeadlineMs),
      start: s.startTime.toISOString(),
      now: new Date(now).toISOString(),
      uptime: formatUptime(now - s.startTime.getTime()),
      mem: process.memoryUsage.rss(),
      cores: os.availableParallelism(),
      cpu: this.sampleCpu(now),
      connections: s.connections.size,
      total_connections: s.stats.totalConnections,
      routes,
      // nats-server counts the remote servers it knows; with one route per peer that is the route count.
      remotes: routes,
      in_msgs: core.inMsgs,
      out_msgs: core.outMsgs,
      in_bytes: core.inBytes,
      out_bytes: core.outBytes,
      slow_consumers: s.stats.slowConsumers,
      subscriptions: s.core.sublist.count,
      http_req_stats: Object.fromEntries([...this.requestCounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      config_load_time: s.startTime.toISOString(),
      ...extras,
    }
  }

  routez(q: URLSearchParams): Record<string, unknown> {
    const subs = querySubs(q)
    const now = Date.now()
    const routes = this.hooks.routes(subs !== 'none')
    return {
      server_id: this.server.id,
      now: new Date(now).toISOString(),
      num_routes: routes.length,
      routes: routes.map((r) => routeInfo(r, now, subs)),
    }
  }

  /**
   * nats-server's SublistStats as far as our sublist can tell: inserts and
   * removes follow from genid (bumped once per successful insert or remove)
   * and count. The sublist keeps no match counters and its cache is private,
   * so num_matches, cache_hit_rate, max_fanout and avg_fanout are 0.
   */
  private sublistStats(): Record<string, number> {
    const sl = this.server.core.sublist
    return {
      num_subscriptions: sl.count,
      num_cache: sl.cacheCount,
      num_inserts: (sl.genid + sl.count) / 2,
      num_removes: (sl.genid - sl.count) / 2,
      num_matches: 0,
      cache_hit_rate: 0,
      max_fanout: 0,
      avg_fanout: 0,
    }
  }

  subsz(q: URLSearchParams): Record<string, unknown> {
    const isListed = queryBool(q, 'subs')
    const page = queryPage(q)
    const test = q.get('test') ?? ''
    if (test !== '' && !isValidLiteralSubject(test)) {
      throw new MonitorQueryError(`invalid test subject, must be valid publish subject: ${test}`)
    }
    // Without subs nats-server answers the bare statistics.
    if (!isListed) return this.sublistStats()
    const matching: Subscription[] = []
    this.server.core.sublist.forEach((sub) => {
      if (test === '' || matchLiteral(test, sub.subject)) matching.push(sub)
    })
    // A stable order, so that offset/limit pages do not overlap between requests.
    matching.sort((a, b) => a.client.cid - b.client.cid || a.sid.compare(b.sid))
    return {
      server_id: this.server.id,
      now: new Date().toISOString(),
      ...this.sublistStats(),
      total: matching.length,
      offset: page.offset,
      limit: page.limit,
      subscriptions_list: matching.slice(page.offset, page.offset + page.limit).map((sub) => subDetail(sub, '$G')),
    }
  }

  /** nats-server's HealthStatus: compact JSON, 503 with an error while not serving clients. */
  private healthz(): Reply {
    const state = this.server.state
    if (state === 'running') return new Reply(200, JSON_TYPE, JSON.stringify({ status: 'ok' }))
    const error = state === 'new' ? 'server is not yet accepting client connections'
      : state === 'lame-duck' ? 'server is in lame duck mode'
        : 'server is shutting down'
    return new Reply(503, JSON_TYPE, JSON.stringify({ status: 'unavailable', error }))
  }

  /** The core families, then the hook's; a malformed or repeated family is dropped (and logged) so the scrape still parses. */
  metrics(): string {
    const s = this.server
    const core = s.core.stats
    let pending = 0
    for (const c of s.connections.values()) pending += pendingBytes(c)
    const states: string[] = [...SERVER_STATES]
    if (!states.includes(s.state)) states.push(s.state)
    const families: MetricFamily[] = [
      gauge('natsmesh_info', 'Server identity; the value is always 1.', [{
        labels: { server_id: s.id, server_name: s.name, version: this.versions.version, natsmesh_version: this.versions.natsmeshVersion },
        value: 1,
      }]),
      { name: 'natsmesh_server_state', help: 'Lifecycle state: 1 for the current state, 0 for the others.', type: 'gauge', samples: states.map((state) => ({ labels: { state }, value: state === s.state ? 1 : 0 })) },
      gauge('natsmesh_start_time_seconds', 'Server start, seconds since the Unix epoch.', [{ value: s.startTime.getTime() / 1000 }]),
      gauge('natsmesh_connections', 'Client connections open now.', [{ value: s.connections.size }]),
      counter('natsmesh_connections_accepted_total', 'Client connections accepted since start (varz total_connections).', s.stats.totalConnections),
      gauge('natsmesh_subscriptions', 'Local client subscriptions.', [{ value: s.core.sublist.count }]),
      counter('natsmesh_in_msgs_total', 'Messages received from clients and routes.', core.inMsgs),
      counter('natsmesh_out_msgs_total', 'Messages delivered to local subscriptions.', core.outMsgs),
      counter('natsmesh_in_bytes_total', 'Payload bytes received from clients and routes.', core.inBytes),
      counter('natsmesh_out_bytes_total', 'Payload bytes delivered to local subscriptions.', core.outBytes),
      counter('natsmesh_slow_consumers_total', 'Clients closed as slow consumers.', s.stats.slowConsumers),
      gauge('natsmesh_pending_bytes', 'Outbound bytes owed to all clients.', [{ value: pending }]),
      gauge('natsmesh_routes', 'Route connections to peers.', [{ value: this.routeCount() }]),
      gauge('natsmesh_resident_memory_bytes', 'Resident set size of the process.', [{ value: process.memoryUsage.rss() }]),
    ]
    const lines: string[] = []
    const seen = new Set<string>()
    const extra = this.callHook('metrics', () => this.hooks.metrics(), [])
    for (const family of [...families, ...extra]) {
      const problem = seen.has(family.name) ? `duplicate metric family '${family.name}'` : checkFamily(family)
      if (problem !== null) {
        this.server.logger.warn(`http monitor: /metrics: ${problem}; family dropped`)
        continue
      }
      seen.add(family.name)
      writeFamily(lines, family)
    }
    return lines.join('\n') + '\n'
  }
}

function gauge(name: string, help: string, samples: MetricFamily['samples']): MetricFamily {
  return { name, help, type: 'gauge', samples }
}

function counter(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: 'counter', samples: [{ value }] }
}
