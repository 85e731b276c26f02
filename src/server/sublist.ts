// The subject index: which entries want a published subject. A port of
// nats-server's server/sublist.go (v2.9.10) without its locks, notification
// maps and background sweep (single-threaded Node needs none of them).
//
// The trie, for entries on `foo.bar`, `foo.*`, `foo.>` and `>` (queue q):
//
//   root Level ── nodes{"foo"} ── SubNode ── next Level ── nodes{"bar"} ── SubNode{psubs}
//            │                                        ├─ pwc ── SubNode{psubs}   (foo.*)
//            │                                        └─ fwc ── SubNode{psubs}   (foo.>)
//            └─ fwc ── SubNode{qsubs{"q": Set}}                                  (>)
//
// `*` and `>` live in their own slots, never in `nodes`, so a publish token
// `*` (allowed without pedantic mode) looks up nodes["*"], finds nothing and
// is matched by wildcards only, as nats-server does [PUB-2 in subject.ts].
// A `>` node never has a `next` level: `>` is always the last token.
//
// Entries are compared by identity: the same subject may have many entries
// (one per SUB, one per peer), each a member of its node's Set.
//
// Not here: route queue weights. nats-server's addNodeToResults repeats a
// remote queue entry `qw` times; natsmesh keeps one entry per peer and the
// delivery core picks by weight (DESIGN.md, "Queue groups").
import { isLiteral, matchLiteral } from './subject.js'

export interface SubEntry {
  readonly subject: string
  readonly queue: string | null
}

export interface SublistResult<T> {
  readonly psubs: readonly T[]
  /** One array per queue group name; members from every matching subject. */
  readonly qsubs: readonly (readonly T[])[]
}

class MatchResult<T> implements SublistResult<T> {
  constructor(readonly psubs: readonly T[], readonly qsubs: readonly (readonly T[])[]) {}
}

/** The one result for "no interest". Shared and frozen. */
export const EMPTY_RESULT: SublistResult<never> = Object.freeze(
  new MatchResult<never>(Object.freeze([]), Object.freeze([])),
)

/** sublist.go slCacheMax: above this many cached subjects the cache is cut back. */
export const SUBLIST_CACHE_MAX = 1024
/** What the cache is cut back to, oldest entries first (sublist.go drains to 512 in a goroutine). */
export const SUBLIST_CACHE_SWEEP = 256

const DOT = 0x2e // '.'
const STAR = 0x2a // '*'
const GT = 0x3e // '>'

class SubNode<T> {
  next: Level<T> | null = null
  readonly psubs = new Set<T>()
  /** Queue name -> members; null until the first queue entry, and again once the last leaves. */
  qsubs: Map<string, Set<T>> | null = null
}

class Level<T> {
  readonly nodes = new Map<string, SubNode<T>>()
  pwc: SubNode<T> | null = null
  fwc: SubNode<T> | null = null
}

export class Sublist<T extends SubEntry> {
  private readonly root = new Level<T>()
  /** Literal publish subject -> result; null when caching is off. */
  private readonly cache: SubjectCache<SublistResult<T>> | null
  private entryCount = 0
  private generation = 0
  /** Reused by every call: only the first tokenize() slots are valid (no array per call). */
  private readonly tokens: string[] = []
  /** The walk down to the node being removed, reused so remove can prune bottom-up. */
  private readonly pathLevels: (Level<T> | null)[] = []
  private readonly pathNodes: (SubNode<T> | null)[] = []

  constructor(options: { cacheEnabled?: boolean } = {}) {
    this.cache = options.cacheEnabled === false ? null : new SubjectCache()
  }

  get count(): number { return this.entryCount }
  /** Bumped on every change; anything derived from the sublist stores it and rebuilds on mismatch. */
  get genid(): number { return this.generation }
  get cacheCount(): number { return this.cache === null ? 0 : this.cache.size }

