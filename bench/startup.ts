// `npm run bench -- --only startup`, part one: how long a server takes from
// spawn to the first byte of its INFO on the client port, for nats-server,
// natsmesh, and a bare Node.js process that listens and writes INFO (the
// floor, bench/info-floor.ts: what starting Node.js and binding a port cost),
// round after round in the same run, the order of the three rotating each
// round so machine noise lands on all of them. Part two, nats.go's restart
// expectation, is bench/restart-probe.ts. See docs/benchmarks.md, "Start-up".
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import type { NodeProcess } from '../src/local/node-process.js'
import { freePort } from '../src/local/ports.js'
import { median, table } from './report.js'
import { spawnServer, type ProcessRegistry, type TargetSpec } from './servers.js'

export const STARTUP_ROUNDS = 20
/** A refused connect is retried after this long: the resolution of the measurement. */
const CONNECT_RETRY_MS = 1
const FIRST_INFO_TIMEOUT_MS = 15_000
const INFO_FIRST_BYTE = 0x49 // 'I'

export const INFO_FLOOR: TargetSpec = {
  name: 'bare Node.js (listen + INFO)',
  command: [process.execPath, fileURLToPath(new URL('./info-floor.js', import.meta.url))],
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

export interface StartupSide {
  name: string
  command: string
  roundsMs: number[]
  errors: string[]
}

export interface StartupReport {
  natsServer: StartupSide
  natsmesh: StartupSide
  floor: StartupSide
}

/**
 * Ms from startedMs (nowMs()) until the first byte read from
 * 127.0.0.1:port, which must begin an INFO line. Refused connects are retried
 * every CONNECT_RETRY_MS until the server has exited or timeoutMs has passed.
 */
export function firstInfoByteMs(port: number, startedMs: number, server: NodeProcess, timeoutMs = FIRST_INFO_TIMEOUT_MS): Promise<number> {
  const deadline = startedMs + timeoutMs
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (server.hasExited) {
        reject(new Error(`${server.name} exited before its INFO: ${server.logTail().slice(-2000)}`))
        return
      }
      if (nowMs() > deadline) {
        reject(new Error(`no INFO from ${server.name} within ${timeoutMs} ms`))
        return
      }
      let isAnswered = false
      const socket = net.connect({ port, host: '127.0.0.1' })
      socket.setTimeout(Math.max(1, deadline - nowMs()))
      socket.once('data', (d: Buffer) => {
        const at = nowMs()
        isAnswered = true
        socket.destroy()
        if (d[0] === INFO_FIRST_BYTE) resolve(at - startedMs)
        else reject(new Error(`${server.name} greeted with ${JSON.stringify(d.subarray(0, 40).toString('latin1'))}`))
      })
      socket.once('timeout', () => socket.destroy())
      socket.once('error', () => { /* refused: the server is not listening yet; 'close' retries */ })
      socket.once('close', () => { if (!isAnswered) setTimeout(attempt, CONNECT_RETRY_MS) })
    }
    attempt()
  })
}

/** One round for one target: spawn on a free port, time the first INFO byte, SIGKILL. */
async function spawnToInfoMs(spec: TargetSpec, registry: ProcessRegistry): Promise<number> {
  const port = await freePort()
  const startedMs = nowMs()
  const server = spawnServer(spec, port, [], registry)
  try {
    return await firstInfoByteMs(port, startedMs, server)
  } finally {
    server.killNow()
    await server.exited
  }
}

export async function runStartupBench(natsServer: TargetSpec, natsmesh: TargetSpec, registry: ProcessRegistry, rounds = STARTUP_ROUNDS): Promise<StartupReport> {
  const targets: Array<[TargetSpec, StartupSide]> = [natsServer, natsmesh, INFO_FLOOR].map((spec) => [spec, {
    name: spec.name, command: spec.command.join(' '), roundsMs: [], errors: [],
  }])
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < targets.length; k++) {
      const [spec, side] = targets[(k + round) % targets.length]
      try {
        const ms = await spawnToInfoMs(spec, registry)
        side.roundsMs.push(ms)
        console.error(`startup ${spec.name} round ${round + 1}/${rounds}: first INFO byte ${ms.toFixed(1)} ms after spawn`)
      } catch (err) {
        side.errors.push((err as Error).message)
        console.error(`startup ${spec.name} round ${round + 1}/${rounds}: ERROR ${(err as Error).message}`)
      }
    }
  }
  return { natsServer: targets[0][1], natsmesh: targets[1][1], floor: targets[2][1] }
}

function ms(value: number): string {
  return Number.isNaN(value) ? '—' : value < 100 ? value.toFixed(1) : value.toFixed(0)
}

export function formatStartupReport(report: StartupReport): string {
  const sides = [report.natsServer, report.floor, report.natsmesh]
  const rows = sides.map((s) => [
    s.name, ms(s.roundsMs.length === 0 ? NaN : Math.min(...s.roundsMs)), ms(median(s.roundsMs)),
    ms(s.roundsMs.length === 0 ? NaN : Math.max(...s.roundsMs)), String(s.roundsMs.length), String(s.errors.length),
  ])
  const mesh = median(report.natsmesh.roundsMs)
  const lines = [
    `Start-up: spawn → first INFO byte on the client port, ms (order rotating each round)`,
    '',
    table(['target', 'min', 'median', 'max', 'rounds', 'errors'], rows),
    '',
    `natsmesh / nats-server (median): ${(mesh / median(report.natsServer.roundsMs)).toFixed(1)}×; ` +
      `natsmesh − bare Node.js (median): ${ms(mesh - median(report.floor.roundsMs))} ms, what natsmesh's own start-up adds to Node.js's`,
  ]
  for (const s of sides) for (const e of s.errors.slice(0, 3)) lines.push(`  ${s.name}: ${e}`)
  return lines.join('\n')
}

export function startupErrors(report: StartupReport): number {
  return report.natsServer.errors.length + report.natsmesh.errors.length + report.floor.errors.length
}
