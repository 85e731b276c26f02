// ZooKeeperDiscovery against a real ZooKeeper (Debian's 3.8, started by
// test/helpers/zookeeper.ts). Sessions are 2 s (the helper's tickTime of 500 ms
// allows down to 1 s) so the outage and expiry cases stay short. Where a test
// must tell "at once" from "when the session expires", it uses LONG_SESSION_MS
// instead, so that only the prompt path can pass its waits. No test asserts on
// elapsed time: waits are bounded (WAIT_MS), the assertions are on events,
// their order and the state in ZooKeeper.
import t, { type Test } from 'tap'
import stringify from 'fast-json-stable-stringify'
import { CreateMode, Exception, createClient, type Client } from 'node-zookeeper-client'
import { DiscoveryError, type DiscoveryState, type MemberInfo } from '../../src/discovery/discovery.js'
import { ZooKeeperDiscovery, digestId, parseConnectString, type ZooKeeperDiscoveryOptions } from '../../src/discovery/zookeeper.js'
import { freePort } from '../helpers/free-port.js'
import { startTcpProxy, startZooKeeper } from '../helpers/zookeeper.js'
import { RecordingLogger, discoveryConformance, makeMember } from './conformance.js'
import {
  WAIT_MS, children, createCode, exists, getData, rawClient, removeCode, until, untilMntr, untilZnode,
} from './zookeeper-support.js'

const SESSION_MS = 2_000
/** The helper ZooKeeper's maxSessionTimeout: a session that cannot expire during any WAIT_MS wait. */
const LONG_SESSION_MS = 60_000
/** How long a short disconnection lasts. */
const BLIP_MS = 500

let clusterCounter = 0
function uniqueCluster(): string {
  clusterCounter++
  return `c${process.pid}-${clusterCounter}`
}

const zk = await startZooKeeper()
t.teardown(() => zk.stop())

interface Built {
  discovery: ZooKeeperDiscovery
  logger: RecordingLogger
  /** Every node-zookeeper-client this discovery created, oldest first. */
  clients: Client[]
  states: DiscoveryState[]
}

/** A discovery with test defaults; closed in t.teardown. */
function build(t: Test, options: Partial<ZooKeeperDiscoveryOptions> & { cluster: string; self: MemberInfo | null }): Built {
  const logger = new RecordingLogger()
  const clients: Client[] = []
  const discovery = new ZooKeeperDiscovery({
    connectString: zk.connectString,
    sessionTimeoutMs: SESSION_MS,
    logger,
    clientFactory: (connectString, opts) => {
      const client = createClient(connectString, opts)
      clients.push(client)
      return client
    },
    ...options,
  })
  const states: DiscoveryState[] = []
  discovery.on('state', (s) => states.push(s))
  t.teardown(() => discovery.close())
  return { discovery, logger, clients, states }
}

function ids(members: readonly MemberInfo[]): string[] {
  return members.map((m) => m.id).sort()
}

function sees(d: ZooKeeperDiscovery, ...expected: MemberInfo[]): boolean {
  return ids(d.members()).join() === expected.map((m) => m.id).sort().join()
}

function nodesPath(cluster: string, chroot = ''): string {
  return `${chroot}/natsmesh/clusters/${cluster}/nodes`
}

// ---- the tests ----

t.test('the Discovery contract', async (t) => {
  discoveryConformance(t, async (self, logger) => ({
    discovery: new ZooKeeperDiscovery({ connectString: zk.connectString, cluster: uniqueCluster(), self, logger, sessionTimeoutMs: SESSION_MS }),
    peers: [],
  }))
})

