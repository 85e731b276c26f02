// Queue groups across nodes are picked by weight (docs/architecture.md
// "Queue-group weighting"): a local member weighs 1, a peer weighs the member
// count of its last `RS+ $G subj queue weight`. A fake peer on a raw route
// socket announces the weights, so the test sets them exactly and sees every
// copy the node sends it.
//
// The bounds are statistical. With n messages and a share p, the count is
// binomial: mean n·p, standard deviation √(n·p·(1−p)). Each bound is six
// standard deviations either side of the mean, so a correct node falls
// outside it with probability about 2·10⁻⁹ per check; the wrong share (weights
// ignored, or an old weight kept) lies ten or more deviations beyond it.
import t from 'tap'
import { RawClient } from '../helpers/raw-client.js'
import { FakeRoute, connectTo, startMeshNode, uniqueSubject, until } from '../helpers/cluster.js'

const N = 2_000

/** [low, high]: six standard deviations around n·p. */
function sixSigma(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p))
  return [Math.ceil(n * p - 6 * sd), Math.floor(n * p + 6 * sd)]
}

t.test('a peer announcing 3 members of a queue group gets ¾ of the messages against one local member, and ½ once it announces 1', async (t) => {
  const node = await startMeshNode(t, { label: 'N' })
  const subject = uniqueSubject('weighted')
  // The local member: a raw client, so every MSG it gets is counted.
  const member = await RawClient.connect(node.port)
  t.teardown(() => member.close())
  await member.waitFor((text) => text.includes('\r\n'))
  member.send(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${subject} q 1\r\nPING\r\n`)
  await member.waitFor((text) => text.includes('PONG\r\n'))
  const peer = await FakeRoute.connect(t, node.routePort)
  await peer.waitForLine(`RS+ $G ${subject} q 1`)
  const publisher = await connectTo(t, node)

  /** Announces `weight`, publishes N messages tagged `phase-i`, and returns how many the local member and the peer got. */
  const phase = async (name: string, weight: number): Promise<{ local: number; remote: number; duplicates: number }> => {
    const pongs = peer.lines('PONG').length
    peer.send(`RS+ $G ${subject} q ${weight}\r\nPING\r\n`)
    await until('the node read the new weight', () => peer.lines('PONG').length > pongs, 10_000, 5)
    for (let i = 0; i < N; i++) publisher.publish(subject, `${name}-${i}`)
    await publisher.flush()
    const localOf = (): string[] => member.text().split('\r\n').filter((l) => l.startsWith(`${name}-`))
    const remoteOf = (): string[] => peer.ops.filter((op) => op.line.startsWith('RMSG') && op.payload?.startsWith(`${name}-`) === true)
      .map((op) => op.payload ?? '')
    await until(`all ${N} messages of ${name} delivered once`, () => localOf().length + remoteOf().length >= N, 20_000, 10)
    const all = [...localOf(), ...remoteOf()]
    return { local: localOf().length, remote: remoteOf().length, duplicates: all.length - new Set(all).size }
  }

  const heavy = await phase('heavy', 3)
  const [lowHeavy, highHeavy] = sixSigma(N, 1 / 4)
  t.comment(`peer weight 3: local ${heavy.local}, peer ${heavy.remote} (local bound ${lowHeavy}–${highHeavy})`)
  t.equal(heavy.local + heavy.remote, N, 'every message went to exactly one member')
  t.equal(heavy.duplicates, 0, 'none twice')
  t.ok(heavy.local >= lowHeavy && heavy.local <= highHeavy, `the local member got about ¼ (${heavy.local} of ${N}; ½ would mean the weight was ignored)`)
  t.ok(peer.lines('RMSG').every((l) => l.endsWith(` | q ${l.split(' ').pop()}`)), 'each copy to the peer names the queue group')

  const even = await phase('even', 1)
  const [lowEven, highEven] = sixSigma(N, 1 / 2)
  t.comment(`peer weight 1: local ${even.local}, peer ${even.remote} (local bound ${lowEven}–${highEven})`)
  t.equal(even.local + even.remote, N, 'every message went to exactly one member')
  t.equal(even.duplicates, 0, 'none twice')
  t.ok(even.local >= lowEven && even.local <= highEven, `after RS+ with weight 1 the local member got about ½ (${even.local} of ${N}; ¼ would mean the old weight stayed)`)
})
