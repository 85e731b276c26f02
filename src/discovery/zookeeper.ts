// Membership through ZooKeeper as a Discovery (DESIGN.md "ZooKeeper"), composed
// of two parts that are tested alone:
// - ZooKeeperSession (zookeeper-session.ts) keeps one session alive: the
//   client, Curator's lost-session rule, the hung-server probe, credentials.
// - MembershipRegistry (zookeeper-registry.ts) keeps our EPHEMERAL znode and
//   the member list in step with that session: paths, ACLs, the sync pass.
// This file adds what Discovery promises on top: options checked once, the
// state and its events, a start() that resolves within the start timeout even
// without ZooKeeper, and a deregister() bounded in time.
import {
  DiscoveryError, SILENT_LOGGER, TypedEmitter, validateSelf,
  type Discovery, type DiscoveryEvents, type DiscoveryLogger, type DiscoveryState, type MemberInfo,
} from './discovery.js'
import { digestId, errorText, isZnodeName, parseConnectString } from './zookeeper-client.js'
import { MembershipRegistry } from './zookeeper-registry.js'
import {
  DEFAULT_SESSION_TIMEOUT_MS, ZooKeeperSession, type SessionState, type ZooKeeperClientFactory,
} from './zookeeper-session.js'

export { DEFAULT_ZOOKEEPER_PORT, digestId, parseConnectString, type ParsedConnectString } from './zookeeper-client.js'
export { ROOT_PATH } from './zookeeper-registry.js'
export { DEFAULT_SESSION_TIMEOUT_MS, type ZooKeeperClientFactory } from './zookeeper-session.js'

/** How long start() waits for the first registration and member list before serving alone. */
export const DEFAULT_START_TIMEOUT_MS = 3_000
const DEREGISTER_TIMEOUT_MS = 2_000
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

export interface ZooKeeperDiscoveryOptions {
  /** `h1:2181,h2:2181/optional/chroot`; a missing chroot is created. */
  connectString: string
  /** One path segment: [A-Za-z0-9_.-], up to 128 characters. */
  cluster: string
  /** What we register; null for a watch-only discovery (the client library). */
  self: MemberInfo | null
  /** Requested session timeout; ZooKeeper clamps it to [2, 20] ticks. Default DEFAULT_SESSION_TIMEOUT_MS. */
  sessionTimeoutMs?: number
  /** `user:password`: digest credentials, and the cluster ACL (see zookeeper-registry.ts). */
  auth?: string | null
  logger?: DiscoveryLogger
  startTimeoutMs?: number
  clientFactory?: ZooKeeperClientFactory
}

function positiveInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DiscoveryError(`${name}: expected an integer in [${min}, ${max}], got ${value}`)
  }
  return value
}

export class ZooKeeperDiscovery extends TypedEmitter<DiscoveryEvents> implements Discovery {
  private readonly hosts: string
  private readonly startTimeoutMs: number
  private readonly logger: DiscoveryLogger
  private readonly logPrefix: string
  private readonly session: ZooKeeperSession
  private readonly registry: MembershipRegistry
  private currentState: DiscoveryState
  private isClosed: boolean
  private startTimer: NodeJS.Timeout | null
  private startPromise: Promise<void> | null
  private settleStart: ((err: DiscoveryError | null) => void) | null
  private closePromise: Promise<void> | null

