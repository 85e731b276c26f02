// Random config files, 120 a run, to natsmesh's reader and to `nats-server -t`:
// the same verdict and message for each. Half are assembled from grammar
// pieces (keys, separators, values, terminators, blocks, arrays), half are
// short strings of the characters the lexer cares about, which reach its
// corners (a lone `/`, a quote at the end of the file, keys made of brackets).
// Seeded: a failure prints FUZZ_SEED to replay it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { checkConfigFile, type Verdict } from '../helpers/conf-check.js'
import { natsServerCheck } from '../helpers/nats-server-config.js'
import { seededRandom } from '../helpers/seeded-random.js'

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
const FILES = 120

const KEYS = ['port', 'server_name', 'debug', 'max_payload', 'ping_interval', 'foo', 'X', '"port"', "'server_name'", 'include']
const SEPARATORS = [' = ', ': ', ' ', '=', ':', ' :', '\t', '\n', ' =\n']
const TERMINATORS = ['\n', ';', ',', ' # c\n', ' // c\n', '\r\n', '\n\n', ' ', '}', '']
const SCALARS = [
  '4222', '-1', '1k', '2MB', '1kib', '1kbb', '1.5', '1.5s', '127.0.0.1:4222', '2006-01-02T15:04:05Z', '2006-01-02',
  '"str"', "'raw'", 'bare', 'yes', 'OFF', '$X', '$NOPE', '"$X"', '"a\\tb"', '"a\\qb"', '"\\x41"', '3secret', '2s', '"30s"',
  'a\\tb', "it'", '(\nblock\n)', '(\nx\n', '"unterminated', '.5', '-', '[', '{', ']', '}', '#', '//x', '/', '$2a$10$abc',
  '"1MB"', '0x10', '12-3', '1.2.3.4abc', '"x\ny"',
]
const CHARACTERS = [
  ...'ap1 2k.b-:={}[]()"\'\\#/$,;\n\t\rxTZé', ' ', '\n', 'a', 'port', 'include ', '"x\ny"', '(\n', '\n)\n', 'port: ',
  'authorization {', '2006-01-02T15:04:05Z', '$X', '1kb', '1.5',
]

function piecesFile(next: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]
  const value = (depth: number): string => {
    const r = next()
    if (depth < 2 && r < 0.15) return `{ ${members(depth + 1, 3)} }`
    if (depth < 2 && r < 0.3) {
      const items = Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1) + pick([', ', ',', '\n', ' ', ' ,']))
      return `[${items.join('')}${pick([']', ' ]', '\n]', ''])}`
    }
    return pick(SCALARS)
  }
  const members = (depth: number, max: number): string => {
    let text = ''
    for (let i = 1 + Math.floor(next() * max); i > 0; i--) {
      const key = pick(KEYS)
      text += key === 'include'
        ? `include ${pick(['inc.conf', '"inc.conf"', 'nope.conf', '[x]'])}${pick(TERMINATORS)}`
        : key + pick(SEPARATORS) + value(depth) + pick(TERMINATORS)
    }
    return text
  }
  return (next() < 0.1 ? '{\n' : '') + members(0, 5)
}

function charactersFile(next: () => number): string {
  return Array.from({ length: 1 + Math.floor(next() * 25) }, () => CHARACTERS[Math.floor(next() * CHARACTERS.length)]).join('')
}

/**
 * Cases left out of the comparison, on purpose: integers beyond ±(2^53-1),
 * which natsmesh refuses at parse time and nats-server takes (or wraps); and
 * a wrong type inside authorization, where nats-server adds a nil-pointer
 * panic that the test stand-in for the option layer does not imitate.
 */
function isExcluded(ours: Verdict, oracleLines: string[]): boolean {
  return ours.lines.some((line) => line.includes('natsmesh can hold exactly')) || oracleLines.some((line) => line.includes('nil pointer'))
}

t.test(`random files get the same verdict and message from natsmesh and nats-server (FUZZ_SEED=${SEED})`, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-conf-fuzz-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(path.join(dir, 'inc.conf'), 'max_payload: 1kb\nX = 5\n')
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', X: '7' }
  const next = seededRandom(SEED)
  const texts = Array.from({ length: FILES }, (_, i) => (i % 2 === 0 ? piecesFile(next) : charactersFile(next)))
  let compared = 0
  for (let i = 0; i < FILES; i += 4) {
    await Promise.all(texts.slice(i, i + 4).map(async (text, j) => {
      const file = path.join(dir, `f${i + j}.conf`)
      await writeFile(file, text)
      const oracle = await natsServerCheck(file, env)
      const ours = checkConfigFile(file, { env })
      if (isExcluded(ours, oracle.lines)) return
      compared++
      // nats-server prints a message holding a newline (a path with one) on two lines.
      const ourLines = ours.lines.flatMap((line) => line.split('\n')).filter((line) => line !== '')
      t.same({ isValid: ours.isValid, lines: ourLines.sort() }, { isValid: oracle.isValid, lines: [...oracle.lines].sort() }, JSON.stringify(text))
    }))
  }
  t.ok(compared > FILES * 0.9, `${compared} of ${FILES} files compared`)
})
