// A throwaway standalone ZooKeeper for `natsmesh up`: Debian's ZooKeeper jar
// run directly with java on a free 127.0.0.1 port, with its own temp data dir,
// zoo.cfg and log file. Not for production: no fsync, one server, data deleted
// at stop.
//
// The JVM runs under a small bash supervisor that blocks reading our end of a
// pipe (the same trick as test/helpers/zookeeper.ts). stop() closes the pipe;
// so does our death, SIGKILL included. Either way the supervisor sends the JVM
// SIGTERM, SIGKILL after STOP_TIMEOUT_S, waits for it and removes the temp dir,
// so a dev cluster never leaves a JVM behind. The supervisor runs in its own
// process group: Ctrl-C in the terminal reaches `up` only, which stops the
// nodes first and ZooKeeper last.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar'
const MAIN_CLASS = 'org.apache.zookeeper.server.ZooKeeperServerMain'
/** Small heap and the C1 compiler: a dev server should start fast, not run fast. */
const JVM_FLAGS = ['-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto']
const READY_TIMEOUT_MS = 20_000
const READY_POLL_MS = 50
/** SIGTERM, then this long for the JVM's shutdown hooks, then SIGKILL. */
const STOP_TIMEOUT_S = 5
/** 500 ms ticks let nodes ask for sessions from 1 s up to 60 s (natsmesh's default is 10 s). */
const TICK_TIME_MS = 500

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

export interface LocalZooKeeper {
  /** `127.0.0.1:<port>`. */
  readonly connectString: string
  readonly port: number
  /** The temp dir: zoo.cfg, data/, zookeeper.log. Removed by stop(). */
  readonly dir: string
  readonly logFile: string
  /** The JVM's pid. */
  readonly pid: number
  /** Resolves when the supervisor exits (JVM gone, temp dir removed). */
  readonly exited: Promise<void>
  /** True once the JVM is gone, for whatever reason. */
  hasExited(): boolean
  /** SIGTERM, SIGKILL after a timeout, then the temp dir goes. Idempotent. */
  stop(): Promise<void>
}

export async function startLocalZooKeeper(install: ZooKeeperInstall, port: number): Promise<LocalZooKeeper> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-up-zk-'))
  const configFile = path.join(dir, 'zoo.cfg')
  const logFile = path.join(dir, 'zookeeper.log')
  await writeFile(configFile, [
    `tickTime=${TICK_TIME_MS}`,
    `minSessionTimeout=${2 * TICK_TIME_MS}`,
    'maxSessionTimeout=60000',
    `dataDir=${path.join(dir, 'data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'maxClientCnxns=0',
    'admin.enableServer=false',
    // `srvr` tells "serving" from "port bound, database not loaded yet".
    '4lw.commands.whitelist=srvr,ruok,stat,mntr',
    // A dev cluster's data is thrown away at stop; fsync per write only slows it.
    'forceSync=no',
    '',
  ].join('\n'))

  const java = [install.java, ...JVM_FLAGS, '-cp', install.jar, MAIN_CLASS, configFile].map(shellQuote).join(' ')
  const script = `${java} </dev/null >>${shellQuote(logFile)} 2>&1 &
jvm=$!
echo "$jvm"
read -r _ || true
kill -TERM "$jvm" 2>/dev/null
for _ in $(seq ${STOP_TIMEOUT_S * 10}); do kill -0 "$jvm" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$jvm" 2>/dev/null
wait "$jvm" 2>/dev/null
rm -rf ${shellQuote(dir)}
exit 0`
  const supervisor = spawn('bash', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'], detached: true })
  let isGone = false
  const exited = new Promise<void>((resolve) => supervisor.once('exit', () => { isGone = true; resolve() }))
  let pid: number
  try {
    pid = await readPid(supervisor, exited)
    await waitUntilServing(port, () => isGone)
  } catch (err) {
    const log = await logTail({ logFile })
    supervisor.stdin?.end()
    await exited
    await rm(dir, { recursive: true, force: true })
    throw new Error(`ZooKeeper did not start: ${err instanceof Error ? err.message : String(err)}; its log ends:\n${log}`, { cause: err })
  }
  let stopping: Promise<void> | null = null
  return {
    connectString: `127.0.0.1:${port}`,
    port,
    dir,
    logFile,
    pid,
    exited,
    hasExited: () => isGone,
    stop() {
      stopping ??= (async () => {
        supervisor.stdin?.end()
        // The supervisor itself stuck (it never should be): kill both directly.
        const stuck = setTimeout(() => {
          killQuietly(pid, 'SIGKILL')
          supervisor.kill('SIGKILL')
        }, (STOP_TIMEOUT_S + 5) * 1000)
        await exited
        clearTimeout(stuck)
        await rm(dir, { recursive: true, force: true })
      })()
      return stopping
    },
  }
}

/** The last lines of ZooKeeper's log, for error messages. */
export async function logTail(zk: { logFile: string }, chars = 2000): Promise<string> {
  const text = await readFile(zk.logFile, 'utf8').catch(() => '')
  return text.slice(-chars)
}

function readPid(supervisor: ChildProcess, exited: Promise<void>): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (d: Buffer): void => {
      out += d.toString()
      const newline = out.indexOf('\n')
      if (newline === -1) return
      supervisor.stdout?.off('data', onData)
      const pid = Number(out.slice(0, newline))
      if (Number.isInteger(pid) && pid > 0) resolve(pid)
      else reject(new Error(`bad pid from the ZooKeeper supervisor: ${JSON.stringify(out)}`))
    }
    supervisor.stdout?.on('data', onData)
    supervisor.once('error', reject)
    void exited.then(() => reject(new Error('the ZooKeeper supervisor exited before starting java')))
  })
}

async function waitUntilServing(port: number, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (let attempt = 0; attempt < READY_TIMEOUT_MS / READY_POLL_MS + 100; attempt++) {
    if (hasExited()) throw new Error('the ZooKeeper JVM exited during startup')
    if ((await fourLetterWord(port, 'srvr')).includes('Mode:')) return
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS))
  }
  throw new Error(`ZooKeeper on port ${port} not serving after ${READY_TIMEOUT_MS} ms`)
}

/** Sends a four-letter word and returns the whole answer ('' when refused). */
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

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // Already gone: nothing to stop.
  }
}
