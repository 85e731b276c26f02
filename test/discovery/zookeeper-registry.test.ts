// MembershipRegistry alone: a real ZooKeeper, but a session the test drives
// by hand (ManualSession), so each case says exactly which session events the
// registry saw. Waits end on the registry's own events or on ZooKeeper watches.
import t, { type Test } from 'tap'
import stringify from 'fast-json-stable-stringify'
import { CreateMode, type Client } from 'node-zookeeper-client'
import { TypedEmitter, type MemberInfo } from '../../src/discovery/discovery.js'
import { aclPermissions, digestId, zkGetACL } from '../../src/discovery/zookeeper-client.js'
import { MembershipRegistry, type MembershipRegistryOptions } from '../../src/discovery/zookeeper-registry.js'
import type { SessionEvents, SessionHandle, SessionState } from '../../src/discovery/zookeeper-session.js'
import { startTcpProxy, startZooKeeper } from '../helpers/zookeeper.js'
import { RecordingLogger, makeMember } from './conformance.js'
import { WAIT_MS, children, createCode, exists, getData, rawClient, removeCode, untilZnode } from './zookeeper-support.js'

/** The helper ZooKeeper's maxSessionTimeout: sessions that outlive every test here. */
const LONG_SESSION_MS = 60_000

const zk = await startZooKeeper()
t.teardown(() => zk.stop())

/** What the registry sees of ZooKeeperSession, driven by the test over real clients. */
class ManualSession extends TypedEmitter<SessionEvents> implements SessionHandle {
  state: SessionState = 'disconnected'
  client: Client | null = null
  generation = 0

  // A listener that throws is a registry bug: let it fail the test.
  protected listenerFailed(err: unknown): void {
    throw err
  }

  /** A new client with a live session, announced as ZooKeeperSession does: 'client', then 'connected'. */
  use(client: Client): void {
    this.generation++
    this.client = client
    this.emit('client', this.generation)
    this.state = 'connected'
    this.emit('state', 'connected', 'a session handed over by the test')
  }
}

let clusterCounter = 0
function uniqueCluster(): string {
  clusterCounter++
  return `r${process.pid}-${clusterCounter}`
}

interface Built {
  registry: MembershipRegistry
  session: ManualSession
  logger: RecordingLogger
  /** Every 'members' event, in order. */
  lists: Array<readonly MemberInfo[]>
  nodesPath: string
}

/** A started registry on a ManualSession (no client yet); closed in t.teardown. */
function build(t: Test, options: Partial<MembershipRegistryOptions> & { self: MemberInfo | null }): Built {
  const logger = new RecordingLogger()
  const session = new ManualSession()
  const cluster = options.cluster ?? uniqueCluster()
  const chroot = options.chroot ?? ''
  const registry = new MembershipRegistry({
    session, chroot, cluster, digestIdentity: null, logger, logPrefix: 'registry under test: ', ...options,
  })
  const lists: Array<readonly MemberInfo[]> = []
  registry.on('members', (m) => lists.push(m))
  registry.start()
  t.teardown(() => registry.close())
  return { registry, session, logger, lists, nodesPath: `${chroot}/natsmesh/clusters/${cluster}/nodes` }
}

/** A plain client (closed in t.teardown) whose session is handed to the registry. */
function sessionClient(t: Test, connectString: string, auth: string | null = null): Promise<Client> {
  return rawClient(t, connectString, auth, { sessionTimeout: LONG_SESSION_MS })
}

/** The next event of that name from now on; rejects after WAIT_MS. Call it before the cause. */
function nextSynced(registry: MembershipRegistry): Promise<void> {
  return new Promise((resolve, reject) => {
    const listener = (): void => { clearTimeout(timer); registry.off('synced', listener); resolve() }
    const timer = setTimeout(() => { registry.off('synced', listener); reject(new Error("timed out waiting for 'synced'")) }, WAIT_MS)
    registry.on('synced', listener)
  })
}

/** The next 'members' event whose list has exactly these ids; rejects after WAIT_MS. Call it before the cause. */
function nextMembers(registry: MembershipRegistry, ...expected: MemberInfo[]): Promise<readonly MemberInfo[]> {
  const want = ids(expected)
  return new Promise((resolve, reject) => {
    const listener = (members: readonly MemberInfo[]): void => {
      if (ids(members) !== want) return
      clearTimeout(timer)
      registry.off('members', listener)
      resolve(members)
    }
    const timer = setTimeout(() => {
      registry.off('members', listener)
      reject(new Error(`timed out waiting for members ${want}`))
    }, WAIT_MS)
    registry.on('members', listener)
  })
}