  /**
   * Adds an entry. False when its subject is invalid (the caller answers
   * 'Invalid Subject'). Inserting an entry that is already there changes nothing.
   */
  insert(sub: T): boolean {
    const tokenCount = this.tokenize(sub.subject)
    if (tokenCount < 0) return false
    const tokens = this.tokens
    // Validate before creating any node: sublist.go checks while it descends
    // and leaves the nodes made so far behind on `foo.>.x`.
    for (let i = 0; i < tokenCount - 1; i++) {
      if (isFullWildcard(tokens[i])) return false
    }
    let level = this.root
    let node: SubNode<T> | null = null
    for (let i = 0; i < tokenCount; i++) {
      if (node !== null) {
        if (node.next === null) node.next = new Level()
        level = node.next
      }
      node = childOf(level, tokens[i], true)
    }
    // tokenCount >= 1, so the loop set node.
    const target = node as SubNode<T>
    if (sub.queue === null) {
      if (target.psubs.has(sub)) return true
      target.psubs.add(sub)
    } else {
      if (target.qsubs === null) target.qsubs = new Map()
      let members = target.qsubs.get(sub.queue)
      if (members === undefined) {
        members = new Set()
        target.qsubs.set(sub.queue, members)
      } else if (members.has(sub)) {
        return true
      }
      members.add(sub)
    }
    this.entryCount++
    this.generation++
    if (this.cache !== null) this.addToCache(this.cache, sub)
    return true
  }

  /** Removes an entry; false when it was not there (or its subject cannot exist here). */
  remove(sub: T): boolean {
    const tokenCount = this.tokenize(sub.subject)
    if (tokenCount < 0) return false
    const tokens = this.tokens
    const pathLevels = this.pathLevels
    const pathNodes = this.pathNodes
    let level: Level<T> | null = this.root
    let node: SubNode<T> | null = null
    for (let i = 0; i < tokenCount; i++) {
      node = level === null ? null : childOf(level, tokens[i], false)
      if (node === null) {
        clearPath(pathLevels, pathNodes, i)
        return false
      }
      pathLevels[i] = level
      pathNodes[i] = node
      level = node.next
    }
    if (node === null || !removeFromNode(node, sub)) {
      clearPath(pathLevels, pathNodes, tokenCount)
      return false
    }
    // Prune bottom-up so memory returns once a subject's last entry goes.
    for (let i = tokenCount - 1; i >= 0; i--) {
      const n = pathNodes[i] as SubNode<T>
      if (n.next !== null && isEmptyLevel(n.next)) n.next = null
      if (n.next !== null || n.psubs.size > 0 || n.qsubs !== null) break
      pruneNode(pathLevels[i] as Level<T>, n, tokens[i])
    }
    clearPath(pathLevels, pathNodes, tokenCount)
    this.entryCount--
    this.generation++
    if (this.cache !== null) {
      // With no entries left every cached result is empty, including those
      // for subjects that never had interest: give their memory back.
      if (this.entryCount === 0) this.cache.clear()
      else this.cache.invalidate(sub.subject)
    }
    return true
  }

  /**
   * Everything interested in a publish subject. The result may be shared
   * with the cache and with earlier callers: never mutate it.
   */
  match(subject: string): SublistResult<T> {
    const cache = this.cache
    if (cache !== null) {
      const cached = cache.get(subject)
      if (cached !== undefined) return cached
    }
    const tokenCount = this.tokenize(subject)
    // Empty tokens match nothing [PUB-2] and are not cached (sublist.go returns early too).
    if (tokenCount < 0) return EMPTY_RESULT
    const psubs: T[] = []
    const qsubs: T[][] = []
    matchLevel(this.root, this.tokens, 0, tokenCount, psubs, qsubs)
    const result: SublistResult<T> = psubs.length === 0 && qsubs.length === 0
      ? EMPTY_RESULT
      : new MatchResult(psubs, qsubs)
    if (cache !== null) cache.set(subject, result)
    return result
  }

  /** Whether any entry matches; does not build or cache a result. */
  hasInterest(subject: string): boolean {
    if (this.cache !== null) {
      const cached = this.cache.get(subject)
      if (cached !== undefined) return cached !== EMPTY_RESULT
    }
    const tokenCount = this.tokenize(subject)
    if (tokenCount < 0) return false
    return hasInterestLevel(this.root, this.tokens, 0, tokenCount)
  }

  /** Every entry, psubs before qsubs per node (used to dump interest to a new peer). */
  forEach(fn: (sub: T) => void): void {
    visitLevel(this.root, fn)
  }

  /**
   * Splits `subject` at '.' into this.tokens. Returns the token count, or -1
   * when a token is empty (an empty subject is one empty token).
   */
  private tokenize(subject: string): number {
    const tokens = this.tokens
    const length = subject.length
    let count = 0
    let start = 0
    for (let i = 0; i < length; i++) {
      if (subject.charCodeAt(i) !== DOT) continue
      if (i === start) return -1
      tokens[count++] = subject.substring(start, i)
      start = i + 1
    }
    if (start >= length) return -1
    tokens[count++] = start === 0 ? subject : subject.substring(start)
    return count
  }

