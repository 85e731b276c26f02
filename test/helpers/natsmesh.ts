// Starts natsmesh nodes for tests: in this process (fast, for protocol and
// client tests) or as real child processes of the built CLI (cluster and
// chaos tests). Callers stop them in t.teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SILENT_LOGGER, type Logger } from '../../src/server/logger.js'
import type { ServerOptions } from '../../src/server/options.js'
import { Server } from '../../src/server/server.js'
import { freePort, waitForPort } from './free-port.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI = path.join(ROOT, 'dist', 'bin', 'natsmesh.js')

export async function startNode(options: Partial<ServerOptions> = {}, logger: Logger = SILENT_LOGGER): Promise<Server> {
  const server = new Server({ host: '127.0.0.1', port: 0, ...options }, logger)
  await server.start()
  return server
}

export interface NodeProcess {
  port: number
  url: string
  process: ChildProcess
  output(): string
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>
  kill(signal?: NodeJS.Signals): Promise<void>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Runs `natsmesh server` from dist/ (built by `npm test` before tap runs). */
export async function spawnNode(args: string[] = [], port?: number): Promise<NodeProcess> {
  const p = port ?? await freePort()
  const child = spawn(process.execPath, [CLI, 'server', '-a', '127.0.0.1', '-p', String(p), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const collect = (d: Buffer): void => { if (out.length < 200_000) out += d.toString() }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })))
  try {
    await Promise.race([waitForPort(p), exited.then(() => { throw new Error('exited') })])
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`natsmesh did not start: ${out}`, { cause: err })
  }
  return {
    port: p,
    url: `nats://127.0.0.1:${p}`,
    process: child,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return (await exited).code
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      if (signal === 'SIGKILL' || signal === 'SIGTERM') await exited
    },
  }
}
