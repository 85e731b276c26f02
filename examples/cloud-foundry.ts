// A Cloud Foundry style control plane on natsmesh, every component through
// natsmesh/client (`npm run example`, after `npx tsc -p .`):
//
//   ZooKeeper ── 3 natsmesh nodes (child processes)
//   router          subscribes router.register: which app instances exist
//   health managers two, queue group 'hm', answer healthz.<app> requests
//   controller      asks healthz.<app> for every app twice a second
//   agents          four app agents, each publishes router.register every second
//
// Mid-run the node with the most components on it is SIGKILLed, and started
// again five seconds later. At the end each component says what it saw:
// messages, gaps in the heartbeat sequences, unanswered health checks,
// failovers. Everything runs ~20 s and everything started is stopped, also on
// Ctrl-C.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { JSONCodec, type NatsConnection } from 'nats'
import { connect, type ClientEvent } from '../src/client/index.js'
import { LocalCluster, freeNodePorts } from '../src/local/cluster.js'
import type { LocalNode } from '../src/local/local-node.js'
import { sleep } from '../src/wait.js'
import { startLocalZooKeeper, type LocalZooKeeper } from '../src/local/zookeeper.js'

const RUN_MS = 20_000
/** Starting a node, and the mesh forming again around it. */
const READY_TIMEOUT_MS = 20_000
/** Node sessions: a SIGKILLed node leaves ZooKeeper after 2 s. */
const NODE_FLAGS = ['--zk_session_timeout', '2s']
const KILL_AT_MS = 6_000
const RESTART_AFTER_MS = 5_000
const HEARTBEAT_MS = 1_000
const HEALTH_CHECK_MS = 500
const APPS = ['app-1', 'app-2', 'app-3', 'app-4']

interface Registration { app: string; host: string; port: number; seq: number }
interface Health { app: string; healthy: boolean; by: string }

const jc = JSONCodec<Registration | Health>()
const startedAt = Date.now()

