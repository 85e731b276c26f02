// The monitoring endpoints of a clustered node, as a dashboard or scraper
// sees them: /metrics parses as Prometheus text with the cluster families in
// it, and /routez and /varz's `cluster` use the field names and JSON types of
// a two-node nats-server 2.9 cluster (test/server/monitor.test.ts checks a
// single node; this is the clustered half).
import t, { type Test } from 'tap'
import { getJson as getJsonWithin } from '../../src/ops/http.js'
import { connectTo, until, waitForMesh } from '../helpers/cluster.js'
import { freePort } from '../helpers/free-port.js'
import { startNatsServer } from '../helpers/nats-server.js'
import { startOpsNode } from '../helpers/ops.js'
import { startZooKeeper } from '../helpers/zookeeper.js'

const zk = await startZooKeeper()
t.teardown(() => zk.stop())
const [A, B] = await Promise.all(['a', 'b'].map((name) => startOpsNode(t, { name, cluster: 'mon', zk: zk.connectString })))
await waitForMesh([A, B])

function getJson(url: string): Promise<Record<string, unknown>> {
  return getJsonWithin(url, 5_000)
}

function asRecord(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`not an object: ${JSON.stringify(v)}`)
  return v as Record<string, unknown>
}

function firstRoute(routez: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(routez.routes) || routez.routes.length === 0) throw new Error(`no routes: ${JSON.stringify(routez)}`)
  return asRecord(routez.routes[0])
}

function jsonType(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v
}

/** Every promised field is in both answers, with the same JSON type. */
function sameFields(t: Test, what: string, fields: readonly string[], ours: Record<string, unknown>, theirs: Record<string, unknown>): void {
  for (const f of fields) {
    t.ok(f in theirs, `${what}: nats-server has ${f}`)
    t.ok(f in ours, `${what}: natsmesh has ${f}`)
    t.equal(jsonType(ours[f]), jsonType(theirs[f]), `${what}: ${f} is a ${jsonType(theirs[f])} on both`)
  }
}

/** The same client traffic on both clusters: a plain and a queue subscription on the second node. */
async function subscribeOn(t: Test, url: string): Promise<void> {
  const nc = await connectTo(t, { url })
  nc.subscribe('foo.bar')
  nc.subscribe('q.>', { queue: 'workers' })
  await nc.flush()
}

// ---- field names shared with nats-server's /routez ----------------------------------

const ROUTEZ_FIELDS = ['server_id', 'now', 'num_routes', 'routes'] as const
/** nats-server 2.9's RouteInfo fields that natsmesh promises (docs/monitoring.md, /routez). */
const ROUTE_FIELDS = [
  'rid', 'remote_id', 'did_solicit', 'is_configured', 'ip', 'port', 'start', 'last_activity', 'rtt', 'uptime', 'idle',
  'pending_size', 'in_msgs', 'out_msgs', 'in_bytes', 'out_bytes', 'subscriptions',
] as const
const VARZ_CLUSTER_FIELDS = ['name', 'addr', 'cluster_port', 'urls'] as const

t.test('a clustered node\'s /routez and /varz cluster have a nats-server cluster\'s field names and types', async (t) => {
  const [c1, c2] = [await freePort(), await freePort()]
  const [m1, m2] = [await freePort(), await freePort()]
  const ns1 = await startNatsServer(['-m', String(m1), '--cluster', `nats://127.0.0.1:${c1}`, '--cluster_name', 'mon', '--routes', `nats://127.0.0.1:${c2}`])
  t.teardown(() => ns1.stop())
  const ns2 = await startNatsServer(['-m', String(m2), '--cluster', `nats://127.0.0.1:${c2}`, '--cluster_name', 'mon', '--routes', `nats://127.0.0.1:${c1}`])
  t.teardown(() => ns2.stop())
  await subscribeOn(t, ns2.url)
  await subscribeOn(t, B.url)
  const theirsUrl = `http://127.0.0.1:${m1}`
  // Interest travels as RS+ once the route is up. nats-server's route also carries its $SYS subscriptions.
  const carriesOurs = async (monitorUrl: string): Promise<boolean> => {
    const r = await getJson(`${monitorUrl}/routez?subs=1`)
    const list = r.num_routes === 1 ? firstRoute(r).subscriptions_list : []
    return Array.isArray(list) && list.includes('foo.bar') && list.includes('q.>')
  }
  await until('nats-server\'s route carries both subscriptions', () => carriesOurs(theirsUrl))
  await until('natsmesh\'s route carries both subscriptions', async () => {
    const r = await getJson(`${A.monitorUrl}/routez`)
    return r.num_routes === 1 && firstRoute(r).subscriptions === 2
  })

  for (const query of ['', '?subs=1', '?subs=detail']) {
    const ours = await getJson(`${A.monitorUrl}/routez${query}`)
    const theirs = await getJson(`${theirsUrl}/routez${query}`)
    sameFields(t, `routez${query}`, ROUTEZ_FIELDS, ours, theirs)
    const ourRoute = firstRoute(ours)
    const theirRoute = firstRoute(theirs)
    sameFields(t, `routez${query} route`, ROUTE_FIELDS, ourRoute, theirRoute)
    const lists = ['subscriptions_list', 'subscriptions_list_detail']
    for (const list of lists) {
      t.equal(list in ourRoute, list in theirRoute, `routez${query}: ${list} ${list in theirRoute ? 'present' : 'absent'} on both`)
    }
    const missing = Object.keys(theirRoute).filter((f) => !(f in ourRoute))
    if (missing.length > 0) t.comment(`routez${query}: nats-server route fields natsmesh does not have: ${missing.join(', ')}`)
  }
  const subjects = async (monitorUrl: string): Promise<unknown[]> => {
    const list = firstRoute(await getJson(`${monitorUrl}/routez?subs=1`)).subscriptions_list
    return Array.isArray(list) ? list.filter((s) => typeof s !== 'string' || !s.startsWith('$SYS')) : []
  }
  t.same((await subjects(A.monitorUrl)).sort(), (await subjects(theirsUrl)).sort(), 'subscriptions_list: the same entries (subjects only, queue names not shown)')
  const queueDetail = async (monitorUrl: string): Promise<Record<string, unknown>> => {
    const list = firstRoute(await getJson(`${monitorUrl}/routez?subs=detail`)).subscriptions_list_detail
    const found = Array.isArray(list) ? list.map(asRecord).find((d) => d.subject === 'q.>') : undefined
    if (found === undefined) throw new Error(`no q.> in ${monitorUrl}/routez?subs=detail`)
    return found
  }
  const ourDetail = await queueDetail(A.monitorUrl)
  const theirDetail = await queueDetail(theirsUrl)
  sameFields(t, 'routez?subs=detail queue entry', ['subject', 'qgroup', 'sid', 'msgs', 'cid'], ourDetail, theirDetail)
  t.match(ourDetail, { subject: 'q.>', qgroup: 'workers', sid: theirDetail.sid }, 'the same subject, qgroup and sid ("$G q.> workers") as nats-server')

  const ourRoute = firstRoute(await getJson(`${A.monitorUrl}/routez`))
  t.equal(ourRoute.remote_id, B.serverId, 'the route names its peer')
  t.equal(ourRoute.remote_name, 'b')

  const ourCluster = asRecord((await getJson(`${A.monitorUrl}/varz`)).cluster)
  const theirCluster = asRecord((await getJson(`${theirsUrl}/varz`)).cluster)
  sameFields(t, 'varz cluster', VARZ_CLUSTER_FIELDS, ourCluster, theirCluster)
  t.equal(ourCluster.name, 'mon')
})

