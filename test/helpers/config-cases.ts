// The table of nats-server configuration files that natsmesh and nats-server
// 2.9.10, the oracle, are given in the same test (test/ops/config-files.test.ts
// and config-verdicts.test.ts): `-t` gives the same verdict and the same
// messages, and for a valid file both servers, started with it, show the same
// limits and addresses in /varz. Where natsmesh differs on purpose, the case
// says how, and the test checks that difference instead:
//   natsmesh-only     the natsmesh { } block, which nats-server does not know
//   unsupported       a key nats-server knows and natsmesh does not implement:
//                     nats-server accepts the file, natsmesh refuses the key by name
//   stricter          a value nats-server takes and natsmesh cannot run with
//                     (a port beyond 65535, a negative limit, routes without a
//                     route listener, which nats-server silently ignores)
//   refused-at-start  nats-server's -t passes it, then nats-server refuses to
//                     start; natsmesh's -t refuses it at once, in the same words
// Placeholders in a file: @PORT@, @HTTP@, @ROUTE@ (free ports, per server),
// @DIR@ (the case's directory). A file without @PORT@ gets `-a 127.0.0.1 -p`,
// one without @HTTP@ gets `-m`, on the command line (flags override the file).
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Test } from 'tap'
import { freePorts } from './free-port.js'
import { checkFileWith, startRefused, varzWith, type Checker } from './nats-server-config.js'

export type Expect = 'same' | 'natsmesh-only' | 'unsupported' | 'stricter' | 'refused-at-start'

export interface Case {
  name: string
  /** Files by path relative to the case's directory; the first one is given to -c. */
  files: Record<string, string>
  env?: Record<string, string>
  expect: Expect
  /** For the differences: natsmesh's -t lines (a line starting `line:col:` follows `<file>:`). */
  natsmesh?: string[]
  /** Ports the file asks to be random (-1): /varz shows some free port, not a given one. */
  randomPorts?: Array<'port' | 'route'>
}

/** Files both accept: the same verdict, then the same /varz. */
export const VALID_CASES: Case[] = [
  { name: 'host and port', expect: 'same', files: { 'a.conf': 'host: 127.0.0.1\nport: @PORT@\nhttp_port: @HTTP@\n' } },
  { name: 'listen and http as host:port', expect: 'same', files: { 'a.conf': 'listen: "127.0.0.1:@PORT@"\nhttp: "127.0.0.1:@HTTP@"\n' } },
  { name: 'the aliases net and monitor_port', expect: 'same', files: { 'a.conf': 'net: 127.0.0.1\nport: @PORT@\nmonitor_port: @HTTP@\n' } },
  { name: 'port -1 is a random port', expect: 'same', files: { 'a.conf': 'host: 127.0.0.1\nport: -1\nhttp_port: @HTTP@\n' }, randomPorts: ['port'] },
  { name: 'limits with size suffixes (k is 1000, KB 1024)', expect: 'same', files: { 'a.conf': 'max_payload: 2MB\nmax_pending: 32MB\nmax_control_line: 8KB\nmax_connections: 1k\n' } },
  { name: 'the alias max_conn, and ping_max', expect: 'same', files: { 'a.conf': 'max_conn: 100\nping_max: 5\n' } },
  { name: 'durations as Go strings', expect: 'same', files: { 'a.conf': 'ping_interval: "1m30s"\nwrite_deadline: \'2500ms\'\n' } },
  { name: 'lame-duck durations', expect: 'same', files: { 'a.conf': 'lame_duck_duration: "45s"\nlame_duck_grace_period: "5s"\n' } },
  { name: 'server_name, debug and trace', expect: 'same', files: { 'a.conf': 'server_name: "edge-1"\ndebug: true\ntrace: false\n' } },
  { name: 'log_file and pid_file', expect: 'same', files: { 'a.conf': 'log_file: "@DIR@/server.log"\npid_file: "@DIR@/server.pid"\n' } },
  { name: 'the aliases logfile and pidfile', expect: 'same', files: { 'a.conf': 'logfile: "@DIR@/server.log"\npidfile: "@DIR@/server.pid"\n' } },
  {
    name: 'zero asks for the default',
    expect: 'same',
    files: { 'a.conf': 'max_payload: 0\nmax_pending: 0\nmax_control_line: 0\nmax_connections: 0\nping_max: 0\nping_interval: "0s"\nwrite_deadline: "0s"\n' },
  },
  { name: 'keys in any case', expect: 'same', files: { 'a.conf': 'MAX_PAYLOAD: 512KB\nDebug: true\nPing_Max: 4\n' } },
  { name: 'client_advertise', expect: 'same', files: { 'a.conf': 'client_advertise: "nats.example.com:4333"\n' } },
  { name: 'a cluster name without a route listener', expect: 'same', files: { 'a.conf': 'cluster { name: solo }\n' } },
  {
    name: 'a cluster block: name, listen, routes, no_advertise',
    expect: 'same',
    files: { 'a.conf': 'cluster {\n  name: "c1"\n  listen: "127.0.0.1:@ROUTE@"\n  routes: [\n    nats://127.0.0.1:1\n  ]\n  no_advertise: true\n}\n' },
  },
  { name: 'cluster host, port and advertise', expect: 'same', files: { 'a.conf': 'cluster {\n  name: c2\n  host: 127.0.0.1\n  port: @ROUTE@\n  advertise: "10.0.0.1:6222"\n}\n' } },
  { name: 'the cluster aliases net and cluster_advertise', expect: 'same', files: { 'a.conf': 'cluster {\n  name: c4\n  net: 127.0.0.1\n  port: @ROUTE@\n  cluster_advertise: "10.0.0.2"\n}\n' } },
  { name: 'a random cluster port', expect: 'same', files: { 'a.conf': 'cluster { name: c3, listen: "127.0.0.1:-1" }\n' }, randomPorts: ['route'] },
  {
    name: 'include and variables',
    expect: 'same',
    files: { 'a.conf': 'include ./limits.conf\nPAYLOAD = 4MB\nmax_payload: $PAYLOAD\n', 'limits.conf': 'max_pending: 8MB\nping_max: 3\n' },
  },
  { name: 'a value from the environment', expect: 'same', files: { 'a.conf': 'max_connections: $NM_MAX\n' }, env: { NM_MAX: '250' } },
  { name: 'JSON syntax in a .conf file', expect: 'same', files: { 'a.conf': '{\n  "max_payload": 65536,\n  "ping_max": 3,\n  "cluster": {"name": "j"}\n}\n' } },
]

