// One ZooKeeper session, kept alive for its user (DESIGN.md "ZooKeeper"): the
// node-zookeeper-client Client, the digest credentials it sends, a new client
// whenever the session is lost, and the probe that notices a hung server. It
// knows nothing about members: zookeeper-registry.ts builds membership on the
// session it offers (through SessionHandle), zookeeper.ts composes the two.
//
// node-zookeeper-client quirks this file works around:
// - It learns of an expired session only when it reconnects; cut off, it just
//   retries forever. So a lack of session for longer than the negotiated
//   timeout counts as lost (Curator's rule): we drop the client and start a new
//   session.
// - It has no read timeout: a hung server (SIGSTOP, dead link) looks connected
//   forever. A probe (`exists /`) every third of the session timeout notices.
// - Its close() quirks are handled in zookeeper-client.ts.
import { State, createClient, type Client, type Option } from 'node-zookeeper-client'
import { SILENT_LOGGER, TypedEmitter, type DiscoveryLogger } from './discovery.js'
import { closeClient, errorText, zkExists } from './zookeeper-client.js'

/**
 * 10 s: a killed node's znode (and so its place in every client's pool) is gone
 * within ~10 s, while a ZooKeeper leader election (a few seconds) or a GC pause
 * does not expire anyone. It is inside the range a default server accepts
 * (2–20 ticks of 2 s). Routes do not wait for it: they die by PING/PONG.
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000
/** node-zookeeper-client's pause (random 0–N ms) after it tried every host once. */
const RECONNECT_SPIN_DELAY_MS = 1_000

/** Injected so tests can reach the session's credentials; the default is the library's. */
export type ZooKeeperClientFactory = (connectString: string, options: Partial<Option>) => Client

/**
 * - 'connected': a live session; emitted again after every reconnect inside it
 *   and when a hung server answers again.
 * - 'disconnected': no answer; the session may still be alive on the server.
 * - 'expired': the session is gone (ZooKeeper said so, or no session for longer
 *   than its timeout); a new client follows at once.
 * - 'auth-failed': ZooKeeper refused our credentials; a new client follows
 *   after one session timeout, unless the user closes the session.
 * - 'closed': close() was called.
 */
export type SessionState = 'connected' | 'disconnected' | 'expired' | 'auth-failed' | 'closed'

/** Event name → listener arguments. */
export interface SessionEvents {
  /** Every transition; detail is a human sentence for logs. */
  state: [state: SessionState, detail: string]
  /** A new client replaced the last one: work begun on an older client is void. */
  client: [generation: number]
}

/** The session as its user sees it: MembershipRegistry takes this, so a test can hand it a fake. */
export interface SessionHandle {
  readonly state: SessionState
  /** The current client; null before start() and after close(). */
  readonly client: Client | null
  /** Bumped for every new client and at close: results from an older generation are stale. */
  readonly generation: number
  on<E extends keyof SessionEvents>(event: E, listener: (...args: SessionEvents[E]) => void): this
  off<E extends keyof SessionEvents>(event: E, listener: (...args: SessionEvents[E]) => void): this
}

/** Validated by the caller (ZooKeeperDiscovery checks its options once). */
export interface ZooKeeperSessionOptions {
  /** `host:port,…` without a chroot (parseConnectString's hosts). */
  hosts: string
  /** Requested; ZooKeeper clamps it to [2, 20] ticks. */
  sessionTimeoutMs: number
  /** `user:password` for the digest scheme, sent on every connection; null for none. */
  credentials: Buffer | null
  clientFactory?: ZooKeeperClientFactory
  logger?: DiscoveryLogger
  /** Starts every log line, so the owner's lines and ours read alike. */
  logPrefix?: string
}

