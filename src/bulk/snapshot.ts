/**
 * One registry's imported dump, as a file in the data directory (`bulk/<registry>.snapshot`) and
 * in memory: the networks sorted by start (then larger first, so parents come before their
 * children), each row's parent, leaf flag and where its fields lie in the file.
 *
 * In memory only the typed arrays (21 bytes a network: RIPE NCC's 4.2 million objects are ~90 MB);
 * a network's fields (handle, name, org, …) are read from the file when a report needs them.
 * The file is written whole under a temporary name and renamed: a crash leaves the old one.
 *
 * Layout: `WMBULK1\n`, u32 header length, header JSON (SnapshotHeader), zero padding to 4 bytes,
 * then start u32[n], end u32[n], parent i32[n], detail offset u32[n], detail length u32[n],
 * flags u8[n] padded to 4 bytes, then the detail bytes (each row's fields joined by U+001F, UTF-8).
 */
import { readSync } from 'node:fs'
import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import { isLeaf, type NetworkRecord, type ParsedNetwork } from '../record/index.js'
import type { RegistryId } from '../registry/interface.js'
import { rangeToCidrs } from '../util/ipv4.js'
import { BulkSnapshotError } from './errors.js'

const MAGIC = Buffer.from('WMBULK1\n')
const SEP = '\u001f'
/** fields a row stores (BulkFields) */
const FIELDS = 8
const FLAG_LEAF = 1

/** What a snapshot says of itself. */
export interface SnapshotHeader {
  registry: RegistryId
  /** the registry's database serial the dump was taken at (its CURRENTSERIAL file); null when unknown */
  serial: number | null
  /** ms since epoch: when the registry took the dump (the file's date), as best known */
  takenAt: number
  /** ms since epoch: when this node imported it */
  importedAt: number
  /** the files read, by name, with their size */
  files: Array<{ name: string, bytes: number }>
  /** networks in the snapshot */
  networks: number
  /** objects read, skipped as bad, and whether a file was cut short */
  objects: number
  skipped: number
  truncated: boolean
}

/** The typed arrays and header of a snapshot, before it is written or after it is read. */
export interface SnapshotTable {
  header: SnapshotHeader
  start: Uint32Array
  end: Uint32Array
  parent: Int32Array
  detailOffset: Uint32Array
  detailLength: Uint32Array
  flags: Uint8Array
}

/** A network of the dump as imported: its fields without `source` and fetch details. */
export type BulkFields = Pick<ParsedNetwork, 'handle' | 'name' | 'org' | 'country' | 'type' | 'parentHandle' | 'registered' | 'lastChanged'>

export function encodeFields (n: BulkFields): Buffer {
  return Buffer.from(fieldsText(n), 'utf8')
}

/** The fields as the text a snapshot stores (before UTF-8): joined by U+001F, one inside a field made a space. */
export function fieldsText (n: BulkFields): string {
  const text = `${n.handle}${SEP}${n.name}${SEP}${n.org}${SEP}${n.country}${SEP}${n.type}${SEP}${n.parentHandle}${SEP}${n.registered}${SEP}${n.lastChanged}`
  let seps = 0
  for (let i = text.indexOf(SEP); i >= 0; i = text.indexOf(SEP, i + 1)) seps++
  if (seps === FIELDS - 1) return text
  return [n.handle, n.name, n.org, n.country, n.type, n.parentHandle, n.registered, n.lastChanged].map(s => s.replaceAll(SEP, ' ')).join(SEP)
}

function decodeFields (b: Buffer): BulkFields {
  const [handle = '', name = '', org = '', country = '', type = '', parentHandle = '', registered = '', lastChanged = ''] = b.toString('utf8').split(SEP)
  return { handle, name, org, country, type, parentHandle, registered, lastChanged }
}

/**
 * Sorts rows (start ascending, larger first), drops repeated ranges (the last read wins) and
 * links each row to the nearest earlier row that holds it whole.
 */
