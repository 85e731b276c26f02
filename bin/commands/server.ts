// `natsmesh server`: one broker node in the foreground, alone or in a cluster.
// The flags (yargs, or the fast path in server-args.ts) become a NodeConfig
// in src/node/node-config.ts; runNode is the process's main.
import fs from 'node:fs'
import type { Argv } from 'yargs'
import { ClusterNode } from '../../src/node/cluster-node.js'
import { CLUSTER_OPTION_SPECS, DEFAULT_CLUSTER_OPTIONS } from '../../src/cluster/options.js'
import { configAsFlags, nodeConfigFrom, type NodeConfig } from '../../src/node/node-config.js'
import { formatDuration, type OptionSpec } from '../../src/config/option-table.js'
import { DEFAULT_OPTIONS, SERVER_OPTION_SPECS } from '../../src/server/options.js'
import { fail } from './fail.js'

/** Adds every option of a table as a flag, with its default, so --help documents each one. */
export function addOptionFlags<T>(y: Argv, specs: readonly OptionSpec<T>[], defaults: Readonly<T>, group: string): Argv {
  for (const spec of specs) {
    const d: unknown = defaults[spec.key]
    const shown = spec.kind === 'duration' && typeof d === 'number' ? formatDuration(d)
      : d === '' || d === false || d === undefined || (Array.isArray(d) && d.length === 0) ? null : String(d)
    y.option(spec.flag, {
      alias: spec.alias ?? undefined,
      describe: shown === null ? spec.describe : `${spec.describe} (default: ${shown})`,
      type: spec.kind === 'boolean' ? 'boolean' : 'string',
      group,
    })
  }
  return y
}

export function addNodeFlags(y: Argv): Argv {
  addOptionFlags(y, SERVER_OPTION_SPECS, DEFAULT_OPTIONS, 'Server options:')
  addOptionFlags(y, CLUSTER_OPTION_SPECS, DEFAULT_CLUSTER_OPTIONS, 'Cluster options:')
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'JSON file of options, keyed by flag name; flags override it' })
    .option('check', { type: 'boolean', describe: 'Validate the options, print the effective config as JSON and exit' })
}

/** The `server` command, from parsed flags: print the config (--check) or run the node. */
export async function serverCommand(argv: Record<string, unknown>): Promise<void> {
  try {
    const config = nodeConfigFrom(argv)
    if (argv.check === true) {
      process.stdout.write(`${JSON.stringify(configAsFlags(config), null, 2)}\n`)
      return
    }
    await runNode(config)
  } catch (err) {
    fail(err)
  }
}

export async function runNode(config: NodeConfig): Promise<ClusterNode> {
  const node = new ClusterNode(config.server, config.cluster)
  const logger = node.logger
  if (config.server.pidFile !== '') fs.writeFileSync(config.server.pidFile, `${process.pid}\n`)
  const exitWhenDone = (what: string, done: Promise<void>): void => {
    done.then(
      () => process.exit(0),
      (err: unknown) => { logger.error(`${what}: ${String(err)}`); process.exit(1) },
    )
  }
  const stop = (signal: string): void => {
    logger.info(`Trapped "${signal}" signal`)
    exitWhenDone('shutdown', node.shutdown())
  }
  const drain = (how: 'drain' | 'stop'): void => exitWhenDone(how, node.lameDuck(how === 'drain'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // nats-server's signal for lame-duck mode.
  process.on('SIGUSR2', () => { logger.info('Trapped "SIGUSR2" signal'); drain('drain') })
  node.server.setControl(drain)
  await node.start()
  return node
}
