// The start-up scenario's measurement (bench/startup.ts), run from dist/ as
// the bench runs it: spawn → the first INFO byte of a real process, the bare
// Node.js floor (bench/info-floor.ts) and natsmesh; a greeting that is not
// INFO, and a process that dies before it listens, are errors rather than
// figures. Timings are printed, never asserted.
import { pathToFileURL } from 'node:url'
import path from 'node:path'
import t, { type Test } from 'tap'
import { ROOT } from '../helpers/natsmesh.js'
import { freePort } from '../helpers/free-port.js'
import type * as Startup from '../../bench/startup.js'
import type * as Servers from '../../bench/servers.js'

// The bench's own compiled modules: INFO_FLOOR points at dist/bench/info-floor.js next to them.
const startup = await import(pathToFileURL(path.join(ROOT, 'dist', 'bench', 'startup.js')).href) as typeof Startup
const servers = await import(pathToFileURL(path.join(ROOT, 'dist', 'bench', 'servers.js')).href) as typeof Servers
const NATSMESH: Servers.TargetSpec = { name: 'natsmesh', command: [process.execPath, path.join(ROOT, 'dist', 'bin', 'natsmesh.js'), 'server'] }

async function measure(t: Test, spec: Servers.TargetSpec): Promise<number> {
  const registry = new servers.ProcessRegistry()
  t.teardown(() => registry.killAll())
  const port = await freePort()
  const started = startup.nowMs()
  const server = servers.spawnServer(spec, port, [], registry)
  return startup.firstInfoByteMs(port, started, server, 15_000)
}

t.test('the bare Node.js floor and natsmesh are timed from spawn to their first INFO byte', async (t) => {
  for (const spec of [startup.INFO_FLOOR, NATSMESH]) {
    const ms = await measure(t, spec)
    t.ok(ms > 0, `${spec.name}: ${ms.toFixed(1)} ms`)
  }
})

t.test('a greeting other than INFO is an error, not a figure', async (t) => {
  const notNats: Servers.TargetSpec = {
    name: 'not a NATS server',
    command: [process.execPath, '-e', "const a = process.argv; require('net').createServer((s) => s.write('HELLO\\r\\n')).listen(Number(a[a.indexOf('-p') + 1]), '127.0.0.1')", '--'],
  }
  await t.rejects(measure(t, notNats), /greeted with "HELLO/)
})

t.test('a process that exits before it listens is an error naming it', async (t) => {
  const dies: Servers.TargetSpec = { name: 'a server that exits', command: [process.execPath, '-e', 'process.exit(3)', '--'] }
  await t.rejects(measure(t, dies), /a server that exits exited before its INFO/)
})
