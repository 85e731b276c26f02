#!/usr/bin/env node
// The natsmesh command line. Each command lives in bin/commands/.
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { NatsmeshError } from '../src/server/errors.js'
import { optionsToFlags, SERVER_OPTION_SPECS } from '../src/server/options.js'
import { addOptionFlags, runServer, serverOptionsFrom } from './commands/server.js'

function fail(err: unknown): never {
  const message = err instanceof NatsmeshError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)
  process.stderr.write(`natsmesh: ${message}\n`)
  process.exit(err instanceof NatsmeshError ? 2 : 1)
}

await yargs(hideBin(process.argv))
  .scriptName('natsmesh')
  .usage('$0 <command> [options]')
  .command('server', 'Run one broker node in the foreground (speaks the NATS client protocol)', (y) =>
    addOptionFlags(y, SERVER_OPTION_SPECS)
      .option('config', { alias: 'c', type: 'string', describe: 'JSON file of options, keyed by flag name; flags override it' })
      .option('check', { type: 'boolean', describe: 'Validate the options, print the effective config as JSON and exit' })
      .example('$0 server -a 127.0.0.1 -p 4333', 'a single node on 127.0.0.1:4333')
      .example('$0 server -c natsmesh.json -DV', 'options from a file, debug and protocol trace on'),
  async (argv) => {
    try {
      const options = serverOptionsFrom(argv as Record<string, unknown>)
      if (argv.check === true) {
        process.stdout.write(`${JSON.stringify(optionsToFlags(options), null, 2)}\n`)
        return
      }
      await runServer(options)
    } catch (err) {
      fail(err)
    }
  })
  .demandCommand(1, 'Name a command: server')
  .strict()
  .fail((msg, err) => fail(err ?? new NatsmeshError('NATSMESH_ERR_USAGE', `${msg}\nRun natsmesh --help for usage.`)))
  .help()
  .alias('h', 'help')
  .version(false)
  .wrap(100)
  .parseAsync()
