// Starts the reference nats-server (Debian package) on a free port, for
// differential tests and benchmarks, through src/local/node-process.ts.
// Every process started here is stopped in t.teardown by the caller, through
// stop().
import { NodeProcess } from '../../src/local/node-process.js'
import { freePort } from '../../src/local/ports.js'
import { untilAccepting } from './natsmesh.js'

export async function startNatsServer(extraArgs: string[] = []): Promise<NodeProcess> {
  const port = await freePort()
  return untilAccepting(new NodeProcess({ name: `nats-server on port ${port}`, command: ['nats-server'], port, args: extraArgs }))
}
