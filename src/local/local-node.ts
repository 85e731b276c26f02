// One node of a local cluster: `natsmesh server` on fixed 127.0.0.1 ports for
// clients, routes and monitoring, with a name and a cluster name. It can be
// started again on the same ports once its process has exited (a restart on
// the same host: a new process, a new server id), so clients given its URL
// find it again; the chaos runner and the example rely on that. Ready means
// its /healthz answers 200.
import { getJson, isHealthy } from '../ops/http.js'
import { NodeProcess, type NodeProcessOptions } from './node-process.js'

/** How long one /healthz or /varz request may take. */
const HTTP_TIMEOUT_MS = 1_000
const READY_POLL_MS = 100

export interface NodePorts {
  client: number
  route: number
  monitor: number
}

/** A NodeProcess's options, its ports aside. */
export interface LocalNodeOptions extends Omit<NodeProcessOptions, 'port'> {
  clusterName: string
  ports: NodePorts
  /** How it finds the others (`--zk …` or `--routes …`) and any other flag, after the ones the node sets itself. */
  args: readonly string[]
}

/** Resolves once the node's /healthz answers 200; throws as NodeProcess.waitUntil does. */
export function waitForHealthz(node: NodeProcess, monitorUrl: string, timeoutMs: number): Promise<number> {
  return node.waitUntil(() => isHealthy(monitorUrl, HTTP_TIMEOUT_MS), timeoutMs, READY_POLL_MS)
}

export class LocalNode {
  readonly name: string
  readonly ports: NodePorts
  readonly clientUrl: string
  readonly monitorUrl: string
  readonly routeUrl: string
  /** `127.0.0.1:<client port>`, as in INFO's connect_urls and nats.js getServer(). */
  readonly hostPort: string
  /** The process started last; null before the first start. */
  process: NodeProcess | null = null
  /** The server id of the process started last, once readServerId() has read it. */
  serverId = ''
  private readonly processOptions: NodeProcessOptions

  constructor(options: LocalNodeOptions) {
    this.name = options.name
    this.ports = options.ports
    this.clientUrl = `nats://127.0.0.1:${options.ports.client}`
    this.monitorUrl = `http://127.0.0.1:${options.ports.monitor}`
    this.routeUrl = `nats://127.0.0.1:${options.ports.route}`
    this.hostPort = `127.0.0.1:${options.ports.client}`
    const { clusterName, ports, ...processOptions } = options
    this.processOptions = {
      ...processOptions,
      port: ports.client,
      args: ['-m', String(ports.monitor), '--name', options.name, '--cluster', this.routeUrl, '--cluster_name', clusterName, ...options.args],
    }
  }

  /** True while the process started last runs. */
  get isRunning(): boolean {
    return this.process !== null && !this.process.hasExited
  }

  /** Spawns a new process on the node's ports; the one before must have exited. */
  start(): NodeProcess {
    if (this.isRunning) throw new Error(`${this.name} is already running`)
    this.serverId = ''
    this.process = new NodeProcess(this.processOptions)
    return this.process
  }

  /** Resolves once /healthz answers 200; throws if the process exits first or timeoutMs passes. */
  async waitReady(timeoutMs: number): Promise<void> {
    if (this.process === null) throw new Error(`${this.name} was never started`)
    await waitForHealthz(this.process, this.monitorUrl, timeoutMs)
  }

  /** Reads (and keeps) the running process's server id from /varz. */
  async readServerId(timeoutMs = HTTP_TIMEOUT_MS): Promise<string> {
    const varz = await getJson(`${this.monitorUrl}/varz`, timeoutMs)
    if (typeof varz.server_id !== 'string') throw new Error(`${this.name}: /varz has no server_id`)
    this.serverId = varz.server_id
    return this.serverId
  }
}
