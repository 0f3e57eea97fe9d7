import { read, write } from 'node:fs'
import { Writable } from 'node:stream'

/**
 * Standard input and output by their file descriptors, for `lookup -`'s hundreds of megabytes:
 * reads and writes in libuv's thread pool, where a pipe's wait blocks a pool thread while this
 * thread goes on answering.
 */

/**
 * The bytes of file descriptor `fd` (standard input) in chunks of up to `chunkBytes`, the next
 * read under way while a chunk is used; process.stdin reads 64 KiB at a time, and on a pipe sets
 * it non-blocking (as process.stdout, below). Should the descriptor be non-blocking all the same
 * (EAGAIN), the rest comes from `fallback()` (process.stdin). A read returns what a pipe or a
 * terminal has, so `tail -f | …` gets each line's answer at once.
 */
export async function * fdChunks (fd: number, fallback: () => AsyncIterable<Buffer | string>, chunkBytes = 1 << 20): AsyncGenerator<Buffer | string> {
  const readChunk = async (): Promise<Buffer> => await new Promise((resolve, reject) => {
    const b = Buffer.allocUnsafe(chunkBytes)
    read(fd, b, 0, chunkBytes, null, (err, n) => { if (err !== null) reject(err); else resolve(b.subarray(0, n)) })
  })
  let next = readChunk()
  for (;;) {
    let chunk: Buffer
    try {
      chunk = await next
    } catch (err: any) {
      if (err?.code !== 'EAGAIN') throw err
      yield * fallback()
      return
    }
    if (chunk.length === 0) return
    next = readChunk()
    // a read failing while this chunk is used is seen by the `await` above, not left unhandled
    next.catch(() => {})
    yield chunk
  }
}

/**
 * A Writable over a file descriptor (standard output) that writes with fs.write: in libuv's
 * thread pool, where a full pipe's wait blocks a pool thread while this thread goes on making
 * output. process.stdout on a pipe sets the pipe non-blocking, writes what fits (64 KiB) and waits
 * for the rest through epoll: many system calls and wake-ups per megabyte (docs/bulk-lookup.md,
 * "Speed": `lookup -` into `wc -lc`, JSONL, 1.72 s of system time through process.stdout against
 * 1.09 s this way, 6 rounds interleaved).
 *
 * Nothing may have touched process.stdout before (reading it sets the shared pipe non-blocking).
 * Should the descriptor be non-blocking all the same (another process set it: EAGAIN), this and
 * every later write go through `fallback()` (process.stdout), which waits the libuv way.
 */
export class FdWritable extends Writable {
  private viaFallback: Writable | undefined

  constructor (private readonly fd: number, private readonly fallback: () => Writable, highWaterMark = 1 << 20) {
    super({ highWaterMark, decodeStrings: true })
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.writeFrom(chunk, 0, done)
  }

  private writeFrom (chunk: Buffer, from: number, done: (err?: Error | null) => void): void {
    if (this.viaFallback !== undefined) {
      this.viaFallback.write(from === 0 ? chunk : chunk.subarray(from), err => { done(err) })
      return
    }
    write(this.fd, chunk, from, chunk.length - from, null, (err, written) => {
      if (err?.code === 'EAGAIN') {
        this.viaFallback = this.fallback()
        this.writeFrom(chunk, from, done)
      } else if (err !== null) {
        done(err)
      } else if (from + written < chunk.length) {
        this.writeFrom(chunk, from + written, done)
      } else {
        done()
      }
    })
  }
}
