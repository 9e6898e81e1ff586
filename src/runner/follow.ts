/**
 * Follows a file another process is writing: reads whatever was appended since the last look, in
 * bounded chunks, every `pollMs`, and once more to the end when stopped (after the writer exited).
 * The file may appear late. Memory stays at one chunk; the caller's parser sees every byte once,
 * in order.
 */
import { open, type FileHandle } from 'node:fs/promises'

export interface FollowOptions {
  /** How often to look for new data, ms. Default 200. */
  pollMs?: number
  /** Largest read, bytes. Default 64 KiB. */
  chunkBytes?: number
}

export interface FileFollower {
  /** Reads to the end of the file one last time and closes it. Rejects with the first read error. */
  stop(): Promise<void>
  /** Bytes delivered so far. */
  readonly bytes: number
  /** Whether the file was found at all. */
  readonly found: boolean
}

export function followFile(
  path: string,
  onChunk: (chunk: Buffer) => void,
  opts: FollowOptions = {}
): FileFollower {
  const pollMs = opts.pollMs ?? 200
  const chunkBytes = opts.chunkBytes ?? 64 * 1024
  let fh: FileHandle | undefined
  let opened = false
  let offset = 0
  let bytes = 0
  let stopping = false
  let error: unknown
  let wake: (() => void) | undefined

  async function readAvailable(): Promise<void> {
    if (!fh) {
      try {
        fh = await open(path, 'r')
        opened = true
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
        throw e
      }
    }
    // A file that shrank was truncated or replaced: start again from its beginning.
    const { size } = await fh.stat()
    if (size < offset) offset = 0
    for (;;) {
      const buf = Buffer.allocUnsafe(chunkBytes)
      const { bytesRead } = await fh.read(buf, 0, chunkBytes, offset)
      if (bytesRead === 0) return
      offset += bytesRead
      bytes += bytesRead
      onChunk(bytesRead === chunkBytes ? buf : buf.subarray(0, bytesRead))
    }
  }

  const loop = (async () => {
    while (!stopping) {
      await readAvailable()
      if (stopping) break
      await new Promise<void>(resolve => {
        const t = setTimeout(done, pollMs)
        function done() {
          clearTimeout(t)
          wake = undefined
          resolve()
        }
        wake = done
      })
    }
  })().catch(e => {
    error = e
  })

  return {
    async stop() {
      stopping = true
      wake?.()
      await loop
      try {
        if (error === undefined) await readAvailable()
      } catch (e) {
        error = e
      } finally {
        await fh?.close()
        fh = undefined
      }
      if (error !== undefined) throw error
    },
    get bytes() {
      return bytes
    },
    get found() {
      return opened
    }
  }
}
