// The chaos run's ZooKeeper: Debian's jar run with java on a fixed 127.0.0.1
// port, which can be stopped and started again on the same port with the same
// data dir (a ZooKeeper restart, as an operator does one: sessions and znodes
// survive in the snapshot and log; the nodes see a disconnection).
//
// `natsmesh up`'s launcher (../local-zookeeper.ts) deletes its data at stop,
// so it cannot restart; the supervisor trick is the same: the JVM runs under
// bash reading our end of a pipe, and when the pipe closes (stop(), or this
// process dying, SIGKILL included) the supervisor kills the JVM. Only the
// final dispose() removes the temp dir.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { findZooKeeper, killQuietly, type ZooKeeperInstall } from '../local-zookeeper.js'

const MAIN_CLASS = 'org.apache.zookeeper.server.ZooKeeperServerMain'
const JVM_FLAGS = ['-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto']
/** A loaded 2-core machine starts the JVM in a few seconds; 30 s is "it will not". */
const READY_TIMEOUT_MS = 30_000
const READY_POLL_MS = 100
/** 500 ms ticks allow the 2 s node sessions the chaos run uses. */
const TICK_TIME_MS = 500

interface Jvm {
  supervisor: ChildProcess
  pid: number
  exited: Promise<void>
}

export class ChaosZooKeeper {
  readonly port: number
  readonly connectString: string
  readonly dir: string
  private readonly install: ZooKeeperInstall
  private jvm: Jvm | null = null
  private isDisposed = false

  private constructor(install: ZooKeeperInstall, port: number, dir: string) {
    this.install = install
    this.port = port
    this.connectString = `127.0.0.1:${port}`
    this.dir = dir
  }

  /** Writes zoo.cfg in a fresh temp dir and starts the JVM; throws when java or the jar is missing. */
  static async start(port: number): Promise<ChaosZooKeeper> {
    const install = findZooKeeper()
    if (install === null) {
      throw new Error('ZooKeeper is needed for a chaos run: install java and Debian\'s zookeeper package (/usr/share/java/zookeeper.jar)')
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-chaos-zk-'))
    await writeFile(path.join(dir, 'zoo.cfg'), [
      `tickTime=${TICK_TIME_MS}`,
      `minSessionTimeout=${2 * TICK_TIME_MS}`,
      'maxSessionTimeout=60000',
      `dataDir=${path.join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'maxClientCnxns=0',
      'admin.enableServer=false',
      '4lw.commands.whitelist=srvr,ruok,stat',
      // The run's data is thrown away at the end; fsync per write only slows a busy machine.
      'forceSync=no',
      '',
    ].join('\n'))
    const zk = new ChaosZooKeeper(install, port, dir)
    try {
      await zk.restart()
    } catch (err) {
      await zk.dispose()
      throw err
    }
    return zk
  }

  get isRunning(): boolean {
    return this.jvm !== null
  }

  get logFile(): string {
    return path.join(this.dir, 'zookeeper.log')
  }

  /** Starts the JVM (again) on the same port and data dir; resolves once it serves. */
  async restart(): Promise<void> {
    if (this.isDisposed) throw new Error('ZooKeeper already disposed')
    if (this.jvm !== null) return
    const jvm = spawnJvm(this.install, path.join(this.dir, 'zoo.cfg'), this.logFile)
    this.jvm = await jvm
    try {
      await waitUntilServing(this.port, this.jvm)
    } catch (err) {
      await this.stop()
      const log = await readFile(this.logFile, 'utf8').catch(() => '')
      throw new Error(`ZooKeeper did not start on port ${this.port}: ${log.slice(-1500)}`, { cause: err })
    }
  }

  /** SIGKILLs the JVM (a crash: nothing is flushed beyond what it wrote); keeps the data dir. */
  async stop(): Promise<void> {
    const jvm = this.jvm
    if (jvm === null) return
    this.jvm = null
    jvm.supervisor.stdin?.end()
    const stuck = setTimeout(() => {
      killQuietly(jvm.pid, 'SIGKILL')
      jvm.supervisor.kill('SIGKILL')
    }, 5_000)
    await jvm.exited
    clearTimeout(stuck)
  }

  /** stop() and remove the temp dir. Idempotent. */
  async dispose(): Promise<void> {
    this.isDisposed = true
    await this.stop()
    await rm(this.dir, { recursive: true, force: true })
  }
}

function spawnJvm(install: ZooKeeperInstall, configFile: string, logFile: string): Promise<Jvm> {
  const java = [install.java, ...JVM_FLAGS, '-cp', install.jar, MAIN_CLASS, configFile].map(shellQuote).join(' ')
  // SIGCONT first: a JVM someone SIGSTOPped would otherwise ignore the SIGKILL until continued.
  const script = `${java} </dev/null >>${shellQuote(logFile)} 2>&1 &
jvm=$!
echo "$jvm"
read -r _ || true
kill -CONT "$jvm" 2>/dev/null
kill -KILL "$jvm" 2>/dev/null
wait "$jvm" 2>/dev/null
exit 0`
  const supervisor = spawn('bash', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'], detached: true })
  const exited = new Promise<void>((resolve) => supervisor.once('exit', () => resolve()))
  supervisor.stdin?.on('error', () => { /* the supervisor is gone; 'exit' says so */ })
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (d: Buffer): void => {
      out += d.toString()
      const newline = out.indexOf('\n')
      if (newline === -1) return
      supervisor.stdout?.off('data', onData)
      const pid = Number(out.slice(0, newline))
      if (Number.isInteger(pid) && pid > 0) resolve({ supervisor, pid, exited })
      else reject(new Error(`bad pid from the ZooKeeper supervisor: ${JSON.stringify(out)}`))
    }
    supervisor.stdout?.on('data', onData)
    supervisor.once('error', reject)
    void exited.then(() => reject(new Error('the ZooKeeper supervisor exited before starting java')))
  })
}

async function waitUntilServing(port: number, jvm: Jvm): Promise<void> {
  let hasExited = false
  void jvm.exited.then(() => { hasExited = true })
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (let i = 0; i < READY_TIMEOUT_MS / READY_POLL_MS + 50; i++) {
    if (hasExited) throw new Error('the ZooKeeper JVM exited during startup')
    if ((await fourLetterWord(port, 'srvr')).includes('Mode:')) return
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS))
  }
  throw new Error(`not serving after ${READY_TIMEOUT_MS} ms`)
}

function fourLetterWord(port: number, word: string): Promise<string> {
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
