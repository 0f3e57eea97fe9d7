/**
 * Repair of a damaged store (`whoismesh repair --data DIR`; README "If the data directory is
 * damaged"):
 *
 * 1. refuses while another process (a running node) holds the database;
 * 2. runs LevelDB's own repair (classic-level `repair`), which rebuilds CURRENT and the MANIFEST
 *    from the table and log files it can read and moves the files it cannot read to `DIR/lost/`;
 * 3. checks every stored entry: records that do not decode, whose key does not match the record,
 *    or that sit outside the known buckets are deleted; the derived value headers (registry
 *    index, leaf bit, identity and version hashes, value-format.ts) are recomputed and rewritten
 *    where they differ — which also classifies the networks of a store written before leaves and
 *    containers (format 1 headers), stores the version hashes that format 1 and 2 headers lack
 *    (computed at every open until then), and upgrades its schema version;
 * 4. opens the store as a node would, which rebuilds the in-memory indexes and digests (and
 *    deletes failure records whose address is resolved).
 *
 * What was dropped is not resolved any more: the node looks it up again or gets it from a peer by
 * sync. The repair works in place; copy the directory first to keep the damaged original.
 */
import { readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Level } from 'level'
import { REGISTRY_IDS } from '../registry/interface.js'
import { canonicalFailure, canonicalNegative, canonicalNetwork, decodeValue, encodeValue } from '../record/index.js'
import { StoreLockedError, StoreOpenError } from './errors.js'
import { FAILURE_PREFIX, META_PREFIX, NEGATIVE_PREFIX, NETWORK_PREFIX, parseAddressKey, parseNetworkKey } from './keys.js'
import { generationOp, writeBatch, type BatchOp } from './level-db.js'
import { NetworkStore } from './network-store.js'
import { SCHEMA_META_KEY, STORE_SCHEMA_VERSION, isReadableSchema, schemaKey, unreadableSchemaReason } from './schema.js'
import { negativeValue, networkValue, unframeValue } from './value-format.js'

export interface RepairReport {
  dataDir: string
  /** entries kept, per bucket, after the repair */
  networks: number
  negatives: number
  failures: number
  /** entries deleted because they were unreadable or inconsistent */
  dropped: number
  /** entries whose derived header was rewritten */
  reframed: number
  /** files LevelDB could not read and moved to DIR/lost/ (their records are gone) */
  lostFiles: string[]
  /** digest of the repaired set (compare with a peer's) */
  digest: string
}

type Db = Level<Buffer, Buffer>
type RepairableLevel = typeof Level & { repair: (location: string) => Promise<void> }
const BATCH = 1000
const LEVELDB_FILE = /^(CURRENT|MANIFEST-\d+|\d+\.(ldb|sst|log))$/