export function orderRows (start: Uint32Array, end: Uint32Array): { order: Uint32Array, parent: Int32Array } {
  const n = start.length
  const idx = new Uint32Array(n)
  for (let i = 0; i < n; i++) idx[i] = i
  // a stable sort on (start, -end): for equal ranges the later row comes last, and wins below
  idx.sort((a, b) => start[a] - start[b] || end[b] - end[a] || a - b)
  const kept: number[] = []
  for (let k = 0; k < n; k++) {
    const i = idx[k]
    const last = kept.length - 1
    if (last >= 0 && start[kept[last]] === start[i] && end[kept[last]] === end[i]) kept[last] = i
    else kept.push(i)
  }
  const order = Uint32Array.from(kept)
  const parent = new Int32Array(order.length)
  const stack: number[] = []
  for (let k = 0; k < order.length; k++) {
    const s = start[order[k]]
    const e = end[order[k]]
    while (stack.length > 0 && end[order[stack[stack.length - 1]]] < e) stack.pop()
    // what remains on the stack ends at or after e and starts at or before s: it holds the row
    parent[k] = stack.length > 0 ? stack[stack.length - 1] : -1
    stack.push(k)
  }
  return { order, parent }
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4

/** Writes `table` and the detail bytes (from `details`, a file of them) to `path` atomically. */
export async function writeSnapshot (path: string, table: SnapshotTable, details: { path: string, bytes: number }): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  const out = await open(tmp, 'w', 0o644)
  try {
    const head = Buffer.from(JSON.stringify(table.header), 'utf8')
    const len = Buffer.alloc(4)
    len.writeUInt32LE(head.length)
    let pos = 0
    const write = async (b: Uint8Array): Promise<void> => { await out.write(b, 0, b.length, pos); pos += b.length }
    await write(MAGIC)
    await write(len)
    await write(head)
    await write(Buffer.alloc(pad4(pos)))
    for (const a of [table.start, table.end, table.parent, table.detailOffset, table.detailLength]) await write(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    await write(table.flags)
    await write(Buffer.alloc(pad4(pos)))
    const src = await open(details.path, 'r')
    try {
      const buf = Buffer.allocUnsafe(1 << 20)
      for (let off = 0; off < details.bytes;) {
        const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, details.bytes - off), off)
        if (bytesRead === 0) throw new BulkSnapshotError(path, 'the detail file ended early')
        await write(buf.subarray(0, bytesRead))
        off += bytesRead
      }
    } finally {
      await src.close()
    }
    await out.sync()
  } catch (err) {
    await out.close().catch(() => {})
    await rm(tmp, { force: true })
    throw err
  }
  await out.close()
  await rename(tmp, path)
}

/** A snapshot read back: the arrays in memory, the details read from the file on demand. */
export class Snapshot {
  private constructor (readonly path: string, readonly table: SnapshotTable, private readonly fh: FileHandle, private readonly detailsAt: number) {}

  get header (): SnapshotHeader { return this.table.header }
  get size (): number { return this.table.start.length }

  static async open (path: string): Promise<Snapshot> {
    const fh = await open(path, 'r')
    try {
      const fixed = Buffer.alloc(12)
      await fh.read(fixed, 0, 12, 0)
      if (!fixed.subarray(0, 8).equals(MAGIC)) throw new BulkSnapshotError(path, 'not a whoismesh bulk snapshot')
      const headLen = fixed.readUInt32LE(8)
      const head = Buffer.alloc(headLen)
      await fh.read(head, 0, headLen, 12)
      const header = JSON.parse(head.toString('utf8')) as SnapshotHeader
      const n = header.networks
      let pos = 12 + headLen
      pos += pad4(pos)
      const arrays = Buffer.alloc(n * 20 + n + pad4(n))
      const { bytesRead } = await fh.read(arrays, 0, arrays.length, pos)
      if (bytesRead !== arrays.length) throw new BulkSnapshotError(path, 'cut short')
      const u32 = (k: number): Uint32Array => new Uint32Array(arrays.buffer, arrays.byteOffset + k * n * 4, n)
      const table: SnapshotTable = {
        header,
        start: u32(0),
        end: u32(1),
        parent: new Int32Array(arrays.buffer, arrays.byteOffset + 2 * n * 4, n),
        detailOffset: u32(3),
        detailLength: u32(4),
        flags: new Uint8Array(arrays.buffer, arrays.byteOffset + 5 * n * 4, n)
      }
      const detailsAt = pos + arrays.length
      // a parent comes before its child (mostSpecific walks up and must end), fields lie in the file
      let detailEnd = 0
      for (let i = 0; i < n; i++) {
        const p = table.parent[i]
        if (p < -1 || p >= i) throw new BulkSnapshotError(path, `row ${i} has parent ${p}`)
        detailEnd = Math.max(detailEnd, table.detailOffset[i] + table.detailLength[i])
      }
      if ((await fh.stat()).size < detailsAt + detailEnd) throw new BulkSnapshotError(path, 'cut short')
      return new Snapshot(path, table, fh, detailsAt)
    } catch (err: any) {
      await fh.close()
      if (err instanceof BulkSnapshotError) throw err
      throw new BulkSnapshotError(path, String(err?.message ?? err))
    }
  }

