// The HTTP monitoring endpoints over real HTTP, against an in-process node,
// and against nats-server 2.9 for the field names, types and status codes we
// promise to share with it.
import net from 'node:net'
import { connect, type NatsConnection, type ConnectionOptions } from 'nats'
import t, { type Test } from 'tap'
import { getJson as getJsonWithin } from '../../src/ops/http.js'
import { sleep } from '../../src/wait.js'
import { freePort, isAccepting } from '../helpers/free-port.js'
import { startNatsServer } from '../helpers/nats-server.js'
import { startNode } from '../helpers/natsmesh.js'
import { FakeRoute, startMeshNode, until } from '../helpers/cluster.js'
import { SILENT_LOGGER } from '../../src/server/logger.js'
import { NO_MONITOR_HOOKS, type MonitorHooks, type RouteRow } from '../../src/server/cluster-seam.js'
import type { RouteInfo } from '../../src/server/monitor-rows.js'
import { formatGoDuration, formatUptime, type MetricFamily } from '../../src/server/monitor-format.js'
import { COMPAT_VERSION, NATSMESH_VERSION, Server } from '../../src/server/server.js'

// ---- helpers --------------------------------------------------------------------

interface Answer {
  status: number
  type: string
  headers: Headers
  text: string
}

async function get(url: string, method = 'GET'): Promise<Answer> {
  const res = await fetch(url, { method, signal: AbortSignal.timeout(5000) })
  return { status: res.status, type: res.headers.get('content-type') ?? '', headers: res.headers, text: await res.text() }
}

function getJson(url: string): Promise<Record<string, unknown>> {
  return getJsonWithin(url, 5000)
}

async function node(t: Test, options: Partial<ConstructorParameters<typeof Server>[0]> = {}): Promise<{ server: Server; url: string }> {
  const server = await startNode({ httpPort: await freePort(), ...options })
  t.teardown(() => server.shutdown())
  const url = server.monitorUrl
  if (url === null) throw new Error('monitor not listening')
  return { server, url }
}

async function client(t: Test, port: number, options: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false, ...options })
  t.teardown(() => nc.close().catch(() => {}))
  return nc
}

async function natsServerMonitor(t: Test, extraArgs: string[] = []): Promise<{ url: string; port: number }> {
  const httpPort = await freePort()
  const ns = await startNatsServer(['-m', String(httpPort), ...extraArgs])
  t.teardown(() => ns.stop())
  return { url: `http://127.0.0.1:${httpPort}`, port: ns.port }
}

/** 'array', 'null' or typeof: the JSON type of a field, to compare shapes across servers. */
function jsonType(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v
}

function asRecord(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`not an object: ${JSON.stringify(v)}`)
  return v as Record<string, unknown>
}

function asList(v: unknown): Record<string, unknown>[] {
  if (!Array.isArray(v)) throw new Error(`not an array: ${JSON.stringify(v)}`)
  return v.map(asRecord)
}

/** Every promised field is in both answers with the same JSON type. */
function sameFields(t: Test, what: string, fields: readonly string[], ours: Record<string, unknown>, theirs: Record<string, unknown>): void {
  for (const f of fields) {
    t.ok(f in theirs, `${what}: nats-server has ${f}`)
    t.ok(f in ours, `${what}: natsmesh has ${f}`)
    t.equal(jsonType(ours[f]), jsonType(theirs[f]), `${what}: ${f} has nats-server's JSON type`)
  }
}

const UPTIME = /^(\d+y)?(\d+d)?(\d+h)?(\d+m)?\d+s$/

// ---- a strict Prometheus text-format parser -------------------------------------

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Family { help: string | null; type: string | null; samples: Sample[] }

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

function parseValue(s: string): number {
  if (s === 'NaN') return NaN
  if (s === '+Inf') return Infinity
  if (s === '-Inf') return -Infinity
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`bad value '${s}'`)
  return Number(s)
}

