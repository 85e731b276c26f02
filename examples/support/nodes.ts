// natsmesh node processes for the example and the failover benchmark: started
// from dist/bin/natsmesh.js on free ports, joined through ZooKeeper, killed
// and restarted on the same client port. Ready means: the node serves
// clients, ZooKeeper lists it, and a message crosses every pair of nodes.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { connect, type NatsConnection } from 'nats'
import { ZooKeeperDiscovery } from '../../src/discovery/zookeeper.js'
import { freePort } from '../../src/local/ports.js'
import { sleep, until } from '../../src/local/wait.js'

export const NATSMESH_CLI = fileURLToPath(new URL('../../bin/natsmesh.js', import.meta.url))
const READY_TIMEOUT_MS = 20_000
/** Node sessions: a SIGKILLed node leaves ZooKeeper after 2 s. */
const ZK_SESSION_TIMEOUT = '2s'

export class LocalNode {
  readonly label: string
  readonly port: number
  process: ChildProcess | null = null
  serverId = ''
  private output = ''

  constructor(label: string, port: number) {
    this.label = label
    this.port = port
  }

  get url(): string { return `nats://127.0.0.1:${this.port}` }
  get hostPort(): string { return `127.0.0.1:${this.port}` }
  get isRunning(): boolean { return this.process !== null && this.process.exitCode === null && this.process.signalCode === null }

  async start(command: string[], args: string[]): Promise<void> {
    this.output = ''
    this.serverId = ''
    const child = spawn(command[0], [...command.slice(1), '-a', '127.0.0.1', '-p', String(this.port), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.process = child
    const collect = (d: Buffer): void => { if (this.output.length < 100_000) this.output += d.toString() }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    await until(`node ${this.label} is ready`, () => {
      if (!this.isRunning) throw new Error(`node ${this.label} exited: ${this.output.slice(-2000)}`)
      // natsmesh: "Server is ready (id N…)"; nats-server: "ID: N…" then "Server is ready".
      const id = /Server is ready \(id (N[A-Z0-9]+)\)/.exec(this.output) ?? /\bID:\s+(N[A-Z0-9]+)/.exec(this.output)
      if (id !== null) this.serverId = id[1]
      return id !== null && this.output.includes('Server is ready')
    }, READY_TIMEOUT_MS)
  }

  /** SIGKILL; resolves when the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.process
    if (child === null || !this.isRunning) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill(signal)
    await exited
  }
}

/** A cluster of natsmesh nodes joined through ZooKeeper. */
export class LocalCluster {
  readonly nodes: LocalNode[]
  readonly zookeeper: string
  readonly name: string
  private readonly command: string[]
  private readonly watch: ZooKeeperDiscovery

  private constructor(nodes: LocalNode[], zookeeper: string, name: string, command: string[]) {
    this.nodes = nodes
    this.zookeeper = zookeeper
    this.name = name
    this.command = command
    this.watch = new ZooKeeperDiscovery({ connectString: zookeeper, cluster: name, self: null, sessionTimeoutMs: 2_000 })
  }

  /** `command`: how to run natsmesh's `server` (default: node dist/bin/natsmesh.js server). */
  static async start(zookeeper: string, name: string, count: number, command = [process.execPath, NATSMESH_CLI, 'server']): Promise<LocalCluster> {
    const nodes: LocalNode[] = []
    for (let i = 0; i < count; i++) nodes.push(new LocalNode('ABCDEFGH'[i], await freePort()))
    const cluster = new LocalCluster(nodes, zookeeper, name, command)
    await cluster.watch.start()
    await Promise.all(nodes.map((n) => cluster.startNode(n)))
    await cluster.waitReady()
    return cluster
  }

  private startNode(node: LocalNode): Promise<void> {
    return node.start(this.command, ['--cluster', 'nats://127.0.0.1:0', '--cluster_name', this.name,
      '--zk', this.zookeeper, '--zk_session_timeout', ZK_SESSION_TIMEOUT])
  }

  /** Starts a killed node again on its client port (a new process, a new server id) and waits for the mesh. */
  async restart(node: LocalNode): Promise<void> {
    await node.kill()
    await this.startNode(node)
    await this.waitReady()
  }

  /** ZooKeeper lists exactly the running nodes, and a message crosses every ordered pair. */
  async waitReady(): Promise<void> {
    const running = this.nodes.filter((n) => n.isRunning)
    const ids = running.map((n) => n.serverId).sort().join()
    await until(`ZooKeeper lists ${running.map((n) => n.label).join(', ')}`, () =>
      this.watch.members().map((m) => m.id).sort().join() === ids, READY_TIMEOUT_MS)
    await waitForMesh(running.map((n) => n.url))
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill('SIGKILL')))
    await this.watch.close()
  }
}

/** Resolves once a publish on every node reaches a subscriber on every other node; bounded. */
export async function waitForMesh(urls: string[], timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const conns: NatsConnection[] = []
  try {
    for (const url of urls) conns.push(await connect({ servers: url, reconnect: false, ignoreClusterUpdates: true }))
    const pending = new Set<string>()
    for (let to = 0; to < conns.length; to++) {
      for (let from = 0; from < conns.length; from++) if (from !== to) pending.add(`${from}>${to}`)
      conns[to].subscribe(`_mesh.probe.*.${to}`, { callback: (_err, msg) => pending.delete(`${msg.subject.split('.')[2]}>${to}`) })
      await conns[to].flush()
    }
    await until('every node reaches every other node', async () => {
      for (const pair of pending) {
        const [from, to] = pair.split('>')
        conns[Number(from)].publish(`_mesh.probe.${from}.${to}`)
      }
      await Promise.all(conns.map((c) => c.flush()))
      await sleep(30)
      return pending.size === 0
    }, timeoutMs)
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => { /* closed already */ })))
  }
}
