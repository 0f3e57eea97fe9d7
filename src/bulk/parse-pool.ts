/**
 * The import's parsing, spread over worker threads (parse-worker.ts): the main thread reads,
 * inflates and cuts the dump into paragraphs (rpsl-dump.ts) and hands them over in batches; each
 * worker parses a batch into rows. Results come back in the order the batches were sent, so the
 * rows, and which of two copies of one range wins (the last read), are those a single thread makes.
 * At most `workers × 2` batches are in flight: memory stays bounded whatever the dump's size.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { DumpRegistry } from '../registry/interface.js'
import { MAX_OBJECT_BYTES } from './rpsl-dump.js'
import { grow } from '../util/grow.js'

/** A batch of paragraphs, as sent to a worker. */
export interface ParseRequest {
  seq: number
  /** the paragraphs' bytes, one after the other */
  bytes: Uint8Array
  /** where each paragraph starts in `bytes`, and (last) where the last one ends */
  offsets: Uint32Array
  /** each paragraph's first line in the dump */
  lines: Uint32Array
}

/** What a worker made of a batch. */
export interface ParseResult {
  seq: number
  rows: number
  start: Uint32Array
  end: Uint32Array
  flags: Uint8Array
  /** each row's encoded fields' length in `details` */
  lengths: Uint32Array
  details: Uint8Array
  objects: number
  skipped: number
  latin1Objects: number
  placeholders: number
  unusable: number
  firstProblem?: string
}

/** Paragraphs of about this many bytes go in one batch. */
const BATCH_BYTES = 1 << 20

/**
 * Starts a worker on parse-worker: the compiled module, or — when this runs from src/ under tsx
 * (tests, scripts) — its source, through a bootstrap that registers tsx in the worker first (a
 * worker cannot take a .ts entry, whatever its execArgv).
 */
function startWorker (workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./parse-worker.js', import.meta.url), { workerData })
  const source = new URL('./parse-worker.ts', import.meta.url).href
  return new Worker(`import('tsx/esm/api').then(m => { m.register(); return import(${JSON.stringify(source)}) })`, { eval: true, workerData })
}

export class ParsePool {
  private readonly workers: Worker[]
  private readonly waiting = new Map<number, { resolve: (r: ParseResult) => void, reject: (err: Error) => void }>()
  /** results in the order the batches were sent */
  private readonly pending: Array<Promise<ParseResult>> = []
  private seq = 0
  private nextWorker = 0
  /** the batch being filled: paragraphs' bytes one after the other, where each starts, its first line */
  private bytes = new Uint8Array(BATCH_BYTES + MAX_OBJECT_BYTES)
  private batchBytes = 0
  private offsets = new Uint32Array(1 << 14)
  private lines = new Uint32Array(1 << 14)
  private count = 0
  private failed: Error | undefined

  constructor (registry: DumpRegistry, orgNames: ReadonlyMap<string, string>, workers = Math.max(1, Math.min(4, availableParallelism()))) {
    this.workers = Array.from({ length: workers }, () => {
      const w = startWorker({ registry, orgNames: [...orgNames] })
      w.on('message', (r: ParseResult) => {
        const waiter = this.waiting.get(r.seq)
        this.waiting.delete(r.seq)
        waiter?.resolve(r)
      })
      w.on('error', err => this.fail(err))
      w.on('exit', code => { if (code !== 0) this.fail(new Error(`an import worker exited with code ${code}`)) })
      return w
    })
  }

  private fail (err: Error): void {
    this.failed ??= err
    for (const w of this.waiting.values()) w.reject(err)
    this.waiting.clear()
  }

  /**
   * Adds a paragraph, buf[start, end) with its first line (copied: buf may be reused), and sends
   * the batch when it is full. Synchronous: the caller waits for `next()` whenever `mustWait`.
   */
  add (buf: Buffer, start: number, end: number, line: number): void {
    const size = end - start
    this.bytes = grow(this.bytes, this.batchBytes + size)
    this.offsets = grow(this.offsets, this.count + 2)
    this.lines = grow(this.lines, this.count + 2)
    this.bytes.set(buf.subarray(start, end), this.batchBytes)
    this.offsets[this.count] = this.batchBytes
    this.lines[this.count] = line
    this.count++
    this.batchBytes += size
    if (this.batchBytes >= BATCH_BYTES) this.send()
  }

  /** Too many batches are in flight: the caller waits for the oldest (`next()`) before adding more. */
  get mustWait (): boolean {
    return this.pending.length >= this.workers.length * 2
  }

  /** The oldest batch's result. */
  async next (): Promise<ParseResult> {
    return await this.pending.shift()!
  }

  /** Sends what is left and resolves with every result still to come, in order. */
  async drain (): Promise<ParseResult[]> {
    if (this.count > 0) this.send()
    const out: ParseResult[] = []
    while (this.pending.length > 0) out.push(await this.next())
    return out
  }

  private send (): void {
    if (this.failed !== undefined) {
      // a worker failed: said where the import waits for results (next, drain), not to the reader
      const failed = Promise.reject(this.failed)
      failed.catch(() => {})
      this.pending.push(failed)
      this.count = 0
      this.batchBytes = 0
      return
    }
    const n = this.count
    const offsets = this.offsets.slice(0, n + 1)
    offsets[n] = this.batchBytes
    const request: ParseRequest = { seq: this.seq++, bytes: this.bytes.slice(0, this.batchBytes), offsets, lines: this.lines.slice(0, n) }
    const result = new Promise<ParseResult>((resolve, reject) => this.waiting.set(request.seq, { resolve, reject }))
    // a worker's failure rejects every batch in flight; one the import no longer waits for (it
    // stopped on an error of its own) must not count as an unhandled rejection
    result.catch(() => {})
    this.pending.push(result)
    // round robin: batches are alike in size
    this.workers[this.nextWorker].postMessage(request, [request.bytes.buffer, offsets.buffer, request.lines.buffer] as ArrayBuffer[])
    this.nextWorker = (this.nextWorker + 1) % this.workers.length
    this.count = 0
    this.batchBytes = 0
  }

  async close (): Promise<void> {
    await Promise.all(this.workers.map(async w => await w.terminate()))
  }
}
