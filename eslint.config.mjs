import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import jest from 'eslint-plugin-jest'
import prettier from 'eslint-config-prettier'

/**
 * The layers of `src` and what each may import (see docs/architecture.md). `model` and `util` are
 * shared by all; the application layer (`jobs`, `action`, `cli`, `main.ts`, `post.ts`) may import
 * every layer, and no layer imports it.
 */
const LAYERS = {
  model: [],
  util: ['model'],
  config: ['model', 'util', 'constants.js'],
  plan: ['config', 'model', 'util'],
  results: ['model', 'util'],
  engines: ['model', 'util'],
  runner: ['engines', 'results', 'model', 'util'],
  fleet: ['runner', 'engines', 'plan', 'config', 'results', 'model', 'util'],
  ingest: ['engines', 'results', 'model', 'util'],
  baseline: ['results', 'model', 'util'],
  gate: ['baseline', 'results', 'plan', 'config', 'model', 'util'],
  report: ['gate', 'baseline', 'results', 'plan', 'config', 'model', 'util'],
  target: ['model', 'util'],
  jobs: ['*', '!action', '!cli', '!main.js', '!post.js', '!index.js'],
  action: ['*', '!cli', '!main.js', '!post.js', '!index.js'],
  cli: ['*', '!action', '!main.js', '!post.js', '!index.js']
}
const TOP = [...Object.keys(LAYERS), 'constants.js', 'main.js', 'post.js', 'index.js']

function layerRules() {
  return Object.entries(LAYERS).map(([layer, allowed]) => {
    const all = allowed[0] === '*'
    const forbidden = all
      ? allowed.slice(1).map(a => a.slice(1))
      : TOP.filter(t => t !== layer && !allowed.includes(t))
    const names = forbidden.map(f => f.replace('.', '\\.')).join('|')
    return {
      files: [`src/${layer}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: `^(\\.\\./)+(${names})(/|$)`,
                message: `src/${layer} may import only ${all ? `any layer but ${forbidden.join(', ')}` : allowed.join(', ') || 'nothing in src'} (docs/architecture.md).`
              }
            ]
          }
        ]
      }
    }
  })
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'build/**', 'coverage/**', 'infra-template/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        Response: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly'
      }
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error'
    }
  },
  ...layerRules(),
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 80 }]
    }
  },
  {
    files: ['__tests__/**/*.ts'],
    ...jest.configs['flat/recommended'],
    rules: {
      ...jest.configs['flat/recommended'].rules,
      'jest/no-conditional-expect': 'off',
      'jest/expect-expect': [
        'warn',
        { assertFunctionNames: ['expect', 'expectUsageError', 'nothingLeft', 'fc.assert'] }
      ]
    }
  },
  prettier
)