/** Label set `{a="x",b="y"}` at the start of s: the labels and what follows. */
function parseLabels(s: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {}
  let rest = s.slice(1)
  for (let guard = 0; guard < 1000; guard++) {
    if (rest.startsWith('}')) return [labels, rest.slice(1)]
    const m = LABEL.exec(rest)
    if (m === null) throw new Error(`bad label name in '${s}'`)
    const name = m[0]
    if (name in labels) throw new Error(`repeated label ${name}`)
    rest = rest.slice(name.length)
    if (!rest.startsWith('="')) throw new Error(`expected =" after ${name}`)
    rest = rest.slice(2)
    let value = ''
    let i = 0
    for (; i < rest.length && rest[i] !== '"'; i++) {
      if (rest[i] === '\n') throw new Error('raw line feed in a label value')
      if (rest[i] !== '\\') { value += rest[i]; continue }
      const next = rest[++i]
      if (next === '\\') value += '\\'
      else if (next === '"') value += '"'
      else if (next === 'n') value += '\n'
      else throw new Error(`bad escape \\${next}`)
    }
    if (i >= rest.length) throw new Error('unterminated label value')
    labels[name] = value
    rest = rest.slice(i + 1)
    if (rest.startsWith(',')) rest = rest.slice(1)
    else if (!rest.startsWith('}')) throw new Error(`expected , or } in '${s}'`)
  }
  throw new Error('too many labels')
}

/**
 * Text format 0.0.4: HELP and TYPE at most once per family and before its
 * samples; every sample's family declared; a family's samples together; no
 * series twice; the page ends with a line feed.
 */
