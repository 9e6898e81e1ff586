/**
 * action.yml and the code agree: every input the code reads is declared and every declared input
 * is read, the defaults action.yml gives are the ones the code applies to an empty input, the
 * outputs and the runtime match, and every workflow in the repository passes only declared inputs.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { Inputs, Outputs } from '../../src/constants.js'
import { readInputs } from '../../src/config/inputs.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

interface ActionYml {
  inputs: Record<string, { description: string; default?: unknown; required?: boolean }>
  outputs: Record<string, { description: string }>
  runs: { using: string; main: string; post?: string }
}

const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as ActionYml
const declaredInputs = Object.keys(action.inputs).sort()

/** readInputs with every input empty except `given`, recording the names it asked for. */
function read(given: Record<string, string> = {}) {
  const asked = new Set<string>()
  const inputs = readInputs(name => {
    asked.add(name)
    return given[name] ?? ''
  })
  return { inputs, asked }
}

/** An input default that GitHub evaluates (`${{ github.token }}`) is not a literal to compare. */
const isExpression = (v: unknown) => typeof v === 'string' && v.includes('${{')

describe('action.yml inputs', () => {
  it('declares exactly the inputs named in src/constants.ts', () => {
    expect(Object.values(Inputs).sort()).toEqual(declaredInputs)
  })

  it('every declared input is read by the code, and the code reads no undeclared input', () => {
    // backend: local with no results is the one combination every input is read in.
    const { asked } = read()
    expect([...asked].sort()).toEqual(declaredInputs)
  })

  it('each default in action.yml is the value the code uses when the input is empty', () => {
    const literalDefaults = Object.fromEntries(
      Object.entries(action.inputs)
        .filter(([, spec]) => spec.default !== undefined && !isExpression(spec.default))
        .map(([name, spec]) => [name, String(spec.default)])
    )
    // Sanity: the comparison covers the inputs with non-empty defaults.
    expect(Object.values(literalDefaults).filter(v => v !== '').length).toBeGreaterThan(10)
    expect(read(literalDefaults).inputs).toEqual(read().inputs)
  })

  it('changing any non-empty default changes what the code reads (the comparison can fail)', () => {
    const withDefault = Object.entries(action.inputs).filter(
      ([, spec]) => spec.default !== undefined && spec.default !== '' && !isExpression(spec.default)
    )
    for (const [name] of withDefault) {
      // A value the code accepts for the input and that differs from its default.
      const alternatives: Record<string, string> = {
        mode: 'baseline',
        config: 'other.yml',
        backend: 'fargate',
        'baseline-store': 'dir:x',
        'stack-name': 'other-stack',
        'min-task-success': '50%',
        'min-effect': '4%',
        alpha: '0.02',
        'provisional-threshold': '20%'
      }
      const given: Record<string, string> = { [name]: alternatives[name] ?? '' }
      if (given[name] === '') {
        const d = String(action.inputs[name].default)
        given[name] = /^(true|false)$/.test(d)
          ? String(d !== 'true')
          : /^\d+$/.test(d)
            ? String(Number(d) + 1)
            : ''
      }
      if (name === 'backend') given.regions = 'us-east-1'
      expect({ name, value: given[name] }).toEqual({ name, value: expect.stringMatching(/./) })
      expect({ name, same: read(given).inputs }).not.toEqual({ name, same: read().inputs })
    }
  })

  it('every input has a description', () => {
    for (const [name, spec] of Object.entries(action.inputs)) {
      expect({ name, description: typeof spec.description }).toEqual({ name, description: 'string' })
    }
  })
})

describe('action.yml outputs and runtime', () => {
  it('declares exactly the outputs named in src/constants.ts, and the code sets each of them', () => {
    expect(Object.values(Outputs).sort()).toEqual(Object.keys(action.outputs).sort())
    const sources = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
      .filter(f => f.endsWith('.ts') && f !== 'constants.ts')
      .map(f => readFileSync(join(root, 'src', f), 'utf8'))
      .join('\n')
    for (const key of Object.keys(Outputs))
      expect({ key, used: sources.includes(`Outputs.${key}`) }).toEqual({ key, used: true })
  })

  it('runs on node24 from the committed bundles', () => {
    expect(action.runs).toMatchObject({ using: 'node24', main: 'dist/index.js', post: 'dist/post/index.js' })
  })
})

describe('workflows in the repository', () => {
  const files = [
    ...readdirSync(join(root, '.github', 'workflows')).map(f => join(root, '.github', 'workflows', f)),
    ...readdirSync(join(root, 'examples', 'workflows')).map(f => join(root, 'examples', 'workflows', f))
  ].filter(f => /\.ya?ml$/.test(f))

  /** Every step that uses this action (`./` in this repository, `org/perf-gate@…` elsewhere). */
  function actionSteps(file: string): { with?: Record<string, unknown> }[] {
    const wf = parse(readFileSync(file, 'utf8')) as {
      jobs?: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>
    }
    return Object.values(wf.jobs ?? {}).flatMap(job =>
      (job.steps ?? []).filter(s => s.uses === './' || /\/perf-gate@/.test(s.uses ?? ''))
    )
  }

  it('use the action with declared inputs only', () => {
    const steps = files.flatMap(f =>
      actionSteps(f).map(s => ({ file: f.slice(root.length + 1), keys: Object.keys(s.with ?? {}) }))
    )
    expect(steps.length).toBeGreaterThan(3)
    for (const { file, keys } of steps) {
      expect({ file, undeclared: keys.filter(k => !declaredInputs.includes(k)) }).toEqual({
        file,
        undeclared: []
      })
    }
  })

  it('CI runs the action itself with uses: ./', () => {
    expect(actionSteps(join(root, '.github', 'workflows', 'ci.yml')).length).toBeGreaterThan(0)
  })
})
