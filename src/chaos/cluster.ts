// The nodes of a chaos run: `natsmesh server` child processes (LocalNode,
// src/local/local-node.ts, as `natsmesh up` starts them) on fixed 127.0.0.1
// ports, which the fault injector kills, pauses, drains, restarts and adds.
// Every exit we did not cause is recorded as unexpected: a verdict check
// fails on it.
//
// A killed node comes back on the same ports (a process restart on the same
// host), so the plain nats.js clients' static URL list stays right; drained
// and added nodes get new ports.
import { createWriteStream, type WriteStream } from 'node:fs'
import path from 'node:path'
import { LocalNode } from '../local/local-node.js'
import { describeExit, type ExitStatus, type NodeProcess } from '../local/node-process.js'
import { freePorts } from '../local/ports.js'
import { getJson, httpRequest } from '../ops/http.js'

export const CLUSTER_NAME = 'chaos'
/** Flags every chaos node gets: failures noticed in seconds, a short lame duck. */
export const NODE_FLAGS = [
  '--zk_session_timeout', '2s',
  '--route_ping_interval', '1s',
  '--max_pings_out', '2',
  '--lame_duck_grace_period', '1s',
  '--lame_duck_duration', '2s',
]
const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 5_000
/** A drain takes the grace period + the duration (3 s) and the flushes; more than this is a hang. */
const DRAIN_EXIT_TIMEOUT_MS = 20_000
const HTTP_TIMEOUT_MS = 2_000

export type ChaosNodeState = 'up' | 'paused' | 'draining' | 'down' | 'gone'

export interface NodeExit {
  /** ms since the run's start. */
  at: number
  expected: boolean
  how: string
}

export class ChaosNode extends LocalNode {
  state: ChaosNodeState = 'down'
  starts = 0
  readonly exits: NodeExit[] = []
  /** Set just before we stop the process ourselves. */
  isExitExpected = false

  get label(): string { return this.name }
  get clientPort(): number { return this.ports.client }
  get isLive(): boolean { return this.state === 'up' }
}

export interface ClusterEvents {
  /** A node exited without being told to. */
  unexpectedExit(node: ChaosNode, how: string, logTail: string): void
  /** One line for the run's log file (node output and our own notes). */
  log(line: string): void
}

export class ChaosCluster {
  readonly nodes: ChaosNode[] = []
  readonly zookeeper: string
  /** Every server id a process of this run had, with its node label and start number (`n2#3`). */
  readonly knownIds = new Map<string, string>()
  private readonly events: ClusterEvents
  private readonly clock: () => number
  private readonly logDir: string
  private readonly logs = new Map<string, WriteStream>()

  /** `clock` gives ms since the run's start (negative before it). */
  constructor(zookeeper: string, logDir: string, events: ClusterEvents, clock: () => number) {
    this.zookeeper = zookeeper
    this.logDir = logDir
    this.events = events
    this.clock = clock
  }

  live(): ChaosNode[] {
    return this.nodes.filter((n) => n.isLive)
  }

  byHostPort(hostPort: string): ChaosNode | null {
    return this.nodes.find((n) => n.hostPort === hostPort) ?? null
  }

  /** A new node on fresh ports, started; labels n1, n2, … in order of creation. */
  async addNode(): Promise<ChaosNode> {
    const [client, route, monitor] = await freePorts(3)
    const node: ChaosNode = new ChaosNode({
      name: `n${this.nodes.length + 1}`,
      clusterName: CLUSTER_NAME,
      ports: { client, route, monitor },
      args: ['--zk', this.zookeeper, ...NODE_FLAGS],
      isDetached: true,
      isWatchingParent: true,
      onLine: (line) => this.logFor(node).write(`${line}\n`),
    })
    this.nodes.push(node)
    await this.start(node)
    return node
  }

