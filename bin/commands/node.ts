// `natsmesh node drain|stop <target>`: lame duck for one node, through its
// monitoring port (POST /drain, POST /stop). The target is a monitoring URL
// (http://host:port), or a name, server id (or a unique prefix of one) or
// client URL (nats://host:port) looked up in ZooKeeper. --wait then watches
// the node leave: its znode gone (when ZooKeeper is known), then its
// monitoring port closed, which happens as the process exits.
import type { Argv, CommandModule } from 'yargs'
import type { MemberInfo } from '../../src/discovery/discovery.js'
import type { ZooKeeperDiscovery } from '../../src/discovery/zookeeper.js'
import { OptionsError } from '../../src/errors.js'
import { addZooKeeperFlags, durationFlag, zookeeperFlags } from './cluster.js'
import {
  DEFAULT_HTTP_TIMEOUT, NoAnswer, OperationError, SHORT_ID_LENGTH, httpRequest, runOperation, serverIdAt, shortId,
  sortMembers, trimUrl, watchCluster,
} from '../../src/ops/cluster-query.js'
import { formatSeconds } from '../table.js'

type Action = 'drain' | 'stop'

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
const WAIT_POLL_MS = 200

interface Target {
  /** For messages: `name (short id)` or the URL. */
  label: string
  id: string | null
  monitorUrl: string
}

function describe(m: MemberInfo): string {
  return `${m.name} (${shortId(m.id)})`
}

/** `nats://h:p/` and `h:p` → `h:p`, to compare client URLs. */
function hostPort(url: string): string {
  return url.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '')
}

/** The member a target names: exact name, exact id, client URL, then a unique id prefix. */
export function findMember(members: readonly MemberInfo[], target: string, cluster: string): MemberInfo {
  const byName = members.filter((m) => m.name === target)
  const byId = members.filter((m) => m.id === target)
  const byClient = /^nats:\/\//.test(target) || /^[^/:]+:\d+$/.test(target)
    ? members.filter((m) => hostPort(m.clientUrl) === hostPort(target))
    : []
  const byPrefix = target.length >= 4 ? members.filter((m) => m.id.startsWith(target)) : []
  const found = [byName, byId, byClient, byPrefix].find((list) => list.length > 0) ?? []
  if (found.length === 1) return found[0]
  if (found.length > 1) {
    throw new OperationError(`"${target}" names ${found.length} nodes in cluster "${cluster}": ${found.map(describe).join(', ')}; ` +
      `give a server id (at least ${SHORT_ID_LENGTH} characters) instead`)
  }
  const known = members.length === 0 ? 'none is registered' : `members: ${sortMembers(members).map(describe).join(', ')}`
  throw new OperationError(`no node "${target}" in cluster "${cluster}" (${known})`)
}

async function resolveTarget(argv: NodeArgs, discovery: ZooKeeperDiscovery | null, cluster: string, timeoutMs: number): Promise<Target> {
  const target = argv.target.trim()
  if (/^https?:\/\//.test(target)) {
    if (!/^https?:\/\/[^/]+\/?$/.test(target)) throw new OptionsError(`expected a monitoring URL such as http://host:8222, got ${JSON.stringify(target)}`)
    const monitorUrl = trimUrl(target)
    const member = discovery?.members().find((m) => m.monitorUrl !== null && trimUrl(m.monitorUrl) === monitorUrl)
    if (member !== undefined) return { label: describe(member), id: member.id, monitorUrl }
    try {
      const { id, name } = await serverIdAt(monitorUrl, timeoutMs)
      return { label: `${name} (${shortId(id)})`, id: discovery === null ? null : id, monitorUrl }
    } catch (err) {
      throw new OperationError(`node at ${monitorUrl} is not answering: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  if (discovery === null) {
    throw new OptionsError(`to find node "${target}", give --zk and --cluster_name; or give its monitoring URL, http://host:port`)
  }
  const member = findMember(discovery.members(), target, cluster)
  if (member.monitorUrl === null) {
    throw new OperationError(`node ${describe(member)} has no monitoring URL (it was started without -m/--http_port): ` +
      'send its process SIGUSR2 to drain it, or SIGTERM to stop it')
  }
  return { label: describe(member), id: member.id, monitorUrl: trimUrl(member.monitorUrl) }
}

async function request(action: Action, target: Target, timeoutMs: number): Promise<void> {
  const url = `${target.monitorUrl}/${action}`
  let answer
  try {
    answer = await httpRequest('POST', url, timeoutMs)
  } catch (err) {
    throw new OperationError(`node ${target.label} is not answering at ${target.monitorUrl}: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (answer.status === 200) return
  const why = answer.body.trim() === '' ? `HTTP ${answer.status}` : `HTTP ${answer.status}: ${answer.body.trim()}`
  throw new OperationError(`node ${target.label} refused ${action} at ${url} (${why})`)
}

/** Polls until the node has left: znode gone (with ZooKeeper), then nothing listening on its monitoring port. */
async function waitUntilGone(target: Target, discovery: ZooKeeperDiscovery | null, waitMs: number, timeoutMs: number): Promise<{ leftMs: number | null; goneMs: number }> {
  const started = Date.now()
  let leftMs: number | null = null
  for (let i = 0; i < Math.ceil(waitMs / WAIT_POLL_MS) + 10; i++) {
    const elapsed = Date.now() - started
    if (discovery !== null && target.id !== null && leftMs === null && !discovery.members().some((m) => m.id === target.id)) {
      leftMs = elapsed
      process.stdout.write(`${target.label}: left the cluster membership after ${formatSeconds(leftMs)}\n`)
    }
    try {
      await httpRequest('GET', `${target.monitorUrl}/healthz`, timeoutMs)
    } catch (err) {
      // Refused: the process closed its monitor on the way out. A timeout is a hung node, not a gone one.
      if (err instanceof NoAnswer && err.kind === 'refused') return { leftMs, goneMs: Date.now() - started }
    }
    if (Date.now() - started > waitMs) break
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS))
  }
  throw new OperationError(`node ${target.label} is still running after ${formatSeconds(waitMs)} (--wait_timeout)`)
}

async function run(action: Action, argv: NodeArgs): Promise<number> {
  const timeoutMs = durationFlag('timeout', argv.timeout)
  const waitMs = durationFlag('wait_timeout', argv.wait_timeout)
  const zk = zookeeperFlags(argv)
  const discovery = zk === null ? null : await watchCluster(zk.zk, zk.cluster)
  try {
    const target = await resolveTarget(argv, discovery, zk?.cluster ?? '', timeoutMs)
    await request(action, target, timeoutMs)
    process.stdout.write(`${target.label}: ${action === 'drain' ? 'drain (lame duck)' : 'stop'} requested at ${target.monitorUrl}\n`)
    if (argv.wait !== true) return 0
    const { leftMs, goneMs } = await waitUntilGone(target, discovery, waitMs, timeoutMs)
    if (discovery !== null && leftMs === null) process.stdout.write(`${target.label}: left the cluster membership\n`)
    process.stdout.write(`${target.label}: stopped after ${formatSeconds(goneMs)}\n`)
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

function actionCommand(action: Action, describe: string, examples: ReadonlyArray<readonly [string, string]>): CommandModule<object, NodeArgs> {
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
