// One broker node: the client listener, limits, INFO, and lifecycle around
// the delivery core. It knows nothing of src/cluster: a cluster plugs in
// through setCluster (a ClusterSink) and extra INFO fields.
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { parseAdvertise } from '../config/host-port.js'
import type { ClusterSink, MeshHost, MonitorHooks } from './cluster-seam.js'
import { clientEndpointSettings, Connection, type ClientHost } from './connection.js'
import { DeliveryCore } from './delivery.js'
import type { EndpointContext, EndpointSettings } from './endpoint.js'
import { ERR_MAX_CONNECTIONS } from './errors.js'
import { FlushQueue } from './flush.js'
import { LineLogger, type Logger } from './logger.js'
import { Monitor } from './monitor.js'
import type { PubArg } from './op-handler.js'
import { resolveOptions, type ServerOptions } from './options.js'
import { ChunkPool } from './outbound.js'
import { ReadBuffer } from './read-buffer.js'

/** The nats-server protocol level we speak; clients gate features on this semver. */
export const COMPAT_VERSION = '2.9.10'
export const NATSMESH_VERSION = '0.1.0'

/** The shortest pause between two batches of lame-duck closes. */
const MIN_LAME_DUCK_STEP_MS = 50

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** A nats-server-shaped id: 'N' and 55 base32 characters, new at every start. */
export function newServerId(): string {
  const bytes = randomBytes(55)
  let id = 'N'
  for (let i = 0; i < bytes.length; i++) id += BASE32[bytes[i] & 31]
  return id
}

export class ServerStats {
  totalConnections = 0
  slowConsumers = 0
}

export type ServerState = 'new' | 'running' | 'lame-duck' | 'stopping' | 'stopped'

export class Server implements ClientHost, MeshHost {
  readonly id = newServerId()
  readonly version = COMPAT_VERSION
  readonly options: ServerOptions
  readonly logger: Logger
  readonly flusher = new FlushQueue()
  readonly core = new DeliveryCore(this.flusher)
  readonly pool = new ChunkPool()
  readonly readBuffer = new ReadBuffer()
  /** What every endpoint, client or route, shares. */
  readonly endpoints: EndpointContext
  readonly connections = new Map<number, Connection>()
  readonly stats = new ServerStats()
  readonly startTime = new Date()
  state: ServerState = 'new'
  /** Fields a cluster adds to every client's INFO (connect_urls, cluster). */
  private infoExtras: Record<string, unknown> = {}
  /** Bumped whenever the INFO clients are sent changes after they connected (connect_urls, ldm). */
  infoGeneration = 0
  private readonly listener: net.Server
  /** HTTP monitoring; listens only when options.httpPort > 0. */
  private readonly monitor: Monitor
  private nextCid = 1
  private readonly ownsLogger: boolean
  private readonly clientSettings: EndpointSettings

  constructor(options: Partial<ServerOptions> = {}, logger?: Logger) {
    this.options = resolveOptions(options)
    if (this.options.serverName === '') this.options.serverName = this.id
    this.ownsLogger = logger === undefined
    this.logger = logger ?? new LineLogger({
      name: this.options.serverName,
      debug: this.options.debug,
      trace: this.options.trace,
      file: this.options.logFile,
    })
    this.endpoints = { pool: this.pool, flusher: this.flusher, logger: this.logger }
    this.clientSettings = clientEndpointSettings(this.options)
    // Paused: each accepted socket is re-wrapped to read into the shared buffer.
    this.listener = net.createServer({ pauseOnConnect: true }, this.onConnection)
    this.monitor = new Monitor(this, { version: COMPAT_VERSION, natsmeshVersion: NATSMESH_VERSION })
  }

  get name(): string { return this.options.serverName }

  /** The port clients connect to (the real one when options.port was 0). */
  get port(): number {
    const addr = this.listener.address()
    return addr !== null && typeof addr === 'object' ? addr.port : this.options.port
  }

  /** What clients are told to connect to (INFO host/port, connect_urls): client_advertise, else the listener. */
  get clientHost(): string { return this.advertised().host }
  get clientPort(): number { return this.advertised().port }

  /** client_advertise as nats-server's parseHostPort reads it: a missing, 0 or -1 port is the bound one. */
  private advertised(): { host: string; port: number } {
    const advertised = parseAdvertise(this.options.clientAdvertise, this.port)
    return advertised.error === null ? advertised : { host: this.options.host, port: this.port }
  }
  get maxPayload(): number { return this.options.maxPayload }
  get maxPingsOut(): number { return this.options.maxPingsOut }
  get maxPending(): number { return this.options.maxPending }

  get clientUrl(): string {
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host
    return `nats://${host}:${this.port}`
  }

  /** `http://host:port` of the monitoring endpoints, or null when they are off. */
  get monitorUrl(): string | null { return this.monitor.url }

  setCluster(sink: ClusterSink): void {
    this.core.cluster = sink
  }

  /** What POST /drain and /stop on the monitoring port run. */
  setControl(control: (action: 'drain' | 'stop') => void): void {
    this.monitor.control = control
  }

  deliverRouted(pa: PubArg, payload: Buffer, payloadStart: number, subject: string): void {
    this.core.deliverRouted(pa, payload, payloadStart, subject)
  }

  forEachInterest(fn: (subject: string, queue: string | null, weight: number) => void): void {
    this.core.forEachInterest(fn)
  }

  /** What the cluster adds to /varz, /routez and /metrics. */
  setMonitorHooks(hooks: MonitorHooks): void {
    this.monitor.hooks = hooks
  }

