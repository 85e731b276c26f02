// Bad input on a route port, from peers on raw sockets (nats-server's
// setupRoute pattern): interest lines with the wrong arity or weight, -ERR,
// client ops, INFO without an id or with a new one, and a peer that never
// finishes its handshake. docs/protocol.md "Route protocol" says what each
// does; a route closed for its own bad input never hurts the node or its
// other routes. One node for the file, routes PING every 250 ms.
import t, { type Test } from 'tap'
import { RawClient } from '../helpers/raw-client.js'
import { CLUSTER_NAME, FakeRoute, startMeshNode, uniqueSubject, until } from '../helpers/cluster.js'

const node = await startMeshNode(t, { label: 'N', extraArgs: ['--route_ping_interval', '250ms'] })

/** A raw client on the node that announced protocol 1 (it gets INFO updates), CONNECTed and PONGed. */
async function localClient(t: Test): Promise<RawClient> {
  const c = await RawClient.connect(node.port)
  t.teardown(() => c.close())
  await c.waitFor((text) => text.includes('\r\n'))
  c.send('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nPING\r\n')
  await c.waitFor((text) => text.includes('PONG\r\n'))
  return c
}

/** A fake peer whose route the node has registered: it got the RS+ of a fresh local subscription. */
async function registeredRoute(t: Test, local: RawClient, sid: string): Promise<FakeRoute> {
  const fake = await FakeRoute.connect(t, node.routePort)
  const subject = uniqueSubject('registered')
  local.send(`SUB ${subject} ${sid}\r\n`)
  await fake.waitForLine(`RS+ $G ${subject}`)
  return fake
}

/** Sends PING on a fake route and waits for its PONG: the node has read everything sent before. */
async function roundTrip(fake: FakeRoute): Promise<void> {
  const before = fake.lines('PONG').length
  fake.send('PING\r\n')
  await until('the node answers the fake route\'s PING', () => fake.lines('PONG').length > before || fake.closed(), 10_000, 5)
}

/**
 * A bystander route with interest in `subject`, to show the node's other
 * routes keep working: a local publish on the subject reaches it.
 */
async function bystanderGets(local: RawClient, bystander: FakeRoute, subject: string, payload: string): Promise<boolean> {
  local.send(`PUB ${subject} ${payload.length}\r\n${payload}\r\n`)
  await until(`the bystander route gets '${payload}'`, () => bystander.ops.some((op) => op.payload === payload) || bystander.closed(), 10_000, 5)
  return bystander.ops.some((op) => op.payload === payload)
}

t.test('RS+ and RS- with the wrong number of arguments, or a queue weight below 1, close that route and no other', async (t) => {
  const local = await localClient(t)
  const bystander = await registeredRoute(t, local, '1')
  const watched = uniqueSubject('bystander')
  bystander.send(`RS+ $G ${watched}\r\n`)
  await roundTrip(bystander)
  const bad = ['RS+ $G', 'RS+ $G a.b q', 'RS+ $G a.b q 1 extra', 'RS+ $G a.b q 0', 'RS- $G', 'RS- $G a.b q extra']
  for (const [i, line] of bad.entries()) {
    const fake = await registeredRoute(t, local, String(10 + i))
    // A well-formed line first, then the bad one: only the bad one can be why the route goes.
    fake.send(`RS+ $G ${uniqueSubject('fine')}\r\n`)
    await roundTrip(fake)
    t.notOk(fake.closed(), `${line}: the route was open before the bad line`)
    fake.send(`${line}\r\n`)
    await until(`the node closes the route that sent '${line}'`, () => fake.closed(), 10_000, 5)
    t.ok(fake.closed(), `'${line}' closes the route`)
    t.ok(await bystanderGets(local, bystander, watched, `after-${i}`), `after '${line}', the other route still carries messages`)
  }
  t.notOk(bystander.closed(), 'the bystander route stayed open throughout')
})

t.test('-ERR from a peer closes that route', async (t) => {
  const local = await localClient(t)
  const fake = await registeredRoute(t, local, '1')
  await roundTrip(fake)
  t.notOk(fake.closed(), 'open before the -ERR')
  fake.send('-ERR \'something went wrong\'\r\n')
  await until('the node closes the route that sent -ERR', () => fake.closed(), 10_000, 5)
  t.ok(fake.closed(), 'closed')
  t.ok(node.process.exitCode === null, 'the node is still running')
})

