// The one launcher for a throwaway standalone ZooKeeper, used by `natsmesh up`,
// the chaos runner, the example, bench/failover.ts and the tests
// (test/helpers/zookeeper.ts): Debian's ZooKeeper jar run directly with java
// (not zkServer.sh: it comes up in ~0.3 s and we hold its pid) on a free (or
// given) 127.0.0.1 port, with its own temp dir holding zoo.cfg, data/ and
// zookeeper.log. Not for production: no fsync, one server.
//
// Each JVM runs under a small bash supervisor that blocks reading our end of a
// pipe. kill(), stop(), or our death (SIGKILL included) close the pipe; the
// supervisor then kills the JVM, waits for it and, unless told "keep" (kill(),
// ahead of a restart() on the same port and data dir), removes the temp dir.
// So no caller ever leaves a JVM behind. The supervisor runs in its own process
// group: Ctrl-C in a terminal reaches our process only, which stops ZooKeeper
// when it is ready to.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort } from './ports.js'
import { sleep } from '../wait.js'

export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar'
const MAIN_CLASS = 'org.apache.zookeeper.server.ZooKeeperServerMain'
/** Small heap and the C1 compiler: a throwaway server should start fast, not run fast. */
const JVM_FLAGS = ['-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto']
/** A loaded 2-core machine starts the JVM in a few seconds; 30 s is "it will not". */
const READY_TIMEOUT_MS = 30_000
const READY_POLL_MS = 50

export interface ZooKeeperInstall {
  java: string
  jar: string
}

/** java on PATH and the Debian jar (its manifest names the other jars), or null. */
export function findZooKeeper(): ZooKeeperInstall | null {
  const java = findOnPath('java')
  if (java === null || !isReadable(ZOOKEEPER_JAR)) return null
  return { java, jar: ZOOKEEPER_JAR }
}

function findOnPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue
    const candidate = path.join(dir, command)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch {
      // Not in this directory: try the next one.
    }
  }
  return null
}

function isReadable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK)
    return true
  } catch {
    return false
  }
}

export interface LocalZooKeeperOptions {
  /** Default: findZooKeeper(); start fails when it finds nothing. */
  install?: ZooKeeperInstall
  /** Default: a free port. */
  port?: number
  /** ZooKeeper's tick; minSessionTimeout = 2 ticks. Default 500 ms, so sessions from 1 s are allowed. */
  tickTimeMs?: number
  /** Default 60 s (a client's request is clamped to [2 ticks, this]). */
  maxSessionTimeoutMs?: number
  /** stop() sends SIGTERM and allows this long before SIGKILL; default 0: SIGKILL at once. */
  stopTimeoutS?: number
  /** Temp dir name prefix; default 'natsmesh-zk-'. */
  dirPrefix?: string
  readyTimeoutMs?: number
}

interface Jvm {
  supervisor: ChildProcess
  pid: number
  exited: Promise<void>
  isGone: boolean
}

export class LocalZooKeeper {
  /** `127.0.0.1:<port>`; append a chroot (`/x`) or prepend other hosts as needed. */
  readonly connectString: string
  readonly port: number
  /** The temp dir: zoo.cfg, data/, zookeeper.log. Removed by stop(). */
  readonly dir: string
  readonly dataDir: string
  readonly logFile: string
  private readonly configFile: string
  private readonly install: ZooKeeperInstall
  private readonly stopTimeoutS: number
  private readonly readyTimeoutMs: number
  private jvm: Jvm | null = null
  private lastPid = 0
  private stopping: Promise<void> | null = null

  private constructor(install: ZooKeeperInstall, port: number, dir: string, opts: LocalZooKeeperOptions) {
    this.install = install
    this.port = port
    this.connectString = `127.0.0.1:${port}`
    this.dir = dir
    this.dataDir = path.join(dir, 'data')
    this.configFile = path.join(dir, 'zoo.cfg')
    this.logFile = path.join(dir, 'zookeeper.log')
    this.stopTimeoutS = opts.stopTimeoutS ?? 0
    this.readyTimeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS
  }

