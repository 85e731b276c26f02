// `natsmesh server`: one broker node in the foreground.
import fs from 'node:fs'
import type { Argv } from 'yargs'
import { OptionsError } from '../../src/server/errors.js'
import { DEFAULT_OPTIONS, formatDuration, optionsFromFlags, resolveOptions, SERVER_OPTION_SPECS, type OptionSpec, type ServerOptions } from '../../src/server/options.js'
import { Server } from '../../src/server/server.js'

/** Adds every option of the table as a flag, so --help documents each one. */
export function addOptionFlags(y: Argv, specs: readonly OptionSpec[], defaults: object = DEFAULT_OPTIONS, group = 'Server options:'): Argv {
  const values = defaults as Record<string, unknown>
  for (const spec of specs) {
    const d = values[spec.key]
    const shown = spec.kind === 'duration' && typeof d === 'number' ? formatDuration(d)
      : d === '' || d === false || d === undefined ? null : String(d)
    y.option(spec.flag, {
      alias: spec.alias ?? undefined,
      describe: shown === null ? spec.describe : `${spec.describe} (default: ${shown})`,
      type: spec.kind === 'boolean' ? 'boolean' : 'string',
      group,
    })
  }
  return y
}

/** Flags named in the table, taken from yargs' argv (aliases and yargs' own keys dropped). */
export function pickFlags(argv: Record<string, unknown>, specs: readonly OptionSpec[]): Record<string, unknown> {
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
  return parsed as Record<string, unknown>
}

export function serverOptionsFrom(argv: Record<string, unknown>): ServerOptions {
  const fromFile = typeof argv.config === 'string' ? readConfigFile(argv.config) : {}
  return resolveOptions({
    ...optionsFromFlags(fromFile),
    ...optionsFromFlags(pickFlags(argv, SERVER_OPTION_SPECS)),
  })
}

export async function runServer(options: ServerOptions): Promise<void> {
  const server = new Server(options)
  if (options.pidFile !== '') fs.writeFileSync(options.pidFile, `${process.pid}\n`)
  let isStopping = false
  const stop = (signal: string): void => {
    if (isStopping) return
    isStopping = true
    server.logger.info(`Trapped "${signal}" signal`)
    server.shutdown().then(
      () => process.exit(0),
      (err: unknown) => { server.logger.error(`shutdown: ${String(err)}`); process.exit(1) },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  await server.start()
}