function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the page must end with a line feed')
  const families = new Map<string, Family>()
  const series = new Set<string>()
  const finished = new Set<string>()
  let current: string | null = null
  const family = (name: string): Family => {
    let f = families.get(name)
    if (f === undefined) { f = { help: null, type: null, samples: [] }; families.set(name, f) }
    return f
  }
  const enter = (name: string): void => {
    if (current === name) return
    if (current !== null) finished.add(current)
    if (finished.has(name)) throw new Error(`family ${name} is split`)
    current = name
  }
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') throw new Error('empty line')
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta !== null) {
      const [, kind, name, rest] = meta
      if (!NAME.test(name) || NAME.exec(name)?.[0] !== name) throw new Error(`bad name ${name}`)
      enter(name)
      const f = family(name)
      if (f.samples.length > 0) throw new Error(`${kind} for ${name} after its samples`)
      if (kind === 'HELP') {
        if (f.help !== null) throw new Error(`second HELP for ${name}`)
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`bad escape in HELP of ${name}`)
        f.help = rest
      } else {
        if (f.type !== null) throw new Error(`second TYPE for ${name}`)
        if (!TYPES.has(rest)) throw new Error(`bad type ${rest}`)
        f.type = rest
      }
      continue
    }
    if (line.startsWith('#')) continue
    const m = NAME.exec(line)
    if (m === null) throw new Error(`bad sample line '${line}'`)
    const name = m[0]
    let rest = line.slice(name.length)
    let labels: Record<string, string> = {}
    if (rest.startsWith('{')) [labels, rest] = parseLabels(rest)
    if (!rest.startsWith(' ')) throw new Error(`expected a space before the value in '${line}'`)
    const parts = rest.slice(1).split(' ')
    if (parts.length > 2) throw new Error(`trailing text in '${line}'`)
    const value = parseValue(parts[0])
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp in '${line}'`)
    const f = families.get(name)
    if (f === undefined || f.type === null || f.help === null) throw new Error(`sample of undeclared family ${name}`)
    enter(name)
    const key = name + JSON.stringify(Object.entries(labels).sort())
    if (series.has(key)) throw new Error(`series repeated: ${line}`)
    series.add(key)
    f.samples.push({ name, labels, value })
  }
  return families
}

function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort())
  return families.get(name)?.samples.find((s) => JSON.stringify(Object.entries(s.labels).sort()) === want)?.value
}

// ---- field names shared with nats-server ---------------------------------------

const VARZ_FIELDS = [
  'server_id', 'server_name', 'version', 'proto', 'host', 'port', 'max_connections', 'ping_interval', 'ping_max',
  'http_host', 'http_port', 'http_base_path', 'https_port', 'max_control_line', 'max_payload', 'max_pending', 'cluster',
  'write_deadline', 'start', 'now', 'uptime', 'mem', 'cores', 'cpu', 'connections', 'total_connections', 'routes',
  'remotes', 'in_msgs', 'out_msgs', 'in_bytes', 'out_bytes', 'slow_consumers', 'subscriptions', 'http_req_stats',
  'config_load_time',
] as const
const CONNZ_FIELDS = ['server_id', 'now', 'num_connections', 'total', 'offset', 'limit', 'connections'] as const
const CONN_FIELDS = [
  'cid', 'kind', 'type', 'ip', 'port', 'start', 'last_activity', 'rtt', 'uptime', 'idle', 'pending_bytes', 'in_msgs',
  'out_msgs', 'in_bytes', 'out_bytes', 'subscriptions', 'name', 'lang', 'version', 'subscriptions_list',
] as const
const SUB_DETAIL_FIELDS = ['subject', 'qgroup', 'sid', 'msgs', 'cid'] as const
const ROUTEZ_FIELDS = ['server_id', 'now', 'num_routes', 'routes'] as const
const SUBSZ_STATS = ['num_subscriptions', 'num_cache', 'num_inserts', 'num_removes', 'num_matches', 'cache_hit_rate', 'max_fanout', 'avg_fanout'] as const
const SUBSZ_LIST_FIELDS = ['server_id', 'now', 'total', 'offset', 'limit', 'subscriptions_list'] as const
/** Every RouteInfo field nats-server 2.9 has too (remote_name came later). */
const ROUTE_FIELDS: ReadonlyArray<keyof RouteInfo> = [
  'rid', 'remote_id', 'did_solicit', 'is_configured', 'ip', 'port', 'start', 'last_activity', 'rtt', 'uptime', 'idle',
  'pending_size', 'in_msgs', 'out_msgs', 'in_bytes', 'out_bytes', 'subscriptions', 'subscriptions_list',
]

/** The same clients on both servers: a named nats.js client with a plain and a queue subscription, one message. */
async function sameTraffic(t: Test, port: number): Promise<void> {
  const nc = await client(t, port, { name: 'probe' })
  nc.subscribe('foo.bar')
  nc.subscribe('q.>', { queue: 'workers' })
  nc.publish('foo.bar', 'hi')
  await nc.flush()
}

t.test('every field we promise is in nats-server\'s answer too, with the same JSON type', async (t) => {
  const ns = await natsServerMonitor(t)
  const { server, url } = await node(t)
  await sameTraffic(t, ns.port)
  await sameTraffic(t, server.port)

  sameFields(t, 'varz', VARZ_FIELDS, await getJson(`${url}/varz`), await getJson(`${ns.url}/varz`))

  for (const subs of ['1', 'detail']) {
    const ours = await getJson(`${url}/connz?subs=${subs}`)
    const theirs = await getJson(`${ns.url}/connz?subs=${subs}`)
    sameFields(t, 'connz', CONNZ_FIELDS, ours, theirs)
    const [oc] = asList(ours.connections)
    const [tc] = asList(theirs.connections)
    const connFields = CONN_FIELDS.filter((f) => subs === '1' || f !== 'subscriptions_list')
    sameFields(t, `connz?subs=${subs} connection`, connFields, oc, tc)
    if (subs === 'detail') {
      const queueSub = (c: Record<string, unknown>): Record<string, unknown> =>
        asList(c.subscriptions_list_detail).find((d) => d.qgroup === 'workers') ?? {}
      sameFields(t, 'subscriptions_list_detail', SUB_DETAIL_FIELDS, queueSub(oc), queueSub(tc))
    }
  }

  sameFields(t, 'routez', ROUTEZ_FIELDS, await getJson(`${url}/routez?subs=1`), await getJson(`${ns.url}/routez?subs=1`))

  const bareOurs = await getJson(`${url}/subsz`)
  const bareTheirs = await getJson(`${ns.url}/subsz`)
  sameFields(t, 'subsz', SUBSZ_STATS, bareOurs, bareTheirs)
  t.same(Object.keys(bareOurs).sort(), Object.keys(bareTheirs).sort(), 'bare /subsz is only the statistics, on both')
  const listOurs = await getJson(`${url}/subsz?subs=1&test=foo.bar`)
  const listTheirs = await getJson(`${ns.url}/subsz?subs=1&test=foo.bar`)
  sameFields(t, 'subsz?subs=1', [...SUBSZ_STATS, ...SUBSZ_LIST_FIELDS], listOurs, listTheirs)
  const [os] = asList(listOurs.subscriptions_list)
  const [ts] = asList(listTheirs.subscriptions_list)
  sameFields(t, 'subsz subscriptions_list', ['account', 'subject', 'sid', 'msgs', 'cid'], os, ts)

  const ourHealth = await get(`${url}/healthz`)
  const theirHealth = await get(`${ns.url}/healthz`)
  t.equal(ourHealth.text, theirHealth.text, '/healthz body is nats-server\'s')
  t.equal(ourHealth.status, 200)
})

t.test('status codes match nats-server for bad queries and unknown paths', async (t) => {
  const ns = await natsServerMonitor(t)
  const { url } = await node(t)
  const paths = [
    '/connz?sort=bogus', '/connz?sort=stop', '/connz?sort=reason', '/connz?limit=abc', '/connz?offset=x', '/connz?subs=maybe',
    '/connz?cid=abc', '/connz?state=bogus', '/subsz?test=foo.*', '/subsz?limit=x', '/subsz?subs=maybe',
    '/connz?limit=-1', '/connz?offset=-1', '/connz?subs=t', '/connz?subs=', '/nope', '/varz/x',
  ]
  for (const p of paths) {
    const ours = await get(url + p)
    const theirs = await get(ns.url + p)
    t.equal(ours.status, theirs.status, `${p}: ${theirs.status} as nats-server`)
    if (ours.status === 400) t.match(ours.text, /\S/, `${p}: the 400 says why`)
  }
  const sort = await get(`${url}/connz?sort=bogus`)
  t.equal(sort.text, 'invalid sorting option: bogus\n', 'the same message as nats-server')
})

t.test('a natsmesh route row has nats-server\'s RouteInfo fields with their JSON types, and its varz cluster has name, addr, cluster_port, urls, as nats-server\'s do', async (t) => {
  const [c1, c2] = [await freePort(), await freePort()]
  const a = await natsServerMonitor(t, ['--cluster', `nats://127.0.0.1:${c1}`, '--cluster_name', 'mon', '--routes', `nats://127.0.0.1:${c2}`])
  const b = await natsServerMonitor(t, ['--cluster', `nats://127.0.0.1:${c2}`, '--cluster_name', 'mon', '--routes', `nats://127.0.0.1:${c1}`])
  // A subscription on b, so that a's row has a subscriptions_list (omitted when empty).
  const onB = await client(t, b.port)
  onB.subscribe('probe.route')
  await onB.flush()
  let routes: Record<string, unknown>[] = []
  await until('nats-server a lists the route to b with b\'s subscription', async () => {
    routes = asList((await getJson(`${a.url}/routez?subs=1`)).routes)
    return routes.length === 1 && Array.isArray(routes[0].subscriptions_list) && routes[0].subscriptions_list.includes('probe.route')
  })
  t.equal(routes.length, 1, 'the two nats-servers routed')
  for (const f of ROUTE_FIELDS) t.ok(f in routes[0], `nats-server's route has ${f}`)
  const cluster = asRecord((await getJson(`${a.url}/varz`)).cluster)
  for (const f of ['name', 'addr', 'cluster_port', 'urls']) t.ok(f in cluster, `nats-server's varz cluster has ${f}`)

  // natsmesh's own row: a clustered node with one route (a fake peer speaking the route protocol).
  const monitorPort = await freePort()
  const mesh = await startMeshNode(t, { label: 'M', extraArgs: ['-m', String(monitorPort)] })
  const peer = await FakeRoute.connect(t, mesh.routePort)
  const meshUrl = `http://127.0.0.1:${monitorPort}`
  let ours: Record<string, unknown>[] = []
  peer.send('RS+ $G probe.route\r\n')
  await until('natsmesh lists the route and the peer\'s interest in /routez', async () => {
    ours = asList((await getJson(`${meshUrl}/routez?subs=1`)).routes)
    return ours.length === 1 && Array.isArray(ours[0].subscriptions_list)
  })
  t.equal(ours[0].remote_id, peer.serverId, 'natsmesh\'s row is the route to the peer')
  sameFields(t, 'routez route', ROUTE_FIELDS, ours[0], routes[0])
  sameFields(t, 'varz cluster', ['name', 'addr', 'cluster_port', 'urls'], asRecord((await getJson(`${meshUrl}/varz`)).cluster), cluster)
})

