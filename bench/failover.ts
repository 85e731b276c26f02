// Failover time, natsmesh/client on a 3-node natsmesh cluster (ZooKeeper)
// beside plain nats.js on a 3-node nats-server cluster, in the same run:
// `npm run bench -- --only failover` (or `--failover` with other scenarios).
//
// One round: a subscriber (the client under test) listens on a subject; a
// pinned plain publisher on another node publishes a numbered message every
// millisecond; the node the subscriber is on gets SIGKILL. Failover time =
// SIGKILL → the first message the subscriber receives after the killed
// process is gone (so it came through another node). Also shown: the client's
// own share, from its 'disconnect' status (the socket closed) to that first
// message; the rest is the kernel tearing the process down, which takes a few
// ms longer for a Node.js process than for Go's nats-server. The node is then started
// again on the same ports and the cluster is meshed again before the next
// round. Each side runs ROUNDS rounds; min / median / max and the ratios are
// printed. See docs/benchmarks.md, "Failover".
import { Events, connect as natsConnect, type NatsConnection } from 'nats'
import { connect as natsmeshConnect } from '../src/client/index.js'
import { LocalCluster, freeNodePorts } from '../src/local/cluster.js'
import { LocalNode } from '../src/local/local-node.js'
import { waitForMesh } from '../src/local/mesh-probe.js'
import { sleep, until } from '../src/wait.js'
import { startLocalZooKeeper } from '../src/local/zookeeper.js'

export const FAILOVER_ROUNDS = 10
const PUBLISH_EVERY_MS = 1
const RESUME_TIMEOUT_MS = 15_000
/** Between rounds, after the mesh is back: let reconnect timers and ZooKeeper sessions settle. */
const SETTLE_MS = 500
/** Starting a node, and the mesh forming again around it. */
const READY_TIMEOUT_MS = 20_000
const NODE_NAMES = ['A', 'B', 'C']

export interface FailoverSide {
  client: string
  cluster: string
  /** SIGKILL → first message again, per round. */
  roundsMs: number[]
  /** The subscriber's 'disconnect' status → first message again, per round. */
  clientMs: number[]
  errors: string[]
}

export interface FailoverReport {
  natsmesh: FailoverSide
  natsServer: FailoverSide
}

/** What a round needs from a cluster, whichever server it runs. */
interface Cluster {
  nodes: readonly LocalNode[]
  /** Starts a killed node again on its ports and waits until the mesh is whole again. */
  restart(node: LocalNode): Promise<void>
  stop(): Promise<void>
}

export async function runFailoverBench(options: { rounds?: number; natsServerCommand: string[]; natsmeshCommand: string[] }): Promise<FailoverReport> {
  const rounds = options.rounds ?? FAILOVER_ROUNDS
  const natsmesh: FailoverSide = { client: 'natsmesh/client (ZooKeeper)', cluster: '3 × natsmesh', roundsMs: [], clientMs: [], errors: [] }
  const natsServer: FailoverSide = { client: 'nats.js 2.29 (servers, defaults)', cluster: '3 × nats-server', roundsMs: [], clientMs: [], errors: [] }

  const zk = await startLocalZooKeeper({ dirPrefix: 'natsmesh-bench-zk-' })
  try {
    const cluster = await LocalCluster.start({
      clusterName: 'failover-bench', nodeNames: NODE_NAMES, ports: await freeNodePorts(NODE_NAMES.length),
      nodeFlags: ['--zk_session_timeout', '2s'], command: options.natsmeshCommand,
    }, { kind: 'external-zk', connectString: zk.connectString }, READY_TIMEOUT_MS)
    const mesh: Cluster = {
      nodes: cluster.nodes,
      async restart(node) {
        await cluster.restart(node, READY_TIMEOUT_MS)
        await cluster.waitForMesh(READY_TIMEOUT_MS)
      },
      stop: () => cluster.stop(READY_TIMEOUT_MS),
    }
    try {
      await cluster.waitForMesh(READY_TIMEOUT_MS)
      const sub = await natsmeshConnect({
        zookeeper: zk.connectString, cluster: 'failover-bench', zkSessionTimeoutMs: 2_000, onEvent: () => { /* measured here, not logged */ },
      })
      await runRounds(natsmesh, mesh, sub, rounds)
      await sub.close()
    } finally {
      await mesh.stop()
    }
  } catch (err) {
    natsmesh.errors.push((err as Error).message)
  } finally {
    await zk.stop()
  }

  try {
    const reference = await NatsServerCluster.start(options.natsServerCommand, 3)
    try {
      // The plain client as most applications run it: every node in servers, nats.js's defaults otherwise.
      const sub = await natsConnect({ servers: reference.nodes.map((n) => n.clientUrl), maxReconnectAttempts: -1 })
      await runRounds(natsServer, reference, sub, rounds)
      await sub.close()
    } finally {
      await reference.stop()
    }
  } catch (err) {
    natsServer.errors.push((err as Error).message)
  }
  return { natsmesh, natsServer }
}

/** When the connection last reported 'disconnect'. */
class DisconnectWatch {
  lastAt = 0
  constructor(nc: NatsConnection) {
    void (async () => {
      for await (const s of nc.status()) if (s.type === Events.Disconnect) this.lastAt = Date.now()
    })()
  }
}

async function runRounds(side: FailoverSide, cluster: Cluster, sub: NatsConnection, rounds: number): Promise<void> {
  const watch = new DisconnectWatch(sub)
  for (let round = 1; round <= rounds; round++) {
    try {
      const { totalMs, clientMs } = await oneRound(cluster, sub, watch, round)
      side.roundsMs.push(totalMs)
      side.clientMs.push(clientMs)
      console.error(`failover ${side.cluster} round ${round}/${rounds}: ${totalMs} ms (disconnect → message ${clientMs} ms)`)
    } catch (err) {
      side.errors.push(`round ${round}: ${(err as Error).message}`)
      console.error(`failover ${side.cluster} round ${round}/${rounds}: ERROR ${(err as Error).message}`)
    }
  }
}

