// The same config files to natsmesh's reader and to `nats-server -t -c`: the
// same verdict and the same message, for every grammar rule, using only
// option keys nats-server knows. Then, for a few valid files, the values
// nats-server actually runs with (its /varz) match what we parsed: suffixes,
// durations, includes and variables read the same.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { parseConfigFile, type ConfValue } from '../../src/config/conf-parser.js'
import { asDuration, asSize } from '../../src/config/conf-values.js'
import { checkConfigFile } from '../helpers/conf-check.js'
import { natsServerCheck, natsServerVarz } from '../helpers/nats-server-config.js'

interface Case {
  name: string
  /** Files by path relative to the case's directory; the first one is given to -c. */
  files: Record<string, string>
  env?: Record<string, string>
}

const BCRYPT = '$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.ITPLG2'

const CASES: Case[] = [
  { name: 'comments with # and //', files: { 'main.conf': '# top\nport: 4222 # after a value\n// slashes\nmax_payload = 1024 // after\n' } },
  { name: 'separators =, : and space', files: { 'main.conf': 'port = 4222\nmax_payload: 2048\nmax_pending 4096\n' } },
  { name: '; and , end values on one line', files: { 'main.conf': 'port: 4222; max_payload: 1024, debug: true\n' } },
  { name: 'the whole file wrapped in braces', files: { 'main.conf': '{\n  port: 4222\n  max_payload: 1024\n}\n' } },
  {
    name: 'a JSON object',
    files: { 'main.json': '{\n  "port": 4222,\n  "max_payload": 1048576,\n  "debug": false,\n  "authorization": {"user": "a", "password": "b"},\n  "cluster": {"name": "c", "routes": ["nats://127.0.0.1:6222", "nats://127.0.0.1:6223"]}\n}\n' },
  },
  {
    name: 'nested blocks, no separator before {, arrays split by newlines',
    files: { 'main.conf': 'authorization {\n  user: a\n  password: b\n}\ncluster = {\n  name: c1\n  listen: 127.0.0.1:6222\n  routes = [\n    nats://127.0.0.1:6223\n    nats://127.0.0.1:6224 # second\n  ]\n}\n' },
  },
  { name: 'arrays with commas and a trailing comma', files: { 'main.conf': 'cluster {\n  routes: ["nats://a:1", \'nats://b:2\', nats://c:3,]\n}\n' } },
  { name: 'quoted and unquoted strings', files: { 'main.conf': 'server_name: "my server"\nauthorization { user: \'bob "the" user\', password: s3cr3t! }\n' } },
  { name: 'escapes in a double-quoted string', files: { 'main.conf': 'server_name: "tab\\there \\x41\\x42 quote\\" backslash\\\\"\n' } },
  { name: 'an unknown escape is refused', files: { 'main.conf': 'port: 4222\nserver_name: "a\\qb"\n' } },
  { name: 'a raw ( ) block', files: { 'main.conf': 'authorization {\n  user: bob\n  password: (\nline one "quoted" \\no escapes\n  )still inside\n)\n}\n' } },
  { name: 'an unterminated ( ) block', files: { 'main.conf': 'port: 4222\nserver_name: (\nabc\n' } },
  { name: 'an unterminated string', files: { 'main.conf': 'server_name: "abc\nport: 4222\n' } },
  { name: 'an unterminated block', files: { 'main.conf': 'authorization {\n  user: a\n' } },
  { name: 'include at the top level', files: { 'main.conf': 'port: 4222\ninclude ./limits.conf\n', 'limits.conf': 'max_payload: 2MB\n' } },
  { name: 'include inside a block', files: { 'main.conf': 'authorization {\n  include "auth.conf"\n}\n', 'auth.conf': 'user: bob\npassword: "pw"\n' } },
  {
    name: 'includes are relative to the including file',
    files: { 'main.conf': 'include sub/a.conf\n', 'sub/a.conf': "include 'b.conf'\nport: 4222\n", 'sub/b.conf': 'max_payload: 4kb\n' },
  },
  { name: 'an unknown key in an included file is reported there', files: { 'main.conf': 'include inc.conf\n', 'inc.conf': 'port: 1\nfoo: 2\n' } },
  { name: 'a missing include', files: { 'main.conf': 'include "nope.conf"\n' } },
  { name: 'a used top-level variable is not a field', files: { 'main.conf': 'MY_PORT = 4333\nport: $MY_PORT\n' } },
  { name: 'an unused top-level variable is an unknown field', files: { 'main.conf': 'MY_PORT = 4333\nport: 4222\n' } },
  { name: 'option keys match in any case, so PORT is the port', files: { 'main.conf': 'PORT = 4333\nport: 4222\n' } },
  { name: 'a variable in a block', files: { 'main.conf': 'authorization {\n  NAME = bob\n  user = $NAME\n  password = x\n}\n' } },
  { name: 'the innermost scope wins', files: { 'main.conf': 'N = 1\nauthorization { N = "inner"; user = $N; password = p }\n' } },
  { name: 'a quoted $NAME is text', files: { 'main.conf': 'X = 1\nserver_name: "$X"\n' } },
  { name: 'a variable from the environment', files: { 'main.conf': 'port: $NM_PORT\n' }, env: { NM_PORT: '4333' } },
  { name: 'an environment value is parsed (1k is 1000)', files: { 'main.conf': 'max_payload: $NM_SIZE\n' }, env: { NM_SIZE: '1k' } },
  { name: 'an environment value that does not parse', files: { 'main.conf': 'server_name: $NM_NAME\n' }, env: { NM_NAME: 'a b' } },
  { name: 'a missing variable', files: { 'main.conf': 'port: 4222\nmax_payload: $NOPE\n' } },
  { name: 'an unquoted bcrypt hash is a string', files: { 'main.conf': `authorization { user: bob, password: ${BCRYPT} }\n` } },
  { name: 'size suffixes k, kb, m, mb, MiB', files: { 'main.conf': 'max_payload: 1mb\nmax_pending: 64MiB\nmax_control_line: 4k\nmax_connections: 2m\n' } },
  { name: 'a quoted size is a string', files: { 'main.conf': 'max_payload: "1MB"\n' } },
  { name: 'a size too big for max_payload', files: { 'main.conf': 'max_payload: 3GB\n' } },
  { name: 'durations as Go strings', files: { 'main.conf': 'ping_interval: "1m30s"\nwrite_deadline: \'1500ms\'\n' } },
  { name: 'an invalid duration', files: { 'main.conf': 'ping_interval: "90 seconds"\n' } },
  { name: 'a duration as a number is a warning', files: { 'main.conf': 'ping_interval: 30\n' } },
  { name: 'unquoted 2m is the integer 2000000 (seconds, with a warning), not two minutes', files: { 'main.conf': 'write_deadline: 2m\n' } },
  { name: 'booleans yes, no, on, off in any case', files: { 'main.conf': 'debug: yes\ntrace: No\nlogtime: ON\nno_sublist_cache: off\n' } },
  { name: 'a string for a port', files: { 'main.conf': 'port: "4222"\n' } },
  { name: 'a float for a port', files: { 'main.conf': 'port: 4222.5\n' } },
  { name: 'a datetime is a time, not a string', files: { 'main.conf': 'port: 4222\nserver_name: 2006-01-02T15:04:05Z\n' } },
  { name: 'a datetime out of range', files: { 'main.conf': 'server_name: 2006-13-02T15:04:05Z\n' } },
  { name: 'IP-ish values are strings', files: { 'main.conf': 'listen: 127.0.0.1:4222\ncluster { listen: 0.0.0.0:6222 }\n' } },
  { name: 'a value starting with a digit may be a string', files: { 'main.conf': 'server_name: 3secret\n' } },
  { name: 'an integer just before ] is refused', files: { 'main.conf': 'cluster { routes: [nats://a:1, 2] }\n' } },
  { name: 'a newline after = is refused', files: { 'main.conf': 'port =\n4222\n' } },
  { name: 'a newline after a bare key is not', files: { 'main.conf': 'port\n4222\n' } },
  { name: 'a key without a value inside a block takes the block', files: { 'main.conf': 'authorization { user }\n' } },
  { name: 'an unknown top-level key', files: { 'main.conf': 'port: 4222\nfoo: 1\n' } },
  { name: 'the last of two values wins, reported at its key', files: { 'main.conf': 'port: 1\nport: "x"\n' } },
  { name: 'CRLF line endings', files: { 'main.conf': 'port: 4222\r\nauthorization {\r\n  user: a\r\n  password: b\r\n}\r\n' } },
  { name: 'a stray top-level value', files: { 'main.conf': 'port: 4222 4223\n' } },
]

