/**
 * The store's LevelDB: opening it (with errors that say what is wrong with the directory),
 * batched reads and range scans, atomic batches, and the framed values (value-format.ts) —
 * every LevelDB error comes out as a store error (errors.ts).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import { REGISTRY_IDS } from '../registry/interface.js'
import { StoreCorruptError, StoreLockedError, StoreOpenError, StoreWriteError } from './errors.js'
import { unframeValue, type Framed } from './value-format.js'
import { metaKey } from './keys.js'
import { encodeValue } from '../record/codec.js'

const SCAN_BATCH = 1000

type Db = Level<Buffer, Buffer>
export type BatchOp = { type: 'put', key: Buffer, value: Buffer } | { type: 'del', key: Buffer }

/**
 * The meta key every write changes: a new random token in the same batch (`writeBatch`), so that
 * what was derived from a store's content and kept apart (`lookup -`'s cache, report/bulk-cache.ts)
 * knows whether the store changed since, without reading it.
 */
export const GENERATION_META_KEY = 'store.generation'

/** the put of a new generation token (see GENERATION_META_KEY) */
export function generationOp (): BatchOp {
  return { type: 'put', key: metaKey(GENERATION_META_KEY), value: encodeValue(randomBytes(8).toString('hex')) }
}

/** Writes `ops` to `db` in one atomic chained batch (see LevelStore.batch for why chained), with a new generation token. */
export async function writeBatch (db: Db, ops: readonly BatchOp[], sync = false): Promise<void> {
  if (ops.length === 0) return
  const batch = db.batch()
  try {
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value)
      else batch.del(op.key)
    }
    const g = generationOp() as { key: Buffer, value: Buffer }
    batch.put(g.key, g.value)
    await batch.write({ sync })
  } catch (err) {
    await batch.close().catch(() => {}) // a write closes it already; a put that threw left it open
    throw err
  }
}

/**
 * How many table files LevelDB keeps open, and how large it writes them. LevelDB maps every open
 * table file into memory (on 64-bit Linux, up to 1,000 of them), and a page it has read stays
 * resident — and counted in the process's RSS — until the table is closed. Opening a store reads
 * every value once (the in-memory index is rebuilt from them) and serving a sync reads them again,
 * so with LevelDB's defaults (1,000 files of 2 MiB) a node's RSS carried its whole store: 199 of
 * the 566 MB of a node holding the full sample's index in the nested world (docs/scaling.md).
 * 74 is LevelDB's floor (a table cache of 64 files, plus 10 for its own); with 1 MiB tables at
 * most ~64 MiB of them are mapped at once. A store written with larger files keeps them until
 * compaction rewrites them (at most 64 × 2 MiB mapped meanwhile).
 */
const MAX_OPEN_FILES = 74
const MAX_FILE_SIZE = 1024 * 1024

export class LevelStore {
  private constructor (private readonly db: Db, readonly dataDir: string) {}

  /**
   * Opens (creating when missing) the LevelDB in `dataDir` (an absolute path).
   * @throws StoreLockedError another process has it open
   * @throws StoreOpenError the path is not a usable directory (the message has the OS reason)
   * @throws StoreCorruptError the database is damaged
   */
  static async open (dataDir: string, cacheSizeBytes: number): Promise<LevelStore> {
    await checkDirectory(dataDir)
    const db = new Level<Buffer, Buffer>(dataDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    try {
      await db.open({ createIfMissing: true, cacheSize: cacheSizeBytes, maxOpenFiles: MAX_OPEN_FILES, maxFileSize: MAX_FILE_SIZE } as Parameters<Db['open']>[0])
    } catch (err) {
      throw await classifyOpenError(err, dataDir)
    }
    return new LevelStore(db, dataDir)
  }

  /**
   * Writes `ops` in one atomic batch; an I/O error (disk full, …) is a StoreWriteError. Built as a
   * chained batch: abstract-level's array form copies the options object (`sync`) into every
   * operation and re-checks each in JavaScript — 10–16 µs per put against 1.6–2.0 µs chained
   * (scripts/bench-batch.ts, 2026-12-06, 2-core Xeon; 3.5 µs without the options) — and was a
   * third of a late joiner's CPU while it synced 3M records.
   */
  async batch (ops: BatchOp[], sync: boolean): Promise<void> {
    try {
      await writeBatch(this.db, ops, sync)
    } catch (err) {
      throw this.wrapDbError(err, true)
    }
  }

  async put (key: Buffer, value: Buffer): Promise<void> {
    try {
      await writeBatch(this.db, [{ type: 'put', key, value }])
    } catch (err) {
      throw this.wrapDbError(err, true)
    }
  }

  async close (): Promise<void> {
    await this.db.close()
  }

  async getMany (keys: Buffer[]): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return []
    try {
      return await this.db.getMany(keys) as Array<Buffer | undefined>
    } catch (err) {
      throw this.wrapDbError(err)
    }
  }

  /** key/value pairs of a range, read in batches */
  async * scan (range: { gte: Buffer, lte: Buffer }): AsyncGenerator<[Buffer, Buffer]> {
    for await (const entries of this.scanBatches(range)) yield * entries
  }

