// The only place that touches nats.js internals (nats 2.29, nats-base-client/
// protocol.ts and servers.ts). The public NatsConnection API has no way to
// change the server pool after connect, to know synchronously whether the
// socket is up, or to keep a publish made between two nodes (nats.js resets
// its outbound buffer before every dial, so such a publish is dropped: checked
// by test/client/nats-behaviour.test.ts). So we drive:
//
//   nc.protocol.servers       the pool nats.js rotates through (Servers)
//   nc.protocol.connected     true from the server's PONG to the socket's close
//   nc.protocol.publish       every publish path ends here: nc.publish,
//                             nc.request, msg.respond (MsgImpl holds the
//                             ProtocolHandler as its publisher), services
//   nc.protocol.sendCommand   raw UNSUB before a planned move
//   nc.protocol.subscriptions, .muxSubscriptions.reqs   what is subscribed, requests in flight
//
// ProtocolView names exactly those parts; the type check at the bottom makes
// tsc fail if the installed nats changes them, and fromConnection() checks them
// at run time (ClientError NATS_VERSION) in case a different copy is loaded.
import type { NatsConnection, Payload, PublishOptions } from 'nats'
import type { ProtocolHandler } from 'nats/lib/nats-base-client/protocol.js'
import { CLIENT_ERROR_CODES, ClientError } from './errors.js'
import { moveToEnd, planPool } from './pool.js'

interface ServerEntry { listen: string }

interface ServersView {
  /** The live array nats.js rotates (not a copy). */
  getServers(): ServerEntry[]
  getCurrentServer(): ServerEntry
  addServer(u: string, implicit?: boolean): void
}

export type PublishFn = (subject: string, payload?: Payload, options?: PublishOptions) => void

interface ProtocolView {
  connected: boolean
  info?: { server_id: string; max_payload: number }
  servers: ServersView
  publish: PublishFn
  sendCommand(cmd: string | Uint8Array, ...payloads: Uint8Array[]): void
  subscriptions: { all(): Array<{ sid: number }> }
  muxSubscriptions: { reqs: Map<string, unknown> }
}

// Compile-time: the installed ProtocolHandler still has every part we use.
type Satisfies<T extends ProtocolView> = T
type CheckedProtocolHandler = Satisfies<ProtocolHandler>

function hasFunctions(value: unknown, names: string[]): value is object {
  return typeof value === 'object' && value !== null && names.every((n) => typeof Reflect.get(value, n) === 'function')
}

function isProtocolView(value: unknown): value is ProtocolView {
  if (!hasFunctions(value, ['publish', 'sendCommand'])) return false
  const mux: unknown = Reflect.get(value, 'muxSubscriptions')
  const reqs: unknown = typeof mux === 'object' && mux !== null ? Reflect.get(mux, 'reqs') : undefined
  return typeof Reflect.get(value, 'connected') === 'boolean' &&
    hasFunctions(Reflect.get(value, 'servers'), ['getServers', 'getCurrentServer', 'addServer']) &&
    hasFunctions(Reflect.get(value, 'subscriptions'), ['all']) &&
    reqs instanceof Map
}

export interface PoolChange {
  added: string[]
  removed: string[]
}

/** One connection's internals, behind methods named for what the client library needs. */
export class NatsInternals {
  private readonly protocol: ProtocolView
  /** nats.js's own publish, bound; interceptPublish() puts ours in front of it. */
  readonly originalPublish: PublishFn

  private constructor(protocol: ProtocolView) {
    this.protocol = protocol
    this.originalPublish = protocol.publish.bind(protocol)
  }

  static fromConnection(nc: NatsConnection): NatsInternals {
    const protocol: unknown = Reflect.get(nc, 'protocol')
    if (!isProtocolView(protocol)) {
      throw new ClientError(CLIENT_ERROR_CODES.NATS_VERSION,
        'the nats package in use does not have the internals natsmesh/client drives (written for nats 2.29): ' +
        'install the nats version this package depends on')
    }
    return new NatsInternals(protocol)
  }

  /** The socket is up and the server answered our CONNECT; false from the moment it closes. */
  isConnected(): boolean {
    return this.protocol.connected
  }

  /** The node's server id while connected (a natsmesh node's id is its ZooKeeper member id). */
  serverId(): string | null {
    return this.protocol.connected ? this.protocol.info?.server_id ?? null : null
  }

  maxPayload(): number | null {
    return this.protocol.info?.max_payload ?? null
  }

  /** host:port of the node we are on, or dialing. */
  currentHostPort(): string {
    return this.protocol.servers.getCurrentServer().listen
  }

  poolHostPorts(): string[] {
    return this.protocol.servers.getServers().map((s) => s.listen)
  }

  /**
   * Makes the pool follow `desired` (normalized host:port, see pool.ts):
   * the current node goes to the end of the rotation, new members in at
   * random places, gone members out (except the current one).
   */
  followMembers(desired: readonly string[], random: () => number = Math.random): PoolChange {
    const servers = this.protocol.servers.getServers()
    const current = this.currentHostPort()
    this.reorder(servers, moveToEnd(servers.map((s) => s.listen), current))
    const plan = planPool(servers.map((s) => s.listen), desired, current, random)
    for (const { hostPort, index } of plan.add) {
      this.protocol.servers.addServer(hostPort, false)
      const added = servers.pop()
      if (added !== undefined) servers.splice(Math.min(index, servers.length), 0, added)
    }
    for (const hostPort of plan.remove) {
      const i = servers.findIndex((s) => s.listen === hostPort)
      if (i !== -1) servers.splice(i, 1)
    }
    return { added: plan.add.map((a) => a.hostPort), removed: plan.remove }
  }

  /** Takes `hostPort` out of the pool when another node remains; says whether it did. */
  leavePool(hostPort: string): boolean {
    const servers = this.protocol.servers.getServers()
    const i = servers.findIndex((s) => s.listen === hostPort)
    if (i === -1) return servers.length > 0
    if (servers.length < 2) return false
    servers.splice(i, 1)
    return true
  }

  /** Every publish path of this connection goes through `publish` from now on. */
  interceptPublish(publish: PublishFn): void {
    this.protocol.publish = publish
  }

  /**
   * Tells the server to stop sending to every subscription, keeping them on
   * our side: nats.js subscribes them again (same sids) on the next node.
   * Raw UNSUB, because nats.js's unsubscribe() would also forget them (or
   * overwrite a max count).
   */
  unsubscribeAllAtServer(): void {
    for (const sub of this.protocol.subscriptions.all()) this.protocol.sendCommand(`UNSUB ${sub.sid}\r\n`)
  }

  /** Tokens of the requests (nats.js's shared inbox) waiting for an answer. */
  inFlightRequests(): string[] {
    return [...this.protocol.muxSubscriptions.reqs.keys()]
  }

  isInFlight(token: string): boolean {
    return this.protocol.muxSubscriptions.reqs.has(token)
  }

  private reorder(servers: ServerEntry[], order: readonly string[]): void {
    const byListen = new Map(servers.map((s) => [s.listen, s]))
    const sorted = order.map((l) => byListen.get(l)).filter((s): s is ServerEntry => s !== undefined)
    if (sorted.length === servers.length) servers.splice(0, servers.length, ...sorted)
  }
}
