// The CONNECT a client sent: the fields we act on, read as nats-server's
// strict JSON decoder reads them (a wrong type is an error, not a default).
/** The fields of CONNECT we act on, with nats-server's defaults for a client that omits them. */
export class ClientOptions {
  verbose = true
  pedantic = true
  echo = true
  headers = false
  noResponders = false
  protocol = 0
  name = ''
  lang = ''
  version = ''
  user = ''
}

const CONNECT_BOOLEANS = ['verbose', 'pedantic', 'echo', 'headers', 'no_responders', 'tls_required'] as const
const CONNECT_STRINGS = ['name', 'lang', 'version', 'user', 'pass', 'auth_token', 'jwt', 'nkey', 'sig'] as const

/** Parses CONNECT's JSON as nats-server's strict decoder would: wrong types are an error. */
export function parseConnect(json: string): ClientOptions | null {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    return null
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null
  const obj = raw as Record<string, unknown>
  for (const k of CONNECT_BOOLEANS) if (k in obj && obj[k] !== null && typeof obj[k] !== 'boolean') return null
  for (const k of CONNECT_STRINGS) if (k in obj && obj[k] !== null && typeof obj[k] !== 'string') return null
  if ('protocol' in obj && obj.protocol !== null && !Number.isInteger(obj.protocol)) return null
  const o = new ClientOptions()
  if (typeof obj.verbose === 'boolean') o.verbose = obj.verbose
  if (typeof obj.pedantic === 'boolean') o.pedantic = obj.pedantic
  if (typeof obj.echo === 'boolean') o.echo = obj.echo
  if (typeof obj.headers === 'boolean') o.headers = obj.headers
  if (typeof obj.no_responders === 'boolean') o.noResponders = obj.no_responders
  if (typeof obj.protocol === 'number') o.protocol = obj.protocol
  if (typeof obj.name === 'string') o.name = obj.name
  if (typeof obj.lang === 'string') o.lang = obj.lang
  if (typeof obj.version === 'string') o.version = obj.version
  if (typeof obj.user === 'string') o.user = obj.user
  return o
}
