// natsmesh/server: a node embedded in the test's own process, reached through
// the package's public export (what another project's tests would import),
// and every export of package.json resolving to a built file.
import fs from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { connect } from 'nats'
import t from 'tap'
import { startServer } from 'natsmesh/server'
import { ROOT } from '../helpers/natsmesh.js'

t.test('every export in package.json resolves to a built file', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(`${ROOT}/package.json`, 'utf8')) as { name: string; exports: Record<string, { types: string; default: string }> }
  const names = Object.keys(pkg.exports)
  t.ok(names.length >= 2, `exports: ${names.join(', ')}`)
  for (const sub of names) {
    const entry = pkg.exports[sub]
    const resolved = fileURLToPath(import.meta.resolve(`${pkg.name}/${sub.slice(2)}`))
    t.equal(resolved, `${ROOT}/${entry.default.slice(2)}`, `${sub} resolves through the package name`)
    t.ok(fs.existsSync(resolved), `${sub}: ${entry.default} exists`)
    t.ok(fs.existsSync(`${ROOT}/${entry.types.slice(2)}`), `${sub}: ${entry.types} exists`)
  }
})

t.test('startServer runs a node in-process that the official client uses, and close() frees its port', async (t) => {
  const server = await startServer({ serverName: 'embedded' })
  t.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/, 'a URL on 127.0.0.1 and a free port')
  t.equal(server.name, 'embedded')
  t.equal(server.monitorUrl, null, 'no monitoring unless asked for')
  const nc = await connect({ servers: server.url })
  t.equal(nc.info?.server_id, server.id, 'the client reached this node')
  const sub = nc.subscribe('embed.hello', { max: 1 })
  nc.publish('embed.hello', 'hi')
  for await (const m of sub) t.equal(m.string(), 'hi', 'a message went through')
  await nc.close()
  await server.close()
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect(server.port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
  t.ok(refused, 'nothing listens on the port after close()')
})

t.test('startServer refuses a bad option by name, and a taken port with the listener\'s error', async (t) => {
  await t.rejects(startServer({ maxPayload: 2 ** 40 }), /max_payload/)
  const first = await startServer()
  t.teardown(() => first.close())
  await t.rejects(startServer({ port: first.port }), { code: 'EADDRINUSE' })
})