t.test('three nodes see each other; a closed one leaves the others at once', async (t) => {
  const cluster = uniqueCluster()
  const [a, b, c] = [makeMember('a'), makeMember('b'), makeMember('c')]
  const da = build(t, { cluster, self: a }).discovery
  const db = build(t, { cluster, self: b }).discovery
  // c's session outlives every wait below, so only close() removing c's znode
  // itself (not ZooKeeper expiring the session) lets a and b see c leave.
  const builtC = build(t, { cluster, self: c, sessionTimeoutMs: LONG_SESSION_MS })
  const dc = builtC.discovery
  await Promise.all([da.start(), db.start(), dc.start()])
  await until('all see three', () => [da, db, dc].every((d) => sees(d, a, b, c)))
  t.equal(builtC.clients[0].getSessionTimeout(), LONG_SESSION_MS, "ZooKeeper granted c's long session")
  t.same(da.members().find((m) => m.id === b.id), b, 'a member record round-trips')

  const raw = await rawClient(t, zk.connectString)
  const data = await getData(raw, `${nodesPath(cluster)}/${a.id}`)
  t.equal(data.toString(), stringify(a), 'znode data is the stable JSON of MemberInfo')
  const stat = await exists(raw, `${nodesPath(cluster)}/${a.id}`)
  t.not(stat?.ephemeralOwner.readBigUInt64BE() ?? 0n, 0n, 'the znode is ephemeral')

  await dc.close()
  await until('c gone from a and b', () => sees(da, a, b) && sees(db, a, b), LONG_SESSION_MS / 2)
  t.pass('a closed member disappears without waiting for its session timeout')
})

t.test('a watch-only discovery sees members come and go', async (t) => {
  const cluster = uniqueCluster()
  const { discovery: watcher } = build(t, { cluster, self: null })
  await watcher.start()
  t.same(watcher.members(), [], 'no cluster yet: no members, no error')
  const raw = await rawClient(t, zk.connectString)
  t.equal(await exists(raw, nodesPath(cluster)), null, 'a watch-only discovery creates nothing')

  const [a, b] = [makeMember('a'), makeMember('b')]
  const da = build(t, { cluster, self: a }).discovery
  await da.start()
  await until('watcher sees a', () => sees(watcher, a))
  const db = build(t, { cluster, self: b }).discovery
  await db.start()
  await until('watcher sees a and b', () => sees(watcher, a, b))
  await da.deregister()
  await until('watcher sees b', () => sees(watcher, b))
  t.pass()
})

t.test('deregister() removes our znode for good and keeps watching', async (t) => {
  const cluster = uniqueCluster()
  const [a, b, c] = [makeMember('a'), makeMember('b'), makeMember('c')]
  const { discovery: da } = build(t, { cluster, self: a })
  const { discovery: db } = build(t, { cluster, self: b })
  await Promise.all([da.start(), db.start()])
  await until('a and b see each other', () => sees(da, a, b) && sees(db, a, b))

  await da.deregister()
  t.ok(sees(da, b), 'self leaves members() at once')
  const raw = await rawClient(t, zk.connectString)
  t.equal(await exists(raw, `${nodesPath(cluster)}/${a.id}`), null, 'the znode is gone when deregister() resolves')
  await until('b sees a leave', () => sees(db, b))

  const { discovery: dc } = build(t, { cluster, self: c })
  await dc.start()
  await until('a still sees changes', () => sees(da, b, c))
  t.equal(await exists(raw, `${nodesPath(cluster)}/${a.id}`), null, 'and it was not registered again')
})

t.test('our znode deleted by someone else is put back, and that is logged once', async (t) => {
  const cluster = uniqueCluster()
  const a = makeMember('a')
  const { discovery: da, logger } = build(t, { cluster, self: a })
  await da.start()
  const raw = await rawClient(t, zk.connectString)
  const path = `${nodesPath(cluster)}/${a.id}`
  const before = await exists(raw, path)
  t.ok(before)
  t.equal(await removeCode(raw, path), 0)
  const after = await untilZnode(raw, path, 'recreated', (stat) => stat !== null && before !== null && !stat.czxid.equals(before.czxid))
  t.ok(after, 'recreated')
  t.not(after?.czxid.toString('hex'), before?.czxid.toString('hex'), 'a new znode')
  t.equal(logger.count('warn', 'was deleted'), 1)
  t.ok(sees(da, a))
})

