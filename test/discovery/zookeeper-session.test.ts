// ZooKeeperSession alone, against a real ZooKeeper (test/helpers/zookeeper.ts):
// the session survives what it should, counts as lost what it must, and
// notices a server that hangs. Every wait ends on a session event (nextState)
// or on ZooKeeper's own state; none of them is the assertion.
import t, { type Test } from 'tap'
import { ACL, CreateMode, Exception, Id, Permission, createClient, type Client } from 'node-zookeeper-client'
import { digestId, zkCreate, zkGetData } from '../../src/discovery/zookeeper-client.js'
import { ZooKeeperSession, type SessionState, type ZooKeeperSessionOptions } from '../../src/discovery/zookeeper-session.js'
import { startTcpProxy, startZooKeeper } from '../helpers/zookeeper.js'
import { RecordingLogger } from './conformance.js'
import { codeOf, exists, nextState, rawClient, untilZnode } from './zookeeper-support.js'

/** Short, so a lost session is reported within a few seconds. */
const SESSION_MS = 2_000
/** The helper ZooKeeper's maxSessionTimeout: a session that outlives every wait in a test. */
const LONG_SESSION_MS = 60_000

const zk = await startZooKeeper()
t.teardown(() => zk.stop())

let pathCounter = 0
function uniquePath(): string {
  pathCounter++
  return `/session-test-${process.pid}-${pathCounter}`
}

interface Built {
  session: ZooKeeperSession
  logger: RecordingLogger
  /** Every client the session created, oldest first. */
  clients: Client[]
  /** Every 'state' event, in order. */
  states: SessionState[]
  /** Every 'client' event's generation, in order. */
  generations: number[]
}

/** A session with test defaults, not started; closed in t.teardown. */
function build(t: Test, options: Partial<ZooKeeperSessionOptions> & { hosts: string }): Built {
  const logger = new RecordingLogger()
  const clients: Client[] = []
  const session = new ZooKeeperSession({
    sessionTimeoutMs: SESSION_MS,
    credentials: null,
    logger,
    clientFactory: (connectString, opts) => {
      const client = createClient(connectString, opts)
      clients.push(client)
      return client
    },
    ...options,
  })
  const states: SessionState[] = []
  const generations: number[] = []
  session.on('state', (s) => states.push(s))
  session.on('client', (g) => generations.push(g))
  t.teardown(() => session.close())
  return { session, logger, clients, states, generations }
}

async function startConnected(built: Built): Promise<void> {
  const connected = nextState(built.session, 'connected')
  built.session.start()
  await connected
}

t.test('a new session is reported connected, with its id and the timeout ZooKeeper granted', async (t) => {
  const built = build(t, { hosts: zk.connectString })
  const { session } = built
  t.equal(session.client, null, 'no client before start()')
  const connected = nextState(session, 'connected')
  session.start()
  session.start()
  const detail = await connected
  t.equal(built.clients.length, 1, 'a second start() creates no second client')
  t.same(built.generations, [1], "one 'client' event")
  t.same(built.states, ['connected'])
  t.equal(session.state, 'connected')
  t.equal(session.client, built.clients[0])
  t.not(session.sessionId, '0')
  t.match(detail, `session 0x${session.sessionId} (timeout ${SESSION_MS} ms)`)
  t.equal(session.negotiatedTimeoutMs(), SESSION_MS)
})

t.test('a session survives a short ZooKeeper restart: same client, same session', async (t) => {
  const own = await startZooKeeper()
  t.teardown(() => own.stop())
  // The restart must not outlast the session, on any machine: make it long.
  const built = build(t, { hosts: own.connectString, sessionTimeoutMs: LONG_SESSION_MS })
  const { session } = built
  await startConnected(built)
  t.equal(session.negotiatedTimeoutMs(), LONG_SESSION_MS, 'ZooKeeper granted the long session')
  const sessionId = session.sessionId
  const statesBefore = built.states.length

  const noticed = nextState(session, 'disconnected')
  const back = nextState(session, 'connected')
  await own.kill()
  await noticed
  await own.restart()
  await back
  t.same(built.states.slice(statesBefore), ['disconnected', 'connected'], 'lost the connection, got it back')
  t.equal(session.sessionId, sessionId, 'the same session')
  t.equal(built.clients.length, 1, 'the same client')
  t.same(built.generations, [1], "no 'client' event")
})

