// Membership in ZooKeeper (DESIGN.md "ZooKeeper"), on a session it is given
// (SessionHandle; zookeeper-session.ts keeps the real one alive): each node is
// an EPHEMERAL znode /natsmesh/clusters/<cluster>/nodes/<server_id> whose data
// is the stable JSON of its MemberInfo; everyone watches the children of nodes/.
//
//   <chroot>                        persistent, open ACL   (shared namespace, not ours)
//   └ /natsmesh/clusters            persistent, open ACL   (shared by every cluster)
//     └ /<cluster>                  persistent, cluster ACL
//       └ /nodes                    persistent, cluster ACL
//         └ /<server_id>            EPHEMERAL,  cluster ACL, data = MemberInfo JSON
//
// Cluster ACL with a digest identity: digest user ALL + world READ. Only that
// identity can create or delete members; anyone may read, because the client
// library discovers nodes without credentials. Without one: open ACL.
//
// Everything happens in one serialized "sync" pass (reconcile our own znode,
// then re-read the children with a fresh watch), requested by every
// 'connected' of the session and every watch event. Watches are one-shot; each
// read re-arms them, so a change between two reads always triggers another pass.
//
// node-zookeeper-client never creates the chroot of a connect string; we strip
// the chroot (parseConnectString) and prefix our paths ourselves, so one client
// creates it like any other parent.
import stringify from 'fast-json-stable-stringify'
import { ACL, CreateMode, Event, Exception, Id, Permission, type Client } from 'node-zookeeper-client'
import {
  DiscoveryError, TypedEmitter, freezeMembers, parseMemberInfo, pickMember, sameMembers,
  type DiscoveryLogger, type MemberInfo,
} from './discovery.js'
import {
  aclPermissions, codeOf, errorText, ignoreCodes, zkCreate, zkExists, zkGetACL, zkGetChildren, zkGetData, zkRemove,
} from './zookeeper-client.js'
import type { SessionHandle, SessionState } from './zookeeper-session.js'

export const ROOT_PATH = '/natsmesh'
const RETRY_MIN_MS = 500
const RETRY_MAX_MS = 30_000
/** create → NODE_EXISTS → remove a stale znode → create again, at most this often per pass. */
const REGISTER_ATTEMPTS = 6

/** Event name → listener arguments. */
export interface RegistryEvents {
  /** The whole new list (sorted, frozen), after every change. */
  members: [members: readonly MemberInfo[]]
  /** A pass finished: our registration and the member list match ZooKeeper. */
  synced: []
  /** ZooKeeper refused access (NO_AUTH). A listener may close() the registry; otherwise it retries with backoff. */
  refused: [error: DiscoveryError]
}

/** Validated by the caller (ZooKeeperDiscovery checks its options once). */
export interface MembershipRegistryOptions {
  session: SessionHandle
  /** '' or `/a/b`: the connect string's chroot. */
  chroot: string
  /** One path segment. */
  cluster: string
  /** What we register, its id a znode name; null to watch only. */
  self: MemberInfo | null
  /** digestId() of the cluster's credentials: the ACL above; null for an open ACL. */
  digestIdentity: string | null
  logger: DiscoveryLogger
  /** Starts every log line. */
  logPrefix: string
}

export class MembershipRegistry extends TypedEmitter<RegistryEvents> {
  private readonly session: SessionHandle
  private readonly self: MemberInfo | null
  private readonly selfData: Buffer | null
  private readonly digestIdentity: string | null
  private readonly logger: DiscoveryLogger
  private readonly logPrefix: string
  /** Path prefixes we may create, each with its ACL, outermost first. */
  private readonly parents: ReadonlyArray<{ path: string; acl: ACL[] }>
  private readonly clusterAcl: ACL[]
  private readonly nodesPath: string
  private readonly selfPath: string | null
  // Watchers keep one identity each: the library skips a watcher it already holds.
  private readonly childWatcher: (event: Event) => void
  private readonly selfWatcher: (event: Event) => void
  private readonly nodesCreatedWatcher: (event: Event) => void
  private readonly onSessionState: (state: SessionState) => void
  private readonly onNewClient: () => void

  private isRegistered: boolean
  private isClosed: boolean
  private hasCheckedAcl: boolean
  /** The last member list read from ZooKeeper; survives disconnections on purpose. */
  private listing: readonly MemberInfo[]
  private current: readonly MemberInfo[]
  /** Children whose data is not a member record, each warned about once. */
  private readonly badChildren: Set<string>
  private isSyncing: boolean
  private isSyncPending: boolean
  private syncGeneration: number
  private syncPass: number
  private syncWaiters: Array<{ pass: number; resolve: () => void }>
  private retryTimer: NodeJS.Timeout | null
  private retryDelayMs: number
  private lastWarning: string