  /** key/value pairs of a range, a batch of up to `size` at a time (what `scan` yields one by one) */
  async * scanBatches (range: { gte: Buffer, lte: Buffer }, size = SCAN_BATCH): AsyncGenerator<Array<[Buffer, Buffer]>> {
    const it = this.db.iterator(range)
    try {
      for (;;) {
        let entries: Array<[Buffer, Buffer]>
        try {
          entries = await it.nextv(size)
        } catch (err) {
          throw this.wrapDbError(err)
        }
        if (entries.length === 0) return
        yield entries
      }
    } finally {
      await it.close()
    }
  }

  /** header of a stored network/negative value; StoreCorruptError when it has none */
  unframe (v: Buffer): Framed
  unframe (v: Buffer | undefined): Framed | undefined
  unframe (v: Buffer | undefined): Framed | undefined {
    if (v === undefined) return undefined
    const f = unframeValue(v, REGISTRY_IDS.length)
    if (f === undefined) throw new StoreCorruptError(this.dataDir, `value without a valid header (${v.subarray(0, 4).toString('hex')}…)`)
    return f
  }

  decodeFramed<T> (v: Buffer, decode: (b: Buffer) => T): T {
    return this.decodeStored(this.unframe(v).body, decode)
  }

  decodeStored<T> (bytes: Buffer, decode: (b: Buffer) => T): T {
    try {
      return decode(bytes)
    } catch (err) {
      throw new StoreCorruptError(this.dataDir, `undecodable value: ${(err as Error).message}`, { cause: err })
    }
  }

  /** LevelDB's error as a store error; with `writing`, an I/O error (disk full, …) is a StoreWriteError */
  wrapDbError (err: unknown, writing = false): Error {
    const e = err as { code?: string, cause?: { code?: string, message?: string }, message?: string }
    if (e?.code === 'LEVEL_CORRUPTION' || e?.cause?.code === 'LEVEL_CORRUPTION') {
      return new StoreCorruptError(this.dataDir, e.cause?.message ?? e.message ?? String(err), { cause: err })
    }
    if (writing && (e?.code === 'LEVEL_IO_ERROR' || e?.cause?.code === 'LEVEL_IO_ERROR')) {
      return new StoreWriteError(this.dataDir, e.cause?.message ?? e.message ?? String(err), { cause: err })
    }
    return err instanceof Error ? err : new Error(String(err))
  }
}

/** Rejects a data dir that exists but is not a directory, and a LevelDB that lost its CURRENT file. */
async function checkDirectory (dataDir: string): Promise<void> {
  let isDir: boolean
  try {
    isDir = (await stat(dataDir)).isDirectory()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') throw new StoreOpenError(dataDir, (err as Error).message, { cause: err })
    // create it here rather than in LevelDB, whose own mkdir gives unclear errors (and spins on /proc);
    // 0700: the index, the node key and the control token are this user's alone
    try {
      await mkdir(dataDir, { recursive: true, mode: 0o700 })
    } catch (mkdirErr) {
      throw new StoreOpenError(dataDir, `cannot create it: ${(await mkdirReason(dataDir, mkdirErr)).message}`, { cause: mkdirErr })
    }
    return
  }
  if (!isDir) throw new StoreOpenError(dataDir, 'the path exists but is not a directory')
  let names: string[]
  try {
    names = await readdir(dataDir)
  } catch (err) {
    throw new StoreOpenError(dataDir, (err as Error).message, { cause: err })
  }
  // without CURRENT, LevelDB would create a fresh database and delete the old tables
  if (!names.includes('CURRENT') && names.some(n => /^MANIFEST-\d+$/.test(n) || /\.(ldb|sst)$/.test(n))) {
    throw new StoreCorruptError(dataDir, 'LevelDB files present but CURRENT is missing')
  }
}

/**
 * A recursive mkdir reports ENOENT when the parent exists but cannot take a new entry (read-only
 * file system): a plain mkdir of the last component then gives the real reason (EROFS, EACCES, …).
 */
async function mkdirReason (dataDir: string, err: unknown): Promise<Error> {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return err as Error
  try {
    await mkdir(dataDir)
  } catch (plainErr) {
    if ((plainErr as NodeJS.ErrnoException).code !== 'ENOENT') return plainErr as Error
  }
  return err as Error
}

async function classifyOpenError (err: unknown, dataDir: string): Promise<Error> {
  const e = err as { code?: string, message?: string, cause?: { code?: string, message?: string } }
  const cause = e?.cause ?? e
  const code = cause?.code
  const reason = cause?.message ?? String(err)
  if (code === 'LEVEL_LOCKED') return new StoreLockedError(dataDir, reason)
  if (code === 'LEVEL_CORRUPTION') return new StoreCorruptError(dataDir, reason, { cause: err })
  if (code === 'LEVEL_IO_ERROR' && await currentIsBroken(dataDir)) {
    return new StoreCorruptError(dataDir, `CURRENT does not name a readable MANIFEST (${reason})`, { cause: err })
  }
  return new StoreOpenError(dataDir, reason, { cause: err })
}

async function currentIsBroken (dataDir: string): Promise<boolean> {
  let current: string
  try {
    current = await readFile(join(dataDir, 'CURRENT'), 'latin1')
  } catch {
    return false
  }
  const m = /^(MANIFEST-\d+)\n$/.exec(current)
  if (m === null) return true
  try {
    return !(await stat(join(dataDir, m[1]))).isFile()
  } catch {
    return true
  }
}
