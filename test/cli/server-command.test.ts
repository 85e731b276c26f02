// `natsmesh server` as a user and a test harness meet it: help, refusals
// before anything listens, signals, and quick restarts on the same port.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { connect, StringCodec } from 'nats'
import t from 'tap'
import { SERVER_OPTION_SPECS } from '../../src/server/options.js'
import { freePort, isAccepting } from '../helpers/free-port.js'
import { spawnNode } from '../helpers/natsmesh.js'
import { runCli } from '../helpers/ops.js'

t.test('--help documents every server option', async (t) => {
  const { code, stdout } = await runCli(['server', '--help'])
  t.equal(code, 0)
  for (const spec of SERVER_OPTION_SPECS) t.match(stdout, `--${spec.flag}`, `--${spec.flag} is documented`)
  t.match(stdout, '--zk')
  t.match(stdout, '--routes')
})

t.test('a bad value is refused with its flag named, exit 2, and nothing listens', async (t) => {
  const port = await freePort()
  const { code, stderr } = await runCli(['server', '-p', String(port), '--max_payload', 'lots'])
  t.equal(code, 2)
  t.match(stderr, /--max_payload/)
  const listening = await isAccepting(port)
  t.notOk(listening, 'no listener was opened')
})

t.test('an unknown flag and an unknown config key are refused by name', async (t) => {
  const flag = await runCli(['server', '--max_paylod', '5'])
  t.equal(flag.code, 2)
  t.match(flag.stderr, /max_paylod/)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-cfg-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'bad.json')
  fs.writeFileSync(file, JSON.stringify({ port: 4333, max_pings: 3 }))
  const cfg = await runCli(['server', '-c', file, '--check'])
  t.equal(cfg.code, 2)
  t.match(cfg.stderr, /unknown option "max_pings"/)
})

t.test('a config file sets options and flags override it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-cfg-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'ok.json')
  fs.writeFileSync(file, JSON.stringify({ port: 4333, max_payload: '512KB', ping_interval: '30s' }))
  const { code, stdout } = await runCli(['server', '-c', file, '-p', '4444', '--check'])
  t.equal(code, 0)
  const effective = JSON.parse(stdout) as Record<string, unknown>
  t.equal(effective.port, 4444, 'the flag wins')
  t.equal(effective.max_payload, 512 * 1024)
  t.equal(effective.ping_interval, '30s')
})

t.test('a single node with --cluster_name serves clients, and SIGTERM exits 0 after flushing', async (t) => {
  const started = Date.now()
  const node = await spawnNode(['--cluster_name', 'x'])
  t.teardown(() => node.kill())
  t.comment(`ready (accepting) ${Date.now() - started} ms after spawn, node start included`)
  const sc = StringCodec()
  const sub = await connect({ servers: node.url, reconnect: false })
  const pub = await connect({ servers: node.url, reconnect: false })
  let got = 0
  const closed = sub.closed()
  sub.subscribe('bye', { callback: () => { got++ } })
  await sub.flush()
  for (let i = 0; i < 1000; i++) pub.publish('bye', sc.encode(String(i)))
  await pub.flush()
  const { code } = await node.stop()
  await closed
  t.equal(code, 0, 'exit code 0')
  t.equal(got, 1000, 'every message published before SIGTERM was delivered')
  await pub.close()
})

t.test('a new process binds the port at once after the previous one was killed', async (t) => {
  const port = await freePort()
  const first = await spawnNode([], port)
  const c = await connect({ servers: first.url, reconnect: false })
  await first.kill('SIGKILL')
  await c.closed()
  const second = await spawnNode([], port)
  t.teardown(() => second.kill())
  const again = await connect({ servers: second.url, reconnect: false })
  await again.flush()
  await again.close()
  t.pass('the second node serves on the same port')
})

t.test('-P writes the pid file and -l the log file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-files-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const pid = path.join(dir, 'n.pid')
  const log = path.join(dir, 'n.log')
  const node = await spawnNode(['-P', pid, '-l', log, '-n', 'logged'])
  t.teardown(() => node.kill())
  t.equal(fs.readFileSync(pid, 'utf8').trim(), String(node.process.pid))
  t.match(fs.readFileSync(log, 'utf8'), /\[INF\] logged: Server is ready/)
})
