// The option layer over nats-server's config format (src/node/config-file.ts),
// in-process: each nats-server key and alias lands on its natsmesh option,
// nats-server's "0 is the default" and "-1 is random" hold, every key
// nats-server knows and natsmesh does not implement is refused by name, an
// unknown key is nats-server's unknown field, and natsmesh's own settings
// come from the natsmesh block. test/ops/config-files.test.ts replays files
// like these against nats-server itself.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/config/config-error.js'
import { ConfigFileError, natsServerClusterKeys, natsServerKeys, readConfFile, type FileOptions } from '../../src/node/config-file.js'
import { nodeConfigFrom } from '../../src/node/node-config.js'
import { ROOT } from '../helpers/natsmesh.js'

const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-conf-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
let fileCount = 0

async function confFile(text: string, name = `c${++fileCount}.conf`): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(file, text)
  return file
}

async function read(text: string): Promise<FileOptions> {
  return readConfFile(await confFile(text), { env: {} })
}

/** The messages a file is refused with, without the `file:` prefix. */
async function refusal(text: string): Promise<string[]> {
  const file = await confFile(text)
  try {
    readConfFile(file, { env: {} })
  } catch (err) {
    if (err instanceof ConfigFileError) return err.message.split('\n').map((line) => line.replace(`${file}:`, ''))
    if (err instanceof ConfigError) return [err.message]
    throw err
  }
  throw new Error(`accepted: ${text}`)
}

t.test('each nats-server key and alias sets its natsmesh option', async (t) => {
  const cases: Array<[string, Partial<FileOptions['server']>, Partial<FileOptions['cluster']>?]> = [
    ['port: 4333', { port: 4333 }],
    ['listen: "127.0.0.1:4333"', { host: '127.0.0.1', port: 4333 }],
    ['listen: 4333', { host: '0.0.0.0', port: 4333 }],
    ['listen: "[::1]:4333"', { host: '::1', port: 4333 }],
    ['host: 10.0.0.1', { host: '10.0.0.1' }],
    ['net: 10.0.0.1', { host: '10.0.0.1' }],
    ['client_advertise: "nats.example.com:4333"', { clientAdvertise: 'nats.example.com:4333' }],
    ['server_name: edge-1', { serverName: 'edge-1' }],
    ['debug: true\ntrace: on', { debug: true, trace: true }],
    ['http: "127.0.0.1:8333"', { httpHost: '127.0.0.1', httpPort: 8333 }],
    ['http: 8333', { httpHost: '', httpPort: 8333 }],
    ['http_port: 8333', { httpPort: 8333 }],
    ['monitor_port: 8333', { httpPort: 8333 }],
    ['max_payload: 2MB', { maxPayload: 2 * 1024 * 1024 }],
    ['max_control_line: 8kb', { maxControlLine: 8192 }],
    ['max_pending: 32MB', { maxPending: 32 * 1024 * 1024 }],
    ['max_connections: 1k', { maxConnections: 1000 }],
    ['max_conn: 100', { maxConnections: 100 }],
    ['ping_interval: "1m30s"', { pingIntervalMs: 90_000 }],
    ['ping_max: 5', { maxPingsOut: 5 }],
    ['write_deadline: "2500ms"', { writeDeadlineMs: 2500 }],
    ['lame_duck_duration: "45s"', { lameDuckDurationMs: 45_000 }],
    ['lame_duck_grace_period: "5s"', { lameDuckGracePeriodMs: 5000 }],
    ['log_file: /tmp/a.log\npid_file: /tmp/a.pid', { logFile: '/tmp/a.log', pidFile: '/tmp/a.pid' }],
    ['logfile: /tmp/a.log\npidfile: /tmp/a.pid', { logFile: '/tmp/a.log', pidFile: '/tmp/a.pid' }],
    ['MAX_PAYLOAD: 512KB\nDebug: true', { maxPayload: 512 * 1024, debug: true }],
    ['cluster { name: prod }', { clusterName: 'prod' }, {}],
    ['cluster { listen: "127.0.0.1:6333" }', {}, { clusterListen: 'nats://127.0.0.1:6333' }],
    ['cluster { host: 127.0.0.1, port: 6333 }', {}, { clusterListen: 'nats://127.0.0.1:6333' }],
    ['cluster { net: "::1", port: 6333 }', {}, { clusterListen: 'nats://[::1]:6333' }],
    ['cluster { port: 6333 }', {}, { clusterListen: 'nats://0.0.0.0:6333' }],
    ['cluster { listen: "127.0.0.1:-1" }', {}, { clusterListen: 'nats://127.0.0.1:0' }],
    ['cluster { port: 6333, routes: [nats://h1:6222, "nats-route://u:p@h2:6222"] }', {}, {
      clusterListen: 'nats://0.0.0.0:6333', routes: ['nats://h1:6222', 'nats-route://u:p@h2:6222'],
    }],
    ['cluster { advertise: "10.0.0.1:6222", no_advertise: true }', {}, { clusterAdvertise: '10.0.0.1:6222', noAdvertise: true }],
    ['cluster { cluster_advertise: "10.0.0.1" }', {}, { clusterAdvertise: '10.0.0.1' }],
  ]
  for (const [text, server, cluster] of cases) {
    const got = await read(text)
    t.same(got.server, server, text)
    if (cluster !== undefined) t.same(got.cluster, cluster, `${text} (cluster)`)
    t.same(got.warnings, [], `${text}: no warning`)
  }
})

