// Imports run one way: bin -> client | cluster | server; cluster -> server;
// server imports neither (DESIGN.md "Layout").
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/natsmesh.js'

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"\n]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1])
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [])
}

t.test('src/server imports nothing from src/cluster or src/client', async (t) => {
  const files = tsFiles(path.join(ROOT, 'src', 'server'))
  t.ok(files.length > 5, 'found the server files')
  for (const f of files) {
    for (const spec of importsOf(f)) {
      t.notMatch(spec, /\.\.\/(cluster|client)\//, `${path.basename(f)} imports ${spec}`)
    }
  }
})

t.test('src/cluster imports nothing from src/client', async (t) => {
  for (const f of tsFiles(path.join(ROOT, 'src', 'cluster'))) {
    for (const spec of importsOf(f)) t.notMatch(spec, /\.\.\/client\//, `${path.basename(f)} imports ${spec}`)
  }
})

t.test('the import scanner sees a forbidden import when there is one', async (t) => {
  const tmp = path.join(fs.mkdtempSync(path.join(ROOT, '.tap-')), 'x.ts')
  t.teardown(() => fs.rmSync(path.dirname(tmp), { recursive: true, force: true }))
  fs.writeFileSync(tmp, "import { Mesh } from '../cluster/mesh.js'\nexport const x = 1\n")
  t.same(importsOf(tmp), ['../cluster/mesh.js'])
})