t.test('a short disconnection changes nothing but the state; the session survives', async (t) => {
  const cluster = uniqueCluster()
  const proxy = await startTcpProxy(zk.port)
  t.teardown(() => proxy.close())
  const [a, b] = [makeMember('a'), makeMember('b')]
  // A blip well inside the session: 0.5 s cut + up to 1 s of the library's
  // reconnect spin, vs a session that cannot expire during any wait here.
  const built = build(t, { cluster, self: a, connectString: proxy.connectString, sessionTimeoutMs: LONG_SESSION_MS })
  const da = built.discovery
  const { discovery: db } = build(t, { cluster, self: b })
  await Promise.all([da.start(), db.start()])
  await until('a and b see each other', () => sees(da, a, b) && sees(db, a, b))
  const session = built.clients[0].getSessionId().toString('hex')
  let memberEvents = 0
  da.on('members', () => { memberEvents++ })

  proxy.cut()
  await until('a disconnected', () => da.state === 'disconnected')
  t.ok(sees(da, a, b), 'members stay as last known')
  // The outage itself, not a wait for anything: the cut lasts over a reconnect attempt or two.
  await new Promise((resolve) => setTimeout(resolve, BLIP_MS))
  proxy.heal()
  await until('a connected again', () => da.state === 'connected')
  t.equal(memberEvents, 0, 'no members event for a connection blip')
  t.equal(built.clients.length, 1, 'same client')
  t.equal(built.clients[0].getSessionId().toString('hex'), session, 'same session')
  t.same(built.states.slice(-2), ['disconnected', 'connected'])
  t.ok(sees(db, a, b), 'b never saw a leave')
})

t.test('a session expired by ZooKeeper registers again under a new session', async (t) => {
  const cluster = uniqueCluster()
  const proxy = await startTcpProxy(zk.port)
  t.teardown(() => proxy.close())
  const [a, b] = [makeMember('a'), makeMember('b')]
  // A long session, so only ZooKeeper's verdict (not our own timer) ends it.
  const built = build(t, { cluster, self: a, connectString: proxy.connectString, sessionTimeoutMs: LONG_SESSION_MS })
  const { discovery: da, logger } = built
  const { discovery: db } = build(t, { cluster, self: b })
  await Promise.all([da.start(), db.start()])
  await until('a and b see each other', () => sees(da, a, b) && sees(db, a, b))
  const old = built.clients[0]
  const oldSession = old.getSessionId()

  // Cut a off, then close its session from elsewhere with its own credentials:
  // ZooKeeper expires it (and deletes the znode) while a cannot hear about it.
  proxy.cut()
  await until('a disconnected', () => da.state === 'disconnected')
  const sessionCredentials = { sessionTimeout: LONG_SESSION_MS, sessionId: oldSession, sessionPassword: old.getSessionPassword() }
  const twin = await rawClient(t, zk.connectString, null, sessionCredentials)
  const closed = new Promise<void>((resolve) => twin.once('disconnected', () => resolve()))
  twin.close()
  await closed
  await until('b sees a leave', () => sees(db, b))
  t.ok(sees(da, a, b), 'a, cut off, still has its last known members')

  proxy.heal()
  await until('a registered again and seen by b', () => sees(db, a, b) && da.state === 'connected')
  t.ok(built.states.includes('expired'), 'state went through expired')
  t.equal(logger.count('warn', 'expired session'), 1, 'the expiry is logged once')
  t.equal(built.clients.length, 2, 'a new client, so a new session')
  const raw = await rawClient(t, zk.connectString)
  const stat = await exists(raw, `${nodesPath(cluster)}/${a.id}`)
  t.ok(stat !== null && !stat.ephemeralOwner.equals(oldSession), 'the znode belongs to the new session')
})

