// `natsmesh node drain|stop` against a real ZooKeeper and real nodes: a drain
// under traffic moves every client of the drained node to the others, loses
// nothing for subscribers on other nodes, and takes the node out of ZooKeeper
// before its client listener closes (the drained node talks to ZooKeeper over
// a link that delays its answers, so that order can be watched); stop by
// monitoring URL; and the errors an operator meets. The subtests run in order
// on one cluster.
import { connect, type NatsConnection } from 'nats'
import t, { type Test } from 'tap'
import {
  NumberReceiver, NumberedPublisher, closeQuietly, connectTo, interestBarrier, publishUntil, sleep, uniqueSubject, until,
  waitForMesh,
} from '../helpers/cluster.js'
import { startDelayProxy } from '../helpers/delay-proxy.js'
import { isAccepting } from '../helpers/free-port.js'
import { runCli, startOpsNode } from '../helpers/ops.js'
import { memberPath, startZooKeeper, zkSession, znodeExists } from '../helpers/zookeeper.js'

const CLUSTER = 'drain'
/** Lame duck short enough for a test, long enough that clients are closed one batch at a time. */
const LAME_DUCK = ['--lame_duck_grace_period', '1s', '--lame_duck_duration', '2s']
const MOVERS = 6

/**
 * During the first test's drain, c hears ZooKeeper's answers this much late.
 * The drain deletes c's znode and waits (up to 2 s) for ZooKeeper to confirm
 * before it closes the client listener; the delay keeps that moment open long
 * enough to be seen from outside (znode gone, listener still accepting), where
 * without it the two steps are a few milliseconds apart. Its sync pass takes
 * one answer (exists) before the delete and a few more after it, so 500 ms
 * puts the delete at ~0.5 s and the close at ~2 s. The link has no delay until
 * just before the drain, so no earlier pass is still running when it starts.
 */
const ZK_ANSWER_DELAY_MS = 500

const zk = await startZooKeeper()
t.teardown(() => zk.stop())
const zkLinkOfC = await startDelayProxy(zk.port, 0)
t.teardown(() => zkLinkOfC.close())
const [A, B, C] = await Promise.all(['a', 'b', 'c'].map((name) =>
  startOpsNode(t, { name, cluster: CLUSTER, zk: name === 'c' ? zkLinkOfC.hostPort : zk.connectString, extraArgs: LAME_DUCK })))
await waitForMesh([A, B, C])
const zkFlags = ['--zk', zk.connectString, '--cluster_name', CLUSTER]

interface ListenerWatch {
  /** Polls until the listener is seen closed (or the bound runs out). */
  done: Promise<void>
  /** Poll rounds that saw the znode gone while the listener still accepted. */
  roundsGoneWhileAccepting: number
  /** Round in which the client port first refused; -1 if never. */
  listenerClosedRound: number
  /** Read right after the first refusal: the znode's state then. */
  znodeExistedAtClose: boolean | null
}

/**
 * Polls, in rounds: does C's znode exist, then does C's client port accept.
 * A round that finds the znode gone and then the port accepting proves the
 * order (gone, then closed). The read right after the first refusal can only
 * disprove it (the znode still there after the listener closed).
 */
function watchZnodeAndListener(t: Test, path: string, port: number): ListenerWatch {
  const w: ListenerWatch = { done: Promise.resolve(), roundsGoneWhileAccepting: 0, listenerClosedRound: -1, znodeExistedAtClose: null }
  w.done = (async () => {
    const client = await zkSession(t, zk.connectString)
    const deadline = Date.now() + 60_000
    for (let round = 0; round < 20_000 && Date.now() < deadline; round++) {
      const exists = await znodeExists(client, path)
      const accepting = await isAccepting(port)
      if (accepting && !exists) w.roundsGoneWhileAccepting++
      if (!accepting) {
        w.listenerClosedRound = round
        w.znodeExistedAtClose = await znodeExists(client, path)
        return
      }
      await sleep(2)
    }
  })()
  return w
}

