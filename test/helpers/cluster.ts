// Cluster test helpers: real node processes joined through ZooKeeper or a
// static seed list, convergence judged with real traffic (waitForMesh), a
// numbered stream that tells loss, duplicates and reordering apart, a
// watch-only ZooKeeper membership view, and a fake route speaking the route
// protocol over a raw socket (nats-server's setupRoute pattern, STYLE.md P17).
//
// Everything started here is stopped in the caller's t.teardown. Every wait is
// bounded in time and in count; nothing here asserts a timing, it returns the
// measurement so the test can print it with t.comment.
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { connect as natsConnect, type ConnectionOptions, type NatsConnection, type Subscription } from 'nats'
import type { Test } from 'tap'
import type { MemberInfo } from '../../src/discovery/discovery.js'
import { ZooKeeperDiscovery } from '../../src/discovery/zookeeper.js'
import { closeQuietly, waitForMesh } from '../../src/local/mesh-probe.js'
import { NodeProcess, type NodeProcessOptions } from '../../src/local/node-process.js'
import { until } from '../../src/wait.js'
import { freePort } from './free-port.js'
import { testNodeOptions, untilAccepting } from './natsmesh.js'

// One of each, shared with the CLI, the benchmarks and the example.
export { sleep, until } from '../../src/wait.js'
export { closeQuietly, interestBarrier, publishUntil, uniqueSubject, waitForMesh } from '../../src/local/mesh-probe.js'
export { freePorts } from './free-port.js'

export const CLUSTER_NAME = 'x'
/** Session timeout for nodes in cluster tests (the ZooKeeper helper's 500 ms tick allows it). */
export const ZK_SESSION_TIMEOUT = '2s'
const READY_LOG_TIMEOUT_MS = 10_000

// ---- nodes -----------------------------------------------------------------------

export interface MeshNodeOptions {
  /** Shown in test comments only. */
  label: string
  /** The node's --name; none by default. */
  name?: string
  cluster?: string
  /** ZooKeeper connect string; or routes. */
  zk?: string
  routes?: string[]
  /** 0 (the default) lets the node pick its route port. */
  routePort?: number
  /** The client port; a free one by default. */
  port?: number
  /** Monitoring on a free port; default false. */
  hasMonitor?: boolean
  /** The node's ZooKeeper session timeout; default ZK_SESSION_TIMEOUT. */
  zkSessionTimeout?: string
  extraArgs?: string[]
}

/** `natsmesh server` with cluster flags, and what its log and flags say about it; `name` is its --name, else its label. */
export class MeshNode extends NodeProcess {
  readonly label: string
  /** This process's server id (new at every start), from its "Server is ready" log line. */
  serverId = ''
  routePort = -1
  /** 0 without monitoring. */
  readonly monitorPort: number
  readonly monitorUrl: string

  constructor(label: string, monitorPort: number, options: NodeProcessOptions) {
    super(options)
    this.label = label
    this.monitorPort = monitorPort
    this.monitorUrl = `http://127.0.0.1:${monitorPort}`
  }

  /** Routes created minus routes closed, counted in the node's log. */
  liveRoutes(): number {
    return countRoutes(this.output())
  }
}

/**
 * Starts `natsmesh server` with cluster flags and waits until it logged its
 * id and route port. Stopped (SIGTERM, then SIGKILL) in t.teardown.
 */
export async function startMeshNode(t: Test, o: MeshNodeOptions): Promise<MeshNode> {
  const monitorPort = o.hasMonitor === true ? await freePort() : 0
  const args = ['--cluster', `nats://127.0.0.1:${o.routePort ?? 0}`, '--cluster_name', o.cluster ?? CLUSTER_NAME]
  if (o.name !== undefined) args.push('--name', o.name)
  if (monitorPort > 0) args.push('-m', String(monitorPort))
  if (o.zk !== undefined) args.push('--zk', o.zk, '--zk_session_timeout', o.zkSessionTimeout ?? ZK_SESSION_TIMEOUT)
  if (o.routes !== undefined) args.push('--routes', o.routes.join(','))
  args.push(...(o.extraArgs ?? []))
  const options = { ...testNodeOptions(o.port ?? await freePort(), args), name: o.name ?? o.label }
  const node = await untilAccepting(new MeshNode(o.label, monitorPort, options))
  t.teardown(async () => { await node.stop() })
  try {
    node.serverId = (await node.waitForLine(/Server is ready \(id (N[A-Z0-9]+)\)/, READY_LOG_TIMEOUT_MS))[1]
    node.routePort = Number((await node.waitForLine(/Listening for route connections on [^\s:]+:(\d+)/, READY_LOG_TIMEOUT_MS))[1])
  } catch (err) {
    await node.stop()
    throw new Error(`${o.label} did not come up: ${node.logTail()}`, { cause: err })
  }
  return node
}

export function countRoutes(log: string): number {
  const created = log.match(/Route connection created/g)?.length ?? 0
  const closed = log.match(/Route connection closed/g)?.length ?? 0
  return created - closed
}

