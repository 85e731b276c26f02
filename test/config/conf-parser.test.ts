// The parser: the tree and its positions, numbers and their suffixes,
// variables, includes and errors. Texts and verdicts are nats-server 2.9.10's
// (the differential test checks the file-level ones against the binary).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/config/config-error.js'
import { parseConfig, parseConfigFile, type ConfValue, type ParseOptions } from '../../src/config/conf-parser.js'
import { OptionsError } from '../../src/errors.js'

/** The tree as plain data: maps to objects (in order), datetimes to ISO strings. */
function plain(value: ConfValue): unknown {
  switch (value.kind) {
    case 'map': return Object.fromEntries([...value.value].map(([k, v]) => [k, plain(v)]))
    case 'array': return value.value.map(plain)
    case 'datetime': return value.value.toISOString()
    default: return value.value
  }
}

function parse(text: string, options: ParseOptions = {}): Record<string, unknown> {
  return plain(parseConfig(text, { env: {}, ...options }).root) as Record<string, unknown>
}

function member(text: string, key: string, options: ParseOptions = {}): ConfValue {
  const value = parseConfig(text, { env: {}, ...options }).root.value.get(key)
  if (value === undefined) throw new Error(`no ${key}`)
  return value
}

/** The ConfigError parsing throws. */
function parseError(text: string, options: ParseOptions = {}): ConfigError {
  try {
    parseConfig(text, { env: {}, ...options })
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`parsed without error: ${JSON.stringify(text)}`)
}

/** readFile over an in-memory tree, failing as fs does for a missing file. */
function files(tree: Record<string, string>): (file: string) => string {
  return (file) => {
    const text = tree[file]
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' })
    return text
  }
}

t.test('a config parses to a tree of typed values, map members in file order', async (t) => {
  const text = 'port: 4222\nname: "n"\nratio: 0.5\ndebug: on\nat: 2006-01-02T15:04:05Z\nauthorization { user: a, password: b }\nroutes: [x, "y"]\n'
  t.same(parse(text), {
    port: 4222, name: 'n', ratio: 0.5, debug: true, at: '2006-01-02T15:04:05.000Z',
    authorization: { user: 'a', password: 'b' }, routes: ['x', 'y'],
  })
  t.same(Object.keys(parse('z 1\na 2\nm 3')), ['z', 'a', 'm'])
  const kinds = [...parseConfig(text).root.value.values()].map((v) => v.kind)
  t.same(kinds, ['int', 'string', 'float', 'bool', 'datetime', 'map', 'array'])
})

t.test("keys and values keep nats-server's line and column: bytes from the previous newline, line 1 from 0", async (t) => {
  const { root } = parseConfig('port: 1\n  authorization {\n    user: a\n  }\nlist [\n  "x", y\n]\n', { file: 'f.conf' })
  const port = root.value.get('port')
  t.match(port?.key, { name: 'port', file: 'f.conf', line: 1, col: 0 })
  const auth = root.value.get('authorization')
  t.match(auth?.key, { name: 'authorization', line: 2, col: 3 })
  const user = auth?.kind === 'map' ? auth.value.get('user') : undefined
  t.match(user?.key, { name: 'user', line: 3, col: 5 })
  t.match(user, { line: 3, col: 11, kind: 'string', value: 'a' }, 'the value has its own position')
  const list = root.value.get('list')
  const items = list?.kind === 'array' ? list.value : []
  t.match(items, [{ line: 6, col: 4, key: null, isQuoted: true }, { line: 6, col: 8, isQuoted: false }])
  t.equal(root.value.get('list')?.key?.isQuoted, false)
  t.equal(parseConfig('"q" 1').root.value.get('q')?.key?.isQuoted, true)
  t.match(parseConfig('x 1\n"a\nb" 1').root.value.get('a\nb')?.key, { line: 3, col: 2 }, 'a token spanning lines is on its last line')
  t.match(parseConfig('a: 1\nb: "\u00e9t\u00e9", c: 2').root.value.get('c')?.key, { line: 2, col: 13 }, 'columns count UTF-8 bytes (nats-server agrees)')
})

t.test('a repeated key keeps its first place and its last value and key position', async (t) => {
  const { root } = parseConfig('a 1\nb 2\na 3\n')
  t.same([...root.value.keys()], ['a', 'b'])
  t.match(root.value.get('a'), { value: 3, key: { line: 3 } })
})

