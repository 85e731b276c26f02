// Starts natsmesh nodes for tests: in this process (fast, for protocol and
// client tests) or as real child processes of the built CLI (cluster and
// chaos tests), through src/local/node-process.ts, with their whole log kept
// for log-based checks. Callers stop them in t.teardown.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { NodeProcess, type NodeProcessOptions } from '../../src/local/node-process.js'
import { freePort, isAccepting } from '../../src/local/ports.js'
import { SILENT_LOGGER, type Logger } from '../../src/server/logger.js'
import type { ServerOptions } from '../../src/server/options.js'
import { Server } from '../../src/server/server.js'

export { NodeProcess }
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The built CLI: tests run from source, the nodes they start from dist/. */
export const CLI = path.join(ROOT, 'dist', 'bin', 'natsmesh.js')
/**
 * A test node's log is kept whole up to this; a node that writes more makes
 * its output() throw, so a check that reads the log fails instead of passing
 * on a log that lacks its end.
 */
export const TEST_LOG_LIMIT_BYTES = 16 * 1024 * 1024
const START_TIMEOUT_MS = 10_000
const PORT_POLL_MS = 25

export async function startNode(options: Partial<ServerOptions> = {}, logger: Logger = SILENT_LOGGER): Promise<Server> {
  const server = new Server({ host: '127.0.0.1', port: 0, ...options }, logger)
  await server.start()
  return server
}

/** `natsmesh server` from dist/ (built by `npm test` before tap runs) on `port`, its log kept. */
export function testNodeOptions(port: number, args: readonly string[]): NodeProcessOptions {
  return { name: `natsmesh on port ${port}`, command: [process.execPath, CLI, 'server'], port, args, logLimitBytes: TEST_LOG_LIMIT_BYTES }
}

/** Resolves with the server once its client port accepts; SIGKILLs it and throws, with its log, if it does not. */
export async function untilAccepting<N extends NodeProcess>(node: N): Promise<N> {
  try {
    await node.waitUntil(() => isAccepting(node.port), START_TIMEOUT_MS, PORT_POLL_MS)
  } catch (err) {
    await node.kill()
    throw new Error(`${node.name} did not start: ${node.logTail()}`, { cause: err })
  }
  return node
}

/** Runs `natsmesh server -a 127.0.0.1 -p <port> <args>` (a free port by default) and waits until it accepts clients. */
export async function spawnNode(args: string[] = [], port?: number): Promise<NodeProcess> {
  return untilAccepting(new NodeProcess(testNodeOptions(port ?? await freePort(), args)))
}
