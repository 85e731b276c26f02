// The subject index under one million subscriptions: insert them all, match
// with a warm cache and with a cold one, remove them all. A figure, not a test:
//
//   npx tsc -p . && node dist/bench/sublist.bench.js
//
// Inputs are fixed (no randomness), so two runs differ only by the machine.
// Subscription i gets the digits a = i % 100, b = i / 100 % 100, c = i / 10000 % 100
// (every (a, b, c) once) and a kind from (a + b + c) % 10, which spreads the kinds
// over the subject space:
//   0-4  bench.a.b.c           plain, literal
//   5-6  bench.a.*.c           plain, `*` (20 entries share each subject)
//   7    bench.a.b.>           plain, `>` (10 entries share each subject)
//   8    bench.a.b.c  queue q<c % 4>
//   9    bench.*.b.c  queue w<a % 2>  (10 entries share each subject)
// A publish to bench.a.b.c then reaches about 30 plain entries and one or two groups.
import v8 from 'node:v8'
import vm from 'node:vm'
import { Sublist, type SubEntry } from '../src/server/sublist.js'

const SUBSCRIPTIONS = 1_000_000
/** Distinct publish subjects in the warm phase: fewer than the cache's cap, so all hit. */
const WARM_SUBJECTS = 500
const WARM_MATCHES = 2_000_000
/** Cold phase: every match is a new subject, so it walks the trie and the cache keeps cutting back. */
const COLD_MATCHES = 300_000

class BenchEntry implements SubEntry {
  constructor(readonly subject: string, readonly queue: string | null) {}
}

function buildEntries(): BenchEntry[] {
  const entries = new Array<BenchEntry>(SUBSCRIPTIONS)
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    const a = i % 100
    const b = Math.floor(i / 100) % 100
    const c = Math.floor(i / 10_000) % 100
    const kind = (a + b + c) % 10
    if (kind <= 4) entries[i] = new BenchEntry(`bench.${a}.${b}.${c}`, null)
    else if (kind <= 6) entries[i] = new BenchEntry(`bench.${a}.*.${c}`, null)
    else if (kind === 7) entries[i] = new BenchEntry(`bench.${a}.${b}.>`, null)
    else if (kind === 8) entries[i] = new BenchEntry(`bench.${a}.${b}.${c}`, `q${c % 4}`)
    else entries[i] = new BenchEntry(`bench.*.${b}.${c}`, `w${a % 2}`)
  }
  return entries
}

/** Publish subject number n, spread over all three digits. */
function publishSubject(n: number): string {
  return `bench.${n % 100}.${Math.floor(n / 7) % 100}.${Math.floor(n / 13) % 100}`
}

// heapUsed is only comparable right after a full collection. The run command
// has no --expose-gc, so turn the flag on here and fetch gc from a fresh context.
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

function heapUsedMiB(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed / 1_048_576
}

function report(phase: string, ops: number, startNs: bigint, extra = ''): void {
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9
  const rate = ops / seconds
  console.log(`${phase.padEnd(34)} ${ops.toLocaleString('en-US').padStart(10)} ops  ${seconds.toFixed(3).padStart(7)} s  ${(rate / 1e6).toFixed(3).padStart(7)} M ops/s${extra}`)
}

function main(): void {
  console.log(`sublist.bench: Node ${process.version}, ${SUBSCRIPTIONS.toLocaleString('en-US')} subscriptions`)
  const heapStart = heapUsedMiB()
  const entries = buildEntries()
  const heapEntries = heapUsedMiB()
  const sublist = new Sublist<BenchEntry>()

  let start = process.hrtime.bigint()
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    if (!sublist.insert(entries[i])) throw new Error(`rejected ${entries[i].subject}`)
  }
  report('insert', SUBSCRIPTIONS, start)
  const heapInserted = heapUsedMiB()

  const warm: string[] = []
  for (let n = 0; n < WARM_SUBJECTS; n++) warm.push(publishSubject(n))
  // Fan-out is summed so the matches cannot be optimised away, and printed as a check.
  let fanout = 0
  start = process.hrtime.bigint()
  for (let i = 0; i < WARM_MATCHES; i++) {
    const r = sublist.match(warm[i % WARM_SUBJECTS])
    fanout += r.psubs.length + r.qsubs.length
  }
  report('match, cache hits', WARM_MATCHES, start, `  avg fan-out ${(fanout / WARM_MATCHES).toFixed(1)}`)

  const cold: string[] = []
  for (let n = 0; n < COLD_MATCHES; n++) cold.push(`bench.${n % 100}.${Math.floor(n / 100) % 100}.${Math.floor(n / 10_000) % 100}`)
  fanout = 0
  start = process.hrtime.bigint()
  for (let i = 0; i < COLD_MATCHES; i++) {
    const r = sublist.match(cold[i])
    fanout += r.psubs.length + r.qsubs.length
  }
  report('match, cache misses', COLD_MATCHES, start, `  avg fan-out ${(fanout / COLD_MATCHES).toFixed(1)}`)

  const uncached = new Sublist<BenchEntry>({ cacheEnabled: false })
  for (let i = 0; i < SUBSCRIPTIONS; i++) uncached.insert(entries[i])
  start = process.hrtime.bigint()
  for (let i = 0; i < COLD_MATCHES; i++) uncached.match(warm[i % WARM_SUBJECTS])
  report('match, cache disabled', COLD_MATCHES, start, '  (same subjects as the hits)')
  for (let i = 0; i < SUBSCRIPTIONS; i++) uncached.remove(entries[i])

  // Fill the cache again so removal pays for keeping it exact, as it would in a live server.
  for (let n = 0; n < WARM_SUBJECTS; n++) sublist.match(warm[n])
  start = process.hrtime.bigint()
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    if (!sublist.remove(entries[i])) throw new Error(`not found ${entries[i].subject}`)
  }
  report('remove (cache warm)', SUBSCRIPTIONS, start)
  const heapRemoved = heapUsedMiB()

  const perSub = ((heapInserted - heapEntries) * 1_048_576) / SUBSCRIPTIONS
  console.log(`heapUsed MiB: start ${heapStart.toFixed(1)}, entries built ${heapEntries.toFixed(1)}, ` +
    `all inserted ${heapInserted.toFixed(1)}, all removed ${heapRemoved.toFixed(1)}`)
  // Reading entries here keeps them alive through the last heap figure, so
  // "left after removing all" measures the sublist, not the entries' collection.
  console.log(`sublist cost ${perSub.toFixed(0)} bytes per subscription; ` +
    `left after removing all ${entries.length.toLocaleString('en-US')}: ${(heapRemoved - heapEntries).toFixed(1)} MiB; ` +
    `count ${sublist.count}, cache ${sublist.cacheCount}`)
}

main()
