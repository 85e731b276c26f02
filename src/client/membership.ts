// Where the client's node list comes from: a watch-only ZooKeeperDiscovery
// (registers nothing), with the cache file behind it. At connect time:
//
//   ZooKeeper answers, members  → those URLs; the cache is written
//   ZooKeeper answers, none     → NO_MEMBERS (unknown cluster, or all down)
//   ZooKeeper silent            → the cache's URLs ('cache-used', said once),
//                                 or UNREACHABLE naming ZooKeeper and the cache's problem
//
// Afterwards every membership read is written to the cache and handed to the
// failover controller; the discovery keeps retrying ZooKeeper in the
// background, so a client that started from the cache follows ZooKeeper again
// once it answers.
import type { MemberInfo } from '../discovery/discovery.js'
import { DiscoveryError } from '../discovery/discovery.js'
import { ZooKeeperDiscovery } from '../discovery/zookeeper.js'
import { CACHE_FORMAT_VERSION, CacheWriter, readCache } from './cache.js'
import { CLIENT_ERROR_CODES, CacheError, ClientError, errorText } from './errors.js'
import type { ClientEventListener, NodeSource } from './events.js'
import type { ZooKeeperSettings } from './options.js'

export interface InitialNodes {
  source: Exclude<NodeSource, 'servers'>
  urls: string[]
  /** Where the URLs came from, for error messages: "from ZooKeeper …" / "from the cache file …". */
  description: string
}

export type MembersListener = (members: readonly MemberInfo[]) => void

export class Membership {
  readonly settings: ZooKeeperSettings
  private readonly discovery: ZooKeeperDiscovery
  private readonly cacheWriter: CacheWriter | null
  private readonly emit: ClientEventListener

  private constructor(settings: ZooKeeperSettings, discovery: ZooKeeperDiscovery, emit: ClientEventListener) {
    this.settings = settings
    this.discovery = discovery
    this.emit = emit
    const file = settings.cacheFile
    let lastProblem = ''
    this.cacheWriter = file === null ? null : new CacheWriter(file, (err) => {
      // Once per distinct problem: a read-only folder must not print a line per membership change.
      if (err.message === lastProblem) return
      lastProblem = err.message
      emit({ type: 'cache-error', level: 'warn', message: err.message, file, problem: err.problem })
    })
    discovery.on('state', (state, detail) => {
      emit({
        type: 'zookeeper', level: state === 'connected' || state === 'closed' ? 'info' : 'warn', state,
        message: `ZooKeeper ${settings.connectString} (cluster '${settings.cluster}'): ${state}: ${detail}`,
      })
    })
  }

  /** Starts discovery and returns the first node list; throws ClientError (and closes) when there is none. */
  static async open(settings: ZooKeeperSettings, emit: ClientEventListener): Promise<{ membership: Membership; initial: InitialNodes }> {
    let discovery: ZooKeeperDiscovery
    try {
      discovery = new ZooKeeperDiscovery({
        connectString: settings.connectString,
        cluster: settings.cluster,
        self: null,
        sessionTimeoutMs: settings.sessionTimeoutMs,
        auth: settings.auth,
        startTimeoutMs: settings.connectTimeoutMs,
      })
    } catch (err) {
      if (err instanceof DiscoveryError) throw new ClientError(CLIENT_ERROR_CODES.OPTIONS, err.message, { cause: err })
      throw err
    }
    const membership = new Membership(settings, discovery, emit)
    try {
      return { membership, initial: await membership.firstNodes() }
    } catch (err) {
      await membership.close()
      throw err
    }
  }

  /** The latest members read from ZooKeeper ([] while it has never answered). */
  members(): readonly MemberInfo[] {
    return this.discovery.members()
  }

  /** ZooKeeper answers now, so members() is current. */
  isLive(): boolean {
    return this.discovery.state === 'connected'
  }

  /** Every later membership read: written to the cache, then given to the listener. */
  follow(listener: MembersListener): void {
    this.discovery.on('members', (members) => {
      this.writeCache(members)
      listener(members)
    })
  }

  async close(): Promise<void> {
    await this.discovery.close()
    await this.cacheWriter?.idle()
  }

  private async firstNodes(): Promise<InitialNodes> {
    const { connectString, cluster, cacheFile, connectTimeoutMs } = this.settings
    try {
      await this.discovery.start()
    } catch (err) {
      throw new ClientError(CLIENT_ERROR_CODES.ZOOKEEPER_AUTH,
        `ZooKeeper ${connectString} refused access for cluster '${cluster}': ${errorText(err)}`, { cause: err })
    }
    if (this.isLive()) {
      const members = this.discovery.members()
      if (members.length === 0) {
        throw new ClientError(CLIENT_ERROR_CODES.NO_MEMBERS,
          `cluster '${cluster}' has no members in ZooKeeper ${connectString} ` +
          `(nothing under /natsmesh/clusters/${cluster}/nodes): check the cluster name, or start a node`)
      }
      // Awaited, so a resolved connect() means the cache holds this list.
      await this.writeCache(members)
      return { source: 'zookeeper', urls: members.map((m) => m.clientUrl), description: `from ZooKeeper ${connectString}` }
    }
    const silence = `ZooKeeper ${connectString} did not answer within ${connectTimeoutMs} ms`
    if (cacheFile === null) {
      throw new ClientError(CLIENT_ERROR_CODES.UNREACHABLE,
        `cannot find the nodes of cluster '${cluster}': ${silence}, and no cacheFile is configured`)
    }
    let cache
    try {
      cache = await readCache(cacheFile, cluster)
    } catch (err) {
      const problem = err instanceof CacheError ? err : new CacheError('unreadable', cacheFile, errorText(err), { cause: err })
      this.emit({ type: 'cache-error', level: 'warn', message: problem.message, file: cacheFile, problem: problem.problem })
      throw new ClientError(CLIENT_ERROR_CODES.UNREACHABLE,
        `cannot find the nodes of cluster '${cluster}': ${silence}, and ${problem.message}`, { cause: problem })
    }
    this.emit({
      type: 'cache-used', level: 'warn', file: cacheFile, urls: cache.urls, writtenAt: cache.time, zookeeper: connectString,
      message: `${silence}: connecting to cluster '${cluster}' from the cache file ${cacheFile} ` +
        `(written ${cache.time}): ${cache.urls.join(', ')}; still trying ZooKeeper`,
    })
    return { source: 'cache', urls: cache.urls, description: `from the cache file ${cacheFile} (written ${cache.time}), since ${silence}` }
  }

  /** An empty list is not written: the cache keeps the last nodes seen (see docs/client.md). */
  private writeCache(members: readonly MemberInfo[]): Promise<void> {
    if (this.cacheWriter === null || members.length === 0) return Promise.resolve()
    return this.cacheWriter.write({
      version: CACHE_FORMAT_VERSION,
      cluster: this.settings.cluster,
      zookeeper: this.settings.connectString,
      time: new Date().toISOString(),
      urls: members.map((m) => m.clientUrl),
    })
  }
}