// ---- /varz ------------------------------------------------------------------------

t.test('/varz describes this node: ids, versions, limits as Go durations, counters', async (t) => {
  const { server, url } = await node(t, { serverName: 'mon-a', maxPayload: 2048, pingIntervalMs: 90_000 })
  const nc = await client(t, server.port)
  nc.subscribe('a')
  nc.publish('a', 'hello')
  await nc.flush()
  const v = await getJson(`${url}/varz`)
  t.equal(v.server_id, server.id)
  t.equal(v.server_name, 'mon-a')
  t.equal(v.version, COMPAT_VERSION)
  t.equal(v.natsmesh_version, NATSMESH_VERSION)
  t.equal(v.port, server.port)
  t.equal(v.http_port, Number(new URL(url).port))
  t.equal(v.max_payload, 2048)
  t.equal(v.ping_interval, 90_000_000_000, 'a Go time.Duration in JSON: nanoseconds')
  t.equal(v.write_deadline, 10_000_000_000)
  t.equal(v.connections, 1)
  t.equal(v.total_connections, 1)
  t.equal(v.subscriptions, 1)
  t.equal(v.in_msgs, 1)
  t.equal(v.out_msgs, 1)
  t.equal(v.in_bytes, 5)
  t.equal(v.routes, 0)
  t.same(v.cluster, {})
  t.match(v.uptime, UPTIME)
  t.ok(Date.parse(String(v.start)) <= Date.parse(String(v.now)), 'start and now are dates, start first')
  t.ok(typeof v.mem === 'number' && v.mem > 0)
  t.same(v.http_req_stats, { '/varz': 1 })
})