t.test('a partition longer than the session timeout counts as lost; a new session follows, with the credentials', async (t) => {
  const proxy = await startTcpProxy(zk.port)
  t.teardown(() => proxy.close())
  const auth = 'natsmesh:s3cret'
  const built = build(t, { hosts: proxy.connectString, credentials: Buffer.from(auth) })
  const { session, logger } = built
  await startConnected(built)
  const oldSessionId = session.sessionId
  // Only our digest identity may read this znode: proof the credentials were sent.
  const path = uniquePath()
  const client = session.client
  if (client === null) throw new Error('connected without a client')
  await zkCreate(client, path, Buffer.from('guarded'), [new ACL(Permission.ALL, new Id('digest', digestId('natsmesh', 's3cret')))],
    CreateMode.PERSISTENT)
  const stranger = await rawClient(t, zk.connectString)
  t.equal(await zkGetData(stranger, path).then(() => 0, codeOf), Exception.NO_AUTH, 'a client without the credentials cannot read it')
  const statesBefore = built.states.length

  const lost = nextState(session, 'expired')
  proxy.cut()
  // Cut off, the library never hears that ZooKeeper expired the session: only our rule can say so.
  t.match(await lost, /counts as lost/, 'lost by the rule: no session for longer than its timeout')
  const back = nextState(session, 'connected')
  proxy.heal()
  await back
  t.same(built.states.slice(statesBefore), ['disconnected', 'expired', 'connected'], 'noticed, then lost, then a new session')
  t.not(session.sessionId, oldSessionId, 'a new session')
  t.ok(built.generations.length >= 2, "a new client, announced by a 'client' event")
  t.equal(session.client, built.clients[built.clients.length - 1], 'the current client is the newest')
  t.equal(logger.count('warn', 'listener threw'), 0)
  const newClient = session.client
  if (newClient === null) throw new Error('connected without a client')
  t.equal((await zkGetData(newClient, path)).toString(), 'guarded', 'the new session carries the credentials too')
})

t.test('a hung ZooKeeper (SIGSTOP) is noticed by the probe; a new session follows once it answers', async (t) => {
  const own = await startZooKeeper()
  t.teardown(async () => { own.resume(); await own.stop() })
  const built = build(t, { hosts: own.connectString })
  const { session } = built
  await startConnected(built)
  const oldSessionId = session.sessionId
  const statesBefore = built.states.length

  const noticed = nextState(session, 'disconnected')
  const lost = nextState(session, 'expired')
  own.pause()
  // A paused server keeps its sockets open: the library sees nothing, only the probe can.
  t.match(await noticed, /ZooKeeper stopped answering/)
  t.match(await lost, /counts as lost/)
  const back = nextState(session, 'connected')
  own.resume()
  await back
  t.same(built.states.slice(statesBefore), ['disconnected', 'expired', 'connected'], 'noticed, then lost, then a new session')
  t.not(session.sessionId, oldSessionId, 'a new session')
})

t.test('close() ends a live session at once; its ephemeral znodes go with it', async (t) => {
  // Long, so only close() (not an expiry) can remove the znode within the wait.
  const built = build(t, { hosts: zk.connectString, sessionTimeoutMs: LONG_SESSION_MS })
  const { session } = built
  await startConnected(built)
  const client = session.client
  if (client === null) throw new Error('connected without a client')
  const path = uniquePath()
  await zkCreate(client, path, null, [new ACL(Permission.ALL, new Id('world', 'anyone'))], CreateMode.EPHEMERAL)
  const raw = await rawClient(t, zk.connectString)
  t.ok(await exists(raw, path), 'the ephemeral znode is there')
  const generation = session.generation

  await Promise.all([session.close(), session.close()])
  t.same(built.states.slice(-1), ['closed'])
  t.equal(built.states.filter((s) => s === 'closed').length, 1, "one 'closed' event for two close() calls")
  t.equal(session.client, null)
  t.ok(session.generation > generation, 'work begun on the old client is void')
  await untilZnode(raw, path, 'removed with the session', (stat) => stat === null)
  t.pass('the znode went with the session')
  session.start()
  t.equal(session.client, null, 'start() after close() does nothing')
})

t.test('a throwing state listener is logged and does not stop the session', async (t) => {
  const built = build(t, { hosts: zk.connectString })
  built.session.on('state', () => { throw new Error('listener bug') })
  await startConnected(built)
  t.equal(built.logger.count('warn', 'listener bug'), 1)
  t.equal(built.session.state, 'connected')
})

t.test('no answer to the first handshake: a new client is tried after one session timeout', async (t) => {
  const own = await startZooKeeper()
  t.teardown(async () => { own.resume(); await own.stop() })
  own.pause()
  const built = build(t, { hosts: own.connectString })
  const { session } = built
  const replaced = new Promise<void>((resolve) => session.on('client', (g) => { if (g === 2) resolve() }))
  const connected = nextState(session, 'connected')
  session.start()
  await replaced
  t.equal(built.logger.count('debug', 'trying with a new client'), 1, 'quietly: a debug line, no state event')
  t.same(built.states, [], 'no state event while there was never a session')
  own.resume()
  await connected
  t.equal(session.client, built.clients[built.clients.length - 1], 'the newest client got the session')
})