function ids(members: readonly MemberInfo[]): string {
  return members.map((m) => m.id).sort().join()
}

t.test('registers its znode with the stable JSON of self and the cluster ACL, creating the parents and the chroot', async (t) => {
  const auth = 'natsmesh:s3cret'
  const identity = digestId('natsmesh', 's3cret')
  const self = makeMember('a')
  const chroot = `/apps/registry-${process.pid}`
  const built = build(t, { self, chroot, digestIdentity: identity })
  t.same(built.registry.members(), [self], 'self is listed at start(), before ZooKeeper answers')
  const client = await sessionClient(t, zk.connectString, auth)
  const synced = nextSynced(built.registry)
  built.session.use(client)
  await synced

  const path = `${built.nodesPath}/${self.id}`
  const raw = await rawClient(t, zk.connectString, auth)
  t.equal((await getData(raw, path)).toString(), stringify(self), 'data: the stable JSON of MemberInfo')
  const stat = await exists(raw, path)
  t.ok(stat?.ephemeralOwner.equals(client.getSessionId()), 'EPHEMERAL, owned by the session it was given')
  for (const p of [path, built.nodesPath, built.nodesPath.slice(0, -'/nodes'.length)]) {
    const acls = (await zkGetACL(raw, p)).map((acl) => `${acl.id.scheme}:${acl.id.id}=${aclPermissions(acl)}`).sort()
    t.same(acls, [`digest:${identity}=31`, 'world:anyone=1'], `${p}: the digest identity ALL, everyone READ`)
  }
  const clusters = await zkGetACL(raw, `${chroot}/natsmesh/clusters`)
  t.same(clusters.map((acl) => `${acl.id.scheme}:${acl.id.id}=${aclPermissions(acl)}`), ['world:anyone=31'], 'shared parents stay open')
  t.same(built.registry.members(), [self])
  t.same(built.lists, [[self]], 'one members event: the one from start()')
})

t.test('replaces a stale znode of its own earlier session', async (t) => {
  const self = makeMember('a')
  const built = build(t, { self })
  // The first session is cut off but stays alive in ZooKeeper with our znode,
  // as after a ZooKeeper restart: its client hears nothing any more.
  const proxy = await startTcpProxy(zk.port)
  t.teardown(() => proxy.close())
  const first = await sessionClient(t, proxy.connectString)
  const firstSynced = nextSynced(built.registry)
  built.session.use(first)
  await firstSynced
  const path = `${built.nodesPath}/${self.id}`
  const raw = await rawClient(t, zk.connectString)
  t.ok((await exists(raw, path))?.ephemeralOwner.equals(first.getSessionId()), 'registered by the first session')
  proxy.cut()

  const second = await sessionClient(t, zk.connectString)
  const secondSynced = nextSynced(built.registry)
  built.session.use(second)
  await secondSynced
  const stat = await exists(raw, path)
  t.ok(stat?.ephemeralOwner.equals(second.getSessionId()), 'the znode now belongs to the second session')
  t.equal((await getData(raw, path)).toString(), stringify(self), 'with our data')
  t.equal(built.logger.count('info', `removed our znode of an earlier session 0x${first.getSessionId().toString('hex')}`), 1)
  t.equal(built.logger.count('warn', 'was deleted'), 0, 'a replacement, not a deletion by someone else')
  t.same(built.lists, [[self]], 'self never left members()')
})

t.test('re-reads the children on a watch event, with no session event', async (t) => {
  const [a, b] = [makeMember('a'), makeMember('b')]
  const built = build(t, { self: a })
  const synced = nextSynced(built.registry)
  built.session.use(await sessionClient(t, zk.connectString))
  await synced
  const generation = built.session.generation

  const other = await rawClient(t, zk.connectString)
  const joined = nextMembers(built.registry, a, b)
  t.equal(await createCode(other, `${built.nodesPath}/${b.id}`, Buffer.from(stringify(b)), CreateMode.EPHEMERAL), 0)
  t.same((await joined).find((m) => m.id === b.id), b, "b's record, read from its znode")
  const left = nextMembers(built.registry, a)
  t.equal(await removeCode(other, `${built.nodesPath}/${b.id}`), 0)
  await left
  t.equal(built.session.generation, generation, 'the session never changed: only the watches told the registry')
  t.same(built.lists.map((list) => ids(list)), [ids([a]), ids([a, b]), ids([a])])
})

