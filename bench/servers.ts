// Starting and stopping the targets: nats-server and natsmesh, one node or a
// three-node cluster each, on ports the OS hands out. Every process goes into
// the runner's ProcessRegistry, which kills it at exit, on error and on SIGINT.
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { execFileSync, type ChildProcess } from 'node:child_process'
import { NodeProcess } from '../src/local/node-process.js'
import { answersInfo, freePorts } from '../src/local/ports.js'
import { sleep } from '../src/wait.js'

const READY_TIMEOUT_MS = 15_000
const READY_POLL_MS = 50
const ROUTES_TIMEOUT_MS = 20_000

/** Every child process of the run; killAll is synchronous so it works in 'exit'. */
export class ProcessRegistry {
  /** Child → whether it leads its own process group (servers do). */
  private readonly children = new Map<ChildProcess, boolean>()

  add(child: ChildProcess, isGroupLeader = false): void {
    this.children.set(child, isGroupLeader)
    child.once('exit', () => this.children.delete(child))
  }

  killAll(): void {
    for (const [child, isGroupLeader] of this.children) killChild(child, isGroupLeader)
    this.children.clear()
  }
}

/**
 * Servers are spawned as process group leaders (detached), so a command that
 * is a wrapper (a shell script, npx) goes down with everything it started:
 * the kill goes to the group, whose id is the pid of the child we spawned.
 */
function killChild(child: ChildProcess, isGroupLeader: boolean): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  try {
    if (isGroupLeader) process.kill(-child.pid, 'SIGKILL')
    else child.kill('SIGKILL')
  } catch {
    // Gone between the check and the kill: nothing left to stop.
  }
}

/** How to start one kind of server: argv before the flags the harness adds. */
export interface TargetSpec {
  name: string
  command: string[]
}

export interface RunningNode {
  port: number
  clusterPort: number
  process: NodeProcess
}

export interface Target {
  name: string
  nodes: RunningNode[]
}

/**
 * Starts `nodeCount` nodes. With more than one node each gets
 * `--cluster nats://127.0.0.1:C --cluster_name bench --routes <the others>`
 * (nats-server's flag names, which natsmesh shares), then waits until a
 * message published on every node reaches every other node.
 */
export async function startTarget(spec: TargetSpec, nodeCount: number, registry: ProcessRegistry): Promise<Target> {
  const ports = await freePorts(2 * nodeCount)
  const nodes: RunningNode[] = []
  for (let n = 0; n < nodeCount; n++) {
    const [port, clusterPort] = [ports[2 * n], ports[2 * n + 1]]
    const args: string[] = []
    if (nodeCount > 1) {
      const others = ports.filter((_, k) => k % 2 === 1 && k !== 2 * n + 1).map((p) => `nats://127.0.0.1:${p}`)
      args.push('--cluster', `nats://127.0.0.1:${clusterPort}`, '--cluster_name', 'bench', '--routes', others.join(','))
    }
    nodes.push({ port, clusterPort, process: spawnServer(spec, port, args, registry) })
  }
  for (const node of nodes) {
    try {
      await node.process.waitUntil(() => answersInfo(node.port), READY_TIMEOUT_MS, READY_POLL_MS)
    } catch (err) {
      throw new Error(`${spec.name} (${spec.command.join(' ')}) did not answer with INFO on port ${node.port}: ` +
        `${(err as Error).message}\n${node.process.logTail()}`, { cause: err })
    }
  }
  if (nodeCount > 1) await waitForRoutes(spec.name, nodes.map((n) => n.port), ROUTES_TIMEOUT_MS)
  return { name: spec.name, nodes }
}

/** A server of the target's kind, `-a 127.0.0.1 -p <port>` and args appended, leading its own process group. */
export function spawnServer(spec: TargetSpec, port: number, args: readonly string[], registry: ProcessRegistry): NodeProcess {
  const node = new NodeProcess({ name: spec.name, command: spec.command, port, args, isDetached: true })
  registry.add(node.process, true)
  return node
}

/** Fails fast, with the server's last words, when a node of the target has died. */
export function assertAlive(target: Target): void {
  for (const node of target.nodes) {
    const status = node.process.exitStatus
    if (status !== null) {
      throw new Error(`${target.name} node on port ${node.port} exited (${status.signal ?? status.code}): ${node.process.logTail().slice(-2000)}`)
    }
  }
}

export function stopTarget(target: Target): void {
  for (const node of target.nodes) node.process.killNow()
}

/**
 * Routes are up when, for every ordered pair of nodes, a probe published on one
 * reaches a subscriber on the other. Probes repeat every 50 ms because interest
 * only crosses a route once the route exists.
 */
async function waitForRoutes(name: string, ports: number[], timeoutMs: number): Promise<void> {
  const sockets = ports.map((port) => net.connect({ port, host: '127.0.0.1', noDelay: true }))
  const seen = new Set<string>()
  const want = ports.length * (ports.length - 1)
  try {
    sockets.forEach((socket, to) => {
      socket.on('error', () => {})
      socket.on('data', (d: Buffer) => {
        // Low volume and only here, so plain string matching is fine.
        for (const m of d.toString('latin1').matchAll(/MSG _bench\.route\.(\d+)\.(\d+) /g)) {
          if (Number(m[2]) === to) seen.add(`${m[1]}>${to}`)
        }
      })
      socket.write(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB _bench.route.*.${to} 1\r\n`)
    })
    const deadline = Date.now() + timeoutMs
    for (let round = 0; round < 1000 && seen.size < want && Date.now() < deadline; round++) {
      sockets.forEach((socket, from) => {
        for (let to = 0; to < ports.length; to++) {
          if (to !== from && !seen.has(`${from}>${to}`)) socket.write(`PUB _bench.route.${from}.${to} 0\r\n\r\n`)
        }
      })
      await sleep(50)
    }
    if (seen.size < want) throw new Error(`${name}: routes not up after ${timeoutMs} ms (${seen.size}/${want} paths work)`)
  } finally {
    for (const socket of sockets) socket.destroy()
  }
}

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/**
 * CPU seconds (user + system, all threads) the target's processes used so
 * far, from /proc (Linux). Counted in 10 ms ticks: fine over runs of seconds.
 */
export function targetCpuSeconds(target: Target): number {
  let ticks = 0
  for (const node of target.nodes) {
    if (node.process.pid <= 0) continue
    const stat = readFileSync(`/proc/${node.process.pid}/stat`, 'latin1')
    // Fields after "pid (comm) ": state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks / TICKS_PER_SECOND
}
