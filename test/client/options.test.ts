// Options of natsmesh/client that change what it does, each seen from outside
// (docs/client.md "Options" and "Events"): zkAuth is used to read a guarded
// membership, nats.js's ignoreClusterUpdates is forced on with ZooKeeper, a
// throwing onEvent listener never breaks the client, and the nats.js version
// guard refuses a connection without the internals the library drives.
import { connect as natsConnect } from 'nats'
import zookeeper, { type Client } from 'node-zookeeper-client'
import t, { type Test } from 'tap'
import { CLIENT_ERROR_CODES, ClientError, connect, type NatsmeshConnectionOptions } from '../../src/client/index.js'
import { NatsInternals } from '../../src/client/nats-internals.js'
import { digestId } from '../../src/discovery/zookeeper-client.js'
import { FakeRoute, closeQuietly, sameIds, startMeshNode, uniqueSubject, until, watchMembers } from '../helpers/cluster.js'
import { connectClient } from '../helpers/client-cluster.js'
import { freePort } from '../helpers/free-port.js'
import { startZooKeeper } from '../helpers/zookeeper.js'

const zk = await startZooKeeper({ tickTimeMs: 500 })
t.teardown(() => zk.stop())

async function connectError(options: NatsmeshConnectionOptions): Promise<ClientError> {
  const err = await connect(options).then(async (nc) => { await nc.close(); return null }, (e: unknown) => e)
  if (!(err instanceof ClientError)) throw new Error(`expected a ClientError, got ${String(err)}`)
  return err
}

/** A node-zookeeper-client session with digest credentials; closed in t.teardown. */
async function zkAs(t: Test, auth: string): Promise<Client> {
  const client = zookeeper.createClient(zk.connectString, { sessionTimeout: 10_000 })
  t.teardown(() => client.close())
  client.addAuthInfo('digest', Buffer.from(auth))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ZooKeeper session')), 10_000)
    client.once('connected', () => { clearTimeout(timer); resolve() })
    client.connect()
  })
  return client
}

function create(client: Client, path: string, data: Buffer | null, acls: zookeeper.ACL[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | zookeeper.Exception | null): void => {
      if (err === null || (err instanceof zookeeper.Exception && err.getCode() === zookeeper.Exception.NODE_EXISTS)) resolve()
      else reject(err)
    }
    if (data === null) client.create(path, acls, zookeeper.CreateMode.PERSISTENT, done)
    else client.create(path, data, acls, zookeeper.CreateMode.PERSISTENT, done)
  })
}

t.test('zkAuth: a membership only one identity may read is read with its credentials, and refused without them', async (t) => {
  const cluster = 'guarded'
  const node = await startMeshNode(t, { label: 'G' })
  // The cluster's znodes readable by reader:pw alone (no world READ, unlike the nodes' own ACL).
  const owner = await zkAs(t, 'reader:pw')
  const open = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))]
  const onlyReader = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', digestId('reader', 'pw')))]
  await create(owner, '/natsmesh', null, open)
  await create(owner, '/natsmesh/clusters', null, open)
  await create(owner, `/natsmesh/clusters/${cluster}`, null, onlyReader)
  await create(owner, `/natsmesh/clusters/${cluster}/nodes`, null, onlyReader)
  const member = { clientUrl: node.url, id: 'NGUARDED', monitorUrl: null, name: 'g', routeUrl: 'nats://127.0.0.1:1', startTime: new Date().toISOString(), version: '0.1.0' }
  await create(owner, `/natsmesh/clusters/${cluster}/nodes/NGUARDED`, Buffer.from(JSON.stringify(member)), onlyReader)

  for (const [what, zkAuth] of [['without zkAuth', undefined], ['with a wrong password', 'reader:wrong']] as const) {
    const err = await connectError({ zookeeper: zk.connectString, cluster, zkAuth, zkConnectTimeoutMs: 5_000 })
    t.equal(err.code, CLIENT_ERROR_CODES.ZOOKEEPER_AUTH, `${what}: ZOOKEEPER_AUTH`)
    t.match(err.message, zk.connectString, `${what}: the message names ZooKeeper`)
    t.match(err.message, `'${cluster}'`, `${what}: and the cluster`)
  }
  const client = await connectClient(t, { zookeeper: zk.connectString, cluster, zkAuth: 'reader:pw', zkConnectTimeoutMs: 5_000 })
  t.equal(client.nc.getServer(), node.hostPort, 'with the credentials it read the member and connected to it')
  t.same(client.of('members')[0]?.urls, [node.url], 'the members event lists it')
})

