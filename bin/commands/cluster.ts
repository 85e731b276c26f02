// `natsmesh cluster ls`: every node of a cluster and what it says about
// itself. The member list comes from ZooKeeper (--zk, --cluster_name), or,
// for a static cluster, from a list of monitoring URLs (--monitor). Each node
// is then asked for /varz and /healthz with a short timeout; a member that
// does not answer is still listed, as NOT ANSWERING.
import type { Argv, CommandModule } from 'yargs'
import { OptionsError } from '../../src/errors.js'
import { parseDuration } from '../../src/config/option-table.js'
import {
  DEFAULT_HTTP_TIMEOUT, readMembers, shortId, viewMember, viewMonitor, type NodeView,
} from '../../src/ops/cluster-query.js'
import { runOperation } from './operation.js'
import { formatTable, type Column } from '../table.js'

interface LsArgs {
  zk?: string
  cluster_name?: string
  monitor?: string
  json?: boolean
  timeout: string
}

/** A duration flag in ms; OptionsError naming the flag when it is not one. */
export function durationFlag(flag: string, value: string): number {
  const ms = parseDuration(value)
  if (ms <= 0) throw new OptionsError(`--${flag}: expected a duration such as 2s or 500ms, got ${JSON.stringify(value)}`)
  return ms
}

/** The `--zk` and `--cluster_name` pair, both or neither; a bad pair is an OptionsError. */
export function zookeeperFlags(argv: { zk?: string; cluster_name?: string }): { zk: string; cluster: string } | null {
  const zk = argv.zk ?? ''
  const cluster = argv.cluster_name ?? ''
  if (zk === '' && cluster === '') return null
  if (zk === '') throw new OptionsError('--cluster_name needs --zk, the ZooKeeper connect string the cluster registers in')
  if (cluster === '') throw new OptionsError('--zk needs --cluster_name, the cluster to look at')
  return { zk, cluster }
}

export function addZooKeeperFlags<T>(y: Argv<T>): Argv<T & { zk: string | undefined; cluster_name: string | undefined }> {
  return y
    .option('zk', { type: 'string', describe: 'ZooKeeper connect string the cluster registers in: host:port[,host:port][/chroot]' })
    .option('cluster_name', { type: 'string', describe: 'The cluster\'s name (its nodes\' --cluster_name)' })
}

const COLUMNS: readonly Column[] = [
  { title: 'NAME' }, { title: 'ID' }, { title: 'STATUS' }, { title: 'CLIENT URL' },
  { title: 'ROUTES', isNumeric: true }, { title: 'CONNS', isNumeric: true }, { title: 'SUBS', isNumeric: true },
  { title: 'MSGS IN', isNumeric: true }, { title: 'MSGS OUT', isNumeric: true }, { title: 'UPTIME' },
]

function cell(n: number | null): string {
  return n === null ? '-' : String(n)
}

function row(v: NodeView): string[] {
  return [
    v.name === '' ? v.monitor_url ?? '?' : v.name, v.id === '' ? '-' : shortId(v.id), v.status, v.client_url === '' ? '-' : v.client_url,
    cell(v.routes), cell(v.connections), cell(v.subscriptions), cell(v.in_msgs), cell(v.out_msgs), v.uptime ?? '-',
  ]
}

/** Lines under the table: why a node does not answer, and (members from ZooKeeper) nodes not fully meshed. */
function notes(views: readonly NodeView[], isMembership: boolean): string[] {
  const out: string[] = []
  const peers = views.length - 1
  for (const v of views) {
    const who = v.name === '' ? v.monitor_url ?? '?' : v.name
    if (v.status === 'NOT ANSWERING') out.push(`${who}: not answering at ${v.monitor_url ?? '?'} (${v.error ?? 'no answer'})`)
    else if (v.status === 'NO MONITOR') out.push(`${who}: registered without a monitoring URL (start it with -m/--http_port to see it here)`)
    else if (isMembership && v.status === 'OK' && v.routes !== null && v.routes !== peers) {
      out.push(`${who}: ${v.routes} route(s), ${peers} expected for a full mesh of ${views.length}`)
    }
  }
  return out
}

async function ls(argv: LsArgs): Promise<number> {
  const timeoutMs = durationFlag('timeout', argv.timeout)
  const zk = zookeeperFlags(argv)
  const monitors = (argv.monitor ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (zk !== null && monitors.length > 0) throw new OptionsError('use either --zk with --cluster_name, or --monitor, not both')
  if (zk === null && monitors.length === 0) {
    throw new OptionsError('name the cluster: --zk host:port --cluster_name NAME, or --monitor http://host:port,... for a static cluster')
  }
  for (const url of monitors) {
    if (!/^https?:\/\/[^/]+/.test(url)) throw new OptionsError(`--monitor: expected http://host:port, got ${JSON.stringify(url)}`)
  }
  const views = zk !== null
    ? await Promise.all((await readMembers(zk.zk, zk.cluster)).map((m) => viewMember(m, timeoutMs)))
    : await Promise.all(monitors.map((url) => viewMonitor(url, timeoutMs)))
  if (argv.json === true) {
    const source = zk === null ? { monitor: monitors } : { zookeeper: zk.zk }
    process.stdout.write(`${JSON.stringify({ cluster: zk?.cluster ?? null, ...source, nodes: views }, null, 2)}\n`)
    return 0
  }
  const where = zk === null ? `${monitors.length} monitoring URL(s)` : `cluster "${zk.cluster}" in ZooKeeper ${zk.zk}`
  if (views.length === 0) {
    process.stdout.write(`${where}: no nodes registered\n`)
    return 0
  }
  const answering = views.filter((v) => v.status !== 'NOT ANSWERING' && v.status !== 'NO MONITOR').length
  process.stdout.write(`${where}: ${views.length} node(s), ${answering} answering\n\n`)
  process.stdout.write(formatTable(COLUMNS, views.map(row)))
  const lines = notes(views, zk !== null)
  if (lines.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`)
  return 0
}

const lsCommand: CommandModule<object, LsArgs> = {
  command: 'ls',
  describe: 'List the nodes: name, id, status, client URL, routes, connections, subscriptions, messages, uptime',
  builder: (y: Argv): Argv<LsArgs> => addZooKeeperFlags(y)
        .option('monitor', { type: 'string', describe: 'Or: monitoring URLs of the nodes, http://h1:8222,http://h2:8222 (static clusters)' })
        .option('json', { type: 'boolean', describe: 'Print JSON for scripts ({cluster, nodes: [...]}, /varz field names)' })
        .option('timeout', { type: 'string', default: DEFAULT_HTTP_TIMEOUT, describe: 'How long to wait for each node\'s answer' })
        .example('$0 cluster ls --zk 127.0.0.1:2181 --cluster_name prod', 'the members registered in ZooKeeper')
    .example('$0 cluster ls --monitor http://h1:8222,http://h2:8222 --json', 'a static cluster, as JSON'),
  handler: (argv) => runOperation(() => ls(argv)),
}

export const clusterCommand: CommandModule = {
  command: 'cluster',
  describe: 'Look at a running cluster (cluster ls)',
  builder: (y: Argv): Argv => y.command(lsCommand).demandCommand(1, 'Name a cluster command: ls'),
  handler: () => { /* yargs runs the subcommand */ },
}