export async function repairStore (opts: { dataDir: string }): Promise<RepairReport> {
  const dataDir = resolve(opts.dataDir)
  await checkRepairable(dataDir)
  await refuseIfLocked(dataDir)
  const lostBefore = new Set(await listLost(dataDir))
  try {
    await (Level as RepairableLevel).repair(dataDir)
  } catch (err) {
    throw new StoreOpenError(dataDir, `LevelDB repair failed: ${levelReason(err)}`, { cause: err })
  }
  const lostFiles = (await listLost(dataDir)).filter(f => !lostBefore.has(f))

  const db: Db = new Level<Buffer, Buffer>(dataDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  try {
    await db.open({ createIfMissing: false })
  } catch (err) {
    throw new StoreOpenError(dataDir, `still unreadable after LevelDB's repair: ${levelReason(err)}`, { cause: err })
  }
  let counts: { dropped: number, reframed: number }
  try {
    counts = await checkEntries(db, dataDir)
    // LevelDB's repair may have dropped records without a batch of ours: a new generation token
    await writeBatch(db, [generationOp()])
  } finally {
    await db.close()
  }

  const store = await NetworkStore.open({ dataDir })
  try {
    let failures = 0
    for await (const _ of store.failures()) failures++
    const c = store.counts()
    return { dataDir, networks: c.networks, negatives: c.negatives, failures, ...counts, lostFiles, digest: store.digest() }
  } finally {
    await store.close()
  }
}

async function checkRepairable (dataDir: string): Promise<void> {
  let names: string[]
  try {
    if (!(await stat(dataDir)).isDirectory()) throw new StoreOpenError(dataDir, 'the path exists but is not a directory')
    names = await readdir(dataDir)
  } catch (err) {
    if ((err as Error).name === 'StoreOpenError') throw err
    throw new StoreOpenError(dataDir, (err as Error).message, { cause: err })
  }
  if (!names.some(n => LEVELDB_FILE.test(n))) throw new StoreOpenError(dataDir, 'no LevelDB database in it: nothing to repair')
}

/** LevelDB takes its LOCK before it reads anything, so a locked database reports that first. */
async function refuseIfLocked (dataDir: string): Promise<void> {
  const probe: Db = new Level<Buffer, Buffer>(dataDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  try {
    await probe.open({ createIfMissing: false })
  } catch (err) {
    const e = err as { code?: string, cause?: { code?: string } }
    if (e?.code === 'LEVEL_LOCKED' || e?.cause?.code === 'LEVEL_LOCKED') {
      throw new StoreLockedError(dataDir, `${levelReason(err)}; stop the node before repairing its store`)
    }
    return
  }
  await probe.close()
}

async function listLost (dataDir: string): Promise<string[]> {
  try {
    return (await readdir(join(dataDir, 'lost'))).sort()
  } catch {
    return []
  }
}

function levelReason (err: unknown): string {
  const e = err as { message?: string, cause?: { message?: string } }
  return e?.cause?.message ?? e?.message ?? String(err)
}

/** Step 3: every entry is decoded and checked against its key; the derived headers are rebuilt. */
async function checkEntries (db: Db, dataDir: string): Promise<{ dropped: number, reframed: number }> {
  let dropped = 0
  let reframed = 0
  let schemaSeen = false
  let ops: BatchOp[] = []
  const flush = async (): Promise<void> => {
    await writeBatch(db, ops)
    ops = []
  }
  const it = db.iterator()
  try {
    for (;;) {
      const entries = await it.nextv(BATCH)
      if (entries.length === 0) break
      for (const [key, value] of entries) {
        const fixed = checkEntry(key, value)
        if (fixed === 'drop') { dropped++; ops.push({ type: 'del', key }); continue }
        if (fixed === 'schema') {
          schemaSeen = true
          let version: unknown
          try { version = decodeValue(value) } catch { version = undefined }
          if (version !== STORE_SCHEMA_VERSION) {
            // an undecodable version is damage, rewritten; a version this one does not know is refused
            if (typeof version === 'number' && !isReadableSchema(version)) throw new StoreOpenError(dataDir, unreadableSchemaReason(version, 'repairs'))
            ops.push({ type: 'put', key, value: encodeValue(STORE_SCHEMA_VERSION) })
            reframed++
          }
          continue
        }
        if (fixed !== undefined) { reframed++; ops.push({ type: 'put', key, value: fixed }) }
      }
      if (ops.length >= BATCH) await flush()
    }
  } finally {
    await it.close()
  }
  if (!schemaSeen) ops.push({ type: 'put', key: schemaKey(), value: encodeValue(STORE_SCHEMA_VERSION) })
  await flush()
  return { dropped, reframed }
}


/** undefined: the entry is sound; a Buffer: the value to write instead; 'drop': delete it */
function checkEntry (key: Buffer, value: Buffer): Buffer | 'drop' | 'schema' | undefined {
  try {
    switch (key[0]) {
      case NETWORK_PREFIX: {
        const range = parseNetworkKey(key)
        const body = unframeValue(value, REGISTRY_IDS.length)?.body ?? value
        const r = canonicalNetwork(decodeValue(body))
        if (range === undefined || r.start !== range.start || r.end !== range.end) return 'drop'
        const want = networkValue(r)
        return want.equals(value) ? undefined : want
      }
      case NEGATIVE_PREFIX: {
        const address = parseAddressKey(key, NEGATIVE_PREFIX)
        const body = unframeValue(value, REGISTRY_IDS.length)?.body ?? value
        const r = canonicalNegative(decodeValue(body))
        if (address === undefined || r.address !== address) return 'drop'
        const want = negativeValue(r)
        return want.equals(value) ? undefined : want
      }
      case FAILURE_PREFIX: {
        const address = parseAddressKey(key, FAILURE_PREFIX)
        const r = canonicalFailure(decodeValue(value))
        return address === undefined || r.address !== address ? 'drop' : undefined
      }
      case META_PREFIX: {
        if (key.subarray(1).toString('utf8') === SCHEMA_META_KEY) return 'schema'
        decodeValue(value)
        return undefined
      }
      default:
        return 'drop'
    }
  } catch {
    return 'drop'
  }
}