t.test('with zookeeper, ignoreClusterUpdates is forced on: a URL a node advertises never enters the pool', async (t) => {
  const cluster = 'icu'
  const node = await startMeshNode(t, { label: 'I', zk: zk.connectString, cluster })
  const members = await watchMembers(t, zk.connectString, cluster)
  await until('ZooKeeper lists the node', () => sameIds(members.members(), [node]))
  const client = await connectClient(t, { zookeeper: zk.connectString, cluster, zkSessionTimeoutMs: 2_000 })
  // Plain nats.js on the same node: it follows connect_urls, as nats.js does by default.
  const plain = await natsConnect({ servers: node.url, reconnect: false })
  t.teardown(() => closeQuietly(plain))
  // A fake peer tells the node its clients should also know about a URL where nothing runs.
  const ghost = `127.0.0.1:${await freePort()}`
  const peer = await FakeRoute.connect(t, node.routePort, cluster)
  peer.send(`INFO ${JSON.stringify({ server_id: peer.serverId, server_name: 'ghost', cluster, connect_urls: [ghost] })}\r\n`)
  await until('both clients were sent connect_urls with the ghost URL', () =>
    [client.nc, plain].every((nc) => nc.info?.connect_urls?.includes(ghost) === true))
  t.ok(NatsInternals.fromConnection(plain).poolHostPorts().includes(ghost), 'plain nats.js added it to its pool (the setup shows the difference)')
  t.notOk(NatsInternals.fromConnection(client.nc).poolHostPorts().includes(ghost), 'the natsmesh client did not: its pool follows ZooKeeper')
  const refused = await connectError({ zookeeper: zk.connectString, cluster, ignoreClusterUpdates: false })
  t.equal(refused.code, CLIENT_ERROR_CODES.OPTIONS, 'asking for ignoreClusterUpdates: false is an OPTIONS error')
  t.match(refused.message, 'ignoreClusterUpdates', 'naming the option')
})

t.test('a throwing onEvent listener is reported on stderr and never breaks the client: it still fails over', async (t) => {
  const a = await startMeshNode(t, { label: 'A' })
  const b = await startMeshNode(t, { label: 'B' })
  const written: string[] = []
  const write = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest)
  }) as typeof process.stderr.write
  t.teardown(() => { process.stderr.write = write })
  const thrown: string[] = []
  const nc = await connect({
    servers: [a.url, b.url], noRandomize: true, maxReconnectAttempts: -1, reconnectTimeWait: 100,
    onEvent: (e) => { thrown.push(e.type); throw new Error(`listener failure on ${e.type}`) },
  })
  t.teardown(() => closeQuietly(nc))
  t.equal(nc.getServer(), a.hostPort, 'on A')
  await a.kill('SIGKILL')
  await until('the client reconnected to B', () => nc.getServer() === b.hostPort && thrown.includes('reconnected'), 15_000)
  t.ok(thrown.includes('disconnected') && thrown.includes('reconnected'), `the listener threw on ${thrown.join(', ')}`)
  const subject = uniqueSubject('after')
  const sub = nc.subscribe(subject, { max: 1 })
  nc.publish(subject, 'still works')
  for await (const m of sub) t.equal(m.string(), 'still works', 'publish and subscribe still work on B')
  const lines = written.join('')
  t.match(lines, /natsmesh client: an onEvent listener threw on 'disconnected': Error: listener failure on disconnected/, 'the throw is reported on stderr')
  t.match(lines, /an onEvent listener threw on 'reconnected'/, 'each time')
})

t.test('the nats.js version guard refuses a connection without the internals the library drives, and accepts the installed one', async (t) => {
  const node = await startMeshNode(t, { label: 'V' })
  const real = await natsConnect({ servers: node.url, reconnect: false })
  t.teardown(() => closeQuietly(real))
  t.doesNotThrow(() => NatsInternals.fromConnection(real), 'the installed nats passes')
  const protocol = Reflect.get(real, 'protocol') as Record<string, unknown>
  const lacking: Array<[string, unknown]> = [
    ['no protocol at all', {}],
    ['no publish', { protocol: { ...protocol, publish: undefined } }],
    ['no servers pool', { protocol: { ...protocol, servers: undefined } }],
    ['no request map', { protocol: { ...protocol, muxSubscriptions: {} } }],
    ['connected not a boolean', { protocol: { ...protocol, connected: 'yes' } }],
  ]
  for (const [what, fake] of lacking) {
    const err = (() => { try { NatsInternals.fromConnection(fake as never); return null } catch (e) { return e } })()
    t.ok(err instanceof ClientError && err.code === CLIENT_ERROR_CODES.NATS_VERSION, `${what}: NATS_VERSION`)
    t.match(String(err), /nats 2\.29/, `${what}: the message names the nats version it was written for`)
  }
})