t.test('size suffixes multiply: k, m, g, t, p by 1000s; kb, ki, kib and the like by 1024s; any case', async (t) => {
  const table: [string, number][] = [
    ['1k', 1e3], ['1K', 1e3], ['1kb', 1024], ['1KI', 1024], ['1kib', 1024], ['2m', 2e6], ['2mb', 2 * 2 ** 20],
    ['2MiB', 2 * 2 ** 20], ['3g', 3e9], ['3gb', 3 * 2 ** 30], ['4t', 4e12], ['4tb', 4 * 2 ** 40], ['5p', 5e15],
    ['5pb', 5 * 2 ** 50], ['-1k', -1000], ['0m', 0], ['007', 7],
  ]
  for (const [text, expected] of table) t.equal(member(`v ${text}`, 'v').value, expected, text)
})

t.test('integers beyond int64 are refused as nats-server does, beyond 2^53-1 because a JS number cannot hold them', async (t) => {
  t.equal(parseError('v 9223372036854775808').message, "integer '9223372036854775808' is out of the range")
  t.equal(member('v 9007199254740991', 'v').value, Number.MAX_SAFE_INTEGER)
  const err = parseError('a 1\nv 9007199254740992', { file: 'f.conf' })
  t.equal(err.message, "f.conf:2:3: integer '9007199254740992' is out of the range natsmesh can hold exactly (±9007199254740991)")
  t.match(parseError('v 1e').message, /integer '1e' is out of the range natsmesh can hold/, '1e is 10^18')
  t.match(parseError('v 8eb').message, /integer '8eb' is out of the range natsmesh can hold/)
  t.equal(parseError('v 1e\nw "x').message, "Parse error on line 2: 'Unexpected EOF.'", 'any fault nats-server reports comes first')
  t.equal(parseError('v 1e\nw $NOPE').message, "variable reference for 'NOPE' on line 2 can not be found")
  const readFile = files({ 'big.conf': 'v 1e\n' })
  t.equal(parseError('include big.conf\nw "x', { readFile }).message, "Parse error on line 2: 'Unexpected EOF.'", 'in an include too')
  t.equal(parseError('include big.conf', { readFile }).message, "big.conf:1:2: integer '1e' is out of the range natsmesh can hold exactly (±9007199254740991)")
  t.match(parseError('v $BIG', { env: { BIG: '1e' } }).message, /^variable reference for 'BIG' on line 1 could not be parsed: .*integer '1e' is out of the range natsmesh/)
})

t.test('an integer with an unknown suffix (1kbb) sets nothing, as in nats-server, and leaves a notice', async (t) => {
  const parsed = parseConfig('a: 1kbb\nb: 2\n', { file: 'f.conf' })
  t.same(plain(parsed.root), { b: 2 })
  t.match(parsed.notices, [{ message: /^f\.conf:1:3: integer '1kbb' has an unknown size suffix/ }])
  // Its key is left waiting and taken by the next value set in that map: here the block itself.
  t.same(parse('x { a: 1kbb }'), { a: {} })
})

t.test('a key without a value in a block takes the block, as nats-server does', async (t) => {
  const { root } = parseConfig('authorization { user }')
  t.same([...root.value.keys()], ['user'])
  t.match(root.value.get('user')?.key, { line: 1, col: 16 }, 'reported at 1:16 by nats-server')
})

t.test('booleans, floats and datetimes', async (t) => {
  t.same(parse('a yes\nb NO\nc On\nd off\ne TRUE\nf false'), { a: true, b: false, c: true, d: false, e: true, f: false })
  t.same(parse('a 1.25\nb -0.5'), { a: 1.25, b: -0.5 })
  t.same(parse('a 2024-02-29T23:59:59Z\nb 0001-01-01T00:00:00Z'), { a: '2024-02-29T23:59:59.000Z', b: '0001-01-01T00:00:00.000Z' })
  for (const bad of ['2023-02-29T00:00:00Z', '2006-13-01T00:00:00Z', '2006-01-01T24:00:00Z', '2006-04-31T00:00:00Z', '2006-01-01T00:00:60Z']) {
    t.equal(parseError(`a ${bad}`).message, `expected Zulu formatted DateTime, but got '${bad}'`)
  }
})

t.test('a variable takes the value of a key set before it, innermost enclosing map first', async (t) => {
  t.same(parse('a = 1\nb { a = 2; c = $a }\nd = $a'), { a: 1, b: { a: 2, c: 2 }, d: 1 })
  t.same(parse('a = 1\nb [ $a, { c: $a } ]'), { a: 1, b: [1, { c: 1 }] }, 'arrays are not scopes, maps in them are')
  t.same(parse('m { x: 1 }\nn: $m'), { m: { x: 1 }, n: { x: 1 } }, 'a map can be referenced whole')
  t.equal(parseError('b = $a\na = 1').message, "variable reference for 'a' on line 1 can not be found", 'only keys set before')
  t.equal(parseError('a = 1\nx = "$a"\ny = $nope', {}).message, "variable reference for 'nope' on line 3 can not be found")
  t.same(parse('a = 1\nx = "$a"'), { a: 1, x: '$a' }, 'in quotes it is text')
})

