// The full mesh: one route to every other member, dialed or accepted, and the
// ClusterSink the server's delivery core talks to. Membership comes from a
// Discovery (ZooKeeper or a static seed list); routes live and die by their
// own PING/PONG, never by the discovery's connection state.
//
// Exactly one route per pair survives: with ZooKeeper the lower server id
// dials; with static seeds both sides dial, and when two routes to one peer
// meet, both sides keep the one dialed by the lower id.
import { randomInt } from 'node:crypto'
import net from 'node:net'
import os from 'node:os'
import { parseAdvertise } from '../config/host-port.js'
import type { Discovery, MemberInfo } from '../discovery/discovery.js'
import type { ClusterResult, ClusterSink, EndpointContext, EndpointSettings, Logger, MeshHost } from '../server/cluster-seam.js'
import type { PubArg } from '../server/op-handler.js'
import { ClusterInterest } from './interest.js'
import { parseHostPort } from './options.js'
import { Route, routeEndpointSettings, type RouteHost } from './route.js'

const DIAL_TIMEOUT_MS = 2000
const REDIAL_MIN_MS = 100
const REDIAL_MAX_MS = 5000
/** nats-server names a cluster it was given no name for with a NUID: 22 characters of base 62. */
const NUID_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const NUID_LENGTH = 22

export function newClusterName(): string {
  let name = ''
  for (let i = 0; i < NUID_LENGTH; i++) name += NUID_DIGITS[randomInt(NUID_DIGITS.length)]
  return name
}

export interface MeshOptions {
  /** '' generates one, as nats-server does for a cluster without a name. */
  clusterName: string
  /** Where routes are accepted: host and port (0 picks one). */
  listenHost: string
  listenPort: number
  /** `host[:port]` peers should dial; '' derives it from the listener. */
  clusterAdvertise: string
  /** Leave connect_urls out of client INFO. */
  noAdvertise: boolean
  pingIntervalMs: number
  /** false turns the per-subject cache of peer interest off (tests compare both). */
  matchCacheEnabled?: boolean
}

/** One peer we dial: a ZooKeeper member (key = its id) or a static seed (key = its URL). */
class Dial {
  readonly key: string
  url: string
  readonly isSeed: boolean
  remoteId = ''
  route: Route | null = null
  timer: NodeJS.Timeout | null = null
  attempt = 0
  isSelf = false

  constructor(key: string, url: string, isSeed: boolean) {
    this.key = key
    this.url = url
    this.isSeed = isSeed
  }
}

export class Mesh implements ClusterSink, RouteHost {
  /** As given, except clusterName: the name in use (generated, or taken from a peer). */
  readonly options: MeshOptions
  /** The name was generated here, so a peer's may replace it (nats-server's "dynamic" cluster name). */
  private isClusterNameDynamic: boolean
  readonly routeSettings: EndpointSettings
  discovery: Discovery | null = null
  readonly logger: Logger
  /** Registered routes by peer server id. */
  readonly routes = new Map<string, Route>()
  /** Every open route, registered or still in its handshake. */
  readonly allRoutes = new Set<Route>()
  isLameDuck = false
  private readonly host: MeshHost
  private readonly listener: net.Server
  private readonly dials = new Map<string, Dial>()
  /** Registered peers' interest, matched per published subject. */
  readonly interest: ClusterInterest
  private nextRid = 1
  private isStopping = false
  private lastInfoKey = ''
  private readonly onMembers = (members: readonly MemberInfo[]): void => this.reconcile(members)

  constructor(host: MeshHost, options: MeshOptions) {
    this.host = host
    this.isClusterNameDynamic = options.clusterName === ''
    this.options = { ...options, clusterName: options.clusterName === '' ? newClusterName() : options.clusterName }
    this.logger = host.logger
    this.interest = new ClusterInterest({ cacheEnabled: options.matchCacheEnabled !== false })
    this.routeSettings = routeEndpointSettings(options.pingIntervalMs, host.maxPingsOut)
    this.listener = net.createServer({ pauseOnConnect: true }, this.onRouteSocket)
  }

  // ---- RouteHost ---------------------------------------------------------------

  get endpoints(): EndpointContext { return this.host.endpoints }
  get clusterName(): string { return this.options.clusterName }
  get maxPending(): number { return this.host.maxPending }

  deliverRouted(pa: PubArg, payload: Buffer, payloadStart: number, subject: string): void {
    this.host.deliverRouted(pa, payload, payloadStart, subject)
  }

  get routePort(): number {
    const addr = this.listener.address()
    return addr !== null && typeof addr === 'object' ? addr.port : this.options.listenPort
  }