t.test('as in nats-server, 0 asks for the default and -1 for a random port', async (t) => {
  const zeros = await read('port: 0\nmax_payload: 0\nmax_control_line: 0\nmax_pending: 0\nmax_connections: 0\nping_max: 0\n' +
    'ping_interval: "0s"\nwrite_deadline: "0s"\nlame_duck_grace_period: "0s"\ncluster { port: 0, name: c }')
  t.same(zeros.server, { clusterName: 'c' }, 'every zero leaves its default')
  t.same(zeros.cluster, {}, 'cluster port 0 is no cluster')
  t.same((await read('port: -1')).server, { port: 0 }, 'port -1 is natsmesh\'s port 0, a random one')
  t.same((await read('listen: "127.0.0.1:-1"')).server, { host: '127.0.0.1', port: 0 })
  t.same((await read('cluster { port: -1 }')).cluster, { clusterListen: 'nats://0.0.0.0:0' })
  t.same((await read('http_port: 0')).server, { httpPort: 0 }, 'monitoring port 0 is off')
})

t.test('a value of the wrong type is refused in nats-server\'s words, at the key', async (t) => {
  t.same(await refusal('port: "4222"'), ['1:0: interface conversion: interface {} is string, not int64'])
  t.same(await refusal('\nmax_payload: "1MB"'), ['2:1: interface conversion: interface {} is string, not int64'])
  t.same(await refusal('debug: "yes"'), ['1:0: interface conversion: interface {} is string, not bool'])
  t.same(await refusal('max_payload: 3GB'), ['1:0: max_payload value is too big'])
  t.same(await refusal('MAX_CONTROL_LINE: 3GB'), ['1:0: MAX_CONTROL_LINE value is too big'], 'the key as written')
  t.same(await refusal('listen: "4222"'), ['1:0: could not parse address string "4222"'])
  t.same(await refusal('listen: "h:x"'), ['1:0: could not parse port "x"'])
  t.same(await refusal('listen: true'), ['1:0: expected port or host:port, got bool'])
  t.same(await refusal('http: 1.5'), ['1:0: expected port or host:port, got float64'])
  t.same(await refusal('ping_interval: "90 seconds"'), ['1:0: error parsing ping_interval: time: unknown unit " seconds" in duration "90 seconds"'])
  t.same(await refusal('lame_duck_duration: "10s"'), ['1:0: invalid lame_duck_duration of 10s, minimum is 30 seconds'])
  t.same(await refusal('lame_duck_duration: 60'), ['1:0: interface conversion: interface {} is int64, not string'])
  t.same(await refusal('lame_duck_grace_period: "soon"'), ['1:0: error parsing lame_duck_grace_period: time: invalid duration "soon"'])
  t.same(await refusal('lame_duck_grace_period: "-1s"'), ['1:0: invalid lame_duck_grace_period, needs to be positive'])
  t.same(await refusal('cluster: 6222'), ['1:0: Expected map to define cluster, got int64'])
  t.same(await refusal('cluster { routes: [nats://a:1, true] }'), ['1:31: interface conversion: interface {} is bool, not string'], 'a route at its own position')
  t.same(await refusal('cluster { routes: nats://a:1 }'), ['1:10: interface conversion: interface {} is string, not []interface {}'])
})