// ---- /connz -----------------------------------------------------------------------

t.test('/connz pages, sorts, filters by cid and lists subscriptions', async (t) => {
  const { server, url } = await node(t)
  const a = await client(t, server.port, { name: 'a' })
  a.subscribe('a1')
  await a.flush()
  const b = await client(t, server.port, { name: 'b' })
  for (const s of ['b1', 'b2', 'b3']) b.subscribe(s)
  await b.flush()
  const c = await client(t, server.port, { name: 'c' })
  c.subscribe('y')
  c.subscribe('z', { queue: 'workers' })
  await c.flush()
  for (let i = 0; i < 3; i++) a.publish('y', 'xyz')
  await a.flush()

  const names = async (query: string): Promise<string[]> =>
    asList((await getJson(`${url}/connz?${query}`)).connections).map((x) => String(x.name))

  t.same(await names(''), ['a', 'b', 'c'], 'by cid by default')
  t.same(await names('sort=subs'), ['b', 'c', 'a'], 'most subscriptions first')
  t.same(await names('sort=msgs_from'), ['a', 'b', 'c'], 'most messages in first')
  t.same((await names('sort=msgs_to'))[0], 'c', 'most messages out first')
  t.same((await names('sort=bytes_from'))[0], 'a')
  t.same((await names('sort=bytes_to'))[0], 'c')
  t.same((await names('sort=last'))[0], 'a', 'most recent activity first')
  t.same(await names('sort=uptime'), ['c', 'b', 'a'], 'shortest uptime first, as nats-server\'s byUptime')
  for (const sort of ['start', 'pending', 'idle']) t.equal((await names(`sort=${sort}`)).length, 3, `sort=${sort} is accepted`)

  const page = await getJson(`${url}/connz?limit=2&offset=1`)
  t.same(asList(page.connections).map((x) => x.name), ['b', 'c'])
  t.match(page, { num_connections: 2, total: 3, offset: 1, limit: 2 })
  const past = await getJson(`${url}/connz?offset=10`)
  t.match(past, { num_connections: 0, total: 3, offset: 10, connections: [] })

  const all = asList((await getJson(`${url}/connz`)).connections)
  const cidOf = (name: string): unknown => all.find((x) => x.name === name)?.cid
  const one = await getJson(`${url}/connz?cid=${String(cidOf('b'))}&subs=1`)
  t.match(one, { num_connections: 1, limit: 1 })
  const [bInfo] = asList(one.connections)
  t.same([...(bInfo.subscriptions_list as string[])].sort(), ['b1', 'b2', 'b3'])
  t.match(bInfo, { kind: 'Client', type: 'nats', ip: '127.0.0.1', subscriptions: 3, lang: 'nats.js', rtt: '0s' })
  t.match(bInfo.uptime, UPTIME)
  t.match(bInfo.idle, UPTIME)

  const [cInfo] = asList((await getJson(`${url}/connz?cid=${String(cidOf('c'))}&subs=detail`)).connections)
  t.match(cInfo, { in_msgs: 0, out_msgs: 3 })
  // As nats-server: payload bytes only (three 'xyz'), not the MSG lines around them.
  t.equal(cInfo.out_bytes, 9, 'out_bytes counts the payloads')
  t.notOk('subscriptions_list' in cInfo, 'detail replaces the plain list')
  const detail = asList(cInfo.subscriptions_list_detail).sort((x, y) => String(x.subject).localeCompare(String(y.subject)))
  t.match(detail, [{ subject: 'y', cid: cidOf('c') }, { subject: 'z', qgroup: 'workers', cid: cidOf('c') }])
  t.notOk('qgroup' in detail[0], 'no qgroup for a plain subscription')
  t.equal(asList((await getJson(`${url}/connz?cid=999`)).connections).length, 0, 'an unknown cid lists nothing')
  t.equal((await get(`${url}/connz?cid=-1`)).status, 400)
  t.equal((await get(`${url}/connz?state=closed`)).status, 400, 'no closed-connection ring to show')
})