const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-conf-diff-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

/** Writes a case's files under its own directory; returns the path of its first file. */
async function writeCase(index: number, c: Case): Promise<string> {
  const base = path.join(dir, String(index))
  for (const [name, content] of Object.entries(c.files)) {
    const file = path.join(base, name)
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, content)
  }
  return path.join(base, Object.keys(c.files)[0])
}

/** Only PATH and the case's own variables: the verdicts must not depend on the host's environment. */
function caseEnv(c: Case): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...c.env }
}

t.test('natsmesh accepts and refuses each file exactly as nats-server -t does, with the same message', async (t) => {
  const mains = await Promise.all(CASES.map((c, i) => writeCase(i, c)))
  // Four nats-server processes at a time: the two shared cores stay usable.
  const oracle = new Array<Awaited<ReturnType<typeof natsServerCheck>>>(CASES.length)
  for (let i = 0; i < CASES.length; i += 4) {
    await Promise.all(CASES.slice(i, i + 4).map(async (c, j) => {
      oracle[i + j] = await natsServerCheck(mains[i + j], caseEnv(c))
    }))
  }
  CASES.forEach((c, i) => {
    const ours = checkConfigFile(mains[i], { env: caseEnv(c) })
    t.same(
      { isValid: ours.isValid, lines: [...ours.lines].sort() },
      { isValid: oracle[i].isValid, lines: [...oracle[i].lines].sort() },
      c.name,
    )
  })
})

