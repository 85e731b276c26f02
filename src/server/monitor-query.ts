// Query values of the monitoring endpoints, read as nats-server's
// decodeBool/decodeInt (monitor.go) read them: the same spellings are
// accepted, and anything else is a MonitorQueryError, answered with 400.
import { NatsmeshError } from '../errors.js'

/** nats-server's default page size for /connz and /subsz (monitor.go DefaultConnListSize). */
export const DEFAULT_LIST_LIMIT = 1024

/** A query value the endpoint cannot use; answered with 400 and this message. */
export class MonitorQueryError extends NatsmeshError {
  constructor(message: string) {
    super('NATSMESH_ERR_MONITOR_QUERY', message)
  }
}

const GO_TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True'])
const GO_FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False'])

/** strconv.ParseBool's spellings; a missing or empty value is false. */
export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name)
  if (v === null || v === '' || GO_FALSE.has(v)) return false
  if (GO_TRUE.has(v)) return true
  throw new MonitorQueryError(`Error decoding boolean for '${name}': invalid syntax: ${JSON.stringify(v)}`)
}

export function queryInt(q: URLSearchParams, name: string, fallback: number): number {
  const v = q.get(name)
  if (v === null || v === '') return fallback
  if (!/^[+-]?\d{1,15}$/.test(v)) throw new MonitorQueryError(`Error decoding int for '${name}': invalid syntax: ${JSON.stringify(v)}`)
  return Number(v)
}

export type SubsOption = 'none' | 'list' | 'detail'

/** `subs=1` lists subjects, `subs=detail` lists SubDetail objects (nats-server 2.9 connz and routez). */
export function querySubs(q: URLSearchParams): SubsOption {
  if (q.get('subs') === 'detail') return 'detail'
  return queryBool(q, 'subs') ? 'list' : 'none'
}

/** Offset below 0 counts as 0 and a limit of 0 or less as the default, as nats-server does. */
export function queryPage(q: URLSearchParams): { offset: number; limit: number } {
  const offset = queryInt(q, 'offset', 0)
  const limit = queryInt(q, 'limit', DEFAULT_LIST_LIMIT)
  return { offset: offset < 0 ? 0 : offset, limit: limit <= 0 ? DEFAULT_LIST_LIMIT : limit }
}
