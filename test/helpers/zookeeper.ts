// Starts Debian's ZooKeeper 3.8 (standalone) on a free 127.0.0.1 port with its
// own temp data dir and zoo.cfg, for cluster tests (no mock ZooKeeper, DESIGN.md
// "Testing").
//
// Usage:
//   const zk = await startZooKeeper()          // { connectString, port, dataDir, ... }
//   t.teardown(() => zk.stop())                // kills the JVM, removes the data dir
//   await zk.kill(); ...; await zk.restart()   // an outage: same port, same data dir
//   zk.pause(); ...; zk.resume()               // SIGSTOP/SIGCONT: a hung server
//   const proxy = await startTcpProxy(zk.port)  // proxy.cut() / heal(): partition one client
//   await withZooKeeperSession(zk.connectString, (client) => …)  // a one-shot plain client
//
// A thin adapter over src/local/zookeeper.ts, the launcher `natsmesh
// up`, the chaos runner, the example and the benchmarks share: see there for
// the JVM, its supervisor, and why a dead test process never leaves a java
// process behind. Only the TCP proxy and the plain client sessions below are
// test-only.
import net from 'node:net'
import { createClient, type Client, type Option, type Stat } from 'node-zookeeper-client'
import type { Test } from 'tap'
import { zkExists } from '../../src/discovery/zookeeper-client.js'
import { ROOT_PATH } from '../../src/discovery/zookeeper.js'
import { startLocalZooKeeper } from '../../src/local/zookeeper.js'

export { fourLetterWord } from '../../src/local/zookeeper.js'

export interface ZooKeeperOptions {
  /** ZooKeeper's tick; minSessionTimeout = 2 ticks. Default 500 ms, so 1 s sessions are allowed. */
  tickTimeMs?: number
  /** Default 60 s (the client's request is clamped to [2 ticks, this]). */
  maxSessionTimeoutMs?: number
}

export interface RunningZooKeeper {
  /** `127.0.0.1:<port>`; append a chroot (`/x`) or prepend other hosts as needed. */
  readonly connectString: string
  readonly port: number
  readonly dataDir: string
  /** Pid of the JVM while it runs, else null. */
  pid(): number | null
  /** SIGKILL, keep the data dir (a crash; `restart()` brings it back). */
  kill(): Promise<void>
  /** Kill if running, then start again on the same port with the same data dir. */
  restart(): Promise<void>
  /** SIGSTOP / SIGCONT: the server hangs with its sockets open. */
  pause(): void
  resume(): void
  /** Final teardown: kill the JVM and remove the data dir. Idempotent. */
  stop(): Promise<void>
}

export async function startZooKeeper(opts: ZooKeeperOptions = {}): Promise<RunningZooKeeper> {
  const zk = await startLocalZooKeeper(opts)
  return {
    connectString: zk.connectString,
    port: zk.port,
    dataDir: zk.dataDir,
    pid: () => (zk.isRunning ? zk.pid : null),
    kill: () => zk.kill(),
    restart: () => zk.restart(),
    pause: () => zk.pause(),
    resume: () => zk.resume(),
    stop: () => zk.stop(),
  }
}

export interface TcpProxy {
  readonly port: number
  /** `127.0.0.1:<proxy port>`: give this to the client you want to cut off. */
  readonly connectString: string
  /** Drops every proxied connection and refuses new ones until heal(): a partition. */
  cut(): void
  heal(): void
  close(): Promise<void>
}

/**
 * A TCP proxy in front of a ZooKeeper port, so a test can partition one client
 * while ZooKeeper keeps running (and so expires that client's session).
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<net.Socket>()
  let isCut = false
  const server = net.createServer((inbound) => {
    if (isCut) {
      inbound.destroy()
      return
    }
    const outbound = net.connect(targetPort, '127.0.0.1')
    pairs.add(inbound)
    pairs.add(outbound)
    const drop = (): void => {
      inbound.destroy()
      outbound.destroy()
      pairs.delete(inbound)
      pairs.delete(outbound)
    }
    inbound.on('error', drop).on('close', drop)
    outbound.on('error', drop).on('close', drop)
    inbound.pipe(outbound)
    outbound.pipe(inbound)
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') reject(new Error('no proxy port'))
      else resolve(address.port)
    })
  })
  return {
    port,
    connectString: `127.0.0.1:${port}`,
    cut() {
      isCut = true
      for (const socket of pairs) socket.destroy()
      pairs.clear()
    },
    heal() {
      isCut = false
    },
    close() {
      isCut = true
      for (const socket of pairs) socket.destroy()
      pairs.clear()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

// ---- plain client sessions, for a test's own look at the znodes ----------------------

const SESSION_TIMEOUT_MS = 10_000
const CONNECT_TIMEOUT_MS = 10_000

/** A plain node-zookeeper-client session, once connected (bounded in time); the caller closes it. */
export async function openZooKeeperSession(connectString: string, options: Partial<Option> = {}, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Client> {
  const client = createClient(connectString, { sessionTimeout: SESSION_TIMEOUT_MS, ...options })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close()
      reject(new Error(`no ZooKeeper session with ${connectString} within ${timeoutMs} ms`))
    }, timeoutMs)
    client.once('connected', () => { clearTimeout(timer); resolve() })
    client.connect()
  })
  return client
}

/** Runs `use` on a fresh session and closes it afterwards, whatever happens. */
export async function withZooKeeperSession<T>(connectString: string, use: (client: Client) => Promise<T>,
  options: Partial<Option> = {}, timeoutMs = CONNECT_TIMEOUT_MS): Promise<T> {
  const client = await openZooKeeperSession(connectString, options, timeoutMs)
  try {
    return await use(client)
  } finally {
    client.close()
  }
}

/** A plain session, closed in t.teardown. */
export async function zkSession(t: Test, connectString: string): Promise<Client> {
  const client = await openZooKeeperSession(connectString)
  t.teardown(() => client.close())
  return client
}

/** Where a node registers: /natsmesh/clusters/<cluster>/nodes/<server id>. */
export function memberPath(cluster: string, serverId: string): string {
  return `${ROOT_PATH}/clusters/${cluster}/nodes/${serverId}`
}

export function znodeStat(client: Client, path: string): Promise<Stat | null> {
  return zkExists(client, path, null)
}

export async function znodeExists(client: Client, path: string): Promise<boolean> {
  return (await znodeStat(client, path)) !== null
}
