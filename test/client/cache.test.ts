// The node cache file: atomic writes, and a clear CacheError for every way a
// file can be unusable. No ZooKeeper, no nodes: plain files in a temp folder.
import { chmod, link, mkdir, readFile, readdir, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import t, { type Test } from 'tap'
import { CacheWriter, parseCache, readCache, writeCache, type CacheContent } from '../../src/client/cache.js'
import { CLIENT_ERROR_CODES, CacheError } from '../../src/client/errors.js'
import { tempDir } from '../helpers/client-cluster.js'

function content(urls: string[], cluster = 'prod'): CacheContent {
  return { version: 1, cluster, zookeeper: '127.0.0.1:2181', time: new Date().toISOString(), urls }
}

async function expectCacheError(t: Test, promise: Promise<unknown>, problem: string, mentions: string[]): Promise<void> {
  const err = await promise.then(() => null, (e: unknown) => e)
  t.ok(err instanceof CacheError, `a CacheError (${problem})`)
  if (!(err instanceof CacheError)) return
  t.equal(err.code, CLIENT_ERROR_CODES.CACHE, 'with the CACHE code')
  t.equal(err.problem, problem, `problem is '${problem}'`)
  for (const text of mentions) t.match(err.message, text, `the message mentions ${JSON.stringify(text)}`)
}

t.test('a written cache reads back the same, as one JSON line', async (t) => {
  const file = path.join(await tempDir(t), 'nodes.json')
  const written = content(['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223'])
  await writeCache(file, written)
  t.same(await readCache(file, 'prod'), written, 'same content')
  const text = await readFile(file, 'utf8')
  t.equal(text.split('\n').length, 2, 'one line and a newline')
  t.same(JSON.parse(text), written, 'plain JSON')
})

t.test('a write goes through a temp file and a rename: no temp file is left, the old file stays whole until the rename', async (t) => {
  const dir = await tempDir(t)
  const file = path.join(dir, 'nodes.json')
  const first = content(['nats://127.0.0.1:1'])
  await writeCache(file, first)
  // A second name for the file as it is now. A rename gives `file` a new inode and
  // leaves this one alone; a write in place (truncate, write) would change it too.
  const before = path.join(dir, 'before-the-writes.json')
  await link(file, before)
  // Many writes racing from "two processes": every read in between must see a whole file one of them wrote.
  const urls = Array.from({ length: 40 }, (_, i) => `nats://127.0.0.1:${1000 + i}`)
  const writers = urls.map((url) => writeCache(file, content([url])))
  const reads: Array<Promise<string>> = []
  for (let i = 0; i < 40; i++) reads.push(readCache(file, 'prod').then((c) => c.urls.join(), (err: unknown) => `read failed: ${String(err)}`))
  await Promise.all(writers)
  const seen = await Promise.all(reads)
  const whole = new Set(['nats://127.0.0.1:1', ...urls])
  t.same(seen.filter((u) => !whole.has(u)), [], 'every concurrent read parsed a complete file that one of the writes produced')
  t.same(JSON.parse(await readFile(before, 'utf8')), first, 'the file as it was before the writes is unchanged: they replaced the name, not the content')
  await unlink(before)
  t.same(await readdir(dir), ['nodes.json'], 'no temp file is left behind')
})

t.test('a write into a folder that does not exist is a CacheError, not a crash', async (t) => {
  const file = path.join(await tempDir(t), 'missing-folder', 'nodes.json')
  await expectCacheError(t, writeCache(file, content(['nats://h:1'])), 'unwritable', [file])
})

t.test('a missing cache file says so', async (t) => {
  const file = path.join(await tempDir(t), 'nope.json')
  await expectCacheError(t, readCache(file, 'prod'), 'missing', [file, 'does not exist'])
})

t.test('a corrupt cache file says what is wrong with it', async (t) => {
  const dir = await tempDir(t)
  const cases: Array<[string, string, string]> = [
    ['truncated JSON', '{"version":1,"cluster":"pr', 'not JSON'],
    ['an array', '[]', 'not a JSON object'],
    ['another version', JSON.stringify({ ...content(['nats://h:1']), version: 2 }), 'version'],
    ['no urls', JSON.stringify({ ...content([]), urls: undefined }), 'urls'],
    ['a url that is not one', JSON.stringify(content(['nats://h:1', 'not a url at all/x'])), 'not a nats URL'],
    ['a bad time', JSON.stringify({ ...content(['nats://h:1']), time: 'yesterday' }), 'time'],
  ]
  for (const [name, text, mention] of cases) {
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.json`)
    await writeFile(file, text)
    await t.test(name, (t) => expectCacheError(t, readCache(file, 'prod'), 'corrupt', [file, 'corrupt', mention]))
  }
})

t.test('a cache of another cluster, or with no nodes, is not used', async (t) => {
  await expectCacheError(t, Promise.resolve().then(() => parseCache(JSON.stringify(content(['nats://h:1'], 'staging')), 'f.json', 'prod')),
    'other-cluster', ["'staging'", "'prod'"])
  await expectCacheError(t, Promise.resolve().then(() => parseCache(JSON.stringify(content([])), 'f.json', 'prod')), 'empty', ['no nodes'])
})

t.test('an unreadable cache file says so', async (t) => {
  const dir = await tempDir(t)
  const file = path.join(dir, 'locked.json')
  await writeCache(file, content(['nats://h:1']))
  await chmod(file, 0o000)
  if (process.getuid?.() !== 0) {
    await expectCacheError(t, readCache(file, 'prod'), 'unreadable', [file, 'permission denied'])
    return
  }
  // Root reads any file whatever its mode, and CI runs as root: read it as
  // nobody. seteuid changes the effective user of every thread (the file
  // system calls run on libuv's pool), and root's real uid lets us switch back.
  await chmod(dir, 0o755)
  process.seteuid?.(65534)
  const reading = readCache(file, 'prod')
  try {
    await reading.catch(() => undefined)
  } finally {
    process.seteuid?.(0)
  }
  t.equal(process.geteuid?.(), 0, 'back to root')
  await expectCacheError(t, reading, 'unreadable', [file, 'permission denied'])
})

t.test('a cache path that is a folder is unreadable, not missing', async (t) => {
  const folder = path.join(await tempDir(t), 'nodes.json')
  await mkdir(folder)
  await expectCacheError(t, readCache(folder, 'prod'), 'unreadable', [folder, 'cannot be read'])
})

t.test('CacheWriter keeps only the newest waiting list and reports a failed write instead of throwing', async (t) => {
  const dir = await tempDir(t)
  const file = path.join(dir, 'nodes.json')
  const errors: CacheError[] = []
  const writer = new CacheWriter(file, (e) => errors.push(e))
  for (let i = 0; i < 20; i++) void writer.write(content([`nats://127.0.0.1:${2000 + i}`]))
  await writer.idle()
  t.same((await readCache(file, 'prod')).urls, ['nats://127.0.0.1:2019'], 'the last list written wins')
  t.same(errors, [], 'no error')

  const bad = new CacheWriter(path.join(dir, 'no', 'such', 'dir.json'), (e) => errors.push(e))
  await bad.write(content(['nats://h:1']))
  t.equal(errors.length, 1, 'a failed write is reported, not thrown')
  t.equal(errors[0].problem, 'unwritable', 'as unwritable')
})