/** Files both refuse, in the same words. */
export const REFUSED_CASES: Case[] = [
  { name: 'an unknown key', expect: 'same', files: { 'a.conf': 'ping_max: 3\nmax_payolad: 1MB\n' } },
  { name: 'an unused top-level variable', expect: 'same', files: { 'a.conf': 'LIMIT = 5\nping_max: 3\n' } },
  { name: 'an unknown key in the cluster block', expect: 'same', files: { 'a.conf': 'cluster {\n  name: a\n  lisen: "127.0.0.1:6222"\n}\n' } },
  { name: 'a string for a port', expect: 'same', files: { 'a.conf': 'port: "4222"\n' } },
  { name: 'a quoted size is a string', expect: 'same', files: { 'a.conf': 'max_payload: "1MB"\n' } },
  { name: 'max_payload above an int32', expect: 'same', files: { 'a.conf': 'max_payload: 3GB\n' } },
  { name: 'listen without a port', expect: 'same', files: { 'a.conf': 'listen: "4222"\n' } },
  { name: 'listen as a boolean', expect: 'same', files: { 'a.conf': 'listen: true\n' } },
  { name: 'http with a bad port', expect: 'same', files: { 'a.conf': 'http: "localhost:x"\n' } },
  { name: 'a duration that does not parse', expect: 'same', files: { 'a.conf': 'ping_interval: "90 seconds"\n' } },
  { name: 'a lame-duck duration below 30 s', expect: 'same', files: { 'a.conf': 'lame_duck_duration: "10s"\n' } },
  { name: 'a lame-duck duration as a number', expect: 'same', files: { 'a.conf': 'lame_duck_duration: 60\n' } },
  { name: 'a negative grace period', expect: 'same', files: { 'a.conf': 'lame_duck_grace_period: "-1s"\n' } },
  { name: 'a duration as a bare number is a warning, which fails -t', expect: 'same', files: { 'a.conf': 'ping_interval: 30\n' } },
  { name: 'a duplicate route is a warning', expect: 'same', files: { 'a.conf': 'cluster {\n  port: 6222\n  routes: [nats://a:1, nats://a:1]\n}\n' } },
  { name: 'a cluster that is not a block', expect: 'same', files: { 'a.conf': 'cluster: 6222\n' } },
  { name: 'a route that is not a string', expect: 'same', files: { 'a.conf': 'cluster { port: 6222, routes: [nats://a:1, true] }\n' } },
  { name: 'a string for a boolean', expect: 'same', files: { 'a.conf': 'debug: "yes"\n' } },
  { name: 'a grammar error', expect: 'same', files: { 'a.conf': 'port: 4222\n}\n' } },
  { name: 'an error in an included file', expect: 'same', files: { 'a.conf': 'include "inc.conf"\n', 'inc.conf': 'ping_max: 2\nbogus: 1\n' } },
]

