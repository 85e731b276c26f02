// The lexer rule by rule. Every expectation here was checked against
// `nats-server -t` 2.9.10 (the differential test replays the file-level ones);
// error messages are nats-server's, byte for byte.
import t from 'tap'
import { lex } from '../../src/config/conf-lexer.js'

/** The tokens as [type, text], without the final eof. */
function tokens(input: string): [string, string][] {
  const all = lex(input).map((tk): [string, string] => [tk.type, tk.text])
  const last = all.pop()
  if (last?.[0] !== 'eof') throw new Error(`expected eof, got ${JSON.stringify(last)} after ${JSON.stringify(all)}`)
  return all
}

/** The error message lexing stops with. */
function lexError(input: string): string {
  const last = lex(input).at(-1)
  if (last?.type !== 'error') throw new Error(`expected an error, got ${JSON.stringify(last)}`)
  return last.text
}

const PORT: [string, string][] = [['key', 'port'], ['integer', '4222']]

t.test('a key and its value may be separated by =, : or spaces', async (t) => {
  for (const input of ['port = 4222', 'port: 4222', 'port 4222', 'port=4222', 'port:4222', 'port\t4222', 'port\n4222']) {
    t.same(tokens(input), PORT, JSON.stringify(input))
  }
})

t.test('a newline between the separator and a top-level value is an error, but not inside a block', async (t) => {
  t.equal(lexError('port =\n4222'), 'Expected value but found new line')
  t.same(tokens('a {\n b =\n 1\n}').slice(2, 4), [['key', 'b'], ['integer', '1']])
})

t.test('values end at a newline, ; or , and may be followed by a comment', async (t) => {
  t.same(tokens('port: 4222; max_payload: 1, debug: true\n'), [...PORT, ['key', 'max_payload'], ['integer', '1'], ['key', 'debug'], ['bool', 'true']])
  t.same(tokens('port: 4222 # c\nx: 1 // d\n'), [...PORT, ['key', 'x'], ['integer', '1']])
  t.equal(lexError('port: 4222 4223'), "Expected a top-level value to end with a new line, comment or EOF, but got '4' instead.")
})

t.test('comments start with # or // and run to the end of the line, anywhere a key or a value may end', async (t) => {
  t.same(tokens('# one\n// two\nport: 4222 // three\na { # four\n b: 1 // five\n}\nc [ # six\n 1.5 // seven\n]'), [
    ...PORT, ['key', 'a'], ['mapStart', ''], ['key', 'b'], ['integer', '1'], ['mapEnd', ''],
    ['key', 'c'], ['arrayStart', ''], ['float', '1.5'], ['arrayEnd', ''],
  ])
  t.same(tokens('a = b#c'), [['key', 'a'], ['string', 'b#c']], 'a # inside an unquoted value is text')
})

t.test('the whole file may be wrapped in braces', async (t) => {
  t.same(tokens('{\n  port: 4222\n}\n'), [...PORT, ['key', '}']], 'the closing brace is a key without a value, which is dropped')
  t.same(tokens('{"port": 4222}'), PORT)
})

t.test('keys may be bare, double- or single-quoted; quoted keys may hold spaces and separators', async (t) => {
  t.same(tokens('"a key" = 1\n\'b:c\' : 2\nd-e.f 3'), [
    ['key', 'a key'], ['integer', '1'], ['key', 'b:c'], ['integer', '2'], ['key', 'd-e.f'], ['integer', '3'],
  ])
  t.equal(lexError('= 1'), "Unexpected key separator '='")
  t.equal(lexError('a { : 1 }'), "Unexpected key separator ':'.")
})

t.test('maps take an optional separator before {, and , ; or newlines between members', async (t) => {
  const expected: [string, string][] = [['key', 'a'], ['mapStart', ''], ['key', 'x'], ['integer', '1'], ['key', 'y'], ['integer', '2'], ['mapEnd', '']]
  for (const input of ['a {x: 1, y: 2}', 'a = {x = 1; y = 2}', 'a: {\n  x 1\n  y 2\n}', 'a {\n"x": 1,\n\'y\': 2,\n}']) {
    t.same(tokens(input), expected, JSON.stringify(input))
  }
  t.equal(lexError('a { x: 1 y: 2 }'), 'Expected a map value terminator "," or a map terminator "}", but got \'y\' instead.')
  t.equal(lexError('a { x: , }'), 'Unexpected map value terminator ",".')
  t.equal(lexError('a { x: 1'), 'Expected a map value terminator "," or a map terminator "}", but got \'\x00\' instead.')
  t.equal(lexError('a {\n'), 'Unexpected EOF processing map.')
  t.equal(lexError('a { x'), 'Unexpected EOF processing map key.')
  t.equal(lexError('a { "x'), 'Unexpected EOF processing double quoted map key.')
  t.equal(lexError('a { ]'), "Unexpected array end ']' processing map.")
})

