// How nodes find each other: the contract that zookeeper.ts and static.ts
// (here in src/discovery) implement, and that mesh.ts (servers) and the client
// library (watch-only) consume. Shared by both implementations, and checked by
// test/discovery/conformance.ts (mqemitter's abstractTest pattern).
//
// Membership is control plane only (DESIGN.md "ZooKeeper"): a 'state' event
// never changes members(); members change only when the source of truth says
// so. A caller must not tear down routes because discovery lost its connection.
import { NatsmeshError } from '../errors.js'

/** What a node publishes about itself: the data of its znode (stable JSON). */
export interface MemberInfo {
  /** The server id, new at every start; '' for a static seed not yet handshaken (see static.ts). */
  id: string
  name: string
  version: string
  clientUrl: string
  routeUrl: string
  monitorUrl: string | null
  /** ISO 8601. */
  startTime: string
}

/**
 * - 'connected': a live ZooKeeper session; members() follows ZooKeeper.
 * - 'disconnected': no answer from ZooKeeper; members() is the last known list.
 * - 'expired': the session is gone (ZooKeeper said so, or we were cut off for
 *   longer than the session timeout); a new session registers again on reconnect.
 * - 'static': a fixed seed list, nothing to connect to.
 * - 'closed': close() was called.
 */
export type DiscoveryState = 'connected' | 'disconnected' | 'expired' | 'closed' | 'static'

/** Event name → listener arguments. */
export interface DiscoveryEvents {
  /** The whole new list (sorted, frozen), after every change. */
  members: [members: readonly MemberInfo[]]
  /** Session changes; detail is a human sentence for logs. */
  state: [state: DiscoveryState, detail: string]
}

export interface DiscoveryLogger {
  info(msg: string): void
  warn(msg: string): void
  debug(msg: string): void
}

export const SILENT_LOGGER: DiscoveryLogger = Object.freeze({
  info(): void { /* silent by default: the caller injects a real logger */ },
  warn(): void { /* same */ },
  debug(): void { /* same */ },
})

export interface Discovery {
  readonly state: DiscoveryState
  /**
   * Connects and registers self (when given). Never rejects because the source
   * is unreachable: it resolves, serves alone, and keeps retrying in the
   * background. Rejects only when configuration turns out to be bad (ZooKeeper
   * refuses our credentials), or after close(). A second call returns the same
   * promise.
   */
  start(): Promise<void>
  /**
   * Leaves membership and stays out (lame-duck drain); keeps watching others.
   * Resolves once the registration is gone or when it cannot be reached in time
   * (it then goes with the session). Idempotent.
   */
  deregister(): Promise<void>
  /** The latest known membership, self included while registered; sorted by id, then routeUrl. */
  members(): readonly MemberInfo[]
  on<E extends keyof DiscoveryEvents>(event: E, listener: (...args: DiscoveryEvents[E]) => void): this
  off<E extends keyof DiscoveryEvents>(event: E, listener: (...args: DiscoveryEvents[E]) => void): this
  /** Leaves, stops every timer and connection. Idempotent; emits state 'closed' once. */
  close(): Promise<void>
}

/** Bad discovery configuration, or a failure that configuration explains. */
export class DiscoveryError extends NatsmeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATSMESH_ERR_DISCOVERY', message, options)
  }
}

type Listener<A extends unknown[]> = (...args: A) => unknown
type ListenerLists<Events extends { [E in keyof Events]: unknown[] }> = { [E in keyof Events]: Array<Listener<Events[E]>> }

/**
 * A tiny typed emitter to extend. Unlike node:events, a throwing listener does
 * not throw into the emitter (here: a ZooKeeper callback) and does not starve
 * the other listeners: the error goes to listenerFailed, which subclasses log.
 */