/** Where natsmesh differs on purpose. */
export const DIFFERENT_CASES: Case[] = [
  {
    name: 'the natsmesh block',
    expect: 'natsmesh-only',
    files: { 'a.conf': 'cluster { name: prod, port: 6222 }\nnatsmesh {\n  zookeeper { servers: "127.0.0.1:2181/natsmesh", session_timeout: "8s" }\n  route_ping_interval: "1s"\n}\n' },
  },
  { name: 'authorization', expect: 'unsupported', files: { 'a.conf': 'port: 4222\nauthorization {\n  user: a\n  password: b\n}\n' }, natsmesh: ['2:1: "authorization" is not supported by natsmesh'] },
  { name: 'accounts', expect: 'unsupported', files: { 'a.conf': 'accounts {\n  A: {}\n}\n' }, natsmesh: ['1:0: "accounts" is not supported by natsmesh'] },
  { name: 'jetstream', expect: 'unsupported', files: { 'a.conf': 'jetstream: enabled\n' }, natsmesh: ['1:0: "jetstream" is not supported by natsmesh'] },
  { name: 'leafnodes', expect: 'unsupported', files: { 'a.conf': 'leafnodes {\n  port: 7422\n}\n' }, natsmesh: ['1:0: "leafnodes" is not supported by natsmesh'] },
  { name: 'logtime', expect: 'unsupported', files: { 'a.conf': 'logtime: false\n' }, natsmesh: ['1:0: "logtime" is not supported by natsmesh'] },
  { name: 'max_subscriptions', expect: 'unsupported', files: { 'a.conf': 'max_subscriptions: 100\n' }, natsmesh: ['1:0: "max_subscriptions" is not supported by natsmesh'] },
  { name: 'http_base_path', expect: 'unsupported', files: { 'a.conf': 'http_base_path: "/mon"\n' }, natsmesh: ['1:0: "http_base_path" is not supported by natsmesh'] },
  {
    name: 'cluster connect_retries',
    expect: 'unsupported',
    files: { 'a.conf': 'cluster {\n  port: 6222\n  connect_retries: 3\n}\n' },
    natsmesh: ['3:3: "connect_retries" is not supported by natsmesh'],
  },
  {
    name: 'a port beyond 65535',
    expect: 'stricter',
    files: { 'a.conf': 'port: 70000\n' },
    natsmesh: ['1:0: port 70000 is out of range for natsmesh, which takes 1 to 65535, -1 (a random port) or 0 (the default, 4222)'],
  },
  {
    name: 'a negative max_connections (unlimited for nats-server)',
    expect: 'stricter',
    files: { 'a.conf': 'max_connections: -1\n' },
    natsmesh: ['1:0: max_connections -1 is out of range for natsmesh, which takes 1 or more, or 0 (the default)'],
  },
  {
    name: 'routes without a route listener (nats-server ignores them)',
    expect: 'stricter',
    files: { 'a.conf': 'cluster { routes: [nats://127.0.0.1:6222] }\n' },
    natsmesh: ['--zk and --routes need --cluster, the URL this node accepts routes on (in a config file: cluster { listen })'],
  },
  {
    name: 'max_payload above max_pending',
    expect: 'refused-at-start',
    files: { 'a.conf': 'max_payload: 2MB\nmax_pending: 1MB\n' },
    natsmesh: ['max_payload (2097152) cannot be higher than max_pending (1048576)'],
  },
]

/** Fixed numbers for the placeholders of the files `-t` reads (nothing listens). */
export const CHECK_PORTS = { port: 14222, http: 18222, route: 16222 }

export interface Ports { port: number; http: number; route: number }

function fill(text: string, ports: Ports, dir: string): string {
  return text.replaceAll('@PORT@', String(ports.port)).replaceAll('@HTTP@', String(ports.http))
    .replaceAll('@ROUTE@', String(ports.route)).replaceAll('@DIR@', dir)
}

