// nats.go and the C client (libnats), both from Debian, against a natsmesh
// node unchanged. The probes live in test/fixtures/clients/ and are built
// here into a temporary folder.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { connect, StringCodec } from 'nats'
import t from 'tap'
import { ROOT, startNode } from '../helpers/natsmesh.js'

const run = promisify(execFile)
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'clients')

async function withResponder(t: Tap, port: number): Promise<void> {
  const sc = StringCodec()
  const nc = await connect({ servers: `127.0.0.1:${port}` })
  t.teardown(() => nc.close())
  nc.subscribe('svc.upper', { callback: (_e, m) => m.respond(sc.encode(sc.decode(m.data).toUpperCase())) })
  await nc.flush()
}

type Tap = Parameters<Parameters<typeof t.test>[1]>[0]

t.test('the Go client (nats.go) publishes, subscribes, requests and sends headers', async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-go-'))
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }))
  const pkg = path.join(work, 'src', 'probe')
  fs.mkdirSync(pkg, { recursive: true })
  fs.copyFileSync(path.join(FIXTURES, 'probe.go'), path.join(pkg, 'main.go'))
  // Debian ships nats.go as GOPATH sources; no module download needed.
  const env = { ...process.env, GOPATH: `${work}:/usr/share/gocode`, GO111MODULE: 'off', GOCACHE: path.join(work, 'cache') }
  await run('go', ['build', '-o', path.join(work, 'probe'), 'probe'], { env, cwd: work })
  const node = await startNode()
  t.teardown(() => node.shutdown())
  await withResponder(t, node.port)
  const { stdout } = await run(path.join(work, 'probe'), [`nats://127.0.0.1:${node.port}`])
  t.equal(stdout, 'self: hello from go\nreply: ABC\nheader: go\nno responders: true\n')
})

t.test('the C client (libnats) publishes, subscribes and requests', async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-c-'))
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }))
  await run('gcc', [path.join(FIXTURES, 'probe.c'), '-o', path.join(work, 'probe'), '-lnats'])
  const node = await startNode()
  t.teardown(() => node.shutdown())
  await withResponder(t, node.port)
  const { stdout } = await run(path.join(work, 'probe'), [`nats://127.0.0.1:${node.port}`])
  t.equal(stdout, 'self: hello from c\nreply: ABC\nno responders: true\n')
})