  constructor(options: MembershipRegistryOptions) {
    super()
    this.session = options.session
    this.self = options.self
    this.selfData = this.self === null ? null : Buffer.from(stringify(pickMember(this.self)))
    this.digestIdentity = options.digestIdentity
    this.logger = options.logger
    this.logPrefix = options.logPrefix

    const openAcl = [new ACL(Permission.ALL, new Id('world', 'anyone'))]
    this.clusterAcl = this.digestIdentity === null
      ? openAcl
      : [new ACL(Permission.ALL, new Id('digest', this.digestIdentity)), new ACL(Permission.READ, new Id('world', 'anyone'))]
    const clusterPath = `${options.chroot}${ROOT_PATH}/clusters/${options.cluster}`
    this.nodesPath = `${clusterPath}/nodes`
    this.selfPath = this.self === null ? null : `${this.nodesPath}/${this.self.id}`
    const parents: Array<{ path: string; acl: ACL[] }> = []
    let prefix = ''
    for (const segment of `${options.chroot}${ROOT_PATH}/clusters`.slice(1).split('/')) {
      prefix += `/${segment}`
      parents.push({ path: prefix, acl: openAcl })
    }
    parents.push({ path: clusterPath, acl: this.clusterAcl }, { path: this.nodesPath, acl: this.clusterAcl })
    this.parents = parents

    this.childWatcher = (event) => {
      this.logger.debug(`${this.logPrefix}watch: ${event.getName()} ${event.getPath()}`)
      void this.requestSync()
    }
    this.selfWatcher = (event) => {
      if (event.getType() === Event.NODE_DELETED && this.isRegistered) {
        this.logger.warn(`${this.logPrefix}our znode ${event.getPath()} was deleted: registering again`)
      }
      void this.requestSync()
    }
    this.nodesCreatedWatcher = () => { void this.requestSync() }
    this.onSessionState = (state) => {
      if (state === 'connected') void this.requestSync()
    }
    // Passes on the old client are void: nobody may wait for them.
    this.onNewClient = () => this.resolveSyncWaiters(Infinity)

    this.isRegistered = this.self !== null
    this.isClosed = false
    this.hasCheckedAcl = false
    this.listing = []
    this.current = freezeMembers([])
    this.badChildren = new Set()
    this.isSyncing = false
    this.isSyncPending = false
    this.syncGeneration = 0
    this.syncPass = 0
    this.syncWaiters = []
    this.retryTimer = null
    this.retryDelayMs = RETRY_MIN_MS
    this.lastWarning = ''
    this.session.on('state', this.onSessionState)
    this.session.on('client', this.onNewClient)
  }

  /** The latest known membership, self included while registered. */
  members(): readonly MemberInfo[] {
    return this.current
  }

  /** Lists self at once (serving alone until ZooKeeper answers); passes follow the session's 'connected'. */
  protected listenerFailed(err: unknown, event: keyof RegistryEvents): void {
    this.logger.warn(`${this.logPrefix}a '${String(event)}' listener threw: ${errorText(err)}`)
  }

  start(): void {
    this.updateMembers()
  }

  /**
   * Leaves membership for good (lame-duck drain); keeps watching. Resolves once
   * our znode is gone, or at once when not connected (it then goes with the
   * session, or on the next pass). Unbounded in time: the caller bounds it.
   */
  async deregister(): Promise<void> {
    if (!this.isRegistered) return
    this.isRegistered = false
    this.logger.info(`${this.logPrefix}leaving membership`)
    this.updateMembers()
    if (this.session.state !== 'connected') {
      this.logger.info(`${this.logPrefix}not connected: our znode goes with the session, or is removed on reconnect`)
      return
    }
    // The removal runs in the sync pass, ordered after any create in flight.
    await this.requestSync()
  }

