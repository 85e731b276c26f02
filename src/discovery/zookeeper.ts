// Membership through ZooKeeper (DESIGN.md "ZooKeeper"): each node is an
// EPHEMERAL znode /natsmesh/clusters/<cluster>/nodes/<server_id> whose data is
// the stable JSON of its MemberInfo; everyone watches the children of nodes/.
//
//   <chroot>                        persistent, open ACL   (shared namespace, not ours)
//   └ /natsmesh/clusters            persistent, open ACL   (shared by every cluster)
//     └ /<cluster>                  persistent, cluster ACL
//       └ /nodes                    persistent, cluster ACL
//         └ /<server_id>            EPHEMERAL,  cluster ACL, data = MemberInfo JSON
//
// Cluster ACL with `auth: 'user:password'`: digest user ALL + world READ. Only
// that identity can create or delete members; anyone may read, because the
// client library discovers nodes without credentials. Without auth: open ACL.
//
// Everything happens in one serialized "sync" pass (reconcile our own znode,
// then re-read the children with a fresh watch), requested by every session
// event and every watch event. Watches are one-shot; each read re-arms them,
// so a change between two reads always triggers another pass.
//
// node-zookeeper-client quirks this file works around:
// - It never creates the chroot of a connect string; we strip the chroot and
//   prefix our paths ourselves, so one client creates it like any other parent.
// - It learns of an expired session only when it reconnects; cut off, it just
//   retries forever. So a lack of session for longer than the negotiated
//   timeout counts as lost (Curator's rule): we drop the client and start a new
//   session that registers again.
// - It has no read timeout: a hung server (SIGSTOP, dead link) looks connected
//   forever. A probe (`exists /`) every third of the session timeout notices.
// - Its close() and ACL quirks are handled in zookeeper-client.ts.
import stringify from 'fast-json-stable-stringify'
import {
  ACL, CreateMode, Event, Exception, Id, Permission, State, createClient, type Client, type Option,
} from 'node-zookeeper-client'
import {
  DiscoveryError, SILENT_LOGGER, TypedEmitter, freezeMembers, parseMemberInfo, pickMember, sameMembers,
  validateSelf,
  type Discovery, type DiscoveryEvents, type DiscoveryLogger, type DiscoveryState, type MemberInfo,
} from './discovery.js'
import {
  aclPermissions, closeClient, codeOf, digestId, errorText, ignoreCodes, isZnodeName, parseConnectString,
  zkCreate, zkExists, zkGetACL, zkGetChildren, zkGetData, zkRemove,
} from './zookeeper-client.js'

export { DEFAULT_ZOOKEEPER_PORT, digestId, parseConnectString, type ParsedConnectString } from './zookeeper-client.js'

/**
 * 10 s: a killed node's znode (and so its place in every client's pool) is gone
 * within ~10 s, while a ZooKeeper leader election (a few seconds) or a GC pause
 * does not expire anyone. It is inside the range a default server accepts
 * (2–20 ticks of 2 s). Routes do not wait for it: they die by PING/PONG.
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000
/** How long start() waits for the first registration and member list before serving alone. */
export const DEFAULT_START_TIMEOUT_MS = 3_000
export const ROOT_PATH = '/natsmesh'
/** node-zookeeper-client's pause (random 0–N ms) after it tried every host once. */
const RECONNECT_SPIN_DELAY_MS = 1_000
const DEREGISTER_TIMEOUT_MS = 2_000
const RETRY_MIN_MS = 500
const RETRY_MAX_MS = 30_000
/** create → NODE_EXISTS → remove a stale znode → create again, at most this often per pass. */
const REGISTER_ATTEMPTS = 6
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

/** Injected so tests can reach the session's credentials; the default is the library's. */
export type ZooKeeperClientFactory = (connectString: string, options: Partial<Option>) => Client

