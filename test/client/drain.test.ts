// Planned moves: a node drained with SIGUSR2 (lame duck: it leaves ZooKeeper,
// then sends INFO ldm, waits a grace period, then closes its clients) is left
// by natsmesh/client before it closes them; so is a hung node once ZooKeeper
// drops it; a znode that disappears and comes straight back moves nobody;
// and, without ZooKeeper, a node that says `ldm` is left too.
import t, { type Test } from 'tap'
import type { NatsConnection } from 'nats'
import { memberPath, startZooKeeper, withZooKeeperSession } from '../helpers/zookeeper.js'
import {
  connectTo, interestBarrier, sameIds, sleep, startNodes, uniqueSubject, until, watchMembers, type MeshNode,
} from '../helpers/cluster.js'
import { connectClient, nodeOf, type RecordedClient } from '../helpers/client-cluster.js'
import { LEFT_MEMBERSHIP_CONFIRM_MS } from '../../src/client/failover.js'
import { zkRemove } from '../../src/discovery/zookeeper-client.js'

const zk = await startZooKeeper({ tickTimeMs: 500 })
t.teardown(() => zk.stop())
const LAME_DUCK_ARGS = ['--lame_duck_grace_period', '3s', '--lame_duck_duration', '1s']
/** Longer than a move takes, shorter than the client's moveGraceMs (2 s): in flight when the move starts. */
const SLOW_REPLY_MS = 800

/** Responders in queue group 'workers' answering after `delayMs`, until one sits on `target`; bounded. */
async function respondersOn(t: Test, cluster: string, target: MeshNode, nodes: MeshNode[], subject: string, delayMs: number): Promise<RecordedClient[]> {
  const responders: RecordedClient[] = []
  for (let i = 0; i < 30 && !responders.some((r) => nodeOf(nodes, r.nc) === target); i++) {
    const r = await connectClient(t, { zookeeper: zk.connectString, cluster, zkSessionTimeoutMs: 2_000 })
    r.nc.subscribe(subject, {
      queue: 'workers',
      callback: (_err, msg) => { setTimeout(() => msg.respond(`re:${msg.string()}`), delayMs) },
    })
    r.nc.subscribe(`${subject}.slow`, {
      queue: 'workers',
      callback: (_err, msg) => { setTimeout(() => msg.respond(`slow:${msg.string()}`), SLOW_REPLY_MS) },
    })
    await r.nc.flush()
    responders.push(r)
  }
  return responders
}

/** Sends requests one after another until stop(); counts answers and errors. */
class RequestStream {
  answered = 0
  wrong = 0
  readonly errors: string[] = []
  private isStopped = false
  private readonly done: Promise<void>

  constructor(nc: NatsConnection, subject: string, timeoutMs: number) {
    this.done = (async () => {
      for (let i = 1; i <= 100_000 && !this.isStopped; i++) {
        try {
          const reply = await nc.request(subject, String(i), { timeout: timeoutMs })
          if (reply.string() === `re:${i}`) this.answered++
          else this.wrong++
        } catch (err) {
          this.errors.push(`request ${i}: ${(err as Error).message}`)
        }
      }
    })()
  }

  async stop(): Promise<void> {
    this.isStopped = true
    await this.done
  }
}

t.test('a node drained with SIGUSR2 is left before it closes its clients: a stream of requests loses none', async (t) => {
  const nodes = await startNodes(t, zk.connectString, 'drain', 3, LAME_DUCK_ARGS)
  const requester = await connectClient(t, { zookeeper: zk.connectString, cluster: 'drain', zkSessionTimeoutMs: 2_000 })
  const drained = nodeOf(nodes, requester.nc)
  const subject = uniqueSubject('svc')
  const responders = await respondersOn(t, 'drain', drained, nodes, subject, 20)
  const onDrained = responders.filter((r) => nodeOf(nodes, r.nc) === drained)
  t.ok(onDrained.length > 0, 'a responder shares the drained node with the requester')
  for (const r of responders) await interestBarrier(requester.nc, r.nc)

  const stream = new RequestStream(requester.nc, subject, 3_000)
  await until('some requests are answered', () => stream.answered >= 20)
  const slow = requester.nc.request(`${subject}.slow`, 'before', { timeout: 5_000 }).then((m) => m.string(), (err: Error) => err.message)
  await requester.nc.flush()
  const drainedAt = Date.now()
  drained.process.kill('SIGUSR2')
  const movers = [requester, ...onDrained]
  await until('the requester and the responders on the drained node moved', () =>
    movers.every((c) => c.of('reconnected').some((e) => e.planned)), 10_000)
  const movedMs = Date.now() - drainedAt
  const exit = await drained.exited
  const answeredAtExit = stream.answered
  await until('requests go on after the node exited', () => stream.answered >= answeredAtExit + 20)
  await stream.stop()

  t.equal(await slow, 'slow:before', 'a request sent just before the drain gets its answer')
  t.same(stream.errors, [], 'no request failed or timed out')
  t.equal(stream.wrong, 0, 'every answer matches its request')
  for (const c of movers) {
    t.not(c.nc.getServer(), drained.hostPort, 'a client of the drained node is elsewhere')
    t.ok(c.of('moving').some((e) => e.reason === 'left-membership' || e.reason === 'lame-duck'), 'it moved because the node left')
  }
  t.equal(exit.code, 0, 'the drained node exited cleanly')
  t.comment(`drain: every client moved ${movedMs} ms after SIGUSR2 (node exited ${Date.now() - drainedAt} ms in); ` +
    `${stream.answered} requests answered, move gaps ${movers.map((c) => c.of('reconnected')[0]?.gapMs).join(', ')} ms`)
})