  /** Stops passes and retries, empties members() (no event); the session is the caller's to close. */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.session.off('state', this.onSessionState)
    this.session.off('client', this.onNewClient)
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.retryTimer = null
    this.resolveSyncWaiters(Infinity)
    this.current = freezeMembers([])
  }

  // ---- the sync pass ----

  /** Resolves when a pass that started after this call has finished (or the session changed). */
  private requestSync(): Promise<void> {
    if (this.isClosed) return Promise.resolve()
    this.isSyncPending = true
    const waiter = new Promise<void>((resolve) => this.syncWaiters.push({ pass: this.syncPass + 1, resolve }))
    // A pass stuck on an older client (a hung server never answers) must not block the new one.
    if (!this.isSyncing || this.syncGeneration !== this.session.generation) void this.runSync()
    return waiter
  }

  private async runSync(): Promise<void> {
    const generation = this.session.generation
    this.isSyncing = true
    this.syncGeneration = generation
    // Each pass is requested by an event; the loop ends when no event came during the last one.
    while (this.isSyncPending && generation === this.session.generation) {
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
    const client = this.session.client
    if (client === null || this.session.state !== 'connected' || this.isClosed) return
    try {
      if (this.selfPath !== null) {
        if (this.isRegistered) await this.ensureRegistered(client, generation, this.selfPath)
        else await this.ensureDeregistered(client, this.selfPath)
      }
      if (generation !== this.session.generation) return
      await this.readMembers(client, generation)
      if (generation !== this.session.generation) return
      if (this.isRegistered && !this.hasCheckedAcl) await this.checkAcl(client)
      this.retryDelayMs = RETRY_MIN_MS
      this.lastWarning = ''
      this.emit('synced')
    } catch (err) {
      if (generation === this.session.generation) this.onSyncError(err)
    }
  }

  private onSyncError(err: unknown): void {
    const code = codeOf(err)
    // The session events drive what happens next: a new pass on 'connected'.
    if (code === Exception.CONNECTION_LOSS || code === Exception.SESSION_EXPIRED) return
    const message = code === Exception.NO_AUTH
      ? `ZooKeeper refused access to ${this.nodesPath} (NO_AUTH): check the cluster's auth`
      : `ZooKeeper operation failed: ${errorText(err)}`
    if (code === Exception.NO_AUTH) {
      this.emit('refused', new DiscoveryError(message, { cause: err }))
      if (this.isClosed) return
    }
    if (message !== this.lastWarning) this.logger.warn(`${this.logPrefix}${message}; retrying with backoff`)
    else this.logger.debug(`${this.logPrefix}${message}; retry in ${this.retryDelayMs} ms`)
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
      if (!this.isRegistered || generation !== this.session.generation) return
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
        this.logger.info(`${this.logPrefix}removed our znode of an earlier session 0x${existing.ephemeralOwner.toString('hex')}`)
        continue
      }
      const created = await ignoreCodes(
        zkCreate(client, selfPath, this.selfData, this.clusterAcl, CreateMode.EPHEMERAL), Exception.NODE_EXISTS, Exception.NO_NODE)
      if (created === Exception.NO_NODE) {
        await this.ensureParents(client)
        continue
      }
      if (created === null) this.logger.info(`${this.logPrefix}registered ${selfPath}`)
    }
    throw new DiscoveryError(`could not register ${selfPath} in ${REGISTER_ATTEMPTS} attempts (it keeps changing)`)
  }

  private async ensureDeregistered(client: Client, selfPath: string): Promise<void> {
    if (await zkExists(client, selfPath, null) === null) return
    await ignoreCodes(zkRemove(client, selfPath, -1), Exception.NO_NODE)
    this.logger.info(`${this.logPrefix}deregistered ${selfPath}`)
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
    if (generation !== this.session.generation) return
    const listing: MemberInfo[] = []
    for (const { name, data } of records) {
      if (data === null) continue
      const member = parseMember(data)
      if (member === null || member.id !== name) {
        if (!this.badChildren.has(name)) {
          this.badChildren.add(name)
          this.logger.warn(`${this.logPrefix}skipping ${this.nodesPath}/${name}: its data is not a member record with that id`)
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

  /** With a digest identity, warn once if the nodes path lets someone else create members (it predates our ACL). */
  private async checkAcl(client: Client): Promise<void> {
    this.hasCheckedAcl = true
    if (this.digestIdentity === null) return
    const acls = await zkGetACL(client, this.nodesPath)
    for (const acl of acls) {
      const identity = `${acl.id.scheme}:${acl.id.id}`
      if ((aclPermissions(acl) & Permission.CREATE) !== 0 && identity !== `digest:${this.digestIdentity}`) {
        this.logger.warn(`${this.logPrefix}${this.nodesPath} lets ${identity} create members: ` +
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
    this.logger.info(`${this.logPrefix}${next.length} members (${[...joined, ...left].join(' ') || 'data changed'})`)
    this.emit('members', next)
  }
}

function parseMember(data: Buffer): MemberInfo | null {
  try {
    return parseMemberInfo(JSON.parse(data.toString('utf8')))
  } catch {
    return null // not JSON: the caller warns once for this child
  }
}
