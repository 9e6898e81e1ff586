/**
 * The module graph of `src` has no cycles: every import, type-only ones included, points one way.
 * (Which layer may import which is checked by ESLint's no-restricted-imports rules.)
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []
  )
}

function importGraph(): Map<string, string[]> {
  const files = new Set(sourceFiles(SRC))
  const graph = new Map<string, string[]>()
  for (const file of files) {
    const targets = [...readFileSync(file, 'utf8').matchAll(/(?:from|import) '(\.[^']+)'/g)]
      .map(m => resolve(dirname(file), m[1].replace(/\.js$/, '.ts')))
      .filter(t => files.has(t))
    graph.set(file, targets)
  }
  return graph
}

/** Strongly connected components of more than one file, or of a file importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(relative(SRC, w))
      } while (w !== v)
      if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}

describe('src module graph', () => {
  it('has no import cycles', () => {
    const graph = importGraph()
    expect(graph.size).toBeGreaterThan(50)
    expect(cycles(graph)).toEqual([])
  })

  it('finds a cycle when there is one', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']]
    ])
    expect(cycles(graph)).toEqual([[relative(SRC, 'a'), relative(SRC, 'b'), relative(SRC, 'c')].sort()])
  })
})
