// The reference nats-server on config files: its `-t` verdict, and the
// values it runs with (read back from /varz). Every process started here has
// exited or been killed before the promise settles.
import { execFile, spawn } from 'node:child_process'
import { freePort } from './free-port.js'

export interface OracleVerdict {
  isValid: boolean
  /** stderr lines without the `nats-server: ` prefix, blank lines dropped. */
  lines: string[]
}

/** `nats-server -t -c file`, with env as the whole environment. */
export function natsServerCheck(file: string, env: Record<string, string>): Promise<OracleVerdict> {
  return new Promise((resolve, reject) => {
    execFile('nats-server', ['-t', '-c', file], { env, timeout: 10_000 }, (err, _stdout, stderr) => {
      const code = err === null ? 0 : (err as { code?: unknown }).code
      if (typeof code !== 'number') return reject(err)
      const lines = stderr.replace(/^nats-server: /, '').split('\n').filter((line) => line !== '')
      resolve({ isValid: code === 0, lines })
    })
  })
}

/** Starts nats-server on the file (plus free ports on 127.0.0.1), returns its /varz, stops it. */
export async function natsServerVarz(file: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  const [port, monitorPort] = [await freePort(), await freePort()]
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-c', file], {
    env, stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < 16_000) stderr += d.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    for (let attempt = 0; attempt < 200; attempt++) {
      if (child.exitCode !== null) break
      try {
        const res = await fetch(`http://127.0.0.1:${monitorPort}/varz`)
        return (await res.json()) as Record<string, unknown>
      } catch {
        // not listening yet: retry shortly
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    throw new Error(`nats-server gave no /varz for ${file}: ${stderr}`)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
}
