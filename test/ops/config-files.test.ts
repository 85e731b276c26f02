// nats-server configuration files that both nats-server 2.9.10 and natsmesh
// accept (test/helpers/config-cases.ts): `natsmesh server -t` says what
// `nats-server -t` says, and both servers, started with the file, run with
// the same limits and addresses (/varz). The files both refuse, and where
// natsmesh differs on purpose: config-verdicts.test.ts.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { runCase, VALID_CASES } from '../helpers/config-cases.js'

const root = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-conf-files-'))
t.teardown(() => rm(root, { recursive: true, force: true }))

for (const [i, c] of VALID_CASES.entries()) {
  t.test(`${c.name}: natsmesh -t says what nats-server -t says, and both run with the same values`, (t) => runCase(t, c, path.join(root, `case-${i}`)))
}