// ---- /subsz -----------------------------------------------------------------------

t.test('/subsz counts inserts and removes, filters with test and pages the list', async (t) => {
  const { server, url } = await node(t)
  const nc = await client(t, server.port)
  const subs = ['foo.bar', 'foo.*', 'foo.>', 'other'].map((s) => nc.subscribe(s))
  await nc.flush()
  subs[3].unsubscribe()
  await nc.flush()
  const stats = await getJson(`${url}/subsz`)
  t.match(stats, { num_subscriptions: 3, num_inserts: 4, num_removes: 1, num_matches: 0 })
  const listed = await getJson(`${url}/subsz?subs=1&test=foo.bar`)
  t.equal(listed.total, 3, 'foo.bar, foo.* and foo.> match the test subject')
  t.same(asList(listed.subscriptions_list).map((s) => s.subject).sort(), ['foo.*', 'foo.>', 'foo.bar'])
  t.match(asList(listed.subscriptions_list)[0], { account: '$G' })
  const none = await getJson(`${url}/subsz?subs=1&test=foo.bar.baz`)
  t.same(asList(none.subscriptions_list).map((s) => s.subject), ['foo.>'])
  const page = await getJson(`${url}/subsz?subs=1&limit=1&offset=2`)
  t.match(page, { total: 3, offset: 2, limit: 1 })
  t.equal(asList(page.subscriptions_list).length, 1)
  const bad = await get(`${url}/subsz?test=foo.*`)
  t.equal(bad.status, 400)
  t.equal(bad.text, 'invalid test subject, must be valid publish subject: foo.*\n')
})

// ---- /healthz and lifecycle ---------------------------------------------------------

t.test('/healthz is 200 while running and 503 with the reason otherwise; shutdown closes the listener', async (t) => {
  const server = await startNode({ httpPort: await freePort() })
  const url = server.monitorUrl ?? ''
  t.teardown(() => server.shutdown())
  t.same(await getJson(`${url}/healthz`), { status: 'ok' })
  server.state = 'lame-duck'
  const duck = await get(`${url}/healthz`)
  t.equal(duck.status, 503)
  t.same(JSON.parse(duck.text), { status: 'unavailable', error: 'server is in lame duck mode' })
  server.state = 'new'
  t.match(JSON.parse((await get(`${url}/healthz`)).text), { status: 'unavailable', error: /not yet/ })
  server.state = 'running'
  t.equal((await get(`${url}/healthz`)).status, 200)
  await server.shutdown()
  t.equal(server.monitorUrl, null)
  await t.rejects(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) }), 'nothing listens after shutdown')
})

