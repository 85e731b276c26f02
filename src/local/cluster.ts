// A local cluster of N natsmesh nodes on 127.0.0.1, as `natsmesh up`, the
// example and the failover benchmark run one. The nodes find each other
// through a ZooKeeper (a throwaway local one started here, or one given) or
// through a static seed list of every node's route URL. Steps, each its own
// call so a caller can print between them or give up on a signal:
//
//   startMembers ─ startNodes ─ waitReady ─ waitForRoutes ─ … ─ stop
//
// stop() takes the nodes down first (SIGTERM, SIGKILL after a bound), then
// the local ZooKeeper, so no node sees its ZooKeeper vanish while it is
// still serving.
import { getJson } from '../ops/http.js'
import { watchCluster } from '../ops/cluster-query.js'
import { freePorts } from './ports.js'
import { LocalNode, type NodePorts } from './local-node.js'
import { waitForMesh } from './mesh-probe.js'
import { describeExit, type ExitStatus } from './node-process.js'
import { sleep, until } from '../wait.js'
import { findZooKeeper, startLocalZooKeeper, type LocalZooKeeper, type LocalZooKeeperOptions } from './zookeeper.js'

export { describeExit, type ExitStatus }
/** With a base port B, node i listens for clients on B+i, routes on B+ROUTE_OFFSET+i, HTTP on B+MONITOR_OFFSET+i (4222, 6222, 8222). */
export const ROUTE_OFFSET = 2000
export const MONITOR_OFFSET = 4000
const HTTP_TIMEOUT_MS = 1_000
const POLL_MS = 100

/** How the nodes should find each other. */
export type MemberChoice =
  /** A local ZooKeeper when one is installed, else a static seed list. */
  | { kind: 'auto'; zookeeper: LocalZooKeeperOptions }
  | { kind: 'local-zk'; zookeeper: LocalZooKeeperOptions }
  | { kind: 'external-zk'; connectString: string }
  | { kind: 'static' }

/** How they do. */
export type MemberSource =
  | { kind: 'local-zk'; zk: LocalZooKeeper }
  | { kind: 'external-zk'; connectString: string }
  | { kind: 'static'; isZooKeeperMissing: boolean }

export interface LocalClusterOptions {
  clusterName: string
  /** One per node, in order. */
  nodeNames: readonly string[]
  /** One per node, in order: freeNodePorts() or basedNodePorts(). */
  ports: readonly NodePorts[]
  /** Flags for every node, after the ones the cluster sets. */
  nodeFlags: readonly string[]
  /** `natsmesh server` of another build; default this one's. */
  command?: readonly string[]
  isDetached?: boolean
  isWatchingParent?: boolean
  onLine?: (node: LocalNode, line: string) => void
}

/** Ports for `count` nodes, all distinct and free now. */
export async function freeNodePorts(count: number): Promise<NodePorts[]> {
  const ports = await freePorts(3 * count)
  return Array.from({ length: count }, (_, i) => ({ client: ports[3 * i], route: ports[3 * i + 1], monitor: ports[3 * i + 2] }))
}

/** Ports for `count` nodes from a base port (see ROUTE_OFFSET); the caller checks the range. */
export function basedNodePorts(count: number, basePort: number): NodePorts[] {
  return Array.from({ length: count }, (_, i) => ({ client: basePort + i, route: basePort + ROUTE_OFFSET + i, monitor: basePort + MONITOR_OFFSET + i }))
}

export interface StopEvents {
  /** A node's process has exited; wasRunning is false when it had exited before stop(). */
  nodeStopped?(node: LocalNode, status: ExitStatus, wasRunning: boolean): void
  zooKeeperStopped?(zk: LocalZooKeeper): void
}

export class LocalCluster {
  readonly clusterName: string
  /** Filled by startNodes(), in the order of the names. */
  readonly nodes: LocalNode[] = []
  /** Set by startMembers(). */
  members: MemberSource | null = null
  private readonly options: LocalClusterOptions

  constructor(options: LocalClusterOptions) {
    if (options.nodeNames.length !== options.ports.length) throw new Error('one name and one set of ports per node')
    this.clusterName = options.clusterName
    this.options = options
  }

  /** startMembers, startNodes and waitReady in one call, for callers with nothing to print between them; stops what it started and throws on a failure. */
  static async start(options: LocalClusterOptions, choice: MemberChoice, readyTimeoutMs: number): Promise<LocalCluster> {
    const cluster = new LocalCluster(options)
    try {
      await cluster.startMembers(choice)
      cluster.startNodes()
      const failure = await cluster.waitReady(readyTimeoutMs)
      if (failure !== null) {
        throw new Error(`${failure.err instanceof Error ? failure.err.message : String(failure.err)}; its last log lines:\n${failure.node.process?.logTail() ?? ''}`)
      }
    } catch (err) {
      await cluster.stop(readyTimeoutMs)
      throw err
    }
    return cluster
  }

  /** The connect string the nodes register in; null for a static seed list (or before startMembers()). */
  get zookeeper(): string | null {
    const m = this.members
    return m === null || m.kind === 'static' ? null : m.kind === 'local-zk' ? m.zk.connectString : m.connectString
  }

