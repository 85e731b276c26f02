// The subject index. Every behaviour runs twice, with the match cache and
// without it (sublist_test.go's TestX / TestXNoCache pairs), through one
// suite function: a cache bug shows up as a difference between the two runs.
import t, { type Test } from 'tap'
import {
  EMPTY_RESULT, SUBLIST_CACHE_MAX, SUBLIST_CACHE_SWEEP, Sublist, type SublistResult,
} from '../../src/server/sublist.js'
import { matchLiteral } from '../../src/server/subject.js'
import { seededRandom as prng } from '../helpers/seeded-random.js'


/** A stand-in for a client subscription or a peer's interest (the weight makes it the peer kind). */
interface Entry {
  readonly subject: string
  readonly queue: string | null
  readonly id: string
  readonly weight: number
}

let nextId = 0
function entry(subject: string, queue: string | null = null): Entry {
  return { subject, queue, id: `${subject}${queue === null ? '' : ` [${queue}]`} #${nextId++}`, weight: 1 }
}

/** Order-free view of a result: plain ids sorted, queue groups by name with sorted ids. */
function view(r: SublistResult<Entry>): { psubs: string[]; qsubs: Record<string, string[]> } {
  const groups: Record<string, string[]> = {}
  for (const group of r.qsubs) {
    const name = group[0].queue ?? '<null>'
    if (name in groups) throw new Error(`queue group ${name} appears twice in one result`)
    groups[name] = group.map((s) => s.id).sort()
  }
  // Keys in sorted order, so JSON.stringify of two views compares them too.
  const qsubs: Record<string, string[]> = {}
  for (const name of Object.keys(groups).sort()) qsubs[name] = groups[name]
  return { psubs: r.psubs.map((s) => s.id).sort(), qsubs }
}

function has(r: SublistResult<Entry>, e: Entry): boolean {
  return r.psubs.includes(e) || r.qsubs.some((g) => g.includes(e))
}

/** Reference matcher written the obvious way, independent of both implementations. */
function referenceMatch(pattern: string, subject: string): boolean {
  const st = subject.split('.')
  if (st.some((x) => x === '')) return false
  const pt = pattern.split('.')
  for (let i = 0; i < pt.length; i++) {
    if (pt[i] === '>') return st.length > i
    if (i >= st.length) return false
    if (pt[i] !== '*' && pt[i] !== st[i]) return false
  }
  return pt.length === st.length
}


const TRUTH_TABLE: ReadonlyArray<readonly [string, string, boolean]> = [
  ['foo', 'foo', true], ['foo', 'bar', false], ['foo', 'foo.bar', false], ['foo.bar', 'foo', false],
  ['*', 'foo', true], ['*', 'foo.bar', false],
  ['*.bar.baz', 'foo.bar.baz', true], ['foo.*.baz', 'foo.bar.baz', true], ['foo.bar.*', 'foo.bar.baz', true],
  ['foo.*.baz', 'foo.bar.qux', false], ['foo.*', 'foo', false], ['foo.*', 'foo.bar.baz', false],
  ['>', 'foo', true], ['>', 'foo.bar.baz', true],
  ['foo.>', 'foo', false], ['foo.>', 'foo.bar', true], ['foo.>', 'foo.bar.baz', true], ['foo.>', 'bar.baz', false],
  ['*.>', 'foo', false], ['*.>', 'foo.bar', true], ['foo.*.>', 'foo.bar', false], ['foo.*.>', 'foo.bar.baz.qux', true],
  ['foo*', 'foo*', true], ['foo*', 'foox', false], ['foo*.bar', 'foo.bar', false], ['a>b', 'a>b', true], ['a>b', 'a.b', false],
  // Non-pedantic publish subjects with wildcard tokens (oracle): only wildcards match them.
  ['foo.*', 'foo.*', true], ['foo.bar', 'foo.*', false], ['foo.>', 'foo.*', true], ['*.*', 'foo.*', true],
  ['foo', '*', false], ['*', '>', true], ['foo.*.bar', 'foo.>.bar', true], ['foo.*', 'foo.>.bar', false],
  // A publish subject with an empty token matches nothing, not even > (oracle).
  ['>', 'foo..bar', false], ['>', '.foo', false], ['>', 'foo.', false], ['*', '', false], ['foo.>', 'foo..bar', false],
]

