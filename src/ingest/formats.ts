/**
 * The input formats `summarize` and `import` read, their names for messages, and the error that
 * names a file that cannot be read or understood.
 */
import { errorMessage } from '../util/index.js'

export const INPUT_FORMATS = ['result', 'k6-json', 'k6-csv', 'jmeter', 'locust'] as const
export type InputFormat = (typeof INPUT_FORMATS)[number]
export const INGEST_ENGINES = ['k6', 'locust', 'jmeter'] as const
export type IngestEngine = (typeof INGEST_ENGINES)[number]

const FORMAT_NAMES: Record<InputFormat, string> = {
  result: 'perf-gate result',
  'k6-json': 'k6 JSON',
  'k6-csv': 'k6 CSV',
  jmeter: 'JMeter JTL',
  locust: 'Locust request NDJSON'
}

/** A file that cannot be read or understood; the message is one line naming the file. */
export class IngestError extends Error {
  constructor(
    readonly file: string,
    detail: string
  ) {
    super(`${file}: ${detail}`)
    this.name = 'IngestError'
  }
}

/** A file system error as a short phrase after the file name: 'no such file', 'permission denied', … */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'is a directory, not a file'
    default:
      return `cannot be read (${code ?? errorMessage(e)})`
  }
}

/** A format's name for messages, e.g. 'JMeter JTL'. */
export function formatName(f: InputFormat): string {
  return FORMAT_NAMES[f]
}
