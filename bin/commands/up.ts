// `natsmesh up`: a local development cluster in the foreground. Starts a
// throwaway ZooKeeper when one is installed (else the nodes use a static seed
// list), then N `natsmesh server` child processes on 127.0.0.1 with
// monitoring on, prints where everything listens, and passes the nodes' logs
// through to stderr. Ctrl-C (SIGINT), SIGTERM or SIGHUP stops the nodes
// (SIGTERM, SIGKILL after a timeout), then ZooKeeper, and removes its temp
// dir. A node that exits on its own is reported; the others keep running.
//
// stdout carries up's own account (the table, node exits, shutdown); stderr
// carries the nodes' log lines, each naming its node.
import type { Argv, CommandModule } from 'yargs'
import { OptionsError } from '../../src/errors.js'
import { OperationError } from '../../src/ops/cluster-query.js'
import {
  LocalCluster, MONITOR_OFFSET, ROUTE_OFFSET, basedNodePorts, describeExit, freeNodePorts, type MemberChoice, type MemberSource,
} from '../../src/local/cluster.js'
import type { LocalNode, NodePorts } from '../../src/local/local-node.js'
import { logTail } from '../../src/local/zookeeper.js'
import { runOperation } from './operation.js'
import { formatTable } from '../table.js'

const MAX_NODES = 32
const NODE_READY_TIMEOUT_MS = 30_000
const MESH_TIMEOUT_MS = 20_000
const NODE_STOP_TIMEOUT_MS = 10_000
/** Short lame duck for a dev cluster (production defaults: 10s and 120s); flags after -- override them. */
const DEV_LAME_DUCK_FLAGS: ReadonlyArray<readonly [string, string]> = [['lame_duck_grace_period', '1s'], ['lame_duck_duration', '5s']]
/** Flags up sets per node: passing them after -- would clash. Long names, then single-letter aliases. */
const OWNED_FLAGS = ['addr', 'port', 'http_port', 'name', 'cluster', 'cluster_name', 'zk', 'routes', 'pid', 'log', 'check']
const OWNED_ALIASES = ['a', 'p', 'm', 'n', 'P', 'l']

interface UpArgs {
  nodes: number
  base_port?: number
  cluster_name: string
  no_zk?: boolean
  zk?: string
}

/** The words after the first `--`: flags for every node. */
function nodeFlagsFromArgv(): string[] {
  const i = process.argv.indexOf('--')
  return i === -1 ? [] : process.argv.slice(i + 1)
}

/** Flag names a token sets: `--port=1` → port; `-DV` → D, V; values and `--` itself → none. */
function flagNames(token: string): string[] {
  if (token.startsWith('--')) return token.length > 2 ? [token.slice(2).split('=')[0]] : []
  if (/^-[A-Za-z]+$/.test(token)) return token.slice(1).split('')
  return []
}

function checkNodeFlags(flags: readonly string[]): void {
  for (const token of flags) {
    for (const name of flagNames(token)) {
      if (OWNED_FLAGS.includes(name) || OWNED_ALIASES.includes(name)) {
        throw new OptionsError(`${token} after --: up sets that flag for each node itself (${OWNED_FLAGS.map((f) => `--${f}`).join(', ')})`)
      }
    }
  }
}

function hasFlag(flags: readonly string[], name: string): boolean {
  return flags.some((token) => flagNames(token).includes(name))
}

/** Ports for the nodes: free ones, or from --base_port (clients on base+i, routes on base+2000+i, HTTP on base+4000+i). */
async function nodePorts(count: number, basePort: number | undefined): Promise<NodePorts[]> {
  if (basePort === undefined) return freeNodePorts(count)
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + MONITOR_OFFSET + count - 1 > 65535) {
    throw new OptionsError(`--base_port: expected a port from 1 to ${65535 - MONITOR_OFFSET - count + 1} ` +
      `(clients on base+i, routes on base+${ROUTE_OFFSET}+i, monitoring on base+${MONITOR_OFFSET}+i), got ${String(basePort)}`)
  }
  return basedNodePorts(count, basePort)
}

function say(line: string): void {
  process.stdout.write(`${line}\n`)
}