// ---- /metrics --------------------------------------------------------------------------

interface Family { help: boolean; type: string | null; samples: Array<{ labels: string; value: number }> }

/**
 * Prometheus text format 0.0.4, strictly enough for a scraper: every sample's
 * family has HELP and TYPE, declared once and before its samples; a family's
 * samples are together; values are numbers; the page ends with a line feed.
 */
function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the page must end with a line feed')
  const families = new Map<string, Family>()
  const closed = new Set<string>()
  let current = ''
  const enter = (name: string): Family => {
    if (name !== current) {
      if (current !== '') closed.add(current)
      if (closed.has(name)) throw new Error(`family ${name} is split`)
      current = name
    }
    let f = families.get(name)
    if (f === undefined) { f = { help: false, type: null, samples: [] }; families.set(name, f) }
    return f
  }
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line)
    if (meta !== null) {
      const f = enter(meta[2])
      if (f.samples.length > 0) throw new Error(`${meta[1]} of ${meta[2]} after its samples`)
      if (meta[1] === 'HELP') {
        if (f.help) throw new Error(`second HELP for ${meta[2]}`)
        f.help = true
      } else {
        if (f.type !== null) throw new Error(`second TYPE for ${meta[2]}`)
        if (!['counter', 'gauge', 'untyped', 'histogram', 'summary'].includes(meta[3])) throw new Error(`bad type ${meta[3]}`)
        f.type = meta[3]
      }
      continue
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$/.exec(line)
    if (sample === null) throw new Error(`not a sample line: '${line}'`)
    const f = families.get(sample[1])
    if (f === undefined || !f.help || f.type === null) throw new Error(`sample of a family without HELP and TYPE: '${line}'`)
    enter(sample[1])
    const value = Number(sample[3])
    if (Number.isNaN(value) && sample[3] !== 'NaN') throw new Error(`bad value in '${line}'`)
    f.samples.push({ labels: sample[2] ?? '', value })
  }
  return families
}

t.test('/metrics of a clustered node is Prometheus text with HELP and TYPE for every sample, natsmesh_routes included', async (t) => {
  const res = await fetch(`${A.monitorUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const families = parsePrometheus(await res.text())
  t.pass(`parsed ${families.size} families`)
  t.same(families.get('natsmesh_routes')?.samples, [{ labels: '', value: 1 }], 'natsmesh_routes counts the one route to b')
  t.equal(families.get('natsmesh_routes')?.type, 'gauge')
  for (const name of ['natsmesh_route_in_msgs_total', 'natsmesh_route_out_msgs_total', 'natsmesh_route_pending_bytes']) {
    t.same(families.get(name)?.samples.map((s) => s.labels), ['{route="b"}'], `${name} has one sample, labelled with the peer`)
  }
  t.same(families.get('natsmesh_cluster_members')?.samples, [{ labels: '', value: 2 }], 'the node sees two members')
  t.equal(families.get('natsmesh_zookeeper_session_state')?.samples.find((s) => s.labels === '{state="connected"}')?.value, 1)
  for (const [name, f] of families) if (f.type === 'counter') t.match(name, /_total$/, `counter ${name} ends in _total`)
  t.notMatch(A.output(), /duplicate metric family/, 'the scrape logged no dropped family')
})