export class ZooKeeperSession extends TypedEmitter<SessionEvents> implements SessionHandle {
  private readonly hosts: string
  private readonly requestedTimeoutMs: number
  private readonly credentials: Buffer | null
  private readonly clientFactory: ZooKeeperClientFactory
  private readonly logger: DiscoveryLogger
  private readonly logPrefix: string
  private currentState: SessionState
  private currentClient: Client | null
  private currentGeneration: number
  /** The current client has had a session (so there is one to lose). */
  private hasSession: boolean
  /** Connected at the socket level, but ZooKeeper stopped answering our probe. */
  private isHung: boolean
  private isClosed: boolean
  private noSessionTimer: NodeJS.Timeout | null
  private probeTimer: NodeJS.Timeout | null
  private probeSentAt: number
  private lastHeardAt: number
  private closePromise: Promise<void> | null

  constructor(options: ZooKeeperSessionOptions) {
    super()
    this.hosts = options.hosts
    this.requestedTimeoutMs = options.sessionTimeoutMs
    this.credentials = options.credentials
    this.clientFactory = options.clientFactory ?? createClient
    this.logger = options.logger ?? SILENT_LOGGER
    this.logPrefix = options.logPrefix ?? 'zookeeper session: '
    this.currentState = 'disconnected'
    this.currentClient = null
    this.currentGeneration = 0
    this.hasSession = false
    this.isHung = false
    this.isClosed = false
    this.noSessionTimer = null
    this.probeTimer = null
    this.probeSentAt = 0
    this.lastHeardAt = 0
    this.closePromise = null
  }

  get state(): SessionState {
    return this.currentState
  }

  get client(): Client | null {
    return this.currentClient
  }

  get generation(): number {
    return this.currentGeneration
  }

  /** The current session's id in hex ('0' without one), for logs. */
  get sessionId(): string {
    return this.currentClient === null ? '0' : this.currentClient.getSessionId().toString('hex')
  }

  /** What ZooKeeper granted; the requested timeout until it answered. */
  negotiatedTimeoutMs(): number {
    return this.currentClient === null ? this.requestedTimeoutMs : this.currentClient.getSessionTimeout()
  }

  /** Connects the first client; later calls, and calls after close(), do nothing. */
  protected listenerFailed(err: unknown, event: keyof SessionEvents): void {
    this.logger.warn(`${this.logPrefix}a session '${String(event)}' listener threw: ${errorText(err)}`)
  }

  start(): void {
    if (this.isClosed || this.currentClient !== null) return
    this.connectClient()
  }

  /** Ends the session (a live one at once, so its ephemeral znodes go with it). Idempotent. */
  close(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise
    this.isClosed = true
    this.clearNoSessionTimer()
    this.stopProbe()
    const client = this.currentClient
    const wasLive = this.currentState === 'connected'
    this.currentClient = null
    this.currentGeneration++
    this.closePromise = client === null ? Promise.resolve() : closeClient(client, wasLive)
    this.setState('closed', 'closed by the caller')
    return this.closePromise
  }

  private connectClient(): void {
    const generation = ++this.currentGeneration
    const client = this.clientFactory(this.hosts, { sessionTimeout: this.requestedTimeoutMs, spinDelay: RECONNECT_SPIN_DELAY_MS })
    this.currentClient = client
    this.hasSession = false
    this.isHung = false
    // Kept by the library and sent again after every reconnect.
    if (this.credentials !== null) client.addAuthInfo('digest', this.credentials)
    client.on('state', (state: State) => {
      if (generation === this.currentGeneration) this.onClientState(state)
    })
    this.armNoSessionTimer(this.requestedTimeoutMs)
    client.connect()
    this.emit('client', generation)
  }

  private onClientState(state: State): void {
    if (state === State.SYNC_CONNECTED) {
      this.onConnected(`session 0x${this.sessionId} (timeout ${this.negotiatedTimeoutMs()} ms)`)
    } else if (state === State.DISCONNECTED) {
      this.onConnectionLost('lost the ZooKeeper connection', this.negotiatedTimeoutMs())
    } else if (state === State.EXPIRED) {
      this.onSessionLost(`ZooKeeper expired session 0x${this.sessionId}`)
    } else if (state === State.AUTH_FAILED) {
      this.onAuthFailed('ZooKeeper refused our credentials (AUTH_FAILED)')
    }
  }

