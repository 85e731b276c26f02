// `host:port` strings as nats-server reads them: Go's net.SplitHostPort (for
// `listen`, `http` and `cluster { listen }`) and nats-server's parseHostPort
// (server/util.go, for `client_advertise` and `cluster { advertise }`, where
// the port may be left out). The texts are Go's, so errors read as
// nats-server's do.
import { OptionsError } from '../errors.js'

export type HostPortSplit = { host: string; port: string; error: null } | { host: null; port: null; error: string }

function addrError(hostport: string, reason: string): HostPortSplit {
  return { host: null, port: null, error: `address ${hostport}: ${reason}` }
}

/** Go's net.SplitHostPort: `host:port`, `[v6]:port`, `:port`; the port is not checked. */
export function splitHostPort(hostport: string): HostPortSplit {
  const colon = hostport.lastIndexOf(':')
  if (colon < 0) return addrError(hostport, 'missing port in address')
  let host: string
  let afterOpen = 0
  let afterClose = 0
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']')
    if (end < 0) return addrError(hostport, "missing ']' in address")
    if (end + 1 === hostport.length) return addrError(hostport, 'missing port in address')
    if (end + 1 !== colon) {
      return addrError(hostport, hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address')
    }
    host = hostport.slice(1, end)
    afterOpen = 1
    afterClose = end + 1
  } else {
    host = hostport.slice(0, colon)
    if (host.includes(':')) return addrError(hostport, 'too many colons in address')
  }
  if (hostport.slice(afterOpen).includes('[')) return addrError(hostport, "unexpected '[' in address")
  if (hostport.slice(afterClose).includes(']')) return addrError(hostport, "unexpected ']' in address")
  return { host, port: hostport.slice(colon + 1), error: null }
}

/** Go's strconv.Atoi within JavaScript's exact integers: an optional sign and ASCII digits; null otherwise. */
export function goAtoi(text: string): number | null {
  if (!/^[+-]?[0-9]+$/.test(text)) return null
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : null
}

export type Advertised = { host: string; port: number; error: null } | { host: null; port: null; error: string }

/**
 * nats-server's parseHostPort for an advertise address: `host:port`, or
 * `host` alone, which takes defaultPort; a port of 0 or -1 also means
 * defaultPort (the port actually bound).
 */
export function parseAdvertise(hostPort: string, defaultPort: number): Advertised {
  if (hostPort === '') return { host: null, port: null, error: 'no hostport specified' }
  let split = splitHostPort(hostPort)
  if (split.error !== null && split.error.includes('missing port')) split = splitHostPort(`${hostPort}:${defaultPort}`)
  if (split.error !== null) return { host: null, port: null, error: split.error }
  const text = split.port.trim()
  const port = goAtoi(text)
  if (port === null) return { host: null, port: null, error: `strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax` }
  return { host: split.host.trim(), port: port === 0 || port === -1 ? defaultPort : port, error: null }
}

/** Why natsmesh cannot hand out this advertise address (nats-server's parse, a host, a port from 1 to 65535); null when it can. */
export function advertiseProblem(value: string): string | null {
  const advertised = parseAdvertise(value, 1)
  if (advertised.error !== null) return `expected host or host:port, got ${JSON.stringify(value)} (${advertised.error})`
  if (advertised.host === '' || advertised.port < 1 || advertised.port > 65535) {
    return `expected host or host:port with a port from 1 to 65535, got ${JSON.stringify(value)}`
  }
  return null
}

/** advertiseProblem as an OptionsError naming the flag. */
export function checkAdvertise(flag: string, value: string): void {
  const problem = advertiseProblem(value)
  if (problem !== null) throw new OptionsError(`--${flag}: ${problem}`)
}
