// Bad inputs to connect(): each gives a ClientError with its code and a
// message naming what was tried. Also: plain `servers` go through to nats.js
// untouched, errors included.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { NatsError, StringCodec } from 'nats'
import t, { type Test } from 'tap'
import { CLIENT_ERROR_CODES, CacheError, ClientError, NatsmeshError, connect, type NatsmeshConnectionOptions } from '../../src/client/index.js'
import { freePort } from '../helpers/free-port.js'
import { memberPath, startZooKeeper, withZooKeeperSession } from '../helpers/zookeeper.js'
import { startMeshNode } from '../helpers/cluster.js'
import { eventRecorder, tempDir } from '../helpers/client-cluster.js'

const zk = await startZooKeeper({ tickTimeMs: 500 })
t.teardown(() => zk.stop())

async function connectError(options: NatsmeshConnectionOptions): Promise<ClientError> {
  const err = await connect(options).then(async (nc) => { await nc.close(); return null }, (e: unknown) => e)
  if (!(err instanceof ClientError)) throw new Error(`expected a ClientError, got ${String(err)}`)
  return err
}

/** A ZooKeeper address where nothing listens. */
async function deadZooKeeper(): Promise<string> {
  return `127.0.0.1:${await freePort()}`
}

function expectNames(t: Test, err: Error, names: string[]): void {
  for (const name of names) t.match(err.message, name, `the message names ${name}`)
}

t.test('unreachable ZooKeeper and no cache file configured: UNREACHABLE, after the ZooKeeper timeout', async (t) => {
  const dead = await deadZooKeeper()
  const started = Date.now()
  const err = await connectError({ zookeeper: dead, cluster: 'x', zkConnectTimeoutMs: 500 })
  t.comment(`rejected after ${Date.now() - started} ms`)
  t.ok(err instanceof NatsmeshError, 'a NatsmeshError')
  t.equal(err.code, CLIENT_ERROR_CODES.UNREACHABLE)
  expectNames(t, err, [dead, "'x'", 'no cacheFile is configured', '500 ms'])
})

t.test('unreachable ZooKeeper and a missing cache file: UNREACHABLE naming both', async (t) => {
  const dead = await deadZooKeeper()
  const cacheFile = path.join(await tempDir(t), 'never-written.json')
  const { events, onEvent } = eventRecorder()
  const err = await connectError({ zookeeper: dead, cluster: 'x', cacheFile, zkConnectTimeoutMs: 300, onEvent })
  t.equal(err.code, CLIENT_ERROR_CODES.UNREACHABLE)
  t.ok(err.cause instanceof CacheError && err.cause.problem === 'missing', 'caused by a CacheError: missing')
  expectNames(t, err, [dead, cacheFile, 'does not exist'])
  t.ok(events.some((e) => e.type === 'cache-error' && e.problem === 'missing'), "a 'cache-error' event reports it too")
})

t.test('unreachable ZooKeeper and a corrupt cache file: UNREACHABLE, the cache reported corrupt, no crash', async (t) => {
  const dead = await deadZooKeeper()
  const cacheFile = path.join(await tempDir(t), 'corrupt.json')
  await writeFile(cacheFile, '{"version":1,"cluster":"x","urls":["nats://127.0.0.1:1",')
  const { events, onEvent } = eventRecorder()
  const err = await connectError({ zookeeper: dead, cluster: 'x', cacheFile, zkConnectTimeoutMs: 300, onEvent })
  t.equal(err.code, CLIENT_ERROR_CODES.UNREACHABLE)
  t.ok(err.cause instanceof CacheError && err.cause.problem === 'corrupt', 'caused by a CacheError: corrupt')
  expectNames(t, err, [dead, cacheFile, 'corrupt'])
  const reported = events.find((e) => e.type === 'cache-error')
  t.match(reported, { level: 'warn', problem: 'corrupt', file: cacheFile }, 'reported as a warning event')
})

