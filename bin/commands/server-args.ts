// `natsmesh server …` without yargs. Importing yargs costs ~0.2 s of a ~0.37 s
// start here (string-width builds ICU segmenters when it loads), and a node is
// ready that much sooner without it. This reads only argument lists it fully
// understands: flags from the option tables, -c/--config, -t and --check, in the
// plain forms (`--flag value`, `--flag=value`, `-p value`, `--flag`,
// `--no-flag`, `-DV`). Anything else returns null and goes through yargs,
// which owns help, errors and every other form. test/cli/server-args.test.ts
// checks both paths give the same result.
import { CLUSTER_OPTION_SPECS } from '../../src/cluster/options.js'
import { SERVER_OPTION_SPECS } from '../../src/server/options.js'

interface FlagShape { flag: string; alias: string | null; isBoolean: boolean }

const FLAGS: readonly FlagShape[] = [
  ...[...SERVER_OPTION_SPECS, ...CLUSTER_OPTION_SPECS].map((s) => ({ flag: s.flag, alias: s.alias, isBoolean: s.kind === 'boolean' })),
  { flag: 'config', alias: 'c', isBoolean: false },
  { flag: 'test', alias: 't', isBoolean: true },
  { flag: 'check', alias: null, isBoolean: true },
]
const BY_FLAG = new Map(FLAGS.map((f) => [f.flag, f]))
const BY_ALIAS = new Map(FLAGS.filter((f) => f.alias !== null).map((f) => [f.alias ?? '', f]))

/** Flag name → value, as the yargs handler would see it; null when yargs must decide. */
export function parseServerArgs(args: readonly string[]): Record<string, string | boolean> | null {
  if (args[0] !== 'server') return null
  const out: Record<string, string | boolean> = {}
  const set = (f: FlagShape, value: string | boolean): boolean => {
    if (f.flag in out) return false // repeated: yargs makes an array
    out[f.flag] = value
    return true
  }
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]
    const next = args[i + 1]
    const takesValue = (f: FlagShape): boolean => !f.isBoolean && next !== undefined && !next.startsWith('-')
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
      if (eq < 0 && name.startsWith('no-') && BY_FLAG.get(name.slice(3))?.isBoolean === true) {
        if (!set(BY_FLAG.get(name.slice(3)) as FlagShape, false)) return null
        continue
      }
      const f = BY_FLAG.get(name)
      if (f === undefined) return null
      if (eq >= 0) {
        const value = arg.slice(eq + 1)
        if (f.isBoolean && value !== 'true' && value !== 'false') return null
        if (!set(f, f.isBoolean ? value === 'true' : value)) return null
      } else if (f.isBoolean) {
        if (next === 'true' || next === 'false') return null
        if (!set(f, true)) return null
      } else {
        if (!takesValue(f) || !set(f, next as string)) return null
        i++
      }
    } else if (arg.startsWith('-') && arg.length >= 2 && !arg.includes('=')) {
      const letters = arg.slice(1)
      const first = BY_ALIAS.get(letters)
      if (first !== undefined && !first.isBoolean) {
        if (!takesValue(first) || !set(first, next as string)) return null
        i++
        continue
      }
      // One or more boolean short flags: -D, -V, -DV.
      for (const letter of letters) {
        const f = BY_ALIAS.get(letter)
        if (f === undefined || !f.isBoolean || !set(f, true)) return null
      }
    } else {
      return null
    }
  }
  return out
}
