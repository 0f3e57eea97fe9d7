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
import type { Paragraph } from './rpsl-dump.js'

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
  private next = 0
  private batch: Paragraph[] = []
  private batchBytes = 0
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

  /** Adds a paragraph; resolves with the results ready, in order (waiting while too many batches are in flight). */
  async add (p: Paragraph): Promise<ParseResult[]> {
    if (!('bytes' in p)) throw new Error('ParsePool.add: a malformed paragraph is counted by the caller')
    this.batch.push(p)
    this.batchBytes += p.bytes.length
    if (this.batchBytes < BATCH_BYTES) return []
    this.send()
    return this.pending.length >= this.workers.length * 2 ? [await this.shift()] : []
  }

  /** Sends what is left and resolves with every result still to come, in order. */
  async drain (): Promise<ParseResult[]> {
    if (this.batch.length > 0) this.send()
    const out: ParseResult[] = []
    while (this.pending.length > 0) out.push(await this.shift())
    return out
  }

  private async shift (): Promise<ParseResult> {
    return await this.pending.shift()!
  }

  private send (): void {
    if (this.failed !== undefined) throw this.failed
    const n = this.batch.length
    const offsets = new Uint32Array(n + 1)
    const lines = new Uint32Array(n)
    const bytes = new Uint8Array(this.batchBytes)
    let at = 0
    for (let k = 0; k < n; k++) {
      const p = this.batch[k] as { bytes: Buffer, line: number }
      offsets[k] = at
      lines[k] = p.line
      bytes.set(p.bytes, at)
      at += p.bytes.length
    }
    offsets[n] = at
    const seq = this.seq++
    const request: ParseRequest = { seq, bytes, offsets, lines }
    const result = new Promise<ParseResult>((resolve, reject) => this.waiting.set(seq, { resolve, reject }))
    // a worker's failure rejects every batch in flight; one the import no longer waits for (it
    // stopped on an error of its own) must not count as an unhandled rejection
    result.catch(() => {})
    this.pending.push(result)
    // round robin: batches are alike in size
    this.workers[this.next].postMessage(request, [bytes.buffer, offsets.buffer, lines.buffer])
    this.next = (this.next + 1) % this.workers.length
    this.batch = []
    this.batchBytes = 0
  }

  async close (): Promise<void> {
    await Promise.all(this.workers.map(async w => await w.terminate()))
  }
}
