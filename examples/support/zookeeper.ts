// A throwaway standalone ZooKeeper for the example and the failover
// benchmark: Debian's jar run with java on a free 127.0.0.1 port, a temp data
// dir, no fsync. (Same approach as test/helpers/zookeeper.ts, which is not
// compiled to dist/.) The JVM runs under a bash supervisor that blocks on our
// end of a pipe: when we stop it, or die (even by SIGKILL), the pipe closes and
// the supervisor kills the JVM and removes the temp dir.
import { spawn } from 'node:child_process'
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar'
const MAIN_CLASS = 'org.apache.zookeeper.server.ZooKeeperServerMain'
const JVM_FLAGS = ['-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto']
const READY_TIMEOUT_MS = 20_000

export interface LocalZooKeeper {
  /** `127.0.0.1:<port>` */
  readonly connectString: string
  stop(): Promise<void>
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      if (addr === null || typeof addr === 'string') return reject(new Error('no port'))
      srv.close(() => resolve(addr.port))
    })
  })
}

/** Starts ZooKeeper (tick 500 ms, so sessions from 1 s are allowed); rejects with its log tail if it does not serve. */
export async function startZooKeeper(): Promise<LocalZooKeeper> {
  await access(ZOOKEEPER_JAR).catch((err: unknown) => {
    throw new Error(`ZooKeeper not found at ${ZOOKEEPER_JAR}: apt-get install zookeeper default-jre-headless`, { cause: err })
  })
  const port = await freePort()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'natsmesh-example-zk-'))
  const configFile = path.join(dir, 'zoo.cfg')
  const logFile = path.join(dir, 'zookeeper.log')
  await writeFile(configFile, [
    'tickTime=500', 'minSessionTimeout=1000', 'maxSessionTimeout=60000', `dataDir=${path.join(dir, 'data')}`,
    `clientPort=${port}`, 'clientPortAddress=127.0.0.1', 'maxClientCnxns=0', 'admin.enableServer=false',
    '4lw.commands.whitelist=srvr', 'forceSync=no', '',
  ].join('\n'))
  const java = ['java', ...JVM_FLAGS, '-cp', ZOOKEEPER_JAR, MAIN_CLASS, configFile].map((a) => `'${a}'`).join(' ')
  const script = `${java} </dev/null >>'${logFile}' 2>&1 &
jvm=$!
read -r _ || true
kill -KILL "$jvm" 2>/dev/null
wait "$jvm" 2>/dev/null
rm -rf '${dir}'
exit 0`
  const supervisor = spawn('bash', ['-c', script], { stdio: ['pipe', 'ignore', 'ignore'] })
  const exited = new Promise<void>((resolve) => supervisor.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    supervisor.stdin?.end()
    await exited
  }
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (let i = 0; i < 1_000 && Date.now() < deadline; i++) {
    if ((await fourLetterWord(port, 'srvr')).includes('Mode:')) return { connectString: `127.0.0.1:${port}`, stop }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const log = await readFile(logFile, 'utf8').catch(() => '')
  await stop()
  throw new Error(`ZooKeeper did not start on port ${port}: ${log.slice(-2000)}`)
}

function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = ''
    const socket = net.connect(port, '127.0.0.1')
    socket.setTimeout(2_000, () => socket.destroy())
    socket.on('connect', () => socket.write(word))
    socket.on('data', (d: Buffer) => { answer += d.toString() })
    socket.on('error', () => { /* refused: not up yet, the answer stays '' */ })
    socket.on('close', () => resolve(answer))
  })
}
