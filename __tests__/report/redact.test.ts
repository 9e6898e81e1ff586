/** The one redaction of published texts, and the engines' allow-listed environment. */
import { engineEnvironment } from '../../src/runner/engine-env.js'
import { knownSecrets, redactDeep, redactText, registerSecret } from '../../src/report/redact.js'

describe('redactText', () => {
  const env = {
    'INPUT_GITHUB-TOKEN': 'ghs_0123456789abcdefghij',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    PERF_GATE_ENV_API_KEY: 'k-42-secret-value',
    SHORT_TOKEN: 'abc',
    PATH: '/usr/bin:/bin'
  }

  it('replaces the values of credential-named variables and registered values', () => {
    registerSecret('oidc-token-value-1234')
    const secrets = knownSecrets(env)
    expect(secrets).toEqual(
      expect.arrayContaining([
        env['INPUT_GITHUB-TOKEN'],
        env.AWS_SECRET_ACCESS_KEY,
        env.PERF_GATE_ENV_API_KEY
      ])
    )
    expect(secrets).not.toContain('abc')
    expect(secrets).not.toContain(env.PATH)
    const text = `a ${env.AWS_SECRET_ACCESS_KEY} b k-42-secret-value c oidc-token-value-1234 /usr/bin:/bin`
    expect(redactText(text, secrets)).toBe('a *** b *** c *** /usr/bin:/bin')
  })

  it.each([
    ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', '***'],
    ['github_pat_11ABCDEFG0123456789_abcdefghijklmnop', '***'],
    ['key AKIAIOSFODNN7EXAMPLE here', 'key *** here'],
    ['Authorization: Bearer abcdef0123456789xyz', 'Authorization: Bearer ***'],
    ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXZhbHVl', '***'],
    ['DB_PASSWORD=hunter22 next', 'DB_PASSWORD=*** next'],
    ['{"api_key": "abcd1234"}', '{"api_key": "***"}'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----', '***']
  ])('replaces the secret-shaped %j', (text, expected) => {
    expect(redactText(text, [])).toBe(expected)
  })

  it('leaves ordinary report text alone', () => {
    const text =
      'FAIL: p95 +12.5% (provisional: 2 of 10 baselines) commit aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ' +
      'GET /fast 1,234 requests, error rate 0.1%, fingerprint e808fa3818ab6193b464b94a61ffbd0beaf45c7a3b023f7390b5164a58734f9d'
    expect(redactText(text, knownSecrets(env))).toBe(text)
  })

  it('redacts every string and key of a document but never an encoded histogram', () => {
    const doc = {
      task: { message: 'exit 1: DB_PASSWORD=hunter22', stderrTail: 'k-42-secret-value' },
      labels: { 'GET /?token=abcdefgh1234': { hist: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', n: [1, 2] } }
    }
    const out = redactDeep(doc, knownSecrets(env))
    expect(out).toEqual({
      task: { message: 'exit 1: DB_PASSWORD=***', stderrTail: '***' },
      labels: { 'GET /?token=***': { hist: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', n: [1, 2] } }
    })
    expect(doc.task.stderrTail).toBe('k-42-secret-value')
  })
})

describe('engineEnvironment', () => {
  it('passes what engines need and what the user names, never credentials', () => {
    const env = engineEnvironment({
      PATH: '/bin',
      HOME: '/home/u',
      LC_ALL: 'C.UTF-8',
      K6_NO_USAGE_REPORT: 'true',
      K6_CLOUD_TOKEN: 'cloud-secret',
      JAVA_HOME: '/opt/java',
      'INPUT_GITHUB-TOKEN': 'ghs_x',
      GITHUB_TOKEN: 'ghs_y',
      AWS_SECRET_ACCESS_KEY: 'aws',
      AWS_SESSION_TOKEN: 'sess',
      ACTIONS_RUNTIME_TOKEN: 'rt',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc',
      GITHUB_REPOSITORY: 'acme/shop',
      PERF_GATE_ENV_API_KEY: 'mine',
      PERF_GATE_ENV_BASE_URL: 'http://127.0.0.1:1'
    })
    expect(env).toEqual({
      PATH: '/bin',
      HOME: '/home/u',
      LC_ALL: 'C.UTF-8',
      K6_NO_USAGE_REPORT: 'true',
      JAVA_HOME: '/opt/java',
      API_KEY: 'mine',
      BASE_URL: 'http://127.0.0.1:1'
    })
  })
})
