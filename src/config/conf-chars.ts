// The characters of nats-server's config format as its lexer (conf/lex.go)
// classifies them, and the assembly of strings with escapes. The lexer reads
// one UTF-16 unit where Go reads one rune; the rules below concern ASCII and
// BMP characters, so the two agree, except that a decimal digit outside the
// BMP (U+1D7CE and such) is no digit here.

/** What the lexer reads past the end of the input. */
export const EOF = ''

/** unicode.IsSpace: ASCII spaces, NEL, NBSP and the Unicode White_Space runes (not the BOM). */
export function isSpace(c: string): boolean {
  switch (c) {
    case ' ': case '\t': case '\n': case '\v': case '\f': case '\r': case '\u0085': case '\u00a0':
    case '\u1680': case '\u2028': case '\u2029': case '\u202f': case '\u205f': case '\u3000':
      return true
  }
  return c >= '\u2000' && c <= '\u200a'
}

export function isWhitespace(c: string): boolean {
  return c === ' ' || c === '\t'
}

export function isNewline(c: string): boolean {
  return c === '\n' || c === '\r'
}

export function isKeySeparator(c: string): boolean {
  return c === '=' || c === ':'
}

const UNICODE_DIGIT = /^\p{Nd}$/u

/** unicode.IsDigit: any decimal digit, not only ASCII. */
export function isDigit(c: string): boolean {
  if (c >= '0' && c <= '9') return true
  return c > '\u007f' && UNICODE_DIGIT.test(c)
}

export function isNumberSuffix(c: string): boolean {
  return 'kKmMgGtTpPeE'.includes(c) && c !== EOF
}

/** What ends an integer, and a number with a size suffix (lexNumberOrDateOrStringOrIP). Not `]`. */
export function endsNumber(c: string): boolean {
  return c === EOF || isNewline(c) || c === '}' || c === ';' || c === ',' || isWhitespace(c)
}

/** What ends an unquoted string (lexString). */
export function endsUnquoted(c: string): boolean {
  return endsNumber(c) || c === ']'
}

/** A rune in an error message, as nats-server's errorf prints it (end of input is a NUL). */
export function show(c: string): string {
  if (c === EOF) return '\x00'
  if (c === '\n') return '\\n'
  return c
}

/** A string with escapes; `\xHH` adds a raw byte, so the text is assembled as UTF-8 bytes. */
export class TextBuilder {
  readonly parts: Buffer[] = []
  hasEscapes = false

  add(s: string): void {
    if (s.length > 0) this.parts.push(Buffer.from(s, 'utf8'))
    this.hasEscapes = true
  }

  addByte(b: number): void {
    this.parts.push(Buffer.from([b]))
    this.hasEscapes = true
  }

  finish(): string {
    return Buffer.concat(this.parts).toString('utf8')
  }
}
