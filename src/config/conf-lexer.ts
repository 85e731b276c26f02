// The lexer of nats-server's configuration format: text in, a flat list of
// tokens out, ending with one 'eof' or one 'error' token. It reproduces the
// verdicts and error texts of nats-server 2.9.10's conf/lex.go, quirks
// included, because natsmesh must accept and refuse exactly the files
// nats-server does. The quirks a reader would not guess, each checked
// against `nats-server -t` (see test/config/conf-lexer.test.ts):
// - An integer directly followed by `]` is not an integer: `[1, 2]` lexes `2]`
//   as the start of a string, and the file is refused. `[1k]` and `[1.5]` are
//   fine (a string "1k" and a float).
// - `port =` and a newline is an error, `port` and a newline then `4222` is not.
// - An unquoted string ends at `'`, which is dropped.
// - Unquoted strings take the same backslash escapes as "…" strings.
// - `( … )` raw blocks end only at a `)` alone on its line (no `\r\n`).
// - A `'` or `"` just before the end of the file ends the file quietly.
//
// Tokens are produced up front and the parser reads them in order, stopping
// at the first error; nats-server interleaves lexing and parsing, but since
// both stop at the first fault, the first fault reported is the same.

import {
  EOF, isSpace, isWhitespace, isNewline, isKeySeparator, isDigit, isNumberSuffix, endsNumber, endsUnquoted, show, TextBuilder,
} from './conf-chars.js'

export type TokenType =
  | 'key' | 'string' | 'bool' | 'integer' | 'float' | 'datetime' | 'variable' | 'include'
  | 'arrayStart' | 'arrayEnd' | 'mapStart' | 'mapEnd' | 'eof' | 'error'

export interface Token {
  readonly type: TokenType
  /** The decoded text (escapes applied); a variable's name without `$`; an error's message. */
  readonly text: string
  /** Index in the input where the text starts (after an opening quote, after `$`); for errors, where lexing stopped. */
  readonly start: number
  /** Where lexing stood when the token was complete: nats-server gives a token the line of this point. */
  readonly end: number
  readonly isQuoted: boolean
}

const DATETIME_AFTER_YEAR = '00-00T00:00:00Z' // '0' is any digit, the rest literal

export function lex(input: string): Token[] {
  const lexer = new Lexer(input)
  lexer.lexTop()
  return lexer.tokens
}

class Lexer {
  readonly input: string
  readonly tokens: Token[] = []
  pos = 0

  constructor(input: string) {
    this.input = input
  }

  next(): string {
    if (this.pos >= this.input.length) return EOF
    return this.input[this.pos++]
  }

  /** Steps back over c, the character next() just returned (nothing to undo at the end). */
  backup(c: string): void {
    if (c !== EOF) this.pos--
  }

  peek(): string {
    return this.pos < this.input.length ? this.input[this.pos] : EOF
  }

  emit(type: TokenType, text: string, start: number, isQuoted = false): true {
    this.tokens.push({ type, text, start, end: this.pos, isQuoted })
    return true
  }

  /** Lexing stops with an error; the parser reports it with the line of `pos`. */
  fail(message: string): false {
    this.tokens.push({ type: 'error', text: message, start: this.pos, end: this.pos, isQuoted: false })
    return false
  }

  /** Lexing stops as if the input ended here, which is not an error (nats-server's quiet EOF items). */
  stop(): false {
    this.tokens.push({ type: 'eof', text: '', start: this.pos, end: this.pos, isQuoted: false })
    return false
  }

  skipComment(): void {
    while (this.pos < this.input.length && !isNewline(this.input[this.pos])) this.pos++
  }

  /** The top level: keys and their values, `{` ignored, so a file may be wrapped in braces. */
  lexTop(): void {
    for (;;) {
      const c = this.next()
      if (isSpace(c) || c === '{') continue
      if (c === '#') { this.skipComment(); continue }
      if (c === '/') {
        if (this.peek() === '/') { this.pos++; this.skipComment(); continue }
        this.fail('Unexpected EOF.')
        return
      }
      if (c === EOF) { this.stop(); return }
      this.backup(c)
      if (!this.lexTopKey()) return
      if (!this.lexTopValueEnd()) return
    }
  }

