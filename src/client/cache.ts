// The node cache: the last membership read from ZooKeeper, so a client can
// connect while ZooKeeper is down. One small JSON file:
//
//   {"version":1,"cluster":"prod","zookeeper":"zk1:2181,zk2:2181",
//    "time":"2026-01-01T00:00:00.000Z","urls":["nats://10.0.0.1:4222", …]}
//
// Written atomically: the whole text goes to a temp file in the same folder
// (unique per process and write), is fsynced, then renamed over the cache.
// rename(2) replaces the name in one step, so a reader (another process, or
// us after a crash) sees the old file or the new one, never half of one.
import { randomBytes } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { CacheError, errorText } from './errors.js'
import { normalizeUrl } from './pool.js'

export const CACHE_FORMAT_VERSION = 1

export interface CacheContent {
  version: typeof CACHE_FORMAT_VERSION
  cluster: string
  zookeeper: string
  /** ISO 8601: when the membership was read. */
  time: string
  /** Client URLs (`nats://host:port`) of the members. */
  urls: string[]
}

export async function writeCache(file: string, content: CacheContent): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const handle = await open(temp, 'w', 0o644)
    try {
      await handle.writeFile(`${JSON.stringify(content)}\n`)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, file)
  } catch (err) {
    await unlink(temp).catch(() => { /* never created, or already renamed */ })
    throw new CacheError('unwritable', file, `cache file ${file}: cannot write it: ${errorText(err)}`, { cause: err })
  }
}

/** Reads and checks the cache for `cluster`; throws a CacheError saying what is wrong. */
export async function readCache(file: string, cluster: string): Promise<CacheContent> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const isMissing = err instanceof Error && 'code' in err && err.code === 'ENOENT'
    throw isMissing
      ? new CacheError('missing', file, `cache file ${file} does not exist`, { cause: err })
      : new CacheError('unreadable', file, `cache file ${file} cannot be read: ${errorText(err)}`, { cause: err })
  }
  return parseCache(text, file, cluster)
}

export function parseCache(text: string, file: string, cluster: string): CacheContent {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new CacheError('corrupt', file, `cache file ${file} is corrupt: not JSON (${errorText(err)})`, { cause: err })
  }
  const corrupt = (what: string): CacheError => new CacheError('corrupt', file, `cache file ${file} is corrupt: ${what}`)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt('not a JSON object')
  if (!('version' in value) || value.version !== CACHE_FORMAT_VERSION) throw corrupt(`version is not ${CACHE_FORMAT_VERSION}`)
  if (!('cluster' in value) || typeof value.cluster !== 'string') throw corrupt('no "cluster" string')
  if (!('zookeeper' in value) || typeof value.zookeeper !== 'string') throw corrupt('no "zookeeper" string')
  if (!('time' in value) || typeof value.time !== 'string' || Number.isNaN(Date.parse(value.time))) throw corrupt('no "time" date')
  if (!('urls' in value) || !Array.isArray(value.urls)) throw corrupt('no "urls" array')
  const urls: string[] = []
  for (const url of value.urls) {
    if (typeof url !== 'string' || normalizeUrl(url) === null) throw corrupt(`"urls" holds ${JSON.stringify(url)}, not a nats URL`)
    urls.push(url)
  }
  if (value.cluster !== cluster) {
    throw new CacheError('other-cluster', file, `cache file ${file} is for cluster '${value.cluster}', not '${cluster}'`)
  }
  if (urls.length === 0) throw new CacheError('empty', file, `cache file ${file} lists no nodes`)
  return { version: CACHE_FORMAT_VERSION, cluster: value.cluster, zookeeper: value.zookeeper, time: value.time, urls }
}

/**
 * Writes each membership in order, one write at a time; while one is in
 * flight only the newest waiting list is kept (an older one would be
 * overwritten at once anyway). Never rejects: failures go to onError.
 */
export class CacheWriter {
  private readonly file: string
  private readonly onError: (err: CacheError) => void
  private next: CacheContent | null = null
  private running: Promise<void> | null = null

  constructor(file: string, onError: (err: CacheError) => void) {
    this.file = file
    this.onError = onError
  }

  write(content: CacheContent): Promise<void> {
    this.next = content
    if (this.running === null) this.running = this.drain()
    return this.running
  }

  /** Resolves when every write asked for so far is done. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve()
  }

  private async drain(): Promise<void> {
    for (let guard = 0; guard < 1_000_000 && this.next !== null; guard++) {
      const content = this.next
      this.next = null
      try {
        await writeCache(this.file, content)
      } catch (err) {
        this.onError(err instanceof CacheError ? err : new CacheError('unwritable', this.file, errorText(err), { cause: err }))
      }
    }
    this.running = null
  }
}
