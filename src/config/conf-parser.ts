// The reader of nats-server's configuration file format (conf/parse.go of
// nats-server 2.9.10): it accepts and refuses the files nats-server does, with
// its error texts, and keeps every value's position for the option layer's
// errors (`f.conf:3:1: unknown field "foo"`). It knows no option: mapping keys
// to natsmesh options, and nats-server's per-option errors, are the option
// layer's job, using the typed readers of conf-values.ts.
//
// API
//   parseConfig(text, { file?, env?, readFile? }): ParsedConfig
//   parseConfigFile(path, { env?, readFile? }): ParsedConfig
//     root        ConfMap: ordered key → ConfValue; a repeated key keeps its
//                 first place and its last value, as nats-server's map does
//     references  every $variable use: name, position, where it was found
//                 ('scope' = an enclosing map's key, 'env', 'bcrypt' for `$2a$…`)
//     notices     natsmesh's own notes on input nats-server silently ignores
//                 (not nats-server warnings: `nats-server -t` passes such files)
//   ConfValue     { kind, value, file, line, col, key, isUsedVariable } where kind is
//                 'string' (+ isQuoted) | 'int' | 'float' | 'bool' | 'datetime' (Date)
//                 | 'map' (ReadonlyMap<string, ConfValue>) | 'array' (ConfValue[])
//     key         the ConfKey holding the value in its map ({ name, file, line, col,
//                 isQuoted }); nats-server reports errors about a map member at
//                 its key, so the readers do too. null in arrays and at the root.
//     isUsedVariable  the value was referenced as a $variable: nats-server does not
//                 report such a key as an unknown field (an unused one it does)
//   Errors: ConfigError (config-error.ts), message as nats-server's:
//     Parse error on line N: '…'          anything the lexer refuses
//     variable reference for 'X' on line N can not be found
//     error parsing include file 'p', …  (the cause is the include's own error)
//     integer '…' is out of the range     beyond int64, as nats-server; natsmesh also
//                                          refuses integers beyond ±(2^53-1), which a JS
//                                          number can't hold, once the rest of the file parsed
//
// Semantics (nats-server's): `include p` (key `include` followed by a space,
// any case) parses p, relative to the including file's directory, as a whole
// file on its own (it does not see the includer's variables) and merges its
// keys into the map where the directive stands. `$NAME` looks NAME up in the
// enclosing maps, innermost first, among the keys set so far, then in the
// environment, whose value is parsed as the value of `pk=<value>`.
import assert from 'node:assert'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ConfigError, type ConfPosition } from './config-error.js'
import { lex, type Token } from './conf-lexer.js'

export interface ConfKey extends ConfPosition {
  readonly name: string
  readonly isQuoted: boolean
}

interface ConfNode extends ConfPosition {
  /** Set by the parser when the value lands in a map; null in an array or at the root. */
  key: ConfKey | null
  /** Set by the parser when a later `$name` refers to this value. */
  isUsedVariable: boolean
}

export interface ConfString extends ConfNode { readonly kind: 'string'; readonly value: string; readonly isQuoted: boolean }
export interface ConfInt extends ConfNode { readonly kind: 'int'; readonly value: number }
export interface ConfFloat extends ConfNode { readonly kind: 'float'; readonly value: number }
export interface ConfBool extends ConfNode { readonly kind: 'bool'; readonly value: boolean }
export interface ConfDatetime extends ConfNode { readonly kind: 'datetime'; readonly value: Date }
export interface ConfMap extends ConfNode { readonly kind: 'map'; readonly value: ReadonlyMap<string, ConfValue> }
export interface ConfArray extends ConfNode { readonly kind: 'array'; readonly value: readonly ConfValue[] }
export type ConfValue = ConfString | ConfInt | ConfFloat | ConfBool | ConfDatetime | ConfMap | ConfArray

export interface VariableReference extends ConfPosition {
  readonly name: string
  readonly source: 'scope' | 'env' | 'bcrypt'
}

export interface ParsedConfig {
  readonly root: ConfMap
  readonly references: readonly VariableReference[]
  readonly notices: readonly ConfigError[]
}

export interface ParseOptions {
  /** The name positions carry, and the base of relative includes; '' (the working directory) by default. */
  file?: string
  /** Where `$NAME` falls back to; process.env by default. */
  env?: Readonly<Record<string, string | undefined>>
  /** Reads an included file (and, for parseConfigFile, the file itself); readFileSync as UTF-8 by default. */
  readFile?: (file: string) => string
}

/** The files being read and the environment variables being expanded, innermost last: loops end in an error. */
interface Chain {
  files: readonly string[]
  envNames: readonly string[]
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER)
const INT64_MAX = (1n << 63n) - 1n
const INT64_MIN = -(1n << 63n)

