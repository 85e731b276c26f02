// The mesh's answer to "which peers want this subject" (ClusterInterest). Every
// case runs with the per-subject cache and without it, and a random history of
// RS+/RS-, weight changes and peers coming and going is checked against an
// oracle written the obvious way: a cache that is not exact shows up as a
// difference.
import t, { type Test } from 'tap'
import { ClusterInterest, PeerInterest, type InterestPeer } from '../../src/cluster/interest.js'
import type { ClusterResult, Reader } from '../../src/server/cluster-seam.js'
import type { PubArg } from '../../src/server/op-handler.js'
import { SUBLIST_CACHE_MAX, SUBLIST_CACHE_SWEEP } from '../../src/server/sublist.js'
import { seededRandom } from '../helpers/seeded-random.js'


class FakePeer implements InterestPeer {
  readonly interest = new PeerInterest()
  constructor(readonly name: string) {}
  sendMsg(_pa: PubArg, _payload: Buffer, _start: number, _queues: readonly Buffer[], _count: number, _publisher: Reader): void {}
}

/** Order-free view: plain peers by name, each queue group's peers and weights. */
function view(r: ClusterResult): { plain: string[]; queues: Record<string, string[]> } {
  const plain = r.plain.map((p) => (p as FakePeer).name).sort()
  const queues: Record<string, string[]> = {}
  for (const q of [...r.queues].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    queues[q.name] = q.targets.map((p, i) => `${(p as FakePeer).name}=${q.weights[i]}`).sort()
    const sum = q.weights.reduce((a, b) => a + b, 0)
    if (sum !== q.totalWeight) throw new Error(`queue ${q.name}: totalWeight ${q.totalWeight}, weights sum to ${sum}`)
  }
  return { plain, queues }
}

function matches(pattern: string, subject: string): boolean {
  const st = subject.split('.')
  const pt = pattern.split('.')
  for (let i = 0; i < pt.length; i++) {
    if (pt[i] === '>') return st.length > i
    if (i >= st.length) return false
    if (pt[i] !== '*' && pt[i] !== st[i]) return false
  }
  return pt.length === st.length
}

/** The oracle: every registered peer's interest, matched one by one. */
function oracle(peers: readonly FakePeer[], subject: string): ReturnType<typeof view> {
  const plain: string[] = []
  const weights = new Map<string, Map<string, number>>()
  for (const peer of peers) {
    let isPlain = false
    peer.interest.forEach((sub) => {
      if (!matches(sub.subject, subject)) return
      if (sub.queue === null) { isPlain = true; return }
      const group = weights.get(sub.queue) ?? new Map<string, number>()
      group.set(peer.name, (group.get(peer.name) ?? 0) + sub.weight)
      weights.set(sub.queue, group)
    })
    if (isPlain) plain.push(peer.name)
  }
  const queues: Record<string, string[]> = {}
  for (const name of [...weights.keys()].sort()) {
    queues[name] = [...(weights.get(name) ?? new Map<string, number>())].map(([p, w]) => `${p}=${w}`).sort()
  }
  return { plain: plain.sort(), queues }
}

