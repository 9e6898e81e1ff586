import { describeEvent } from '../../src/report/github-event.js'

const repoJson = (id: number, full: string) => ({
  id,
  full_name: full,
  name: full.split('/')[1],
  owner: { login: full.split('/')[0] },
  default_branch: 'main'
})

const prPayload = (headRepo: ReturnType<typeof repoJson> | null) => ({
  action: 'synchronize',
  number: 42,
  pull_request: {
    number: 42,
    head: { sha: 'h'.repeat(40), ref: 'feature/faster', repo: headRepo },
    base: { sha: 'b'.repeat(40), ref: 'main', repo: repoJson(1, 'octo/shop') },
    merge_commit_sha: 'm'.repeat(40)
  },
  repository: repoJson(1, 'octo/shop')
})

const baseEnv = {
  GITHUB_REPOSITORY: 'octo/shop',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_RUN_ID: '99',
  GITHUB_RUN_ATTEMPT: '2'
}

describe('describeEvent', () => {
  it('pull_request: reports on the PR head, not the merge commit in GITHUB_SHA', () => {
    const e = describeEvent('pull_request', prPayload(repoJson(1, 'octo/shop')), {
      ...baseEnv,
      GITHUB_SHA: 'm'.repeat(40),
      GITHUB_REF: 'refs/pull/42/merge',
      GITHUB_BASE_REF: 'main',
      GITHUB_HEAD_REF: 'feature/faster'
    })
    expect(e).toMatchObject({
      eventName: 'pull_request',
      owner: 'octo',
      repo: 'shop',
      isPullRequest: true,
      prNumber: 42,
      headSha: 'h'.repeat(40),
      headRef: 'feature/faster',
      baseRef: 'main',
      baseSha: 'b'.repeat(40),
      mergeCommitSha: 'm'.repeat(40),
      mergeBase: { base: 'b'.repeat(40), head: 'h'.repeat(40) },
      isFork: false,
      canWrite: true,
      readOnlyReason: null,
      runUrl: 'https://github.com/octo/shop/actions/runs/99/attempts/2'
    })
  })

  it('fork PR: detected from the head repository, read-only on pull_request', () => {
    const e = describeEvent('pull_request', prPayload(repoJson(777, 'mallory/shop')), {
      ...baseEnv,
      GITHUB_SHA: 'm'.repeat(40)
    })
    expect(e.isFork).toBe(true)
    expect(e.canWrite).toBe(false)
    expect(e.readOnlyReason).toMatch(/fork/)
    expect(e.headSha).toBe('h'.repeat(40))
    expect(e.prNumber).toBe(42)
    // The same fork PR under pull_request_target has a write token.
    const t = describeEvent('pull_request_target', prPayload(repoJson(777, 'mallory/shop')), baseEnv)
    expect(t.isFork).toBe(true)
    expect(t.canWrite).toBe(true)
  })

  it('fork PR whose fork was deleted (head.repo null) counts as a fork', () => {
    const e = describeEvent('pull_request', prPayload(null), baseEnv)
    expect(e.isFork).toBe(true)
    expect(e.canWrite).toBe(false)
  })

  it('fork detection falls back to full names when ids are absent', () => {
    const p = prPayload({ full_name: 'octo/shop' } as ReturnType<typeof repoJson>)
    p.pull_request.base.repo = { full_name: 'Octo/Shop' } as ReturnType<typeof repoJson>
    expect(describeEvent('pull_request', p, baseEnv).isFork).toBe(false)
  })

  it('Dependabot PRs are read-only even from the same repository', () => {
    const e = describeEvent('pull_request', prPayload(repoJson(1, 'octo/shop')), {
      ...baseEnv,
      GITHUB_ACTOR: 'dependabot[bot]'
    })
    expect(e.isFork).toBe(false)
    expect(e.canWrite).toBe(false)
    expect(e.readOnlyReason).toMatch(/Dependabot/)
  })

  it('push: the pushed commit on its branch', () => {
    const e = describeEvent(
      'push',
      {
        ref: 'refs/heads/main',
        after: 'a'.repeat(40),
        before: '0'.repeat(40),
        repository: repoJson(1, 'octo/shop')
      },
      {
        ...baseEnv,
        GITHUB_SHA: 'a'.repeat(40),
        GITHUB_REF: 'refs/heads/main',
        GITHUB_REF_NAME: 'main',
        GITHUB_REF_TYPE: 'branch'
      }
    )
    expect(e).toMatchObject({
      isPullRequest: false,
      prNumber: null,
      headSha: 'a'.repeat(40),
      headRef: 'main',
      baseRef: 'main',
      isFork: false,
      canWrite: true,
      isDefaultBranch: true,
      mergeBase: null
    })
  })

  it('push of a tag has no branch', () => {
    const e = describeEvent(
      'push',
      { ref: 'refs/tags/v1.2.0', after: 'a'.repeat(40), repository: repoJson(1, 'octo/shop') },
      { ...baseEnv, GITHUB_REF: 'refs/tags/v1.2.0', GITHUB_REF_NAME: 'v1.2.0', GITHUB_REF_TYPE: 'tag' }
    )
    expect(e.headRef).toBeNull()
    expect(e.isDefaultBranch).toBe(false)
  })

  it('workflow_dispatch: GITHUB_SHA on the dispatched branch', () => {
    const e = describeEvent(
      'workflow_dispatch',
      { ref: 'refs/heads/release', inputs: {}, repository: repoJson(1, 'octo/shop') },
      {
        ...baseEnv,
        GITHUB_SHA: 'd'.repeat(40),
        GITHUB_REF: 'refs/heads/release',
        GITHUB_REF_NAME: 'release',
        GITHUB_REF_TYPE: 'branch'
      }
    )
    expect(e).toMatchObject({
      isPullRequest: false,
      headSha: 'd'.repeat(40),
      headRef: 'release',
      baseRef: 'release',
      isDefaultBranch: false,
      canWrite: true
    })
  })

  it('schedule: the default branch, with a payload that carries no repository', () => {
    const e = describeEvent(
      'schedule',
      { schedule: '0 3 * * *' },
      { ...baseEnv, GITHUB_SHA: 's'.repeat(40), GITHUB_REF: 'refs/heads/main', GITHUB_REF_NAME: 'main' }
    )
    expect(e).toMatchObject({
      eventName: 'schedule',
      owner: 'octo',
      repo: 'shop',
      isPullRequest: false,
      prNumber: null,
      headSha: 's'.repeat(40),
      baseRef: 'main',
      isDefaultBranch: true,
      isFork: false,
      canWrite: true
    })
  })

  it('tolerates an empty payload', () => {
    const e = describeEvent('pull_request', undefined, { GITHUB_SHA: 'x'.repeat(40) })
    expect(e.isPullRequest).toBe(false)
    expect(e.headSha).toBe('x'.repeat(40))
    expect(e.runUrl).toBeNull()
  })
})