/** A top-level value of a parsed file, or a test failure. */
function topLevel(root: ReadonlyMap<string, ConfValue>, key: string): ConfValue {
  const value = root.get(key)
  if (value === undefined) throw new Error(`no ${key} in the parsed file`)
  return value
}

t.test('the values nats-server runs with are the values we parsed', async (t) => {
  const files = {
    'main.conf': 'include limits.conf\nping_interval: $PING\nwrite_deadline: "1.5s"\n',
    'limits.conf': 'PING = "1m30s"\nmax_payload: 2MB\nmax_pending: $NM_PENDING\n',
  }
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NM_PENDING: '64MiB' }
  const main = await writeCase(1000, { name: 'varz', files })
  const root = parseConfigFile(main, { env }).root.value
  const varz = await natsServerVarz(main, env)
  t.equal(asSize(topLevel(root, 'max_payload')), varz.max_payload, 'max_payload 2MB, from an include')
  t.equal(asSize(topLevel(root, 'max_pending')), varz.max_pending, 'max_pending 64MiB, from the environment')
  t.equal(asDuration(topLevel(root, 'ping_interval')) * 1e6, varz.ping_interval, 'ping_interval "1m30s" from a variable of the included file, in ns')
  t.equal(asDuration(topLevel(root, 'write_deadline')) * 1e6, varz.write_deadline, 'write_deadline "1.5s", in ns')
})

t.test('decimal and binary suffixes and sub-second durations read as nats-server reads them', async (t) => {
  const files = { 'main.conf': 'max_payload: 512kb\nmax_pending: 5m\nping_interval: "300ms"\nwrite_deadline: "2m3s"\n' }
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
  const main = await writeCase(1001, { name: 'varz suffixes', files })
  const root = parseConfigFile(main, { env }).root.value
  const varz = await natsServerVarz(main, env)
  t.equal(asSize(topLevel(root, 'max_payload')), varz.max_payload, '512kb is 524288')
  t.equal(asSize(topLevel(root, 'max_pending')), varz.max_pending, '5m is 5000000')
  t.equal(asDuration(topLevel(root, 'ping_interval')) * 1e6, varz.ping_interval, '"300ms" in ns')
  t.equal(asDuration(topLevel(root, 'write_deadline')) * 1e6, varz.write_deadline, '"2m3s" in ns')
})
