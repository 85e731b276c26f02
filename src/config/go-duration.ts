// Go's time.ParseDuration (go 1.19, the toolchain of Debian's nats-server
// 2.9.10), which nats-server applies to every duration given as a string:
// "300ms", "-1.5h", "2h45m", "1µs". Same units, same overflow limits, same
// error texts. Nanoseconds are counted in BigInt so int64 overflow is caught
// exactly as Go catches it.

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // µ, the micro sign
  ['\u03bcs', 1_000n], // μ, the Greek letter mu
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
])

const LIMIT = 1n << 63n

/** Nanoseconds, or Go's error text (`time: invalid duration "abc"`). */
export type GoDuration = { ns: bigint; error: null } | { ns: null; error: string }

export function parseGoDuration(input: string): GoDuration {
  const invalid = (): GoDuration => ({ ns: null, error: `time: invalid duration ${goTimeQuote(input)}` })
  let s = input
  let isNegative = false
  if (s[0] === '-' || s[0] === '+') {
    isNegative = s[0] === '-'
    s = s.slice(1)
  }
  if (s === '0') return { ns: 0n, error: null }
  if (s === '') return invalid()
  let total = 0n
  while (s !== '') {
    if (!(s[0] === '.' || isAsciiDigit(s[0]))) return invalid()
    // [0-9]*
    let i = 0
    let whole = 0n
    for (; i < s.length && isAsciiDigit(s[i]); i++) {
      if (whole > LIMIT / 10n) return invalid()
      whole = whole * 10n + BigInt(s.charCodeAt(i) - 48)
      if (whole > LIMIT) return invalid()
    }
    const hasWhole = i > 0
    s = s.slice(i)
    // (\.[0-9]*)? Digits past int64 precision are skipped, as Go's leadingFraction does.
    let fraction = 0n
    let scale = 1
    let hasFraction = false
    if (s[0] === '.') {
      s = s.slice(1)
      let overflowed = false
      let j = 0
      for (; j < s.length && isAsciiDigit(s[j]); j++) {
        if (overflowed) continue
        if (fraction > (LIMIT - 1n) / 10n) { overflowed = true; continue }
        const next = fraction * 10n + BigInt(s.charCodeAt(j) - 48)
        if (next > LIMIT) { overflowed = true; continue }
        fraction = next
        scale *= 10
      }
      hasFraction = j > 0
      s = s.slice(j)
    }
    if (!hasWhole && !hasFraction) return invalid()
    // The unit runs to the next '.' or digit.
    let u = 0
    while (u < s.length && s[u] !== '.' && !isAsciiDigit(s[u])) u++
    if (u === 0) return { ns: null, error: `time: missing unit in duration ${goTimeQuote(input)}` }
    const unitName = s.slice(0, u)
    s = s.slice(u)
    const unit = UNITS.get(unitName)
    if (unit === undefined) return { ns: null, error: `time: unknown unit ${goTimeQuote(unitName)} in duration ${goTimeQuote(input)}` }
    if (whole > LIMIT / unit) return invalid()
    let v = whole * unit
    if (fraction > 0n) {
      // Go computes this part in float64 ("to be nanosecond accurate for fractions of hours").
      v += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)))
      if (v > LIMIT) return invalid()
    }
    total += v
    if (total > LIMIT) return invalid()
  }
  if (isNegative) return { ns: -total, error: null }
  if (total > LIMIT - 1n) return invalid()
  return { ns: total, error: null }
}

function isAsciiDigit(c: string): boolean {
  return c >= '0' && c <= '9'
}

/** time's quote(): non-ASCII and control bytes as \xNN, `"` and `\` escaped. */
function goTimeQuote(s: string): string {
  let out = '"'
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0
    if (code >= 0x80 || code < 0x20) {
      for (const byte of Buffer.from(ch, 'utf8')) out += `\\x${byte.toString(16).padStart(2, '0')}`
    } else {
      out += ch === '"' || ch === '\\' ? `\\${ch}` : ch
    }
  }
  return `${out}"`
}
