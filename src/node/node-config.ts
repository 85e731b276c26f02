// A node's whole configuration (the server's options and the cluster's) from
// its flags and an optional config file, where flags win (nats-server's rule);
// and back to flag names, for --check. The file is nats-server's format
// (config-file.ts), or, for a name ending in .json, natsmesh's older JSON
// object keyed by flag name. Checked here, once, through the two option
// tables (src/server/options.ts, src/cluster/options.ts).
import fs from 'node:fs'
import path from 'node:path'
import { CLUSTER_OPTION_SPECS, resolveClusterOptions, type ClusterOptions } from '../cluster/options.js'
import type { ConfigError } from '../config/config-error.js'
import { OptionsError } from '../errors.js'
import { resolveOptions, SERVER_OPTION_SPECS, type ServerOptions } from '../server/options.js'
import { optionsFromFlags, optionsToFlags, type OptionSpec } from '../config/option-table.js'
import { ConfigFileError, readConfFile, type FileOptions } from './config-file.js'

export interface NodeConfig {
  server: ServerOptions
  cluster: ClusterOptions
  /** nats-server's warnings about the config file: printed at start (the node still starts), fatal for -t. */
  warnings: readonly ConfigError[]
  /** natsmesh's notes on the config file (input nats-server silently ignores): printed, never fatal. */
  notices: readonly ConfigError[]
}

/** Flags named in a table, taken from parsed flags (aliases and the parser's own keys dropped). */
function pickFlags<T>(argv: Record<string, unknown>, specs: readonly OptionSpec<T>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const spec of specs) if (argv[spec.flag] !== undefined) out[spec.flag] = argv[spec.flag]
  return out
}

/** A .json config file is natsmesh's flag-keyed JSON; anything else is nats-server's format. */
export function isJsonConfig(file: string): boolean {
  return path.extname(file).toLowerCase() === '.json'
}

/** A JSON config file holds any option under its flag name; flags override it. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new OptionsError(`--config: cannot read ${file}: ${(err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new OptionsError(`--config: ${file} is not valid JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new OptionsError(`--config: ${file} must hold a JSON object of options`)
  }
  const known = new Set([...SERVER_OPTION_SPECS, ...CLUSTER_OPTION_SPECS].map((s) => s.flag))
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) {
      throw new OptionsError(`--config: unknown option "${key}" in ${file} (a .json file holds natsmesh's flag-named options; give a nats-server config file another extension, such as .conf)`)
    }
  }
  return parsed as Record<string, unknown>
}

/** A config file's options, in either format. */
function fileOptions(file: string): FileOptions {
  if (!isJsonConfig(file)) return readConfFile(file)
  const json = readConfigFile(file)
  return {
    server: optionsFromFlags(json, SERVER_OPTION_SPECS, false),
    cluster: optionsFromFlags(json, CLUSTER_OPTION_SPECS, false),
    warnings: [],
    notices: [],
  }
}

const NO_FILE: FileOptions = { server: {}, cluster: {}, warnings: [], notices: [] }

/** The config from parsed flags (`config`: the file's path, if any); throws OptionsError naming the flag or key. */
export function nodeConfigFrom(argv: Record<string, unknown>): NodeConfig {
  const fromFile = typeof argv.config === 'string' ? fileOptions(argv.config) : NO_FILE
  const server = resolveOptions({
    ...fromFile.server,
    ...optionsFromFlags(pickFlags(argv, SERVER_OPTION_SPECS), SERVER_OPTION_SPECS),
  })
  const cluster = resolveClusterOptions({
    ...fromFile.cluster,
    ...optionsFromFlags(pickFlags(argv, CLUSTER_OPTION_SPECS), CLUSTER_OPTION_SPECS),
  }, server.clusterName)
  return { server, cluster, warnings: fromFile.warnings, notices: fromFile.notices }
}

/**
 * `natsmesh server -t -c file`: what nats-server -t checks (the file alone,
 * flags aside), plus what would stop natsmesh starting with it. Returns the
 * notices; throws the errors, or the warnings as errors (nats-server's -t
 * fails on warnings too).
 */
export function checkConfigFile(file: string): readonly ConfigError[] {
  const config = nodeConfigFrom({ config: file })
  if (config.warnings.length > 0) throw new ConfigFileError([], config.warnings)
  return config.notices
}

/** The effective config under flag names, for --check; secrets are masked. */
export function configAsFlags(config: NodeConfig): Record<string, unknown> {
  const flags = { ...optionsToFlags(config.server, SERVER_OPTION_SPECS), ...optionsToFlags(config.cluster, CLUSTER_OPTION_SPECS) }
  if (typeof flags.zk_auth === 'string' && flags.zk_auth !== '') flags.zk_auth = `${flags.zk_auth.split(':')[0]}:***`
  return flags
}
