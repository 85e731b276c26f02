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
//
// The JVM is started directly (java + the jar's manifest class path), not through
// zkServer.sh: it comes up in ~0.3 s and we hold its pid. It runs under a small
// bash supervisor that reads our stdin: if this test process dies without
// teardown (tap timeout, crash, SIGKILL), the pipe closes, `read` returns and
// the supervisor SIGKILLs the JVM and removes the temp dir, so a test run never
// leaves a java process (nor, short of SIGKILL of the supervisor, a temp dir).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort } from './free-port.js'

const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar'
const MAIN_CLASS = 'org.apache.zookeeper.server.ZooKeeperServerMain'
// A small heap and the C1 compiler only: startup time matters more than
// throughput for a test server.
const JVM_FLAGS = ['-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto']
const READY_TIMEOUT_MS = 15_000

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

interface JvmProcess {
  supervisor: ChildProcess
  javaPid: number
  exited: Promise<void>
}

export async function startZooKeeper(opts: ZooKeeperOptions = {}): Promise<RunningZooKeeper> {
  const tickTimeMs = opts.tickTimeMs ?? 500
  const port = await freePort()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-zk-'))
  const dataDir = path.join(dir, 'data')
  const configFile = path.join(dir, 'zoo.cfg')
  const logFile = path.join(dir, 'zookeeper.log')
  await writeFile(configFile, [
    `tickTime=${tickTimeMs}`,
    `minSessionTimeout=${2 * tickTimeMs}`,
    `maxSessionTimeout=${opts.maxSessionTimeoutMs ?? 60_000}`,
    `dataDir=${dataDir}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'maxClientCnxns=0',
    'admin.enableServer=false',
    // `srvr` tells "serving" from "port bound but database not loaded yet".
    '4lw.commands.whitelist=srvr,ruok,stat,cons',
    // The test machine's disk is not what we test; fsync per write only slows us.
    'forceSync=no',
    '',
  ].join('\n'))

  let jvm: JvmProcess | null = null
  let isStopped = false

  async function launch(): Promise<void> {
    jvm = await spawnJvm(configFile, logFile, dir)
    try {
      await waitUntilServing(port, jvm, READY_TIMEOUT_MS)
    } catch (err) {
      await killJvm(jvm, true)
      jvm = null
      const log = await readFile(logFile, 'utf8').catch(() => '')
      throw new Error(`ZooKeeper did not start on port ${port}: ${log.slice(-2000)}`, { cause: err })
    }
  }

  async function kill(keepData = true): Promise<void> {
    if (jvm === null) return
    const running = jvm
    jvm = null
    await killJvm(running, keepData)
  }

  await launch()
  return {
    connectString: `127.0.0.1:${port}`,
    port,
    dataDir,
    pid: () => (jvm === null ? null : jvm.javaPid),
    kill: () => kill(true),
    async restart() {
      if (isStopped) throw new Error('ZooKeeper helper already stopped')
      await kill()
      await launch()
    },
    pause() {
      if (jvm !== null) process.kill(jvm.javaPid, 'SIGSTOP')
    },
    resume() {
      if (jvm !== null) process.kill(jvm.javaPid, 'SIGCONT')
    },
    async stop() {
      if (isStopped) return
      isStopped = true
      await kill(false)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

function spawnJvm(configFile: string, logFile: string, dir: string): Promise<JvmProcess> {
  const java = ['java', ...JVM_FLAGS, '-cp', ZOOKEEPER_JAR, MAIN_CLASS, configFile]
    .map((arg) => `'${arg}'`).join(' ')
  // The supervisor prints the JVM's pid, then blocks on stdin (see file comment).
  // EOF without the word "keep" (our process died, or stop()) also removes the dir.
  const script = `${java} </dev/null >>'${logFile}' 2>&1 &
jvm=$!
echo "$jvm"
read -r word || true
kill -CONT "$jvm" 2>/dev/null
kill -KILL "$jvm" 2>/dev/null
wait "$jvm" 2>/dev/null
if [ "$word" != keep ]; then rm -rf '${dir}'; fi
exit 0`
  const supervisor = spawn('bash', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] })
  const exited = new Promise<void>((resolve) => supervisor.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (d: Buffer): void => {
      out += d.toString()
      const newline = out.indexOf('\n')
      if (newline === -1) return
      supervisor.stdout?.off('data', onData)
      const javaPid = Number(out.slice(0, newline))
      if (!Number.isInteger(javaPid) || javaPid <= 0) {
        reject(new Error(`bad pid from the ZooKeeper supervisor: ${out}`))
        return
      }
      resolve({ supervisor, javaPid, exited })
    }
    supervisor.stdout?.on('data', onData)
    supervisor.once('error', reject)
    void exited.then(() => reject(new Error('the ZooKeeper supervisor exited before printing a pid')))
  })
}

/** Closing the supervisor's stdin makes it SIGKILL the JVM and wait for it; "keep" spares the data dir. */
async function killJvm(jvm: JvmProcess, keepData: boolean): Promise<void> {
  jvm.supervisor.stdin?.end(keepData ? 'keep\n' : '')
  const slow = setTimeout(() => {
    // The supervisor itself is stuck: kill both directly.
    try { process.kill(jvm.javaPid, 'SIGKILL') } catch { /* already gone */ }
    jvm.supervisor.kill('SIGKILL')
  }, 5_000)
  await jvm.exited
  clearTimeout(slow)
}

/** Polls the `srvr` four-letter word until the server says it serves requests. */
async function waitUntilServing(port: number, jvm: JvmProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let hasExited = false
  void jvm.exited.then(() => { hasExited = true })
  for (let attempt = 0; attempt < 2_000; attempt++) {
    if (hasExited) throw new Error('the ZooKeeper JVM exited during startup')
    const answer = await fourLetterWord(port, 'srvr')
    if (answer.includes('Mode:')) return
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`ZooKeeper on port ${port} not serving after ${timeoutMs} ms`)
}

/** Sends a four-letter word and returns the whole answer ('' when refused). */
export function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = ''
    const socket = net.connect(port, '127.0.0.1')
    socket.setTimeout(2_000, () => socket.destroy())
    socket.on('connect', () => socket.write(word))
    socket.on('data', (d: Buffer) => { answer += d.toString() })
    socket.on('error', () => { /* refused or reset: the answer stays '' */ })
    socket.on('close', () => resolve(answer))
  })
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