function suite(t: Test, cacheEnabled: boolean): void {
  t.test('a peer\'s plain and queue interest, and each peer\'s weight, make up the answer', async (t) => {
    const ci = new ClusterInterest({ cacheEnabled })
    const [a, b] = [new FakePeer('a'), new FakePeer('b')]
    ci.addPeer(a)
    ci.addPeer(b)
    a.interest.add('orders.*', null, 1)
    ci.subjectChanged('orders.*')
    b.interest.add('orders.new', 'workers', 3)
    ci.subjectChanged('orders.new')
    a.interest.add('orders.>', 'workers', 1)
    ci.subjectChanged('orders.>')
    t.same(view(ci.match('orders.new')), { plain: ['a'], queues: { workers: ['a=1', 'b=3'] } })
    t.same(view(ci.match('orders.new.eu')), { plain: [], queues: { workers: ['a=1'] } })
    t.same(view(ci.match('invoices')), { plain: [], queues: {} })
  })

  t.test('an RS+ weight change, an RS- and a peer leaving show in the next match', async (t) => {
    const ci = new ClusterInterest({ cacheEnabled })
    const [a, b] = [new FakePeer('a'), new FakePeer('b')]
    ci.addPeer(a)
    ci.addPeer(b)
    a.interest.add('jobs', 'q', 1)
    ci.subjectChanged('jobs')
    b.interest.add('jobs', null, 1)
    ci.subjectChanged('jobs')
    t.same(view(ci.match('jobs')), { plain: ['b'], queues: { q: ['a=1'] } })
    a.interest.add('jobs', 'q', 5)
    ci.subjectChanged('jobs')
    t.same(view(ci.match('jobs')), { plain: ['b'], queues: { q: ['a=5'] } }, 'the new weight')
    b.interest.remove('jobs', null)
    ci.subjectChanged('jobs')
    t.same(view(ci.match('jobs')), { plain: [], queues: { q: ['a=5'] } }, 'the plain interest went')
    ci.removePeer(a)
    t.same(view(ci.match('jobs')), { plain: [], queues: {} }, 'the peer went')
  })

  t.test('a wildcard RS+ reaches every cached subject it matches, and only those', async (t) => {
    const ci = new ClusterInterest({ cacheEnabled })
    const a = new FakePeer('a')
    ci.addPeer(a)
    for (const s of ['x.1', 'x.2', 'y.1']) t.same(view(ci.match(s)), { plain: [], queues: {} })
    a.interest.add('x.*', null, 1)
    ci.subjectChanged('x.*')
    t.same(view(ci.match('x.1')).plain, ['a'])
    t.same(view(ci.match('x.2')).plain, ['a'])
    t.same(view(ci.match('y.1')).plain, [])
    if (cacheEnabled) t.equal(ci.cacheCount, 3, 'the untouched subject stayed cached; the two matched were rebuilt')
    else t.equal(ci.cacheCount, 0, 'nothing cached without the cache')
  })

  t.test('a random history of deltas and peers always answers as the oracle', async (t) => {
    const seed = 0x5eed + (cacheEnabled ? 1 : 0)
    t.comment(`seed ${seed}`)
    const random = seededRandom(seed)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]
    const tokens = ['a', 'b', 'c']
    const literal = (): string => Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(tokens)).join('.')
    const pattern = (): string => literal().split('.').map((tok, i, all) =>
      random() < 0.2 ? '*' : i === all.length - 1 && random() < 0.15 ? '>' : tok).join('.')
    const peers = [new FakePeer('p0'), new FakePeer('p1'), new FakePeer('p2')]
    const registered = new Set<FakePeer>()
    const ci = new ClusterInterest({ cacheEnabled })
    let checks = 0
    for (let step = 0; step < 3000; step++) {
      const peer = pick(peers)
      const r = random()
      if (r < 0.05) {
        if (registered.has(peer)) { registered.delete(peer); ci.removePeer(peer) } else { registered.add(peer); ci.addPeer(peer) }
      } else if (r < 0.45) {
        const s = pattern()
        const queue = random() < 0.4 ? pick(['q1', 'q2']) : null
        if (peer.interest.add(s, queue, queue === null ? 1 : 1 + Math.floor(random() * 4)) && registered.has(peer)) ci.subjectChanged(s)
      } else if (r < 0.65) {
        const known: Array<{ subject: string; queue: string | null }> = []
        peer.interest.forEach((sub) => known.push({ subject: sub.subject, queue: sub.queue }))
        if (known.length === 0) continue
        const sub = pick(known)
        if (peer.interest.remove(sub.subject, sub.queue) && registered.has(peer)) ci.subjectChanged(sub.subject)
      } else {
        const s = literal()
        const want = oracle(peers.filter((p) => registered.has(p)), s)
        const got = view(ci.match(s))
        checks++
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          t.same(got, want, `step ${step}: match(${s})`)
          return
        }
      }
    }
    t.ok(checks > 500, `${checks} matches agreed with the oracle`)
  })

  t.test('the cache stays bounded and gives way oldest first', async (t) => {
    const ci = new ClusterInterest({ cacheEnabled })
    const a = new FakePeer('a')
    ci.addPeer(a)
    a.interest.add('s.*', null, 1)
    ci.subjectChanged('s.*')
    for (let i = 0; i <= SUBLIST_CACHE_MAX; i++) ci.match(`s.${i}`)
    t.ok(ci.cacheCount <= SUBLIST_CACHE_MAX, `${ci.cacheCount} cached`)
    if (cacheEnabled) t.equal(ci.cacheCount, SUBLIST_CACHE_SWEEP, 'cut back to the sweep size')
    t.same(view(ci.match('s.0')).plain, ['a'], 'an evicted subject is matched afresh')
  })
}

t.test('with the match cache', async (t) => suite(t, true))
t.test('without the match cache', async (t) => suite(t, false))