/** conf/parse.go: 1k is 1000, 1kb = 1ki = 1kib is 1024, and so on up to e (10^18, 2^60). */
const SIZE_SUFFIXES: ReadonlyMap<string, bigint> = new Map(
  ['k', 'm', 'g', 't', 'p', 'e'].flatMap((letter, i): [string, bigint][] => {
    const decimal = 1000n ** BigInt(i + 1)
    const binary = 1024n ** BigInt(i + 1)
    return [[letter, decimal], [`${letter}b`, binary], [`${letter}i`, binary], [`${letter}ib`, binary]]
  }).concat([['', 1n]]),
)

export function parseConfig(text: string, options: ParseOptions = {}): ParsedConfig {
  const file = options.file ?? ''
  const chain = { files: file === '' ? [] : [path.resolve(file)], envNames: [] }
  return new ConfParser(text, file, options, chain).parse()
}

export function parseConfigFile(file: string, options: Omit<ParseOptions, 'file'> = {}): ParsedConfig {
  const text = readConfigText(file, options.readFile ?? readUtf8)
  return parseConfig(text, { ...options, file })
}

function readUtf8(file: string): string {
  return readFileSync(file, 'utf8')
}

/** Reads a file; a failure reads as Go's os error, which nats-server prints (`open f: no such file or directory`). */
function readConfigText(file: string, readFile: (file: string) => string): string {
  try {
    return readFile(file)
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? err.code : undefined
    const text = code === 'ENOENT' ? `open ${file}: no such file or directory`
      : code === 'EACCES' ? `open ${file}: permission denied`
      : code === 'ENOTDIR' ? `open ${file}: not a directory`
      : code === 'EISDIR' ? `read ${file}: is a directory`
      : `open ${file}: ${messageOf(err)}`
    throw new ConfigError(text, { file, line: 0, col: 0 }, { cause: err })
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

interface MapContext { readonly kind: 'map'; readonly entries: Map<string, ConfValue>; readonly node: ConfMap }
interface ArrayContext { readonly kind: 'array'; readonly items: ConfValue[]; readonly node: ConfArray }

class ConfParser {
  private readonly source: SourceLines
  /**
   * Keys wait here for their value. As in nats-server, a key whose value never
   * comes (`x { a }`, or `1kbb`, an integer with an unknown suffix) stays and
   * is taken by the next value set in a map: `x { a }` sets `a` to the map.
   */
  private readonly keys: ConfKey[] = []
  private readonly contexts: (MapContext | ArrayContext)[] = []
  private readonly references: VariableReference[] = []
  private readonly notices: ConfigError[] = []
  /**
   * An integer beyond ±(2^53-1), which nats-server takes and natsmesh cannot
   * hold. Reported once the whole file has parsed, so that any fault
   * nats-server would report still comes first and only files nats-server
   * accepts are refused for it.
   */
  private inexactInteger: ConfigError | null = null

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly options: ParseOptions,
    private readonly chain: Chain,
  ) {
    this.source = new SourceLines(file, text)
  }

  parse(): ParsedConfig {
    const parsed = this.parseKeepingInexact()
    if (this.inexactInteger !== null) throw this.inexactInteger
    return parsed
  }

  /** parse(), leaving an inexact integer in this.inexactInteger: an includer reports it once it is done itself. */
  private parseKeepingInexact(): ParsedConfig {
    const rootContext = this.newMap({ file: this.file, line: 1, col: 0 })
    this.contexts.push(rootContext)
    for (const token of lex(this.text)) {
      if (token.type === 'eof') break
      this.processToken(token)
    }
    return { root: rootContext.node, references: this.references, notices: this.notices }
  }

  /** Parses another text (an include, an environment value) on its own, taking over its inexact integer. */
  private parseNested(text: string, file: string, chain: Chain, wrap: (err: ConfigError) => ConfigError): ParsedConfig {
    const nested = new ConfParser(text, file, this.options, chain)
    const parsed = nested.parseKeepingInexact()
    if (nested.inexactInteger !== null) this.inexactInteger ??= wrap(nested.inexactInteger)
    return parsed
  }

  private processToken(token: Token): void {
    const at = this.source.at(token.start, token.end)
    switch (token.type) {
      case 'error':
        throw new ConfigError(`Parse error on line ${at.line}: '${token.text}'`, at)
      case 'key':
        this.keys.push({ name: token.text, isQuoted: token.isQuoted, ...at })
        return
      case 'mapStart':
        this.contexts.push(this.newMap(at))
        return
      case 'arrayStart': {
        const items: ConfValue[] = []
        const node: ConfArray = { kind: 'array', value: items, ...at, key: null, isUsedVariable: false }
        this.contexts.push({ kind: 'array', items, node })
        return
      }
      case 'mapEnd':
      case 'arrayEnd': {
        const done = this.contexts.pop()
        assert(done !== undefined && this.contexts.length > 0, 'every end token follows its start token')
        this.setValue(done.node)
        return
      }
      case 'string':
        this.setValue({ kind: 'string', value: token.text, isQuoted: token.isQuoted, ...at, key: null, isUsedVariable: false })
        return
      case 'bool':
        this.setValue({ kind: 'bool', value: /^(true|yes|on)$/i.test(token.text), ...at, key: null, isUsedVariable: false })
        return
      case 'integer': {
        const value = this.integerValue(token.text, at)
        if (value !== null) this.setValue({ kind: 'int', value, ...at, key: null, isUsedVariable: false })
        return
      }
      case 'float': {
        const value = /^-?[0-9]+\.[0-9]+$/.test(token.text) ? Number(token.text) : NaN
        if (Number.isNaN(value)) throw new ConfigError(`expected float, but got '${token.text}'`, at)
        this.setValue({ kind: 'float', value, ...at, key: null, isUsedVariable: false })
        return
      }
      case 'datetime': {
        const value = parseZuluDatetime(token.text)
        if (value === null) throw new ConfigError(`expected Zulu formatted DateTime, but got '${token.text}'`, at)
        this.setValue({ kind: 'datetime', value, ...at, key: null, isUsedVariable: false })
        return
      }
      case 'variable':
        this.setValue(this.resolveVariable(token.text, at))
        return
      case 'include':
        this.include(token.text, at)
        return
    }
  }

  private newMap(at: ConfPosition): MapContext {
    const entries = new Map<string, ConfValue>()
    return { kind: 'map', entries, node: { kind: 'map', value: entries, ...at, key: null, isUsedVariable: false } }
  }

  private setValue(value: ConfValue): void {
    const context = this.contexts[this.contexts.length - 1]
    if (context.kind === 'array') {
      context.items.push(value)
      return
    }
    const key = this.keys.pop()
    assert(key !== undefined, 'the lexer gives every map member a key first')
    value.key = key
    context.entries.set(key.name, value)
  }

  /** The digits and '-' in front, then a size suffix; null when the suffix is unknown (nats-server then sets nothing). */
  private integerValue(text: string, at: ConfPosition): number | null {
    const digits = /^[-\p{Nd}]*/u.exec(text)?.[0] ?? ''
    if (!/^-?[0-9]+$/.test(digits)) throw new ConfigError(`expected integer, but got '${text}'`, at)
    const number = BigInt(digits)
    if (number > INT64_MAX || number < INT64_MIN) throw new ConfigError(`integer '${text}' is out of the range`, at)
    const multiplier = SIZE_SUFFIXES.get(text.slice(digits.length).trim().toLowerCase())
    if (multiplier === undefined) {
      this.notices.push(ConfigError.at(at, `integer '${text}' has an unknown size suffix: nats-server ignores the value, so natsmesh does too`))
      return null
    }
    const value = number * multiplier
    if ((value > MAX_EXACT || value < -MAX_EXACT) && this.inexactInteger === null) {
      this.inexactInteger = ConfigError.at(at, `integer '${text}' is out of the range natsmesh can hold exactly (±${Number.MAX_SAFE_INTEGER})`)
    }
    return Number(value)
  }

  private resolveVariable(name: string, at: ConfPosition): ConfValue {
    // Unquoted bcrypt hashes (`$2a$11$…`) are passwords, not references (conf/parse.go bcryptPrefix).
    if (name.startsWith('2a$')) {
      this.references.push({ name, source: 'bcrypt', ...at })
      return { kind: 'string', value: `$${name}`, isQuoted: false, ...at, key: null, isUsedVariable: false }
    }
    for (let i = this.contexts.length - 1; i >= 0; i--) {
      const context = this.contexts[i]
      const found = context.kind === 'map' ? context.entries.get(name) : undefined
      if (found !== undefined) {
        found.isUsedVariable = true
        this.references.push({ name, source: 'scope', ...at })
        return { ...found, ...at, key: null, isUsedVariable: false }
      }
    }
    const env = this.options.env ?? process.env
    const raw = env[name]
    if (raw !== undefined) {
      const value = this.parseEnvValue(name, raw, at)
      if (value !== undefined) {
        this.references.push({ name, source: 'env', ...at })
        return relocate(value, at)
      }
    }
    throw new ConfigError(`variable reference for '${name}' on line ${at.line} can not be found`, at)
  }

  private parseEnvValue(name: string, raw: string, at: ConfPosition): ConfValue | undefined {
    const fail = (reason: string, cause?: unknown): ConfigError =>
      new ConfigError(`variable reference for '${name}' on line ${at.line} could not be parsed: ${reason}`, at, { cause })
    // nats-server recurses until its stack overflows on `A=$A`; we stop at the loop.
    if (this.chain.envNames.includes(name)) throw fail(`the environment variable ${name} refers to itself`)
    const chain = { files: this.chain.files, envNames: [...this.chain.envNames, name] }
    try {
      return this.parseNested(`pk=${raw}`, '', chain, (err) => fail(err.message, err)).root.value.get('pk')
    } catch (err) {
      throw fail(messageOf(err), err)
    }
  }

  private include(target: string, at: ConfPosition): void {
    // Go's filepath.Join: an absolute include path is joined to the directory
    // too, and the result is cleaned of a trailing slash.
    const joined = path.join(path.dirname(this.file), target)
    const file = joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined
    let included: ParsedConfig
    try {
      const resolved = path.resolve(file)
      // nats-server recurses until its stack overflows on an include loop; we stop at the loop.
      if (this.chain.files.includes(resolved)) throw new ConfigError(`include loop: ${file} is already being read`, at)
      const text = readConfigText(file, this.options.readFile ?? readUtf8)
      const chain = { files: [...this.chain.files, resolved], envNames: this.chain.envNames }
      included = this.parseNested(text, file, chain, (err) => err)
    } catch (err) {
      throw new ConfigError(`error parsing include file '${target}', ${messageOf(err)}`, at, { cause: err })
    }
    for (const value of included.root.value.values()) {
      if (value.key !== null) this.keys.push(value.key)
      this.setValue(value)
    }
    this.references.push(...included.references)
    this.notices.push(...included.notices)
  }
}

/** An environment value stands where its reference does: all of it, nested values too, takes that position. */
function relocate(value: ConfValue, at: ConfPosition): ConfValue {
  const base = { ...at, key: null, isUsedVariable: false }
  switch (value.kind) {
    case 'map': {
      const entries = new Map<string, ConfValue>()
      for (const [name, member] of value.value) {
        const moved = relocate(member, at)
        moved.key = { name, isQuoted: member.key?.isQuoted ?? false, ...at }
        entries.set(name, moved)
      }
      return { kind: 'map', value: entries, ...base }
    }
    case 'array':
      return { kind: 'array', value: value.value.map((item) => relocate(item, at)), ...base }
    default:
      return { ...value, ...base }
  }
}

/** time.Parse("2006-01-02T15:04:05Z", …): ASCII digits, fields in range, the day within its month. */
function parseZuluDatetime(text: string): Date | null {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/.exec(text)
  if (m === null) return null
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number)
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0)
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return null
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second))
  date.setUTCFullYear(year) // Date.UTC maps years 0-99 to 1900-1999
  return date
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
}