t.test('arrays take values separated by , or newlines, a trailing , allowed', async (t) => {
  const expected: [string, string][] = [['key', 'a'], ['arrayStart', ''], ['string', 'x'], ['string', 'y'], ['arrayEnd', '']]
  for (const input of ['a [x, y]', 'a = [x,y,]', 'a: [\n  x\n  y\n]', 'a [\n\n x,\n\n y\n\n]', 'a ["x", \'y\']']) {
    t.same(tokens(input), expected, JSON.stringify(input))
  }
  t.same(tokens('a [[1.5], {b: c}]'), [
    ['key', 'a'], ['arrayStart', ''], ['arrayStart', ''], ['float', '1.5'], ['arrayEnd', ''],
    ['mapStart', ''], ['key', 'b'], ['string', 'c'], ['mapEnd', ''], ['arrayEnd', ''],
  ])
  t.equal(lexError('a [x,,y]'), "Unexpected array value terminator ','.")
  t.equal(lexError('a [x y]'), 'Expected an array value terminator "," or an array terminator "]", but got \'y\' instead.')
  t.equal(lexError('a ['), 'Expected an array value terminator "," or an array terminator "]", but got \'\x00\' instead.')
})

t.test('an integer directly before ] does not end: [1, 2] is refused, [1 ,2 ] is not', async (t) => {
  t.equal(lexError('a [1, 2]'), 'Expected an array value terminator "," or an array terminator "]", but got \'\x00\' instead.')
  t.same(tokens('a [1 , 2 ]').slice(2, 4), [['integer', '1'], ['integer', '2']])
  t.same(tokens('a [1k]').slice(2, 3), [['string', '1k']], 'with a suffix it becomes the string "1k"')
})

t.test("'…' strings are raw, \"…\" strings take \\t \\n \\r \\\" \\\\ and \\xHH escapes", async (t) => {
  t.same(tokens("a '\\t\\q $x'"), [['key', 'a'], ['string', '\\t\\q $x']])
  t.same(tokens('a "\\t\\n\\r\\"\\\\\\x41\\xc3\\xa9"'), [['key', 'a'], ['string', '\t\n\r"\\Aé']])
  t.same(tokens('a "two\nlines"'), [['key', 'a'], ['string', 'two\nlines']], 'quoted strings may span lines')
  t.equal(lexError('a "\\q"'), 'Invalid escape character \'q\'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\", \\\\.')
  t.equal(lexError('a "\\xZZ"'), "Expected two hexadecimal digits after '\\x', but got 'ZZ'")
  t.equal(lexError('a "\\x4\n"'), "Expected two hexadecimal digits after '\\x', but hit end of line")
  t.equal(lexError('a "\\x\u00e9"'), "Expected two hexadecimal digits after '\\x', but got '\ufffd\"'", 'the last two bytes: half of é')
  t.equal(lexError('a "abc'), 'Unexpected EOF.')
  t.equal(lexError("a 'abc"), 'Unexpected EOF.')
})

t.test('a quote just before the end of the file ends it quietly, as nats-server does', async (t) => {
  t.same(tokens("port: 4222\nname: '"), [...PORT, ['key', 'name']])
  t.same(tokens('port: 4222\n"'), PORT)
})

t.test('unquoted strings end at a space, tab, newline, comma, semicolon, ] or }', async (t) => {
  for (const end of [' ', '\t', '\n', ',', ';', '}']) {
    t.same(tokens(`a { b: nats://h:1/x${end}}`).slice(2, 4), [['key', 'b'], ['string', 'nats://h:1/x']], JSON.stringify(end))
  }
  t.same(tokens('a [nats://h:1/x]').slice(2, 3), [['string', 'nats://h:1/x']])
  t.same(tokens('a = foo\\tbar'), [['key', 'a'], ['string', 'foo\tbar']], 'they take the same escapes as "…"')
  t.same(tokens("a = it'"), [['key', 'a'], ['string', 'it']], "and end at ', which is dropped")
  t.equal(lexError("a = it's"), "Expected a top-level value to end with a new line, comment or EOF, but got 's' instead.")
})

t.test('( … ) is a raw block ending at a ) alone on its line', async (t) => {
  t.same(tokens('a (\nline "one" \\q\n  ) not yet\n)\nb 1'), [
    ['key', 'a'], ['string', '\nline "one" \\q\n  ) not yet\n'], ['key', 'b'], ['integer', '1'],
  ])
  t.same(tokens('a (\nx\n)'), [['key', 'a'], ['string', '\nx\n)']], 'at the end of the file the ) stays in the text')
  t.equal(lexError('a (\nx\n'), 'Unexpected EOF processing block.')
  t.equal(lexError('a (\nx\r\n)\r\n'), 'Unexpected EOF processing block.', 'a CRLF file never closes a block')
})