t.test('ZooKeeper down at start: start() resolves alone, registration follows', async (t) => {
  const own = await startZooKeeper()
  t.teardown(() => own.stop())
  await own.kill()
  const cluster = uniqueCluster()
  const a = makeMember('a')
  const { discovery: da, logger } = build(t, { cluster, self: a, connectString: own.connectString, startTimeoutMs: 300 })
  await da.start()
  t.equal(own.pid(), null, 'start() resolved while ZooKeeper was still down: it did not wait for it')
  t.equal(da.state, 'disconnected')
  t.same(da.members(), [a], 'serves alone')
  t.equal(logger.count('warn', 'retrying in the background'), 1)

  await own.restart()
  await until('a connected', () => da.state === 'connected')
  const b = makeMember('b')
  const { discovery: db } = build(t, { cluster, self: b, connectString: own.connectString })
  await db.start()
  await until('a and b see each other', () => sees(da, a, b) && sees(db, a, b))
  t.pass()
})

t.test('ZooKeeper down longer than the session timeout: members stay, then everyone registers again', async (t) => {
  const own = await startZooKeeper()
  t.teardown(() => own.stop())
  const cluster = uniqueCluster()
  const selves = [makeMember('a'), makeMember('b'), makeMember('c')]
  const nodes = selves.map((self) => build(t, { cluster, self, connectString: own.connectString }))
  const watcher = build(t, { cluster, self: null, connectString: own.connectString })
  const all = [...nodes, watcher]
  await Promise.all(all.map((n) => n.discovery.start()))
  await until('all see three', () => all.every((n) => sees(n.discovery, ...selves)))
  const oldSessions = nodes.map((n) => n.clients[0].getSessionId())
  let memberEvents = 0
  for (const n of all) n.discovery.on('members', () => { memberEvents++ })
  const statesBefore = all.map((n) => n.states.length)

  await own.kill()
  await until('all count their session as lost', () => all.every((n) => n.discovery.state === 'expired'))
  t.same(all.map((n, i) => n.states.slice(statesBefore[i])), all.map(() => ['disconnected', 'expired']),
    'each first noticed the outage, then counted its session as lost')
  t.equal(memberEvents, 0, 'an outage emits no members events')
  t.ok(all.every((n) => sees(n.discovery, ...selves)), 'members stay as last known')
  t.ok(nodes.every((n) => n.logger.count('warn', 'counts as lost') === 1), 'the loss is logged once per node')

  await own.restart()
  await until('all connected', () => all.every((n) => n.discovery.state === 'connected'))
  const raw = await rawClient(t, own.connectString)
  const path = nodesPath(cluster)
  const stats = await Promise.all(selves.map((s, i) => untilZnode(raw, `${path}/${s.id}`, 'owned by a new session',
    (stat) => stat !== null && !stat.ephemeralOwner.equals(oldSessions[i]))))
  t.ok(stats.every((stat) => stat !== null), 'every znode now belongs to a new session')
  // The restored old sessions expire one session timeout after the restart;
  // that must not take the new registrations with them. Wait until ZooKeeper
  // holds only the live sessions: the four discoveries' and ours.
  await untilMntr(own.port, 'zk_global_sessions', all.length + 1, 'the sessions from before the outage to expire')
  t.same((await children(raw, path)).sort(), selves.map((s) => s.id).sort())
  t.ok(all.every((n) => sees(n.discovery, ...selves)), 'membership is correct everywhere')
})

