// Starts the reference nats-server (Debian package) on a free port, for
// differential tests and benchmarks, through src/local/node-process.ts; and
// a natsmesh node beside it with the same flags. Every process started here
// is stopped in t.teardown by the caller, through stop(), or here when a
// Test is given.
import type { Test } from 'tap'
import { NodeProcess } from '../../src/local/node-process.js'
import { freePort, freePorts } from '../../src/local/ports.js'
import { getJson } from '../../src/ops/http.js'
import { spawnNode, TEST_LOG_LIMIT_BYTES, untilAccepting } from './natsmesh.js'

/** nats-server on a free port, its log kept as a natsmesh test node's is. */
export async function startNatsServer(extraArgs: string[] = []): Promise<NodeProcess> {
  const port = await freePort()
  return untilAccepting(new NodeProcess({
    name: `nats-server on port ${port}`, command: ['nats-server'], port, args: extraArgs, logLimitBytes: TEST_LOG_LIMIT_BYTES,
  }))
}

export type ServerKind = 'natsmesh' | 'nats-server'

export interface ServerUnderTest {
  kind: ServerKind
  server: NodeProcess
  monitorPort: number
}

/**
 * A natsmesh node and a nats-server, each given `args(kind)` and monitoring
 * on a free port, for a differential check; both stopped in t.teardown.
 */
export async function startBoth(t: Test, args: (kind: ServerKind) => string[]): Promise<ServerUnderTest[]> {
  const [meshMonitor, natsMonitor] = await freePorts(2)
  const mesh = await spawnNode(['-m', String(meshMonitor), ...args('natsmesh')])
  t.teardown(() => mesh.stop())
  const nats = await startNatsServer(['-m', String(natsMonitor), ...args('nats-server')])
  t.teardown(() => nats.stop())
  return [{ kind: 'natsmesh', server: mesh, monitorPort: meshMonitor }, { kind: 'nats-server', server: nats, monitorPort: natsMonitor }]
}

/** A server's /varz. */
export function varz(monitorPort: number): Promise<Record<string, unknown>> {
  return getJson(`http://127.0.0.1:${monitorPort}/varz`, 5_000)
}