t.test('one bad key does not hide the next: every error is listed, warnings first', async (t) => {
  t.same(await refusal('port: "x"\nping_interval: 30\nfoo: 1\ndebug: 1'), [
    '2:1: invalid use of field "ping_interval": ping_interval should be converted to a duration',
    '1:0: interface conversion: interface {} is string, not int64',
    '3:1: unknown field "foo"',
    '4:1: interface conversion: interface {} is int64, not bool',
  ])
})

t.test('a duration as a bare number is seconds, with nats-server\'s warning; the file is still read', async (t) => {
  const got = await read('ping_interval: 30\nwrite_deadline: 2')
  t.same(got.server, { pingIntervalMs: 30_000, writeDeadlineMs: 2000 })
  t.same(got.warnings.map((w) => [w.line, w.col, w.reason, w.isWarning]), [
    [1, 0, 'invalid use of field "ping_interval": ping_interval should be converted to a duration', true],
    [2, 1, 'invalid use of field "write_deadline": write_deadline should be converted to a duration', true],
  ])
  const dup = await read('cluster { port: 6333, routes: [nats://a:1, nats://a:1] }')
  t.same(dup.cluster.routes, ['nats://a:1'], 'a duplicate route is dropped')
  t.same(dup.warnings.map((w) => w.reason), ['invalid use of field "nats://a:1": Duplicate route entry detected'])
})

t.test('every key nats-server knows and natsmesh does not implement is refused by name, at the key', async (t) => {
  const unsupported = natsServerKeys().filter((k) => !k.isSupported).flatMap((k) => k.names)
  t.ok(unsupported.length > 50, `${unsupported.length} keys and aliases`)
  for (const name of ['authorization', 'accounts', 'tls', 'jetstream', 'leafnodes', 'gateway', 'websocket', 'mqtt', 'operator', 'resolver', 'logtime']) {
    t.ok(unsupported.includes(name), `${name} is among them`)
  }
  for (const name of unsupported) {
    t.same(await refusal(`\n  ${name}: 1`), [`2:3: "${name}" is not supported by natsmesh`], name)
  }
  for (const name of ['authorization', 'tls', 'permissions', 'connect_retries']) {
    t.same(await refusal(`cluster {\n  ${name}: 1\n}`), [`2:3: "${name}" is not supported by natsmesh`], `cluster { ${name} }`)
  }
  t.same(await refusal('TLS { }'), ['1:0: "TLS" is not supported by natsmesh'], 'named as written')
})

t.test('an unknown key is nats-server\'s unknown field, unless it is a variable something refers to', async (t) => {
  t.same(await refusal('port: 4222\nmax_payolad: 1MB'), ['2:1: unknown field "max_payolad"'])
  t.same(await refusal('MY_PORT = 4333\nport: 4222'), ['1:0: unknown field "MY_PORT"'], 'an unused top-level variable')
  t.same((await read('MY_PORT = 4333\nport: $MY_PORT')).server, { port: 4333 }, 'a used one is fine')
  t.same(await refusal('cluster {\n  name: a\n  foo: 1\n}'), ['3:3: unknown field "foo"'], 'in the cluster block')
  t.same(await refusal('natsmesh {\n  zookeeper { servers: "h:2181", bogus: 1 }\n}'), ['2:34: unknown field "bogus"'], 'in the natsmesh block')
})