export interface ZooKeeperDiscoveryOptions {
  /** `h1:2181,h2:2181/optional/chroot`; a missing chroot is created. */
  connectString: string
  /** One path segment: [A-Za-z0-9_.-], up to 128 characters. */
  cluster: string
  /** What we register; null for a watch-only discovery (the client library). */
  self: MemberInfo | null
  /** Requested session timeout; ZooKeeper clamps it to [2, 20] ticks. Default DEFAULT_SESSION_TIMEOUT_MS. */
  sessionTimeoutMs?: number
  /** `user:password`: digest credentials, and the cluster ACL described above. */
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

export class ZooKeeperDiscovery implements Discovery {
  private readonly hosts: string
  private readonly cluster: string
  private readonly self: MemberInfo | null
  private readonly selfData: Buffer | null
  private readonly sessionTimeoutMs: number
  private readonly startTimeoutMs: number
  private readonly credentials: Buffer | null
  private readonly digestIdentity: string | null
  private readonly logger: DiscoveryLogger
  private readonly clientFactory: ZooKeeperClientFactory
  /** Path prefixes we may create, each with its ACL, outermost first. */
  private readonly parents: ReadonlyArray<{ path: string; acl: ACL[] }>
  private readonly clusterAcl: ACL[]
  private readonly nodesPath: string
  private readonly selfPath: string | null
  private readonly emitter: TypedEmitter<DiscoveryEvents>
  // Watchers keep one identity each: the library skips a watcher it already holds.
  private readonly childWatcher: (event: Event) => void
  private readonly selfWatcher: (event: Event) => void
  private readonly nodesCreatedWatcher: (event: Event) => void

  private currentState: DiscoveryState = 'disconnected'
  private client: Client | null = null
  /** Bumped for every new client and at close: callbacks of an older one are ignored. */
  private generation = 0
  /** The current client has had a session (so there is one to lose). */
  private hasSession = false
  /** Connected at the socket level, but ZooKeeper stopped answering our probe. */
  private isHung = false
  private isRegistered: boolean
  private isClosed = false
  private hasCheckedAcl = false
  /** The last member list read from ZooKeeper; survives disconnections on purpose. */
  private listing: readonly MemberInfo[] = []
  private current: readonly MemberInfo[] = freezeMembers([])
  /** Children whose data is not a member record, each warned about once. */
  private readonly badChildren = new Set<string>()
  private isSyncing = false
  private isSyncPending = false
  private syncGeneration = 0
  private syncPass = 0
  private syncWaiters: Array<{ pass: number; resolve: () => void }> = []
  private noSessionTimer: NodeJS.Timeout | null = null
  private probeTimer: NodeJS.Timeout | null = null
  private retryTimer: NodeJS.Timeout | null = null
  private startTimer: NodeJS.Timeout | null = null
  private retryDelayMs = RETRY_MIN_MS
  private probeSentAt = 0
  private lastHeardAt = 0
  private lastWarning = ''
  private startPromise: Promise<void> | null = null
  private settleStart: ((err: DiscoveryError | null) => void) | null = null
  private closePromise: Promise<void> | null = null

  /** Throws DiscoveryError on bad options (validated once, here). */
  constructor(options: ZooKeeperDiscoveryOptions) {
    const { hosts, chroot } = parseConnectString(options.connectString)
    if (!CLUSTER_NAME.test(options.cluster)) throw new DiscoveryError(`cluster: bad name '${options.cluster}'`)
    this.hosts = hosts
    this.cluster = options.cluster
    this.self = options.self === null ? null : validateSelf(options.self)
    if (this.self !== null && !isZnodeName(this.self.id)) throw new DiscoveryError(`self.id: not a znode name: '${this.self.id}'`)
    this.selfData = this.self === null ? null : Buffer.from(stringify(pickMember(this.self)))
    this.sessionTimeoutMs = positiveInteger('sessionTimeoutMs', options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS, 1_000, 86_400_000)
    this.startTimeoutMs = positiveInteger('startTimeoutMs', options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, 0, 86_400_000)
    const auth = options.auth ?? null
    const colon = auth === null ? -1 : auth.indexOf(':')
    if (auth !== null && (colon < 1 || colon === auth.length - 1)) throw new DiscoveryError("auth: expected 'user:password'")
    this.credentials = auth === null ? null : Buffer.from(auth)
    this.digestIdentity = auth === null ? null : digestId(auth.slice(0, colon), auth.slice(colon + 1))
    this.logger = options.logger ?? SILENT_LOGGER
    this.clientFactory = options.clientFactory ?? createClient

    const openAcl = [new ACL(Permission.ALL, new Id('world', 'anyone'))]
    this.clusterAcl = this.digestIdentity === null
      ? openAcl
      : [new ACL(Permission.ALL, new Id('digest', this.digestIdentity)), new ACL(Permission.READ, new Id('world', 'anyone'))]
    const clusterPath = `${chroot}${ROOT_PATH}/clusters/${this.cluster}`
    this.nodesPath = `${clusterPath}/nodes`
    this.selfPath = this.self === null ? null : `${this.nodesPath}/${this.self.id}`
    const parents: Array<{ path: string; acl: ACL[] }> = []
    let prefix = ''
    for (const segment of `${chroot}${ROOT_PATH}/clusters`.slice(1).split('/')) {
      prefix += `/${segment}`
      parents.push({ path: prefix, acl: openAcl })
    }
    parents.push({ path: clusterPath, acl: this.clusterAcl }, { path: this.nodesPath, acl: this.clusterAcl })
    this.parents = parents

    this.isRegistered = this.self !== null
    this.emitter = new TypedEmitter<DiscoveryEvents>((err, event) => {
      this.logger.warn(`${this.prefix()}a '${String(event)}' listener threw: ${errorText(err)}`)
    })
    this.childWatcher = (event) => {
      this.logger.debug(`${this.prefix()}watch: ${event.getName()} ${event.getPath()}`)
      void this.requestSync()
    }
    this.selfWatcher = (event) => {
      if (event.getType() === Event.NODE_DELETED && this.isRegistered) {
        this.logger.warn(`${this.prefix()}our znode ${event.getPath()} was deleted: registering again`)
      }
      void this.requestSync()
    }
    this.nodesCreatedWatcher = () => { void this.requestSync() }
  }