  /** Starts a node that is down, on its own ports; resolves once /healthz answers and its id is known. */
  async start(node: ChaosNode): Promise<void> {
    if (node.state !== 'down') throw new Error(`${node.label} is ${node.state}, not down`)
    const log = this.logFor(node)
    node.starts++
    node.isExitExpected = false
    log.write(`---- ${node.label} start #${node.starts} at ${(this.clock() / 1000).toFixed(1)}s ----\n`)
    const child = node.start()
    node.state = 'up'
    void child.exited.then((status) => this.onExit(node, child, status))
    try {
      await node.waitReady(READY_TIMEOUT_MS)
      this.knownIds.set(await node.readServerId(HTTP_TIMEOUT_MS), `${node.label}#${node.starts}`)
    } catch (err) {
      node.isExitExpected = true
      await child.kill()
      throw new Error(`${node.label} did not start: ${err instanceof Error ? err.message : String(err)}\n${child.logTail()}`, { cause: err })
    }
  }

  /** SIGKILL: a crash. Resolves once the process is gone. */
  async kill(node: ChaosNode): Promise<void> {
    const child = this.running(node)
    node.isExitExpected = true
    await child.kill()
  }

  /** SIGSTOP: a hang with every socket left open. */
  pause(node: ChaosNode): void {
    const child = this.running(node)
    child.pause()
    node.state = 'paused'
  }

  resume(node: ChaosNode): void {
    const child = this.running(node)
    child.resume()
    if (node.state === 'paused') node.state = 'up'
  }

  /** POST /drain (lame duck); resolves when the process has exited, true if it did so by itself in time. */
  async drain(node: ChaosNode): Promise<boolean> {
    const child = this.running(node)
    node.isExitExpected = true
    node.state = 'draining'
    const answer = await httpRequest('POST', `${node.monitorUrl}/drain`, HTTP_TIMEOUT_MS)
    if (answer.status < 200 || answer.status >= 300) throw new Error(`POST ${node.monitorUrl}/drain answered ${answer.status}: ${answer.body}`)
    let isInTime = true
    const timer = setTimeout(() => {
      isInTime = false
      child.killNow()
    }, DRAIN_EXIT_TIMEOUT_MS)
    await child.exited
    clearTimeout(timer)
    return isInTime
  }

  /** SIGTERM every process (SIGCONT first for paused ones), SIGKILL after a timeout; closes the log files. */
  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map(async (node) => {
      const child = node.process
      if (child === null || child.hasExited) return
      node.isExitExpected = true
      const status = await child.stop(STOP_TIMEOUT_MS)
      if (status.signal === 'SIGKILL' || (status.code !== null && status.code !== 0)) {
        this.events.log(`${node.label} did not stop cleanly on SIGTERM (${describeExit(status)})`)
      }
    }))
    await Promise.all([...this.logs.values()].map((s) => new Promise<void>((resolve) => s.end(resolve))))
    this.logs.clear()
  }

  /** Immediately, for a second Ctrl-C. */
  killAll(): void {
    for (const node of this.nodes) {
      if (node.process !== null && !node.process.hasExited) {
        node.isExitExpected = true
        node.process.killNow()
      }
    }
  }

  getJson(node: ChaosNode, endpoint: string): Promise<Record<string, unknown>> {
    return getJson(`${node.monitorUrl}${endpoint}`, HTTP_TIMEOUT_MS)
  }

  private running(node: ChaosNode): NodeProcess {
    if (node.process === null || node.process.hasExited) throw new Error(`${node.label} is not running`)
    return node.process
  }

  private onExit(node: ChaosNode, child: NodeProcess, status: ExitStatus): void {
    if (node.process !== child) return
    const how = describeExit(status)
    node.exits.push({ at: this.clock(), expected: node.isExitExpected, how })
    this.logFor(node).write(`---- ${node.label} exited at ${(this.clock() / 1000).toFixed(1)}s: ${how} ----\n`)
    node.state = node.state === 'draining' ? 'gone' : 'down'
    if (!node.isExitExpected) this.events.unexpectedExit(node, how, child.logTail())
  }

  private logFor(node: ChaosNode): WriteStream {
    let stream = this.logs.get(node.label)
    if (stream === undefined) {
      stream = createWriteStream(path.join(this.logDir, `${node.label}.log`), { flags: 'a' })
      stream.on('error', () => { /* a full disk costs the node logs, not the run */ })
      this.logs.set(node.label, stream)
    }
    return stream
  }
}
