// ZooKeeper down: a new client connects from the cache file and says so once;
// ZooKeeper back: it follows the membership again, so a node started after
// the outage becomes its failover target when its node dies.
import path from 'node:path'
import t from 'tap'
import { readCache } from '../../src/client/index.js'
import { normalizeUrl } from '../../src/client/pool.js'
import { startZooKeeper } from '../helpers/zookeeper.js'
import {
  NumberReceiver, closeQuietly, connectTo, interestBarrier, sameIds, startMeshNode, uniqueSubject, until, waitForMesh, watchMembers,
} from '../helpers/cluster.js'
import { connectClient, tempDir } from '../helpers/client-cluster.js'

t.test('ZooKeeper stopped: a new client connects from the cache; ZooKeeper back: it follows new members and fails over to one', async (t) => {
  const zk = await startZooKeeper({ tickTimeMs: 500 })
  t.teardown(() => zk.stop())
  const cacheFile = path.join(await tempDir(t), 'outage-nodes.json')
  const options = { zookeeper: zk.connectString, cluster: 'outage', cacheFile, zkSessionTimeoutMs: 2_000, zkConnectTimeoutMs: 1_000 }
  const a = await startMeshNode(t, { label: 'A', zk: zk.connectString, cluster: 'outage' })
  const watch = await watchMembers(t, zk.connectString, 'outage')
  await until('ZooKeeper lists A', () => sameIds(watch.members(), [a]))

  const first = await connectClient(t, options)
  t.same((await readCache(cacheFile, 'outage')).urls, [a.url], 'connecting through ZooKeeper wrote the cache')
  await closeQuietly(first.nc)

  await zk.kill()
  const startedAt = Date.now()
  const client = await connectClient(t, options)
  t.comment(`connected from the cache in ${Date.now() - startedAt} ms (ZooKeeper timeout 1000 ms)`)
  t.equal(client.nc.getServer(), a.hostPort, 'the client is on A, found through the cache')
  const used = client.of('cache-used')
  t.equal(used.length, 1, 'it said once that it used the cache')
  t.equal(used[0]?.level, 'warn', 'as a warning')
  t.match(used[0]?.message ?? '', cacheFile, 'naming the cache file')
  t.match(used[0]?.message ?? '', zk.connectString, 'and the ZooKeeper that did not answer')

  await zk.restart()
  const n = await startMeshNode(t, { label: 'N', zk: zk.connectString, cluster: 'outage' })
  await until('the client hears of N through ZooKeeper', () => client.of('members').some((e) => e.added.includes(n.hostPort)), 20_000)
  await waitForMesh([a, n])
  await until('the cache now lists A and N', async () => {
    const cached = await readCache(cacheFile, 'outage').catch(() => null)
    return cached !== null && cached.urls.map((u) => normalizeUrl(u)).sort().join() === [a.hostPort, n.hostPort].sort().join()
  })
  t.pass('the cache follows the membership again')

  const subject = uniqueSubject('outage')
  const rx = new NumberReceiver(client.nc, subject)
  await client.nc.flush()
  await a.kill('SIGKILL')
  await until('the client fails over', () => client.of('reconnected').length > 0, 15_000)
  t.equal(client.nc.getServer(), n.hostPort, 'it moved to N, a node it only knows from ZooKeeper after the outage')
  const pubConn = await connectTo(t, n)
  await interestBarrier(pubConn, client.nc)
  pubConn.publish(subject, '1')
  await rx.waitFor(1)
  t.pass('its subscription works on N')
  t.equal(client.of('cache-used').length, 1, 'the cache was announced once in all')
})