t.test('natsmesh\'s own settings come from the natsmesh block', async (t) => {
  const got = await read('natsmesh {\n  zookeeper {\n    servers: "zk1:2181,zk2:2181/natsmesh"\n    session_timeout: "8s"\n    auth: "nm:secret"\n  }\n  route_ping_interval: "500ms"\n}')
  t.same(got.cluster, { zookeeper: 'zk1:2181,zk2:2181/natsmesh', zkSessionTimeoutMs: 8000, zkAuth: 'nm:secret', routePingIntervalMs: 500 })
  t.same(await refusal('natsmesh: 1'), ['1:0: Expected map to define natsmesh, got int64'])
  t.same(await refusal('natsmesh { route_ping_interval: "0s" }'), ['1:11: route_ping_interval 0s is out of range for natsmesh, which takes a positive duration'])
})

t.test('values nats-server takes and natsmesh cannot run with are refused at the key', async (t) => {
  t.same(await refusal('port: 70000'), ['1:0: port 70000 is out of range for natsmesh, which takes 1 to 65535, -1 (a random port) or 0 (the default, 4222)'])
  t.same(await refusal('http_port: -1'), ['1:0: http_port -1 is out of range for natsmesh, which takes 1 to 65535, or 0 (no monitoring)'])
  t.same(await refusal('max_connections: -1'), ['1:0: max_connections -1 is out of range for natsmesh, which takes 1 or more, or 0 (the default)'])
  t.same(await refusal('max_control_line: 16'), ['1:0: max_control_line 16 is out of range for natsmesh, which takes 32 or more, or 0 (the default)'])
  t.same(await refusal('ping_interval: "-5s"'), ['1:0: ping_interval -5s is out of range for natsmesh, which takes a positive duration, or 0 (the default)'])
  t.same(await refusal('client_advertise: "a:b:c"'), ['1:0: client_advertise: expected host or host:port, got "a:b:c" (address a:b:c: too many colons in address)'])
  t.same(await refusal('cluster { routes: ["nats://nohost"] }'), ['1:20: error parsing route url ["nats://nohost"]: natsmesh needs a host and a port'])
})

t.test('flags override the file, and the file overrides the defaults', async (t) => {
  const file = await confFile('port: 4333\nmax_payload: 2MB\nserver_name: from-file\ndebug: true\ncluster { name: a, port: 6333 }')
  const config = nodeConfigFrom({ config: file, port: '5555', debug: false, cluster: 'nats://127.0.0.1:7777' })
  t.match(config.server, { port: 5555, maxPayload: 2 * 1024 * 1024, serverName: 'from-file', debug: false, clusterName: 'a', maxPingsOut: 2 })
  t.equal(config.cluster.clusterListen, 'nats://127.0.0.1:7777')
  t.equal(config.server.httpHost, config.server.host, 'monitoring listens on the client host unless told otherwise, as nats-server')
})

t.test('docs/operations.md names every nats-server key: mapped ones in the table, refused ones in the list', async (t) => {
  const docs = await readFile(path.join(ROOT, 'docs', 'operations.md'), 'utf8')
  const section = docs.slice(docs.indexOf('## Configuration file'), docs.indexOf('**The natsmesh block.**'))
  const table = section.slice(section.indexOf('| nats-server key'), section.indexOf('**What is refused.**'))
  const refused = section.slice(section.indexOf('**What is refused.**'))
  const cluster = refused.slice(refused.indexOf('inside `cluster`'))
  for (const { names, isSupported } of natsServerKeys()) {
    const where = isSupported ? table : refused
    t.ok(names.some((name) => where.includes(isSupported ? `\`${name}` : `\`${name}\``)), `${names.join('/')} ${isSupported ? 'in the table' : 'among the refused keys'}`)
  }
  const clusterRows = table.split('\n').filter((line) => line.includes('`cluster {')).join('\n')
  for (const { names, isSupported } of natsServerClusterKeys()) {
    t.ok(names.some((name) => (isSupported ? new RegExp(`\\b${name}\\b`).test(clusterRows) : cluster.includes(`\`${name}\``))),
      `cluster { ${names.join('/')} } ${isSupported ? 'in the table' : 'among the refused keys'}`)
  }
})
