// Subject rules, as nats-server 2.9.10 applies them. Subjects arrive decoded
// from bytes as latin1 (one char per byte), so every check here is per byte.
//
// What the oracle (Debian nats-server v2.9.10) does, with the probe that shows it.
// "np" = CONNECT {"verbose":false,"pedantic":false}, "p" = {"pedantic":true}.
// No error below closes the connection.
//
// [SUB-1] A SUB subject is rejected with `-ERR 'Invalid Subject'` (both modes)
//         when a token is empty or a `>` token is not the last one:
//         `SUB foo..bar 1`, `SUB .foo 1`, `SUB foo. 1`, `SUB . 1`, `SUB foo.>.x 3`
//         -> -ERR 'Invalid Subject'. A rejected SUB gets no +OK even in verbose mode
//         (verbose `SUB foo..bar 1` -> only the -ERR).
// [SUB-2] Wildcards are whole tokens only: `foo*`, `a>b`, `a.>b`, `>>`, `foo*.bar`
//         are literal tokens (accepted; `PUB a>b` reaches `SUB a>b`, `PUB foo.bar`
//         does not reach `SUB foo*.bar`). `*.>`, `*`, `>` are valid.
// [SUB-3] No byte is rejected inside a token: `SUB foo\fbar 1`, `SUB foo\x00bar 1`,
//         `SUB \f 1`, `SUB foo\xe9 1` are accepted and receive their PUB. Space, tab,
//         CR and LF cannot reach a SUB subject: the SUB arguments split on them
//         (`SUB foo\tbar 1` and `SUB foo\rbar 1` are subject `foo`, queue `bar`).
//         PUB arguments split on space and tab only, so a PUB subject can hold CR:
//         pedantic `PUB foo\rbar 1` is accepted and `SUB >` gets `MSG foo\rbar 1 1`.
// [QUEUE] Queue names are not validated at all: `SUB foo q..x 5`, `SUB foo * 5`,
//         `SUB foo > 5`, `SUB foo .q 5`, `SUB foo q\fx 1` are accepted in both
//         modes and each receives `PUB foo`. So there is no isValidQueueName here.
// [PUB-1] Pedantic PUB to a subject with an empty token or a `*`/`>` token gets
//         `-ERR 'Invalid Publish Subject'`, and the message is STILL processed:
//         p `PUB foo.* 2` -> -ERR to the publisher, `SUB foo.*` still gets
//         `MSG foo.* 1 2`; in verbose+pedantic the -ERR is followed by +OK.
//         Non-pedantic PUB gets no error at all. Literal-looking tokens (`foo*.bar`,
//         `a>b`) are fine in pedantic mode.
// [PUB-2] What a publish subject matches (both modes), see sublist.ts:
//         - an empty token anywhere (`foo..bar`, `foo.`, `.foo`, `.`) matches
//           nothing, not even `SUB >`;
//         - a `*` or `>` token is an ordinary token that only wildcards match:
//           `PUB foo.*` reaches `foo.*`, `foo.>`, `*.*`, `>` but not `foo.bar`;
//           `PUB foo.>.bar` reaches `foo.*.bar`, `*.*.*`, `foo.>`, `>`; `PUB *`
//           reaches `*` and `>` but not `foo`.
//
// isValidSubject is what SUB accepts ([SUB-1..3]); isValidLiteralSubject is the
// pedantic PUB check ([PUB-1], nats-server's IsValidLiteralSubject); isLiteral is
// nats-server's subjectIsLiteral (no validity check; the cache layer uses it).

const DOT = 0x2e // '.'
const STAR = 0x2a // '*'
const GT = 0x3e // '>'

/** What SUB (and route RS+) accepts: non-empty tokens, `>` only as the last token. */
export function isValidSubject(subject: string): boolean {
  const length = subject.length
  if (length === 0) return false
  let tokenStart = 0
  let hasFullWildcard = false
  for (let i = 0; i <= length; i++) {
    if (i < length && subject.charCodeAt(i) !== DOT) continue
    // A token follows the `>`: `foo.>.x` is invalid [SUB-1].
    if (i === tokenStart || hasFullWildcard) return false
    if (i - tokenStart === 1 && subject.charCodeAt(tokenStart) === GT) hasFullWildcard = true
    tokenStart = i + 1
  }
  return true
}

/** What a pedantic PUB requires: non-empty tokens and no `*` or `>` token [PUB-1]. */
export function isValidLiteralSubject(subject: string): boolean {
  const length = subject.length
  if (length === 0) return false
  let tokenStart = 0
  for (let i = 0; i <= length; i++) {
    if (i < length && subject.charCodeAt(i) !== DOT) continue
    if (i === tokenStart) return false
    if (i - tokenStart === 1) {
      const c = subject.charCodeAt(tokenStart)
      if (c === STAR || c === GT) return false
    }
    tokenStart = i + 1
  }
  return true
}

/** True when no token is exactly `*` or `>`. Says nothing about validity. */
export function isLiteral(subject: string): boolean {
  const length = subject.length
  for (let i = 0; i < length; i++) {
    const c = subject.charCodeAt(i)
    if (c !== STAR && c !== GT) continue
    if ((i === 0 || subject.charCodeAt(i - 1) === DOT) &&
        (i + 1 === length || subject.charCodeAt(i + 1) === DOT)) return false
  }
  return true
}

/**
 * Does `pattern` (a valid subscription subject) match `literal` (a publish
 * subject without empty tokens)? Tokens of `literal` are compared as plain
 * text, so a `*` token in it is matched only by a `*` or `>` in the pattern
 * [PUB-2]. This is nats-server's matchLiteral: the match cache uses it to find
 * the cached subjects a wildcard insert or remove touches, so it must agree
 * with the trie walk in sublist.ts on every such pair.
 */
export function matchLiteral(literal: string, pattern: string): boolean {
  const literalLength = literal.length
  const patternLength = pattern.length
  let li = 0
  let pi = 0
  // Both indexes sit at the start of a token; an index one past the length
  // means "consumed the last token".
  for (;;) {
    if (pi >= patternLength) return li >= literalLength
    if (li >= literalLength) return false
    let patternEnd = pattern.indexOf('.', pi)
    if (patternEnd < 0) patternEnd = patternLength
    let literalEnd = literal.indexOf('.', li)
    if (literalEnd < 0) literalEnd = literalLength
    const tokenLength = patternEnd - pi
    const first = pattern.charCodeAt(pi)
    if (tokenLength === 1 && first === GT) return true // one or more tokens remain here
    if (tokenLength !== 1 || first !== STAR) {
      if (literalEnd - li !== tokenLength) return false
      for (let k = 0; k < tokenLength; k++) {
        if (pattern.charCodeAt(pi + k) !== literal.charCodeAt(li + k)) return false
      }
    }
    pi = patternEnd + 1
    li = literalEnd + 1
  }
}
