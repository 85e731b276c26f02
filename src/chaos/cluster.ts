// The nodes of a chaos run: `natsmesh server` child processes (LocalNode, as
// `natsmesh up` starts them) on fixed 127.0.0.1 ports, which the fault
// injector kills, pauses, drains, restarts and adds. Every exit we did not
// cause is recorded as unexpected: a verdict check fails on it.
//
// A killed node comes back on the same ports (a process restart on the same
// host), so the plain nats.js clients' static URL list stays right; drained
// and added nodes get new ports.
import { createWriteStream, type WriteStream } from 'node:fs'
import path from 'node:path'
import { freePorts } from '../local/ports.js'
import { httpRequest } from '../ops/http.js'
import { LocalNode, describeExit, type ExitStatus } from '../local/node-process.js'

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

export class ChaosNode {
  readonly label: string
  readonly clientPort: number
  readonly routePort: number
  readonly monitorPort: number
  state: ChaosNodeState = 'down'
  /** This process's server id (new at every start). */
  serverId = ''
  process: LocalNode | null = null
  starts = 0
  readonly exits: NodeExit[] = []
  /** Set just before we stop the process ourselves. */
  isExitExpected = false

  constructor(label: string, clientPort: number, routePort: number, monitorPort: number) {
    this.label = label
    this.clientPort = clientPort
    this.routePort = routePort
    this.monitorPort = monitorPort
  }

  get hostPort(): string { return `127.0.0.1:${this.clientPort}` }
  get clientUrl(): string { return `nats://127.0.0.1:${this.clientPort}` }
  get monitorUrl(): string { return `http://127.0.0.1:${this.monitorPort}` }
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
    const [clientPort, routePort, monitorPort] = await freePorts(3)
    const node = new ChaosNode(`n${this.nodes.length + 1}`, clientPort, routePort, monitorPort)
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
    const child = new LocalNode({
      name: node.label,
      clientPort: node.clientPort,
      routePort: node.routePort,
      monitorPort: node.monitorPort,
      args: [
        '-a', '127.0.0.1', '-p', String(node.clientPort), '-m', String(node.monitorPort), '-n', node.label,
        '--cluster', `nats://127.0.0.1:${node.routePort}`, '--cluster_name', CLUSTER_NAME, '--zk', this.zookeeper,
        ...NODE_FLAGS,
      ],
    }, (line) => log.write(`${line}\n`))
    node.process = child
    node.state = 'up'
    void child.exited.then((status) => this.onExit(node, child, status))
    try {
      await child.waitReady(READY_TIMEOUT_MS)
      node.serverId = await serverId(node)
      this.knownIds.set(node.serverId, `${node.label}#${node.starts}`)
    } catch (err) {
      node.isExitExpected = true
      child.kill()
      await child.exited
      throw new Error(`${node.label} did not start: ${err instanceof Error ? err.message : String(err)}\n${child.logTail()}`, { cause: err })
    }
  }

  /** SIGKILL: a crash. Resolves once the process is gone. */
  async kill(node: ChaosNode): Promise<void> {
    const child = this.running(node)
    node.isExitExpected = true
    signal(child.pid, 'SIGKILL')
    if (node.state === 'paused') signal(child.pid, 'SIGCONT')
    await child.exited
  }

  /** SIGSTOP: a hang with every socket left open. */
  pause(node: ChaosNode): void {
    const child = this.running(node)
    signal(child.pid, 'SIGSTOP')
    node.state = 'paused'
  }

  resume(node: ChaosNode): void {
    const child = this.running(node)
    signal(child.pid, 'SIGCONT')
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
      child.kill()
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
      if (node.state === 'paused') signal(child.pid, 'SIGCONT')
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
        signal(node.process.pid, 'SIGKILL')
        signal(node.process.pid, 'SIGCONT')
      }
    }
  }

  async getJson(node: ChaosNode, endpoint: string): Promise<Record<string, unknown>> {
    const answer = await httpRequest('GET', `${node.monitorUrl}${endpoint}`, HTTP_TIMEOUT_MS)
    if (answer.status !== 200) throw new Error(`${node.label} ${endpoint} answered ${answer.status}`)
    const parsed: unknown = JSON.parse(answer.body)
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${node.label} ${endpoint}: not a JSON object`)
    return parsed as Record<string, unknown>
  }

  private running(node: ChaosNode): LocalNode {
    if (node.process === null || node.process.hasExited) throw new Error(`${node.label} is not running`)
    return node.process
  }

  private onExit(node: ChaosNode, child: LocalNode, status: ExitStatus): void {
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

async function serverId(node: ChaosNode): Promise<string> {
  const answer = await httpRequest('GET', `${node.monitorUrl}/varz`, HTTP_TIMEOUT_MS)
  const varz: unknown = JSON.parse(answer.body)
  if (varz !== null && typeof varz === 'object' && 'server_id' in varz && typeof varz.server_id === 'string') return varz.server_id
  throw new Error(`${node.label}: /varz has no server_id`)
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // Already gone: its exit is recorded by the 'exit' handler.
  }
}
