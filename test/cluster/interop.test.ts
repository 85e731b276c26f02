// A natsmesh node and a nats-server 2.9 node routed together: nats-server only
// listens for routes, natsmesh dials it with --routes. Everything a client can
// do across a route works in both directions. This is the differential check
// of the route protocol: nats-server is the oracle (DESIGN.md "Wire formats").
import t from 'tap'
import { headers, type Msg, type NatsConnection } from 'nats'
import { freePort } from '../helpers/free-port.js'
import { startNatsServer } from '../helpers/nats-server.js'
import {
  NumberReceiver, connectTo, interestBarrier, startMeshNode, uniqueSubject, until, waitForMesh,
} from '../helpers/cluster.js'

const routePort = await freePort()
const gnatsd = await startNatsServer(['--cluster', `nats://127.0.0.1:${routePort}`, '--cluster_name', 'x'])
t.teardown(() => gnatsd.stop())
const mesh = await startMeshNode(t, { label: 'natsmesh', routes: [`nats://127.0.0.1:${routePort}`] })
const servers = { 'nats-server': gnatsd, natsmesh: mesh }
const meshMs = await waitForMesh([{ url: gnatsd.url, label: 'nats-server' }, { url: mesh.url, label: 'natsmesh' }], 20_000)
t.comment(`natsmesh and nats-server routed and carrying messages both ways after ${meshMs} ms`)

const directions = [['natsmesh', 'nats-server'], ['nats-server', 'natsmesh']] as const

for (const [from, to] of directions) {
  t.test(`messages published on ${from} reach a subscriber on ${to}, all of them, in order`, async (t) => {
    const N = 2_000
    const subject = uniqueSubject('interop')
    const pub = await connectTo(t, servers[from])
    const subConn = await connectTo(t, servers[to])
    const rx = new NumberReceiver(subConn, subject)
    await interestBarrier(pub, subConn)
    for (let i = 1; i <= N; i++) pub.publish(subject, String(i))
    await pub.flush()
    await until(`${N} messages`, () => rx.seen.length >= N, 20_000)
    await interestBarrier(pub, subConn)
    t.same(rx.report(N), { published: N, received: N, lost: 0, duplicates: 0, outOfOrder: 0, longestGap: 0 })
  })

  t.test(`a queue group with members on both servers gets each message published on ${from} exactly once, and both members get some`, async (t) => {
    const N = 1_000
    const subject = uniqueSubject('interopq')
    const pub = await connectTo(t, servers[from])
    const local = await connectTo(t, servers[from])
    const remote = await connectTo(t, servers[to])
    const got: number[][] = [[], []]
    local.subscribe(subject, { queue: 'workers', callback: (_e, m) => { if (m.data.length > 0) got[0].push(Number(m.string())) } })
    remote.subscribe(subject, { queue: 'workers', callback: (_e, m) => { if (m.data.length > 0) got[1].push(Number(m.string())) } })
    await interestBarrier(pub, local)
    await interestBarrier(pub, remote)
    for (let i = 1; i <= N; i++) pub.publish(subject, String(i))
    await pub.flush()
    await until(`${N} queue deliveries`, () => got[0].length + got[1].length >= N, 20_000)
    await interestBarrier(pub, remote)
    const all = got.flat()
    t.equal(all.length, N, 'as many deliveries as messages')
    t.equal(new Set(all).size, N, 'each message once')
    t.ok(got[0].length > 0, `the member on ${from} got some (${got[0].length})`)
    t.ok(got[1].length > 0, `the member on ${to} got some (${got[1].length})`)
  })

  t.test(`a request made on ${from} is answered by a responder on ${to}`, async (t) => {
    const subject = uniqueSubject('interopsvc')
    const requester = await connectTo(t, servers[from])
    const responder = await connectTo(t, servers[to])
    responder.subscribe(subject, { callback: (_e, m) => { m.respond(`re:${m.string()}`) } })
    await interestBarrier(requester, responder)
    for (let i = 0; i < 20; i++) {
      const reply = await requester.request(subject, `q${i}`, { timeout: 5_000 })
      t.equal(reply.string(), `re:q${i}`)
    }
    // A queue responder, so the request travels as a queue-routed RMSG with a reply.
    const qsubject = uniqueSubject('interopqsvc')
    responder.subscribe(qsubject, { queue: 'svc', callback: (_e, m) => { m.respond('q-answer') } })
    await interestBarrier(requester, responder)
    t.equal((await requester.request(qsubject, '', { timeout: 5_000 })).string(), 'q-answer', 'a queue responder on the other server answers too')
  })

  t.test(`headers published on ${from} arrive intact on ${to}`, async (t) => {
    const subject = uniqueSubject('interophdr')
    const pub: NatsConnection = await connectTo(t, servers[from])
    const subConn = await connectTo(t, servers[to])
    const got: Msg[] = []
    subConn.subscribe(subject, { callback: (_e, m) => { if (m.headers !== undefined) got.push(m) } })
    await interestBarrier(pub, subConn)
    const h = headers()
    h.append('X-Trace', 'one')
    h.append('X-Trace', 'two')
    pub.publish(subject, 'body', { headers: h, reply: 'r.x' })
    pub.publish(subject, '', { headers: h })
    await pub.flush()
    await until('both header messages', () => got.length === 2)
    t.same(got[0].headers?.values('X-Trace'), ['one', 'two'])
    t.equal(got[0].string(), 'body')
    t.equal(got[0].reply, 'r.x')
    t.equal(got[1].data.length, 0, 'a header-only message keeps its empty body')
  })
}
