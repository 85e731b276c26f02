// What happens to a connection after connect(): the pool follows ZooKeeper,
// publishes between nodes wait in the PublishGate, and a node that leaves is
// left in a planned move: at once when it says `ldm` in INFO (a drain, which
// deregisters first), or when ZooKeeper has not listed it for
// LEFT_MEMBERSHIP_CONFIRM_MS (its session expired: hung, or cut off):
//
//   1. hold      new publishes wait in the gate (none goes into the old socket)
//   2. settle    requests already sent get their answers (≤ moveGraceMs)
//   3. unsub     raw UNSUB for every subscription: the old node stops sending
//   4. flush     PING/PONG: the old node has processed everything we sent, and
//                everything it sent us before the PONG has been dispatched
//   5. leave     the node leaves the pool; nc.reconnect() dials the next one;
//                nats.js subscribes everything again there
//   6. release   on the 'reconnect' status: the held publishes go out, in order
//
// A node that dies (SIGKILL) needs nothing more from us: nats.js sees the
// socket close, dials the next node of its rotation at once (we keep the node
// in use last, see pool.ts), subscribes again, and the gate releases what was
// published in between.
import { Events, type NatsConnection } from 'nats'
import type { MemberInfo } from '../discovery/discovery.js'
import { errorText } from './errors.js'
import type { ClientEvent, ClientEventListener } from './events.js'
import type { Membership } from './membership.js'
import type { NatsInternals } from './nats-internals.js'
import { normalizeAll, normalizeUrl } from './pool.js'
import type { PublishGate } from './publish-buffer.js'
import { sleep } from '../wait.js'

const SETTLE_POLL_MS = 5
/**
 * A node missing from ZooKeeper is left only if it is still missing this
 * much later. A drain says `ldm` right after it deregisters, and that moves
 * us at once; a bare absence may be a node re-registering (its session was
 * lost in a ZooKeeper outage, or someone deleted its znode), which takes a
 * round trip or two. Without the wait, every ZooKeeper outage would shuffle
 * clients between nodes. A hung node (SIGSTOP) is still left within its
 * session timeout plus this.
 */
export const LEFT_MEMBERSHIP_CONFIRM_MS = 1_000
/** A live node answers the move's PING in well under a millisecond nearby; a hung one never does. */
const MOVE_FLUSH_TIMEOUT_MS = 500

type MoveReason = Extract<ClientEvent, { type: 'moving' }>['reason']

export class FailoverController {
  private readonly nc: NatsConnection
  private readonly internals: NatsInternals
  private readonly gate: PublishGate
  private readonly membership: Membership | null
  private readonly emit: ClientEventListener
  private readonly moveGraceMs: number
  private isMoving = false
  private isPlanned = false
  private disconnectedAt = 0
  private lastServer = ''
  private leftTimer: NodeJS.Timeout | null = null

  constructor(nc: NatsConnection, internals: NatsInternals, gate: PublishGate, membership: Membership | null,
    emit: ClientEventListener, moveGraceMs: number) {
    this.nc = nc
    this.internals = internals
    this.gate = gate
    this.membership = membership
    this.emit = emit
    this.moveGraceMs = moveGraceMs
    this.lastServer = internals.currentHostPort()
  }

  /** Starts following; everything stops when the connection closes. */
  start(): void {
    this.internals.interceptPublish(this.gate.publish)
    if (this.membership !== null) {
      this.membership.follow((members) => this.onMembers(members, true))
      this.onMembers(this.membership.members(), true)
    }
    void this.watchStatus()
    void this.nc.closed().then(() => this.onClosed())
  }

  private async watchStatus(): Promise<void> {
    try {
      for await (const status of this.nc.status()) {
        if (status.type === Events.Disconnect) this.onDisconnect(String(status.data))
        else if (status.type === Events.Reconnect) this.onReconnect(String(status.data))
        else if (status.type === Events.LDM) void this.moveOff('lame-duck')
      }
    } catch (err) {
      // The iterator only ends by close(); an error here is nats.js's, and the connection is done.
      this.emit({ type: 'disconnected', level: 'warn', from: this.lastServer, message: `status stream ended: ${errorText(err)}` })
    }
  }

  private onDisconnect(from: string): void {
    this.disconnectedAt = Date.now()
    this.lastServer = from
    const level = this.isPlanned ? 'info' : 'warn'
    this.emit({ type: 'disconnected', level, from, message: `disconnected from ${from}${this.isPlanned ? ' (planned move)' : ''}` })
  }

  private onReconnect(to: string): void {
    const released = this.gate.release()
    const gapMs = this.disconnectedAt === 0 ? 0 : Date.now() - this.disconnectedAt
    const planned = this.isPlanned
    const from = this.lastServer
    this.isPlanned = false
    this.isMoving = false
    this.lastServer = to
    const failed = released.failed > 0 ? `, ${released.failed} refused by the new node and dropped` : ''
    this.emit({
      type: 'reconnected', level: 'info', from, to, planned, gapMs, flushed: released.sent,
      message: `${planned ? 'moved' : 'failed over'} from ${from} to ${to} after ${gapMs} ms; ` +
        `sent ${released.sent} buffered publishes${failed}`,
    })
    // The pool may have changed while we were away; and we may have landed on a node that is leaving.
    if (this.membership !== null) this.onMembers(this.membership.members(), false)
  }

