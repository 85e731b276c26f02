// Imports run one way (DESIGN.md "Layout", docs/architecture.md "The house"):
// every arrow between folders is read from the real imports of every file,
// with TypeScript's own scanner (multi-line, `import type`, re-exports,
// side-effect and dynamic imports), and checked against the rules below.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import ts from 'typescript'
import { ROOT } from '../helpers/natsmesh.js'

/** Every module specifier a file names, in order. */
function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName)
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [])
}

/** The layer a repository path belongs to: `src/<folder>`, the base (files directly in src/), or a top folder. */
function layerOf(rel: string): string {
  const parts = rel.split(path.sep)
  if (parts[0] === 'src') return parts.length === 2 ? 'src/base' : `src/${parts[1]}`
  return parts[0]
}

/**
 * Which layers each layer may import. bin is the CLI (argument parsing and
 * output) over the libraries; bench and examples use the libraries, never bin.
 */
const ALLOWED: Record<string, readonly string[]> = {
  'src/base': [],
  'src/config': ['src/base'],
  'src/server': ['src/config', 'src/base'],
  'src/discovery': ['src/base'],
  'src/cluster': ['src/server', 'src/discovery', 'src/config', 'src/base'],
  'src/client': ['src/discovery', 'src/base'],
  'src/node': ['src/server', 'src/cluster', 'src/discovery', 'src/config', 'src/base'],
  'src/ops': ['src/discovery', 'src/base'],
  'src/local': ['src/ops', 'src/config', 'src/base'],
  'src/chaos': ['src/client', 'src/local', 'src/ops', 'src/discovery', 'src/config', 'src/base'],
  bin: ['src/server', 'src/cluster', 'src/discovery', 'src/client', 'src/node', 'src/config', 'src/ops', 'src/local', 'src/chaos', 'src/base'],
  bench: ['src/server', 'src/cluster', 'src/discovery', 'src/client', 'src/node', 'src/config', 'src/ops', 'src/local', 'src/base'],
  examples: ['src/client', 'src/discovery', 'src/local', 'src/ops', 'src/base'],
}

/**
 * The only server modules the cluster may reach (STYLE.md P9): the seam, and
 * the byte-level pieces a route is built from.
 */
const CLUSTER_SEES_OF_SERVER = [
  'src/server/cluster-seam.ts', 'src/server/endpoint.ts', 'src/server/op-handler.ts', 'src/server/msg-writer.ts', 'src/server/sublist.ts',
]
const MAX_SERVER_MODULES_FOR_CLUSTER = 5

/** npm packages a layer must not load (the CLI's yargs and the client library's nats stay out of the broker). */
const FORBIDDEN_PACKAGES: Record<string, readonly string[]> = {
  'src/server': ['nats', 'node-zookeeper-client', 'yargs'],
  'src/cluster': ['nats', 'node-zookeeper-client', 'yargs'],
  'src/discovery': ['nats', 'yargs'],
  'src/client': ['yargs'],
  'src/node': ['nats', 'yargs'],
}

interface Arrow { from: string; to: string; spec: string }

