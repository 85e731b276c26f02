// Is the mesh carrying messages? Judged with real traffic through nats.js
// clients, for the example, the failover benchmark and the tests: a route
// that is up but has not exchanged interest yet does not count.
import { randomBytes } from 'node:crypto'
import { connect as natsConnect, type NatsConnection } from 'nats'
import { sleep } from '../wait.js'

const PUBLISH_EVERY_MS = 50

/** A subject no other test or run uses. */
export function uniqueSubject(prefix: string): string {
  return `${prefix}.${randomBytes(6).toString('hex')}`
}

export async function closeQuietly(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return
  try {
    await nc.close()
  } catch {
    // Already closed by the server or a failed node: nothing left to release.
  }
}

/**
 * Resolves once every ordered pair (A, B) carries a message: a subscriber on B
 * to a fresh subject gets a publish made on A. Publishes are repeated (every
 * 50 ms) until one arrives, since a publish before interest reached A is
 * dropped (at-most-once). Returns the milliseconds it took.
 */
export async function waitForMesh(nodes: ReadonlyArray<{ url: string; label?: string }>, timeoutMs = 20_000): Promise<number> {
  const started = Date.now()
  const conns: NatsConnection[] = []
  try {
    for (const n of nodes) conns.push(await natsConnect({ servers: n.url, ignoreClusterUpdates: true, reconnect: false }))
    const pairs: Array<Promise<void>> = []
    for (let a = 0; a < nodes.length; a++) {
      for (let b = 0; b < nodes.length; b++) {
        if (a === b) continue
        const name = `${nodes[a].label ?? a}→${nodes[b].label ?? b}`
        pairs.push(waitForPair(conns[a], conns[b], name, started + timeoutMs))
      }
    }
    await Promise.all(pairs)
  } finally {
    await Promise.all(conns.map(closeQuietly))
  }
  return Date.now() - started
}

async function waitForPair(from: NatsConnection, to: NatsConnection, name: string, deadline: number): Promise<void> {
  try {
    await interestBarrier(from, to, Math.max(0, deadline - Date.now()))
  } catch (err) {
    throw new Error(`mesh did not converge: nothing published ${name} arrived`, { cause: err })
  }
}

/**
 * Resolves once `from`'s node knows every subscription `to` made before this
 * call. It relies on the ordering DESIGN.md promises: `to` subscribes to a
 * fresh subject after its earlier SUBs, its node sends the RS+ lines in that
 * order on the one route to `from`'s node, so once a publish on `from` reaches
 * the fresh subscription, the earlier interest is known there too.
 */
export async function interestBarrier(from: NatsConnection, to: NatsConnection, timeoutMs = 10_000): Promise<void> {
  const subject = uniqueSubject('barrier')
  let isReceived = false
  const sub = to.subscribe(subject, { max: 1, callback: () => { isReceived = true } })
  await to.flush()
  try {
    await publishUntil(from, subject, () => isReceived, timeoutMs)
  } finally {
    sub.unsubscribe()
  }
}

/** Publishes an empty message on `subject` every 50 ms until isArrived(); bounded. Returns the milliseconds it took. */
export async function publishUntil(from: NatsConnection, subject: string, isArrived: () => boolean, timeoutMs = 10_000): Promise<number> {
  const started = Date.now()
  for (let i = 0; i < 10_000; i++) {
    if (isArrived()) return Date.now() - started
    if (Date.now() - started > timeoutMs) break
    from.publish(subject)
    await from.flush()
    await sleep(PUBLISH_EVERY_MS)
  }
  if (isArrived()) return Date.now() - started
  throw new Error(`nothing published on ${subject} arrived within ${timeoutMs} ms`)
}