t.test('a hung ZooKeeper (SIGSTOP) is noticed by the probe; the session is renewed', async (t) => {
  const own = await startZooKeeper()
  t.teardown(async () => { own.resume(); await own.stop() })
  const cluster = uniqueCluster()
  const [a, b] = [makeMember('a'), makeMember('b')]
  const na = build(t, { cluster, self: a, connectString: own.connectString })
  const nb = build(t, { cluster, self: b, connectString: own.connectString })
  await Promise.all([na.discovery.start(), nb.discovery.start()])
  await until('a and b see each other', () => sees(na.discovery, a, b) && sees(nb.discovery, a, b))

  const statesBefore = na.states.length
  own.pause()
  // A paused server keeps its sockets open: only our probe can notice.
  await until('a counts the session as lost', () => na.discovery.state === 'expired')
  t.same(na.states.slice(statesBefore), ['disconnected', 'expired'], 'noticed, then lost')
  t.equal(na.logger.count('warn', 'stopped answering'), 1)
  own.resume()
  await until('both connected and see each other', () =>
    [na, nb].every((n) => n.discovery.state === 'connected' && sees(n.discovery, a, b)))
  const raw = await rawClient(t, own.connectString)
  // The sessions of before the hang (and of handshakes abandoned during it)
  // expire now; wait until ZooKeeper holds only a's, b's and ours.
  await untilMntr(own.port, 'zk_global_sessions', 3, 'the sessions from before the hang to expire')
  t.same((await children(raw, nodesPath(cluster))).sort(), [a.id, b.id].sort(), 'both still registered after old sessions expire')
})

t.test('close() while ZooKeeper hangs neither waits for it nor crashes when it wakes up', async (t) => {
  const own = await startZooKeeper()
  t.teardown(async () => { own.resume(); await own.stop() })
  const cluster = uniqueCluster()
  const connected = build(t, { cluster, self: makeMember('a'), connectString: own.connectString }).discovery
  await connected.start()
  own.pause()
  // A handshake that hangs: the library would misparse its late reply after close().
  const { discovery: handshaking } = build(t, { cluster, self: makeMember('b'), connectString: own.connectString, startTimeoutMs: 200 })
  await handshaking.start()
  t.equal(handshaking.state, 'disconnected')
  // Only close() not waiting for ZooKeeper can come first here. The fallback
  // wake-up exists so that a regression fails with this message instead of
  // the file's timeout; a healthy run never comes near it.
  const order: string[] = []
  const closing = Promise.all([handshaking.close(), connected.close()]).then(() => { order.push('closed') })
  const fallback = setTimeout(() => { order.push('ZooKeeper woken up'); own.resume() }, LONG_SESSION_MS)
  await closing
  clearTimeout(fallback)
  t.same(order, ['closed'], 'close() resolved while ZooKeeper still hung')
  own.resume()
  // ZooKeeper reads what the closed clients left queued (a handshake, a
  // close request), answers, and drops their connections: once only our
  // mntr connection is left, it has answered everything it ever will.
  await untilMntr(own.port, 'zk_num_alive_connections', 1, 'ZooKeeper to drop the closed clients\' connections')
  t.pass('no uncaught exception after ZooKeeper answered the abandoned handshakes')
})

t.test('a chroot is created when missing, and several hosts (one dead) work', async (t) => {
  const cluster = uniqueCluster()
  const chroot = `/apps/natsmesh-${process.pid}`
  const dead = await freePort()
  const connectString = `127.0.0.1:${dead},${zk.connectString}${chroot}`
  t.same(parseConnectString(connectString), { hosts: `127.0.0.1:${dead},${zk.connectString}`, chroot })
  const [a, b] = [makeMember('a'), makeMember('b')]
  const { discovery: da } = build(t, { cluster, self: a, connectString })
  const { discovery: db } = build(t, { cluster, self: b, connectString })
  await Promise.all([da.start(), db.start()])
  await until('a and b see each other', () => sees(da, a, b) && sees(db, a, b))
  const raw = await rawClient(t, zk.connectString)
  t.ok(await exists(raw, `${nodesPath(cluster, chroot)}/${a.id}`), 'registered under the chroot')
  t.equal(await exists(raw, nodesPath(cluster)), null, 'and not outside it')
})

