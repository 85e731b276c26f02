// `natsmesh server`: one broker node in the foreground, alone or in a cluster.
import fs from 'node:fs'
import type { Argv } from 'yargs'
import { ClusterNode } from '../../src/node/cluster-node.js'
import {
  CLUSTER_OPTION_SPECS, DEFAULT_CLUSTER_OPTIONS, resolveClusterOptions, type ClusterOptions,
} from '../../src/cluster/options.js'
import { OptionsError } from '../../src/errors.js'
import { fail } from './fail.js'
import { formatDuration, optionsFromFlags, optionsToFlags, type OptionSpec } from '../../src/config/option-table.js'
import { DEFAULT_OPTIONS, resolveOptions, SERVER_OPTION_SPECS, type ServerOptions } from '../../src/server/options.js'

export interface NodeConfig {
  server: ServerOptions
  cluster: ClusterOptions
}

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

/** Flags named in a table, taken from yargs' argv (aliases and yargs' own keys dropped). */
function pickFlags<T>(argv: Record<string, unknown>, specs: readonly OptionSpec<T>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const spec of specs) if (argv[spec.flag] !== undefined) out[spec.flag] = argv[spec.flag]
  return out
}

/** A JSON config file holds any option under its flag name; flags override it. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string
  try {
    text = fs.readFileSync(path, 'utf8')
  } catch (err) {
    throw new OptionsError(`--config: cannot read ${path}: ${(err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new OptionsError(`--config: ${path} is not valid JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new OptionsError(`--config: ${path} must hold a JSON object of options`)
  }
  const known = new Set([...SERVER_OPTION_SPECS, ...CLUSTER_OPTION_SPECS].map((s) => s.flag))
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new OptionsError(`--config: unknown option "${key}" in ${path}`)
  }
  return parsed as Record<string, unknown>
}

export function nodeConfigFrom(argv: Record<string, unknown>): NodeConfig {
  const fromFile = typeof argv.config === 'string' ? readConfigFile(argv.config) : {}
  const server = resolveOptions({
    ...optionsFromFlags(fromFile, SERVER_OPTION_SPECS, false),
    ...optionsFromFlags(pickFlags(argv, SERVER_OPTION_SPECS), SERVER_OPTION_SPECS),
  })
  const cluster = resolveClusterOptions({
    ...optionsFromFlags(fromFile, CLUSTER_OPTION_SPECS, false),
    ...optionsFromFlags(pickFlags(argv, CLUSTER_OPTION_SPECS), CLUSTER_OPTION_SPECS),
  }, server.clusterName)
  return { server, cluster }
}

/** The effective config under flag names, for --check; secrets are masked. */
export function configAsFlags(config: NodeConfig): Record<string, unknown> {
  const flags = { ...optionsToFlags(config.server, SERVER_OPTION_SPECS), ...optionsToFlags(config.cluster, CLUSTER_OPTION_SPECS) }
  if (typeof flags.zk_auth === 'string' && flags.zk_auth !== '') flags.zk_auth = `${flags.zk_auth.split(':')[0]}:***`
  return flags
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