/** Why the nodes use a static seed list, in up's words. */
function staticReason(isZooKeeperMissing: boolean): string {
  return isZooKeeperMissing
    ? 'since no ZooKeeper is installed (java and /usr/share/java/zookeeper.jar: apt-get install zookeeper)'
    : 'as asked (--no_zk)'
}

function printCluster(cluster: string, nodes: readonly LocalNode[], members: MemberSource): void {
  const where = members.kind === 'local-zk'
    ? `ZooKeeper: ${members.zk.connectString} (pid ${members.zk.pid}, data in ${members.zk.dir})`
    : members.kind === 'external-zk' ? `ZooKeeper: ${members.connectString} (yours; up does not stop it)`
      : `Discovery: static seed list (--routes), ${staticReason(members.isZooKeeperMissing)}`
  say(`natsmesh up: cluster "${cluster}", ${nodes.length} node(s)`)
  say(where)
  say('')
  process.stdout.write(formatTable(
    [{ title: 'NAME' }, { title: 'PID', isNumeric: true }, { title: 'CLIENT URL' }, { title: 'MONITOR URL' }, { title: 'ROUTE URL' }],
    nodes.map((n) => [n.name, String(pidOf(n)), n.clientUrl, n.monitorUrl, n.routeUrl]),
  ))
  say('')
  say(`Clients: ${nodes.map((n) => n.clientUrl).join(',')}`)
  const zk = members.kind === 'local-zk' ? members.zk.connectString : members.kind === 'external-zk' ? members.connectString : null
  const last = nodes[nodes.length - 1]
  if (zk !== null) {
    say(`List:    natsmesh cluster ls --zk ${zk} --cluster_name ${cluster}`)
    say(`Drain:   natsmesh node drain ${last.name} --zk ${zk} --cluster_name ${cluster} --wait`)
  } else {
    say(`List:    natsmesh cluster ls --monitor ${nodes.map((n) => n.monitorUrl).join(',')}`)
    say(`Drain:   natsmesh node drain ${last.monitorUrl} --wait`)
  }
  say('Node logs go to stderr. Ctrl-C stops the cluster.')
}

function pidOf(node: LocalNode): number {
  return node.process?.pid ?? -1
}

function memberChoice(argv: UpArgs): MemberChoice {
  if (argv.zk !== undefined) return { kind: 'external-zk', connectString: argv.zk }
  if (argv.no_zk === true) return { kind: 'static' }
  return { kind: 'auto', zookeeper: { stopTimeoutS: 5, dirPrefix: 'natsmesh-up-zk-' } }
}