  lexTopKey(): boolean {
    const c = this.peek()
    if (isKeySeparator(c)) return this.fail(`Unexpected key separator '${c}'`)
    if (c === '"' || c === "'") {
      const start = ++this.pos
      const end = this.input.indexOf(c, start)
      if (end < 0) {
        this.pos = this.input.length
        return this.pos > start ? this.fail('Unexpected EOF.') : this.stop()
      }
      this.pos = end + 1
      this.emit('key', this.input.slice(start, end), start, true)
      return this.lexKeyEnd()
    }
    const start = this.pos++ // the first character is the key's whatever it is
    for (;;) {
      const p = this.peek()
      if (isSpace(p)) {
        if (this.input.slice(start, this.pos).toLowerCase() === 'include') return this.lexInclude()
        this.emit('key', this.input.slice(start, this.pos), start)
        return this.lexKeyEnd()
      }
      if (isKeySeparator(p) || p === EOF) {
        this.emit('key', this.input.slice(start, this.pos), start)
        return this.lexKeyEnd()
      }
      this.pos++
    }
  }

  /** After a top-level key: spaces and newlines, then an optional `=` or `:`, then the value. */
  lexKeyEnd(): boolean {
    for (;;) {
      const c = this.next()
      if (isSpace(c)) continue
      if (isKeySeparator(c)) return this.lexValue()
      if (c === EOF) return this.stop() // a key without a value is dropped
      this.backup(c)
      return this.lexValue()
    }
  }

  lexTopValueEnd(): boolean {
    for (;;) {
      const c = this.next()
      if (c === '#') { this.skipComment(); return true }
      if (c === '/') {
        if (this.peek() === '/') { this.pos++; this.skipComment(); return true }
        continue // a lone '/' after a value is skipped like a space
      }
      if (isWhitespace(c)) continue
      if (isNewline(c) || c === EOF || c === ';' || c === ',' || c === '}') return true
      return this.fail(`Expected a top-level value to end with a new line, comment or EOF, but got '${show(c)}' instead.`)
    }
  }

  /** `include path`: the path quoted or bare; the directive stands where a key and its value would. */
  lexInclude(): boolean {
    let c = this.next()
    while (isWhitespace(c)) c = this.next()
    if (c === "'" || c === '"') {
      const start = this.pos
      const end = this.input.indexOf(c, start)
      if (end < 0) {
        this.pos = this.input.length
        return this.fail(c === "'" ? 'Unexpected EOF in quoted include' : 'Unexpected EOF in double quoted include')
      }
      this.pos = end + 1
      return this.emit('include', this.input.slice(start, end), start, true)
    }
    if (c === '[') return this.fail('Expected include value but found start of an array')
    if (c === '{') return this.fail('Expected include value but found start of a map')
    if (c === '(') return this.fail('Expected include value but found start of a block')
    if (isDigit(c) || c === '-') return this.fail('Expected include value but found start of a number')
    if (c === '\\') return this.fail('Expected include value but found escape sequence')
    if (isNewline(c)) return this.fail('Expected include value but found new line')
    this.backup(c)
    const start = this.pos
    for (;;) {
      const r = this.next()
      if (isNewline(r) || r === EOF || r === ';' || r === '}' || isWhitespace(r)) {
        this.backup(r)
        return this.emit('include', this.input.slice(start, this.pos), start)
      }
      if (r === "'") return this.emit('include', this.input.slice(start, this.pos - 1), start)
    }
  }

  /** A value after a key or in an array. Spaces may precede it, a newline may not. */
  lexValue(): boolean {
    for (;;) {
      const c = this.next()
      if (isWhitespace(c)) continue
      switch (c) {
        case '[':
          this.emit('arrayStart', '', this.pos - 1)
          return this.lexArray()
        case '{':
          this.emit('mapStart', '', this.pos - 1)
          return this.lexMap()
        case "'":
          return this.lexRawString()
        case '"':
          return this.lexQuotedString()
        case '-':
          return this.lexNegativeNumber()
        case '(':
          return this.lexBlock()
        case '.':
          return this.fail('Floats must start with a digit')
        case '\n': case '\r':
          return this.fail('Expected value but found new line')
      }
      this.backup(c)
      if (isDigit(c)) return this.lexNumberOrDateOrStringOrIP()
      return this.lexUnquotedString(this.pos)
    }
  }

