// Lame duck for one node of a running cluster, as `natsmesh node drain|stop`
// does it: find the node (by name, server id or a unique prefix of one, client
// URL, or monitoring URL), ask its monitoring port to drain or stop, then
// watch it leave: its znode gone (when ZooKeeper is known), then its
// monitoring port closed, which happens as the process exits.
import type { MemberInfo } from '../discovery/discovery.js'
import type { ZooKeeperDiscovery } from '../discovery/zookeeper.js'
import { OperationError, SHORT_ID_LENGTH, serverIdAt, shortId, sortMembers } from './cluster-query.js'
import { NoAnswer, httpRequest, trimUrl } from './http.js'
import { sleep } from '../wait.js'

/** POST /drain: leave, close clients over the lame-duck duration, exit. POST /stop: the same without the grace period. */
export type LameDuckAction = 'drain' | 'stop'

const WAIT_POLL_MS = 200

export interface NodeTarget {
  /** For messages: `name (short id)` or the URL. */
  label: string
  id: string | null
  monitorUrl: string
}

/** `name (short id)`, how a member is named in messages. */
export function describeMember(m: MemberInfo): string {
  return `${m.name} (${shortId(m.id)})`
}

/** `nats://h:p/` and `h:p` → `h:p`, to compare client URLs. */
function hostPort(url: string): string {
  return url.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '')
}

/** The member a target names: exact name, exact id, client URL, then a unique id prefix. */
export function findMember(members: readonly MemberInfo[], target: string, cluster: string): MemberInfo {
  const byName = members.filter((m) => m.name === target)
  const byId = members.filter((m) => m.id === target)
  const byClient = /^nats:\/\//.test(target) || /^[^/:]+:\d+$/.test(target)
    ? members.filter((m) => hostPort(m.clientUrl) === hostPort(target))
    : []
  const byPrefix = target.length >= 4 ? members.filter((m) => m.id.startsWith(target)) : []
  const found = [byName, byId, byClient, byPrefix].find((list) => list.length > 0) ?? []
  if (found.length === 1) return found[0]
  if (found.length > 1) {
    throw new OperationError(`"${target}" names ${found.length} nodes in cluster "${cluster}": ${found.map(describeMember).join(', ')}; ` +
      `give a server id (at least ${SHORT_ID_LENGTH} characters) instead`)
  }
  const known = members.length === 0 ? 'none is registered' : `members: ${sortMembers(members).map(describeMember).join(', ')}`
  throw new OperationError(`no node "${target}" in cluster "${cluster}" (${known})`)
}

/** The node at a monitoring URL: named from the membership when it is there, else from its own /varz. */
export async function targetAtMonitor(url: string, discovery: ZooKeeperDiscovery | null, timeoutMs: number): Promise<NodeTarget> {
  const monitorUrl = trimUrl(url)
  const member = discovery?.members().find((m) => m.monitorUrl !== null && trimUrl(m.monitorUrl) === monitorUrl)
  if (member !== undefined) return { label: describeMember(member), id: member.id, monitorUrl }
  try {
    const { id, name } = await serverIdAt(monitorUrl, timeoutMs)
    return { label: `${name} (${shortId(id)})`, id: discovery === null ? null : id, monitorUrl }
  } catch (err) {
    throw new OperationError(`node at ${monitorUrl} is not answering: ${err instanceof Error ? err.message : String(err)}`)
  }
}

/** The registered node a name, id, id prefix or client URL names; it must have a monitoring URL. */
export function targetInCluster(members: readonly MemberInfo[], target: string, cluster: string): NodeTarget {
  const member = findMember(members, target, cluster)
  if (member.monitorUrl === null) {
    throw new OperationError(`node ${describeMember(member)} has no monitoring URL (it was started without -m/--http_port): ` +
      'send its process SIGUSR2 to drain it, or SIGTERM to stop it')
  }
  return { label: describeMember(member), id: member.id, monitorUrl: trimUrl(member.monitorUrl) }
}

/** POST /drain or /stop; OperationError unless the node answers 200. */
export async function requestLameDuck(action: LameDuckAction, target: NodeTarget, timeoutMs: number): Promise<void> {
  const url = `${target.monitorUrl}/${action}`
  let answer
  try {
    answer = await httpRequest('POST', url, timeoutMs)
  } catch (err) {
    throw new OperationError(`node ${target.label} is not answering at ${target.monitorUrl}: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (answer.status === 200) return
  const why = answer.body.trim() === '' ? `HTTP ${answer.status}` : `HTTP ${answer.status}: ${answer.body.trim()}`
  throw new OperationError(`node ${target.label} refused ${action} at ${url} (${why})`)
}

/**
 * Polls until the node has left: znode gone (with ZooKeeper; onLeft is told
 * when), then nothing listening on its monitoring port. Returns both times in
 * ms, or null when it is still running after waitMs.
 */
export async function waitUntilGone(target: NodeTarget, discovery: ZooKeeperDiscovery | null, waitMs: number, timeoutMs: number,
  onLeft: (leftMs: number) => void): Promise<{ leftMs: number | null; goneMs: number } | null> {
  const started = Date.now()
  let leftMs: number | null = null
  for (let i = 0; i < Math.ceil(waitMs / WAIT_POLL_MS) + 10; i++) {
    const elapsed = Date.now() - started
    if (discovery !== null && target.id !== null && leftMs === null && !discovery.members().some((m) => m.id === target.id)) {
      leftMs = elapsed
      onLeft(leftMs)
    }
    try {
      await httpRequest('GET', `${target.monitorUrl}/healthz`, timeoutMs)
    } catch (err) {
      // Refused: the process closed its monitor on the way out. A timeout is a hung node, not a gone one.
      if (err instanceof NoAnswer && err.kind === 'refused') return { leftMs, goneMs: Date.now() - started }
    }
    if (Date.now() - started > waitMs) break
    await sleep(WAIT_POLL_MS)
  }
  return null
}
