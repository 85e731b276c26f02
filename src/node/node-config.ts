// A node's whole configuration (the server's options and the cluster's) from
// its flags and an optional JSON config file keyed by flag name, where flags
// win; and back to flag names, for --check. Checked here, once, through the
// two option tables (src/server/options.ts, src/cluster/options.ts).
import fs from 'node:fs'
import { CLUSTER_OPTION_SPECS, resolveClusterOptions, type ClusterOptions } from '../cluster/options.js'
import { OptionsError } from '../errors.js'
import { resolveOptions, SERVER_OPTION_SPECS, type ServerOptions } from '../server/options.js'
import { optionsFromFlags, optionsToFlags, type OptionSpec } from '../config/option-table.js'

export interface NodeConfig {
  server: ServerOptions
  cluster: ClusterOptions
}

/** Flags named in a table, taken from parsed flags (aliases and the parser's own keys dropped). */
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

/** The config from parsed flags (`config`: the file's path, if any); throws OptionsError naming the flag. */
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
