/**
 * infra-template/runner/Dockerfile and .github/workflows/runner-image.yml, read as text (no image
 * is built here): pinned engines, Node 24, a non-root user, the runner bundle as the entrypoint,
 * and a workflow that pushes to GHCR on release tags only.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { K6_CHECKED_VERSIONS } from '../../src/engines/k6.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const dockerfilePath = resolve(root, 'infra-template/runner/Dockerfile')
const workflowPath = resolve(root, '.github/workflows/runner-image.yml')

interface Instruction {
  op: string
  args: string
  line: number
}

/** Dockerfile instructions: comments dropped, backslash continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  let buf = ''
  let start = 0
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd()
    if (!buf && (/^\s*#/.test(line) || !line.trim())) return
    if (buf && /^\s*#/.test(line)) return
    if (!buf) start = i + 1
    if (line.endsWith('\\')) {
      buf += line.slice(0, -1) + ' '
      return
    }
    buf += line
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buf)
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse '${buf}'`)
    out.push({ op: m[1].toUpperCase(), args: m[2].replace(/\s+/g, ' ').trim(), line: start })
    buf = ''
  })
  if (buf) throw new Error('Dockerfile ends inside a continuation')
  return out
}

interface Stage {
  from: string
  name?: string
  instructions: Instruction[]
  args: Record<string, string>
}

function stages(instructions: Instruction[]): { globalArgs: Record<string, string>; stages: Stage[] } {
  const globalArgs: Record<string, string> = {}
  const list: Stage[] = []
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)
      if (!m) throw new Error(`FROM at line ${ins.line}: '${ins.args}'`)
      const from = m[1].replace(/\$\{?(\w+)\}?/g, (_, n: string) => globalArgs[n] ?? `\${${n}}`)
      list.push({ from, name: m[2], instructions: [], args: {} })
      continue
    }
    const cur = list[list.length - 1]
    if (ins.op === 'ARG') {
      const [name, ...value] = ins.args.split('=')
      ;(cur ? cur.args : globalArgs)[name.trim()] = value.join('=').replace(/^"|"$/g, '')
    }
    if (cur) cur.instructions.push(ins)
    else if (ins.op !== 'ARG') throw new Error(`${ins.op} before the first FROM (line ${ins.line})`)
  }
  return { globalArgs, stages: list }
}

describe('the runner Dockerfile', () => {
  const text = readFileSync(dockerfilePath, 'utf8')
  const instructions = parseDockerfile(text)
  const { stages: all } = stages(instructions)
  const final = all[all.length - 1]
  const args = Object.assign({}, ...all.map(s => s.args)) as Record<string, string>
  const runs = all.flatMap(s => s.instructions.filter(i => i.op === 'RUN').map(i => i.args)).join('\n')

  it('is a multi-stage build on a Node 24 final image', () => {
    expect(all.length).toBeGreaterThanOrEqual(2)
    expect(final.from).toMatch(/^node:24-[a-z0-9.-]+$/)
    expect(final.from).not.toMatch(/latest/)
    for (const s of all) expect(s.from).not.toMatch(/:latest$|^[^:]+$/)
  })

  it('pins k6 to a version the parser was checked with, built from its tag at a known commit', () => {
    expect(args.K6_VERSION).toMatch(/^\d+\.\d+\.\d+$/)
    expect(K6_CHECKED_VERSIONS).toContain(args.K6_VERSION)
    // The checked version's real output is in the repository.
    const runs = readdirSync(resolve(root, 'fixtures', 'k6')).filter(d =>
      d.startsWith(`v${args.K6_VERSION}-`)
    )
    expect(runs.length).toBeGreaterThan(0)
    expect(args.K6_COMMIT).toMatch(/^[0-9a-f]{40}$/)
    const k6Stage = all.find(s => s.name === 'k6build')!
    expect(k6Stage.from).toMatch(/^golang:\d+\.\d+\.\d+-bookworm$/)
    const build = k6Stage.instructions
      .filter(i => i.op === 'RUN')
      .map(i => i.args)
      .join('\n')
    expect(build).toContain(
      'git clone --quiet --depth 1 --branch "v${K6_VERSION}" https://github.com/grafana/k6.git /src/k6'
    )
    expect(build).toContain('test "$(git -C /src/k6 rev-parse HEAD)" = "${K6_COMMIT}"')
    expect(build).toContain('GOFLAGS=-mod=vendor go build')
  })

  it('pins JMeter 5.6.x, verified by sha512, from the Apache archive', () => {
    expect(args.JMETER_VERSION).toMatch(/^5\.6\.\d+$/)
    expect(args.JMETER_SHA512).toMatch(/^[0-9a-f]{128}$/)
    expect(runs).toContain(
      'https://archive.apache.org/dist/jmeter/binaries/apache-jmeter-${JMETER_VERSION}.tgz'
    )
    expect(runs).toMatch(/echo "\$\{JMETER_SHA512\}\s+jmeter\.tgz" \| sha512sum -c -/)
  })

  it('pins Locust 2.x through pip', () => {
    expect(args.LOCUST_VERSION).toMatch(/^2\.\d+\.\d+$/)
    expect(runs).toContain('"locust==${LOCUST_VERSION}"')
  })

  it('never asks for a latest version', () => {
    const code = instructions.map(i => i.args).join('\n')
    expect(code).not.toMatch(/latest/i)
    expect(code).not.toMatch(/pip install(?![^\n]*==)/)
  })

  it('gives the final image python3, a headless JRE and the three engines on PATH', () => {
    const finalRuns = final.instructions
      .filter(i => i.op === 'RUN')
      .map(i => i.args)
      .join('\n')
    expect(finalRuns).toMatch(/\bpython3\b/)
    expect(finalRuns).toMatch(/openjdk-17-jre-headless/)
    expect(finalRuns).toMatch(/--no-install-recommends/)
    expect(finalRuns).toMatch(/rm -rf \/var\/lib\/apt\/lists/)
    const copies = final.instructions.filter(i => i.op === 'COPY').map(i => i.args)
    expect(copies).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^--from=\S+ \/usr\/local\/bin\/k6 /),
        expect.stringMatching(/^--from=\S+ \/opt\/jmeter /),
        expect.stringMatching(/^--from=\S+ \/opt\/locust /)
      ])
    )
    const env = final.instructions
      .filter(i => i.op === 'ENV')
      .map(i => i.args)
      .join(' ')
    expect(env).toMatch(/PATH="\/opt\/locust\/bin:\/opt\/jmeter\/bin:\$\{PATH\}"/)
    expect(env).toMatch(/PERF_GATE_K6_BIN=\/usr\/local\/bin\/k6/)
    expect(env).toMatch(/PERF_GATE_LOCUST_BIN=\/opt\/locust\/bin\/locust/)
    expect(env).toMatch(/PERF_GATE_JMETER_BIN=\/opt\/jmeter\/bin\/jmeter/)
  })

  it('runs the runner bundle from dist/ as a non-root user', () => {
    const users = final.instructions.filter(i => i.op === 'USER').map(i => i.args)
    expect(users.length).toBeGreaterThan(0)
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:.*)?$/)
    const entry = final.instructions.filter(i => i.op === 'ENTRYPOINT')
    expect(entry).toHaveLength(1)
    expect(JSON.parse(entry[0].args)).toEqual(['node', '/opt/perf-gate/dist/runner/index.js'])
    expect(
      final.instructions.some(i => i.op === 'COPY' && i.args === 'dist/runner /opt/perf-gate/dist/runner')
    ).toBe(true)
    // USER comes after every step that needs root.
    const userAt = final.instructions.findIndex(i => i.op === 'USER')
    expect(final.instructions.slice(userAt).some(i => i.op === 'RUN')).toBe(false)
  })

  it('copies the whole runner bundle (the entry loads files beside it)', () => {
    expect(existsSync(resolve(root, 'dist/runner/index.js'))).toBe(true)
    const ignore = readFileSync(resolve(root, 'infra-template/runner/Dockerfile.dockerignore'), 'utf8')
    expect(ignore).toMatch(/^\*$/m)
    expect(ignore).toMatch(/^!dist\/runner\/\*\*$/m)
  })
})

describe('the runner image workflow', () => {
  const wf = parse(readFileSync(workflowPath, 'utf8')) as {
    on: Record<string, unknown>
    permissions: Record<string, string>
    jobs: Record<
      string,
      { steps: { uses?: string; run?: string; with?: Record<string, unknown>; id?: string }[] }
    >
  }
  const steps = Object.values(wf.jobs).flatMap(j => j.steps)
  const step = (action: string) => steps.find(s => s.uses?.startsWith(`${action}@`))

  it('runs on pushed v* tags only', () => {
    expect(Object.keys(wf.on)).toEqual(['push'])
    expect(wf.on.push).toEqual({ tags: ['v*'] })
  })

  it('may write packages and read contents, nothing else', () => {
    expect(wf.permissions).toEqual({ contents: 'read', packages: 'write' })
  })

  it('checks out, sets up buildx and logs in to GHCR with GITHUB_TOKEN', () => {
    expect(step('actions/checkout')).toBeDefined()
    expect(step('docker/setup-buildx-action')).toBeDefined()
    expect(step('docker/login-action')?.with).toEqual({
      registry: 'ghcr.io',
      username: '${{ github.actor }}',
      password: '${{ secrets.GITHUB_TOKEN }}'
    })
  })

  it('builds infra-template/runner/Dockerfile from the repository root and pushes tag and major tag to ghcr.io', () => {
    const build = step('docker/build-push-action')
    expect(build?.with).toMatchObject({ context: '.', file: 'infra-template/runner/Dockerfile', push: true })
    const tagStep = steps.find(s => s.id === 'tags')
    expect(build?.with?.tags).toBe('${{ steps.tags.outputs.tags }}')
    expect(tagStep?.run).toContain('image="ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/perf-gate-runner"')
    expect(tagStep?.run).toContain('echo "${image}:${version}"')
    expect(tagStep?.run).toContain('echo "${image}:${major}"')
    expect(steps.indexOf(step('docker/login-action')!)).toBeLessThan(steps.indexOf(build!))
  })

  it.each([
    [
      'v1.2.3',
      'Acme-Org',
      ['ghcr.io/acme-org/perf-gate-runner:v1.2.3', 'ghcr.io/acme-org/perf-gate-runner:v1']
    ],
    ['v2.0.0-rc.1', 'acme', ['ghcr.io/acme/perf-gate-runner:v2.0.0-rc.1']],
    ['v3', 'acme', ['ghcr.io/acme/perf-gate-runner:v3']]
  ])('tags %s of owner %s as %j', (ref, owner, tags) => {
    const script = steps.find(s => s.id === 'tags')!.run!
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-wf-'))
    try {
      const out = join(dir, 'output')
      const r = spawnSync('bash', ['-e', '-c', script], {
        env: {
          PATH: process.env.PATH,
          GITHUB_REF_NAME: ref,
          GITHUB_REPOSITORY_OWNER: owner,
          GITHUB_OUTPUT: out
        },
        encoding: 'utf8'
      })
      expect(r.status).toBe(0)
      const m = /tags<<EOF\n([\s\S]*?)\nEOF/.exec(readFileSync(out, 'utf8'))
      expect(m?.[1].split('\n')).toEqual(tags)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
