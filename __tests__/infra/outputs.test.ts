/**
 * Every stack output the action reads exists in infra-template/region.yml. The names come from
 * the code: STACK_OUTPUTS in src/fleet/aws/discovery.ts (this test fails, and does not skip, when
 * that export is missing). The environment variables the action passes to the runner match the
 * task definition's container.
 */
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Evaluator, loadTemplate, type JsonObject } from './cfn.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const region = loadTemplate(resolve(root, 'infra-template/region.yml'))
const discoveryPath = resolve(root, 'src/fleet/aws/discovery.ts')
const objectsPath = resolve(root, 'src/runner/objects.ts')

/** Output names from a STACK_OUTPUTS export: an array of names or an object whose values are names. */
function names(exported: unknown): string[] {
  if (Array.isArray(exported)) return exported.map(String)
  if (exported && typeof exported === 'object') return Object.values(exported).map(String)
  throw new Error(`STACK_OUTPUTS is neither a list nor an object: ${JSON.stringify(exported)}`)
}

async function importSource(path: string, what: string): Promise<Record<string, unknown>> {
  if (!existsSync(path))
    throw new Error(
      `${what}: ${path.slice(root.length + 1)} does not exist (the fargate backend must export it)`
    )
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>
}

describe('the regional stack outputs', () => {
  it('include every output the action reads (STACK_OUTPUTS in src/fleet/aws/discovery.ts)', async () => {
    const mod = await importSource(discoveryPath, 'STACK_OUTPUTS')
    if (!('STACK_OUTPUTS' in mod)) throw new Error('src/fleet/aws/discovery.ts does not export STACK_OUTPUTS')
    const wanted = names(mod.STACK_OUTPUTS)
    expect(wanted.length).toBeGreaterThan(0)
    const have = Object.keys(region.Outputs ?? {})
    expect(wanted.filter(n => !have.includes(n))).toEqual([])
  })

  it('name the container the action overrides and the stack the action looks for', async () => {
    const mod = await importSource(discoveryPath, 'DEFAULT_CONTAINER')
    const ev = new Evaluator(region, {
      Image: 'ghcr.io/acme/perf-gate-runner:v1',
      ResultsBucket: 'perf-gate-results',
      TaskRoleArn: 'arn:aws:iam::123456789012:role/t',
      ExecutionRoleArn: 'arn:aws:iam::123456789012:role/e'
    })
    const container = (ev.properties('TaskDefinition').ContainerDefinitions as JsonObject[])[0]
    if ('DEFAULT_CONTAINER' in mod) expect(container.Name).toBe(mod.DEFAULT_CONTAINER)
    expect(ev.output('ContainerName')).toBe(container.Name)
    if ('DEFAULT_STACK_NAME' in mod) expect(mod.DEFAULT_STACK_NAME).toBe('perf-gate-runner')
  })

  it('give the runner the bucket under the name the runner reads (REMOTE_ENV in src/runner/objects.ts)', async () => {
    const mod = await importSource(objectsPath, 'REMOTE_ENV')
    const env = mod.REMOTE_ENV as Record<string, string> | undefined
    if (!env?.Bucket) throw new Error('src/runner/objects.ts does not export REMOTE_ENV.Bucket')
    const container = (region.Resources.TaskDefinition.Properties!.ContainerDefinitions as JsonObject[])[0]
    const names = (container.Environment as JsonObject[]).map(e => e.Name)
    expect(names).toEqual([env.Bucket])
  })
})
