// What the ZooKeeper tests in this folder share (not a *.test.ts file): a
// plain client for the test's own checks, and bounded waits that end on the
// event itself (a ZooKeeper watch, a session event, ZooKeeper's own counters)
// instead of sleeping for a guessed time.
import type { Test } from 'tap'
import { Exception, createClient, type Client, type Option, type Stat } from 'node-zookeeper-client'
import type { SessionState, ZooKeeperSession } from '../../src/discovery/zookeeper-session.js'
import { fourLetterWord } from '../helpers/zookeeper.js'

/** How long any wait here may take before the test fails; none of them is the assertion itself. */
export const WAIT_MS = 10_000

/** Resolves true when promise settles first, false after ms. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms))
    const done = (): void => { clearTimeout(timer); resolve(true) }
    promise.then(done, done)
  })
}

/** Polls until predicate() holds; bounded in time and in count. For state that emits no event of its own. */
export async function until(what: string, predicate: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let i = 0; i < 5_000; i++) {
    if (predicate()) return
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)
}

/** The next 'state' event with that state, from now on; rejects after timeoutMs. Call it before the cause. */
export function nextState(session: ZooKeeperSession, state: SessionState, timeoutMs = WAIT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const listener = (s: SessionState, detail: string): void => {
      if (s !== state) return
      clearTimeout(timer)
      session.off('state', listener)
      resolve(detail)
    }
    const timer = setTimeout(() => {
      session.off('state', listener)
      reject(new Error(`timed out after ${timeoutMs} ms waiting for session state '${state}'`))
    }, timeoutMs)
    session.on('state', listener)
  })
}

// ---- a plain ZooKeeper client for the test's own checks ----

/** Connected (bounded wait); closed in t.teardown. */
export async function rawClient(t: Test, connectString: string, auth: string | null = null, options: Partial<Option> = {}): Promise<Client> {
  const client = createClient(connectString, { sessionTimeout: 4_000, spinDelay: 100, ...options })
  t.teardown(() => client.close())
  if (auth !== null) client.addAuthInfo('digest', Buffer.from(auth))
  const connected = new Promise<void>((resolve) => client.once('connected', () => resolve()))
  client.connect()
  if (!await settlesWithin(connected, WAIT_MS)) throw new Error(`no ZooKeeper session with ${connectString} after ${WAIT_MS} ms`)
  return client
}

export function codeOf(err: unknown): number | null {
  return err instanceof Exception ? err.getCode() : null
}

export function exists(client: Client, path: string): Promise<Stat | null> {
  return new Promise((resolve, reject) => client.exists(path, (err, stat) => (err ? reject(err) : resolve(stat ?? null))))
}

export function children(client: Client, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => client.getChildren(path, (err, list) => (err ? reject(err) : resolve(list))))
}

export function getData(client: Client, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => client.getData(path, (err, data) => (err ? reject(err) : resolve(data))))
}

/** Resolves with the error code, 0 on success. */
export function createCode(client: Client, path: string, data: Buffer, mode: number): Promise<number> {
  return new Promise((resolve) => client.create(path, data, mode, (err) => resolve(err ? codeOf(err) ?? -1 : 0)))
}

export function removeCode(client: Client, path: string): Promise<number> {
  return new Promise((resolve) => client.remove(path, -1, (err) => resolve(err ? codeOf(err) ?? -1 : 0)))
}

/**
 * Waits until the znode's stat (null: absent) satisfies predicate, re-checking
 * on each watch event for that path; bounded in time and in count.
 */
export async function untilZnode(client: Client, path: string, what: string, predicate: (stat: Stat | null) => boolean): Promise<Stat | null> {
  const deadline = Date.now() + WAIT_MS
  for (let i = 0; i < 1_000; i++) {
    let onChange = (): void => { /* replaced below, before the watch can fire */ }
    const changed = new Promise<void>((resolve) => { onChange = resolve })
    const stat = await new Promise<Stat | null>((resolve, reject) => {
      client.exists(path, () => onChange(), (err, s) => (err ? reject(err) : resolve(s ?? null)))
    })
    if (predicate(stat)) return stat
    if (!await settlesWithin(changed, deadline - Date.now())) break
  }
  throw new Error(`timed out after ${WAIT_MS} ms waiting for ${path}: ${what}`)
}

/** One number from ZooKeeper's `mntr` (e.g. zk_global_sessions, zk_num_alive_connections); NaN if absent. */
export async function mntr(port: number, key: string): Promise<number> {
  const line = (await fourLetterWord(port, 'mntr')).split('\n').find((l) => l.startsWith(`${key}\t`))
  return line === undefined ? NaN : Number(line.slice(key.length + 1))
}

/**
 * Polls ZooKeeper's own counter until it reads value: the way to wait for
 * what only the server sees (a session of a dead client expiring, a closed
 * socket being read to its end). Bounded in time and in count.
 */
export async function untilMntr(port: number, key: string, value: number, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = NaN
  for (let i = 0; i < 1_000; i++) {
    last = await mntr(port, key)
    if (last === value) return
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${key} is ${last}, not ${value}`)
}
