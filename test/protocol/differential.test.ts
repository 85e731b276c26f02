// The same bytes to natsmesh and to nats-server 2.9 (the Debian package): the
// same transcript back, errors and closes included. INFO is compared by field
// elsewhere (ids differ per server). Each input goes out with a PING appended;
// a transcript ends at the answer to it, or at the close.
import t from 'tap'
import { startNatsServer } from '../helpers/nats-server.js'
import { startNode } from '../helpers/natsmesh.js'
import { transcriptToPong } from '../helpers/transcript.js'

const QUIET = 'CONNECT {"verbose":false,"pedantic":false}\r\n'
const QUIET_HDRS = 'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n'
const long = (n: number): string => 'a'.repeat(n)

const cases: Array<[string, string]> = [
  ['verbose by default: +OK after each op, MSG after the PUB\'s +OK', 'CONNECT {}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n'],
  ['no CONNECT at all is verbose and pedantic', 'SUB foo..bar 1\r\nSUB foo.> 2\r\nPING\r\n'],
  ['quiet client gets only what it asked for', QUIET + 'SUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n'],
  ['reply subject is carried', QUIET + 'SUB foo 1\r\nPUB foo bar 2\r\nhi\r\nPING\r\n'],
  ['wildcards * and >', QUIET + 'SUB a.* 1\r\nSUB a.> 2\r\nSUB > 3\r\nPUB a.b 1\r\nx\r\nPUB a.b.c 1\r\ny\r\nPING\r\n'],
  ['invalid subjects are refused and the connection stays', QUIET + 'SUB foo..bar 1\r\nSUB foo.>.x 3\r\nSUB .a 4\r\nSUB a. 5\r\nPING\r\n'],
  ['pedantic publish to a wildcard subject', 'CONNECT {"verbose":false,"pedantic":true}\r\nSUB foo.* 1\r\nPUB foo.* 1\r\nx\r\nPING\r\n'],
  ['pedantic publish to a literal subject', 'CONNECT {"verbose":false,"pedantic":true}\r\nSUB foo.* 1\r\nPUB foo.bar 1\r\nx\r\nPING\r\n'],
  ['UNSUB with max delivers max then stops', QUIET + 'SUB a 1\r\nUNSUB 1 2\r\nPUB a 1\r\nx\r\nPUB a 1\r\ny\r\nPUB a 1\r\nz\r\nPING\r\n'],
  ['UNSUB of an unknown sid is fine', 'CONNECT {}\r\nUNSUB 99\r\nPING\r\n'],
  ['UNSUB with an unreadable max unsubscribes', QUIET + 'SUB a 1\r\nUNSUB 1 x\r\nPUB a 0\r\n\r\nPING\r\n'],
  ['UNSUB with max 0 unsubscribes', QUIET + 'SUB a 1\r\nUNSUB 1 0\r\nPUB a 0\r\n\r\nPING\r\n'],
  ['a repeated sid keeps one subscription', QUIET + 'SUB a 1\r\nSUB a 1\r\nPUB a 1\r\nx\r\nPING\r\n'],
  ['echo off: no own messages', '{"verbose":false,"echo":false}'.replace(/^/, 'CONNECT ') + '\r\nSUB a 1\r\nPUB a 0\r\n\r\nPING\r\n'],
  ['a queue member and a plain subscriber both get the message', QUIET + 'SUB a q 1\r\nSUB a 3\r\nPUB a 1\r\nx\r\nPING\r\n'],
  ['headers: HPUB becomes HMSG', QUIET_HDRS + 'SUB a 1\r\nHPUB a 12 14\r\nNATS/1.0\r\n\r\nhi\r\nHPUB a r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n'],
  ['no responders: 503 to the requester', QUIET_HDRS + 'SUB r 1\r\nPUB nobody r 0\r\n\r\nPING\r\n'],
  ['no responders needs headers too', 'CONNECT {"verbose":false,"no_responders":true}\r\nSUB r 1\r\nPUB nobody r 0\r\n\r\nPING\r\n'],
  // Stripping headers for a client without them needs two connections: its own test below.
  ['headers without no_responders is accepted', 'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nSUB a 1\r\nPING\r\n'],
  ['ops are case-insensitive', QUIET + 'sub a 1\r\npub a 1\r\nx\r\nPiNg\r\n'],
  ['spaces and tabs separate arguments', QUIET + 'SUB  a\t 1\r\nPUB  a\t 1\r\nx\r\nPING\r\n'],
  ['a bare LF ends a line', QUIET + 'SUB a 1\nPUB a 1\nx\r\nPING\n'],
  ['PING with trailing text', QUIET + 'PING x\r\n'],
  ['INFO from a client is ignored', QUIET + 'INFO {}\r\nPING\r\n'],
  ['INFO from a client that is not JSON closes it', QUIET + 'INFO x\r\nPING\r\n'],
  ['UNSUB max of ten digits is no number and unsubscribes', QUIET + 'SUB a 1\r\nUNSUB 1 0000000005\r\nPUB a 0\r\n\r\nPING\r\n'],
  ['SUB with a CR inside the arguments closes', QUIET + 'SUB foo\rbar q 1\r\nPING\r\n'],
  ['unknown op closes with an error', QUIET + 'XYZ\r\n'],
  ['MSG from a client is an unknown op', QUIET + 'MSG a 1\r\n'],
  ['UNSUB with no argument', QUIET + 'UNSUB\r\n'],
  ['PUB with no size closes without a word', QUIET + 'PUB foo\r\n'],
  ['PUB with a bad size closes', QUIET + 'PUB foo x\r\n'],
  ['PUB with too many arguments closes', QUIET + 'PUB a 1 2 3\r\n'],
  ['SUB with too many arguments closes', QUIET + 'SUB a b c d\r\n'],
  ['SUB with too few arguments closes', QUIET + 'SUB foo\r\n'],
  ['payload longer than its size', QUIET + 'PUB foo 3\r\nabcd\r\n'],
  ['payload ends with LF only', QUIET + 'PUB a 1\r\nx\n'],
  ['oversize payload', QUIET + 'PUB foo 2000000\r\n'],
  ['control line too long in SUB', QUIET + `SUB ${long(5000)} 1\r\n`],
  ['control line too long in PUB', QUIET + `PUB ${long(5000)} 1\r\nx\r\n`],
  ['CONNECT that is not JSON', 'CONNECT {bad\r\n'],
  ['CONNECT with a wrong type', 'CONNECT {"verbose":false,"lang":5}\r\nPING\r\n'],
  ['HPUB without headers enabled closes', QUIET + 'SUB a 1\r\nHPUB a 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n'],
  ['HPUB with header size above total closes', QUIET_HDRS + 'HPUB a 14 12\r\n'],
  ['-ERR from a client closes it', QUIET + '-ERR x\r\nPING\r\n'],
  ['+OK from a client', QUIET + '+OK\r\nPING\r\n'],
]