/** A nats.js client that starts on C and may fail over to whatever C's INFO advertises. */
async function moverOn(t: Test, url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, reconnectTimeWait: 100, maxReconnectAttempts: 200, name: 'mover' })
  t.teardown(() => closeQuietly(nc))
  return nc
}

t.test('node drain under traffic: every client of c moves to a or b, subscribers on a and b lose nothing, the znode goes before the listener', async (t) => {
  const subject = uniqueSubject('drain')
  const pubConn = await connectTo(t, A)
  const subA = await connectTo(t, A)
  const subB = await connectTo(t, B)
  const rxA = new NumberReceiver(subA, subject)
  const rxB = new NumberReceiver(subB, subject)
  const movers = await Promise.all(Array.from({ length: MOVERS }, () => moverOn(t, C.url)))
  const moverRx = movers.map((nc) => new NumberReceiver(nc, subject))
  await Promise.all([subA, subB, ...movers].map((nc) => interestBarrier(pubConn, nc)))
  const others = [A.hostPort, B.hostPort].sort()
  await until('c\'s clients know a and b from connect_urls', () =>
    movers.every((nc) => others.every((hp) => nc.info?.connect_urls?.includes(hp) === true)))

  const publisher = new NumberedPublisher(pubConn, subject)
  publisher.start(t, 5)
  await until('the stream reaches b', () => rxB.seen.length > 20)

  zkLinkOfC.setDelay(ZK_ANSWER_DELAY_MS)
  const watch = watchZnodeAndListener(t, memberPath(CLUSTER, C.serverId), C.port)
  const drain = await runCli(['node', 'drain', 'c', ...zkFlags, '--wait', '--wait_timeout', '60s'], 90_000)
  t.equal(drain.code, 0, drain.stderr)
  t.match(drain.stdout, /^c \(N[A-Z0-9]{11}\): drain \(lame duck\) requested at http:\/\/127\.0\.0\.1:\d+$/m)
  t.match(drain.stdout, /^c \(N[A-Z0-9]{11}\): left the cluster membership after \d+\.\ds$/m, 'it reports when c left ZooKeeper')
  t.match(drain.stdout, /^c \(N[A-Z0-9]{11}\): stopped after \d+\.\ds$/m, 'and when it was gone')
  t.comment(drain.stdout.trim())
  t.same(await C.exited, { code: 0, signal: null }, 'c exits 0 after the drain')
  await watch.done

  t.not(watch.listenerClosedRound, -1, 'c\'s client listener was seen closing')
  t.ok(watch.roundsGoneWhileAccepting > 0,
    `c's znode was seen gone while its listener still accepted (${watch.roundsGoneWhileAccepting} poll rounds): the znode went first`)
  t.equal(watch.znodeExistedAtClose, false, 'when c\'s listener first refused, its znode was already gone')

  await until('every client of c is connected to a or b', () =>
    movers.every((nc) => !nc.isClosed() && others.includes(nc.getServer())), 20_000)
  t.pass(`all ${MOVERS} clients moved: ${movers.map((nc) => nc.getServer()).join(' ')}`)
  const fresh = uniqueSubject('moved')
  const reached = new Set<number>()
  movers.forEach((nc, i) => nc.subscribe(fresh, { callback: () => { reached.add(i) } }))
  await Promise.all(movers.map((nc) => nc.flush()))
  await publishUntil(pubConn, fresh, () => reached.size === MOVERS, 15_000)
  t.pass('each moved client receives what a publishes, through the mesh')

  const published = await publisher.stop()
  await until('a and b received the last number', () => rxA.last === published && rxB.last === published, 15_000)
  for (const [name, rx] of [['a', rxA], ['b', rxB]] as const) {
    const report = rx.report(published)
    t.match(report, { lost: 0, duplicates: 0, outOfOrder: 0 }, `subscriber on ${name}: nothing lost, duplicated or reordered of ${published}`)
  }
  const moverReports = moverRx.map((rx) => rx.report(published))
  t.ok(moverReports.every((r) => r.duplicates === 0 && r.outOfOrder === 0), 'moved subscribers: no duplicates, order kept')
  t.comment(`moved subscribers lost (inside the failover window): ${moverReports.map((r) => r.lost).join(' ')}`)
})