t.test('referenced values are marked used, and every reference is listed', async (t) => {
  const parsed = parseConfig('A = 1\nB = 2\nport = $A\nx { C = 3; y = $C; z = $E }\n', { env: { E: 'e' } })
  const root = parsed.root.value
  t.equal(root.get('A')?.isUsedVariable, true)
  t.equal(root.get('B')?.isUsedVariable, false, 'an unused one: nats-server reports it as an unknown field')
  t.equal(root.get('port')?.isUsedVariable, false, 'the copy at the reference is not itself used')
  t.match(root.get('port'), { value: 1, line: 3, col: 9, key: { name: 'port', line: 3, col: 1 } })
  const x = root.get('x')
  t.equal(x?.kind === 'map' && x.value.get('C')?.isUsedVariable, true)
  t.same(parsed.references.map((r) => [r.name, r.source, r.line]), [['A', 'scope', 3], ['C', 'scope', 4], ['E', 'env', 4]])
})

t.test('an environment variable is the fallback, its value parsed as a config value', async (t) => {
  const env = { SIZE: '1k', NAME: 'bob', MAP: '{ a: 1, b: [x] }', QUOTED: '"a b"', EMPTY: '', NEXT: '$SIZE' }
  t.same(parse('a $SIZE\nb $NAME\nc $MAP\nd $QUOTED\ne $EMPTY\nf $NEXT', { env }), {
    a: 1000, b: 'bob', c: { a: 1, b: ['x'] }, d: 'a b', e: '', f: 1000,
  })
  t.same(parse('SIZE = 5\na $SIZE', { env }), { SIZE: 5, a: 5 }, 'the config shadows the environment')
  const block = member('x {\n  a $MAP\n}', 'x', { env })
  const fromEnv = block.kind === 'map' ? block.value.get('a') : undefined
  const inside = fromEnv?.kind === 'map' ? fromEnv.value.get('b') : undefined
  t.match(inside, { line: 2, col: 6, key: { name: 'b', line: 2, col: 6 } }, 'an environment value, and all inside it, stands at the reference')
  t.equal(
    parseError('a $BAD', { env: { BAD: 'a b' } }).message,
    "variable reference for 'BAD' on line 1 could not be parsed: Parse error on line 1: 'Expected a top-level value to end with a new line, comment or EOF, but got 'b' instead.'",
  )
  t.match(parseError('a $LOOP', { env: { LOOP: '$LOOP' } }).message, /^variable reference for 'LOOP' on line 1 could not be parsed: .*refers to itself/)
})

t.test('an unquoted $2a$ bcrypt hash is the literal string', async (t) => {
  const hash = '$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.ITPLG2'
  t.same(parse(`password: ${hash}`), { password: hash })
  t.equal(parseConfig(`password: ${hash}`).references[0].source, 'bcrypt')
})

t.test('include merges a whole file, relative to the including file, where the directive stands', async (t) => {
  const readFile = files({
    '/c/main.conf': 'port 1\ninclude sub/a.conf\nauthorization {\n  include "sub/auth.conf"\n}\n',
    '/c/sub/a.conf': 'include b.conf\nmax_payload 2MB\n',
    '/c/sub/b.conf': 'debug true\n',
    '/c/sub/auth.conf': 'user: bob\npassword: pw\n',
  })
  const parsed = parseConfigFile('/c/main.conf', { readFile, env: {} })
  t.same(plain(parsed.root), { port: 1, debug: true, max_payload: 2 * 2 ** 20, authorization: { user: 'bob', password: 'pw' } })
  t.match(parsed.root.value.get('debug')?.key, { file: '/c/sub/b.conf', line: 1, col: 0 }, 'included keys keep their own file and position')
})

t.test("an included file is parsed on its own: it does not see the includer's variables", async (t) => {
  const readFile = files({ 'a.conf': 'port: $X\n', 'b.conf': 'Y = 2\n' })
  t.equal(
    parseError('X = 1\ninclude a.conf', { readFile }).message,
    "error parsing include file 'a.conf', variable reference for 'X' on line 1 can not be found",
  )
  t.same(parse('include b.conf\nport: $Y', { readFile }), { Y: 2, port: 2 }, 'but the includer sees what it merged')
})

