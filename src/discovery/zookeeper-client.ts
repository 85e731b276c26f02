// The node-zookeeper-client layer under ZooKeeperDiscovery: connect strings,
// digest ids, promise wrappers over the callback API, error codes, and the
// workaround for the library's unsafe close(). Nothing here knows about members.
//
// node-zookeeper-client 1.1.3 quirks handled here:
// - close() is only safe on a connected client: a handshake reply arriving
//   after it crashes the process. disarmClient() is the workaround.
// - Its `ACL` objects carry `permission`, though its typings say `perms`.
// - It splits host:port on ':', so IPv6 literals cannot work.
import { createHash } from 'node:crypto'
import { Socket } from 'node:net'
import { Exception, type ACL, type Client, type Event, type Stat } from 'node-zookeeper-client'
import { DiscoveryError } from './discovery.js'

export const DEFAULT_ZOOKEEPER_PORT = 2181
const CLOSE_TIMEOUT_MS = 1_000

export interface ParsedConnectString {
  /** `host:port,…`, every port explicit. */
  hosts: string
  /** '' or `/a/b`. */
  chroot: string
}

/** Splits and checks a ZooKeeper connect string; throws DiscoveryError. */
export function parseConnectString(connectString: string): ParsedConnectString {
  const text = connectString.trim()
  const slash = text.indexOf('/')
  const hostPart = slash === -1 ? text : text.slice(0, slash)
  let chroot = slash === -1 ? '' : text.slice(slash)
  if (chroot === '/') chroot = ''
  if (chroot !== '') {
    const segments = chroot.slice(1).split('/')
    for (const segment of segments) {
      if (!isZnodeName(segment)) throw new DiscoveryError(`connectString: bad chroot '${chroot}'`)
    }
  }
  const hosts: string[] = []
  for (const raw of hostPart.split(',')) {
    const host = raw.trim()
    if (host === '') continue
    const parts = host.split(':')
    // The library splits host:port on ':' too, so IPv6 literals cannot work.
    if (parts.length > 2 || parts[0] === '') throw new DiscoveryError(`connectString: bad host '${host}'`)
    const port = parts.length === 2 ? Number(parts[1]) : DEFAULT_ZOOKEEPER_PORT
    if (!Number.isInteger(port) || port < 1 || port > 65535 || (parts.length === 2 && !/^\d+$/.test(parts[1]))) {
      throw new DiscoveryError(`connectString: bad port in '${host}'`)
    }
    hosts.push(`${parts[0]}:${port}`)
  }
  if (hosts.length === 0) throw new DiscoveryError(`connectString: no host in '${connectString}'`)
  return { hosts: hosts.join(','), chroot }
}

export function isZnodeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !/[\u0000-\u001f\u007f]/.test(name)
}

/** ZooKeeper's digest identity: `user:base64(sha1("user:password"))`. */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`
}

export function codeOf(err: unknown): number | null {
  return err instanceof Exception ? err.getCode() : null
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The library's ACL objects carry `permission`; its typings say `perms`. */
export function aclPermissions(acl: ACL): number {
  if ('permission' in acl && typeof acl.permission === 'number') return acl.permission
  return acl.perms
}

/** Resolves null on success, or the code when it is one of the expected ones; rejects otherwise. */
export async function ignoreCodes(call: Promise<void>, ...codes: number[]): Promise<number | null> {
  try {
    await call
    return null
  } catch (err) {
    const code = codeOf(err)
    if (code !== null && codes.includes(code)) return code
    throw err
  }
}

/**
 * Closing a live session removes our ephemeral znode at once: wait (bounded)
 * for that. Any other client is disarmed as well (see disarmClient).
 */
export function closeClient(client: Client, isLive: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (!isLive) {
      client.close()
      disarmClient(client)
      resolve()
      return
    }
    const timer = setTimeout(() => { disarmClient(client); resolve() }, CLOSE_TIMEOUT_MS)
    client.once('disconnected', () => { clearTimeout(timer); resolve() })
    client.close()
  })
}

/**
 * Works around a node-zookeeper-client 1.1.3 bug; the only place we touch its
 * internals. After close(), a reply to a connect handshake (one in flight, or
 * one its spin-delay reconnect timer starts later) is read as an ordinary
 * reply. When it lines up with a pending request (always for a client that
 * never sent one: its CLOSE_SESSION and the misread reply both have xid 0),
 * the garbage error code throws 'Unknown code' from a socket listener and the
 * process dies (test: "close() while ZooKeeper hangs…"). So: destroy the socket
 * it may be handshaking on, and make any later socket close as soon as it
 * connects, before a handshake is sent. Its state is CLOSING by then, so a
 * closed socket ends it instead of a retry.
 */
function disarmClient(client: Client): void {
  const manager: unknown = Reflect.get(client, 'connectionManager')
  if (typeof manager !== 'object' || manager === null) return
  Reflect.set(manager, 'onSocketConnected', function destroyOnConnect(this: unknown): void {
    const socket: unknown = typeof this === 'object' && this !== null ? Reflect.get(this, 'socket') : null
    if (socket instanceof Socket) socket.destroy()
  })
  const socket: unknown = Reflect.get(manager, 'socket')
  if (socket instanceof Socket) socket.destroy()
}

// Promise wrappers over the callback API; rejections are the library's Exception.

export function zkCreate(client: Client, path: string, data: Buffer | null, acl: ACL[], mode: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.create(path, data ?? Buffer.alloc(0), acl, mode, (err) => (err ? reject(err) : resolve()))
  })
}

export function zkRemove(client: Client, path: string, version: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.remove(path, version, (err) => (err ? reject(err) : resolve()))
  })
}

export function zkExists(client: Client, path: string, watcher: ((event: Event) => void) | null): Promise<Stat | null> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | Exception | null, stat: Stat | null): void => (err ? reject(err) : resolve(stat ?? null))
    if (watcher === null) client.exists(path, done)
    else client.exists(path, watcher, done)
  })
}

export function zkGetChildren(client: Client, path: string, watcher: (event: Event) => void): Promise<string[]> {
  return new Promise((resolve, reject) => {
    client.getChildren(path, watcher, (err, children) => (err ? reject(err) : resolve(children)))
  })
}

export function zkGetData(client: Client, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.getData(path, (err, data) => (err ? reject(err) : resolve(data ?? Buffer.alloc(0))))
  })
}

export function zkGetACL(client: Client, path: string): Promise<ACL[]> {
  return new Promise((resolve, reject) => {
    client.getACL(path, (err, acls) => (err ? reject(err) : resolve(acls)))
  })
}
