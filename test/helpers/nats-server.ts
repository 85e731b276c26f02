// Starts the reference nats-server (Debian package) on a free port, for
// differential tests and benchmarks. Every process started here is killed in
// t.teardown by the caller through stop().
import { spawn, type ChildProcess } from 'node:child_process'
import { freePort, waitForPort } from './free-port.js'

export interface RunningNatsServer {
  port: number
  url: string
  process: ChildProcess
  stop(): Promise<void>
}

export async function startNatsServer(extraArgs: string[] = []): Promise<RunningNatsServer> {
  const port = await freePort()
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 64_000) stderr += d.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    await waitForPort(port)
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`nats-server did not start: ${stderr}`, { cause: err })
  }
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}
