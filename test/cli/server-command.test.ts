// `natsmesh server` as a user and a test harness meet it: help, refusals
// before anything listens, signals, and quick restarts on the same port.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { connect, StringCodec } from 'nats'
import t from 'tap'
import { SERVER_OPTION_SPECS } from '../../src/server/options.js'
import { freePort, isAccepting } from '../helpers/free-port.js'
import { spawnNode } from '../helpers/natsmesh.js'
import { runCli } from '../helpers/ops.js'

/** 1000 of these (32 MB) is more than loopback socket buffers hold, far below max_pending (64 MiB). */
const SLOW_PAYLOAD_BYTES = 32 * 1024

interface PausedSubscriber {
  socket: net.Socket
  /** Its local port, to find it in /connz. */
  port: number
  /** Bytes received after the SUB was confirmed. */
  received(): number
  closed: Promise<void>
}

/** A raw subscriber on `subject` that stops reading once the node confirmed the SUB; counts bytes, keeps none. */
async function pausedSubscriber(port: number, subject: string): Promise<PausedSubscriber> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => { /* a close is what the test waits for */ })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  let handshake = ''
  let received = 0
  let isSubscribed = false
  const subscribed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no PONG after SUB: ${handshake}`)), 10_000)
    socket.on('data', (d: Buffer) => {
      if (isSubscribed) {
        received += d.length
        return
      }
      handshake += d.toString('latin1')
      const at = handshake.indexOf('PONG\r\n')
      if (at < 0) return
      isSubscribed = true
      received = handshake.length - at - 6
      clearTimeout(timer)
      socket.pause()
      resolve()
    })
  })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${subject} 1\r\nPING\r\n`)
  await subscribed
  return { socket, port: socket.localPort ?? 0, received: () => received, closed }
}

/** pending_bytes of the connection from `clientPort`, as the node's /connz reports it. */
async function pendingBytesOf(monitorUrl: string, clientPort: number): Promise<number> {
  const res = await fetch(`${monitorUrl}/connz`, { signal: AbortSignal.timeout(5_000) })
  const body = await res.json() as { connections: Array<{ port: number; pending_bytes: number }> }
  const row = body.connections.find((c) => c.port === clientPort)
  if (row === undefined) throw new Error(`no connection from port ${clientPort} in /connz`)
  return row.pending_bytes
}


t.test('--help documents every server option', async (t) => {
  const { code, stdout } = await runCli(['server', '--help'])
  t.equal(code, 0)
  for (const spec of SERVER_OPTION_SPECS) t.match(stdout, `--${spec.flag}`, `--${spec.flag} is documented`)
  t.match(stdout, '--zk')
  t.match(stdout, '--routes')
})

t.test('a bad value is refused with its flag named, exit 2, and nothing listens', async (t) => {
  const port = await freePort()
  const { code, stderr } = await runCli(['server', '-p', String(port), '--max_payload', 'lots'])
  t.equal(code, 2)
  t.match(stderr, /--max_payload/)
  const listening = await isAccepting(port)
  t.notOk(listening, 'no listener was opened')
})

t.test('an unknown flag and an unknown config key are refused by name', async (t) => {
  const flag = await runCli(['server', '--max_paylod', '5'])
  t.equal(flag.code, 2)
  t.match(flag.stderr, /max_paylod/)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-cfg-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'bad.json')
  fs.writeFileSync(file, JSON.stringify({ port: 4333, max_pings: 3 }))
  const cfg = await runCli(['server', '-c', file, '--check'])
  t.equal(cfg.code, 2)
  t.match(cfg.stderr, /unknown option "max_pings"/)
})

t.test('a config file sets options and flags override it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-cfg-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'ok.json')
  fs.writeFileSync(file, JSON.stringify({ port: 4333, max_payload: '512KB', ping_interval: '30s' }))
  const { code, stdout } = await runCli(['server', '-c', file, '-p', '4444', '--check'])
  t.equal(code, 0)
  const effective = JSON.parse(stdout) as Record<string, unknown>
  t.equal(effective.port, 4444, 'the flag wins')
  t.equal(effective.max_payload, 512 * 1024)
  t.equal(effective.ping_interval, '30s')
})

t.test('a single node with --cluster_name serves clients, and SIGTERM exits 0', async (t) => {
  const started = Date.now()
  const node = await spawnNode(['--cluster_name', 'x'])
  t.teardown(() => node.kill())
  t.comment(`ready (accepting) ${Date.now() - started} ms after spawn, node start included`)
  const sc = StringCodec()
  const sub = await connect({ servers: node.url, reconnect: false })
  const pub = await connect({ servers: node.url, reconnect: false })
  let got = 0
  const closed = sub.closed()
  sub.subscribe('bye', { callback: () => { got++ } })
  await sub.flush()
  for (let i = 0; i < 1000; i++) pub.publish('bye', sc.encode(String(i)))
  await pub.flush()
  const { code } = await node.stop()
  await closed
  t.equal(code, 0, 'exit code 0')
  t.equal(got, 1000, 'every message published before SIGTERM was delivered')
  await pub.close()
})

// The test above flushes before the SIGTERM, so its subscriber has everything
// by then. Here a subscriber stops reading, so that at SIGTERM the node still
// owes it most of a 32 MB burst: only a flush on the way out gets it there.
t.test('SIGTERM flushes what the node still owes a subscriber that is behind, then exits 0', async (t) => {
  const monitorPort = await freePort()
  const node = await spawnNode(['--cluster_name', 'x', '-m', String(monitorPort)])
  t.teardown(() => node.kill())
  const slow = await pausedSubscriber(node.port, 'bye')
  t.teardown(() => slow.socket.destroy())
  const pub = await connect({ servers: node.url, reconnect: false })
  t.teardown(() => pub.close().catch(() => undefined))
  const payload = StringCodec().encode('x'.repeat(SLOW_PAYLOAD_BYTES))
  for (let i = 0; i < 1000; i++) pub.publish('bye', payload)
  await pub.flush()
  const owed = await pendingBytesOf(`http://127.0.0.1:${monitorPort}`, slow.port)
  t.ok(owed > 0, `at SIGTERM the node still held ${owed} bytes for the paused subscriber`)
  node.process.kill('SIGTERM')
  slow.socket.resume()
  const { code } = await node.exited
  await slow.closed
  t.equal(code, 0, 'exit code 0')
  t.equal(slow.received(), 1000 * (`MSG bye 1 ${SLOW_PAYLOAD_BYTES}\r\n`.length + SLOW_PAYLOAD_BYTES + 2),
    'the subscriber that was behind got every message published before the SIGTERM')
})

t.test('a new process binds the port at once after the previous one was killed', async (t) => {
  const port = await freePort()
  const first = await spawnNode([], port)
  const c = await connect({ servers: first.url, reconnect: false })
  await first.kill('SIGKILL')
  await c.closed()
  const second = await spawnNode([], port)
  t.teardown(() => second.kill())
  const again = await connect({ servers: second.url, reconnect: false })
  await again.flush()
  await again.close()
  t.pass('the second node serves on the same port')
})

t.test('-P writes the pid file and -l the log file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-files-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const pid = path.join(dir, 'n.pid')
  const log = path.join(dir, 'n.log')
  const node = await spawnNode(['-P', pid, '-l', log, '-n', 'logged'])
  t.teardown(() => node.kill())
  t.equal(fs.readFileSync(pid, 'utf8').trim(), String(node.process.pid))
  t.match(fs.readFileSync(log, 'utf8'), /\[INF\] logged: Server is ready/)
})