  /** Where peers dial us: --cluster_advertise (its port defaults to the bound one, as in nats-server), or the listener. */
  get routeHostPort(): { host: string; port: number } {
    const advertised = parseAdvertise(this.options.clusterAdvertise, this.routePort)
    return advertised.error === null ? advertised : { host: advertiseHost(this.options.listenHost), port: this.routePort }
  }

  /** `nats://host:port` that peers dial. */
  get routeUrl(): string {
    const { host, port } = this.routeHostPort
    return `nats://${hostForUrl(host)}:${port}`
  }

  /** `host:port` clients use, as it goes into connect_urls (the server's client_advertise, if any). */
  get clientHostPort(): string {
    return `${hostForUrl(advertiseHost(this.host.clientHost))}:${this.host.clientPort}`
  }

  // ---- lifecycle -----------------------------------------------------------------

  /** Listens for routes; the caller then starts a discovery (which needs our route URL) and calls follow(). */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.listener.once('error', onError)
      this.listener.listen({ host: this.options.listenHost, port: this.options.listenPort }, () => {
        this.listener.off('error', onError)
        resolve()
      })
    })
    this.listener.on('error', (err) => this.logger.error(`route listener: ${err.message}`))
    this.logger.info(`Cluster name is ${this.options.clusterName}`)
    if (this.isClusterNameDynamic) this.logger.warn('Cluster name was dynamically generated, consider setting one')
    this.logger.info(`Listening for route connections on ${this.options.listenHost}:${this.routePort}`)
    this.publishClientInfo()
  }

  /** Starts reacting to membership: dial who we should, now and on every change. */
  follow(discovery: Discovery): void {
    this.discovery = discovery
    discovery.on('members', this.onMembers)
    this.reconcile(discovery.members())
  }

  /** What this node registers in ZooKeeper. */
  memberInfo(monitorUrl: string | null): MemberInfo {
    return {
      id: this.host.id,
      name: this.host.name,
      version: this.host.version,
      clientUrl: `nats://${this.clientHostPort}`,
      routeUrl: this.routeUrl,
      monitorUrl,
      startTime: this.host.startTime.toISOString(),
    }
  }

  async shutdown(): Promise<void> {
    if (this.isStopping) return
    this.isStopping = true
    this.discovery?.off('members', this.onMembers)
    for (const d of this.dials.values()) if (d.timer !== null) clearTimeout(d.timer)
    this.dials.clear()
    const closed = new Promise<void>((resolve) => (this.listener.listening ? this.listener.close(() => resolve()) : resolve()))
    const routes = [...this.allRoutes]
    for (const route of routes) route.closeRoute('Server Shutdown')
    // What peers are owed reaches the kernel before we go (a stuck route is destroyed after 2 s).
    await Promise.all([closed, ...routes.map((r) => r.endpoint.written())])
  }

  /**
   * Lame duck: peers hear ldm so their clients stop being pointed here, and
   * our own clients get connect_urls without us.
   */
  enterLameDuck(): void {
    this.isLameDuck = true
    const info = this.routeInfoLine()
    for (const route of this.routes.values()) route.sendProto(info)
    this.publishClientInfo()
  }

  // ---- membership and dialing ------------------------------------------------------

  private reconcile(members: readonly MemberInfo[]): void {
    if (this.isStopping) return
    const selfId = this.host.id
    const wanted = new Set<string>()
    for (const m of members) {
      if (m.id === selfId) continue
      if (m.id === '') {
        wanted.add(m.routeUrl)
        this.ensureDial(m.routeUrl, m.routeUrl, true)
      } else {
        wanted.add(m.id)
        // The lower id dials; the other side waits to be dialed. The Dial is kept
        // even while a route is up (ensureDial then does not dial): a member that
        // left and came back with its route alive must still be redialed when
        // that route dies.
        if (selfId < m.id) this.ensureDial(m.id, m.routeUrl, false)
        const d = this.dials.get(m.id)
        if (d !== undefined) d.url = m.routeUrl
      }
    }
    // A member that left is no longer redialed; a live route to it stays until it dies.
    for (const d of [...this.dials.values()]) {
      if (wanted.has(d.key)) continue
      if (d.timer !== null) clearTimeout(d.timer)
      d.timer = null
      this.dials.delete(d.key)
    }
  }

  private ensureDial(key: string, url: string, isSeed: boolean): void {
    let d = this.dials.get(key)
    if (d === undefined) {
      d = new Dial(key, url, isSeed)
      this.dials.set(key, d)
    }
    if (d.route === null && d.timer === null && this.shouldDial(d)) this.dial(d)
  }

  private shouldDial(d: Dial): boolean {
    if (this.isStopping || d.isSelf || this.dials.get(d.key) !== d) return false
    const peerId = d.isSeed ? d.remoteId : d.key
    return peerId === '' || !this.routes.has(peerId)
  }

  private dial(d: Dial): void {
    const target = parseHostPort(d.url)
    if (target === null) {
      this.logger.error(`route ${d.url}: not a host:port URL; not dialing it`)
      return
    }
    const io = this.host.readBuffer.dial(target.host, target.port)
    const socket = io.socket
    socket.setTimeout(DIAL_TIMEOUT_MS)
    const fail = (why: string): void => {
      socket.destroy()
      if (d.attempt === 0) this.logger.info(`Error trying to connect to route ${d.url}: ${why}; will retry`)
      else this.logger.debug(`route ${d.url}: ${why} (attempt ${d.attempt + 1})`)
      this.scheduleRedial(d)
    }
    socket.once('timeout', () => fail('connect timeout'))
    socket.once('error', (err) => fail(err.message))
    socket.once('connect', () => {
      socket.removeAllListeners('timeout')
      socket.removeAllListeners('error')
      socket.setTimeout(0)
      if (this.isStopping) { socket.destroy(); return }
      const hello = Buffer.concat([this.routeConnectLine(), this.routeInfoLine()])
      const route = new Route(this, this.nextRid++, io, d.url, hello)
      d.route = route
      this.allRoutes.add(route)
      this.logger.debug(`${route.describe()} - Route connect to ${d.url}`)
    })
  }

  private scheduleRedial(d: Dial): void {
    if (d.timer !== null || !this.shouldDial(d)) return
    // Exponential backoff with jitter, so a restarted cluster does not redial in lockstep.
    const base = Math.min(REDIAL_MAX_MS, REDIAL_MIN_MS * 2 ** Math.min(d.attempt, 10))
    const delay = Math.round(base * (0.5 + Math.random()))
    d.attempt++
    d.timer = setTimeout(() => {
      d.timer = null
      if (d.route === null && this.shouldDial(d)) this.dial(d)
    }, delay)
    d.timer.unref()
  }

  private readonly onRouteSocket = (accepted: net.Socket): void => {
    if (this.isStopping) { accepted.destroy(); return }
    const route = new Route(this, this.nextRid++, this.host.readBuffer.adopt(accepted), null, this.routeInfoLine())
    this.allRoutes.add(route)
    this.logger.debug(`${route.describe()} - Route connection accepted`)
  }

  // ---- route callbacks -------------------------------------------------------------

  routeRegistered(route: Route): boolean {
    const peerId = route.remoteId
    const selfId = this.host.id
    const dial = route.dialUrl === null ? this.seedFor(route) : this.dialFor(route)
    if (peerId === selfId) {
      if (dial !== undefined) dial.isSelf = true
      this.logger.debug(`${route.describe()} - Detected route to self, ignoring`)
      route.closeRoute('Route to self')
      return false
    }
    if (dial !== undefined) {
      dial.remoteId = peerId
      dial.attempt = 0
      // An accepted route from a seed we were still redialing: stop, or the
      // redial would later replace this route, and drop what is queued on it.
      if (route.dialUrl === null && dial.timer !== null) {
        clearTimeout(dial.timer)
        dial.timer = null
      }
    }
    const existing = this.routes.get(peerId)
    if (existing !== undefined) {
      const preferred = selfId < peerId ? selfId : peerId
      const dialerOf = (r: Route): string => (r.isSolicited ? selfId : peerId)
      if (dialerOf(route) === preferred && dialerOf(existing) !== preferred) {
        existing.closeRoute('Duplicate Route')
      } else {
        this.logger.debug(`${route.describe()} - Duplicate route, keeping rid:${existing.rid}`)
        route.closeRoute('Duplicate Route')
        return false
      }
    }
    this.routes.set(peerId, route)
    this.interest.addPeer(route)
    // The full local interest first: every later delta and message follows it on this connection.
    this.host.forEachInterest((subject, queue, weight) => route.sendInterest(subject, queue, weight))
    this.logger.info(`${route.describe()} - Route connection created (${route.isSolicited ? 'dialed' : 'accepted'}, ${route.peer?.serverId})`)
    this.publishClientInfo()
    return true
  }

  /**
   * A peer's route names another cluster. nats-server's rule: a generated
   * name gives way to a configured one, or to a greater generated one, and
   * the routes made under the old name are closed (their peers redial and
   * meet the new name). false refuses the route.
   */
  adoptClusterName(name: string, isPeerDynamic: boolean, route: Route): boolean {
    if (!this.isClusterNameDynamic || name === '') return false
    if (isPeerDynamic && !(this.options.clusterName < name)) return false
    this.options.clusterName = name
    if (!isPeerDynamic) this.isClusterNameDynamic = false
    this.logger.info(`Cluster name updated to ${name}`)
    for (const other of [...this.allRoutes]) if (other !== route) other.closeRoute('Cluster Name Conflict')
    this.publishClientInfo()
    return true
  }

  routeInfoChanged(route: Route): void {
    if (route.peer?.isLameDuck === true) this.logger.info(`${route.describe()} - peer entered lame duck mode`)
    this.publishClientInfo()
  }

  routeInterestChanged(route: Route, subject: string): void {
    if (route.isRegistered) this.interest.subjectChanged(subject)
  }

  routeClosed(route: Route): void {
    this.allRoutes.delete(route)
    const peerId = route.remoteId
    if (peerId !== '' && this.routes.get(peerId) === route) {
      this.routes.delete(peerId)
      this.interest.removePeer(route)
      this.logger.info(`${route.describe()} - Route connection closed: ${route.closeReason}`)
      this.publishClientInfo()
    } else {
      this.logger.debug(`${route.describe()} - Route connection closed: ${route.closeReason}`)
    }
    if (this.isStopping) return
    for (const d of this.dials.values()) {
      if (d.route === route) d.route = null
      if (d.route === null && d.timer === null) this.scheduleRedial(d)
    }
  }

  private dialFor(route: Route): Dial | undefined {
    for (const d of this.dials.values()) if (d.route === route) return d
    return undefined
  }

  /** The static seed an accepted route's peer listens on, matched by its INFO's host and port. */
  private seedFor(route: Route): Dial | undefined {
    const peer = route.peer
    if (peer === null || peer.routePort === 0) return undefined
    for (const d of this.dials.values()) {
      if (!d.isSeed) continue
      const seed = parseHostPort(d.url)
      if (seed !== null && seed.port === peer.routePort && sameHost(seed.host, peer.routeHost)) return d
    }
    return undefined
  }

  // ---- ClusterSink -------------------------------------------------------------------

  interestChanged(subject: string, queue: string | null, weight: number): void {
    for (const route of this.routes.values()) route.sendInterest(subject, queue, weight)
  }

  match(subject: string): ClusterResult {
    return this.interest.match(subject)
  }

  // ---- INFO ------------------------------------------------------------------------

  /** Every client's INFO: the cluster name and the client URLs of the live, non-draining nodes. */
  private publishClientInfo(): void {
    const urls: string[] = []
    if (!this.isLameDuck) urls.push(this.clientHostPort)
    for (const route of this.routes.values()) {
      const peer = route.peer
      if (peer === null || peer.isLameDuck) continue
      for (const u of peer.connectUrls) if (!urls.includes(u)) urls.push(u)
    }
    const extras: Record<string, unknown> = { cluster: this.options.clusterName }
    if (!this.options.noAdvertise) extras.connect_urls = urls
    const key = JSON.stringify(extras)
    if (key === this.lastInfoKey) return
    this.lastInfoKey = key
    this.host.updateInfo(extras)
  }

  private routeInfoLine(): Buffer {
    const { host, port } = this.routeHostPort
    const info: Record<string, unknown> = {
      server_id: this.host.id,
      server_name: this.host.name,
      version: this.host.version,
      proto: 1,
      host,
      port,
      headers: true,
      max_payload: this.host.maxPayload,
      cluster: this.options.clusterName,
      ...(this.isClusterNameDynamic ? { cluster_dynamic: true } : {}),
      connect_urls: this.isLameDuck ? [] : [this.clientHostPort],
    }
    if (this.isLameDuck) info.ldm = true
    return Buffer.from(`INFO ${JSON.stringify(info)}\r\n`)
  }

  private routeConnectLine(): Buffer {
    const connect = {
      echo: false, verbose: false, pedantic: false, tls_required: false,
      name: this.host.id, cluster: this.options.clusterName, ...(this.isClusterNameDynamic ? { cluster_dynamic: true } : {}), headers: true,
    }
    return Buffer.from(`CONNECT ${JSON.stringify(connect)}\r\n`)
  }
}

/** Whether two host names mean the same machine, as far as a seed list can tell. */
function sameHost(a: string, b: string): boolean {
  if (a === b) return true
  const isLocal = (h: string): boolean => h === 'localhost' || h.startsWith('127.') || h === '::1' ||
    Object.values(os.networkInterfaces()).some((addrs) => (addrs ?? []).some((x) => x.address === h))
  return isLocal(a) && isLocal(b)
}

/** An IPv6 address goes in brackets in `host:port`. */
function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/** A wildcard listen address is not something a peer or client can dial. */
export function advertiseHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return host
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}