/** Offsets to nats-server's line and column (see ConfPosition). */
class SourceLines {
  private readonly newlines: number[] = []
  /** In an ASCII text a column is an index difference; otherwise bytes are counted from a cursor. */
  private readonly isAscii: boolean
  /**
   * The last column counted: tokens come in order, so counting on from here
   * keeps a long line (a one-line JSON file) linear instead of quadratic.
   */
  private cursorLineStart = -1
  private cursorOffset = 0
  private cursorBytes = 0

  constructor(private readonly file: string, private readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.newlines.push(i)
    this.isAscii = !/[^\x00-\x7f]/.test(text)
  }

  /**
   * The column of `start` on its own line, and the line of `end`: a token
   * spanning lines (a quoted string, a block) is on the line where it ends,
   * as nats-server counts.
   */
  at(start: number, end = start): ConfPosition {
    const startLine = this.newlinesBefore(start)
    const lineStart = startLine === 0 ? 0 : this.newlines[startLine - 1]
    return { file: this.file, line: this.newlinesBefore(end) + 1, col: this.bytesBetween(lineStart, start) }
  }

  private bytesBetween(lineStart: number, offset: number): number {
    if (this.isAscii) return offset - lineStart
    const canCountOn = lineStart === this.cursorLineStart && offset >= this.cursorOffset
    const bytes = canCountOn
      ? this.cursorBytes + Buffer.byteLength(this.text.slice(this.cursorOffset, offset))
      : Buffer.byteLength(this.text.slice(lineStart, offset))
    this.cursorLineStart = lineStart
    this.cursorOffset = offset
    this.cursorBytes = bytes
    return bytes
  }

  private newlinesBefore(offset: number): number {
    let lo = 0
    let hi = this.newlines.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.newlines[mid] < offset) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
