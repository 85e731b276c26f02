// Subject validation as nats-server 2.9.10 does it. Every row marked
// "oracle" was observed against the Debian nats-server (see the header of
// src/server/subject.ts for the probes).
import t from 'tap'
import { isLiteral, isValidLiteralSubject, isValidSubject, matchLiteral } from '../../src/server/subject.js'

t.test('SUB accepts subjects whose tokens are non-empty with > only last', async (t) => {
  const valid = [
    'foo', 'foo.bar', 'foo.bar.baz', '*', '>', 'foo.*', '*.bar', 'foo.>', '*.>', '*.*.*',
    // Wildcards are whole tokens only, anything else is a literal token (oracle).
    'foo*', 'a>b', 'a.>b', '>>', 'foo*.bar', '**', '*foo.>',
    // No byte is rejected inside a token (oracle: \f, NUL, CR, latin1 all accepted).
    'foo\fbar', 'foo\x00bar', '\f', 'foo\xe9', 'foo\rbar', 'foo.\f',
  ]
  for (const s of valid) t.equal(isValidSubject(s), true, JSON.stringify(s))
})

t.test('SUB rejects an empty token or a token after >', async (t) => {
  const invalid = ['', '.', 'foo..bar', '.foo', 'foo.', 'foo.>.x', '>.foo', 'foo.>.>', '..', 'foo.*..bar', '>.*']
  for (const s of invalid) t.equal(isValidSubject(s), false, JSON.stringify(s))
})

t.test('a pedantic publish subject must be valid and have no * or > token', async (t) => {
  const valid = ['foo', 'foo.bar', 'foo*', 'a>b', 'foo*.bar', '>>', 'foo\rbar', 'foo\fbar']
  for (const s of valid) t.equal(isValidLiteralSubject(s), true, JSON.stringify(s))
  const invalid = [
    '', '.', 'foo..bar', '.foo', 'foo.',
    // oracle: each of these gets -ERR 'Invalid Publish Subject' in pedantic mode
    'foo.*', 'foo.>', '*', '>', '*.*', 'foo.*.bar', 'foo.>.bar',
  ]
  for (const s of invalid) t.equal(isValidLiteralSubject(s), false, JSON.stringify(s))
})

t.test('isLiteral is false only when a whole token is * or >', async (t) => {
  for (const s of ['foo', 'foo.bar', 'foo*', 'a>b', '*foo', 'foo.b*r', '', 'foo..bar']) {
    t.equal(isLiteral(s), true, JSON.stringify(s))
  }
  for (const s of ['*', '>', 'foo.*', '*.foo', 'foo.>', 'a.*.b', 'foo..*']) {
    t.equal(isLiteral(s), false, JSON.stringify(s))
  }
})

/** [pattern, publish subject, matches]; sublist.test.ts checks the trie walk against matchLiteral. */
const MATCH_TABLE: ReadonlyArray<readonly [string, string, boolean]> = [
  ['foo', 'foo', true],
  ['foo', 'bar', false],
  ['foo', 'foo.bar', false],
  ['foo.bar', 'foo', false],
  ['foo.bar', 'foo.bar', true],
  ['*', 'foo', true],
  ['*', 'foo.bar', false],
  ['*.bar.baz', 'foo.bar.baz', true],
  ['foo.*.baz', 'foo.bar.baz', true],
  ['foo.bar.*', 'foo.bar.baz', true],
  ['foo.*.baz', 'foo.bar.qux', false],
  ['foo.*', 'foo', false],
  ['foo.*', 'foo.bar.baz', false],
  ['*.*', 'foo.bar', true],
  ['>', 'foo', true],
  ['>', 'foo.bar.baz', true],
  ['foo.>', 'foo', false],
  ['foo.>', 'foo.bar', true],
  ['foo.>', 'foo.bar.baz', true],
  ['foo.>', 'bar.baz', false],
  ['*.>', 'foo', false],
  ['*.>', 'foo.bar', true],
  ['foo.*.>', 'foo.bar', false],
  ['foo.*.>', 'foo.bar.baz.qux', true],
  ['foo.*.>', 'bar.bar.baz', false],
  ['foo*', 'foo*', true],
  ['foo*', 'foox', false],
  ['foo*.bar', 'foo.bar', false],
  ['a>b', 'a>b', true],
  ['a>b', 'a.b', false],
  ['fo', 'foo', false],
  ['foo', 'fo', false],
  // Publish subjects with wildcard tokens (non-pedantic, oracle): the token is
  // plain text that only wildcards match.
  ['foo.*', 'foo.*', true],
  ['foo.bar', 'foo.*', false],
  ['foo.>', 'foo.*', true],
  ['*.*', 'foo.*', true],
  ['>', 'foo.*', true],
  ['foo', '*', false],
  ['*', '*', true],
  ['>', '>', true],
  ['*', '>', true],
  ['foo.*.bar', 'foo.>.bar', true],
  ['*.*.*', 'foo.>.bar', true],
  ['foo.*', 'foo.>.bar', false],
  ['foo.>', 'foo.>.bar', true],
  // Bytes the parser lets through are ordinary characters (oracle).
  ['foo\fbar', 'foo\fbar', true],
  ['>', 'foo\rbar', true],
]

t.test('matchLiteral agrees with the wildcard truth table', async (t) => {
  for (const [pattern, subject, expected] of MATCH_TABLE) {
    t.equal(matchLiteral(subject, pattern), expected, `${JSON.stringify(pattern)} vs ${JSON.stringify(subject)}`)
  }
})
