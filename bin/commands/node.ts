// `natsmesh node drain|stop <target>`: lame duck for one node, through its
// monitoring port (POST /drain, POST /stop; src/ops/node-control.ts). The
// target is a monitoring URL (http://host:port), or a name, server id (or a
// unique prefix of one) or client URL (nats://host:port) looked up in
// ZooKeeper. --wait then watches the node leave and says how long it took.
import type { Argv, CommandModule } from 'yargs'
import type { ZooKeeperDiscovery } from '../../src/discovery/zookeeper.js'
import { OptionsError } from '../../src/errors.js'
import { DEFAULT_HTTP_TIMEOUT, OperationError, watchCluster } from '../../src/ops/cluster-query.js'
import {
  requestLameDuck, targetAtMonitor, targetInCluster, waitUntilGone, type LameDuckAction, type NodeTarget,
} from '../../src/ops/node-control.js'
import { addZooKeeperFlags, durationFlag, zookeeperFlags } from './cluster.js'
import { runOperation } from './operation.js'
import { formatSeconds } from '../table.js'

interface NodeArgs {
  target: string
  zk?: string
  cluster_name?: string
  wait?: boolean
  wait_timeout: string
  timeout: string
}

/** Long enough for the default lame duck (10 s grace + 120 s spread) with room to spare. */
const DEFAULT_WAIT_TIMEOUT = '5m'

async function resolveTarget(argv: NodeArgs, discovery: ZooKeeperDiscovery | null, cluster: string, timeoutMs: number): Promise<NodeTarget> {
  const target = argv.target.trim()
  if (/^https?:\/\//.test(target)) {
    if (!/^https?:\/\/[^/]+\/?$/.test(target)) throw new OptionsError(`expected a monitoring URL such as http://host:8222, got ${JSON.stringify(target)}`)
    return targetAtMonitor(target, discovery, timeoutMs)
  }
  if (discovery === null) {
    throw new OptionsError(`to find node "${target}", give --zk and --cluster_name; or give its monitoring URL, http://host:port`)
  }
  return targetInCluster(discovery.members(), target, cluster)
}

async function run(action: LameDuckAction, argv: NodeArgs): Promise<number> {
  const timeoutMs = durationFlag('timeout', argv.timeout)
  const waitMs = durationFlag('wait_timeout', argv.wait_timeout)
  const zk = zookeeperFlags(argv)
  const discovery = zk === null ? null : await watchCluster(zk.zk, zk.cluster)
  try {
    const target = await resolveTarget(argv, discovery, zk?.cluster ?? '', timeoutMs)
    await requestLameDuck(action, target, timeoutMs)
    process.stdout.write(`${target.label}: ${action === 'drain' ? 'drain (lame duck)' : 'stop'} requested at ${target.monitorUrl}\n`)
    if (argv.wait !== true) return 0
    const gone = await waitUntilGone(target, discovery, waitMs, timeoutMs, (leftMs) => {
      process.stdout.write(`${target.label}: left the cluster membership after ${formatSeconds(leftMs)}\n`)
    })
    if (gone === null) throw new OperationError(`node ${target.label} is still running after ${formatSeconds(waitMs)} (--wait_timeout)`)
    if (discovery !== null && gone.leftMs === null) process.stdout.write(`${target.label}: left the cluster membership\n`)
    process.stdout.write(`${target.label}: stopped after ${formatSeconds(gone.goneMs)}\n`)
    return 0
  } finally {
    await discovery?.close()
  }
}

function addFlags(y: Argv): Argv<NodeArgs> {
  return addZooKeeperFlags(y
    .positional('target', { type: 'string', demandOption: true, describe: 'Node name, server id (or a unique prefix), nats://host:port client URL, or http://host:port monitoring URL' }))
    .option('wait', { type: 'boolean', describe: 'Wait until the node has left (znode gone, process exited) and say how long it took' })
    .option('wait_timeout', { type: 'string', default: DEFAULT_WAIT_TIMEOUT, describe: 'Give up waiting after this long' })
    .option('timeout', { type: 'string', default: DEFAULT_HTTP_TIMEOUT, describe: 'How long to wait for the node\'s HTTP answer' })
}

function actionCommand(action: LameDuckAction, describe: string, examples: ReadonlyArray<readonly [string, string]>): CommandModule<object, NodeArgs> {
  return {
    command: `${action} <target>`,
    describe,
    builder: (y: Argv): Argv<NodeArgs> => {
      const withFlags = addFlags(y)
      for (const [command, what] of examples) withFlags.example(command, what)
      return withFlags
    },
    handler: (argv) => runOperation(() => run(action, argv)),
  }
}

export const nodeCommand: CommandModule = {
  command: 'node',
  describe: 'Act on one node of a running cluster (node drain, node stop)',
  builder: (y: Argv): Argv => y
    .command(actionCommand('drain', 'Lame duck: leave membership, stop accepting, move clients away over the lame-duck duration, exit', [
      ['$0 node drain local-2 --zk 127.0.0.1:2181 --cluster_name local --wait', 'drain by name and wait for it to exit'],
      ['$0 node drain http://10.0.0.7:8222', 'drain by monitoring URL (no ZooKeeper needed)'],
    ]))
    .command(actionCommand('stop', 'As drain, without the grace period before clients are closed', []))
    .demandCommand(1, 'Name a node command: drain or stop'),
  handler: () => { /* yargs runs the subcommand */ },
}