  lexArray(): boolean {
    for (;;) {
      const c = this.next()
      if (isSpace(c)) continue
      if (c === '#') { this.skipComment(); continue }
      if (c === '/' && this.peek() === '/') { this.pos++; this.skipComment(); continue }
      if (c === ',' || c === '/') return this.fail("Unexpected array value terminator ','.")
      if (c === ']') return this.emit('arrayEnd', '', this.pos - 1)
      this.backup(c)
      if (!this.lexValue()) return false
      const end = this.lexArrayValueEnd()
      if (end !== 'more') return end === 'end'
    }
  }

  lexArrayValueEnd(): 'more' | 'end' | 'stop' {
    for (;;) {
      const c = this.next()
      if (isWhitespace(c)) continue
      if (c === '#') { this.skipComment(); continue }
      if (c === '/' && this.peek() === '/') { this.pos++; this.skipComment(); continue }
      if (c === ',' || c === '/' || isNewline(c)) return 'more' // a lone '/' separates like ','
      if (c === ']') { this.emit('arrayEnd', '', this.pos - 1); return 'end' }
      this.fail(`Expected an array value terminator "," or an array terminator "]", but got '${show(c)}' instead.`)
      return 'stop'
    }
  }

  lexMap(): boolean {
    for (;;) {
      const c = this.peek()
      if (isKeySeparator(c)) return this.fail(`Unexpected key separator '${c}'.`)
      if (c === ']') return this.fail("Unexpected array end ']' processing map.")
      if (isSpace(c)) { this.pos++; continue }
      if (c === '}') { this.pos++; return this.emit('mapEnd', '', this.pos - 1) }
      if (c === '#') { this.pos++; this.skipComment(); continue }
      if (c === EOF) return this.fail('Unexpected EOF processing map.')
      if (c === '"' || c === "'") {
        const start = ++this.pos
        const end = this.input.indexOf(c, start)
        if (end < 0) {
          this.pos = this.input.length
          return this.fail(c === '"' ? 'Unexpected EOF processing double quoted map key.' : 'Unexpected EOF processing quoted map key.')
        }
        this.pos = end + 1
        this.emit('key', this.input.slice(start, end), start, true)
      } else {
        if (c === '/') {
          this.pos++
          if (this.peek() === '/') { this.pos++; this.skipComment(); continue }
          // A lone '/' before a key is dropped (nats-server ignores it and starts the key after it).
        }
        const step = this.lexMapKey()
        if (step === 'stop') return false
        if (step === 'include') {
          const end = this.lexMapValueEnd()
          if (end !== 'more') return end === 'end'
          continue
        }
      }
      // After the key: spaces and newlines, an optional separator, spaces and
      // newlines again (unlike the top level, where a newline after `=` is an error).
      let r = this.next()
      while (isSpace(r)) r = this.next()
      if (!isKeySeparator(r)) this.backup(r)
      r = this.next()
      while (isSpace(r)) r = this.next()
      if (r === ',') return this.fail('Unexpected map value terminator ",".')
      if (r === '}') return this.emit('mapEnd', '', this.pos - 1) // a key without a value
      this.backup(r)
      if (!this.lexValue()) return false
      const end = this.lexMapValueEnd()
      if (end !== 'more') return end === 'end'
    }
  }

  /** A bare key inside a map; its first character is taken whatever it is. */
  lexMapKey(): 'key' | 'include' | 'stop' {
    const start = this.pos
    if (this.pos < this.input.length) this.pos++
    for (;;) {
      const p = this.peek()
      if (p === EOF) { this.fail('Unexpected EOF processing map key.'); return 'stop' }
      if (isSpace(p)) {
        if (this.input.slice(start, this.pos).toLowerCase() === 'include') return this.lexInclude() ? 'include' : 'stop'
        this.emit('key', this.input.slice(start, this.pos), start)
        return 'key'
      }
      if (isKeySeparator(p)) {
        this.emit('key', this.input.slice(start, this.pos), start)
        return 'key'
      }
      this.pos++
    }
  }