  /** Writes zoo.cfg in a fresh temp dir and starts the JVM; resolves once it serves. */
  static async start(opts: LocalZooKeeperOptions = {}): Promise<LocalZooKeeper> {
    const install = opts.install ?? findZooKeeper()
    if (install === null) {
      throw new Error(`ZooKeeper not found: install java and Debian's zookeeper package (${ZOOKEEPER_JAR}): apt-get install zookeeper default-jre-headless`)
    }
    const port = opts.port ?? await freePort()
    const tickTimeMs = opts.tickTimeMs ?? 500
    const dir = await mkdtemp(path.join(os.tmpdir(), opts.dirPrefix ?? 'natsmesh-zk-'))
    const zk = new LocalZooKeeper(install, port, dir, opts)
    await writeFile(zk.configFile, [
      `tickTime=${tickTimeMs}`,
      `minSessionTimeout=${2 * tickTimeMs}`,
      `maxSessionTimeout=${opts.maxSessionTimeoutMs ?? 60_000}`,
      `dataDir=${zk.dataDir}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'maxClientCnxns=0',
      'admin.enableServer=false',
      // `srvr` tells "serving" from "port bound, database not loaded yet".
      '4lw.commands.whitelist=srvr,ruok,stat,mntr,cons',
      // The data is thrown away at stop; fsync per write only slows a busy machine.
      'forceSync=no',
      '',
    ].join('\n'))
    try {
      await zk.restart()
    } catch (err) {
      await zk.stop()
      throw err
    }
    return zk
  }

  /** The running JVM's pid, or the last one's once it is gone. */
  get pid(): number {
    return this.lastPid
  }

  /** True while the JVM runs (not killed, stopped, nor dead on its own). */
  get isRunning(): boolean {
    return this.jvm !== null && !this.jvm.isGone
  }

  /** Resolves when the current JVM is gone (its supervisor exited), for whatever reason. */
  get exited(): Promise<void> {
    return this.jvm?.exited ?? Promise.resolve()
  }

  /** Starts the JVM (again) on the same port and data dir, killing a running one first; resolves once it serves. */
  async restart(): Promise<void> {
    if (this.stopping !== null) throw new Error('ZooKeeper already stopped')
    await this.kill()
    const jvm = await spawnJvm(this.install, this.configFile, this.logFile, this.dir, this.stopTimeoutS)
    this.jvm = jvm
    this.lastPid = jvm.pid
    try {
      await waitUntilServing(this.port, jvm, this.readyTimeoutMs)
    } catch (err) {
      await this.kill()
      throw new Error(`ZooKeeper did not start on port ${this.port}: ${err instanceof Error ? err.message : String(err)}; its log ends:\n${await logTail(this)}`, { cause: err })
    }
  }

  /** SIGKILLs the JVM (a crash: nothing flushed beyond what it wrote); keeps the data dir for restart(). */
  async kill(): Promise<void> {
    await this.endJvm('keep')
  }

  /** SIGSTOP / SIGCONT: the server hangs with its sockets open. */
  pause(): void {
    if (this.isRunning) killQuietly(this.lastPid, 'SIGSTOP')
  }

  resume(): void {
    if (this.isRunning) killQuietly(this.lastPid, 'SIGCONT')
  }

  /** Final teardown: the JVM goes (SIGTERM first when stopTimeoutS > 0), then the temp dir. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.endJvm(this.stopTimeoutS > 0 ? 'term' : 'kill')
      await rm(this.dir, { recursive: true, force: true })
    })()
    return this.stopping
  }

  private async endJvm(word: 'keep' | 'term' | 'kill'): Promise<void> {
    const jvm = this.jvm
    if (jvm === null) return
    this.jvm = null
    jvm.supervisor.stdin?.end(`${word}\n`)
    // The supervisor itself stuck (it never should be): kill both directly.
    const stuck = setTimeout(() => {
      killQuietly(jvm.pid, 'SIGCONT')
      killQuietly(jvm.pid, 'SIGKILL')
      jvm.supervisor.kill('SIGKILL')
    }, (this.stopTimeoutS + 5) * 1000)
    await jvm.exited
    clearTimeout(stuck)
  }
}

export function startLocalZooKeeper(opts: LocalZooKeeperOptions = {}): Promise<LocalZooKeeper> {
  return LocalZooKeeper.start(opts)
}

/** The last lines of ZooKeeper's log, for error messages. */
export async function logTail(zk: { logFile: string }, chars = 2000): Promise<string> {
  const text = await readFile(zk.logFile, 'utf8').catch(() => '')
  return text.slice(-chars)
}

function spawnJvm(install: ZooKeeperInstall, configFile: string, logFile: string, dir: string, stopTimeoutS: number): Promise<Jvm> {
  const java = [install.java, ...JVM_FLAGS, '-cp', install.jar, MAIN_CLASS, configFile].map(shellQuote).join(' ')
  // The supervisor prints the JVM's pid, then blocks on stdin (see the file comment).
  // "term": SIGTERM, SIGKILL after stopTimeoutS. Anything else (EOF included): SIGKILL.
  // SIGCONT first: a SIGSTOPped JVM would ignore SIGTERM until continued.
  // Only "keep" spares the temp dir.
  const script = `${java} </dev/null >>${shellQuote(logFile)} 2>&1 &
jvm=$!
echo "$jvm"
read -r word || true
kill -CONT "$jvm" 2>/dev/null
if [ "$word" = term ]; then
  kill -TERM "$jvm" 2>/dev/null
  for _ in $(seq ${Math.max(1, stopTimeoutS * 10)}); do kill -0 "$jvm" 2>/dev/null || break; sleep 0.1; done
fi
kill -KILL "$jvm" 2>/dev/null
wait "$jvm" 2>/dev/null
if [ "$word" != keep ]; then rm -rf ${shellQuote(dir)}; fi
exit 0`
  const supervisor = spawn('bash', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'], detached: true })
  supervisor.stdin?.on('error', () => { /* the supervisor is gone; 'exit' says so */ })
  const jvm: Jvm = { supervisor, pid: 0, exited: Promise.resolve(), isGone: false }
  jvm.exited = new Promise<void>((resolve) => supervisor.once('exit', () => { jvm.isGone = true; resolve() }))
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (d: Buffer): void => {
      out += d.toString()
      const newline = out.indexOf('\n')
      if (newline === -1) return
      supervisor.stdout?.off('data', onData)
      const pid = Number(out.slice(0, newline))
      if (Number.isInteger(pid) && pid > 0) resolve(Object.assign(jvm, { pid }))
      else reject(new Error(`bad pid from the ZooKeeper supervisor: ${JSON.stringify(out)}`))
    }
    supervisor.stdout?.on('data', onData)
    supervisor.once('error', reject)
    void jvm.exited.then(() => reject(new Error('the ZooKeeper supervisor exited before starting java')))
  })
}

/** Polls the `srvr` four-letter word until the server says it serves requests. */
async function waitUntilServing(port: number, jvm: Jvm, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let attempt = 0; attempt < timeoutMs / READY_POLL_MS + 100; attempt++) {
    if (jvm.isGone) throw new Error('the ZooKeeper JVM exited during startup')
    if ((await fourLetterWord(port, 'srvr')).includes('Mode:')) return
    if (Date.now() > deadline) break
    await sleep(READY_POLL_MS)
  }
  throw new Error(`not serving after ${timeoutMs} ms`)
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

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // Already gone: nothing to signal.
  }
}
