// The `server` fast path (no yargs) must read arguments exactly as the yargs
// path does, and leave everything else to yargs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { parseServerArgs } from '../../bin/commands/server-args.js'
import { runCli, type CliResult } from '../helpers/ops.js'

function check(args: string[], viaYargs: boolean): Promise<CliResult> {
  return runCli(['server', ...args, '--check'], 10_000, { NATSMESH_CLI: viaYargs ? 'yargs' : '' })
}

const SAME_RESULT: string[][] = [
  [],
  ['-a', '127.0.0.1', '-p', '4333'],
  ['--addr=127.0.0.1', '--port=4333', '--max_payload', '512KB'],
  ['-DV', '-n', 'edge', '--ping_interval', '2m'],
  ['--debug', '--no-trace', '--max_pings_out', '3', '--write_deadline=5s'],
  ['--cluster', 'nats://127.0.0.1:6222', '--routes', 'nats://127.0.0.1:6223,nats://127.0.0.1:6224', '--cluster_name', 'prod'],
  ['--cluster', 'nats://127.0.0.1:6222', '--zk', '127.0.0.1:2181/x', '--cluster_name', 'p', '--zk_auth', 'me:secret', '--no_advertise'],
  ['--max_payload', 'lots'],
  ['--zk', '127.0.0.1:2181'],
  ['-p'],
]

t.test('the fast path and yargs give the same --check output and exit code', async (t) => {
  for (const args of SAME_RESULT) {
    const [fast, slow] = await Promise.all([check(args, false), check(args, true)])
    t.same({ code: fast.code, stdout: fast.stdout, stderr: fast.stderr }, { code: slow.code, stdout: slow.stdout, stderr: slow.stderr }, args.join(' ') || '(no flags)')
  }
})

t.test('the fast path takes plain server arguments', async (t) => {
  t.same(parseServerArgs(['server', '-p', '4333', '-DV', '--zk=h:1']), { port: '4333', debug: true, trace: true, zk: 'h:1' })
  t.same(parseServerArgs(['server', '--no-debug', '-c', 'f.json', '--check']), { debug: false, config: 'f.json', check: true })
  t.same(parseServerArgs(['server', '-t', '-c', 'f.conf']), { test: true, config: 'f.conf' })
})

t.test('-t gives the same verdict, words and exit code through the fast path and yargs', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-args-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const valid = path.join(dir, 'valid.conf')
  const invalid = path.join(dir, 'invalid.conf')
  await writeFile(valid, 'port: 4333\ncluster { name: a, listen: "127.0.0.1:6333" }\n')
  await writeFile(invalid, 'port: "4333"\nping_interval: 5\n')
  for (const args of [['-t', '-c', valid], ['-t', '-c', invalid], ['-t'], ['--test', '--config', valid]]) {
    const run = (viaYargs: boolean): Promise<CliResult> => runCli(['server', ...args], 10_000, { NATSMESH_CLI: viaYargs ? 'yargs' : '' })
    const [fast, slow] = await Promise.all([run(false), run(true)])
    t.same(fast, slow, args.join(' '))
    t.equal(fast.code, args.includes(valid) ? 0 : 1, `${args.join(' ')}: exit code`)
  }
})

t.test('anything else is left to yargs', async (t) => {
  for (const args of [
    ['up'], ['server', '--help'], ['server', '-h'], ['server', '--bogus', '1'], ['server', 'extra'],
    ['server', '-p', '1', '-p', '2'], ['server', '--debug', 'false'], ['server', '-p'], ['server', '--port', '-1'],
    ['server', '-Dx'], ['server', '-p=4'],
  ]) {
    t.equal(parseServerArgs(args), null, args.join(' '))
  }
})
