#!/usr/bin/env node
/**
 * Bundles every entry point with ncc into dist/: the action (index), its post step, the runner,
 * the CLI and the sample target. The output is deterministic, so CI can diff it against the
 * committed dist/.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
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
const statsDir = mkdtempSync(join(tmpdir(), 'perf-gate-package-'))

/** The node_modules package directories a bundle holds, from webpack's stats (module names). */
function bundledPackages(statsFile) {
  const dirs = new Set()
  const walk = modules => {
    for (const m of modules ?? []) {
      walk(m.modules)
      const name = (m.name ?? '').replace(/ \+ \d+ modules$/, '')
      const i = name.lastIndexOf('node_modules/')
      if (i < 0) continue
      const parts = name.slice(i + 'node_modules/'.length).split('/')
      const pkg = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
      dirs.add(join(root, name.slice(0, i), 'node_modules', pkg))
    }
  }
  walk(JSON.parse(readFileSync(statsFile, 'utf8')).modules)
  return [...dirs]
}

/**
 * licenses.txt for a bundle, made the same way on every build: one block per bundled package
 * version (name@version, its license, the text of its LICENSE/COPYING file), sorted. (ncc's own
 * --license output keeps one version per package name, and which one depends on build order.)
 */
function writeLicenses(statsFile, outFile) {
  const blocks = new Map()
  for (const dir of bundledPackages(statsFile)) {
    const manifest = join(dir, 'package.json')
    if (!existsSync(manifest)) continue
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'))
    const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'UNKNOWN')
    const file = readdirSync(dir)
      .filter(f => /^(licen[cs]e|copying)(\.[a-z]+)?$/i.test(f))
      .sort()[0]
    const text = file ? readFileSync(join(dir, file), 'utf8').trim() : ''
    blocks.set(
      `${pkg.name}@${pkg.version}`,
      `${pkg.name}@${pkg.version}\n${license}${text ? `\n${text}` : ''}`
    )
  }
  const keys = [...blocks.keys()].sort()
  writeFileSync(outFile, keys.map(k => blocks.get(k)).join('\n\n') + '\n')
}

if (!only.length) rmSync(join(root, 'dist'), { recursive: true, force: true })
for (const [entry, out] of ENTRIES) {
  if (only.length && !only.some(o => entry.includes(o))) continue
  if (only.length) rmSync(join(root, out, 'index.js'), { force: true })
  const r = spawnSync(
    process.execPath,
    [
      ncc,
      'build',
      entry,
      '-o',
      out,
      '--stats-out',
      join(statsDir, 'stats.json'),
      '--quiet',
      '--target',
      'es2022'
    ],
    {
      cwd: root,
      stdio: 'inherit'
    }
  )
  if (r.status !== 0) {
    console.error(`package: ncc failed for ${entry}`)
    process.exit(1)
  }
  writeLicenses(join(statsDir, 'stats.json'), join(root, out, 'licenses.txt'))
}
rmSync(statsDir, { recursive: true, force: true })
// The CLI is a bin entry: make it executable and give it a shebang.
const cli = join(root, 'dist', 'cli', 'index.js')
if (existsSync(cli)) {
  const src = readFileSync(cli, 'utf8')
  if (!src.startsWith('#!')) writeFileSync(cli, '#!/usr/bin/env node\n' + src)
  chmodSync(cli, 0o755)
}