/** Every import of every file under the given top folders, resolved to repository paths (packages as `pkg:name`). */
function arrows(tops: readonly string[]): Arrow[] {
  const out: Arrow[] = []
  for (const top of tops) {
    for (const file of tsFiles(path.join(ROOT, top))) {
      const from = path.relative(ROOT, file)
      for (const spec of importsOf(fs.readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) {
          const to = path.relative(ROOT, path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')))
          out.push({ from, to, spec })
        } else if (!spec.startsWith('node:')) {
          out.push({ from, to: `pkg:${spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]}`, spec })
        }
      }
    }
  }
  return out
}

const ALL = arrows(['src', 'bin', 'bench', 'examples'])

t.test('the scanner reads every kind of import a file can have', async (t) => {
  const text = [
    "import {\n  Mesh,\n  type Route,\n} from '../cluster/mesh.js'",
    "import type { Logger } from './logger.js'",
    "export { x } from './x.js'",
    "export * from './all.js'",
    "import './side-effect.js'",
    "const lazy = await import('../client/index.js')",
    "// import { not } from './a-comment.js'",
    "const s = \"from './a-string.js'\"",
  ].join('\n')
  t.same(importsOf(text), ['../cluster/mesh.js', './logger.js', './x.js', './all.js', './side-effect.js', '../client/index.js'])
})

t.test('every file imports only the layers the brief allows', async (t) => {
  t.ok(ALL.length > 100, 'found the imports')
  const bad: string[] = []
  for (const a of ALL) {
    if (a.to.startsWith('pkg:')) continue
    const from = layerOf(a.from)
    const to = layerOf(a.to)
    if (from === to) continue
    const allowed = ALLOWED[from]
    if (allowed === undefined) bad.push(`${a.from}: no rule for layer ${from}`)
    else if (!allowed.includes(to)) bad.push(`${a.from} imports ${a.spec} (${from} -> ${to})`)
  }
  t.same(bad, [], 'no forbidden arrow')
})

t.test('src/server imports nothing from cluster, client, discovery or node', async (t) => {
  const up = ALL.filter((a) => layerOf(a.from) === 'src/server' && /^src\/(cluster|client|discovery|node)\//.test(a.to))
  t.same(up.map((a) => `${a.from} -> ${a.to}`), [])
})

t.test('the cluster reaches the server only through the seam and byte-level pieces, five modules at most', async (t) => {
  const reached = new Set(ALL.filter((a) => layerOf(a.from) === 'src/cluster' && layerOf(a.to) === 'src/server').map((a) => a.to))
  t.ok(reached.has('src/server/cluster-seam.ts'), 'the cluster uses the seam')
  for (const m of reached) t.ok(CLUSTER_SEES_OF_SERVER.includes(m), `cluster may import ${m}`)
  t.ok(reached.size <= MAX_SERVER_MODULES_FOR_CLUSTER, `${reached.size} server modules: ${[...reached].join(', ')}`)
})

t.test('nothing in src, bench or examples imports bin, and nothing imports test', async (t) => {
  const bad = ALL.filter((a) => (layerOf(a.from) !== 'bin' && layerOf(a.to) === 'bin') || layerOf(a.to) === 'test')
  t.same(bad.map((a) => `${a.from} -> ${a.to}`), [])
})

t.test('the broker loads no client, CLI or ZooKeeper package it does not need', async (t) => {
  const bad: string[] = []
  for (const a of ALL) {
    if (!a.to.startsWith('pkg:')) continue
    const forbidden = FORBIDDEN_PACKAGES[layerOf(a.from)] ?? []
    if (forbidden.includes(a.to.slice(4))) bad.push(`${a.from} imports ${a.spec}`)
  }
  t.same(bad, [])
})

t.test('src has no import cycles', async (t) => {
  const graph = new Map<string, string[]>()
  for (const a of ALL) {
    if (!a.from.startsWith('src') || !a.to.startsWith('src')) continue
    const list = graph.get(a.from) ?? []
    list.push(a.to)
    graph.set(a.from, list)
  }
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const cycles: string[] = []
  const visit = (n: string): void => {
    state.set(n, 'open')
    stack.push(n)
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m].join(' -> '))
      else if (!state.has(m)) visit(m)
    }
    stack.pop()
    state.set(n, 'done')
  }
  for (const n of graph.keys()) if (!state.has(n)) visit(n)
  t.same(cycles, [])
})

t.test('the rules catch a forbidden arrow when there is one', async (t) => {
  const dir = fs.mkdtempSync(path.join(ROOT, 'src', 'server', '.tap-layering-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'x.ts'), "import type {\n  Mesh,\n} from '../../cluster/mesh.js'\nexport const x = 1\n")
  const found = arrows(['src']).filter((a) => a.from.includes('.tap-layering-'))
  t.same(found.map((a) => [layerOf(a.from), layerOf(a.to)]), [['src/server', 'src/cluster']])
  t.notOk(ALLOWED['src/server'].includes(layerOf(found[0].to)), 'and the table forbids it')
})