function log(who: string, text: string): void {
  console.log(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${who.padEnd(12)} ${text}`)
}

/** One component: a connection and what its client library told it. */
class Component {
  readonly name: string
  nc: NatsConnection | null = null
  readonly failovers: string[] = []
  cacheUsed = false

  constructor(name: string) {
    this.name = name
  }

  async connect(zookeeper: string, cacheFile: string): Promise<NatsConnection> {
    this.nc = await connect({
      zookeeper, cluster: 'cf', cacheFile, zkSessionTimeoutMs: 2_000, name: this.name,
      onEvent: (e: ClientEvent) => this.onEvent(e),
    })
    return this.nc
  }

  private onEvent(e: ClientEvent): void {
    if (e.type === 'reconnected') {
      this.failovers.push(`${e.planned ? 'moved' : 'failed over'} ${e.from} → ${e.to} in ${e.gapMs} ms` +
        (e.flushed > 0 ? ` (${e.flushed} buffered publishes sent)` : ''))
      log(this.name, `${e.planned ? 'moved' : 'failed over'} ${e.from} → ${e.to} in ${e.gapMs} ms`)
    } else if (e.type === 'cache-used') {
      this.cacheUsed = true
      log(this.name, e.message)
    } else if (e.level === 'warn' && e.type !== 'disconnected') {
      log(this.name, e.message)
    }
  }

  server(): string { return this.nc?.getServer() ?? '-' }

  protected conn(): NatsConnection {
    if (this.nc === null) throw new Error(`${this.name} is not connected`)
    return this.nc
  }
}

class Router extends Component {
  /** app → sequence numbers seen. */
  readonly seen = new Map<string, number[]>()

  start(): void {
    this.conn().subscribe('router.register', {
      callback: (_err, msg) => {
        const r = jc.decode(msg.data)
        if (!('seq' in r)) return
        const list = this.seen.get(r.app) ?? []
        list.push(r.seq)
        this.seen.set(r.app, list)
      },
    })
  }

  report(sent: Map<string, number>): string[] {
    return APPS.map((app) => {
      const got = this.seen.get(app) ?? []
      const unique = new Set(got)
      const missing: number[] = []
      for (let seq = 1; seq <= (sent.get(app) ?? 0); seq++) if (!unique.has(seq)) missing.push(seq)
      return `  ${app}: ${got.length} of ${sent.get(app) ?? 0} heartbeats, ${got.length - unique.size} duplicates, ` +
        `gaps: ${missing.length === 0 ? 'none' : missing.join(', ')}`
    })
  }
}

class HealthManager extends Component {
  answered = 0

  start(): void {
    this.conn().subscribe('healthz.*', {
      queue: 'hm',
      callback: (_err, msg) => {
        this.answered++
        msg.respond(jc.encode({ app: msg.subject.slice('healthz.'.length), healthy: true, by: this.name }))
      },
    })
  }
}

class Controller extends Component {
  sent = 0
  answered = 0
  readonly failures: string[] = []
  private timer: NodeJS.Timeout | null = null

  start(): void {
    const nc = this.conn()
    this.timer = setInterval(() => {
      for (const app of APPS) {
        this.sent++
        nc.request(`healthz.${app}`, jc.encode({ app, healthy: false, by: this.name }), { timeout: 2_000 }).then(
          () => { this.answered++ },
          (err: Error) => { this.failures.push(`${app}: ${err.message}`) },
        )
      }
    }, HEALTH_CHECK_MS)
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
  }
}

class Agent extends Component {
  readonly app: string
  seq = 0
  private timer: NodeJS.Timeout | null = null

  constructor(app: string) {
    super(`agent ${app}`)
    this.app = app
  }

  start(): void {
    const nc = this.conn()
    this.timer = setInterval(() => {
      this.seq++
      nc.publish('router.register', jc.encode({ app: this.app, host: '10.0.0.1', port: 61000 + this.seq % 1000, seq: this.seq }))
    }, HEARTBEAT_MS)
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
  }
}

async function main(): Promise<void> {
  let zk: LocalZooKeeper | null = null
  let cluster: LocalCluster | null = null
  const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-example-'))
  const components: Component[] = []
  const cleanup = async (): Promise<void> => {
    await Promise.all(components.map((c) => c.nc?.close().catch(() => { /* already closed */ })))
    await cluster?.stop(READY_TIMEOUT_MS)
    await zk?.stop()
    await rm(dir, { recursive: true, force: true })
  }
  process.once('SIGINT', () => { void cleanup().then(() => process.exit(130)) })
  try {
    zk = await startLocalZooKeeper({ dirPrefix: 'natsmesh-example-zk-' })
    log('zookeeper', `serving on ${zk.connectString}`)
    cluster = await LocalCluster.start({ clusterName: 'cf', nodeNames: ['A', 'B', 'C'], ports: await freeNodePorts(3), nodeFlags: NODE_FLAGS },
      { kind: 'external-zk', connectString: zk.connectString }, READY_TIMEOUT_MS)
    await cluster.waitForMesh(READY_TIMEOUT_MS)
    log('cluster', `nodes ${cluster.nodes.map((n) => `${n.name}=${n.hostPort}`).join(', ')} meshed`)
    const cacheFile = path.join(dir, 'cf-nodes.json')

    const router = new Router('router')
    const managers = [new HealthManager('hm-1'), new HealthManager('hm-2')]
    const controller = new Controller('controller')
    const agents = APPS.map((app) => new Agent(app))
    components.push(router, ...managers, controller, ...agents)
    for (const c of components) await c.connect(zk.connectString, cacheFile)
    router.start()
    for (const m of managers) m.start()
    for (const c of components) await c.nc?.flush()
    controller.start()
    for (const a of agents) a.start()
    for (const c of components) log(c.name, `connected to ${c.server()}`)

    await sleep(KILL_AT_MS - (Date.now() - startedAt))
    const victim = busiestNode(cluster.nodes, components)
    const onVictim = components.filter((c) => c.server() === victim.hostPort).map((c) => c.name)
    log('chaos', `SIGKILL node ${victim.name} (${victim.hostPort}); on it: ${onVictim.join(', ') || 'nobody'}`)
    await victim.process?.kill()
    await sleep(RESTART_AFTER_MS)
    await cluster.restart(victim, READY_TIMEOUT_MS)
    await cluster.waitForMesh(READY_TIMEOUT_MS)
    log('chaos', `node ${victim.name} restarted on ${victim.hostPort} (new id ${victim.serverId})`)

    await sleep(Math.max(0, RUN_MS - (Date.now() - startedAt)))
    controller.stop()
    for (const a of agents) a.stop()
    for (const c of components) await c.nc?.flush().catch(() => { /* reported by its events */ })
    await sleep(2_500) // the last health checks answer or time out (2 s)

    const sent = new Map(agents.map((a) => [a.app, a.seq]))
    console.log('\nWhat each component saw:')
    console.log(`router        ${[...router.seen.values()].reduce((n, l) => n + l.length, 0)} registrations`)
    for (const line of router.report(sent)) console.log(line)
    for (const m of managers) console.log(`${m.name.padEnd(13)} answered ${m.answered} health checks`)
    console.log(`controller    ${controller.sent} health checks: ${controller.answered} answered, ${controller.failures.length} failed` +
      (controller.failures.length > 0 ? ` (${controller.failures.slice(0, 4).join('; ')}${controller.failures.length > 4 ? '; …' : ''})` : ''))
    for (const a of agents) console.log(`${a.name.padEnd(13)} sent ${a.seq} heartbeats`)
    console.log('\nFailovers:')
    for (const c of components) console.log(`${c.name.padEnd(13)} ${c.failovers.length === 0 ? 'none' : c.failovers.join('; ')}`)
    console.log('\nCore NATS is at-most-once: a subscriber loses what is published while it is between nodes (the')
    console.log('router\'s gaps, if it was on the killed node); publishers lose nothing published after their socket closed.')
  } finally {
    await cleanup()
  }
}

/** The node most components are on: killing it shows the most failovers. */
function busiestNode(nodes: readonly LocalNode[], components: Component[]): LocalNode {
  let best = nodes[0]
  let bestCount = -1
  for (const node of nodes) {
    const count = components.filter((c) => c.server() === node.hostPort).length
    if (count > bestCount) { best = node; bestCount = count }
  }
  return best
}

main().then(
  () => process.exit(0),
  (err: unknown) => { console.error(`example failed: ${err instanceof Error ? err.stack : String(err)}`); process.exit(1) },
)
