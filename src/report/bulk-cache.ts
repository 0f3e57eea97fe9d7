/**
 * What `lookup -` answers from, prepared once per store and output format: the answer table
 * (store/answer-table.ts) and every crawled network's part of a line (LineWriter.fragment), with
 * its leaf class and query address. Reading a store costs seconds — LevelDB hands out every value
 * as a Buffer of its own, about 5 µs each; the full sample's index is 1.3 million of them — and
 * formatting each network another few µs, so the prepared answers are kept in the data directory
 * (`lookup-jsonl.cache`, `lookup-csv.cache`) and read back by the next `lookup -` on the same
 * content: the table's arrays at once, a network's part of a line when an address first needs it.
 *
 * A cache is used only when it was made from exactly what the directory holds now (StoreAnswers:
 * the store's generation token, which every write changes, and the dumps' headers), by this
 * version, for this format, and nothing was written since the store was last opened; else it is
 * made again (and written atomically; a cache that cannot be written is done without).
 * Networks of the imported dumps are not in it: they are read from their snapshot files.
 */
import { readSync } from 'node:fs'
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { isLeaf, type NetworkRecord } from '../record/index.js'
import { AnswerTable, SEG_WORDS, type AnswerTableArrays, type ScannedAnswers } from '../store/index.js'
import { VERSION } from '../version.js'
import type { BulkFormat, LineWriter } from './bulk-lookup.js'

const MAGIC = Buffer.from('WMLOOKUP1\n')
/** bump when the file's layout or a line's text changes */
const CACHE_FORMAT = 2

export function cachePath (dataDir: string, format: BulkFormat): string {
  return join(dataDir, `lookup-${format}.cache`)
}

/** The crawled networks' parts of lines, one after the other, and per network where it lies, its class and query address. */
export interface CrawledLines {
  offset: Float64Array
  length: Uint32Array
  query: Uint32Array
  leaf: Uint8Array
}

/**
 * A table and its crawled networks' parts of lines, in one buffer (in memory, or read from a cache
 * file as needed): a line copies its network's part from there, without an object per network.
 */
export interface PreparedAnswers extends CrawledLines {
  table: AnswerTable
  /**
   * Makes crawled network `id`'s part of a line (id < table.crawledCount), its `leaf` and `query`
   * ready, once: its part is then bytes [offset[id], offset[id] + length[id]) of `lines()`.
   */
  need: (id: number) => void
  /** the buffer the parts are in; one made as needed grows: ask again after `need` */
  lines: () => Buffer
  close: () => Promise<void>
}

interface CacheHeader {
  cache: number
  version: string
  format: BulkFormat
  stamp: string
  crawledCount: number
  dumpBase: number[]
  segments: number
  blobBytes: number
}

/** Crawled networks' parts of lines appended one after the other to a buffer that grows. */
class LineBlob {
  readonly lines: CrawledLines
  blob: Buffer
  private pos = 0

  constructor (n: number, initialBytes: number, private readonly writer: LineWriter) {
    this.lines = { offset: new Float64Array(n), length: new Uint32Array(n), query: new Uint32Array(n), leaf: new Uint8Array(n) }
    this.blob = Buffer.allocUnsafe(Math.max(1 << 16, initialBytes))
  }

  append (id: number, r: NetworkRecord): void {
    const text = this.writer.fragmentText(r)
    if (this.pos + text.length * 3 > this.blob.length) {
      const next = Buffer.allocUnsafe(Math.max(this.blob.length * 2, this.pos + text.length * 3))
      this.blob.copy(next, 0, 0, this.pos)
      this.blob = next
    }
    const l = this.lines
    l.offset[id] = this.pos
    l.length[id] = this.blob.write(text, this.pos)
    l.query[id] = r.queryAddress
    l.leaf[id] = isLeaf(r.registry, r.type) ? 1 : 0
    this.pos += l.length[id]
  }

  get bytes (): number { return this.pos }
}

/** Formats every crawled network of a scanned store (LineWriter.fragment) into one buffer. */
export function prepareScanned (scanned: ScannedAnswers, writer: LineWriter): { prepared: PreparedAnswers, lines: CrawledLines, blob: Buffer } {
  const n = scanned.table.crawledCount
  const made = new LineBlob(n, n * 512, writer)
  for (let id = 0; id < n; id++) made.append(id, scanned.record(id))
  const blob = made.blob.subarray(0, made.bytes)
  const prepared: PreparedAnswers = { table: scanned.table, need: () => {}, lines: () => blob, ...made.lines, close: async () => {} }
  return { prepared, lines: made.lines, blob }
}

/**
 * A scanned store's answers, each network's part of a line made when an address first needs it:
 * for a store no cache can be kept for (no generation token), where making every line first would
 * be work for nothing.
 */
export function prepareLazily (scanned: ScannedAnswers, writer: LineWriter): PreparedAnswers {
  const n = scanned.table.crawledCount
  const done = new Uint8Array(n)
  const made = new LineBlob(n, 0, writer)
  return {
    table: scanned.table,
    need: id => {
      if (done[id] === 1) return
      made.append(id, scanned.record(id))
      done[id] = 1
    },
    lines: () => made.blob,
    ...made.lines,
    close: async () => {}
  }
}

/** the arrays of a cache file after its header, in order (each starts at a multiple of 8 bytes) */
function arraysOf (t: AnswerTableArrays, l: CrawledLines): Array<Uint8Array | Uint32Array | Float64Array> {
  return [l.offset, t.seg, t.dir, l.length, l.query, l.leaf]
}