function sublistSuite(t: Test, cacheEnabled: boolean): void {
  const make = () => new Sublist<Entry>({ cacheEnabled })
  /** What cacheCount must read: the expected size when caching, always 0 without. */
  const cached = (n: number) => (cacheEnabled ? n : 0)

  t.test('the wildcard truth table holds for match and hasInterest, cold and cached', async (t) => {
    for (const [pattern, subject, expected] of TRUTH_TABLE) {
      const sl = make()
      const e = entry(pattern)
      t.equal(sl.insert(e), true, `insert ${pattern}`)
      const label = `${JSON.stringify(pattern)} vs ${JSON.stringify(subject)}`
      t.equal(has(sl.match(subject), e), expected, label)
      t.equal(has(sl.match(subject), e), expected, `${label} (second match)`)
      t.equal(sl.hasInterest(subject), expected, `${label} hasInterest`)
    }
  })

  t.test('a publish subject with an empty token is never cached', async (t) => {
    const sl = make()
    sl.insert(entry('>'))
    for (const s of ['foo..bar', '.foo', 'foo.', '', '.']) t.equal(sl.match(s), EMPTY_RESULT, JSON.stringify(s))
    t.equal(sl.cacheCount, 0)
  })

  t.test('the trie walk, matchLiteral and a reference matcher agree on random subjects', async (t) => {
    const seed = 20261122
    const random = prng(seed)
    const pick = <X>(xs: readonly X[]): X => xs[Math.floor(random() * xs.length)]
    const subjectOf = (tokens: readonly string[]) => {
      const n = 1 + Math.floor(random() * 4)
      const out: string[] = []
      for (let i = 0; i < n; i++) out.push(pick(tokens))
      return out.join('.')
    }
    const sl = make()
    const entries: Entry[] = []
    for (let i = 0; i < 200; i++) {
      let pattern = subjectOf(['a', 'b', '*', 'a*'])
      if (random() < 0.3) pattern += '.>'
      const e = entry(pattern, random() < 0.3 ? pick(['q', 'r']) : null)
      entries.push(e)
      sl.insert(e)
    }
    let mismatches = 0
    for (let i = 0; i < 500 && mismatches < 5; i++) {
      const subject = subjectOf(['a', 'b', 'c', '*', '>'])
      const r = sl.match(subject)
      for (const e of entries) {
        const expected = referenceMatch(e.subject, subject)
        if (has(r, e) !== expected || matchLiteral(subject, e.subject) !== expected) {
          mismatches++
          t.fail(`seed ${seed}: ${e.subject} vs ${subject}: trie ${has(r, e)}, matchLiteral ${matchLiteral(subject, e.subject)}, reference ${expected}`)
        }
      }
      t.equal(sl.hasInterest(subject), r !== EMPTY_RESULT && (r.psubs.length > 0 || r.qsubs.length > 0), `hasInterest ${subject}`)
    }
    t.equal(mismatches, 0, `seed ${seed}`)
  })

  t.test('queue members are grouped by queue name, apart from plain subscribers', async (t) => {
    const sl = make()
    const plain = entry('foo')
    const q1 = entry('foo', 'q')
    const q2 = entry('foo', 'q')
    const r1 = entry('foo', 'r')
    for (const e of [plain, q1, q2, r1]) sl.insert(e)
    t.same(view(sl.match('foo')), { psubs: [plain.id], qsubs: { q: [q1.id, q2.id].sort(), r: [r1.id] } })
    t.same(view(sl.match('foo')), { psubs: [plain.id], qsubs: { q: [q1.id, q2.id].sort(), r: [r1.id] } })
  })

  t.test('members of one queue name on different matching subjects form one group', async (t) => {
    // oracle: q on foo.* and foo.bar share each message between them, as one group
    const sl = make()
    const wild = entry('foo.*', 'q')
    const literal = entry('foo.bar', 'q')
    const tail = entry('foo.>', 'q')
    const other = entry('foo.baz', 'q')
    for (const e of [wild, literal, tail, other]) sl.insert(e)
    t.same(view(sl.match('foo.bar')), { psubs: [], qsubs: { q: [wild.id, literal.id, tail.id].sort() } })
    // Inserted after the result was cached: the cache must put it in the same group.
    const late = entry('*.bar', 'q')
    sl.insert(late)
    t.same(view(sl.match('foo.bar')), { psubs: [], qsubs: { q: [wild.id, literal.id, tail.id, late.id].sort() } })
  })

  t.test('a queue name on one subject does not group with the same name on another', async (t) => {
    const sl = make()
    const onFoo = entry('foo', 'q')
    const onBar = entry('bar', 'q')
    sl.insert(onFoo)
    sl.insert(onBar)
    t.same(view(sl.match('foo')), { psubs: [], qsubs: { q: [onFoo.id] } })
    t.same(view(sl.match('bar')), { psubs: [], qsubs: { q: [onBar.id] } })
  })

  t.test('removing the last member of a queue group removes the group from results', async (t) => {
    const sl = make()
    const q = entry('foo', 'q')
    const r = entry('foo', 'r')
    sl.insert(q)
    sl.insert(r)
    t.equal(sl.match('foo').qsubs.length, 2)
    t.equal(sl.remove(q), true)
    t.same(view(sl.match('foo')), { psubs: [], qsubs: { r: [r.id] } })
    t.equal(sl.remove(r), true)
    t.equal(sl.match('foo'), EMPTY_RESULT)
  })

  t.test('many entries on one subject are kept apart by identity', async (t) => {
    const sl = make()
    const a = entry('foo')
    const b = entry('foo')
    sl.insert(a)
    sl.insert(b)
    t.same(view(sl.match('foo')).psubs, [a.id, b.id].sort())
    t.equal(sl.remove({ ...a }), false, 'an equal-looking copy is a different entry')
    t.equal(sl.remove(a), true)
    t.same(view(sl.match('foo')).psubs, [b.id])
  })

  t.test('inserting an entry twice changes nothing', async (t) => {
    const sl = make()
    const a = entry('foo')
    const q = entry('foo', 'q')
    sl.insert(a)
    sl.insert(q)
    sl.match('foo')
    const genid = sl.genid
    t.equal(sl.insert(a), true)
    t.equal(sl.insert(q), true)
    t.equal(sl.count, 2)
    t.equal(sl.genid, genid)
    t.same(view(sl.match('foo')), { psubs: [a.id], qsubs: { q: [q.id] } })
  })

  t.test('removing an entry that is not there returns false and changes nothing', async (t) => {
    const sl = make()
    const present = entry('foo.bar', 'q')
    sl.insert(present)
    const genid = sl.genid
    const absent = [
      entry('foo.bar'), entry('foo.bar', 'q'), entry('foo.bar', 'r'), entry('foo'), entry('foo.bar.baz'),
      entry('foo.*'), entry('>'), entry('nothing.here'), entry('foo..bar'), entry(''),
    ]
    for (const e of absent) t.equal(sl.remove(e), false, e.id)
    t.equal(sl.remove(present), true)
    t.equal(sl.remove(present), false, 'a second remove of the same entry')
    t.equal(sl.count, 0)
    t.equal(sl.genid, genid + 1)
  })

  t.test('invalid subjects are rejected and leave nothing behind', async (t) => {
    const sl = make()
    for (const s of ['', '.', 'foo..bar', '.foo', 'foo.', 'foo.>.bar', '>.foo', 'foo.>.>']) {
      t.equal(sl.insert(entry(s)), false, JSON.stringify(s))
      t.equal(sl.insert(entry(s, 'q')), false, `${JSON.stringify(s)} with a queue`)
    }
    t.equal(sl.count, 0)
    t.equal(sl.genid, 0)
    let visited = 0
    sl.forEach(() => { visited++ })
    t.equal(visited, 0)
    t.equal(sl.match('foo.bar'), EMPTY_RESULT)
    t.ok(isEmptyTrie(sl), 'no node was created by a rejected insert')
  })

  t.test('removing every entry prunes the trie back to an empty root', async (t) => {
    const sl = make()
    const entries = ['a.b.c.d', 'a.b.c', 'a.*.c', 'a.>', '*.*', '>', 'a.b.c.d'].map((s, i) => entry(s, i % 2 === 0 ? null : 'q'))
    for (const e of entries) sl.insert(e)
    for (const e of entries.reverse()) {
      t.equal(isEmptyTrie(sl), false)
      sl.remove(e)
    }
    t.ok(isEmptyTrie(sl))
  })

  t.test('genid increments on every insert and remove, and only then', async (t) => {
    const sl = make()
    const a = entry('foo.*')
    t.equal(sl.genid, 0)
    sl.insert(a)
    t.equal(sl.genid, 1)
    sl.insert(entry('foo', 'q'))
    t.equal(sl.genid, 2)
    sl.match('foo.bar')
    sl.hasInterest('foo')
    sl.insert(entry('foo..bar'))
    sl.remove(entry('zzz'))
    t.equal(sl.genid, 2, 'match, hasInterest and failed changes leave it')
    sl.remove(a)
    t.equal(sl.genid, 3)
  })

  t.test('count and forEach see every entry exactly once', async (t) => {
    const sl = make()
    const entries = [
      entry('foo'), entry('foo'), entry('foo', 'q'), entry('foo', 'r'), entry('foo.bar'),
      entry('foo.*'), entry('foo.>'), entry('*'), entry('>', 'q'), entry('a.b.c.d.e'),
    ]
    for (const e of entries) sl.insert(e)
    t.equal(sl.count, entries.length)
    const seen: string[] = []
    sl.forEach((e) => seen.push(e.id))
    t.same(seen.sort(), entries.map((e) => e.id).sort())
    sl.remove(entries[0])
    sl.remove(entries[8])
    t.equal(sl.count, entries.length - 2)
    const after: string[] = []
    sl.forEach((e) => after.push(e.id))
    t.same(after.sort(), entries.filter((_, i) => i !== 0 && i !== 8).map((e) => e.id).sort())
  })

  t.test('a literal insert or remove updates the cached result for its subject only', async (t) => {
    const sl = make()
    const other = entry('bar')
    sl.insert(other)
    t.equal(sl.match('foo'), EMPTY_RESULT)
    sl.match('bar')
    t.equal(sl.cacheCount, cached(2))
    const a = entry('foo')
    sl.insert(a)
    t.same(view(sl.match('foo')).psubs, [a.id])
    t.equal(sl.cacheCount, cached(2), 'the cached result was replaced, not added')
    const q = entry('foo', 'q')
    sl.insert(q)
    t.same(view(sl.match('foo')), { psubs: [a.id], qsubs: { q: [q.id] } })
    sl.remove(a)
    t.equal(sl.cacheCount, cached(1), 'the removed literal dropped its own key')
    t.same(view(sl.match('foo')), { psubs: [], qsubs: { q: [q.id] } })
    t.same(view(sl.match('bar')).psubs, [other.id])
  })

  t.test('a wildcard insert or remove updates every cached subject it matches, and no other', async (t) => {
    const sl = make()
    const anchor = entry('>')
    sl.insert(anchor)
    for (const s of ['foo.bar', 'foo.baz', 'bar.x', 'foo.bar.baz', 'foo.*']) sl.match(s)
    t.equal(sl.cacheCount, cached(5))
    const wild = entry('foo.*')
    sl.insert(wild)
    t.equal(has(sl.match('foo.bar'), wild), true)
    t.equal(has(sl.match('foo.baz'), wild), true)
    t.equal(has(sl.match('foo.*'), wild), true, 'a cached wildcard-token publish subject too')
    t.equal(has(sl.match('bar.x'), wild), false)
    t.equal(has(sl.match('foo.bar.baz'), wild), false)
    const wildQueue = entry('foo.>', 'q')
    sl.insert(wildQueue)
    t.same(view(sl.match('foo.bar.baz')).qsubs, { q: [wildQueue.id] })
    t.equal(sl.cacheCount, cached(5))
    sl.remove(wild)
    t.equal(sl.cacheCount, cached(2), 'foo.bar, foo.baz and foo.* dropped')
    sl.remove(wildQueue)
    t.equal(sl.cacheCount, cached(1), 'only bar.x is left')
    for (const s of ['foo.bar', 'foo.baz', 'foo.bar.baz', 'foo.*', 'bar.x']) {
      t.same(view(sl.match(s)), { psubs: [anchor.id], qsubs: {} }, s)
    }
  })

  t.test('a result handed out earlier is never changed by later inserts or removes', async (t) => {
    const sl = make()
    const a = entry('foo')
    const q = entry('foo', 'q')
    sl.insert(a)
    sl.insert(q)
    const before = sl.match('foo')
    const snapshot = view(before)
    const arrays = [before.psubs, before.qsubs, before.qsubs[0]]
    const lengths = arrays.map((x) => x.length)
    sl.insert(entry('foo'))
    sl.insert(entry('foo', 'q'))
    sl.insert(entry('foo', 'r'))
    sl.insert(entry('*'))
    sl.insert(entry('>', 'q'))
    const after = sl.match('foo')
    t.not(after, before)
    t.equal(after.psubs.length, 3)
    t.same(view(before), snapshot)
    t.same(arrays.map((x) => x.length), lengths)
    sl.remove(a)
    sl.remove(q)
    t.same(view(before), snapshot, 'removes leave it too')
    t.equal(after.psubs.length, 3)

    const fresh = make()
    const empty = fresh.match('nothing')
    fresh.insert(entry('nothing'))
    t.equal(empty, EMPTY_RESULT)
    t.equal(fresh.match('nothing').psubs.length, 1)
    t.equal(EMPTY_RESULT.psubs.length + EMPTY_RESULT.qsubs.length, 0)
    t.ok(Object.isFrozen(EMPTY_RESULT) && Object.isFrozen(EMPTY_RESULT.psubs) && Object.isFrozen(EMPTY_RESULT.qsubs))
  })

  t.test('the cache never holds more than its cap and is cut back oldest first', async (t) => {
    const sl = make()
    const wild = entry('s.*')
    sl.insert(wild)
    let largest = 0
    let afterCut = -1
    for (let i = 0; i < 3 * SUBLIST_CACHE_MAX; i++) {
      sl.match(`s.${i}`)
      largest = Math.max(largest, sl.cacheCount)
      if (i === SUBLIST_CACHE_MAX) afterCut = sl.cacheCount
    }
    t.ok(largest <= SUBLIST_CACHE_MAX, `largest ${largest}`)
    t.equal(afterCut, cached(SUBLIST_CACHE_SWEEP), 'the match that passed the cap cut it back')
    // Results stay right across the cuts, old and new subjects alike.
    t.equal(has(sl.match('s.0'), wild), true)
    t.equal(has(sl.match(`s.${3 * SUBLIST_CACHE_MAX - 1}`), wild), true)
    const late = entry('s.>')
    sl.insert(late)
    t.equal(has(sl.match('s.5'), late), true)
  })

  t.test('the cache is empty once every entry is gone', async (t) => {
    const sl = make()
    const entries = [entry('foo.bar'), entry('foo.*'), entry('foo.>', 'q'), entry('*.z'), entry('x.y', 'q')]
    for (const e of entries) sl.insert(e)
    for (const s of ['foo.bar', 'foo.baz', 'foo.a.b', 'x.y', 'a.z']) sl.match(s)
    // Cached as empty; no later remove matches it, yet it must go too.
    t.equal(sl.match('nobody.home'), EMPTY_RESULT)
    sl.match('foo..bar')
    t.equal(sl.cacheCount, cached(6))
    for (const e of entries) sl.remove(e)
    t.equal(sl.count, 0)
    t.equal(sl.cacheCount, 0)
    t.equal(sl.match('foo.bar'), EMPTY_RESULT)
  })

  t.test('random inserts, removes and matches give the same results as a brute-force match over the live entries', async (t) => {
    // Both runs of this suite compare against referenceMatch applied to every
    // live entry: independent of the trie and of the cache, so a bug shared by
    // the cached and uncached sublist shows up too.
    const seed = 7
    const random = prng(seed)
    const pick = <X>(xs: readonly X[]): X => xs[Math.floor(random() * xs.length)]
    const subjects = ['a', 'b', 'a.b', 'a.c', 'b.c', 'a.*', '*.c', '*', '>', 'a.>', '*.>', 'a.b.c', 'a.*.c']
    const publishes = ['a', 'b', 'a.b', 'a.c', 'b.c', 'a.b.c', 'c.c.c', 'a.*', '*']
    const sl = make()
    const live: Entry[] = []
    /** What a match must return: every live entry whose subject matches, queue entries grouped by queue name. */
    const expected = (s: string): ReturnType<typeof view> => {
      const psubs: string[] = []
      const groups: Record<string, string[]> = {}
      for (const e of live) {
        if (!referenceMatch(e.subject, s)) continue
        if (e.queue === null) psubs.push(e.id)
        else (groups[e.queue] ??= []).push(e.id)
      }
      const qsubs: Record<string, string[]> = {}
      for (const name of Object.keys(groups).sort()) qsubs[name] = groups[name].sort()
      return { psubs: psubs.sort(), qsubs }
    }
    let differences = 0
    let nonEmpty = 0
    for (let step = 0; step < 3000 && differences < 3; step++) {
      const roll = random()
      if (roll < 0.35 || live.length === 0) {
        const e = entry(pick(subjects), random() < 0.3 ? pick(['q', 'r']) : null)
        live.push(e)
        sl.insert(e)
      } else if (roll < 0.6) {
        const e = live.splice(Math.floor(random() * live.length), 1)[0]
        sl.remove(e)
      } else {
        const s = pick(publishes)
        const got = view(sl.match(s))
        const want = expected(s)
        if (want.psubs.length > 0 || Object.keys(want.qsubs).length > 0) nonEmpty++
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          differences++
          t.same(got, want, `seed ${seed} step ${step} match ${s}`)
        }
      }
      if (sl.cacheCount > SUBLIST_CACHE_MAX) t.fail('cache above its cap')
    }
    t.equal(differences, 0, `seed ${seed}`)
    t.ok(nonEmpty > 100, `the comparison covered matches that found something (${nonEmpty})`)
    t.equal(sl.count, live.length)
  })
}

/** White-box: the root level of a sublist has no node left (bracket access reaches the private field). */
function isEmptyTrie(sl: Sublist<Entry>): boolean {
  const root = sl['root']
  return root.nodes.size === 0 && root.pwc === null && root.fwc === null
}

t.test('with the match cache', async (t) => sublistSuite(t, true))
t.test('without the match cache', async (t) => {
  t.equal(new Sublist<Entry>({ cacheEnabled: false }).cacheCount, 0)
  sublistSuite(t, false)
})
t.test('the cache is on by default', async (t) => {
  const sl = new Sublist<Entry>()
  sl.insert(entry('foo'))
  sl.match('foo')
  t.equal(sl.cacheCount, 1)
})
