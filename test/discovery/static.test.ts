import t from 'tap'
import { DiscoveryError, type MemberInfo } from '../../src/discovery/discovery.js'
import { StaticDiscovery, UNKNOWN_MEMBER_ID, isSeed, parseRouteUrls } from '../../src/discovery/static.js'
import { discoveryConformance, makeMember } from './conformance.js'

const SEEDS = ['nats://127.0.0.1:6222', 'nats-route://10.0.0.2:6222']

function seedMember(routeUrl: string): MemberInfo {
  return { id: UNKNOWN_MEMBER_ID, name: '', version: '', clientUrl: '', routeUrl, monitorUrl: null, startTime: '' }
}

t.test('the Discovery contract', async (t) => {
  discoveryConformance(t, async (self, logger) => ({
    discovery: new StaticDiscovery({ routes: SEEDS.join(','), self, logger }),
    peers: SEEDS.map(seedMember),
  }))
})

t.test('seeds are members known by route URL only, with an empty id', async (t) => {
  const d = new StaticDiscovery({ routes: SEEDS, self: null })
  t.teardown(() => d.close())
  await d.start()
  t.equal(d.state, 'static')
  t.same(d.members().map((m) => m.routeUrl), ['nats-route://10.0.0.2:6222', 'nats://127.0.0.1:6222'])
  t.ok(d.members().every(isSeed))
  t.notOk(isSeed(makeMember()))
})

t.test('a seed with exactly our own route URL is left out', async (t) => {
  const self = { ...makeMember(), routeUrl: 'nats://127.0.0.1:6222' }
  const d = new StaticDiscovery({ routes: SEEDS, self })
  t.teardown(() => d.close())
  await d.start()
  t.same(d.members().map((m) => m.id === '' ? m.routeUrl : 'self'), ['nats-route://10.0.0.2:6222', 'self'])
})

t.test('route URLs are trimmed, normalized and deduplicated, credentials kept', async (t) => {
  t.same(parseRouteUrls(' nats://a:1 ,nats://a:1/, ,tls://u:p@b:2'), ['nats://a:1', 'tls://u:p@b:2'])
  t.same(parseRouteUrls([]), [])
})

t.test('bad route URLs and a bad self throw DiscoveryError from the constructor', async (t) => {
  const bad = ['h:6222', 'http://a:6222', 'nats://a', 'nats://a:6222/path', 'nats://:6222']
  for (const routes of bad) {
    t.throws(() => new StaticDiscovery({ routes, self: null }), DiscoveryError, routes)
  }
  t.throws(() => new StaticDiscovery({ routes: SEEDS, self: { ...makeMember(), id: '' } }), { code: 'NATSMESH_ERR_DISCOVERY' })
  t.throws(() => new StaticDiscovery({ routes: SEEDS, self: { ...makeMember(), startTime: 'yesterday' } }), DiscoveryError)
})
