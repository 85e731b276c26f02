// nats-server configuration files that nats-server 2.9.10 refuses, and the
// ones where natsmesh differs on purpose (test/helpers/config-cases.ts):
// `natsmesh server -t` gives nats-server's verdict in nats-server's words, or
// the difference the case names. Also: warnings at start, -t without -c, a
// missing file, and the .json rule.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { BASE_ENV, DIFFERENT_CASES, REFUSED_CASES, runCase } from '../helpers/config-cases.js'
import { startBoth, varz } from '../helpers/nats-server.js'
import { checkFileWith, startRefused } from '../helpers/nats-server-config.js'

const root = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-conf-verdicts-'))
t.teardown(() => rm(root, { recursive: true, force: true }))

for (const [i, c] of REFUSED_CASES.entries()) {
  t.test(`${c.name}: natsmesh -t refuses it as nats-server -t does, in the same words`, (t) => runCase(t, c, path.join(root, `refused-${i}`)))
}

for (const [i, c] of DIFFERENT_CASES.entries()) {
  t.test(`${c.name}: natsmesh differs on purpose (${c.expect})`, (t) => runCase(t, c, path.join(root, `different-${i}`)))
}

t.test('warnings are printed at start and the server runs, as nats-server does', async (t) => {
  const dir = path.join(root, 'warning')
  await mkdir(dir, { recursive: true })
  const file = path.join(dir, 'w.conf')
  await writeFile(file, 'ping_interval: 30\n')
  const warning = `${file}:1:0: invalid use of field "ping_interval": ping_interval should be converted to a duration`
  for (const { kind, server, monitorPort } of await startBoth(t, () => ['-c', file])) {
    t.equal(server.output().split('\n').find((line) => line.includes('invalid use of field')), warning, `${kind} printed the warning as it is`)
    t.equal((await varz(monitorPort)).ping_interval, 30_000_000_000, `${kind} runs, with 30 s`)
  }
})

t.test('-t without -c: nats-server\'s message, with our name', async (t) => {
  const [theirs, ours] = await Promise.all([
    startRefused('nats-server', ['-t'], BASE_ENV),
    startRefused('natsmesh', ['-t'], BASE_ENV),
  ])
  t.equal(ours.code, theirs.code, 'the same exit code')
  t.equal(ours.stderr.replace(/^natsmesh: /, ''), theirs.stderr.replace(/^nats-server: /, '').replace(/\n+$/, '\n'), 'the same words')
})

t.test('a missing file: the same words as nats-server, from -t and at start', async (t) => {
  const file = path.join(root, 'nope.conf')
  const [theirs, ours] = await Promise.all([checkFileWith('nats-server', file, BASE_ENV), checkFileWith('natsmesh', file, BASE_ENV)])
  t.same(ours, theirs)
  const start = await startRefused('natsmesh', ['-c', file], BASE_ENV)
  t.same({ code: start.code, stderr: start.stderr }, { code: 2, stderr: `natsmesh: open ${file}: no such file or directory\n` }, 'start: exit 2, as every natsmesh config error')
})

t.test('a .json file is natsmesh\'s flag-keyed JSON; a nats-server config written as JSON needs another name', async (t) => {
  const dir = path.join(root, 'json')
  await mkdir(dir, { recursive: true })
  const old = path.join(dir, 'old.json')
  await writeFile(old, JSON.stringify({ addr: '127.0.0.1', port: 4333, max_payload: '2MB', cluster: 'nats://127.0.0.1:6333', cluster_name: 'p' }))
  t.same(await checkFileWith('natsmesh', old, BASE_ENV), { isValid: true, lines: [`configuration file ${old} is valid`] }, 'natsmesh\'s own JSON checks valid')
  const natsJson = path.join(dir, 'nats.json')
  const text = '{"server_name": "a", "cluster": {"name": "c", "port": 6222}}'
  await writeFile(natsJson, text)
  const refused = await checkFileWith('natsmesh', natsJson, BASE_ENV)
  t.equal(refused.isValid, false)
  t.match(refused.lines[0], /unknown option "server_name" in .*nats\.json \(a \.json file holds natsmesh's flag-named options; give a nats-server config file another extension, such as \.conf\)/)
  const renamed = path.join(dir, 'nats.conf')
  await writeFile(renamed, await readFile(natsJson, 'utf8'))
  t.same(await checkFileWith('natsmesh', renamed, BASE_ENV), await checkFileWith('nats-server', renamed, BASE_ENV), 'as .conf it reads as nats-server reads it')
})