  /** `isRead`: a membership read (said in a 'members' event), not our own re-check after a reconnect. */
  private onMembers(members: readonly MemberInfo[], isRead: boolean): void {
    if (this.nc.isClosed()) return
    const urls = members.map((m) => m.clientUrl)
    const change = this.internals.followMembers(normalizeAll(urls))
    if (members.length === 0) {
      // Said only for a live ZooKeeper: before it ever answered (started from the cache), [] means "unknown".
      if (isRead && this.membership?.isLive() === true) {
        this.emit({ type: 'members', level: 'warn', urls, added: [], removed: [],
          message: 'ZooKeeper lists no member: keeping the last known nodes' })
      }
      return
    }
    if (isRead) {
      this.emit({ type: 'members', level: 'info', urls, added: change.added, removed: change.removed,
        message: `nodes: ${normalizeAll(urls).join(', ')} (pool: added ${change.added.join(', ') || 'none'}, ` +
          `removed ${change.removed.join(', ') || 'none'})` })
    }
    if (!this.isMember(members)) this.confirmLeft()
  }

  /** Moves off the current node if ZooKeeper still does not list it LEFT_MEMBERSHIP_CONFIRM_MS from now. */
  private confirmLeft(): void {
    if (this.leftTimer !== null) return
    this.leftTimer = setTimeout(() => {
      this.leftTimer = null
      const members = this.membership?.members() ?? []
      if (this.membership?.isLive() === true && members.length > 0 && !this.isMember(members)) void this.moveOff('left-membership')
    }, LEFT_MEMBERSHIP_CONFIRM_MS)
    this.leftTimer.unref()
  }

  /** Whether the node we are connected to is still listed (by server id, or by address for a restarted node). */
  private isMember(members: readonly MemberInfo[]): boolean {
    const id = this.internals.serverId()
    if (id === null) return true // not connected: nothing to leave
    const here = this.internals.currentHostPort()
    return members.some((m) => m.id === id || normalizeUrl(m.clientUrl) === here)
  }

  private async moveOff(reason: MoveReason): Promise<void> {
    if (this.isMoving || this.nc.isClosed() || this.nc.isDraining() || !this.internals.isConnected()) return
    const from = this.internals.currentHostPort()
    if (this.internals.poolHostPorts().every((hostPort) => hostPort === from)) {
      this.emit({ type: 'moving', level: 'warn', from, reason, message: `${from} is leaving (${reason}) but no other node is known: staying` })
      return
    }
    this.isMoving = true
    this.emit({ type: 'moving', level: 'info', from, reason, message: `${from} is leaving (${reason}): moving to another node` })
    this.gate.hold()
    try {
      await this.settleRequests()
      // Closed on us meanwhile: nats.js is already reconnecting, and its 'reconnect' releases the gate.
      if (!this.internals.isConnected()) return
      if (!this.internals.leavePool(from)) {
        this.isMoving = false
        this.gate.release()
        return
      }
      this.internals.unsubscribeAllAtServer()
      await withTimeout(this.nc.flush(), MOVE_FLUSH_TIMEOUT_MS)
      if (!this.internals.isConnected()) return
      this.isPlanned = true
      await this.nc.reconnect()
    } catch (err) {
      // A flush that failed means the node went away: nats.js reconnects by itself, and the gate releases then.
      this.emit({ type: 'moving', level: 'warn', from, reason, message: `moving off ${from}: ${errorText(err)}` })
    }
  }

  /** Waits (≤ moveGraceMs) for the requests in flight when the move began; new ones are held in the gate. */
  private async settleRequests(): Promise<void> {
    const tokens = this.internals.inFlightRequests()
    const deadline = Date.now() + this.moveGraceMs
    for (let i = 0; i < 1_000_000; i++) {
      if (!tokens.some((t) => this.internals.isInFlight(t))) return
      if (Date.now() >= deadline || !this.internals.isConnected()) return
      await sleep(SETTLE_POLL_MS)
    }
  }

  private onClosed(): void {
    if (this.leftTimer !== null) clearTimeout(this.leftTimer)
    this.leftTimer = null
    const dropped = this.gate.dropAll()
    if (dropped.count > 0) {
      this.emit({ type: 'buffer-dropped', level: 'warn', count: dropped.count, bytes: dropped.bytes,
        message: `connection closed with ${dropped.count} buffered publishes (${dropped.bytes} bytes): dropped` })
    }
    if (this.membership !== null) void this.membership.close()
  }
}

/** Resolves when `promise` does or after ms, whichever is first; rejects if `promise` rejects first. */
function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    promise.then(() => { clearTimeout(timer); resolve() }, (err: unknown) => { clearTimeout(timer); reject(err) })
  })
}