/** The case's files written to dir with the placeholders filled; the first file's path. */
export async function writeCase(c: Case, dir: string, ports: Ports): Promise<string> {
  for (const [name, text] of Object.entries(c.files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
    await writeFile(path.join(dir, name), fill(text, ports, dir))
  }
  return path.join(dir, Object.keys(c.files)[0])
}

/** Only PATH: the cases' variables come from each case's env alone. */
export const BASE_ENV: Readonly<Record<string, string>> = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

/** The /varz fields both servers have that a config file sets, with this server's own ports and id made placeholders. */
function comparable(varz: Record<string, unknown>, ports: Ports, c: Case): Record<string, unknown> {
  const port = (v: unknown, own: number, name: string, kind: 'port' | 'route'): unknown =>
    v === own ? name : c.randomPorts?.includes(kind) === true && typeof v === 'number' && v > 0 && v !== CHECK_PORTS[kind] ? '@RANDOM@' : v
  const cluster = (varz.cluster ?? {}) as Record<string, unknown>
  return {
    host: varz.host,
    port: port(varz.port, ports.port, '@PORT@', 'port'),
    server_name: varz.server_name === varz.server_id ? '@ID@' : varz.server_name,
    max_connections: varz.max_connections,
    ping_interval: varz.ping_interval,
    ping_max: varz.ping_max,
    http_host: varz.http_host,
    http_port: varz.http_port === ports.http ? '@HTTP@' : varz.http_port,
    max_control_line: varz.max_control_line,
    max_payload: varz.max_payload,
    max_pending: varz.max_pending,
    write_deadline: varz.write_deadline,
    cluster: { name: cluster.name, addr: cluster.addr, cluster_port: port(cluster.cluster_port, ports.route, '@ROUTE@', 'route') },
  }
}

/** Starts `kind` with the case's file on its own free ports and returns what /varz shows. */
async function varzOf(kind: Checker, c: Case, dir: string): Promise<Record<string, unknown>> {
  const [port, http, route] = await freePorts(3)
  const ports = { port, http, route }
  const file = await writeCase(c, dir, ports)
  const text = Object.values(c.files).join('\n')
  const args = [...(text.includes('@PORT@') || text.includes('port: -1') ? [] : ['-a', '127.0.0.1', '-p', String(port)]),
    ...(text.includes('@HTTP@') ? [] : ['-m', String(http)]), '-c', file]
  return comparable(await varzWith(kind, args, { ...BASE_ENV, ...c.env }, http), ports, c)
}

/** One case in its own directory: both -t verdicts, compared as the case expects; for a valid file, both /varz. */
export async function runCase(t: Test, c: Case, dir: string): Promise<void> {
  const file = await writeCase(c, path.join(dir, 'check'), CHECK_PORTS)
  const env = { ...BASE_ENV, ...c.env }
  const [theirs, ours] = await Promise.all([checkFileWith('nats-server', file, env), checkFileWith('natsmesh', file, env)])
  const expected = (c.natsmesh ?? []).map((line) => (/^\d+:\d+: /.test(line) ? `${file}:${line}` : line))
  switch (c.expect) {
    case 'same':
      t.same({ isValid: ours.isValid, lines: [...ours.lines].sort() }, { isValid: theirs.isValid, lines: [...theirs.lines].sort() }, 'the same verdict and lines')
      break
    case 'natsmesh-only':
      t.same(theirs.lines, [`${file}:2:1: unknown field "natsmesh"`], 'nats-server does not know the natsmesh block')
      t.same(ours, { isValid: true, lines: [`configuration file ${file} is valid`] }, 'natsmesh takes it')
      break
    case 'unsupported':
    case 'stricter':
      t.equal(theirs.isValid, true, `nats-server -t accepts it: ${theirs.lines.join(' / ')}`)
      t.same(ours, { isValid: false, lines: expected }, 'natsmesh -t refuses it, saying why')
      break
    case 'refused-at-start': {
      t.equal(theirs.isValid, true, 'nats-server -t accepts it')
      const started = await startRefused('nats-server', ['-a', '127.0.0.1', '-p', '-1', '-c', file], env)
      t.same({ code: started.code, stderr: started.stderr.trim() }, { code: 1, stderr: `nats-server: ${expected.join('\n')}` }, 'but nats-server refuses to start with it')
      t.same(ours, { isValid: false, lines: expected }, 'natsmesh -t refuses it at once, in nats-server\'s words')
      break
    }
  }
  if (c.expect === 'same' && theirs.isValid) {
    const [meshVarz, natsVarz] = await Promise.all([varzOf('natsmesh', c, path.join(dir, 'natsmesh')), varzOf('nats-server', c, path.join(dir, 'nats-server'))])
    t.same(meshVarz, natsVarz, 'both run with the same values (/varz)')
  }
}