t.test('client ops on a route (PUB, SUB, MSG) get -ERR \'Unknown Protocol Operation\' and close it', async (t) => {
  const local = await localClient(t)
  for (const [i, op] of ['PUB a.b 2\r\nhi\r\n', 'SUB a.b 1\r\n', 'MSG a.b 1 2\r\nhi\r\n'].entries()) {
    const name = op.slice(0, op.indexOf(' '))
    const fake = await registeredRoute(t, local, String(20 + i))
    await roundTrip(fake)
    fake.send(op)
    await until(`the node closes the route that sent ${name}`, () => fake.closed(), 10_000, 5)
    t.same(fake.lines('-ERR'), ['-ERR \'Unknown Protocol Operation\''], `${name}: -ERR 'Unknown Protocol Operation'`)
    t.ok(fake.closed(), `${name}: the route is closed`)
  }
})

t.test('a route INFO without a server id closes the route before it is registered', async (t) => {
  const local = await localClient(t)
  // Interest the node would dump to any route it registers.
  const dumped = uniqueSubject('dump')
  local.send(`SUB ${dumped} 1\r\nPING\r\n`)
  await local.waitFor((text) => text.split('PONG').length > 2)
  for (const info of [{ cluster: CLUSTER_NAME }, { server_id: '', cluster: CLUSTER_NAME }]) {
    const raw = await RawClient.connect(node.routePort)
    t.teardown(() => raw.close())
    raw.send(`CONNECT ${JSON.stringify({ cluster: CLUSTER_NAME, name: 'nameless' })}\r\nINFO ${JSON.stringify(info)}\r\n`)
    await raw.waitFor(() => false, 10_000)
    t.ok(raw.closed(), `INFO ${JSON.stringify(info)}: closed`)
    t.notMatch(raw.text(), /RS\+/, `INFO ${JSON.stringify(info)}: never registered, so it got no interest`)
  }
})

t.test('a later route INFO with another server id is ignored; one with the same id updates the clients\' connect_urls', async (t) => {
  const local = await localClient(t)
  const fake = await registeredRoute(t, local, '1')
  const other = 'NOTHER' + fake.serverId.slice(6)
  fake.send(`INFO ${JSON.stringify({ server_id: other, server_name: other, cluster: CLUSTER_NAME, connect_urls: ['127.0.0.1:1111'] })}\r\n`)
  await roundTrip(fake)
  fake.send(`INFO ${JSON.stringify({ server_id: fake.serverId, server_name: fake.serverId, cluster: CLUSTER_NAME, connect_urls: ['127.0.0.1:2222'] })}\r\n`)
  // Both INFOs came on one ordered route: once the second one's URL reaches the client, the first was handled.
  await local.waitFor((text) => text.includes('127.0.0.1:2222'), 10_000)
  const infos = local.text().split('\r\n').filter((l) => l.startsWith('INFO '))
  t.ok(infos.some((l) => l.includes('127.0.0.1:2222')), 'the same id\'s INFO reached the clients as a new connect_urls')
  t.notOk(infos.some((l) => l.includes('127.0.0.1:1111')), 'the other id\'s INFO changed nothing the clients see')
  t.notOk(fake.closed(), 'and the route stays up')
  const subject = uniqueSubject('still')
  fake.send(`RS+ $G ${subject}\r\n`)
  await roundTrip(fake)
  local.send(`PUB ${subject} 2\r\nok\r\n`)
  await until('the route still gets what it subscribed', () => fake.ops.some((op) => op.payload === 'ok'), 10_000, 5)
  t.pass('it still carries messages under its first id')
})

t.test('a peer that never finishes its handshake is closed by the route PING timer', async (t) => {
  const local = await localClient(t)
  const dumped = uniqueSubject('dump')
  local.send(`SUB ${dumped} 1\r\nPING\r\n`)
  await local.waitFor((text) => text.split('PONG').length > 2)
  // Silent, and CONNECT without INFO: neither answers the node's PINGs.
  for (const [what, hello] of [['a silent peer', ''], ['a peer that sent CONNECT only', `CONNECT ${JSON.stringify({ cluster: CLUSTER_NAME })}\r\n`]]) {
    const raw = await RawClient.connect(node.routePort)
    t.teardown(() => raw.close())
    if (hello !== '') raw.send(hello)
    await raw.waitFor(() => false, 20_000)
    t.ok(raw.closed(), `${what}: closed`)
    t.match(raw.text(), /PING\r\n/, `${what}: after PINGs it did not answer`)
    t.notMatch(raw.text(), /RS\+/, `${what}: never registered, so it got no interest`)
  }
  const fake = await registeredRoute(t, local, '2')
  t.notOk(fake.closed(), 'a peer that completes the handshake is registered as usual afterwards')
})
