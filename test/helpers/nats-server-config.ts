// Config files given to the reference nats-server and to natsmesh: the `-t`
// verdict of each, the values each runs with (read back from /varz), and how
// a start that should fail fails. Every process started here has exited or
// been killed before the promise settles.
import { execFile, spawn } from 'node:child_process'
import { freePort } from './free-port.js'
import { CLI } from './natsmesh.js'

export type Checker = 'natsmesh' | 'nats-server'

export interface OracleVerdict {
  isValid: boolean
  /** stderr lines without the `nats-server: ` (or `natsmesh: `) prefix, blank lines dropped. */
  lines: string[]
}

const START_TIMEOUT_MS = 10_000

/** The command line that runs `kind` with these arguments. */
function commandOf(kind: Checker, args: readonly string[]): [string, string[]] {
  return kind === 'nats-server' ? ['nats-server', [...args]] : [process.execPath, [CLI, 'server', ...args]]
}

/** `<kind> -t -c file`, with env as the whole environment. */
export function checkFileWith(kind: Checker, file: string, env: Record<string, string>): Promise<OracleVerdict> {
  const [command, args] = commandOf(kind, ['-t', '-c', file])
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: START_TIMEOUT_MS }, (err, _stdout, stderr) => {
      const code = err === null ? 0 : (err as { code?: unknown }).code
      if (typeof code !== 'number') return reject(err)
      const lines = stderr.replace(new RegExp(`^${kind}: `), '').split('\n').filter((line) => line !== '')
      resolve({ isValid: code === 0, lines })
    })
  })
}

/** `nats-server -t -c file`, with env as the whole environment. */
export function natsServerCheck(file: string, env: Record<string, string>): Promise<OracleVerdict> {
  return checkFileWith('nats-server', file, env)
}

/**
 * Starts `kind` with `args` (which name the config file and whatever ports
 * the file does not set), returns its /varz from monitorPort, and stops it.
 */
export async function varzWith(kind: Checker, args: readonly string[], env: Record<string, string>, monitorPort: number): Promise<Record<string, unknown>> {
  const [command, commandArgs] = commandOf(kind, args)
  const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < 16_000) stderr += d.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    for (let attempt = 0; attempt < 400; attempt++) {
      if (child.exitCode !== null) break
      try {
        const res = await fetch(`http://127.0.0.1:${monitorPort}/varz`)
        return (await res.json()) as Record<string, unknown>
      } catch {
        // not listening yet: retry shortly
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    throw new Error(`${kind} gave no /varz for ${args.join(' ')}: ${stderr}`)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
}

/** Starts nats-server on the file (plus free ports on 127.0.0.1), returns its /varz, stops it. */
export async function natsServerVarz(file: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  const [port, monitorPort] = [await freePort(), await freePort()]
  return varzWith('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-c', file], env, monitorPort)
}

/** Runs `kind` with `args`, expecting it to exit on its own (a refused config); its exit code and stderr. */
export function startRefused(kind: Checker, args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const [command, commandArgs] = commandOf(kind, args)
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 16_000) stderr += d.toString() })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${kind} ${args.join(' ')} is still running after ${START_TIMEOUT_MS} ms: ${stderr}`))
    }, START_TIMEOUT_MS)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })
}