t.test("include errors read as nats-server's, the include's own error as the cause", async (t) => {
  const err = parseError('include "nope.conf"', { file: '/c/main.conf', readFile: files({}) })
  t.equal(err.message, "error parsing include file 'nope.conf', open /c/nope.conf: no such file or directory")
  t.match(err, { file: '/c/main.conf', line: 1, col: 9 })
  t.equal(
    parseError('include "sub/"', { file: '/c/main.conf', readFile: files({}) }).message,
    "error parsing include file 'sub/', open /c/sub: no such file or directory",
    'the path is cleaned as Go cleans it',
  )
  const bad = parseError('include bad.conf', { readFile: files({ 'bad.conf': 'a = "x' }) })
  t.equal(bad.message, "error parsing include file 'bad.conf', Parse error on line 1: 'Unexpected EOF.'")
  t.type(bad.cause, ConfigError)
  const loop = parseError('include a.conf', { file: '/c/main.conf', readFile: files({ '/c/a.conf': 'include main.conf' }) })
  t.match(loop.message, /^error parsing include file 'a.conf', error parsing include file 'main.conf', include loop: \/c\/main.conf is already being read$/)
})

t.test('errors are ConfigErrors: an OptionsError with code NATSMESH_ERR_CONFIG, file, line and column', async (t) => {
  const err = parseError('port: 4222\nname: "abc', { file: 'f.conf' })
  t.type(err, OptionsError)
  t.equal(err.code, 'NATSMESH_ERR_CONFIG')
  t.equal(err.name, 'ConfigError')
  t.match(err, { message: "Parse error on line 2: 'Unexpected EOF.'", file: 'f.conf', line: 2, col: 11, reason: "Parse error on line 2: 'Unexpected EOF.'" })
})

t.test('a JSON object parses to the tree JSON.parse gives', async (t) => {
  const json = {
    port: 4333, max_payload: '1MB', debug: false, ratio: 1.5, name: 'edge "one"', zk: '127.0.0.1:2181,127.0.0.1:2182/natsmesh',
    routes: ['nats://127.0.0.1:6222', 'nats://127.0.0.1:6223'], empty: [], nested: { a: { b: 'c' }, list: [{ x: 'y' }] },
  }
  t.same(parse(JSON.stringify(json)), json, 'on one line')
  t.same(parse(JSON.stringify(json, null, 2)), json, 'pretty-printed')
  t.same(parse(JSON.stringify(json, null, '\t') + '\n'), json, 'with tabs')
})

t.test('a one-line JSON file parses in time linear in its size, non-ASCII text included', async (t) => {
  const oneLine = (members: number) => JSON.stringify(Object.fromEntries(
    Array.from({ length: members }, (_, i) => [`key_${i}`, { name: `caf\u00e9 ${i}`, port: i, list: ['a', 'b'] }]),
  ))
  const time = (text: string) => {
    const started = performance.now()
    parseConfig(text, { env: {} })
    return performance.now() - started
  }
  const [small, large] = [oneLine(4000), oneLine(16000)]
  time(small) // warm up
  const ratio = time(large) / time(small)
  t.ok(ratio < 10, `4x the text took ${ratio.toFixed(1)}x the time (16x if quadratic)`)
})

t.test('JSON outside the grammar is refused as nats-server refuses it; null is the string "null"', async (t) => {
  t.same(parse('{"server_name": null}'), { server_name: 'null' })
  t.equal(parseError('{"a": "caf\\u00e9"}').message, "Parse error on line 1: 'Invalid escape character 'u'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.'")
  t.equal(parseError('{"a": "a\\/b"}').message, "Parse error on line 1: 'Invalid escape character '/'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.'")
  t.equal(parseError('{"a": 1e6}').message, "Parse error on line 1: 'Expected a top-level value to end with a new line, comment or EOF, but got '6' instead.'")
  t.equal(parseError('{"a": [1, 2], "b": 3}').message, 'Parse error on line 1: \'Expected an array value terminator "," or an array terminator "]", but got \':\' instead.\'')
  t.same(parse('{"a": [1.5, 2.5]}'), { a: [1.5, 2.5] }, 'floats end at ] and are fine')
})

t.test('parseConfigFile reads the file; a missing one fails with Go\'s message, as nats-server prints it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-conf-parser-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'main.conf')
  await writeFile(file, 'port: 4222\ninclude inc.conf\n')
  await writeFile(path.join(dir, 'inc.conf'), 'debug: true\n')
  t.same(plain(parseConfigFile(file).root), { port: 4222, debug: true })
  const missing = path.join(dir, 'nope.conf')
  t.throws(() => parseConfigFile(missing), { message: `open ${missing}: no such file or directory`, code: 'NATSMESH_ERR_CONFIG' })
})
