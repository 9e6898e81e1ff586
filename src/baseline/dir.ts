/**
 * `dir:<path>`: baselines as files.
 *
 *   <path>/<owner>/<name>/<scenario>/<fingerprint>/<createdMs>-<runId>-<replicate>.json   (one per run, immutable)
 *   <path>/<owner>/<name>/<scenario>/<fingerprint>/index.json                            (cache of the records)
 *   <path>/_capacity/<owner>/<name>/<scenario>/<createdMs>-<runId>.json                  (capacity records, immutable)
 *
 * A run file is written to a temporary name and published with `link()`, which fails when the name
 * exists: a run file is never overwritten and never seen half-written. The run files are the truth;
 * the index is only a cache, rebuilt from them on every write and read: every run file is read and
 * validated (record and run result), a file that does not parse or whose record does not match its
 * run is skipped and named in a warning, and an index that disagrees with the files is rewritten. So
 * concurrent writers cannot lose an entry even when their index updates race (the last rename wins,
 * and the next reader repairs it), and an edited or damaged index changes nothing.
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import type { RunResult } from '../results/model.js'
import {
  capacitySegments,
  parseCapacityRecord,
  selectCapacity,
  storableCapacityRecord,
  type CapacityQuery,
  type CapacityRecord
} from './capacity.js'
import {
  BaselineStoreError,
  assertStorable,
  baselineDocument,
  baselineId,
  indexDocument,
  parseBaselineDocument,
  parseIndexRecords,
  scopeSegments,
  selectBaselines,
  type BaselineQuery,
  type BaselineRecord
} from './model.js'
import type { BaselineStore } from './store.js'
import { errorMessage } from '../util/index.js'

const INDEX = 'index.json'

function isRunFile(name: string): boolean {
  return name.endsWith('.json') && name !== INDEX && !name.startsWith('.')
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code
}

export class DirBaselineStore implements BaselineStore {
  readonly kind = 'dir' as const
  readonly location: string

  constructor(
    readonly root: string,
    private readonly warn: (message: string) => void = () => undefined
  ) {
    this.location = `dir:${root}`
  }

  private dirOf(repo: string, scenario: string, fingerprint: string): string {
    return join(this.root, ...scopeSegments(repo, scenario, fingerprint))
  }

  private fileOf(record: BaselineRecord): string {
    return join(
      this.dirOf(record.repo, record.scenario, record.fingerprint),
      `${baselineId(record.createdMs, record.runId, record.replicate)}.json`
    )
  }

  async put(record: BaselineRecord, run: RunResult): Promise<void> {
    const rec = assertStorable(record, run)
    const dir = this.dirOf(rec.repo, rec.scenario, rec.fingerprint)
    const { resultKey: _ignored, ...stored } = rec
    await this.writeOnce(
      dir,
      this.fileOf(rec),
      JSON.stringify(baselineDocument(stored, run)) + '\n',
      file => `baseline ${rec.id} already exists at ${file}; baselines are immutable`
    )
    await this.reconcile(dir, true)
  }

  /**
   * Writes `text` as `file` in `dir` unless `file` exists: written to a temporary name first and
   * published with `link()`, so it is never overwritten and never seen half-written.
   */
  private async writeOnce(
    dir: string,
    file: string,
    text: string,
    exists: (file: string) => string
  ): Promise<void> {
    try {
      await mkdir(dir, { recursive: true })
    } catch (e) {
      throw new BaselineStoreError(
        `baseline-store ${this.location}: cannot create ${dir} (${errorMessage(e)})`
      )
    }
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
    const cannotWrite = (e: unknown) =>
      new BaselineStoreError(`baseline-store ${this.location}: cannot write ${file} (${errorMessage(e)})`)
    try {
      await writeFile(tmp, text, { flag: 'wx' }).catch((e: unknown) => {
        throw cannotWrite(e)
      })
      await link(tmp, file)
    } catch (e) {
      if (e instanceof BaselineStoreError) throw e
      if (code(e) === 'EEXIST')
        throw new BaselineStoreError(`baseline-store ${this.location}: ${exists(file)}`)
      throw cannotWrite(e)
    } finally {
      await unlink(tmp).catch(() => undefined)
    }
  }

  /** The record of one run file, checked against its run result; throws a one-line error. */
  private async readRecord(path: string): Promise<BaselineRecord> {
    let doc: unknown
    try {
      doc = JSON.parse(await readFile(path, 'utf8'))
    } catch (e) {
      throw new BaselineStoreError(`${path}: is not valid JSON (${errorMessage(e)})`)
    }
    const { record, result } = parseBaselineDocument(path, doc)
    for (const key of ['runId', 'scenario', 'fingerprint'] as const)
      if (record[key] !== result.run[key])
        throw new BaselineStoreError(
          `${path}: the record's ${key} "${record[key]}" differs from its run's "${result.run[key]}"`
        )
    if (`${baselineId(record.createdMs, record.runId, record.replicate)}.json` !== basename(path))
      throw new BaselineStoreError(
        `${path}: the record (createdMs ${record.createdMs}, runId "${record.runId}", replicate ${record.replicate}) does not match the file name`
      )
    return { ...record, resultKey: path }
  }

  /** Records of one directory, read from its run files; the index is rewritten when it disagrees. */
  private async reconcile(dir: string, writeIndex: boolean): Promise<BaselineRecord[]> {
    let names: string[]
    try {
      names = (await readdir(dir)).filter(isRunFile)
    } catch (e) {
      if (code(e) === 'ENOENT') return []
      throw new BaselineStoreError(`baseline-store ${this.location}: cannot read ${dir} (${errorMessage(e)})`)
    }
    const indexPath = join(dir, INDEX)
    let cached: BaselineRecord[] = []
    try {
      cached = parseIndexRecords(JSON.parse(await readFile(indexPath, 'utf8')))
    } catch {
      cached = []
    }
    const records: BaselineRecord[] = []
    for (const name of names.sort()) {
      const path = join(dir, name)
      try {
        records.push(await this.readRecord(path))
      } catch (e) {
        // A foreign or damaged file is not a baseline; it stays where it is and is skipped.
        this.warn(`baseline-store ${this.location}: skipped ${errorMessage(e)}`)
      }
    }
    const strip = (r: BaselineRecord) => {
      const { resultKey: _key, ...rest } = r
      return JSON.stringify(rest)
    }
    const inIndex = new Set(cached.map(strip))
    const stale = cached.length !== records.length || records.some(r => !inIndex.has(strip(r)))
    if (writeIndex || stale) {
      const tmp = join(dir, `.index-${process.pid}-${randomBytes(6).toString('hex')}`)
      try {
        await writeFile(tmp, JSON.stringify(indexDocument(records)) + '\n')
        await rename(tmp, indexPath)
      } catch {
        // The index is a cache: a read-only directory still lists correctly.
        await unlink(tmp).catch(() => undefined)
      }
    }
    return records
  }

  async list(q: BaselineQuery): Promise<BaselineRecord[]> {
    return selectBaselines(await this.reconcile(this.dirOf(q.repo, q.scenario, q.fingerprint), false), q)
  }

  async load(record: BaselineRecord): Promise<RunResult> {
    const file =
      record.resultKey && record.resultKey.startsWith(this.root) ? record.resultKey : this.fileOf(record)
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (e) {
      throw new BaselineStoreError(
        `baseline-store ${this.location}: baseline ${record.id} is missing (${file}: ${errorMessage(e)})`
      )
    }
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (e) {
      throw new BaselineStoreError(`${file}: is not valid JSON (${errorMessage(e)})`)
    }
    return parseBaselineDocument(file, doc).result
  }

  /** Capacity records: `<root>/_capacity/<owner>/<name>/<scenario>/<id>.json`, written once with link(). */
  async putCapacity(record: CapacityRecord): Promise<void> {
    const rec = storableCapacityRecord(record)
    const dir = join(this.root, '_capacity', ...capacitySegments(rec.repo, rec.scenario))
    await this.writeOnce(
      dir,
      join(dir, `${rec.id}.json`),
      JSON.stringify(rec) + '\n',
      () => `capacity record ${rec.id} already exists; records are immutable`
    )
  }

  async listCapacity(q: CapacityQuery): Promise<CapacityRecord[]> {
    const dir = join(this.root, '_capacity', ...capacitySegments(q.repo, q.scenario))
    let names: string[]
    try {
      names = (await readdir(dir)).filter(n => n.endsWith('.json') && !n.startsWith('.')).sort()
    } catch (e) {
      if (code(e) === 'ENOENT') return []
      throw new BaselineStoreError(`baseline-store ${this.location}: cannot read ${dir} (${errorMessage(e)})`)
    }
    const records: CapacityRecord[] = []
    for (const name of names) {
      try {
        records.push(
          parseCapacityRecord(join(dir, name), JSON.parse(await readFile(join(dir, name), 'utf8')))
        )
      } catch {
        // A foreign or damaged file is not a record; it is skipped.
      }
    }
    return selectCapacity(records, q)
  }
}

export function dirBaselineStore(
  path: string,
  cwd = process.cwd(),
  warn?: (message: string) => void
): DirBaselineStore {
  return new DirBaselineStore(resolve(cwd, path), warn)
}