  /** Starts a local ZooKeeper, or notes how the nodes find each other otherwise. Before startNodes(). */
  async startMembers(choice: MemberChoice): Promise<MemberSource> {
    if (choice.kind === 'external-zk') this.members = { kind: 'external-zk', connectString: choice.connectString }
    else if (choice.kind === 'static') this.members = { kind: 'static', isZooKeeperMissing: false }
    else {
      const install = findZooKeeper()
      if (install === null && choice.kind === 'auto') this.members = { kind: 'static', isZooKeeperMissing: true }
      else this.members = { kind: 'local-zk', zk: await startLocalZooKeeper({ ...choice.zookeeper, install: install ?? undefined }) }
    }
    return this.members
  }

  /** Spawns every node, each told how to find the others. */
  startNodes(): void {
    const o = this.options
    const args = [...this.finderFlags(), ...o.nodeFlags]
    for (const [i, name] of o.nodeNames.entries()) {
      const onLine = o.onLine
      const node: LocalNode = new LocalNode({
        name, clusterName: this.clusterName, ports: o.ports[i], args, command: o.command, isDetached: o.isDetached,
        isWatchingParent: o.isWatchingParent, onLine: onLine === undefined ? undefined : (line) => onLine(node, line),
      })
      this.nodes.push(node)
      node.start()
    }
  }

  /** Every node answers /healthz; resolves with the first node (in order) that did not, and why, or null. */
  async waitReady(timeoutMs: number): Promise<{ node: LocalNode; err: unknown } | null> {
    const results = await Promise.all(this.nodes.map((node) => node.waitReady(timeoutMs).then(() => null, (err: unknown) => ({ node, err }))))
    return results.find((r) => r !== null) ?? null
  }

  /** Every node reports a route to every other one in /varz; false if that does not happen within timeoutMs. */
  async waitForRoutes(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    for (let i = 0; i < timeoutMs / POLL_MS + 10; i++) {
      const counts = await Promise.all(this.nodes.map(async (n) => {
        try {
          const varz = await getJson(`${n.monitorUrl}/varz`, HTTP_TIMEOUT_MS)
          return typeof varz.routes === 'number' ? varz.routes : -1
        } catch {
          return -1
        }
      }))
      if (counts.every((c) => c >= this.nodes.length - 1)) return true
      if (Date.now() > deadline) break
      await sleep(POLL_MS)
    }
    return false
  }

  /** ZooKeeper lists exactly the running nodes, by the server ids their /varz give; throws after timeoutMs. */
  async waitForMembership(timeoutMs: number): Promise<void> {
    const zookeeper = this.zookeeper
    if (zookeeper === null) throw new Error('a static cluster has no membership to wait for')
    const running = this.nodes.filter((n) => n.isRunning)
    const ids = (await Promise.all(running.map((n) => n.readServerId()))).sort().join()
    const watch = await watchCluster(zookeeper, this.clusterName)
    try {
      await until(`ZooKeeper lists ${running.map((n) => n.name).join(', ')}`,
        () => watch.members().map((m) => m.id).sort().join() === ids, timeoutMs)
    } finally {
      await watch.close()
    }
  }

  /**
   * ZooKeeper (when there is one) lists exactly the running nodes, and a
   * message published on each running node reaches a subscriber on each
   * other; throws after timeoutMs (each).
   */
  async waitForMesh(timeoutMs: number): Promise<void> {
    if (this.zookeeper !== null) await this.waitForMembership(timeoutMs)
    await waitForMesh(this.nodes.filter((n) => n.isRunning).map((n) => ({ url: n.clientUrl, label: n.name })), timeoutMs)
  }

  /** SIGKILLs a node's process if it runs, starts it again on its ports and waits until it is ready. */
  async restart(node: LocalNode, readyTimeoutMs: number): Promise<void> {
    await node.process?.kill()
    node.start()
    await node.waitReady(readyTimeoutMs)
  }

  /** Stops every node (SIGTERM, SIGKILL after stopTimeoutMs) at once, then a local ZooKeeper. */
  async stop(stopTimeoutMs: number, events: StopEvents = {}): Promise<void> {
    await Promise.all(this.nodes.map(async (node) => {
      const proc = node.process
      if (proc === null) return
      const wasRunning = !proc.hasExited
      const status = await proc.stop(stopTimeoutMs)
      events.nodeStopped?.(node, status, wasRunning)
    }))
    if (this.members?.kind === 'local-zk') {
      await this.members.zk.stop()
      events.zooKeeperStopped?.(this.members.zk)
    }
  }

  /** SIGKILL to every node and ZooKeeper, without waiting: for a second Ctrl-C. */
  killNow(): void {
    for (const node of this.nodes) node.process?.killNow()
    if (this.members?.kind === 'local-zk') void this.members.zk.stop()
  }

  private finderFlags(): string[] {
    const zookeeper = this.zookeeper
    if (this.members === null) throw new Error('startMembers() first')
    return zookeeper === null
      ? ['--routes', this.options.ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',')]
      : ['--zk', zookeeper]
  }
}