  lexMapValueEnd(): 'more' | 'end' | 'stop' {
    for (;;) {
      const c = this.next()
      if (isWhitespace(c)) continue
      if (c === '#') { this.skipComment(); continue }
      if (c === '/' && this.peek() === '/') { this.pos++; this.skipComment(); continue }
      if (c === ';' || c === ',' || c === '/' || isNewline(c)) return 'more' // a lone '/' separates like ','
      if (c === '}') { this.emit('mapEnd', '', this.pos - 1); return 'end' }
      this.fail(`Expected a map value terminator "," or a map terminator "}", but got '${show(c)}' instead.`)
      return 'stop'
    }
  }

  /** '…': no escapes, may span lines. */
  lexRawString(): boolean {
    const start = this.pos
    const end = this.input.indexOf("'", start)
    if (end < 0) {
      this.pos = this.input.length
      return this.pos > start ? this.fail('Unexpected EOF.') : this.stop()
    }
    this.pos = end + 1
    return this.emit('string', this.input.slice(start, end), start, true)
  }

  /** "…": escapes \t \n \r \" \\ \xHH, may span lines. */
  lexQuotedString(): boolean {
    const start = this.pos
    const text = new TextBuilder()
    let segment = start
    for (;;) {
      const c = this.next()
      if (c === '\\') {
        text.add(this.input.slice(segment, this.pos - 1))
        if (!this.lexEscape(text)) return false
        segment = this.pos
        continue
      }
      if (c === '"') {
        text.add(this.input.slice(segment, this.pos - 1))
        return this.emit('string', text.finish(), start, true)
      }
      // Only the text since the last escape counts: nats-server's "has anything been read" test.
      if (c === EOF) return this.pos > segment ? this.fail('Unexpected EOF.') : this.stop()
    }
  }