t.test('unreachable ZooKeeper and a cache whose nodes are all down: UNREACHABLE naming ZooKeeper and every cached URL', async (t) => {
  const dead = await deadZooKeeper()
  const cacheFile = path.join(await tempDir(t), 'stale.json')
  const urls = [`nats://127.0.0.1:${await freePort()}`, `nats://127.0.0.1:${await freePort()}`]
  await writeFile(cacheFile, JSON.stringify({ version: 1, cluster: 'x', zookeeper: dead, time: new Date().toISOString(), urls }))
  const { events, onEvent } = eventRecorder()
  const err = await connectError({ zookeeper: dead, cluster: 'x', cacheFile, zkConnectTimeoutMs: 300, onEvent })
  t.equal(err.code, CLIENT_ERROR_CODES.UNREACHABLE)
  expectNames(t, err, [dead, cacheFile, ...urls])
  t.ok(events.some((e) => e.type === 'cache-used'), 'it said it tried the cache')
})

t.test('an unknown cluster name (no members in ZooKeeper): NO_MEMBERS naming the cluster and ZooKeeper', async (t) => {
  const err = await connectError({ zookeeper: zk.connectString, cluster: 'no-such-cluster' })
  t.equal(err.code, CLIENT_ERROR_CODES.NO_MEMBERS)
  expectNames(t, err, ["'no-such-cluster'", zk.connectString, '/natsmesh/clusters/no-such-cluster/nodes'])
})

t.test('members in ZooKeeper whose nodes do not answer: CONNECT naming every URL tried', async (t) => {
  const ghost = `nats://127.0.0.1:${await freePort()}`
  await createZnodes(zk.connectString, 'ghost', 'NGHOST1', ghost)
  const err = await connectError({ zookeeper: zk.connectString, cluster: 'ghost' })
  t.equal(err.code, CLIENT_ERROR_CODES.CONNECT)
  expectNames(t, err, ["'ghost'", ghost, `from ZooKeeper ${zk.connectString}`])
})

t.test('bad options are OPTIONS errors naming the option', async (t) => {
  const cases: Array<[string, NatsmeshConnectionOptions, string]> = [
    ['zookeeper without cluster', { zookeeper: zk.connectString }, 'cluster'],
    ['cluster without zookeeper', { cluster: 'x' }, 'cluster'],
    ['servers with zookeeper', { zookeeper: zk.connectString, cluster: 'x', servers: ['127.0.0.1:4222'] }, 'servers'],
    ['a cluster name with a slash', { zookeeper: zk.connectString, cluster: 'a/b' }, 'cluster'],
    ['a bad connect string', { zookeeper: '127.0.0.1:notaport', cluster: 'x' }, 'connectString'],
    ['a negative buffer', { servers: '127.0.0.1:4222', publishBufferBytes: -1 }, 'publishBufferBytes'],
    ['reconnect off with zookeeper', { zookeeper: zk.connectString, cluster: 'x', reconnect: false }, 'reconnect'],
  ]
  for (const [name, options, mention] of cases) {
    const err = await connectError(options)
    t.equal(err.code, CLIENT_ERROR_CODES.OPTIONS, `${name}: OPTIONS`)
    t.match(err.message, mention, `${name}: names ${mention}`)
  }
})

t.test('plain servers go straight to nats.js: it works, and its errors are its own', async (t) => {
  const node = await startMeshNode(t, { label: 'P' })
  const nc = await connect({ servers: node.url })
  t.teardown(() => nc.close())
  const sc = StringCodec()
  nc.subscribe('plain.echo', { callback: (_err, msg) => msg.respond(msg.data) })
  t.equal(sc.decode((await nc.request('plain.echo', sc.encode('hi'), { timeout: 2_000 })).data), 'hi', 'request/reply works')
  const err = await connect({ servers: `127.0.0.1:${await freePort()}`, reconnect: false }).then(() => null, (e: unknown) => e)
  t.ok(err instanceof NatsError, "nats.js's NatsError comes through unchanged")
})

/** Creates /natsmesh/clusters/<cluster>/nodes/<id> holding a member record that points at `clientUrl`. */
function createZnodes(connectString: string, cluster: string, id: string, clientUrl: string): Promise<void> {
  const member = { clientUrl, id, monitorUrl: null, name: id, routeUrl: 'nats://127.0.0.1:1', startTime: new Date().toISOString(), version: '0.1.0' }
  return withZooKeeperSession(connectString, (client) => new Promise<void>((resolve, reject) => {
    client.mkdirp(memberPath(cluster, id), Buffer.from(JSON.stringify(member)), (err) => (err ? reject(err) : resolve()))
  }))
}