export abstract class TypedEmitter<Events extends { [E in keyof Events]: unknown[] }> {
  private readonly listeners: Partial<ListenerLists<Events>> = {}

  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const list = this.listeners[event]
    if (list === undefined) this.listeners[event] = [listener]
    else list.push(listener)
    return this
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const list = this.listeners[event]
    const i = list === undefined ? -1 : list.lastIndexOf(listener)
    if (list !== undefined && i !== -1) list.splice(i, 1)
    return this
  }

  listenerCount(event: keyof Events): number {
    return this.listeners[event]?.length ?? 0
  }

  protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const list = this.listeners[event]
    if (list === undefined) return
    // A copy: a listener may call off() while we iterate.
    for (const listener of list.slice()) {
      try {
        listener(...args)
      } catch (err) {
        this.listenerFailed(err, event)
      }
    }
  }

  /** A listener threw; the others still ran. */
  protected abstract listenerFailed(err: unknown, event: keyof Events): void
}

/** The order of members(): by id, then routeUrl (static seeds all have id ''). */
export function compareMembers(a: MemberInfo, b: MemberInfo): number {
  if (a.id !== b.id) return a.id < b.id ? -1 : 1
  if (a.routeUrl !== b.routeUrl) return a.routeUrl < b.routeUrl ? -1 : 1
  return 0
}

/** A frozen, sorted copy whose entries are frozen copies too: callers cannot change our state. */
export function freezeMembers(members: Iterable<MemberInfo>): readonly MemberInfo[] {
  const list = Array.from(members, (m) => Object.freeze(pickMember(m)))
  list.sort(compareMembers)
  return Object.freeze(list)
}

/** Two sorted lists with the same entries, field by field. */
export function sameMembers(a: readonly MemberInfo[], b: readonly MemberInfo[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i]
    const y = b[i]
    if (x.id !== y.id || x.name !== y.name || x.version !== y.version || x.clientUrl !== y.clientUrl ||
      x.routeUrl !== y.routeUrl || x.monitorUrl !== y.monitorUrl || x.startTime !== y.startTime) return false
  }
  return true
}

/** Only the MemberInfo fields, in a fixed shape (extra fields of a newer version are dropped). */
export function pickMember(m: MemberInfo): MemberInfo {
  return {
    id: m.id,
    name: m.name,
    version: m.version,
    clientUrl: m.clientUrl,
    routeUrl: m.routeUrl,
    monitorUrl: m.monitorUrl,
    startTime: m.startTime,
  }
}

/**
 * Reads a member record that came off the wire (a znode's JSON). Returns null
 * when it is not one: the caller skips it. Unknown extra fields are allowed so
 * that a newer node can add some without breaking older readers.
 */
export function parseMemberInfo(value: unknown): MemberInfo | null {
  if (typeof value !== 'object' || value === null) return null
  if (!('id' in value) || typeof value.id !== 'string' || value.id === '') return null
  if (!('name' in value) || typeof value.name !== 'string') return null
  if (!('version' in value) || typeof value.version !== 'string') return null
  if (!('clientUrl' in value) || typeof value.clientUrl !== 'string') return null
  if (!('routeUrl' in value) || typeof value.routeUrl !== 'string') return null
  if (!('startTime' in value) || typeof value.startTime !== 'string') return null
  const monitorUrl = 'monitorUrl' in value ? value.monitorUrl : null
  if (monitorUrl !== null && typeof monitorUrl !== 'string') return null
  return {
    id: value.id,
    name: value.name,
    version: value.version,
    clientUrl: value.clientUrl,
    routeUrl: value.routeUrl,
    monitorUrl,
    startTime: value.startTime,
  }
}

/** Checks a caller's own MemberInfo once, at construction; throws DiscoveryError naming the field. */
export function validateSelf(self: MemberInfo): MemberInfo {
  const parsed = parseMemberInfo(self)
  if (parsed === null) throw new DiscoveryError('self: a MemberInfo needs a non-empty id and string fields (monitorUrl may be null)')
  if (Number.isNaN(Date.parse(parsed.startTime))) throw new DiscoveryError(`self.startTime: not an ISO date: '${parsed.startTime}'`)
  return parsed
}