t.test('node stop by monitoring URL, with --wait: the node exits and the command says so', async (t) => {
  const D = await startOpsNode(t, { name: 'd', cluster: CLUSTER, zk: zk.connectString, extraArgs: LAME_DUCK })
  const stop = await runCli(['node', 'stop', D.monitorUrl, ...zkFlags, '--wait', '--wait_timeout', '60s'], 90_000)
  t.equal(stop.code, 0, stop.stderr)
  t.match(stop.stdout, new RegExp(`^d \\(${D.serverId.slice(0, 12)}\\): stop requested at ${D.monitorUrl.replace(/\./g, '\\.')}$`, 'm'))
  t.match(stop.stdout, /left the cluster membership after/)
  t.match(stop.stdout, /stopped after \d+\.\ds/)
  t.same(await D.exited, { code: 0, signal: null })
})

t.test('node drain finds a node by server id prefix and by client URL', async (t) => {
  const E = await startOpsNode(t, { name: 'e', cluster: CLUSTER, zk: zk.connectString, extraArgs: LAME_DUCK })
  const F = await startOpsNode(t, { name: 'f', cluster: CLUSTER, zk: zk.connectString, extraArgs: LAME_DUCK })
  await until('e and f are registered', async () => {
    const r = await runCli(['cluster', 'ls', ...zkFlags, '--json'])
    const ids = (JSON.parse(r.stdout) as { nodes: Array<{ id: string }> }).nodes.map((n) => n.id)
    return ids.includes(E.serverId) && ids.includes(F.serverId)
  })
  const byId = await runCli(['node', 'drain', E.serverId.slice(0, 12), ...zkFlags, '--wait'], 60_000)
  t.equal(byId.code, 0, byId.stderr)
  t.same(await E.exited, { code: 0, signal: null }, 'e drained by its short id')
  const byUrl = await runCli(['node', 'drain', F.url, ...zkFlags, '--wait'], 60_000)
  t.equal(byUrl.code, 0, byUrl.stderr)
  t.same(await F.exited, { code: 0, signal: null }, 'f drained by its client URL')
})

t.test('node drain errors name the problem: no such node, no monitoring URL, no ZooKeeper to look in, a URL with a path', async (t) => {
  const G = await startOpsNode(t, { name: 'g', cluster: CLUSTER, zk: zk.connectString, hasMonitor: false })
  await until('g is registered', async () => (await runCli(['cluster', 'ls', ...zkFlags])).stdout.includes('NO MONITOR'))

  const missing = await runCli(['node', 'drain', 'zz', ...zkFlags])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /^natsmesh: no node "zz" in cluster "drain" \(members: a \(N[A-Z0-9]{11}\), b \(N[A-Z0-9]{11}\), g \(N[A-Z0-9]{11}\)\)$/m)

  const noMonitor = await runCli(['node', 'drain', 'g', ...zkFlags])
  t.equal(noMonitor.code, 1)
  t.match(noMonitor.stderr, /node g \(N[A-Z0-9]{11}\) has no monitoring URL \(it was started without -m\/--http_port\): send its process SIGUSR2/)

  const noZk = await runCli(['node', 'stop', 'a'])
  t.equal(noZk.code, 2)
  t.match(noZk.stderr, /to find node "a", give --zk and --cluster_name; or give its monitoring URL/)

  const wrongPath = await runCli(['node', 'drain', `${A.monitorUrl}/varz`])
  t.equal(wrongPath.code, 2, 'a URL with a path is refused, not guessed at')
  t.match(wrongPath.stderr, /expected a monitoring URL such as http:\/\/host:8222/)

  t.equal(G.process.exitCode, null, 'g was left alone')
  t.ok(await isAccepting(A.port), 'a was left alone')
})
