// The typed readers the option layer uses: each refuses a wrong type with the
// text and position nats-server 2.9.10 gives (checked with `nats-server -t`;
// the differential test replays port, max_payload and ping_interval).
import t from 'tap'
import { ConfigError } from '../../src/config/config-error.js'
import { parseConfig, type ConfValue } from '../../src/config/conf-parser.js'
import {
  asArray, asBool, asDuration, asInt, asMap, asSize, asStorageSize, asString, goQuote, goTypeName, unknownFieldError,
} from '../../src/config/conf-values.js'

function value(text: string, key = 'v'): ConfValue {
  const found = parseConfig(text, { file: 'f.conf', env: {} }).root.value.get(key)
  if (found === undefined) throw new Error(`no ${key} in ${text}`)
  return found
}

t.test('a wrong type is Go\'s interface conversion panic, at the key', async (t) => {
  t.throws(() => asInt(value('port: "4222"', 'port')), { message: 'f.conf:1:0: interface conversion: interface {} is string, not int64' })
  t.throws(() => asInt(value('x: 1\nport: 4222.5', 'port')), { message: 'f.conf:2:1: interface conversion: interface {} is float64, not int64' })
  t.throws(() => asString(value('name: 3', 'name')), { message: 'f.conf:1:0: interface conversion: interface {} is int64, not string' })
  t.throws(() => asBool(value('debug: "true"', 'debug')), { message: 'f.conf:1:0: interface conversion: interface {} is string, not bool' })
  t.throws(() => asMap(value('a: [1 ]', 'a')), { message: 'f.conf:1:0: interface conversion: interface {} is []interface {}, not map[string]interface {}' })
  t.throws(() => asArray(value('a: {}', 'a')), { message: 'f.conf:1:0: interface conversion: interface {} is map[string]interface {}, not []interface {}' })
  const err = (() => { try { asInt(value('  port: x', 'port')) } catch (e) { return e } })()
  t.type(err, ConfigError)
  t.match(err, { file: 'f.conf', line: 1, col: 2, code: 'NATSMESH_ERR_CONFIG', reason: 'interface conversion: interface {} is string, not int64' })
})

t.test('in an array, a wrong type is reported at the element itself', async (t) => {
  const routes = asArray(value('routes: [\n  a\n  7 \n]', 'routes')).value
  t.equal(asString(routes[0]), 'a')
  t.throws(() => asString(routes[1]), { message: 'f.conf:3:3: interface conversion: interface {} is int64, not string' })
})

t.test('the right type reads through', async (t) => {
  t.equal(asInt(value('v 4222')), 4222)
  t.equal(asString(value('v "x"')), 'x')
  t.equal(asBool(value('v off')), false)
  t.same([...asMap(value('v { a: 1 }')).value.keys()], ['a'])
  t.equal(asArray(value('v [a, b]')).value.length, 2)
  t.same(['string', 'int', 'float', 'bool', 'datetime', 'map', 'array'].map((kind) => goTypeName({ kind } as ConfValue)), [
    'string', 'int64', 'float64', 'bool', 'time.Time', 'map[string]interface {}', '[]interface {}',
  ])
})

t.test('asSize takes integers only: unquoted 1MB is an integer, quoted "1MB" a string nats-server refuses', async (t) => {
  t.equal(asSize(value('max_payload: 1MB', 'max_payload')), 1024 * 1024)
  t.equal(asSize(value('max_payload: 1m', 'max_payload')), 1_000_000)
  t.throws(() => asSize(value('max_payload: "1MB"', 'max_payload')), { message: 'f.conf:1:0: interface conversion: interface {} is string, not int64' })
})

t.test('asStorageSize reads JetStream sizes: integers, or strings ending in K, M, G or T (binary)', async (t) => {
  t.equal(asStorageSize(value('v 1G'), 'max_file_store'), 1_000_000_000, 'unquoted, the lexer already applied the suffix')
  t.equal(asStorageSize(value('v "1G"'), 'max_file_store'), 2 ** 30)
  t.equal(asStorageSize(value('v "512K"'), 'max_file_store'), 512 * 1024)
  t.equal(asStorageSize(value('v ""'), 'max_file_store'), 0)
  t.throws(() => asStorageSize(value('v "1g"'), 'max_file_store'), { message: 'f.conf:1:0: max_file_store sizes defined as strings must end in K, M, G, T' })
  t.throws(() => asStorageSize(value('v "1.5G"'), 'max_file_store'), { message: 'f.conf:1:0: max_file_store strconv.ParseInt: parsing "1.5": invalid syntax' })
  t.throws(() => asStorageSize(value('v "1GB"'), 'max_mem_store'), { message: 'f.conf:1:0: max_mem_store strconv.ParseInt: parsing "1G": invalid syntax' })
  t.throws(() => asStorageSize(value('v true'), 'max_mem_store'), { message: 'f.conf:1:0: max_mem_store must be int64 or string' })
})

t.test('asDuration: a Go duration string, or an integer of seconds with nats-server\'s warning', async (t) => {
  t.equal(asDuration(value('ping_interval: "2m"', 'ping_interval')), 120_000)
  t.equal(asDuration(value('v "1m30s"')), 90_000)
  t.equal(asDuration(value('v "500ms"')), 500)
  t.equal(asDuration(value('v "1.5h"')), 5_400_000)
  t.equal(asDuration(value('v "300us"')), 0.3)
  t.equal(asDuration(value('v "300\u00b5s"')), 0.3)
  t.equal(asDuration(value('v "5ns"')), 0.000005)
  const warnings: ConfigError[] = []
  t.equal(asDuration(value('ping_interval: 30', 'ping_interval'), { warnings }), 30_000)
  t.equal(asDuration(value('write_deadline: 2m', 'write_deadline'), { warnings }), 2_000_000_000, 'unquoted 2m is 2000000 seconds')
  t.same(warnings.map((w) => [w.message, w.isWarning]), [
    ['f.conf:1:0: invalid use of field "ping_interval": ping_interval should be converted to a duration', true],
    ['f.conf:1:0: invalid use of field "write_deadline": write_deadline should be converted to a duration', true],
  ])
  t.throws(() => asDuration(value('ping_interval: "abc"', 'ping_interval')), { message: 'f.conf:1:0: error parsing ping_interval: time: invalid duration "abc"' })
  t.throws(() => asDuration(value('PING_INTERVAL: "5"', 'PING_INTERVAL'), { field: 'ping_interval' }), {
    message: 'f.conf:1:0: error parsing ping_interval: time: missing unit in duration "5"',
  }, 'the field name is the option\'s, whatever the key\'s case')
  const floatWarnings: ConfigError[] = []
  t.throws(() => asDuration(value('ping_interval: 1.5', 'ping_interval'), { warnings: floatWarnings }), {
    message: 'f.conf:1:0: interface conversion: interface {} is float64, not int64',
  })
  t.equal(floatWarnings.length, 1, 'after the same warning, as nats-server gives both')
})

t.test('an unknown field is reported at its key, the name quoted as Go\'s %q does', async (t) => {
  t.equal(unknownFieldError(value('port: 1\n  foo: 2', 'foo')).message, 'f.conf:2:3: unknown field "foo"')
  t.equal(unknownFieldError(value("'a\\b\"c' 1", 'a\\b"c')).message, 'f.conf:1:1: unknown field "a\\\\b\\"c"')
  t.equal(goQuote('tab\there\x01\u00a0é\ufeff٣\u{1f600}\u{e0001}'), '"tab\\there\\x01\\u00a0é\\ufeff٣\u{1f600}\\U000e0001"')
})
