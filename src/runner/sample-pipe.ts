/**
 * The sample channel on an engine's file descriptor 3, as a named pipe (FIFO).
 *
 * Node's `'pipe'` stdio entry is a Unix socket pair, and engines that open `/dev/fd/3` by name
 * (k6: `--out json=/dev/fd/3`) cannot open a socket that way on Linux (ENXIO). A FIFO can be
 * opened by name and read like any pipe: the runner makes one in the task's private directory,
 * opens its read end without blocking, opens its write end (which then does not block either),
 * hands the write end to the child as fd 3 and closes its own copy. The reader sees end-of-file
 * once the engine and everything it started have closed fd 3. Nothing touches the disk.
 *
 * Where `mkfifo` is not available the caller falls back to Node's socket pair.
 */
import { spawnSync } from 'node:child_process'
import { closeSync, constants, openSync } from 'node:fs'
import { Socket } from 'node:net'
import { join } from 'node:path'
import type { Readable } from 'node:stream'

export interface SamplePipe {
  /** The write end, to pass as the child's fd 3. */
  writeFd: number
  /** The read end. */
  stream: Readable
  /** Closes the runner's copy of the write end (call once the child holds it). Idempotent. */
  closeWriteEnd(): void
  /** Resolves once the read end saw end-of-file (or failed), or after `ms`. */
  drained(ms: number): Promise<void>
}

/** A FIFO in `dir` (a private directory), opened for both ends; null where FIFOs are unavailable. */
export function openSamplePipe(dir: string): SamplePipe | null {
  if (process.platform === 'win32') return null
  const path = join(dir, 'samples.fifo')
  const made = spawnSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' })
  if (made.error || made.status !== 0) return null
  let readFd: number | undefined
  try {
    readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
    const writeFd = openSync(path, constants.O_WRONLY)
    const stream = new Socket({ fd: readFd, readable: true, writable: false })
    let open = true
    const ended = new Promise<void>(resolve => {
      stream.once('end', resolve)
      stream.once('close', resolve)
      stream.once('error', () => resolve())
    })
    return {
      writeFd,
      stream,
      closeWriteEnd() {
        if (!open) return
        open = false
        closeSync(writeFd)
      },
      async drained(ms: number) {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([ended, new Promise<void>(resolve => (timer = setTimeout(resolve, ms)))])
        clearTimeout(timer)
      }
    }
  } catch {
    if (readFd !== undefined) closeSync(readFd)
    return null
  }
}
