// A fixed seed list of route URLs, as nats-server's `--routes`: no ZooKeeper,
// nothing to watch, membership never changes except for our own deregister().
//
// A seed is known by its route URL only. Until the route handshake's INFO tells
// its server id, a seed is a MemberInfo with:
//   id: ''  (UNKNOWN_MEMBER_ID)   routeUrl: the URL as configured (normalized)
//   name, version, clientUrl, startTime: ''   monitorUrl: null
// So the mesh must not apply "the lower id dials" to seeds: it dials every seed
// and resolves duplicates, and a route to itself, by the id learned in the
// handshake, as nats-server does with its configured routes. A seed whose URL
// equals self.routeUrl exactly is left out; any other spelling of our own
// address is caught by that same handshake check.
import {
  DiscoveryError, SILENT_LOGGER, TypedEmitter, freezeMembers, sameMembers, validateSelf,
  type Discovery, type DiscoveryEvents, type DiscoveryLogger, type DiscoveryState, type MemberInfo,
} from './discovery.js'

/** The id of a seed whose server id is not known yet. */
export const UNKNOWN_MEMBER_ID = ''

const ROUTE_PROTOCOLS = new Set(['nats:', 'nats-route:', 'tls:'])

export interface StaticDiscoveryOptions {
  /** `nats://h1:6222,nats://h2:6222` or an array of URLs; each needs an explicit port. */
  routes: string | readonly string[]
  /** What this node is; null for a watch-only discovery. */
  self: MemberInfo | null
  logger?: DiscoveryLogger
}

/** True for a seed known by URL only (see the file comment). */
export function isSeed(member: MemberInfo): boolean {
  return member.id === UNKNOWN_MEMBER_ID
}

/** Splits, checks and normalizes route URLs, dropping duplicates; throws DiscoveryError. */
export function parseRouteUrls(routes: string | readonly string[]): string[] {
  const list = typeof routes === 'string' ? routes.split(',') : routes
  const urls: string[] = []
  for (const raw of list) {
    const text = raw.trim()
    if (text === '') continue
    let url: URL
    try {
      url = new URL(text)
    } catch (err) {
      throw new DiscoveryError(`routes: not a URL: '${text}'`, { cause: err })
    }
    if (!ROUTE_PROTOCOLS.has(url.protocol)) throw new DiscoveryError(`routes: '${text}' must use nats://, nats-route:// or tls://`)
    if (url.hostname === '' || url.port === '') throw new DiscoveryError(`routes: '${text}' needs a host and a port`)
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
      throw new DiscoveryError(`routes: '${text}' has a path, query or fragment`)
    }
    // Route credentials (nats://user:pass@host:port) are part of the seed, as in nats-server.
    const credentials = url.username === '' ? '' : `${url.username}${url.password === '' ? '' : `:${url.password}`}@`
    const normalized = `${url.protocol}//${credentials}${url.host}`
    if (!urls.includes(normalized)) urls.push(normalized)
  }
  return urls
}

function seed(routeUrl: string): MemberInfo {
  return { id: UNKNOWN_MEMBER_ID, name: '', version: '', clientUrl: '', routeUrl, monitorUrl: null, startTime: '' }
}

export class StaticDiscovery extends TypedEmitter<DiscoveryEvents> implements Discovery {
  private readonly self: MemberInfo | null
  private readonly seeds: readonly MemberInfo[]
  private readonly logger: DiscoveryLogger
  private currentState: DiscoveryState = 'static'
  private current: readonly MemberInfo[] = freezeMembers([])
  private isStarted = false
  private isRegistered: boolean

  /** Throws DiscoveryError on a bad route URL or self. */
  constructor(options: StaticDiscoveryOptions) {
    super()
    this.self = options.self === null ? null : validateSelf(options.self)
    const selfRoute = this.self === null ? null : this.self.routeUrl
    this.seeds = parseRouteUrls(options.routes).filter((url) => url !== selfRoute).map(seed)
    this.logger = options.logger ?? SILENT_LOGGER
    this.isRegistered = this.self !== null
  }

  get state(): DiscoveryState {
    return this.currentState
  }

  members(): readonly MemberInfo[] {
    return this.current
  }

  protected listenerFailed(err: unknown, event: keyof DiscoveryEvents): void {
    this.logger.warn(`static discovery: a '${String(event)}' listener threw: ${err instanceof Error ? err.message : String(err)}`)
  }

  start(): Promise<void> {
    if (this.currentState === 'closed') return Promise.reject(new DiscoveryError('start() after close()'))
    if (!this.isStarted) {
      this.isStarted = true
      this.logger.info(`static discovery: ${this.seeds.length} seed routes`)
      this.updateMembers()
    }
    return Promise.resolve()
  }

  deregister(): Promise<void> {
    if (this.isRegistered) {
      this.isRegistered = false
      this.logger.info('static discovery: leaving membership')
      this.updateMembers()
    }
    return Promise.resolve()
  }

  close(): Promise<void> {
    if (this.currentState === 'closed') return Promise.resolve()
    this.current = freezeMembers([])
    this.currentState = 'closed'
    this.emit('state', 'closed', 'closed by the caller')
    return Promise.resolve()
  }

  private updateMembers(): void {
    if (!this.isStarted || this.currentState === 'closed') return
    const next = freezeMembers(this.isRegistered && this.self !== null ? [this.self, ...this.seeds] : this.seeds)
    if (sameMembers(next, this.current)) return
    this.current = next
    this.emit('members', next)
  }
}
