// The pool logic, free of nats.js and ZooKeeper so it can be tested alone:
// URL normalizing, shuffling, and what to add to and remove from nats.js's
// server list when the membership changes.
//
// nats.js keeps its pool as an array it rotates: on each dial it takes the
// first entry and moves it to the end. So the order we leave is the failover
// order, and the node we are on belongs at the end:
//
//   [ next candidate, …, last candidate, current ]
//     ^ dialed first when the connection drops
export const DEFAULT_NATS_PORT = 4222

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//

/**
 * `nats://host:port`, `host:port` or `host` → `host:port`, the form nats.js
 * compares servers by (ServerImpl.listen); null when it is not a server URL.
 */
export function normalizeUrl(url: string): string | null {
  const rest = url.trim().replace(SCHEME, '')
  if (rest === '') return null
  let parsed: URL
  try {
    parsed = new URL(`nats://${rest}`)
  } catch {
    return null // not a URL: the caller skips or reports it
  }
  if (parsed.hostname === '' || (parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.hash !== '') return null
  // nats.js's hostPort(): an http(s) URL, so host names are lowercased and IPv6
  // written canonically; https for port 80, which http would drop as its default.
  const port = parsed.port === '' ? DEFAULT_NATS_PORT : Number(parsed.port)
  const web = new URL(`${port === 80 ? 'https' : 'http'}://${parsed.hostname}`)
  web.port = String(port)
  return web.host
}

/** The distinct normalized host:port of each URL, in order; bad URLs are left out. */
export function normalizeAll(urls: Iterable<string>): string[] {
  const seen = new Set<string>()
  for (const url of urls) {
    const hostPort = normalizeUrl(url)
    if (hostPort !== null) seen.add(hostPort)
  }
  return [...seen]
}

/** Fisher–Yates on a copy: clients spread over the nodes. */
export function shuffle<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = items.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = out[i]
    out[i] = out[j]
    out[j] = tmp
  }
  return out
}

export interface PoolPlan {
  /** host:port entries to add, each with the index to insert it at (applied in order). */
  add: Array<{ hostPort: string; index: number }>
  remove: string[]
}

/**
 * How to turn `current` (nats.js's list) into the members in `desired`.
 * - An empty `desired` changes nothing: no member known (ZooKeeper says the
 *   cluster is empty, maybe mid-restart) must not leave nats.js with an empty
 *   list, which would close the connection for good. The last known nodes stay.
 * - `keep` (the node we are on, or dialing) is never removed here: leaving it
 *   is a move (failover.ts), which removes it itself.
 * - New members go in at random places among the candidates, before `keep`,
 *   so when a node dies its clients spread over the old and the new nodes.
 * Adds come before removes, so the list never runs empty in between.
 */
export function planPool(current: readonly string[], desired: readonly string[], keep: string | null, random: () => number = Math.random): PoolPlan {
  const plan: PoolPlan = { add: [], remove: [] }
  if (desired.length === 0) return plan
  const wanted = new Set(desired)
  const have = new Set(current)
  let length = current.length
  for (const hostPort of desired) {
    if (have.has(hostPort)) continue
    // Candidates are every entry but `keep`, which sits at the end when present.
    const candidates = keep !== null && have.has(keep) ? length - 1 : length
    plan.add.push({ hostPort, index: Math.floor(random() * (candidates + 1)) })
    length++
  }
  for (const hostPort of current) {
    if (!wanted.has(hostPort) && hostPort !== keep) plan.remove.push(hostPort)
  }
  return plan
}

/** `list` with `hostPort` moved to the end (the order nats.js's rotation leaves after dialing it). */
export function moveToEnd(list: readonly string[], hostPort: string): string[] {
  const i = list.indexOf(hostPort)
  if (i === -1 || i === list.length - 1) return list.slice()
  return [...list.slice(0, i), ...list.slice(i + 1), hostPort]
}

/** Applies a plan to a plain list: what the nats.js adapter does to its array, for tests and checks. */
export function applyPlan(list: readonly string[], plan: PoolPlan): string[] {
  const out = list.slice()
  for (const { hostPort, index } of plan.add) out.splice(Math.min(index, out.length), 0, hostPort)
  return out.filter((hostPort) => !plan.remove.includes(hostPort))
}
