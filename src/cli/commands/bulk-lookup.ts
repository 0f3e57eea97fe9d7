/**
 * `whoismesh lookup -` (src/report/bulk-lookup.ts): answers from the stopped node's answer table
 * (src/store/answer-table.ts), built once in this process; when a running node holds the data
 * directory, the addresses go to it (`POST /v1/lookup-bulk`) and it answers from its live store.
 * Either way the input is parsed here too, to count the invalid lines for the exit code.
 */
import { dumpRecord, openAnswers, type StoreAnswers } from '../../store/index.js'
import { streamControl } from '../../node/control.js'
import { AnswerBatch, LineWriter, bulkLookup, type BulkFormat, type BulkLookupResult } from '../../report/bulk-lookup.js'
import { LineReader } from '../../report/bulk-input.js'
import { TableAnswers } from '../../report/bulk-answers.js'
import { prepareLazily, prepareScanned, readCache, writeCache, type PreparedAnswers } from '../../report/bulk-cache.js'
import { UserError } from '../errors.js'
import { FdWritable, fdChunks } from '../../util/fd-io.js'
import { checkDataDir } from './read.js'

/**
 * standard input is read in chunks of this size, each answered as one batch: ~18,000 addresses,
 * whose 4.5 MB (CSV) to 9 MB (JSONL) of lines fit the writer's reused output buffers
 */
const INPUT_CHUNK_BYTES = 256 << 10

export interface BulkLookupOptions {
  data: string
  format?: BulkFormat
  json?: boolean
  stats?: boolean
}

/** Returns the exit code: 0, or 2 when a line was not an IPv4 address (its answer says so). */
export async function runBulkLookup (o: BulkLookupOptions): Promise<number> {
  if (o.json === true && o.format === 'csv') throw new UserError('--json and --format csv contradict each other')
  const format = o.format ?? 'jsonl'
  await checkDataDir(o.data)
  const t0 = performance.now()
  let store: StoreAnswers | undefined
  try {
    store = await openAnswers(o.data)
  } catch (err: any) {
    if (err?.name !== 'StoreLockedError') throw err
  }
  if (store === undefined) {
    process.stdout.on('error', outputError)
    const result = await viaNode(o.data, format)
    return finish(result, o.stats === true ? { source: 'node', answer_ms: round(performance.now() - t0) } : undefined)
  }
  const stats: Record<string, unknown> = {}
  const writer = new LineWriter(format)
  let prepared: PreparedAnswers | undefined
  try {
    prepared = await prepare(o.data, store, writer, stats)
    const tReady = performance.now()
    const dumps = store.dumps
    const source = new TableAnswers(prepared, id => dumpRecord(dumps, prepared!.table, id), r => writer.fragment(r))
    // not process.stdout: see FdWritable (which falls back to it, with its error handler)
    const out = new FdWritable(1, () => process.stdout.on('error', outputError))
    out.on('error', outputError)
    const result = await bulkLookup(fdChunks(0, () => process.stdin, INPUT_CHUNK_BYTES), out, source, writer)
    await new Promise<void>(resolve => out.end(resolve))
    const tEnd = performance.now()
    return finish(result, o.stats !== true
      ? undefined
      : {
          source: 'table',
          ...stats,
          segments: prepared.table.size,
          networks_answered: source.networks,
          ready_ms: round(tReady - t0),
          answer_ms: round(tEnd - tReady),
          addresses_per_s_after_ready: Math.round(result.answers / ((tEnd - tReady) / 1000)),
          rss_mb: round(process.memoryUsage().rss / 1e6)
        })
  } finally {
    await prepared?.close()
    await store.close()
  }
}

/** The answers prepared for `writer`'s format: from the cache when it holds this content, else from a scan (then cached). */
async function prepare (dataDir: string, store: StoreAnswers, writer: LineWriter, stats: Record<string, unknown>): Promise<PreparedAnswers> {
  const t0 = performance.now()
  const stamp = store.stamp
  if (stamp !== undefined && store.unwritten) {
    const cached = await readCache(dataDir, writer.format, stamp)
    if (cached !== undefined) {
      await store.release()
      Object.assign(stats, { cache: 'used', cache_read_ms: round(performance.now() - t0) })
      return cached
    }
  }
  const scanned = await store.scan()
  const t1 = performance.now()
  const counts = { ...scanned.counts, table_mb: round(scanned.table.bytes / 1e6), scan_ms: round(scanned.scanMs), build_ms: round(scanned.buildMs) }
  if (stamp === undefined) {
    // a store no write of this version marked: nothing to check a cache against
    Object.assign(stats, { cache: 'none', ...counts })
    return prepareLazily(scanned, writer)
  }
  const { prepared, lines, blob } = prepareScanned(scanned, writer)
  const t2 = performance.now()
  const written = await writeCache(dataDir, writer.format, stamp, scanned.table, lines, blob)
  Object.assign(stats, {
    cache: written ? 'written' : 'not written',
    ...counts,
    format_ms: round(t2 - t1),
    cache_write_ms: round(performance.now() - t2)
  })
  return prepared
}

/** `… | head`: the reader went away, which ends the job quietly; any other error ends it with a line */
function outputError (err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(0)
  process.stderr.write(`whoismesh: cannot write the answers: ${err.code ?? err.message}\n`)
  process.exit(2)
}

/** Prints the stats line (when asked) and the invalid lines' summary; returns the exit code. */
function finish (result: BulkLookupResult, stats: Record<string, unknown> | undefined): number {
  if (stats !== undefined) {
    process.stderr.write(JSON.stringify({ addresses: result.answers, invalid: result.invalid, input_lines: result.lines, ...stats }) + '\n')
  }
  if (result.invalid === 0) return 0
  const first = result.firstInvalid
  process.stderr.write(`whoismesh: ${result.invalid} of ${result.answers} input lines ${result.invalid === 1 ? 'is' : 'are'} not an IPv4 address (answered with status "invalid")${first === undefined ? '' : `, the first on line ${first.line}: ${JSON.stringify(first.text)}`}\n`)
  return 2
}

/** Sends standard input to the running node and its answers to standard output; counts the lines as they pass. */
async function viaNode (dataDir: string, format: BulkFormat): Promise<BulkLookupResult> {
  const reader = new LineReader()
  const batch = new AnswerBatch()
  let answers = 0
  const counted = async function * (): AsyncGenerator<Buffer> {
    for await (const chunk of process.stdin) {
      reader.read(chunk as Buffer, batch)
      answers += batch.n
      batch.clear()
      yield chunk as Buffer
    }
    reader.end(batch)
    answers += batch.n
  }
  await streamControl(dataDir, '/v1/lookup-bulk', { format }, counted(), process.stdout)
  return { lines: reader.lines, answers, invalid: reader.invalid, ...(reader.firstInvalid !== undefined ? { firstInvalid: reader.firstInvalid } : {}) }
}

const round = (x: number): number => Math.round(x * 10) / 10