async function oneRound(cluster: Cluster, sub: NatsConnection, watch: DisconnectWatch, round: number): Promise<{ totalMs: number; clientMs: number }> {
  const victim = cluster.nodes.find((n) => n.hostPort === sub.getServer())
  if (victim === undefined) throw new Error(`the subscriber is on ${sub.getServer()}, not a node of the cluster`)
  const pubNode = cluster.nodes.find((n) => n !== victim && n.isRunning) ?? victim
  const pub = await natsConnect({ servers: pubNode.clientUrl, reconnect: false, ignoreClusterUpdates: true })
  const subject = `bench.failover.${round}.${Date.now()}`
  const arrivals: number[] = []
  const subscription = sub.subscribe(subject, { callback: () => { arrivals.push(Date.now()) } })
  let timer: NodeJS.Timeout | null = null
  try {
    await sub.flush()
    await until('the subscription is known on the publisher\'s node', async () => {
      pub.publish(subject)
      await pub.flush()
      await sleep(20)
      return arrivals.length > 0
    }, RESUME_TIMEOUT_MS)
    timer = setInterval(() => pub.publish(subject), PUBLISH_EVERY_MS)
    await sleep(100)
    const killedAt = Date.now()
    await victim.process?.kill()
    const goneAt = Date.now()
    await until('a message arrives through another node', () => arrivals.some((t) => t > goneAt), RESUME_TIMEOUT_MS)
    const resumedAt = arrivals.find((t) => t > goneAt) ?? goneAt
    const disconnectedAt = watch.lastAt >= killedAt ? watch.lastAt : goneAt
    return { totalMs: resumedAt - killedAt, clientMs: resumedAt - disconnectedAt }
  } finally {
    if (timer !== null) clearInterval(timer)
    subscription.unsubscribe()
    await pub.close().catch(() => { /* its node may be gone */ })
    await cluster.restart(victim)
    await sleep(SETTLE_MS)
  }
}

/** nats-server nodes routed to each other (`--routes`), restarted on the same ports. */
class NatsServerCluster implements Cluster {
  readonly nodes: LocalNode[]

  private constructor(nodes: LocalNode[]) {
    this.nodes = nodes
  }

  static async start(command: string[], count: number): Promise<NatsServerCluster> {
    const ports = await freeNodePorts(count)
    const nodes = ports.map((p, i) => new LocalNode({
      name: NODE_NAMES[i], clusterName: 'failover-bench', ports: p, command,
      args: ['--routes', ports.filter((_, k) => k !== i).map((o) => `nats://127.0.0.1:${o.route}`).join(',')],
    }))
    const cluster = new NatsServerCluster(nodes)
    try {
      for (const n of nodes) n.start()
      await Promise.all(nodes.map((n) => n.waitReady(READY_TIMEOUT_MS)))
      await cluster.waitForMesh()
    } catch (err) {
      await cluster.stop()
      throw err
    }
    return cluster
  }

  async restart(node: LocalNode): Promise<void> {
    await node.process?.kill()
    node.start()
    await node.waitReady(READY_TIMEOUT_MS)
    await this.waitForMesh()
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.process?.kill()))
  }

  private async waitForMesh(): Promise<void> {
    await waitForMesh(this.nodes.map((n) => ({ url: n.clientUrl, label: n.name })), READY_TIMEOUT_MS)
  }
}

function stats(values: number[]): { min: number; median: number; max: number } | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return { min: sorted[0], median, max: sorted[sorted.length - 1] }
}

export function formatFailoverReport(report: FailoverReport): string {
  const lines: string[] = []
  const ratio = (x: number, y: number): string => (y === 0 ? '-' : (x / y).toFixed(2))
  const tables: Array<[string, (side: FailoverSide) => number[]]> = [
    ['SIGKILL of the subscriber\'s node → first message received again (ms)', (side) => side.roundsMs],
    ['the subscriber\'s disconnect status → first message received again (ms)', (side) => side.clientMs],
  ]
  for (const [title, pick] of tables) {
    lines.push(`Failover: ${title}`, '')
    lines.push(`${'client'.padEnd(36)}${'cluster'.padEnd(18)}${'rounds'.padStart(7)}${'min'.padStart(8)}${'median'.padStart(8)}${'max'.padStart(8)}`)
    for (const side of [report.natsmesh, report.natsServer]) {
      const s = stats(pick(side))
      const cells = s === null ? ['-', '-', '-'] : [String(s.min), String(s.median), String(s.max)]
      lines.push(`${side.client.padEnd(36)}${side.cluster.padEnd(18)}${String(pick(side).length).padStart(7)}` +
        cells.map((c) => c.padStart(8)).join(''))
    }
    const a = stats(pick(report.natsmesh))
    const b = stats(pick(report.natsServer))
    if (a !== null && b !== null) {
      lines.push(`ratio nats.js / natsmesh (above 1: natsmesh/client resumes sooner): ` +
        `min ${ratio(b.min, a.min)}, median ${ratio(b.median, a.median)}, max ${ratio(b.max, a.max)}`)
    }
    lines.push(`per round: ${pick(report.natsmesh).join(', ')} (natsmesh); ${pick(report.natsServer).join(', ')} (nats-server)`, '')
  }
  for (const side of [report.natsmesh, report.natsServer]) {
    for (const e of side.errors) lines.push(`error (${side.cluster}): ${e}`)
  }
  return lines.join('\n')
}