  lexEscape(text: TextBuilder): boolean {
    const c = this.next()
    switch (c) {
      case 't': text.add('\t'); return true
      case 'n': text.add('\n'); return true
      case 'r': text.add('\r'); return true
      case '"': text.add('"'); return true
      case '\\': text.add('\\'); return true
      case 'x': {
        for (let i = 0; i < 2; i++) {
          if (isNewline(this.next())) return this.fail("Expected two hexadecimal digits after '\\x', but hit end of line")
        }
        // nats-server takes the two bytes before its position, so after 'é' a message shows half of it.
        const tail = Buffer.from(this.input.slice(Math.max(0, this.pos - 4), this.pos), 'utf8')
        const hex = tail.subarray(tail.length - 2).toString('utf8')
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) return this.fail(`Expected two hexadecimal digits after '\\x', but got '${hex}'`)
        text.addByte(parseInt(hex, 16))
        return true
      }
    }
    return this.fail(
      `Invalid escape character '${show(c)}'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\", \\\\.`,
    )
  }

  /**
   * An unquoted string from `start` (which may lie behind `pos` when a number
   * turned out to be a string). Becomes a bool or a `$variable` when it is one
   * and has no escapes.
   */
  lexUnquotedString(start: number): boolean {
    const text = new TextBuilder()
    let segment = start
    for (;;) {
      const c = this.next()
      if (c === '\\') {
        text.add(this.input.slice(segment, this.pos - 1))
        if (!this.lexEscape(text)) return false
        segment = this.pos
        continue
      }
      if (endsUnquoted(c)) {
        this.backup(c)
        if (text.hasEscapes) {
          text.add(this.input.slice(segment, this.pos))
          return this.emit('string', text.finish(), start)
        }
        const raw = this.input.slice(start, this.pos)
        if (/^(true|false|yes|no|on|off)$/i.test(raw)) return this.emit('bool', raw, start)
        if (raw.startsWith('$')) return this.emit('variable', raw.slice(1), start + 1)
        return this.emit('string', raw, start)
      }
      if (c === "'") {
        text.add(this.input.slice(segment, this.pos - 1))
        return this.emit('string', text.finish(), start)
      }
    }
  }

  /** `( … )`: everything up to a `)` alone on its line, the newline before it included. */
  lexBlock(): boolean {
    const start = this.pos
    let from = start
    for (;;) {
      const close = this.input.indexOf(')', from)
      if (close < 0) {
        this.pos = this.input.length
        return this.fail('Unexpected EOF processing block.')
      }
      if (this.input[close - 1] === '\n') {
        if (close + 1 === this.input.length) {
          // At the very end of the input nats-server keeps the ')' in the text.
          this.pos = close + 1
          return this.emit('string', this.input.slice(start, close + 1), start, true)
        }
        if (this.input[close + 1] === '\n') {
          this.pos = close + 1
          return this.emit('string', this.input.slice(start, close), start, true)
        }
      }
      from = close + 1
    }
  }

  /** A value starting with a digit: integer, float, datetime, IP-ish string, or a string. */
  lexNumberOrDateOrStringOrIP(): boolean {
    const start = this.pos++
    for (;;) {
      const c = this.next()
      if (c === '-') {
        if (this.pos - start !== 5) return this.fail('All ISO8601 dates must be in full Zulu form.')
        return this.lexDateAfterYear(start)
      }
      if (isDigit(c)) continue
      if (c === '.') return this.lexFloatStart(start)
      if (isNumberSuffix(c)) return this.lexSuffixedNumber(start)
      if (!endsNumber(c)) return this.lexUnquotedString(start) // `2s`, `3secret`, and `1]`
      this.backup(c)
      return this.emit('integer', this.input.slice(start, this.pos), start)
    }
  }

  /** After `1k`: more b/B/i/I, then the number must end, or it was a string (`2ms`). */
  lexSuffixedNumber(start: number): boolean {
    let c = this.next()
    while (c === 'b' || c === 'B' || c === 'i' || c === 'I') c = this.next()
    this.backup(c)
    if (endsNumber(c) || isDigit(c)) return this.emit('integer', this.input.slice(start, this.pos), start)
    return this.lexUnquotedString(start)
  }

  lexDateAfterYear(start: number): boolean {
    for (const f of DATETIME_AFTER_YEAR) {
      const c = this.next()
      if (f === '0') {
        if (!isDigit(c)) return this.fail(`Expected digit in ISO8601 datetime, but found '${show(c)}' instead.`)
      } else if (f !== c) {
        return this.fail(`Expected '${f}' in ISO8601 datetime, but found '${show(c)}' instead.`)
      }
    }
    return this.emit('datetime', this.input.slice(start, this.pos), start)
  }

  /** After '-': digits, then maybe a fraction or a size suffix; never a string. */
  lexNegativeNumber(): boolean {
    const start = this.pos - 1
    const first = this.next()
    if (!isDigit(first)) {
      if (first === '.') return this.fail("Floats must start with a digit, not '.'.")
      return this.fail(`Expected a digit but got '${show(first)}'.`)
    }
    for (;;) {
      const c = this.next()
      if (isDigit(c)) continue
      if (c === '.') return this.lexFloatStart(start)
      if (isNumberSuffix(c)) return this.lexSuffixedNumber(start)
      this.backup(c)
      return this.emit('integer', this.input.slice(start, this.pos), start)
    }
  }

  lexFloatStart(start: number): boolean {
    const c = this.next()
    if (!isDigit(c)) return this.fail(`Floats must have a digit after the '.', but got '${show(c)}' instead.`)
    for (;;) {
      const d = this.next()
      if (isDigit(d)) continue
      if (d === '.') return this.lexIPAddr(start) // a second '.': `127.0.0.1:4222`
      this.backup(d)
      return this.emit('float', this.input.slice(start, this.pos), start)
    }
  }

  lexIPAddr(start: number): boolean {
    for (;;) {
      const c = this.next()
      if (isDigit(c) || c === '.' || c === ':' || c === '-') continue
      this.backup(c)
      return this.emit('string', this.input.slice(start, this.pos), start)
    }
  }
}