/** Starts `count` nodes joined through ZooKeeper, in parallel. Labels A, B, C, … */
export async function startZkCluster(t: Test, zkConnect: string, count: number, extraArgs: string[] = [], cluster = CLUSTER_NAME): Promise<MeshNode[]> {
  const labels = 'ABCDEFGH'
  return Promise.all(Array.from({ length: count }, (_, i) => startMeshNode(t, { label: labels[i], zk: zkConnect, cluster, extraArgs })))
}

/** `count` nodes of `cluster` through ZooKeeper (labels A, B, C, …), once ZooKeeper lists them all and every pair carries messages. */
export async function startNodes(t: Test, zkConnect: string, cluster: string, count: number, extraArgs: string[] = []): Promise<MeshNode[]> {
  const nodes = await startZkCluster(t, zkConnect, count, extraArgs, cluster)
  const members = await watchMembers(t, zkConnect, cluster)
  await until(`ZooKeeper lists the ${count} nodes of ${cluster}`, () => sameIds(members.members(), nodes))
  await waitForMesh(nodes)
  return nodes
}

// ---- clients ---------------------------------------------------------------------

/**
 * A nats.js client pinned to one node: no cluster updates, no reconnect to a
 * node it was not given. Closed in t.teardown.
 */
export async function connectTo(t: Test, node: { url: string }, options: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const nc = await natsConnect({ servers: node.url, ignoreClusterUpdates: true, reconnect: false, ...options })
  t.teardown(() => closeQuietly(nc))
  return nc
}

// ---- a numbered stream ------------------------------------------------------------

/** What a subscriber of a numbered stream saw. */
export interface StreamReport {
  published: number
  received: number
  /** Numbers published and never received. */
  lost: number
  /** Numbers received more than once. */
  duplicates: number
  /** Times a number arrived that was not larger than the previous one. */
  outOfOrder: number
  /** Longest run of consecutive lost numbers. */
  longestGap: number
}

/** Subscribes to a numbered stream and keeps every number, and when it arrived (Date.now()), in arrival order. */
export class NumberReceiver {
  readonly seen: number[] = []
  readonly times: number[] = []
  readonly sub: Subscription
  /** Empty messages received (publishUntil's probes), kept out of `seen`. */
  probes = 0

  constructor(nc: NatsConnection, subject: string) {
    this.sub = nc.subscribe(subject, {
      callback: (_err, msg) => {
        if (msg.data.length === 0) {
          this.probes++
          return
        }
        this.seen.push(Number(msg.string()))
        this.times.push(Date.now())
      },
    })
  }

  get last(): number { return this.seen.length === 0 ? -1 : this.seen[this.seen.length - 1] }

  /** Loss, duplicates and order against 1..published; only numbers at or after `from` count as expected. */
  report(published: number, from = 1): StreamReport {
    const counts = new Map<number, number>()
    let outOfOrder = 0
    let prev = -Infinity
    for (const n of this.seen) {
      counts.set(n, (counts.get(n) ?? 0) + 1)
      if (n <= prev) outOfOrder++
      prev = n
    }
    let lost = 0
    let gap = 0
    let longestGap = 0
    for (let n = from; n <= published; n++) {
      if (counts.has(n)) { gap = 0; continue }
      lost++
      gap++
      if (gap > longestGap) longestGap = gap
    }
    let duplicates = 0
    for (const c of counts.values()) if (c > 1) duplicates += c - 1
    return { published, received: this.seen.length, lost, duplicates, outOfOrder, longestGap }
  }

  /** The first arrival at or after `time`, or null. */
  firstAfter(time: number): { number: number; time: number } | null {
    for (let i = 0; i < this.times.length; i++) {
      if (this.times[i] >= time) return { number: this.seen[i], time: this.times[i] }
    }
    return null
  }

  duplicates(): number {
    return this.seen.length - new Set(this.seen).size
  }

  outOfOrder(): number {
    let count = 0
    for (let i = 1; i < this.seen.length; i++) if (this.seen[i] <= this.seen[i - 1]) count++
    return count
  }

  /** Numbers in [from, to] never received. */
  missing(from: number, to: number): number {
    const seen = new Set(this.seen)
    let count = 0
    for (let n = from; n <= to; n++) if (!seen.has(n)) count++
    return count
  }

  async waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    await until(`message ${n} arrives`, () => this.last >= n, timeoutMs, 10)
  }
}

/**
 * Publishes 1, 2, 3, … on a subject at a steady rate (a timer, `perTick`
 * messages every `tickMs`) until stop().
 */
export class NumberedPublisher {
  published = 0
  private timer: NodeJS.Timeout | null = null
  private readonly nc: NatsConnection
  private readonly subject: string

  constructor(nc: NatsConnection, subject: string) {
    this.nc = nc
    this.subject = subject
  }