  get state(): DiscoveryState {
    return this.currentState
  }

  members(): readonly MemberInfo[] {
    return this.current
  }

  on<E extends keyof DiscoveryEvents>(event: E, listener: (...args: DiscoveryEvents[E]) => void): this {
    this.emitter.on(event, listener)
    return this
  }

  off<E extends keyof DiscoveryEvents>(event: E, listener: (...args: DiscoveryEvents[E]) => void): this {
    this.emitter.off(event, listener)
    return this
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
      this.logger.warn(`${this.prefix()}no ZooKeeper session with ${this.hosts} after ${this.startTimeoutMs} ms: ` +
        'serving with the members known so far, retrying in the background')
      this.settleStart?.(null)
    }, this.startTimeoutMs)
    this.updateMembers()
    this.connectClient()
    return this.startPromise
  }

  async deregister(): Promise<void> {
    if (!this.isRegistered) return
    this.isRegistered = false
    this.logger.info(`${this.prefix()}leaving membership`)
    this.updateMembers()
    if (this.currentState !== 'connected') {
      this.logger.info(`${this.prefix()}not connected: our znode goes with the session, or is removed on reconnect`)
      return
    }
    // The removal runs in the sync pass, ordered after any create in flight.
    await withTimeout(this.requestSync(), DEREGISTER_TIMEOUT_MS)
  }

  close(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise
    this.isClosed = true
    this.settleStart?.(null)
    this.clearTimer('noSessionTimer')
    this.clearTimer('retryTimer')
    this.stopProbe()
    const client = this.client
    const wasLive = this.currentState === 'connected'
    this.client = null
    this.generation++
    this.resolveSyncWaiters(Infinity)
    this.current = freezeMembers([])
    this.setState('closed', 'closed by the caller')
    this.closePromise = client === null ? Promise.resolve() : closeClient(client, wasLive)
    return this.closePromise
  }

  // ---- session lifecycle ----

  private connectClient(): void {
    const generation = ++this.generation
    const client = this.clientFactory(this.hosts, { sessionTimeout: this.sessionTimeoutMs, spinDelay: RECONNECT_SPIN_DELAY_MS })
    this.client = client
    this.hasSession = false
    this.isHung = false
    // Kept by the library and sent again after every reconnect.
    if (this.credentials !== null) client.addAuthInfo('digest', this.credentials)
    client.on('state', (state: State) => {
      if (generation === this.generation) this.onClientState(state)
    })
    this.armNoSessionTimer(this.sessionTimeoutMs)
    client.connect()
  }

  private onClientState(state: State): void {
    if (state === State.SYNC_CONNECTED) {
      this.onConnected(`session 0x${this.sessionId()} (timeout ${this.negotiatedTimeoutMs()} ms)`)
    } else if (state === State.DISCONNECTED) {
      this.onConnectionLost('lost the ZooKeeper connection', this.negotiatedTimeoutMs())
    } else if (state === State.EXPIRED) {
      this.onSessionLost(`ZooKeeper expired session 0x${this.sessionId()}`)
    } else if (state === State.AUTH_FAILED) {
      this.onAuthFailed('ZooKeeper refused our credentials (AUTH_FAILED)')
    }
  }

  /** A configuration problem: fail start() if it is still waiting, else retry slowly (no tight loop). */
  private onAuthFailed(detail: string): void {
    this.logger.warn(`${this.prefix()}${detail}`)
    if (this.settleStart !== null) {
      this.settleStart(new DiscoveryError(detail))
      void this.close()
      return
    }
    this.hasSession = false
    this.setState('expired', detail)
    this.armNoSessionTimer(this.sessionTimeoutMs)
  }

  private onConnected(detail: string): void {
    this.clearTimer('noSessionTimer')
    this.hasSession = true
    this.isHung = false
    this.lastHeardAt = Date.now()
    this.setState('connected', detail)
    this.logger.info(`${this.prefix()}connected to ZooKeeper: ${detail}`)
    this.startProbe()
    void this.requestSync()
  }

  /** No answer: members stay as they are; the session counts as lost once it cannot be alive any more. */
  private onConnectionLost(detail: string, lostInMs: number): void {
    if (!this.hasSession || this.currentState !== 'connected') return
    this.armNoSessionTimer(lostInMs)
    this.setState('disconnected', detail)
    this.logger.warn(`${this.prefix()}${detail}; keeping the last known ${this.current.length} members`)
  }

  /** Expired, or no session for longer than its timeout: start over with a new session. */
  private onSessionLost(detail: string): void {
    this.setState('expired', detail)
    this.logger.warn(`${this.prefix()}${detail}: starting a new session, registering again`)
    this.replaceClient()
  }

  private armNoSessionTimer(delayMs: number): void {
    this.clearTimer('noSessionTimer')
    this.noSessionTimer = setTimeout(() => {
      this.noSessionTimer = null
      if (this.hasSession) {
        this.onSessionLost(`no ZooKeeper session for longer than the session timeout (${this.negotiatedTimeoutMs()} ms); ` +
          `session 0x${this.sessionId()} counts as lost`)
      } else {
        // Never got a session: maybe stuck on a host that accepts TCP but never
        // answers. A fresh client reshuffles the hosts. Not an event: debug only.
        this.logger.debug(`${this.prefix()}no session after ${this.sessionTimeoutMs} ms: trying with a new client`)
        this.replaceClient()
      }
    }, Math.max(0, delayMs))
    this.noSessionTimer.unref()
  }

  private replaceClient(): void {
    const old = this.client
    this.stopProbe()
    this.resolveSyncWaiters(Infinity)
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
    const client = this.client
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
    const generation = this.generation
    this.probeSentAt = now
    zkExists(client, '/', null).then(() => {
      if (generation !== this.generation) return
      // The server was alive when it got the probe, so silence counts from the
      // send: stamping the reply would put every check one round trip short.
      this.lastHeardAt = this.probeSentAt
      this.probeSentAt = 0
      if (this.isHung) this.onConnected('ZooKeeper answers again')
    }, () => {
      // Connection loss: the state event tells the story.
      if (generation === this.generation) this.probeSentAt = 0
    })
  }

  // ---- the sync pass ----

  /** Resolves when a pass that started after this call has finished (or the session changed). */
  private requestSync(): Promise<void> {
    if (this.isClosed) return Promise.resolve()
    this.isSyncPending = true
    const waiter = new Promise<void>((resolve) => this.syncWaiters.push({ pass: this.syncPass + 1, resolve }))
    // A pass stuck on an older client (a hung server never answers) must not block the new one.
    if (!this.isSyncing || this.syncGeneration !== this.generation) void this.runSync()
    return waiter
  }

  private async runSync(): Promise<void> {
    const generation = this.generation
    this.isSyncing = true
    this.syncGeneration = generation
    // Each pass is requested by an event; the loop ends when no event came during the last one.
    while (this.isSyncPending && generation === this.generation) {
      this.isSyncPending = false
      const pass = ++this.syncPass
      await this.syncOnce(generation)
      this.resolveSyncWaiters(pass)
    }
    if (generation === this.syncGeneration) this.isSyncing = false
  }

  private resolveSyncWaiters(pass: number): void {
    const ready = this.syncWaiters.filter((w) => w.pass <= pass)
    this.syncWaiters = this.syncWaiters.filter((w) => w.pass > pass)
    for (const w of ready) w.resolve()
  }

  private async syncOnce(generation: number): Promise<void> {
    const client = this.client
    if (client === null || this.currentState !== 'connected') return
    try {
      if (this.selfPath !== null) {
        if (this.isRegistered) await this.ensureRegistered(client, generation, this.selfPath)
        else await this.ensureDeregistered(client, this.selfPath)
      }
      if (generation !== this.generation) return
      await this.readMembers(client, generation)
      if (generation !== this.generation) return
      if (this.isRegistered && !this.hasCheckedAcl) await this.checkAcl(client)
      this.retryDelayMs = RETRY_MIN_MS
      this.lastWarning = ''
      this.settleStart?.(null)
    } catch (err) {
      if (generation === this.generation) this.onSyncError(err)
    }
  }

  private onSyncError(err: unknown): void {
    const code = codeOf(err)
    // The session events drive what happens next: a new pass on 'connected'.
    if (code === Exception.CONNECTION_LOSS || code === Exception.SESSION_EXPIRED) return
    const message = code === Exception.NO_AUTH
      ? `ZooKeeper refused access to ${this.nodesPath} (NO_AUTH): check the cluster's auth`
      : `ZooKeeper operation failed: ${errorText(err)}`
    if (this.settleStart !== null && code === Exception.NO_AUTH) {
      // A configuration problem seen at first contact: start() says so and we stop.
      this.logger.warn(`${this.prefix()}${message}`)
      this.settleStart(new DiscoveryError(message, { cause: err }))
      void this.close()
      return
    }
    if (message !== this.lastWarning) this.logger.warn(`${this.prefix()}${message}; retrying with backoff`)
    else this.logger.debug(`${this.prefix()}${message}; retry in ${this.retryDelayMs} ms`)
    this.lastWarning = message
    if (this.retryTimer === null) {
      this.retryTimer = setTimeout(() => { this.retryTimer = null; void this.requestSync() }, this.retryDelayMs)
      this.retryTimer.unref()
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS)
    }
  }

  /** Our znode exists, belongs to this session and is watched; otherwise make it so. */
  private async ensureRegistered(client: Client, generation: number, selfPath: string): Promise<void> {
    for (let attempt = 0; attempt < REGISTER_ATTEMPTS; attempt++) {
      if (!this.isRegistered || generation !== this.generation) return
      const existing = await zkExists(client, selfPath, null)
      if (existing !== null && existing.ephemeralOwner.equals(client.getSessionId())) {
        // Ours already (a reconnect inside the session): make sure the watch is armed.
        if (await zkExists(client, selfPath, this.selfWatcher) !== null) return
        continue
      }
      if (existing !== null) {
        // A znode with our id from an earlier session of this process (its old
        // session may still be alive after a ZooKeeper restart): replace it.
        await ignoreCodes(zkRemove(client, selfPath, existing.version), Exception.NO_NODE, Exception.BAD_VERSION)
        this.logger.info(`${this.prefix()}removed our znode of an earlier session 0x${existing.ephemeralOwner.toString('hex')}`)
        continue
      }
      const created = await ignoreCodes(
        zkCreate(client, selfPath, this.selfData, this.clusterAcl, CreateMode.EPHEMERAL), Exception.NODE_EXISTS, Exception.NO_NODE)
      if (created === Exception.NO_NODE) {
        await this.ensureParents(client)
        continue
      }
      if (created === null) this.logger.info(`${this.prefix()}registered ${selfPath}`)
    }
    throw new DiscoveryError(`could not register ${selfPath} in ${REGISTER_ATTEMPTS} attempts (it keeps changing)`)
  }

  private async ensureDeregistered(client: Client, selfPath: string): Promise<void> {
    if (await zkExists(client, selfPath, null) === null) return
    await ignoreCodes(zkRemove(client, selfPath, -1), Exception.NO_NODE)
    this.logger.info(`${this.prefix()}deregistered ${selfPath}`)
  }

  /** Creates missing parents. exists() first: create on an existing node still needs CREATE on its parent. */
  private async ensureParents(client: Client): Promise<void> {
    for (const { path, acl } of this.parents) {
      if (await zkExists(client, path, null) !== null) continue
      await ignoreCodes(zkCreate(client, path, null, acl, CreateMode.PERSISTENT), Exception.NODE_EXISTS)
    }
  }

  private async readMembers(client: Client, generation: number): Promise<void> {
    let children: string[]
    try {
      children = await zkGetChildren(client, this.nodesPath, this.childWatcher)
    } catch (err) {
      if (codeOf(err) !== Exception.NO_NODE) throw err
      // No cluster yet (watch-only before the first node), or it was deleted:
      // wait for it to appear. A registered node recreates it on the next pass.
      if (await zkExists(client, this.nodesPath, this.nodesCreatedWatcher) !== null || this.isRegistered) this.isSyncPending = true
      children = []
    }
    const records = await Promise.all(children.map(async (name) => {
      try {
        return { name, data: await zkGetData(client, `${this.nodesPath}/${name}`) }
      } catch (err) {
        // Gone between the list and the read: the next watch event tells us.
        if (codeOf(err) === Exception.NO_NODE) return { name, data: null }
        throw err
      }
    }))
    if (generation !== this.generation) return
    const listing: MemberInfo[] = []
    for (const { name, data } of records) {
      if (data === null) continue
      const member = parseMember(data)
      if (member === null || member.id !== name) {
        if (!this.badChildren.has(name)) {
          this.badChildren.add(name)
          this.logger.warn(`${this.prefix()}skipping ${this.nodesPath}/${name}: its data is not a member record with that id`)
        }
        continue
      }
      listing.push(member)
    }
    for (const name of this.badChildren) if (!children.includes(name)) this.badChildren.delete(name)
    this.listing = listing
    this.updateMembers()
    // Our znode missing from the list (deleted after we checked): put it back.
    if (this.isRegistered && this.self !== null && !children.includes(this.self.id)) this.isSyncPending = true
  }

  /** With auth, warn once if the nodes path lets someone else create members (it predates our ACL). */
  private async checkAcl(client: Client): Promise<void> {
    this.hasCheckedAcl = true
    if (this.digestIdentity === null) return
    const acls = await zkGetACL(client, this.nodesPath)
    for (const acl of acls) {
      const identity = `${acl.id.scheme}:${acl.id.id}`
      if ((aclPermissions(acl) & Permission.CREATE) !== 0 && identity !== `digest:${this.digestIdentity}`) {
        this.logger.warn(`${this.prefix()}${this.nodesPath} lets ${identity} create members: ` +
          'it was created before this auth was configured; fix its ACL')
        return
      }
    }
  }

  // ---- members ----

  /** members() = the ZooKeeper listing, with self in it exactly while registered. */
  private updateMembers(): void {
    if (this.isClosed) return
    const byKey = new Map<string, MemberInfo>()
    for (const m of this.listing) byKey.set(m.id, m)
    if (this.self !== null) {
      if (this.isRegistered) byKey.set(this.self.id, this.self)
      else byKey.delete(this.self.id)
    }
    const next = freezeMembers(byKey.values())
    if (sameMembers(next, this.current)) return
    const before = new Set(this.current.map((m) => m.id))
    const after = new Set(next.map((m) => m.id))
    const joined = [...after].filter((id) => !before.has(id)).map((id) => `+${id}`)
    const left = [...before].filter((id) => !after.has(id)).map((id) => `-${id}`)
    this.current = next
    this.logger.info(`${this.prefix()}${next.length} members (${[...joined, ...left].join(' ') || 'data changed'})`)
    this.emitter.emit('members', next)
  }

  // ---- small helpers ----

  private setState(state: DiscoveryState, detail: string): void {
    if (this.currentState === state) return
    this.currentState = state
    this.emitter.emit('state', state, detail)
  }

  private clearTimer(name: 'noSessionTimer' | 'retryTimer'): void {
    const timer = this[name]
    if (timer !== null) clearTimeout(timer)
    this[name] = null
  }

  private negotiatedTimeoutMs(): number {
    return this.client === null ? this.sessionTimeoutMs : this.client.getSessionTimeout()
  }

  private sessionId(): string {
    return this.client === null ? '0' : this.client.getSessionId().toString('hex')
  }

  private prefix(): string {
    return `zookeeper discovery [${this.cluster}]: `
  }
}

function parseMember(data: Buffer): MemberInfo | null {
  try {
    return parseMemberInfo(JSON.parse(data.toString('utf8')))
  } catch {
    return null // not JSON: the caller warns once for this child
  }
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    void promise.then(() => { clearTimeout(timer); resolve() })
  })
}

