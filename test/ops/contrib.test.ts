// contrib/: the systemd unit, the container recipe and their sample configs
// stay valid and agree with each other. What can run here runs: systemd's own
// unit checker, and nats-server's config checker (-t) on the samples, which
// use only keys the two servers share. No container engine runs on this
// machine, so the Containerfile is checked by reading it; the install it does
// (`npm install -g` of the packed tarball) is test/ops/package.test.ts.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parseConfigFile, type ConfValue } from '../../src/config/conf-parser.js'
import { parseGoDuration } from '../../src/config/go-duration.js'
import { DEFAULT_LAME_DUCK_DURATION_MS, DEFAULT_LAME_DUCK_GRACE_PERIOD_MS } from '../../src/server/options.js'
import { ROOT } from '../helpers/natsmesh.js'

const run = promisify(execFile)
const UNIT = path.join(ROOT, 'contrib', 'systemd', 'natsmesh.service')
const UNIT_CONFIG = path.join(ROOT, 'contrib', 'systemd', 'natsmesh.conf')
const CONTAINERFILE = path.join(ROOT, 'contrib', 'container', 'Containerfile')
const CONTAINER_CONFIG = path.join(ROOT, 'contrib', 'container', 'natsmesh.conf')
/** Where the unit and the container read their config, as docs/operations.md says. */
const CONFIG_PATH = '/etc/natsmesh/natsmesh.conf'
/** Leaving ZooKeeper (up to 2 s) and closing routes after the last client: at least this much slack. */
const STOP_SLACK_S = 5

/** `Key=value` lines of a unit file, by key (a key given twice keeps both, in order). */
function unitDirectives(text: string): Map<string, string[]> {
  const directives = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim())
    if (match === null) continue
    directives.set(match[1], [...(directives.get(match[1]) ?? []), match[2]])
  }
  return directives
}

function seconds(value: ConfValue | undefined, defaultMs: number): number {
  if (value === undefined) return defaultMs / 1000
  if (value.kind !== 'string') throw new Error(`expected a duration string, got ${value.kind}`)
  const parsed = parseGoDuration(value.value)
  if (parsed.ns === null) throw new Error(parsed.error)
  return Number(parsed.ns / 1_000_000n) / 1000
}

function systemdSeconds(value: string): number {
  const match = /^(\d+)(s|min)?$/.exec(value)
  if (match === null) throw new Error(`TimeoutStopSec=${value}: not a plain number of seconds or minutes`)
  return Number(match[1]) * (match[2] === 'min' ? 60 : 1)
}

t.test('systemd-analyze verify accepts the unit without a warning', async (t) => {
  const analyze = await run('systemd-analyze', ['--version']).then(() => true, () => false)
  if (!analyze) {
    t.plan(0, 'systemd-analyze is not installed')
    return
  }
  // verify insists that ExecStart's program exists: point it at one that does; everything else is checked as written.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-unit-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const unit = path.join(dir, 'natsmesh.service')
  fs.writeFileSync(unit, fs.readFileSync(UNIT, 'utf8').replace('/usr/local/bin/natsmesh', process.execPath))
  const result = await run('systemd-analyze', ['verify', unit]).then(
    ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}` }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  )
  t.equal(result.code, 0, 'exit code 0')
  t.equal(result.output.trim(), '', 'no warning (systemd exits 0 even for an unknown key or a bad signal name)')
})

t.test('the unit drains on stop with a stop timeout longer than its sample config\'s lame duck, and reloads by SIGHUP', async (t) => {
  const unit = unitDirectives(fs.readFileSync(UNIT, 'utf8'))
  const conf = parseConfigFile(UNIT_CONFIG).root.value
  const lameDuckS = seconds(conf.get('lame_duck_grace_period'), DEFAULT_LAME_DUCK_GRACE_PERIOD_MS) +
    seconds(conf.get('lame_duck_duration'), DEFAULT_LAME_DUCK_DURATION_MS)
  const defaultLameDuckS = (DEFAULT_LAME_DUCK_GRACE_PERIOD_MS + DEFAULT_LAME_DUCK_DURATION_MS) / 1000
  t.same(unit.get('KillSignal'), ['SIGUSR2'], 'systemctl stop sends SIGUSR2 (lame duck)')
  const timeoutS = systemdSeconds(unit.get('TimeoutStopSec')?.[0] ?? '90')
  t.ok(timeoutS >= lameDuckS + STOP_SLACK_S, `TimeoutStopSec ${timeoutS}s covers the sample's grace period + duration (${lameDuckS}s) + ${STOP_SLACK_S}s`)
  t.ok(timeoutS >= defaultLameDuckS + STOP_SLACK_S, `TimeoutStopSec ${timeoutS}s covers natsmesh's defaults too (${defaultLameDuckS}s), for a config that leaves them out`)
  t.same(unit.get('Restart'), ['on-failure'], 'a drained node (exit 0) stays down; a crash restarts')
  t.same(unit.get('ExecReload'), ['/bin/kill -HUP $MAINPID'], 'systemctl reload sends SIGHUP')
  t.match(unit.get('ExecStart')?.[0] ?? '', new RegExp(` server -c ${CONFIG_PATH}$`), `ExecStart runs natsmesh server -c ${CONFIG_PATH}`)
  t.notSame(unit.get('User'), ['root'], 'a dedicated user')
})

t.test('nats-server -t accepts both sample configs: they use only keys the two servers share', async (t) => {
  for (const file of [UNIT_CONFIG, CONTAINER_CONFIG]) {
    const output = await run('nats-server', ['-t', '-c', file]).then(
      ({ stdout, stderr }) => `${stdout}${stderr}`,
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
    )
    t.match(output, /configuration file .* is valid/, path.relative(ROOT, file))
  }
})

t.test('the Containerfile installs the packed tarball, runs the config it copies in, and exposes that config\'s ports', async (t) => {
  const text = fs.readFileSync(CONTAINERFILE, 'utf8')
  t.match(text, /^FROM node:20-slim\b/m, 'Node.js 20 on Debian')
  t.match(text, /^RUN npm install -g .*\/tmp\/natsmesh-\*\.tgz/m, 'npm install -g of the tarball copied in')
  t.match(text, new RegExp(`^COPY natsmesh\\.conf ${CONFIG_PATH}$`, 'm'), `the sample config lands at ${CONFIG_PATH}`)
  t.match(text, new RegExp(`^CMD \\["server", "-c", "${CONFIG_PATH}"\\]$`, 'm'), 'and the node runs with it')
  t.match(text, /^USER (?!root)\w+$/m, 'not as root')
  const exposed = (/^EXPOSE (.*)$/m.exec(text)?.[1] ?? '').split(/\s+/).map(Number)
  const conf = parseConfigFile(CONTAINER_CONFIG).root.value
  for (const key of ['port', 'http_port']) {
    const value = conf.get(key)
    t.ok(value?.kind === 'int' && exposed.includes(value.value), `EXPOSE has the config's ${key} (${value?.kind === 'int' ? value.value : '?'})`)
  }
  const health = /^\s*CMD \["node", "-e", "(.*)"\]$/m.exec(text)?.[1] ?? ''
  t.match(health, /127\.0\.0\.1:(\d+)\/healthz/, 'the health check asks /healthz')
  const healthPort = Number(/127\.0\.0\.1:(\d+)\//.exec(health)?.[1])
  const httpPort = conf.get('http_port')
  t.equal(healthPort, httpPort?.kind === 'int' ? httpPort.value : -1, 'on the config\'s monitoring port')
})