  /** The row of the most specific network holding `address`, or -1. */
  mostSpecific (address: number): number {
    const { start, end, parent } = this.table
    let lo = 0
    let hi = start.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (start[mid] <= address) lo = mid + 1
      else hi = mid
    }
    let i = lo - 1
    while (i >= 0 && end[i] < address) i = parent[i]
    return i
  }

  /** rows of the networks holding `address`, most specific first */
  containing (address: number): number[] {
    const out: number[] = []
    for (let i = this.mostSpecific(address); i >= 0; i = this.table.parent[i]) {
      if (this.table.end[i] >= address) out.push(i)
    }
    return out
  }

  start (row: number): number { return this.table.start[row] }
  end (row: number): number { return this.table.end[row] }
  isLeaf (row: number): boolean { return (this.table.flags[row] & FLAG_LEAF) !== 0 }

  /** the network of `row` as a record (source 'bulk', fetched when the registry took the dump) */
  async record (row: number): Promise<NetworkRecord> {
    const len = this.table.detailLength[row]
    const b = Buffer.alloc(len)
    await this.fh.read(b, 0, len, this.detailsAt + this.table.detailOffset[row])
    return this.toRecord(row, decodeFields(b))
  }

  /**
   * `record`, read synchronously: for a caller that asks for many rows one at a time between
   * other work (`lookup -`), where a read through the thread pool per row costs more than the read
   */
  recordSync (row: number): NetworkRecord {
    const len = this.table.detailLength[row]
    const b = Buffer.alloc(len)
    const at = this.detailsAt + this.table.detailOffset[row]
    for (let got = 0; got < len;) {
      const n = readSync(this.fh.fd, b, got, len - got, at + got)
      if (n === 0) throw new BulkSnapshotError(this.path, 'cut short')
      got += n
    }
    return this.toRecord(row, decodeFields(b))
  }

  /** every network in address order, in batches read sequentially */
  async * records (): AsyncGenerator<NetworkRecord> {
    const n = this.size
    for (let k = 0; k < n;) {
      const rows: number[] = []
      let from = Infinity
      let to = 0
      while (k < n && rows.length < 4096) {
        rows.push(k)
        from = Math.min(from, this.table.detailOffset[k])
        to = Math.max(to, this.table.detailOffset[k] + this.table.detailLength[k])
        k++
      }
      // rows sorted by address lie in the file in dump order: read the span they cover, or one by one
      if (to - from <= 16 << 20) {
        const b = Buffer.alloc(to - from)
        await this.fh.read(b, 0, b.length, this.detailsAt + from)
        for (const r of rows) {
          const o = this.table.detailOffset[r] - from
          yield this.toRecord(r, decodeFields(b.subarray(o, o + this.table.detailLength[r])))
        }
      } else {
        for (const r of rows) yield await this.record(r)
      }
    }
  }

  private toRecord (row: number, f: BulkFields): NetworkRecord {
    const start = this.table.start[row]
    const end = this.table.end[row]
    return {
      start,
      end,
      registry: this.header.registry,
      ...f,
      cidrs: rangeToCidrs(start, end),
      source: 'bulk',
      fetchedAt: this.header.takenAt,
      queryAddress: 0
    }
  }

  async close (): Promise<void> {
    await this.fh.close()
  }
}

/** The leaf flag of a network as the crawl's classification gives it (record/classify.ts). */
export function flagsOf (n: Pick<ParsedNetwork, 'registry' | 'type'>): number {
  return isLeaf(n.registry, n.type) ? FLAG_LEAF : 0
}