/** the lines of the cache are read in pages of this size */
const PAGE_BYTES = 1 << 16

const pad8 = (n: number): number => (8 - (n % 8)) % 8

/** Writes the cache of `format` for the store content `stamp`, atomically; false when it cannot be written. */
export async function writeCache (dataDir: string, format: BulkFormat, stamp: string, table: AnswerTable, lines: CrawledLines, blob: Buffer): Promise<boolean> {
  const path = cachePath(dataDir, format)
  const tmp = `${path}.${process.pid}.tmp`
  let fh: FileHandle | undefined
  try {
    fh = await open(tmp, 'w', 0o600)
    const t = table.arrays
    const header: CacheHeader = { cache: CACHE_FORMAT, version: VERSION, format, stamp, crawledCount: t.crawledCount, dumpBase: t.dumpBase, segments: table.size, blobBytes: blob.length }
    const head = Buffer.from(JSON.stringify(header))
    const len = Buffer.alloc(4)
    len.writeUInt32LE(head.length)
    let pos = 0
    const write = async (b: Uint8Array): Promise<void> => {
      for (let off = 0; off < b.length;) {
        const { bytesWritten } = await (fh as FileHandle).write(b, off, b.length - off, pos)
        off += bytesWritten
        pos += bytesWritten
      }
    }
    await write(MAGIC)
    await write(len)
    await write(head)
    for (const a of arraysOf(t, lines)) {
      await write(Buffer.alloc(pad8(pos)))
      await write(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    }
    await write(blob)
    await fh.close()
    fh = undefined
    await rename(tmp, path)
    return true
  } catch {
    await fh?.close().catch(() => {})
    await rm(tmp, { force: true }).catch(() => {})
    return false
  }
}

/**
 * The prepared answers of the cache of `format`, when it was made for the content `stamp` by this
 * version; else undefined (no cache, another content, or a damaged file).
 */
export async function readCache (dataDir: string, format: BulkFormat, stamp: string): Promise<PreparedAnswers | undefined> {
  let fh: FileHandle
  try {
    fh = await open(cachePath(dataDir, format), 'r')
  } catch {
    return undefined
  }
  try {
    const fixed = Buffer.alloc(MAGIC.length + 4)
    await fh.read(fixed, 0, fixed.length, 0)
    if (!fixed.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a cache')
    const headLen = fixed.readUInt32LE(MAGIC.length)
    if (headLen > 1 << 20) throw new Error('not a cache')
    const head = Buffer.alloc(headLen)
    await fh.read(head, 0, headLen, fixed.length)
    const h = JSON.parse(head.toString('utf8')) as CacheHeader
    if (h.cache !== CACHE_FORMAT || h.version !== VERSION || h.format !== format || h.stamp !== stamp) throw new Error('another content')
    const c = h.crawledCount
    const s = h.segments
    const sizes: Array<[number, (new (b: ArrayBuffer, o: number, n: number) => any) & { BYTES_PER_ELEMENT: number }]> = [
      [c * 8, Float64Array], [s * SEG_WORDS * 4, Uint32Array], [(65536 + 1) * 4, Uint32Array], [c * 4, Uint32Array], [c * 4, Uint32Array], [c, Uint8Array]
    ]
    let at = fixed.length + headLen
    at += pad8(at)
    const begin = at
    const spans: number[] = []
    for (const [bytes] of sizes) {
      at += pad8(at)
      spans.push(at - begin)
      at += bytes
    }
    const blobAt = at
    if ((await stat(cachePath(dataDir, format))).size !== blobAt + h.blobBytes) throw new Error('cut short')
    const region = new ArrayBuffer(blobAt - begin)
    const view = new Uint8Array(region)
    for (let off = 0; off < view.length;) {
      const { bytesRead } = await fh.read(view, off, view.length - off, begin + off)
      if (bytesRead === 0) throw new Error('cut short')
      off += bytesRead
    }
    const arr = sizes.map(([bytes, Ctor], i) => new Ctor(region, spans[i], bytes / Ctor.BYTES_PER_ELEMENT))
    const [offset, seg, dir, length, query, leaf] = arr
    const table = new AnswerTable({ crawledCount: c, dumpBase: h.dumpBase, seg, dir })
    const fd = fh.fd
    const file = fh
    const path = cachePath(dataDir, format)
    // the lines, in one buffer as large as they are, filled a page at a time when an address first
    // needs one of its lines: a read per line cost a system call per network (0.5 s for the
    // 120,000 networks of 1M random addresses), and a buffer per page ~2,000 buffers the garbage
    // collector counted and went through; the memory of a page never read is never touched
    const lines = Buffer.allocUnsafeSlow(h.blobBytes)
    const loaded = new Uint8Array(Math.ceil(h.blobBytes / PAGE_BYTES))
    const load = (p: number): void => {
      const at = p * PAGE_BYTES
      const n = Math.min(PAGE_BYTES, h.blobBytes - at)
      for (let got = 0; got < n;) {
        const r = readSync(fd, lines, at + got, n - got, blobAt + at + got)
        if (r === 0) throw new Error(`${path} was cut short while in use`)
        got += r
      }
      loaded[p] = 1
    }
    return {
      table,
      need: id => {
        const from = offset[id]
        const to = from + length[id]
        for (let p = Math.floor(from / PAGE_BYTES); p * PAGE_BYTES < to; p++) if (loaded[p] === 0) load(p)
      },
      lines: () => lines,
      offset,
      length,
      leaf,
      query,
      close: async () => { await file.close() }
    }
  } catch {
    await fh.close()
    return undefined
  }
}