t.test('natsmesh answers like nats-server 2.9', async (t) => {
  const oracle = await startNatsServer()
  t.teardown(() => oracle.stop())
  const node = await startNode()
  t.teardown(() => node.shutdown())
  for (const [name, input] of cases) {
    const [want, got] = await Promise.all([transcriptToPong(oracle.port, input), transcriptToPong(node.port, input)])
    t.same(got, want, name)
  }
})

t.test('a client without headers gets MSG with the headers stripped', async (t) => {
  // Two connections: a header-capable publisher and a plain subscriber.
  const oracle = await startNatsServer()
  t.teardown(() => oracle.stop())
  const node = await startNode()
  t.teardown(() => node.shutdown())
  const { RawClient } = await import('../helpers/raw-client.js')
  const run = async (port: number): Promise<string> => {
    const sub = await RawClient.connect(port)
    const pub = await RawClient.connect(port)
    t.teardown(() => { sub.close(); pub.close() })
    sub.send(QUIET + 'SUB a 1\r\nPING\r\n')
    await sub.waitFor((s) => s.includes('PONG'))
    pub.send(QUIET_HDRS + 'HPUB a 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n')
    await pub.waitFor((s) => s.includes('PONG'))
    sub.send('PING\r\n')
    await sub.waitFor((s) => s.split('PONG').length > 2)
    return sub.text()
  }
  t.equal(await run(node.port), await run(oracle.port))
})