  async start(): Promise<void> {
    // Monitoring first, as nats-server does: /healthz answers 503 until clients can connect.
    if (this.options.httpPort > 0) await this.monitor.start()
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(err)
        this.listener.once('error', onError)
        this.listener.listen({ host: this.options.host, port: this.options.port }, () => {
          this.listener.off('error', onError)
          resolve()
        })
      })
    } catch (err) {
      await this.monitor.stop()
      throw err
    }
    this.listener.on('error', (err) => this.logger.error(`client listener: ${err.message}`))
    this.state = 'running'
    this.logger.info(`Listening for client connections on ${this.options.host}:${this.port}`)
    this.logger.info(`Server is ready (id ${this.id})`)
  }

  /** Stops accepting new clients; existing ones stay. */
  stopAccepting(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.listener.listening) return resolve()
      this.listener.close(() => resolve())
    })
  }

  /**
   * Lame duck, as nats-server: no new clients, and every client hears `ldm:
   * true` in a fresh INFO so it can prefer another node. Existing clients stay
   * until closeClientsSpread.
   */
  enterLameDuck(): void {
    if (this.state !== 'running') return
    this.state = 'lame-duck'
    this.logger.info('Entering lame duck mode, stop accepting new clients')
    // Not awaited: net.Server's close callback waits for every open connection.
    void this.stopAccepting()
    this.updateInfo(this.infoExtras)
  }

  /**
   * Closes the remaining clients a batch at a time over durationMs, so they
   * do not all land on one other node at once (nats-server's lame duck
   * duration). Each close flushes what that client is owed.
   */
  async closeClientsSpread(durationMs: number): Promise<void> {
    const conns = [...this.connections.values()]
    if (conns.length === 0) return
    const steps = Math.max(1, Math.min(conns.length, Math.floor(durationMs / MIN_LAME_DUCK_STEP_MS)))
    const batch = Math.ceil(conns.length / steps)
    const interval = durationMs / steps
    this.logger.info(`Closing ${conns.length} existing clients over ${durationMs}ms`)
    for (let i = 0; i < conns.length; i += batch) {
      for (const conn of conns.slice(i, i + batch)) conn.closeConnection('Server Lame Duck')
      if (i + batch < conns.length) await new Promise((resolve) => setTimeout(resolve, interval))
    }
  }

  /** Stop accepting, flush what every client is owed, close them all. */
  async shutdown(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return
    this.state = 'stopping'
    this.logger.info('Initiating Shutdown...')
    const closed = this.stopAccepting()
    const conns = [...this.connections.values()]
    for (const conn of conns) conn.closeConnection('Server Shutdown')
    // Until the kernel has every byte a client is owed (a client that never
    // reads is destroyed after the write deadline, which settles it too).
    await Promise.all([closed, ...conns.map((c) => c.endpoint.written())])
    await this.monitor.stop()
    this.state = 'stopped'
    this.logger.info('Server Exiting..')
    if (this.ownsLogger && this.logger instanceof LineLogger) this.logger.close()
  }

  /** The INFO line for one client: nats-server's fields in nats-server's order. */
  infoFor(cid: number, clientIp: string): Buffer {
    const info: Record<string, unknown> = {
      server_id: this.id,
      server_name: this.options.serverName,
      version: COMPAT_VERSION,
      proto: 1,
      host: this.clientHost,
      port: this.clientPort,
      headers: true,
      max_payload: this.options.maxPayload,
      client_id: cid,
      client_ip: clientIp,
      // nats-server sends a configured cluster name without a cluster too; a mesh's extras replace it.
      ...(this.options.clusterName !== '' ? { cluster: this.options.clusterName } : {}),
      ...this.infoExtras,
    }
    if (this.state === 'lame-duck') info.ldm = true
    return Buffer.from(`INFO ${JSON.stringify(info)} \r\n`)
  }

  /** Sets cluster INFO fields and sends the fresh INFO to every client that takes async INFO. */
  updateInfo(extras: Record<string, unknown>): void {
    this.infoExtras = extras
    this.infoGeneration++
    for (const conn of this.connections.values()) {
      if (conn.opts.protocol >= 1) this.sendInfo(conn)
    }
  }

  /** The current INFO to one client; it has then seen this generation. */
  sendInfo(conn: Connection): void {
    conn.infoGenerationSeen = this.infoGeneration
    conn.sendProto(this.infoFor(conn.cid, conn.remoteAddress))
  }

  private readonly onConnection = (accepted: net.Socket): void => {
    const cid = this.nextCid++
    const io = this.readBuffer.adopt(accepted)
    const socket = io.socket
    const ip = socket.remoteAddress ?? ''
    if (this.state !== 'running') {
      socket.destroy()
      return
    }
    if (this.connections.size >= this.options.maxConnections) {
      // As nats-server: INFO, then the error, then close.
      socket.on('error', () => { /* the peer may already be gone */ })
      socket.end(Buffer.concat([this.infoFor(cid, ip), Buffer.from(`-ERR '${ERR_MAX_CONNECTIONS}'\r\n`)]))
      this.logger.info(`cid:${cid} ${ip} - maximum connections exceeded (${this.options.maxConnections})`)
      return
    }
    this.stats.totalConnections++
    const conn = new Connection(this, cid, io, this.clientSettings, this.infoFor(cid, ip))
    this.connections.set(cid, conn)
    this.logger.debug(`${conn.describe()} - Client connection created`)
  }

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn.cid)
  }

  slowConsumer(): void {
    this.stats.slowConsumers++
  }
}