  /** Throws DiscoveryError on bad options (validated once, here). */
  constructor(options: ZooKeeperDiscoveryOptions) {
    super()
    const { hosts, chroot } = parseConnectString(options.connectString)
    if (!CLUSTER_NAME.test(options.cluster)) throw new DiscoveryError(`cluster: bad name '${options.cluster}'`)
    const self = options.self === null ? null : validateSelf(options.self)
    if (self !== null && !isZnodeName(self.id)) throw new DiscoveryError(`self.id: not a znode name: '${self.id}'`)
    const sessionTimeoutMs = positiveInteger('sessionTimeoutMs', options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS, 1_000, 86_400_000)
    this.startTimeoutMs = positiveInteger('startTimeoutMs', options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, 0, 86_400_000)
    const auth = options.auth ?? null
    const colon = auth === null ? -1 : auth.indexOf(':')
    if (auth !== null && (colon < 1 || colon === auth.length - 1)) throw new DiscoveryError("auth: expected 'user:password'")

    this.hosts = hosts
    this.logger = options.logger ?? SILENT_LOGGER
    this.logPrefix = `zookeeper discovery [${options.cluster}]: `
    this.currentState = 'disconnected'
    this.isClosed = false
    this.startTimer = null
    this.startPromise = null
    this.settleStart = null
    this.closePromise = null
    this.session = new ZooKeeperSession({
      hosts,
      sessionTimeoutMs,
      credentials: auth === null ? null : Buffer.from(auth),
      clientFactory: options.clientFactory,
      logger: this.logger,
      logPrefix: this.logPrefix,
    })
    // Subscribed before the registry: a 'connected' is logged before the pass it starts.
    this.session.on('state', (state, detail) => this.onSessionState(state, detail))
    this.registry = new MembershipRegistry({
      session: this.session,
      chroot,
      cluster: options.cluster,
      self,
      digestIdentity: auth === null ? null : digestId(auth.slice(0, colon), auth.slice(colon + 1)),
      logger: this.logger,
      logPrefix: this.logPrefix,
    })
    this.registry.on('members', (members) => this.emit('members', members))
    this.registry.on('synced', () => this.settleStart?.(null))
    this.registry.on('refused', (error) => this.onRefused(error))
  }

  get state(): DiscoveryState {
    return this.currentState
  }

  members(): readonly MemberInfo[] {
    return this.registry.members()
  }

  protected listenerFailed(err: unknown, event: keyof DiscoveryEvents): void {
    this.logger.warn(`${this.logPrefix}a '${String(event)}' listener threw: ${errorText(err)}`)
  }

  start(): Promise<void> {
    if (this.isClosed) return Promise.reject(new DiscoveryError('start() after close()'))
    if (this.startPromise !== null) return this.startPromise
    this.startPromise = new Promise<void>((resolve, reject) => {
      this.settleStart = (err) => {
        this.settleStart = null
        if (this.startTimer !== null) clearTimeout(this.startTimer)
        this.startTimer = null
        if (err === null) resolve()
        else reject(err)
      }
    })
    this.startTimer = setTimeout(() => {
      this.startTimer = null
      this.logger.warn(`${this.logPrefix}no ZooKeeper session with ${this.hosts} after ${this.startTimeoutMs} ms: ` +
        'serving with the members known so far, retrying in the background')
      this.settleStart?.(null)
    }, this.startTimeoutMs)
    this.registry.start()
    this.session.start()
    return this.startPromise
  }

  deregister(): Promise<void> {
    return withTimeout(this.registry.deregister(), DEREGISTER_TIMEOUT_MS)
  }

  close(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise
    this.isClosed = true
    this.settleStart?.(null)
    this.registry.close()
    // The session's 'closed' event sets our state.
    this.closePromise = this.session.close()
    return this.closePromise
  }

  /** Logs each session transition and maps it onto our state. */
  private onSessionState(state: SessionState, detail: string): void {
    switch (state) {
      case 'connected':
        this.setState('connected', detail)
        this.logger.info(`${this.logPrefix}connected to ZooKeeper: ${detail}`)
        return
      case 'disconnected':
        this.setState('disconnected', detail)
        this.logger.warn(`${this.logPrefix}${detail}; keeping the last known ${this.registry.members().length} members`)
        return
      case 'expired':
        this.setState('expired', detail)
        this.logger.warn(`${this.logPrefix}${detail}: starting a new session, registering again`)
        return
      case 'auth-failed':
        this.logger.warn(`${this.logPrefix}${detail}`)
        // A configuration problem seen at first contact: start() says so and we stop.
        if (this.settleStart !== null) {
          this.settleStart(new DiscoveryError(detail))
          void this.close()
          return
        }
        this.setState('expired', detail)
        return
      case 'closed':
        this.setState('closed', detail)
    }
  }

  /** NO_AUTH at first contact fails start() and stops us; later, the registry retries with backoff. */
  private onRefused(error: DiscoveryError): void {
    if (this.settleStart === null) return
    this.logger.warn(`${this.logPrefix}${error.message}`)
    this.settleStart(error)
    void this.close()
  }

  private setState(state: DiscoveryState, detail: string): void {
    if (this.currentState === state) return
    this.currentState = state
    this.emit('state', state, detail)
  }
}

/** Settles like promise, or resolves after ms if that comes first. */
function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    promise.then(() => { clearTimeout(timer); resolve() }, (err: unknown) => { clearTimeout(timer); reject(err) })
  })
}