t.test('no monitor without --http_port, and a taken http port fails start without leaving the client port open', async (t) => {
  const plain = await startNode()
  t.teardown(() => plain.shutdown())
  t.equal(plain.monitorUrl, null)

  const blocker = net.createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
  const taken = (blocker.address() as net.AddressInfo).port
  const clientPort = await freePort()
  const server = new Server({ host: '127.0.0.1', port: clientPort, httpPort: taken }, SILENT_LOGGER)
  await t.rejects(server.start(), { code: 'EADDRINUSE' })
  const isOpen = await isAccepting(clientPort)
  t.notOk(isOpen, 'the client port was never opened')
})

// ---- methods, paths, index ------------------------------------------------------------

t.test('only GET and HEAD; unknown paths are 404; / links every endpoint', async (t) => {
  const { url } = await node(t)
  const post = await get(`${url}/varz`, 'POST')
  t.equal(post.status, 405)
  t.equal(post.headers.get('allow'), 'GET, HEAD')
  const head = await get(`${url}/varz`, 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.text, '', 'HEAD has no body')
  t.ok(Number(head.headers.get('content-length')) > 0, 'HEAD tells the length GET would send')
  t.equal((await get(`${url}/nope`)).status, 404)
  t.equal((await get(`${url}/varz/`)).status, 404)
  const index = await get(`${url}/`)
  t.equal(index.status, 200)
  t.match(index.type, /^text\/html/)
  for (const p of ['varz', 'connz', 'routez', 'subsz', 'healthz', 'metrics']) t.match(index.text, `href="./${p}"`)
})

// ---- /metrics ---------------------------------------------------------------------------

t.test('/metrics is valid Prometheus text with the core families', async (t) => {
  const { server, url } = await node(t)
  const nc = await client(t, server.port)
  nc.subscribe('m')
  nc.publish('m', 'abcd')
  await nc.flush()
  const page = await get(`${url}/metrics`)
  t.equal(page.status, 200)
  t.match(page.type, /^text\/plain; version=0\.0\.4/)
  const families = parsePrometheus(page.text)
  for (const name of families.keys()) t.match(name, /^natsmesh_/, `${name} has the prefix`)
  t.equal(sampleValue(families, 'natsmesh_connections'), 1)
  t.equal(sampleValue(families, 'natsmesh_connections_accepted_total'), 1)
  t.equal(sampleValue(families, 'natsmesh_subscriptions'), 1)
  t.equal(sampleValue(families, 'natsmesh_in_msgs_total'), 1)
  t.equal(sampleValue(families, 'natsmesh_out_bytes_total'), 4)
  t.equal(sampleValue(families, 'natsmesh_slow_consumers_total'), 0)
  t.equal(sampleValue(families, 'natsmesh_routes'), 0)
  t.equal(sampleValue(families, 'natsmesh_server_state', { state: 'running' }), 1)
  t.equal(sampleValue(families, 'natsmesh_server_state', { state: 'lame-duck' }), 0)
  t.equal(sampleValue(families, 'natsmesh_info', { server_id: server.id, server_name: server.name, version: COMPAT_VERSION, natsmesh_version: NATSMESH_VERSION }), 1)
  for (const [name, f] of families) if (f.type === 'counter') t.match(name, /_total$/, `counter ${name} ends in _total`)
})

// ---- the cluster hooks ------------------------------------------------------------------

function route(overrides: Partial<RouteRow> = {}): RouteRow {
  return {
    rid: 7, remoteId: 'NPEER', remoteName: '', didSolicit: true, isConfigured: false, ip: '127.0.0.1', port: 6222,
    startMs: 0, lastActivityMs: 0, rttNs: 168_000,
    pendingBytes: 12, inMsgs: 1, outMsgs: 2, inBytes: 3, outBytes: 4, subscriptions: 1, interest: [],
    ...overrides,
  }
}

const WEIRD = 'we"ird\\route\nname'

const HOOKS: MonitorHooks = {
  varz: () => ({
    cluster: { name: 'mesh', addr: '127.0.0.1', cluster_port: 6222, urls: ['127.0.0.1:6223'] },
    zookeeper: { state: 'connected', members: 2 },
  }),
  routes: (includeInterest) => [route({ interest: includeInterest ? [{ subject: 'foo', queue: null }] : [] })],
  metrics: (): MetricFamily[] => [
    { name: 'natsmesh_route_pending_bytes', help: 'Bytes owed to a peer.\nPer route.', type: 'gauge', samples: [{ labels: { route: WEIRD }, value: 12 }] },
    { name: 'natsmesh_zookeeper_session_state', help: 'ZooKeeper session state.', type: 'gauge', samples: [{ labels: { state: 'connected' }, value: 1 }, { labels: { state: 'expired' }, value: 0 }] },
    { name: 'bad name', help: 'dropped', type: 'gauge', samples: [{ value: 1 }] },
    { name: 'natsmesh_connections', help: 'a duplicate of a core family, dropped', type: 'gauge', samples: [{ value: 99 }] },
  ],
}