t.test('booleans are true, false, yes, no, on, off in any case, unquoted only', async (t) => {
  for (const word of ['true', 'FALSE', 'Yes', 'no', 'ON', 'off']) t.same(tokens(`a ${word}`), [['key', 'a'], ['bool', word]])
  t.same(tokens('a "true"'), [['key', 'a'], ['string', 'true']])
  t.same(tokens('a yess'), [['key', 'a'], ['string', 'yess']])
})

t.test('a value starting with a digit is an integer, float, IP-ish string, datetime or string', async (t) => {
  const value = (input: string) => tokens(`a ${input}`)[1]
  t.same(value('4222'), ['integer', '4222'])
  t.same(value('-12'), ['integer', '-12'])
  t.same(value('1.5'), ['float', '1.5'])
  t.same(value('-0.25'), ['float', '-0.25'])
  t.same(value('127.0.0.1:4222'), ['string', '127.0.0.1:4222'])
  t.same(value('0.0.0.0'), ['string', '0.0.0.0'])
  t.same(value('2006-01-02T15:04:05Z'), ['datetime', '2006-01-02T15:04:05Z'])
  t.same(value('2s'), ['string', '2s'])
  t.same(value('3secret'), ['string', '3secret'])
  t.same(value('0x1F'), ['string', '0x1F'])
  t.same(value('1.5.2-3'), ['string', '1.5.2-3'])
  t.equal(lexError('a 1.5.2-beta'), "Expected a top-level value to end with a new line, comment or EOF, but got 'b' instead.", 'IP-ish takes digits . : - only')
  t.equal(lexError('a 1.5s'), "Expected a top-level value to end with a new line, comment or EOF, but got 's' instead.")
  t.equal(lexError('a 12-3'), 'All ISO8601 dates must be in full Zulu form.')
  t.equal(lexError('a 2006-01-02'), "Expected 'T' in ISO8601 datetime, but found '\x00' instead.")
  t.equal(lexError('a 1.x'), "Floats must have a digit after the '.', but got 'x' instead.")
  t.equal(lexError('a .5'), 'Floats must start with a digit')
  t.equal(lexError('a -x'), "Expected a digit but got 'x'.")
  t.equal(lexError('a -.5'), "Floats must start with a digit, not '.'.")
})

t.test('size suffixes k m g t p e (with b, i, ib) keep the value an integer token; 2ms and 1h stay strings', async (t) => {
  for (const n of ['1k', '1K', '2kb', '2KiB', '3m', '3MB', '3mi', '4g', '4GB', '5t', '6p', '7e', '8eb', '-1k']) {
    t.same(tokens(`a ${n}`)[1], ['integer', n], n)
  }
  t.same(tokens('a 2ms')[1], ['string', '2ms'])
  t.same(tokens('a 1h')[1], ['string', '1h'])
  t.equal(lexError('a 1e5'), "Expected a top-level value to end with a new line, comment or EOF, but got '5' instead.", 'no exponents')
})

t.test('$NAME unquoted is a variable; quoted it is text', async (t) => {
  t.same(tokens('a $FOO_1\nb "$FOO"'), [['key', 'a'], ['variable', 'FOO_1'], ['key', 'b'], ['string', '$FOO']])
  t.same(tokens(`a $2a$11$abc.def/ghi`)[1], ['variable', '2a$11$abc.def/ghi'], 'a bcrypt hash lexes as a variable; the parser keeps it literal')
})

t.test('include takes a quoted or bare path, in any case, at the top or in a block', async (t) => {
  t.same(tokens('include a.conf\nInclude "b c.conf"\nx { INCLUDE \'d.conf\'; y 1 }'), [
    ['include', 'a.conf'], ['include', 'b c.conf'], ['key', 'x'], ['mapStart', ''], ['include', 'd.conf'],
    ['key', 'y'], ['integer', '1'], ['mapEnd', ''],
  ])
  t.same(tokens('"include" x.conf'), [['key', 'include'], ['string', 'x.conf']], 'a quoted include is a key')
  t.same(tokens('include: x.conf'), [['key', 'include'], ['string', 'x.conf']], 'and so is include with a separator right after it')
  t.equal(lexError('include\n"a"'), 'Expected include value but found new line')
  t.equal(lexError('include [a]'), 'Expected include value but found start of an array')
  t.equal(lexError('include 1.conf'), 'Expected include value but found start of a number')
  t.equal(lexError('include "a.conf'), 'Unexpected EOF in double quoted include')
})

t.test('an error token marks where lexing stopped, for the parser to give its line', async (t) => {
  const last = lex('port: 4222\nname: "abc').at(-1)
  t.equal(last?.type, 'error')
  t.equal(last?.start, 'port: 4222\nname: "abc'.length)
  const newline = lex('port =\n4222').at(-1)
  t.equal(newline?.start, 'port =\n'.length, 'after the newline it stopped on, so the error is on line 2 as in nats-server')
})