async function up(argv: UpArgs): Promise<number> {
  const count = argv.nodes
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) throw new OptionsError(`--nodes: expected 1 to ${MAX_NODES}, got ${String(count)}`)
  const clusterName = argv.cluster_name
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(clusterName)) throw new OptionsError(`--cluster_name: letters, digits, _ . - only, got ${JSON.stringify(clusterName)}`)
  if (argv.no_zk === true && argv.zk !== undefined) throw new OptionsError('--no_zk and --zk contradict each other')
  const extra = nodeFlagsFromArgv()
  checkNodeFlags(extra)
  const ports = await nodePorts(count, argv.base_port)
  const lameDuck = DEV_LAME_DUCK_FLAGS.filter(([flag]) => !hasFlag(extra, flag)).flatMap(([flag, value]) => [`--${flag}`, value])
  const cluster = new LocalCluster({
    clusterName,
    nodeNames: ports.map((_, i) => `${clusterName}-${i + 1}`),
    ports,
    nodeFlags: [...lameDuck, ...extra],
    // Own process groups: Ctrl-C reaches up only, and up decides the order things stop in.
    isDetached: true,
    isWatchingParent: true,
    onLine: (_node, line) => process.stderr.write(`${line}\n`),
  })

  // Signals first: a Ctrl-C during startup must clean up too.
  let isStopping = false
  let wakeStop: () => void = () => {}
  const stopRequested = new Promise<void>((resolve) => { wakeStop = resolve })
  const onSignal = (signal: NodeJS.Signals): void => {
    if (isStopping) {
      say(`natsmesh up: ${signal} again: killing everything now`)
      cluster.killNow()
      return
    }
    isStopping = true
    say(`natsmesh up: ${signal}: stopping the cluster`)
    wakeStop()
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const s of signals) process.on(s, onSignal)

  try {
    const choice = memberChoice(argv)
    let members: MemberSource
    try {
      members = await cluster.startMembers(choice)
    } catch (err) {
      throw new OperationError(`${err instanceof Error ? err.message : String(err)} (run with --no_zk to use a static seed list)`, { cause: err })
    }
    if (isStopping) return 0

    cluster.startNodes()
    const nodes = cluster.nodes
    const failure = await Promise.race([cluster.waitReady(NODE_READY_TIMEOUT_MS), stopRequested.then(() => null)])
    if (failure !== null) {
      const why = failure.err instanceof Error ? failure.err.message : String(failure.err)
      say(`natsmesh up: ${why}; its last log lines:\n${failure.node.process?.logTail() ?? ''}`)
      return 1
    }
    if (isStopping) return 0
    if (!await Promise.race([cluster.waitForRoutes(MESH_TIMEOUT_MS), stopRequested.then(() => true)])) {
      say(`natsmesh up: warning: the nodes did not all see each other within ${MESH_TIMEOUT_MS} ms (see their logs)`)
    }
    if (isStopping) return 0
    printCluster(clusterName, nodes, members)

    // 0 when stopped by a signal; 1 when up ends because every node exited and one of them failed.
    let exitCode = 0
    for (const n of nodes) {
      void n.process?.exited.then((status) => {
        if (isStopping) return
        const others = nodes.filter((o) => o.isRunning).length
        say(status.code === 0
          ? `natsmesh up: ${n.name} (pid ${pidOf(n)}) has exited (${describeExit(status)}: drained or stopped); ${others} node(s) still running`
          : `natsmesh up: ${n.name} (pid ${pidOf(n)}) died unexpectedly (${describeExit(status)}); ${others} node(s) still running`)
        if (others === 0) {
          say('natsmesh up: no node left; stopping')
          exitCode = nodes.every((o) => o.process?.exitStatus?.code === 0) ? 0 : 1
          isStopping = true
          wakeStop()
        }
      })
    }
    const zk = members.kind === 'local-zk' ? members.zk : null
    if (zk !== null) {
      void zk.exited.then(async () => {
        if (isStopping) return
        say(`natsmesh up: ZooKeeper (pid ${zk.pid}) died unexpectedly; the nodes keep serving and routing, ` +
          `but no node can join or leave the membership. Its log:\n${await logTail(zk)}`)
      })
    }
    await stopRequested
    return exitCode
  } finally {
    isStopping = true
    await cluster.stop(NODE_STOP_TIMEOUT_MS, {
      nodeStopped: (n, status, wasRunning) => { if (wasRunning) say(`natsmesh up: ${n.name} stopped (${describeExit(status)})`) },
      zooKeeperStopped: (zk) => say(`natsmesh up: ZooKeeper stopped, ${zk.dir} removed`),
    })
    for (const s of signals) process.off(s, onSignal)
  }
}

export const upCommand: CommandModule<object, UpArgs> = {
  command: 'up',
  describe: 'Run a local development cluster in the foreground (ZooKeeper if installed, N nodes, monitoring on)',
  builder: (y: Argv): Argv<UpArgs> => y
      .option('nodes', { type: 'number', default: 3, describe: 'How many nodes' })
      .option('base_port', { type: 'number', describe: 'Clients on base+i, routes on base+2000+i, monitoring on base+4000+i (default: free ports)' })
      .option('cluster_name', { type: 'string', default: 'local', describe: 'Cluster name; nodes are named <cluster_name>-1, -2, …' })
      .option('no_zk', { type: 'boolean', describe: 'Use a static seed list even when ZooKeeper is installed' })
      .option('zk', { type: 'string', describe: 'Join an existing ZooKeeper instead of starting one' })
      .example('$0 up', 'three nodes and a ZooKeeper on free ports')
      .example('$0 up --nodes 5 --base_port 4222', 'clients on 4222-4226, routes on 6222-6226, monitoring on 8222-8226')
    .example('$0 up -- -D --max_payload 4MB', 'flags after -- go to every node'),
  handler: (argv) => runOperation(() => up(argv)),
}
