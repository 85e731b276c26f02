// The Discovery contract as a test suite, run by every implementation
// (mqemitter's abstractTest pattern; STYLE.md P17). Not a *.test.ts file: the
// implementation's own test file calls discoveryConformance(t, build).
//
// build(self) returns a started-or-not discovery plus the peers it is expected
// to list besides self (static: its seeds; ZooKeeper: none, a fresh cluster).
// Every discovery built here is closed in t.teardown.
import type { Test } from 'tap'
import {
  DiscoveryError, compareMembers,
  type Discovery, type DiscoveryLogger, type DiscoveryState, type MemberInfo,
} from '../../src/discovery/discovery.js'

export interface ConformanceSubject {
  discovery: Discovery
  peers: readonly MemberInfo[]
}

export type ConformanceBuild = (self: MemberInfo | null, logger: DiscoveryLogger) => Promise<ConformanceSubject>

let counter = 0

/** A MemberInfo with a unique id (and ports that nothing listens on; discovery never dials). */
export function makeMember(name = 'n'): MemberInfo {
  counter++
  const id = `NTEST${process.pid}X${counter}X${Math.random().toString(36).slice(2, 8).toUpperCase()}`
  return {
    id,
    name: `${name}-${counter}`,
    version: '0.1.0',
    clientUrl: `nats://127.0.0.1:${10_000 + counter}`,
    routeUrl: `nats://127.0.0.1:${20_000 + counter}`,
    monitorUrl: counter % 2 === 0 ? null : `http://127.0.0.1:${30_000 + counter}`,
    startTime: new Date().toISOString(),
  }
}

/** A logger that remembers what it was told, for "logged once" assertions. */
export class RecordingLogger implements DiscoveryLogger {
  readonly lines: string[] = []
  info(msg: string): void { this.lines.push(`info ${msg}`) }
  warn(msg: string): void { this.lines.push(`warn ${msg}`) }
  debug(msg: string): void { this.lines.push(`debug ${msg}`) }
  count(level: 'info' | 'warn' | 'debug', fragment: string): number {
    return this.lines.filter((l) => l.startsWith(`${level} `) && l.includes(fragment)).length
  }
}

function sorted(members: readonly MemberInfo[]): MemberInfo[] {
  return [...members].sort(compareMembers)
}

function expected(self: MemberInfo | null, peers: readonly MemberInfo[]): MemberInfo[] {
  return sorted(self === null ? peers : [self, ...peers])
}

export function discoveryConformance(t: Test, build: ConformanceBuild): void {
  async function subject(t: Test, self: MemberInfo | null, logger = new RecordingLogger()): Promise<ConformanceSubject> {
    const s = await build(self, logger)
    t.teardown(() => s.discovery.close())
    return s
  }

  t.test('members() is empty before start and lists self and the peers after it', async (t) => {
    const self = makeMember()
    const { discovery, peers } = await subject(t, self)
    t.same(discovery.members(), [])
    await discovery.start()
    t.same(discovery.members(), expected(self, peers))
    t.not(discovery.state, 'closed')
  })

  t.test('a watch-only discovery never lists itself', async (t) => {
    const { discovery, peers } = await subject(t, null)
    await discovery.start()
    t.same(discovery.members(), expected(null, peers))
  })

  t.test('start() emits members once, and a second start() changes nothing', async (t) => {
    const self = makeMember()
    const { discovery, peers } = await subject(t, self)
    const seen: Array<readonly MemberInfo[]> = []
    discovery.on('members', (m) => seen.push(m))
    await discovery.start()
    await discovery.start()
    t.equal(seen.length, 1)
    t.same(seen[0], expected(self, peers))
  })

  t.test('members() is a frozen snapshot that callers cannot change', async (t) => {
    const self = makeMember()
    const { discovery } = await subject(t, self)
    await discovery.start()
    const list = discovery.members()
    t.ok(Object.isFrozen(list))
    t.ok(list.every((m) => Object.isFrozen(m)))
    t.throws(() => { (list as MemberInfo[]).push(makeMember()) })
    t.same(discovery.members(), list)
  })

  t.test('deregister() drops self from members() and tells the listeners', async (t) => {
    const self = makeMember()
    const { discovery, peers } = await subject(t, self)
    await discovery.start()
    const seen: Array<readonly MemberInfo[]> = []
    discovery.on('members', (m) => seen.push(m))
    await discovery.deregister()
    t.same(discovery.members(), expected(null, peers))
    t.same(seen, [expected(null, peers)])
    await discovery.deregister()
    t.equal(seen.length, 1, 'a second deregister() is harmless')
  })

  t.test('close() empties members, emits state closed once, and is idempotent', async (t) => {
    const self = makeMember()
    const { discovery } = await subject(t, self)
    await discovery.start()
    const states: DiscoveryState[] = []
    discovery.on('state', (s) => states.push(s))
    await discovery.close()
    await discovery.close()
    t.same(states, ['closed'])
    t.equal(discovery.state, 'closed')
    t.same(discovery.members(), [])
  })

  t.test('start() after close() rejects with a DiscoveryError', async (t) => {
    const { discovery } = await subject(t, makeMember())
    await discovery.close()
    await t.rejects(discovery.start(), DiscoveryError)
    await t.rejects(discovery.start(), { code: 'NATSMESH_ERR_DISCOVERY' })
  })

  t.test('a throwing listener is logged and does not starve the others', async (t) => {
    const logger = new RecordingLogger()
    const { discovery } = await subject(t, makeMember(), logger)
    let calls = 0
    discovery.on('members', () => { throw new Error('listener bug') })
    discovery.on('members', () => { calls++ })
    await discovery.start()
    t.equal(calls, 1)
    t.equal(logger.count('warn', 'listener bug'), 1)
  })

  t.test('off() removes exactly that listener', async (t) => {
    const { discovery } = await subject(t, makeMember())
    let kept = 0
    let removed = 0
    const remove = (): void => { removed++ }
    discovery.on('members', () => { kept++ })
    discovery.on('members', remove)
    discovery.off('members', remove)
    await discovery.start()
    t.equal(kept, 1)
    t.equal(removed, 0)
  })
}
