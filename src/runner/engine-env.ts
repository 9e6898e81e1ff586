/**
 * The environment an engine process gets: an allow-list, never the runner's whole environment.
 *
 * The runner's environment holds the job's credentials (`INPUT_GITHUB-TOKEN`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`, `ACTIONS_RUNTIME_TOKEN`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, …) and an engine
 * runs the user's script, whose output ends up in the report. So an engine gets only:
 *
 * - what engines and their launchers need to start: `PATH`, `HOME`, user, shell, locale and time
 *   zone, temporary folders, CA bundles and proxies, and the variables of the engines' own runtimes
 *   (`K6_*`, `JAVA_*`/`JVM_ARGS`/`JMETER_*`, `PYTHON*`/`VIRTUAL_ENV`/`LOCUST_*`);
 * - what the user names: `PERF_GATE_ENV_<NAME>=value` reaches the engine as `<NAME>=value`
 *   (on the action, set it in the step's `env:`);
 * - the scenario's `env:` (added by the engine adapters on top of this).
 *
 * A variable whose name looks like a credential (TOKEN, SECRET, PASSWORD, KEY, CREDENTIAL, …) is
 * never passed by the prefix rules, only when the user names it with `PERF_GATE_ENV_`.
 */
import { SECRET_NAME_RE } from '../model/index.js'

/** Prefix of the variables passed to the engine with the prefix removed. */
export const ENGINE_ENV_PREFIX = 'PERF_GATE_ENV_'

/** Passed by exact name. */
const NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TERM',
  'NO_COLOR',
  'TMPDIR',
  'TMP',
  'TEMP',
  'PWD',
  'HOSTNAME',
  'SYSTEMROOT',
  'COMSPEC',
  'PATHEXT',
  'WINDIR',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'VIRTUAL_ENV',
  'CONDA_PREFIX',
  'PYENV_ROOT',
  'JVM_ARGS',
  'HEAP',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_RUNTIME_DIR'
])

/** Passed by prefix (unless the name looks like a credential). */
const PREFIXES = ['LC_', 'K6_', 'JAVA_', 'JMETER_', 'PYTHON', 'LOCUST_', 'PIP_']

/** The environment for an engine process, from the runner's environment (see the module comment). */
export function engineEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue
    if (NAMES.has(name) || (PREFIXES.some(p => name.startsWith(p)) && !SECRET_NAME_RE.test(name)))
      out[name] = value
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith(ENGINE_ENV_PREFIX)) continue
    const target = name.slice(ENGINE_ENV_PREFIX.length)
    if (target) out[target] = value
  }
  return out
}