  /** sublist.go addToCache: copy-and-add into every cached result the new entry belongs to. */
  private addToCache(cache: SubjectCache<SublistResult<T>>, sub: T): void {
    cache.update(sub.subject, (cached) => addSubToResult(cached, sub))
  }
}

/**
 * A bounded cache of match results keyed by literal publish subject, kept
 * exact by its owner: every change of interest in a subject (a literal or a
 * wildcard) updates or drops exactly the cached keys that subject matches
 * (sublist.go addToCache, removeFromCache, reduceCacheCount). Used by the
 * Sublist and by the cluster's per-subject match of peer interest. Cached
 * results are never changed in place: deliveries in progress may hold them.
 */
export class SubjectCache<R> {
  /** Insertion order is age. */
  private readonly entries = new Map<string, R>()

  get size(): number { return this.entries.size }

  get(subject: string): R | undefined {
    return this.entries.get(subject)
  }

  /** Above SUBLIST_CACHE_MAX entries, cut back to SUBLIST_CACHE_SWEEP at once, oldest first. */
  set(subject: string, result: R): void {
    const entries = this.entries
    entries.set(subject, result)
    if (entries.size <= SUBLIST_CACHE_MAX) return
    for (const key of entries.keys()) {
      if (entries.size <= SUBLIST_CACHE_SWEEP) return
      entries.delete(key)
    }
  }

  /** Replaces the result of every cached key `pattern` matches with change(old result). */
  update(pattern: string, change: (cached: R) => R): void {
    const entries = this.entries
    if (isLiteral(pattern)) {
      const cached = entries.get(pattern)
      if (cached !== undefined) entries.set(pattern, change(cached))
      return
    }
    // Replacing the value of an existing key during iteration keeps the
    // key's age and visits each key once.
    for (const [key, cached] of entries) {
      if (matchLiteral(key, pattern)) entries.set(key, change(cached))
    }
  }

  /** Drops every cached key `pattern` matches. */
  invalidate(pattern: string): void {
    const entries = this.entries
    if (isLiteral(pattern)) {
      entries.delete(pattern)
      return
    }
    // Deleting the current key during Map iteration is safe in JavaScript.
    for (const key of entries.keys()) {
      if (matchLiteral(key, pattern)) entries.delete(key)
    }
  }

  clear(): void {
    this.entries.clear()
  }
}

function isFullWildcard(token: string): boolean {
  return token.length === 1 && token.charCodeAt(0) === GT
}

/** The node for `token` in `level`; created when `create`, else null when absent. */
function childOf<T>(level: Level<T>, token: string, create: boolean): SubNode<T> | null {
  if (token.length === 1) {
    const c = token.charCodeAt(0)
    if (c === STAR) {
      if (level.pwc === null && create) level.pwc = new SubNode()
      return level.pwc
    }
    if (c === GT) {
      if (level.fwc === null && create) level.fwc = new SubNode()
      return level.fwc
    }
  }
  let node = level.nodes.get(token)
  if (node === undefined) {
    if (!create) return null
    node = new SubNode()
    level.nodes.set(token, node)
  }
  return node
}

function removeFromNode<T extends SubEntry>(node: SubNode<T>, sub: T): boolean {
  if (sub.queue === null) return node.psubs.delete(sub)
  const qsubs = node.qsubs
  if (qsubs === null) return false
  const members = qsubs.get(sub.queue)
  if (members === undefined || !members.delete(sub)) return false
  if (members.size === 0) {
    qsubs.delete(sub.queue)
    if (qsubs.size === 0) node.qsubs = null
  }
  return true
}

function isEmptyLevel<T>(level: Level<T>): boolean {
  return level.nodes.size === 0 && level.pwc === null && level.fwc === null
}

function pruneNode<T>(level: Level<T>, node: SubNode<T>, token: string): void {
  if (node === level.fwc) level.fwc = null
  else if (node === level.pwc) level.pwc = null
  else level.nodes.delete(token)
}

/** Drops the path's references so pruned nodes can be collected. */
function clearPath<T>(pathLevels: (Level<T> | null)[], pathNodes: (SubNode<T> | null)[], count: number): void {
  for (let i = 0; i < count; i++) {
    pathLevels[i] = null
    pathNodes[i] = null
  }
}