t.test('deregister() removes the znode, keeps watching, and does not register again', async (t) => {
  const [a, b] = [makeMember('a'), makeMember('b')]
  const built = build(t, { self: a })
  const synced = nextSynced(built.registry)
  built.session.use(await sessionClient(t, zk.connectString))
  await synced
  const path = `${built.nodesPath}/${a.id}`
  const raw = await rawClient(t, zk.connectString)
  t.ok(await exists(raw, path))

  await built.registry.deregister()
  t.equal(await exists(raw, path), null, 'the znode is gone when deregister() resolves')
  t.same(built.registry.members(), [], 'self left members()')
  const seen = nextMembers(built.registry, b)
  const other = await rawClient(t, zk.connectString)
  t.equal(await createCode(other, `${built.nodesPath}/${b.id}`, Buffer.from(stringify(b)), CreateMode.EPHEMERAL), 0)
  await seen
  t.pass('still watching')
  t.equal(await exists(raw, path), null, 'and not registered again')
  await built.registry.deregister()
  t.equal(built.logger.count('info', 'leaving membership'), 1, 'a second deregister() does nothing')
})

t.test('a watch-only registry creates nothing, and lists a cluster once it appears', async (t) => {
  const a = makeMember('a')
  const cluster = uniqueCluster()
  const watcher = build(t, { self: null, cluster })
  const synced = nextSynced(watcher.registry)
  watcher.session.use(await sessionClient(t, zk.connectString))
  await synced
  const raw = await rawClient(t, zk.connectString)
  t.equal(await exists(raw, watcher.nodesPath), null, 'no cluster created')
  t.same(watcher.registry.members(), [])

  const seen = nextMembers(watcher.registry, a)
  const node = build(t, { self: a, cluster })
  node.session.use(await sessionClient(t, zk.connectString))
  await seen
  t.pass('the first node of the cluster was seen through the watch on its absent parent')
})

t.test('a znode deleted by someone else is put back under a new czxid', async (t) => {
  const a = makeMember('a')
  const built = build(t, { self: a })
  const client = await sessionClient(t, zk.connectString)
  const synced = nextSynced(built.registry)
  built.session.use(client)
  await synced
  const path = `${built.nodesPath}/${a.id}`
  const raw = await rawClient(t, zk.connectString)
  const before = await exists(raw, path)
  t.ok(before)
  t.equal(await removeCode(raw, path), 0)
  const after = await untilZnode(raw, path, 'put back', (stat) => stat !== null && before !== null && !stat.czxid.equals(before.czxid))
  t.ok(after?.ephemeralOwner.equals(client.getSessionId()), 'by the same session')
  t.equal(built.logger.count('warn', 'was deleted'), 1)
})

t.test("NO_AUTH is reported as 'refused'; retried with backoff unless a listener closes the registry", async (t) => {
  const auth = 'natsmesh:s3cret'
  const identity = digestId('natsmesh', 's3cret')
  const cluster = uniqueCluster()
  const ownerSelf = makeMember('owner')
  const owner = build(t, { self: ownerSelf, cluster, digestIdentity: identity })
  const ownerSynced = nextSynced(owner.registry)
  owner.session.use(await sessionClient(t, zk.connectString, auth))
  await ownerSynced

  for (const closesOnRefusal of [false, true]) {
    // Same ACL, but its session lacks the credentials: ZooKeeper refuses the create.
    const stranger = build(t, { self: makeMember('x'), cluster, digestIdentity: identity })
    const refused = new Promise<Error>((resolve) => stranger.registry.on('refused', (err) => {
      if (closesOnRefusal) stranger.registry.close()
      resolve(err)
    }))
    stranger.session.use(await sessionClient(t, zk.connectString))
    const err = await refused
    t.match(err, { code: 'NATSMESH_ERR_DISCOVERY', message: /NO_AUTH/ }, 'a DiscoveryError that names the cause')
    t.equal(stranger.logger.count('warn', 'retrying with backoff'), closesOnRefusal ? 0 : 1,
      closesOnRefusal ? 'closed by its listener: no retry' : 'not closed: retried with backoff')
  }
  const raw = await rawClient(t, zk.connectString)
  t.same(await children(raw, owner.nodesPath), [ownerSelf.id], 'the strangers never registered')
})
