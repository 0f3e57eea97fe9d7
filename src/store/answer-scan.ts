/**
 * A stopped node's data directory opened for `lookup -` (answer-table.ts): cheaply — the
 * database (its lock: StoreLockedError when a running node holds the directory), its schema, its
 * generation token and the imported dumps' headers, which together say what it holds (`stamp`,
 * against which `lookup -`'s cache is checked: src/report/bulk-cache.ts) — and, when asked, read:
 * one range scan of the networks and one of the notes, keys and value headers only (each network's
 * msgpack body is kept as bytes and decoded when needed), then the database is closed again, so a
 * node may start on the directory while the answers are written. Nothing else NetworkStore.open
 * rebuilds (digests, per-/16 buckets, coverage unions) is needed. What bounds the scan is LevelDB
 * itself: classic-level hands out every key and value as a Buffer of its own, about 5 µs an entry
 * on a 2-core VM (docs/bulk-lookup.md).
 *
 * It reads what NetworkStore.open reads, with the same checks: the schema, the holes, the imported
 * dumps (a damaged one left out).
 */
import { readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { canonicalNetwork, decodeValue, type CanonicalNetwork, type NetworkRecord } from '../record/index.js'
import { REGISTRY_IDS } from '../registry/interface.js'
import { BulkLayer } from '../bulk/layer.js'
import type { Snapshot } from '../bulk/snapshot.js'
import { AnswerTable, type AddressNotes, type CrawledNetworks } from './answer-table.js'
import { loadHoles } from './distrust.js'
import { StoreCorruptError, StoreOpenError } from './errors.js'
import { NEGATIVE_PREFIX, NETWORK_PREFIX, metaKey, negativeBounds, networkBounds } from './keys.js'
import { GENERATION_META_KEY, LevelStore } from './level-db.js'
import { defaultNetworkStoreOptions } from './options.js'
import { isReadableSchema, schemaKey, unreadableSchemaReason } from './schema.js'
import { PEEK_BIT7, PEEK_CLASSIFIED, PEEK_LISTED, peekFrame } from './value-format.js'

/** How many entries one LevelDB read returns: larger batches cost fewer round trips to the thread pool */
const BATCH = 4096

/** A data directory's answers: the table, and the records it names. */
export interface ScannedAnswers {
  table: AnswerTable
  /** the record of a table's network id (AnswerTable.net): decoded, or read from its dump's file */
  record: (id: number) => NetworkRecord
  counts: { networks: number, notes: number, dumpNetworks: number, segments: number }
  /** bytes held: the table's arrays, the networks' arrays and bodies */
  bytes: number
  /** ms reading the database, and building the table */
  scanMs: number
  buildMs: number
}

/** A stopped node's data directory, opened for its answers. */
export interface StoreAnswers {
  /**
   * What the directory holds, as text that changes with every write to the store (its generation
   * token, level-db.ts) and every import (the dumps' headers): what a copy of the answers kept
   * apart is checked against. Undefined for a store no write of this version marked yet.
   */
  stamp: string | undefined
  /**
   * Whether nothing was written since the store was last opened: LevelDB's logs were empty. Else a
   * version without the generation token may have written: a copy kept apart is not trusted.
   */
  unwritten: boolean
  /** the imported dumps, in the order they answer */
  dumps: Snapshot[]
  /** Reads the store (one scan of the networks, one of the notes) and builds its answer table. */
  scan: () => Promise<ScannedAnswers>
  /** Closes the database (a node may start on the directory); the dumps stay open. */
  release: () => Promise<void>
  close: () => Promise<void>
}

/**
 * Opens a stopped node's data directory for its answers (the database, its generation token, the
 * imported dumps): cheap; `scan` does the reading.
 * @throws StoreLockedError a running node holds the directory
 * @throws StoreOpenError, StoreCorruptError as NetworkStore.open
 */
export async function openAnswers (dataDir: string): Promise<StoreAnswers> {
  const dir = resolve(dataDir)
  const unwritten = await logsEmpty(dir)
  const db = await LevelStore.open(dir, defaultNetworkStoreOptions.cacheSizeBytes)
  let open = true
  let bulk: BulkLayer | undefined
  const release = async (): Promise<void> => {
    if (open) { open = false; await db.close() }
  }
  try {
    const [version, generation] = await db.getMany([schemaKey(), metaKey(GENERATION_META_KEY)])
    if (version !== undefined) {
      const v = db.decodeStored(version, decodeValue)
      if (!isReadableSchema(v)) throw new StoreOpenError(dir, unreadableSchemaReason(v, 'reads'))
    }
    bulk = await BulkLayer.open(dir)
    const layer = bulk
    const dumps = layer.snapshotsInOrder()
    const token = generation === undefined ? undefined : db.decodeStored(generation, decodeValue)
    const stamp = typeof token !== 'string'
      ? undefined
      : JSON.stringify({ generation: token, dumps: dumps.map(d => [d.header.registry, d.header.serial, d.header.takenAt, d.header.importedAt, d.size]) })
    return {
      stamp,
      unwritten,
      dumps,
      release,
      close: async () => { await release(); await layer.close() },
      scan: async () => {
        if (!open) throw new Error('the store was released before its scan')
        const t0 = performance.now()
        const holes = await loadHoles(db)
        const { networks, bodies } = await readNetworks(db, dir)
        const notes = await readNotes(db, dir)
        await release()
        const t1 = performance.now()
        const table = AnswerTable.build({ networks, notes, holes, dumps: dumps.map(s => s.table) })
        const t2 = performance.now()
        return {
          table,
          record: id => id < table.crawledCount ? bodies.record(id) : dumpRecord(dumps, table, id),
          counts: { networks: networks.count, notes: notes.count, dumpNetworks: dumps.reduce((n, s) => n + s.size, 0), segments: table.size },
          bytes: table.bytes + networks.count * 13 + bodies.bytes + notes.count * 5,
          scanMs: t1 - t0,
          buildMs: t2 - t1
        }
      }
    }
  } catch (err) {
    await bulk?.close()
    await release()
    throw err
  }
}

/** whether LevelDB's write-ahead logs in `dir` are empty: nothing was written since the last open */
async function logsEmpty (dir: string): Promise<boolean> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return false
  }
  for (const name of names) {
    if (!/^\d+\.log$/.test(name)) continue
    try {
      if ((await stat(join(dir, name))).size > 0) return false
    } catch {
      return false
    }
  }
  return true
}

