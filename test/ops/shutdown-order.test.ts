// SIGTERM, in the order docs/architecture.md "Lifecycle" gives: leave
// ZooKeeper (close the session, which removes the znode), then close the
// clients (their subscriptions go out as RS- on the still-open routes), then
// close the routes, flushed, and exit 0.
//
// The node talks to ZooKeeper over a link that delays ZooKeeper's answers, so
// it hears that its session is closed a second after ZooKeeper removed the
// znode (the node waits up to 1 s for that answer): in that second, a node
// that keeps the order still serves its clients, and the test sees it.
import { Event } from 'node-zookeeper-client'
import t from 'tap'
import { FakeRoute, sameIds, uniqueSubject, until, watchMembers } from '../helpers/cluster.js'
import { startDelayProxy } from '../helpers/delay-proxy.js'
import { freePort } from '../helpers/free-port.js'
import { startOpsNode } from '../helpers/ops.js'
import { RawClient } from '../helpers/raw-client.js'
import { memberPath, startZooKeeper, zkSession } from '../helpers/zookeeper.js'

const ZK_ANSWER_DELAY_MS = 1_500
const CLUSTER = 'order'

t.test('SIGTERM leaves ZooKeeper first, then closes clients (their RS- reach peers), then routes, and exits 0', async (t) => {
  const zk = await startZooKeeper({ tickTimeMs: 500 })
  t.teardown(() => zk.stop())
  const zkLink = await startDelayProxy(zk.port, ZK_ANSWER_DELAY_MS)
  t.teardown(() => zkLink.close())
  // A long session: ZooKeeper's answers come 1.5 s late on this link.
  const routePort = await freePort()
  const node = await startOpsNode(t, { name: 'a', cluster: CLUSTER, zk: zkLink.hostPort, routePort, zkSessionTimeout: '30s' })
  const members = await watchMembers(t, zk.connectString, CLUSTER)
  await until('ZooKeeper lists the node', () => sameIds(members.members(), [node]), 30_000)

  const peer = await FakeRoute.connect(t, routePort, CLUSTER)
  const client = await RawClient.connect(node.port)
  t.teardown(() => client.close())
  await client.waitFor((text) => text.includes('\r\n'))
  const subjects = [uniqueSubject('order'), uniqueSubject('order')]
  client.send(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${subjects[0]} 1\r\nSUB ${subjects[1]} 2\r\nPING\r\n`)
  await client.waitFor((text) => text.includes('PONG\r\n'))
  for (const s of subjects) await peer.waitForLine(`RS+ $G ${s}`)

  // Armed before the SIGTERM: the moment ZooKeeper removes the znode, the client sends a PING.
  const watcher = await zkSession(t, zk.connectString)
  const pongsBefore = client.text().split('PONG\r\n').length - 1
  let isPingSent = false
  const znodeGone = new Promise<void>((resolve, reject) => {
    watcher.exists(memberPath(CLUSTER, node.serverId), (event) => {
      if (event.getType() !== Event.NODE_DELETED) return
      client.send('PING\r\n')
      isPingSent = true
      resolve()
    }, (err, stat) => {
      if (err !== null) reject(err)
      else if (stat === null) reject(new Error('the znode was gone before the SIGTERM'))
    })
  })

  node.process.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  await Promise.race([znodeGone, new Promise<void>((resolve) => { timer = setTimeout(resolve, 30_000) })])
  clearTimeout(timer)
  t.ok(isPingSent, 'ZooKeeper removed the node\'s znode')
  const afterDelete = await client.waitFor((text) => text.split('PONG\r\n').length - 1 > pongsBefore, 10_000)
  t.ok(afterDelete.split('PONG\r\n').length - 1 > pongsBefore, 'a PING sent after the znode was removed still got its PONG: clients were closed after leaving ZooKeeper')

  await until('the client is closed', () => client.closed(), 15_000)
  await until('the route is closed', () => peer.closed(), 15_000)
  t.same(peer.lines('RS-').sort(), subjects.map((s) => `RS- $G ${s}`).sort(),
    'the closed client\'s subscriptions reached the peer as RS-: the route was still open when the clients were closed')
  t.same(await node.exited, { code: 0, signal: null }, 'exit code 0')
})
