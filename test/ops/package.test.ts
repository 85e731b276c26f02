// The package as an operator gets it: `npm pack` of a clean copy of this
// checkout (no dist/, so `prepare` builds it from scratch, as a release
// would), `npm install -g` of that tarball into a temporary prefix, and the
// installed `natsmesh` run with a PATH that holds only `node`: an official
// client publishes and subscribes through it, SIGTERM stops it with exit code
// 0, and `--help` answers. The install fetches the dependencies from the npm
// registry (or npm's cache); only when npm reports a network failure is the
// test skipped, with npm's words. About 20–40 s, most of it tsc.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { connect, StringCodec } from 'nats'
import t from 'tap'
import { freePort } from '../helpers/free-port.js'
import { NodeProcess, ROOT, TEST_LOG_LIMIT_BYTES, untilAccepting } from '../helpers/natsmesh.js'

/** Bounds for each npm command: pack runs tsc on 2 busy cores; install may download. */
const PACK_TIMEOUT_MS = 180_000
const INSTALL_TIMEOUT_MS = 180_000
const HELP_TIMEOUT_MS = 20_000
const STOP_TIMEOUT_MS = 10_000
/** Not copied into the clean checkout: build output, installed modules (linked instead), history, test runs' leftovers (.gitignore). */
const NOT_COPIED = new Set(['node_modules', 'dist', '.git', '.tap', 'coverage', 'tmp'])
/** npm's codes for "could not reach the registry"; anything else is the package's fault. */
const NETWORK_ERRORS = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)\b/

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, stdout, stderr: err !== null && err.killed ? `${stderr}\n(killed after ${options.timeoutMs} ms)` : stderr })
    })
  })
}

/** Our environment without what `npm test` adds (npm_config_*, npm_lifecycle_*, …), so the npm we run behaves as an operator's. */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')))
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'natsmesh-package-'))
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }))
const prefix = path.join(work, 'prefix')
const installed = path.join(prefix, 'bin', 'natsmesh')
/** A PATH with `node` and nothing else: the installed bin's `#!/usr/bin/env node` must find it there. */
const nodeOnly = path.join(work, 'node-only')
fs.mkdirSync(nodeOnly)
fs.symlinkSync(process.execPath, path.join(nodeOnly, 'node'))
const operatorEnv: NodeJS.ProcessEnv = { PATH: nodeOnly, HOME: work }
let tarball: string | null = null
let isInstalled = false

t.test('npm pack of a clean checkout holds the CLI and both entry points with their types, and no tests, bench, examples or source maps', async (t) => {
  const checkout = path.join(work, 'checkout')
  fs.cpSync(ROOT, checkout, { recursive: true, filter: (src) => !NOT_COPIED.has(path.relative(ROOT, src).split(path.sep)[0]) })
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'))
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: checkout, env: npmEnv(), timeoutMs: PACK_TIMEOUT_MS })
  if (packed.code !== 0) {
    t.fail(`npm pack failed (${packed.code}):\n${packed.stderr.slice(-4000)}`)
    return
  }
  const [result] = JSON.parse(packed.stdout) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>
  const files = result.files.map((f) => f.path)
  t.comment(`${result.filename}: ${files.length} files, ${(result.size / 1024).toFixed(0)} KiB`)
  for (const needed of [
    'package.json', 'README.md', 'dist/bin/natsmesh.js', 'dist/bin/commands/server.js',
    'dist/src/client/index.js', 'dist/src/client/index.d.ts', 'dist/src/node/index.js', 'dist/src/node/index.d.ts',
  ]) t.ok(files.includes(needed), `the tarball holds ${needed}`)
  t.same(files.filter((f) => /^(test|bench|examples|src|bin)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'no sources or tests')
  t.same(files.filter((f) => f.startsWith('dist/bench/') || f.startsWith('dist/examples/')), [], 'no bench harness or example')
  t.same(files.filter((f) => f.endsWith('.map')), [], 'no source maps (they point at .ts files the package does not hold)')
  tarball = path.join(work, result.filename)
})

t.test('npm install -g of the tarball into a temporary prefix gives a natsmesh bin that runs with only node on PATH', async (t) => {
  if (tarball === null) {
    t.fail('no tarball: npm pack failed above')
    return
  }
  const install = await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
    { cwd: work, env: npmEnv(), timeoutMs: INSTALL_TIMEOUT_MS })
  if (install.code !== 0 && NETWORK_ERRORS.test(install.stderr)) {
    t.plan(0, `the npm registry is unreachable, so the dependencies cannot be installed: ${NETWORK_ERRORS.exec(install.stderr)?.[0]}`)
    return
  }
  t.equal(install.code, 0, `npm install -g exits 0${install.code === 0 ? '' : `:\n${install.stderr.slice(-4000)}`}`)
  t.ok(fs.existsSync(installed), `${path.relative(work, installed)} exists`)
  isInstalled = install.code === 0 && fs.existsSync(installed)
  if (!isInstalled) return

  const port = await freePort()
  const node = await untilAccepting(new NodeProcess({
    name: `installed natsmesh on port ${port}`, command: [installed, 'server'], port, args: [], env: operatorEnv, logLimitBytes: TEST_LOG_LIMIT_BYTES,
  }))
  t.teardown(() => node.stop())
  const sc = StringCodec()
  const nc = await connect({ servers: node.url })
  t.teardown(() => nc.close())
  const sub = nc.subscribe('package.check', { max: 1 })
  await nc.flush()
  nc.publish('package.check', sc.encode('from the tarball'))
  const received: string[] = []
  const done = (async () => { for await (const m of sub) received.push(sc.decode(m.data)) })()
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 5_000))])
  t.same(received, ['from the tarball'], 'the subscriber gets the message it published through the installed server')
  await nc.close()

  const status = await node.stop(STOP_TIMEOUT_MS)
  t.same(status, { code: 0, signal: null }, `SIGTERM: the installed server exits with code 0\n${node.logTail()}`)
})

t.test('the installed natsmesh answers --help and server --help with only node on PATH', async (t) => {
  if (!isInstalled) {
    t.plan(0, 'not installed (see the test above)')
    return
  }
  const top = await run(installed, ['--help'], { cwd: work, env: operatorEnv, timeoutMs: HELP_TIMEOUT_MS })
  t.equal(top.code, 0, `natsmesh --help exits 0 ${top.stderr}`)
  for (const command of ['server', 'up', 'cluster', 'node', 'chaos']) t.match(top.stdout, new RegExp(`natsmesh ${command}\\b`), `--help lists ${command}`)
  const server = await run(installed, ['server', '--help'], { cwd: work, env: operatorEnv, timeoutMs: HELP_TIMEOUT_MS })
  t.equal(server.code, 0, `natsmesh server --help exits 0 ${server.stderr}`)
  t.match(server.stdout, /--port/, 'server --help lists --port')
})