t.test('digest auth: members register, anyone reads, strangers cannot register', async (t) => {
  const cluster = uniqueCluster()
  const auth = 'natsmesh:s3cret'
  const a = makeMember('a')
  const { discovery: da } = build(t, { cluster, self: a, auth })
  await da.start()
  const { discovery: reader } = build(t, { cluster, self: null })
  await reader.start()
  t.ok(sees(reader, a), 'a watch-only discovery without credentials reads the members')

  const stranger = await rawClient(t, zk.connectString)
  const path = nodesPath(cluster)
  t.equal(await createCode(stranger, `${path}/intruder`, Buffer.from('{}'), CreateMode.EPHEMERAL), Exception.NO_AUTH)
  t.equal(await removeCode(stranger, `${path}/${a.id}`), Exception.NO_AUTH, 'nor delete one')
  // ZooKeeper 3.8 masks digest hashes ('natsmesh:x') for readers without ADMIN.
  const member = await rawClient(t, zk.connectString, auth)
  const acls = await new Promise<Array<{ id: { scheme: string; id: string } }>>((resolve, reject) =>
    member.getACL(path, (err, list) => (err ? reject(err) : resolve(list))))
  t.same(acls.map((acl) => `${acl.id.scheme}:${acl.id.id}`).sort(), [`digest:${digestId('natsmesh', 's3cret')}`, 'world:anyone'])

  for (const [name, strangerAuth] of [['no', null], ['a wrong', 'natsmesh:wrong']] as const) {
    const { discovery } = build(t, { cluster, self: makeMember('x'), auth: strangerAuth })
    await t.rejects(discovery.start(), { code: 'NATSMESH_ERR_DISCOVERY', message: /NO_AUTH/ }, `${name} password is refused at start`)
    t.equal(discovery.state, 'closed')
  }
  t.ok(sees(da, a), 'the refused strangers never appeared')
})

t.test('digest auth over a cluster created without it warns once', async (t) => {
  const cluster = uniqueCluster()
  const open = build(t, { cluster, self: makeMember('open') }).discovery
  await open.start()
  const { discovery, logger } = build(t, { cluster, self: makeMember('a'), auth: 'natsmesh:s3cret' })
  await discovery.start()
  t.equal(logger.count('warn', 'lets world:anyone create members'), 1)
})

t.test('a child whose data is not a member record is skipped and logged once', async (t) => {
  const cluster = uniqueCluster()
  const [a, b] = [makeMember('a'), makeMember('b')]
  const { discovery: da, logger } = build(t, { cluster, self: a })
  await da.start()
  const raw = await rawClient(t, zk.connectString)
  t.equal(await createCode(raw, `${nodesPath(cluster)}/garbage`, Buffer.from('not json'), CreateMode.EPHEMERAL), 0)
  await until('a logged it', () => logger.count('warn', 'garbage') === 1)
  const { discovery: db } = build(t, { cluster, self: b })
  await db.start()
  await until('a sees b', () => sees(da, a, b))
  t.equal(logger.count('warn', 'garbage'), 1, 'still once after another change')
})

t.test('bad configuration throws DiscoveryError from the constructor', async (t) => {
  const self = makeMember()
  const good: ZooKeeperDiscoveryOptions = { connectString: zk.connectString, cluster: 'ok', self }
  const bad: Array<[string, Partial<ZooKeeperDiscoveryOptions>]> = [
    ['empty connect string', { connectString: '' }],
    ['chroot only', { connectString: '/natsmesh' }],
    ['port out of range', { connectString: 'h:99999' }],
    ['port not a number', { connectString: 'h:2181x' }],
    ['chroot ending in /', { connectString: 'h:2181/a/' }],
    ['IPv6 literal', { connectString: '[::1]:2181' }],
    ['cluster with a slash', { cluster: 'a/b' }],
    ['empty cluster', { cluster: '' }],
    ['auth without password', { auth: 'user' }],
    ['session timeout too small', { sessionTimeoutMs: 10 }],
    ['self id with a slash', { self: { ...self, id: 'a/b' } }],
  ]
  for (const [name, override] of bad) {
    t.throws(() => new ZooKeeperDiscovery({ ...good, ...override }), DiscoveryError, name)
  }
  t.doesNotThrow(() => new ZooKeeperDiscovery({ ...good, connectString: 'h1,h2:2182/x' }))
})

