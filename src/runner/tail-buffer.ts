/** The tail of an engine's output (stderr, stdout), kept for the task result and its messages. */

/** Keeps the last `limit` bytes of a stream. */
export class TailBuffer {
  private chunks: Buffer[] = []
  private size = 0

  constructor(readonly limit = 8192) {}

  push(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (b.length >= this.limit) {
      this.chunks = [Buffer.from(b.subarray(b.length - this.limit))]
      this.size = this.limit
      return
    }
    this.chunks.push(b)
    this.size += b.length
    while (this.chunks.length > 1 && this.size - this.chunks[0].length >= this.limit)
      this.size -= this.chunks.shift()!.length
  }

  toString(): string {
    let buf = Buffer.concat(this.chunks)
    if (buf.length > this.limit) buf = buf.subarray(buf.length - this.limit)
    // Skip UTF-8 continuation bytes at a cut.
    let i = 0
    while (i < buf.length && i < 4 && (buf[i] & 0xc0) === 0x80) i++
    return buf.subarray(i).toString('utf8')
  }
}

/** The last non-empty line of `text`, trimmed, at most 300 characters; '' when there is none. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map(l => l.trim())
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]) return lines[i].slice(0, 300)
  return ''
}