t.test('the cluster hooks add /varz fields, /routez rows and /metrics families', async (t) => {
  const { server, url } = await node(t)
  server.setMonitorHooks(HOOKS)
  const v = await getJson(`${url}/varz`)
  t.match(v, { routes: 1, remotes: 1, cluster: { name: 'mesh', cluster_port: 6222 }, zookeeper: { state: 'connected', members: 2 } })

  const plain = await getJson(`${url}/routez`)
  t.match(plain, { server_id: server.id, num_routes: 1 })
  const [r] = asList(plain.routes)
  t.match(r, { rid: 7, remote_id: 'NPEER', rtt: '168µs', pending_size: 12 })
  t.notOk('subscriptions_list' in r, 'no list without subs')
  t.same(asList((await getJson(`${url}/routez?subs=1`)).routes)[0].subscriptions_list, ['foo'])
  const [d] = asList((await getJson(`${url}/routez?subs=detail`)).routes)
  t.notOk('subscriptions_list' in d)
  t.match(d.subscriptions_list_detail, [{ subject: 'foo', sid: '$G foo' }])

  const families = parsePrometheus((await get(`${url}/metrics`)).text)
  t.equal(sampleValue(families, 'natsmesh_routes'), 1)
  t.equal(sampleValue(families, 'natsmesh_route_pending_bytes', { route: WEIRD }), 12, 'label value escaped and read back intact')
  t.equal(families.get('natsmesh_route_pending_bytes')?.help, 'Bytes owed to a peer.\\nPer route.', 'HELP escapes the line feed')
  t.equal(sampleValue(families, 'natsmesh_zookeeper_session_state', { state: 'connected' }), 1)
  t.equal(sampleValue(families, 'natsmesh_connections'), 0, 'a hook cannot replace a core family')
  t.notOk([...families.keys()].some((n) => n.includes(' ')), 'a malformed family is dropped')
})

t.test('a throwing hook costs only its own part: varz and metrics still answer, routez is 500', async (t) => {
  const { server, url } = await node(t)
  const boom = (): never => { throw new Error('mesh is down') }
  server.setMonitorHooks({ varz: boom, routes: boom, metrics: boom })
  const v = await getJson(`${url}/varz`)
  t.equal(v.routes, 0)
  t.notOk('zookeeper' in v)
  parsePrometheus((await get(`${url}/metrics`)).text)
  const routez = await get(`${url}/routez`)
  t.equal(routez.status, 500)
  t.match(routez.text, /mesh is down/)
  t.equal((await get(`${url}/healthz`)).status, 200, 'the monitor keeps serving')
  server.setMonitorHooks(NO_MONITOR_HOOKS)
  t.equal((await get(`${url}/routez`)).status, 200)
})

// ---- formats ------------------------------------------------------------------------------

t.test('Go duration strings as time.Duration.String and nats-server\'s myUptime write them', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0s'], [850, '850ns'], [1_000, '1µs'], [168_000, '168µs'], [3_175_596, '3.175596ms'], [1_500_000_000, '1.5s'],
    [90e9, '1m30s'], [3600e9, '1h0m0s'], [7200.5e9, '2h0m0.5s'], [-1_500_000_000, '-1.5s'], [59.999999999e9, '59.999999999s'],
  ]
  for (const [ns, want] of cases) t.equal(formatGoDuration(ns), want, `${ns}ns`)
  const uptimes: Array<[number, string]> = [
    [0, '0s'], [999, '0s'], [65_000, '1m5s'], [3 * 3600_000, '3h0m0s'], [(2 * 86400 + 4 * 3600 + 12) * 1000, '2d4h0m12s'],
    [(368 * 86400) * 1000, '1y3d0h0m0s'],
  ]
  for (const [ms, want] of uptimes) t.equal(formatUptime(ms), want, `${ms}ms`)
})
