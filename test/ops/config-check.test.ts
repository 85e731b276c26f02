// `natsmesh server --config f.json --check`, the way an operator validates a
// config before a rollout: the effective config is printed under flag names
// (so it can be fed back as a config file), flags override the file, and a
// bad file is refused with exit code 2 and a message naming the key.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { runCli } from '../helpers/ops.js'

const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-config-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

async function configFile(name: string, content: unknown): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return file
}

const PRODUCTION = {
  addr: '127.0.0.1',
  port: 4333,
  http_port: 8333,
  name: 'edge-1',
  max_payload: '2MB',
  ping_interval: '30s',
  lame_duck_duration: '60s',
  lame_duck_grace_period: '5s',
  cluster: 'nats://127.0.0.1:6333',
  cluster_name: 'prod',
  zk: '127.0.0.1:2181,127.0.0.1:2182/natsmesh',
  zk_session_timeout: '8s',
}

t.test('--check prints the effective config: file values, defaults for the rest, units resolved', async (t) => {
  const file = await configFile('prod.json', PRODUCTION)
  const r = await runCli(['server', '--config', file, '--check'])
  t.equal(r.code, 0, r.stderr)
  const effective = JSON.parse(r.stdout) as Record<string, unknown>
  t.match(effective, {
    addr: '127.0.0.1', port: 4333, http_port: 8333, name: 'edge-1', max_payload: 2 * 1024 * 1024, ping_interval: '30s',
    lame_duck_duration: '60s', lame_duck_grace_period: '5s', cluster: 'nats://127.0.0.1:6333', cluster_name: 'prod',
    zk: '127.0.0.1:2181,127.0.0.1:2182/natsmesh', zk_session_timeout: '8s', routes: [],
  })
  t.equal(effective.max_pings_out, 2, 'unset options show their defaults')
  t.equal(effective.write_deadline, '10s')

  const fedBack = await configFile('fed-back.json', r.stdout)
  const again = await runCli(['server', '--config', fedBack, '--check'])
  t.equal(again.code, 0, again.stderr)
  t.same(JSON.parse(again.stdout), effective, 'the printed config, fed back as a config file, gives the same config')
})

t.test('flags override the config file', async (t) => {
  const file = await configFile('override.json', PRODUCTION)
  const r = await runCli(['server', '-c', file, '--check', '-p', '4444', '--lame_duck_duration', '2m'])
  t.equal(r.code, 0, r.stderr)
  t.match(JSON.parse(r.stdout), { port: 4444, lame_duck_duration: '120s', name: 'edge-1' })
})

t.test('an unknown key, a bad value and a bad combination are refused with exit code 2, naming the key', async (t) => {
  const unknown = await runCli(['server', '-c', await configFile('unknown.json', { ...PRODUCTION, max_payolad: '1MB' }), '--check'])
  t.equal(unknown.code, 2)
  t.equal(unknown.stdout, '', 'nothing printed on stdout')
  t.match(unknown.stderr, /unknown option "max_payolad" in .*unknown\.json/)

  const badSize = await runCli(['server', '-c', await configFile('size.json', { max_payload: 'lots' }), '--check'])
  t.equal(badSize.code, 2)
  t.match(badSize.stderr, /--max_payload: expected a size .*got "lots"/)

  const badPort = await runCli(['server', '-c', await configFile('port.json', { port: 70000 }), '--check'])
  t.equal(badPort.code, 2)
  t.match(badPort.stderr, /--port: .*70000/)

  const badDuration = await runCli(['server', '-c', await configFile('duration.json', { lame_duck_duration: 'soon' }), '--check'])
  t.equal(badDuration.code, 2)
  t.match(badDuration.stderr, /--lame_duck_duration: .*"soon"/)

  const zkAlone = await runCli(['server', '-c', await configFile('zk.json', { zk: '127.0.0.1:2181' }), '--check'])
  t.equal(zkAlone.code, 2)
  t.match(zkAlone.stderr, /--zk and --routes need --cluster/)

  const notJson = await runCli(['server', '-c', await configFile('broken.json', '{"port": 4222,'), '--check'])
  t.equal(notJson.code, 2)
  t.match(notJson.stderr, /is not valid JSON/)
})

t.test('--check masks the zk_auth password, from a config file and from a flag', async (t) => {
  const secret = 's3cret-Pa55word'
  const file = await configFile('secret.json', { ...PRODUCTION, zk_auth: `natsmesh:${secret}` })
  const fromFile = await runCli(['server', '-c', file, '--check'])
  t.equal(fromFile.code, 0, fromFile.stderr)
  t.equal((JSON.parse(fromFile.stdout) as Record<string, unknown>).zk_auth, 'natsmesh:***', 'the user stays, the password is masked')
  t.notMatch(fromFile.stdout + fromFile.stderr, secret, 'the password appears nowhere in the output')

  const fromFlag = await runCli(['server', '-c', file, '--check', '--zk_auth', `other:${secret}-2`])
  t.equal(fromFlag.code, 0, fromFlag.stderr)
  t.equal((JSON.parse(fromFlag.stdout) as Record<string, unknown>).zk_auth, 'other:***', 'a password given as a flag is masked too')
  t.notMatch(fromFlag.stdout + fromFlag.stderr, secret, 'and appears nowhere in the output')

  const withColon = await runCli(['server', '-c', file, '--check', '--zk_auth', `me:${secret}:more`])
  t.equal((JSON.parse(withColon.stdout) as Record<string, unknown>).zk_auth, 'me:***', 'a password containing a colon is masked whole')
  t.notMatch(withColon.stdout + withColon.stderr, secret)
})

t.test('a nats-server config file with the same settings gives the same --check output as the JSON file', async (t) => {
  const conf = await configFile('prod.conf', [
    'listen: "127.0.0.1:4333"',
    'http_port: 8333',
    'server_name: edge-1',
    'max_payload: 2MB',
    'ping_interval: "30s"',
    'lame_duck_duration: "60s"',
    'lame_duck_grace_period: "5s"',
    'cluster { name: prod, listen: "127.0.0.1:6333" }',
    'natsmesh {',
    '  zookeeper { servers: "127.0.0.1:2181,127.0.0.1:2182/natsmesh", session_timeout: "8s", auth: "natsmesh:s3cret" }',
    '}',
  ].join('\n'))
  const json = await configFile('prod-same.json', { ...PRODUCTION, zk_auth: 'natsmesh:s3cret' })
  const [fromConf, fromJson] = await Promise.all([runCli(['server', '-c', conf, '--check']), runCli(['server', '-c', json, '--check'])])
  t.equal(fromConf.code, 0, fromConf.stderr)
  t.same(JSON.parse(fromConf.stdout), JSON.parse(fromJson.stdout))
  t.notMatch(fromConf.stdout, 's3cret', 'the ZooKeeper password is masked')
  const overridden = await runCli(['server', '-c', conf, '--check', '-p', '4444', '--cluster_name', 'other'])
  t.match(JSON.parse(overridden.stdout), { port: 4444, cluster_name: 'other', addr: '127.0.0.1' }, 'flags override the file')
})
