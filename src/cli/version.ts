/** The package version, read from the package.json two levels above this module (or the bundle). */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function packageVersion(): string {
  try {
    const here = dirname(fileURLToPath(import.meta.url))
    const pkg = JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')) as {
      name?: string
      version?: string
    }
    return pkg.name === 'perf-gate' && pkg.version ? pkg.version : 'unknown'
  } catch {
    return 'unknown'
  }
}
