// The natsmesh command line through yargs: help, every command, every error.
// bin/natsmesh.ts loads this unless the plain `server` fast path applies.
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { NatsmeshError } from '../src/errors.js'
import { fail } from './commands/fail.js'
import { chaosCommand } from './commands/chaos.js'
import { clusterCommand } from './commands/cluster.js'
import { nodeCommand } from './commands/node.js'
import { addNodeFlags, serverCommand } from './commands/server.js'
import { upCommand } from './commands/up.js'

await yargs(hideBin(process.argv))
  .scriptName('natsmesh')
  .usage('$0 <command> [options]')
  .command('server', 'Run one broker node in the foreground (speaks the NATS client protocol)', (y) =>
    addNodeFlags(y)
      .example('$0 server -a 127.0.0.1 -p 4333', 'a single node on 127.0.0.1:4333')
      .example('$0 server --zk 127.0.0.1:2181 --cluster nats://0.0.0.0:6222 --cluster_name prod', 'join cluster prod through ZooKeeper')
      .example('$0 server --cluster nats://0.0.0.0:6222 --routes nats://h2:6222,nats://h3:6222 --cluster_name prod', 'a cluster from a static seed list')
      .example('$0 server -c natsmesh.conf -DV', 'options from a nats-server config file, debug and protocol trace on')
      .example('$0 server -t -c natsmesh.conf', 'check a config file as nats-server -t does'),
  async (argv) => serverCommand(argv as Record<string, unknown>))
  .command(upCommand)
  .command(clusterCommand)
  .command(nodeCommand)
  .command(chaosCommand)
  .demandCommand(1, 'Name a command: server, up, cluster, node, chaos')
  .strict()
  .fail((msg, err) => fail(err ?? new NatsmeshError('NATSMESH_ERR_USAGE', `${msg}\nRun natsmesh --help for usage.`)))
  .help()
  .alias('h', 'help')
  .version(false)
  .wrap(100)
  .parseAsync()