export function dumpRecord (dumps: Snapshot[], table: AnswerTable, id: number): NetworkRecord {
  const { dump, row } = table.dumpRow(id)
  return dumps[dump].recordSync(row)
}

/** The networks' msgpack bodies in one buffer, decoded on demand. */
class Bodies {
  private arena = Buffer.allocUnsafe(1 << 20)
  private used = 0
  offset = new Uint32Array(1024)
  length = new Uint32Array(1024)

  constructor (private readonly dataDir: string) {}

  get bytes (): number { return this.used + this.offset.byteLength * 2 }

  add (id: number, value: Buffer, from: number): void {
    const len = value.length - from
    if (this.used + len > this.arena.length) {
      const next = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.used + len))
      this.arena.copy(next, 0, 0, this.used)
      this.arena = next
    }
    if (id >= this.offset.length) {
      this.offset = grow(this.offset)
      this.length = grow(this.length)
    }
    value.copy(this.arena, this.used, from)
    this.offset[id] = this.used
    this.length[id] = len
    this.used += len
  }

  record (id: number): CanonicalNetwork {
    return decodeNetwork(this.arena.subarray(this.offset[id], this.offset[id] + this.length[id]), this.dataDir)
  }
}

function decodeNetwork (body: Buffer, dataDir: string): CanonicalNetwork {
  try {
    return canonicalNetwork(decodeValue(body), 'stored network')
  } catch (err) {
    throw new StoreCorruptError(dataDir, `undecodable value: ${(err as Error).message}`, { cause: err })
  }
}

function grow<T extends Uint32Array | Uint8Array> (a: T): T {
  const next = new (a.constructor as new (n: number) => T)(a.length * 2)
  next.set(a)
  return next
}

/** The networks bucket in key order: ranges, class, listing, bodies. */
async function readNetworks (db: LevelStore, dataDir: string): Promise<{ networks: CrawledNetworks, bodies: Bodies }> {
  const nw: CrawledNetworks = { count: 0, start: new Uint32Array(1024), end: new Uint32Array(1024), indexLeaf: new Uint8Array(1024), listed: new Uint32Array(1024) }
  const bodies = new Bodies(dataDir)
  for await (const batch of db.scanBatches(networkBounds(), BATCH)) {
    for (const [k, v] of batch) {
      const bits = peekFrame(v, REGISTRY_IDS.length)
      if (k.length !== 9 || k[0] !== NETWORK_PREFIX) throw new StoreCorruptError(dataDir, `bad network key ${k.toString('hex')}`)
      if (bits < 0) throw new StoreCorruptError(dataDir, `value without a valid header (${v.subarray(0, 4).toString('hex')}…)`)
      const start = k.readUInt32BE(1)
      const end = k.readUInt32BE(5)
      if (start > end) throw new StoreCorruptError(dataDir, `bad network key ${k.toString('hex')}`)
      const id = nw.count++
      if (id === nw.start.length) {
        nw.start = grow(nw.start); nw.end = grow(nw.end); nw.indexLeaf = grow(nw.indexLeaf); nw.listed = grow(nw.listed)
      }
      nw.start[id] = start
      nw.end[id] = end
      // the in-memory index's class: a header older than the class reads as a container
      nw.indexLeaf[id] = (bits & PEEK_CLASSIFIED) !== 0 && (bits & PEEK_BIT7) !== 0 ? 1 : 0
      const bodyAt = bits & 0xff
      bodies.add(id, v, bodyAt)
      // a listed network's sample size is in its body: the few of them are decoded (as MemoryIndex.load)
      nw.listed[id] = (bits & PEEK_LISTED) !== 0 ? decodeNetwork(v.subarray(bodyAt), dataDir).listedSample ?? 0 : 0
    }
  }
  return { networks: nw, bodies }
}

/** The notes bucket: addresses and whether each is 'answered'. */
async function readNotes (db: LevelStore, dataDir: string): Promise<AddressNotes> {
  const notes: AddressNotes = { count: 0, address: new Uint32Array(1024), answered: new Uint8Array(1024) }
  for await (const batch of db.scanBatches(negativeBounds(), BATCH)) {
    for (const [k, v] of batch) {
      const bits = peekFrame(v, REGISTRY_IDS.length)
      if (k.length !== 5 || k[0] !== NEGATIVE_PREFIX) throw new StoreCorruptError(dataDir, `bad negative key ${k.toString('hex')}`)
      if (bits < 0) throw new StoreCorruptError(dataDir, `value without a valid header (${v.subarray(0, 4).toString('hex')}…)`)
      const id = notes.count++
      if (id === notes.address.length) {
        notes.address = grow(notes.address)
        notes.answered = grow(notes.answered)
      }
      notes.address[id] = k.readUInt32BE(1)
      // as MemoryIndex.load: the header's bit 7, false for a header older than it
      notes.answered[id] = (bits & PEEK_BIT7) !== 0 ? 1 : 0
    }
  }
  return notes
}
