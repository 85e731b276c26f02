// `natsmesh server`: one broker node in the foreground, alone or in a cluster.
// The flags (yargs, or the fast path in server-args.ts) and the config file
// become a NodeConfig in src/node/node-config.ts; -t checks the file as
// nats-server -t does; runNode is the process's main.
import fs from 'node:fs'
import type { Argv } from 'yargs'
import { ClusterNode } from '../../src/node/cluster-node.js'
import { CLUSTER_OPTION_SPECS, DEFAULT_CLUSTER_OPTIONS } from '../../src/cluster/options.js'
import type { ConfigError } from '../../src/config/config-error.js'
import { NatsmeshError } from '../../src/errors.js'
import { checkConfigFile, configAsFlags, nodeConfigFrom, type NodeConfig } from '../../src/node/node-config.js'
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
    .option('config', {
      alias: 'c', type: 'string',
      describe: "Configuration file in nats-server's format (a .json name: natsmesh's JSON keyed by flag name); flags override it",
    })
    .option('test', { alias: 't', type: 'boolean', describe: 'Test the configuration file (-c) as nats-server -t does, and exit' })
    .option('check', { type: 'boolean', describe: 'Validate the options, print the effective config as JSON and exit' })
}

/** nats-server's -t without -c. */
const NO_FILE_TO_TEST = 'must specify [-c, --config] option to check configuration file syntax'

/** Notes and warnings about the config file go to stderr as they are, as nats-server prints its warnings. */
function printConfigNotes(notes: readonly ConfigError[]): void {
  for (const note of notes) process.stderr.write(`${note.message}\n`)
}

/**
 * `-t`: nats-server's verdict and words with our name: "configuration file F
 * is valid", exit 0; or every warning and error, exit 1 (as nats-server,
 * where other natsmesh errors exit 2).
 */
function testConfigFile(file: unknown): never {
  try {
    if (typeof file !== 'string') throw new NatsmeshError('NATSMESH_ERR_USAGE', NO_FILE_TO_TEST)
    printConfigNotes(checkConfigFile(file))
    process.stderr.write(`natsmesh: configuration file ${file} is valid\n`)
    process.exit(0)
  } catch (err) {
    if (!(err instanceof NatsmeshError)) fail(err)
    process.stderr.write(`natsmesh: ${err.message}\n`)
    process.exit(1)
  }
}

/** The `server` command, from parsed flags: test the file (-t), print the config (--check) or run the node. */
export async function serverCommand(argv: Record<string, unknown>): Promise<void> {
  if (argv.test === true) testConfigFile(argv.config)
  try {
    const config = nodeConfigFrom(argv)
    printConfigNotes([...config.notices, ...config.warnings])
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