t.test('a hung node (SIGSTOP) is left once ZooKeeper drops it, long before nats.js PINGs would notice', async (t) => {
  const nodes = await startNodes(t, zk.connectString, 'hung', 2)
  const client = await connectClient(t, { zookeeper: zk.connectString, cluster: 'hung', zkSessionTimeoutMs: 2_000 })
  const hung = nodeOf(nodes, client.nc)
  // Registered after startNodes' teardown, so it runs first: a stopped process only dies by SIGKILL.
  t.teardown(() => hung.kill('SIGKILL'))
  const subject = uniqueSubject('svc')
  client.nc.subscribe(subject, { callback: (_err, msg) => msg.respond('here') })
  await client.nc.flush()

  const stoppedAt = Date.now()
  hung.process.kill('SIGSTOP')
  await until('the client moved', () => client.of('reconnected').length > 0, 15_000)
  t.not(client.nc.getServer(), hung.hostPort, 'the client left the hung node')
  t.equal(client.of('moving')[0]?.reason, 'left-membership', 'because ZooKeeper no longer lists it')
  const other = nodes.find((n) => n !== hung) ?? hung
  const probe = await connectTo(t, other)
  await interestBarrier(probe, client.nc)
  t.equal((await probe.request(subject, '', { timeout: 2_000 })).string(), 'here', 'its subscription answers from the new node')
  t.comment(`left the hung node ${client.of('reconnected')[0].gapMs} ms after deciding to, ` +
    `${Date.now() - stoppedAt} ms after SIGSTOP (node session timeout 2 s; nats.js alone: ping interval 2 min × 2)`)
})

t.test('a znode deleted and registered again at once does not move clients', async (t) => {
  const nodes = await startNodes(t, zk.connectString, 'blip', 2)
  const client = await connectClient(t, { zookeeper: zk.connectString, cluster: 'blip', zkSessionTimeoutMs: 2_000 })
  const here = nodeOf(nodes, client.nc)
  const watch = await watchMembers(t, zk.connectString, 'blip')
  await withZooKeeperSession(zk.connectString, (client) => zkRemove(client, memberPath('blip', here.serverId), -1))
  await until('the node registered again', () => sameIds(watch.members(), nodes))
  await sleep(LEFT_MEMBERSHIP_CONFIRM_MS + 500)
  t.equal(client.nc.getServer(), here.hostPort, 'the client stayed on its node')
  t.same(client.of('moving'), [], 'and never started a move')
})

t.test('without ZooKeeper, a client given servers moves off a node in lame duck', async (t) => {
  const nodes = await startNodes(t, zk.connectString, 'plain', 2, LAME_DUCK_ARGS)
  const client = await connectClient(t, { servers: nodes.map((n) => n.url), reconnectTimeWait: 250 })
  const drained = nodeOf(nodes, client.nc)
  await until('the client knows the other node', () => (client.nc.info?.connect_urls?.length ?? 0) >= 2)
  drained.process.kill('SIGUSR2')
  await until('the client moved', () => client.of('reconnected').some((e) => e.planned), 10_000)
  t.equal(client.of('moving')[0]?.reason, 'lame-duck', 'because the node announced lame duck')
  t.not(client.nc.getServer(), drained.hostPort, 'it is on the other node')
  await drained.exited
})
