#!/usr/bin/env node
// The natsmesh command line. A plain `natsmesh server …` starts without
// loading yargs (see commands/server-args.ts); everything else, help and
// errors included, goes through bin/cli.ts. NATSMESH_CLI=yargs forces yargs.
import { parseServerArgs } from './commands/server-args.js'

const args = process.argv.slice(2)
const fast = process.env.NATSMESH_CLI === 'yargs' ? null : parseServerArgs(args)
if (fast !== null) {
  const { serverCommand } = await import('./commands/server.js')
  await serverCommand(fast)
} else {
  await import('./cli.js')
}