  /** A configuration problem: the user may close us; otherwise retry slowly (no tight loop). */
  private onAuthFailed(detail: string): void {
    this.hasSession = false
    this.setState('auth-failed', detail)
    if (this.isClosed) return
    this.armNoSessionTimer(this.requestedTimeoutMs)
  }

  private onConnected(detail: string): void {
    this.clearNoSessionTimer()
    this.hasSession = true
    this.isHung = false
    this.lastHeardAt = Date.now()
    this.startProbe()
    this.setState('connected', detail)
  }

  /** No answer: the session counts as lost once it cannot be alive any more. */
  private onConnectionLost(detail: string, lostInMs: number): void {
    if (!this.hasSession || this.currentState !== 'connected') return
    this.armNoSessionTimer(lostInMs)
    this.setState('disconnected', detail)
  }

  /** Expired, or no session for longer than its timeout: start over with a new session. */
  private onSessionLost(detail: string): void {
    this.setState('expired', detail)
    // A listener may have closed us; a new client then would outlive close().
    if (this.isClosed) return
    this.replaceClient()
  }

  private armNoSessionTimer(delayMs: number): void {
    this.clearNoSessionTimer()
    this.noSessionTimer = setTimeout(() => {
      this.noSessionTimer = null
      if (this.hasSession) {
        this.onSessionLost(`no ZooKeeper session for longer than the session timeout (${this.negotiatedTimeoutMs()} ms); ` +
          `session 0x${this.sessionId} counts as lost`)
      } else {
        // Never got a session: maybe stuck on a host that accepts TCP but never
        // answers. A fresh client reshuffles the hosts. Not an event: debug only.
        this.logger.debug(`${this.logPrefix}no session after ${this.requestedTimeoutMs} ms: trying with a new client`)
        this.replaceClient()
      }
    }, Math.max(0, delayMs))
    this.noSessionTimer.unref()
  }

  private clearNoSessionTimer(): void {
    if (this.noSessionTimer !== null) clearTimeout(this.noSessionTimer)
    this.noSessionTimer = null
  }

  private replaceClient(): void {
    const old = this.currentClient
    this.stopProbe()
    // An expired client has closed itself; any other would retry forever.
    if (old !== null && old.getState() !== State.EXPIRED) void closeClient(old, false)
    this.connectClient()
  }

  private startProbe(): void {
    this.stopProbe()
    this.probeSentAt = 0
    this.probeTimer = setInterval(() => this.probe(), Math.max(100, Math.floor(this.negotiatedTimeoutMs() / 3)))
    this.probeTimer.unref()
  }

  private stopProbe(): void {
    if (this.probeTimer !== null) clearInterval(this.probeTimer)
    this.probeTimer = null
  }

  /** The read timeout node-zookeeper-client lacks: two thirds of the session timeout, as the Java client. */
  private probe(): void {
    const client = this.currentClient
    if (client === null || client.getState() !== State.SYNC_CONNECTED) return
    const now = Date.now()
    if (this.probeSentAt !== 0) {
      const silentMs = now - this.lastHeardAt
      if (!this.isHung && silentMs >= (this.negotiatedTimeoutMs() * 2) / 3) {
        this.isHung = true
        this.onConnectionLost(`ZooKeeper stopped answering (${silentMs} ms)`, this.negotiatedTimeoutMs() - silentMs)
      }
      return
    }
    const generation = this.currentGeneration
    this.probeSentAt = now
    zkExists(client, '/', null).then(() => {
      if (generation !== this.currentGeneration) return
      // The server was alive when it got the probe, so silence counts from the
      // send: stamping the reply would put every check one round trip short.
      this.lastHeardAt = this.probeSentAt
      this.probeSentAt = 0
      if (this.isHung) this.onConnected('ZooKeeper answers again')
    }, () => {
      // Connection loss: the state event tells the story.
      if (generation === this.currentGeneration) this.probeSentAt = 0
    })
  }

  private setState(state: SessionState, detail: string): void {
    this.currentState = state
    this.emit('state', state, detail)
  }
}
