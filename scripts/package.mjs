#!/usr/bin/env node
/**
 * Bundles every entry point with ncc into dist/: the action (index), its post step, the runner,
 * the CLI and the sample target. The output is deterministic, so CI can diff it against the
 * committed dist/.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js')
const ENTRIES = [
  ['src/index.ts', 'dist'],
  ['src/post.ts', 'dist/post'],
  ['src/runner/index.ts', 'dist/runner'],
  ['src/cli/index.ts', 'dist/cli'],
  ['src/target/index.ts', 'dist/target']
]
const only = process.argv.slice(2)

if (!only.length) rmSync(join(root, 'dist'), { recursive: true, force: true })
for (const [entry, out] of ENTRIES) {
  if (only.length && !only.some(o => entry.includes(o))) continue
  if (only.length) rmSync(join(root, out, 'index.js'), { force: true })
  const r = spawnSync(
    process.execPath,
    [ncc, 'build', entry, '-o', out, '--license', 'licenses.txt', '--quiet', '--target', 'es2022'],
    {
      cwd: root,
      stdio: 'inherit'
    }
  )
  if (r.status !== 0) {
    console.error(`package: ncc failed for ${entry}`)
    process.exit(1)
  }
}
// The CLI is a bin entry: make it executable and give it a shebang.
const cli = join(root, 'dist', 'cli', 'index.js')
if (existsSync(cli)) {
  const src = readFileSync(cli, 'utf8')
  if (!src.startsWith('#!')) writeFileSync(cli, '#!/usr/bin/env node\n' + src)
  chmodSync(cli, 0o755)
}