  /** Stopped in t.teardown too, so a failed test does not leave it publishing on a closed connection. */
  start(t: Test, tickMs = 5, perTick = 1): void {
    t.teardown(() => this.halt())
    this.timer = setInterval(() => {
      if (this.nc.isClosed()) {
        this.halt()
        return
      }
      for (let i = 0; i < perTick; i++) {
        this.published++
        this.nc.publish(this.subject, String(this.published))
      }
    }, tickMs)
  }

  private halt(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  /** Stops publishing and flushes what was written; returns the last number published. */
  async stop(): Promise<number> {
    this.halt()
    await this.nc.flush()
    return this.published
  }
}

// ---- ZooKeeper membership, watch-only ----------------------------------------------

/** A ZooKeeperDiscovery that registers nothing; closed in t.teardown. */
export async function watchMembers(t: Test, connectString: string, cluster = CLUSTER_NAME): Promise<ZooKeeperDiscovery> {
  const d = new ZooKeeperDiscovery({ connectString, cluster, self: null, sessionTimeoutMs: 2_000 })
  t.teardown(() => d.close())
  await d.start()
  return d
}

export function memberIds(members: readonly MemberInfo[]): string[] {
  return members.map((m) => m.id).sort()
}

export function sameIds(members: readonly MemberInfo[], nodes: ReadonlyArray<{ serverId: string }>): boolean {
  return memberIds(members).join() === nodes.map((n) => n.serverId).sort().join()
}

// ---- a fake route --------------------------------------------------------------------

export interface RouteOp {
  /** The control line without CRLF. */
  line: string
  /** RMSG/HMSG payload (headers included), else null. */
  payload: string | null
}

/**
 * A raw socket that dials a node's route port and speaks just enough of the
 * route protocol: CONNECT + INFO, answers PING with PONG, and records every op
 * it receives.
 */
export class FakeRoute {
  readonly socket: net.Socket
  readonly ops: RouteOp[] = []
  readonly serverId: string
  private pending: Buffer = Buffer.alloc(0)
  private isClosed = false

  private constructor(socket: net.Socket, serverId: string) {
    this.socket = socket
    this.serverId = serverId
    socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('close', () => { this.isClosed = true })
    socket.on('error', () => { /* surfaced as close; tests assert on closed() */ })
  }

  /**
   * Connects and sends `CONNECT {…cluster…}` and `INFO {server_id, cluster}`.
   * Closed in t.teardown.
   */
  static async connect(t: Test, port: number, cluster = CLUSTER_NAME): Promise<FakeRoute> {
    const serverId = 'NFAKE' + randomBytes(20).toString('hex').toUpperCase()
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => resolve(s))
      s.once('error', reject)
    })
    const route = new FakeRoute(socket, serverId)
    t.teardown(() => route.close())
    const connect = { echo: false, verbose: false, pedantic: false, tls_required: false, name: serverId, cluster, headers: true }
    const info = { server_id: serverId, server_name: serverId, version: '2.9.10', proto: 1, headers: true, cluster, connect_urls: [] }
    route.send(`CONNECT ${JSON.stringify(connect)}\r\nINFO ${JSON.stringify(info)}\r\n`)
    return route
  }

  send(text: string): void {
    if (!this.isClosed) this.socket.write(Buffer.from(text, 'latin1'))
  }

  closed(): boolean { return this.isClosed }

  close(): void {
    this.socket.destroy()
  }

  /** Control lines received so far that start with `prefix` (e.g. 'RS+', 'RMSG'). */
  lines(prefix: string): string[] {
    return this.ops.filter((op) => op.line.startsWith(prefix)).map((op) => op.line)
  }

  /** Waits until an op line equal to `line` (or passing the predicate) has arrived; bounded. */
  async waitForLine(line: string | ((l: string) => boolean), timeoutMs = 10_000): Promise<void> {
    const test = typeof line === 'string' ? (l: string) => l === line : line
    await until(`fake route receives ${typeof line === 'string' ? JSON.stringify(line) : 'a matching line'}`,
      () => this.ops.some((op) => test(op.line)) || this.isClosed, timeoutMs, 10)
    if (!this.ops.some((op) => test(op.line))) throw new Error(`fake route closed before ${String(line)}`)
  }

  private onData(d: Buffer): void {
    this.pending = this.pending.length === 0 ? d : Buffer.concat([this.pending, d])
    for (let guard = 0; guard < 1_000_000; guard++) {
      const eol = this.pending.indexOf('\r\n')
      if (eol < 0) return
      const line = this.pending.toString('latin1', 0, eol)
      let payload: string | null = null
      let consumed = eol + 2
      if (line.startsWith('RMSG ') || line.startsWith('HMSG ')) {
        const size = Number(line.slice(line.lastIndexOf(' ') + 1))
        if (this.pending.length < consumed + size + 2) return
        payload = this.pending.toString('latin1', consumed, consumed + size)
        consumed += size + 2
      }
      this.pending = this.pending.subarray(consumed)
      if (line === 'PING') this.send('PONG\r\n')
      this.ops.push({ line, payload })
    }
  }
}