/**
 * sublist.go matchLevel. At each level: `>` takes everything left, `*`
 * recurses on the remaining tokens, the literal token walks on. After the last
 * token, the literal node and the `*` node of the last level match. `>` is
 * only taken while a token remains, so `foo.>` does not match `foo`.
 */
function matchLevel<T extends SubEntry>(
  start: Level<T> | null, tokens: readonly string[], from: number, to: number, psubs: T[], qsubs: T[][],
): void {
  let level = start
  let pwc: SubNode<T> | null = null
  let node: SubNode<T> | undefined
  for (let i = from; i < to; i++) {
    if (level === null) return
    if (level.fwc !== null) addNodeToResult(level.fwc, psubs, qsubs)
    pwc = level.pwc
    if (pwc !== null) matchLevel(pwc.next, tokens, i + 1, to, psubs, qsubs)
    node = level.nodes.get(tokens[i])
    level = node === undefined ? null : node.next
  }
  if (node !== undefined) addNodeToResult(node, psubs, qsubs)
  if (pwc !== null) addNodeToResult(pwc, psubs, qsubs)
}

function hasInterestLevel<T>(start: Level<T> | null, tokens: readonly string[], from: number, to: number): boolean {
  let level = start
  let pwc: SubNode<T> | null = null
  let node: SubNode<T> | undefined
  for (let i = from; i < to; i++) {
    if (level === null) return false
    // Pruning keeps only nodes with entries below or in them, and a `>` node
    // has nothing below it: its existence is interest.
    if (level.fwc !== null) return true
    pwc = level.pwc
    if (pwc !== null && hasInterestLevel(pwc.next, tokens, i + 1, to)) return true
    node = level.nodes.get(tokens[i])
    level = node === undefined ? null : node.next
  }
  return (node !== undefined && hasEntries(node)) || (pwc !== null && hasEntries(pwc))
}

function hasEntries<T>(node: SubNode<T>): boolean {
  return node.psubs.size > 0 || node.qsubs !== null
}

/** Queue members join the result's group of the same name, whatever subject they came from. */
function addNodeToResult<T extends SubEntry>(node: SubNode<T>, psubs: T[], qsubs: T[][]): void {
  for (const sub of node.psubs) psubs.push(sub)
  if (node.qsubs === null) return
  for (const members of node.qsubs.values()) {
    let group: T[] | null = null
    for (const sub of members) {
      if (group === null) group = queueGroupOf(qsubs, sub.queue)
      group.push(sub)
    }
  }
}

/** sublist.go findQSlot: a linear scan; a result rarely holds more than a few groups. */
function queueGroupOf<T extends SubEntry>(qsubs: T[][], queue: string | null): T[] {
  for (let i = 0; i < qsubs.length; i++) {
    if (qsubs[i][0].queue === queue) return qsubs[i]
  }
  const group: T[] = []
  qsubs.push(group)
  return group
}

/**
 * A new result with `sub` added. Arrays that do not change are shared with
 * the old result: no result is ever written after it is built, so sharing is safe.
 */
function addSubToResult<T extends SubEntry>(result: SublistResult<T>, sub: T): SublistResult<T> {
  if (sub.queue === null) {
    const psubs = result.psubs.slice()
    psubs.push(sub)
    return new MatchResult(psubs, result.qsubs)
  }
  const qsubs = result.qsubs.slice()
  for (let i = 0; i < qsubs.length; i++) {
    if (qsubs[i][0].queue === sub.queue) {
      const group = qsubs[i].slice()
      group.push(sub)
      qsubs[i] = group
      return new MatchResult(result.psubs, qsubs)
    }
  }
  qsubs.push([sub])
  return new MatchResult(result.psubs, qsubs)
}

function visitLevel<T>(level: Level<T>, fn: (sub: T) => void): void {
  for (const node of level.nodes.values()) visitNode(node, fn)
  if (level.pwc !== null) visitNode(level.pwc, fn)
  if (level.fwc !== null) visitNode(level.fwc, fn)
}

function visitNode<T>(node: SubNode<T>, fn: (sub: T) => void): void {
  for (const sub of node.psubs) fn(sub)
  if (node.qsubs !== null) {
    for (const members of node.qsubs.values()) {
      for (const sub of members) fn(sub)
    }
  }
  if (node.next !== null) visitLevel(node.next, fn)
}
