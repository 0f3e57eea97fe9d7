/**
 * NetworkStore: one LevelDB per node holding the networks, negative results, failures and meta
 * counters (layout in keys.ts), plus in-memory indexes rebuilt at open that answer coverage and
 * digest questions without touching disk. Its options and their defaults are in options.ts.
 *
 * The reads (in-memory queries, digests, scans) are in store-reads.ts, which this class extends.
 *
 * Every write goes through `commit`, which writes one LevelDB batch (and `distrust`, distrust.ts). Commits are serialized, so
 * the read-compare-write of the pick rule (pick.ts) never interleaves; the in-memory indexes and
 * digests (memory-index.ts) are updated after the batch is written.
 */
import { resolve } from 'node:path'
import {
  InvalidRecordError, canonicalFailure, canonicalNegative, canonicalNetwork, checkAddress, checkJsonable, decodeValue,
  encodeRecord, encodeValue, isLeaf, type CanonicalFailure, type CanonicalNegative, type CanonicalNetwork
} from '../record/index.js'
import { negativeHash, networkHash, versionHash } from './digest.js'
import { StoreCorruptError, StoreOpenError } from './errors.js'
import { planFailures } from './failure-plan.js'
import type { CommitInput, CommitResult, ContestedRange } from './interface.js'
import { FAILURE_PREFIX, failureBounds, failureKey, metaKey, negativeKey, networkKey, parseAddressKey } from './keys.js'
import { MemoryIndex } from './memory-index.js'
import { BulkLayer } from '../bulk/layer.js'
import { StoreReads } from './store-reads.js'
import { compareNegatives, compareNetworks, decide, foldByKey } from './pick.js'
import { LevelStore, type BatchOp } from './level-db.js'
import { negativeValue, networkValue, type Framed } from './value-format.js'
import { STORE_SCHEMA_VERSION, isReadableSchema, schemaKey, unreadableSchemaReason } from './schema.js'
import { authoredBy, checkPeerIds, distrustedOp, holesOp, loadDistrusted, loadHoles, type DistrustResult } from './distrust.js'
import { RESOLVE_RULES, defaultNetworkStoreOptions, type NetworkStoreOptions } from './options.js'

const RESERVED_META_PREFIX = 'store.'

/** What a commit added to or changed in the index: networks' [start, end] and notes' addresses. */
export interface IndexedEvent {
  ranges: Array<[number, number]>
  addresses: number[]
  /**
   * Ranges whose sample addresses may have stopped being resolved (the listener re-checks the
   * ones it counted resolved):
   * - of `ranges`, the new containers inside a listed one: a sample address that a listing
   *   answered exactly (MemoryIndex.isListedAnswer) may not be exact any more — its most specific
   *   network is now this container, which nobody listed yet. It happens when the listed container
   *   arrives before its child (sync sends records in address order, gossip in any);
   * - the ranges of records the pick rule replaced (a note's as [address, address]): the winner
   *   need not answer what the record it replaced did — a leaf's copy that is not a leaf (a peer's
   *   copy with an earlier fetch time and another type), a "no network" note replaced by an
   *   'answered' one where no network is stored.
   */
  reopened: Array<[number, number]>
  /** the ranges of CommitResult.contested: a record lost to a stored copy that says otherwise */
  contested: ContestedRange[]
}

export class NetworkStore extends StoreReads {
  /** peers whose records this store refuses (distrust.ts) */
  private distrustedPeers = new Set<string>()
  private queue: Promise<unknown> = Promise.resolve()
  private readonly indexedListeners = new Set<(e: IndexedEvent) => void>()

  private constructor (db: LevelStore, dataDir: string, opts: Required<Omit<NetworkStoreOptions, 'dataDir'>>) {
    super(db, dataDir, opts)
  }

  /**
   * Opens (creating when missing) the store in `opts.dataDir` and rebuilds the in-memory indexes.
   * @throws StoreLockedError another process has it open
   * @throws StoreOpenError the path is not a usable directory (the message has the OS reason)
   * @throws StoreCorruptError the database is damaged
   */
  static async open (opts: NetworkStoreOptions): Promise<NetworkStore> {
    if (typeof opts?.dataDir !== 'string' || opts.dataDir === '') throw new InvalidRecordError('dataDir', 'expected a directory path')
    const dataDir = resolve(opts.dataDir)
    const full = { ...defaultNetworkStoreOptions, ...opts }
    const db = await LevelStore.open(dataDir, full.cacheSizeBytes)
    if (!RESOLVE_RULES.includes(full.resolve)) throw new InvalidRecordError('resolve', `expected one of ${RESOLVE_RULES.join(', ')}, got ${String(full.resolve)}`)
    const store = new NetworkStore(db, dataDir, { syncWrites: full.syncWrites, cacheSizeBytes: full.cacheSizeBytes, resolve: full.resolve })
    try {
      await store.checkSchema()
      await store.rebuild()
      store.bulk = await BulkLayer.open(dataDir)
    } catch (err) {
      await db.close().catch(() => {})
      throw err
    }
    return store
  }

  /**
   * Runs `fn` while holding the data directory's lock (LevelDB's), without opening the store
   * itself: no index is rebuilt. What writes beside the database (`bulk/`) uses it, so no node
   * starts on the directory meanwhile.
   * @throws StoreLockedError another process has it open
   */
  static async withLock<T> (dataDir: string, fn: () => Promise<T>): Promise<T> {
    const db = await LevelStore.open(resolve(dataDir), defaultNetworkStoreOptions.cacheSizeBytes)
    try {
      return await fn()
    } finally {
      await db.close()
    }
  }

  // ---------------------------------------------------------------- writes

  /**
   * Writes networks, negatives, failures and meta in one atomic LevelDB batch. Validates everything
   * first (InvalidRecordError: nothing written); records already canonical (from validation, or
   * this store's own results) are trusted as they are (record/canonical.ts). Upserts are idempotent; for a key that already holds
   * a different record the pick rule (pick.ts) decides which one stays.
   */
  async commit (input: CommitInput): Promise<CommitResult> {
    this.assertOpen()
    // a record a distrusted peer authored is dropped here, whoever brings it (distrust.ts)
    const trusted = (r: { author?: string }): boolean => r.author === undefined || !this.distrustedPeers.has(r.author)
    const networks = (input.networks ?? []).map((r, i) => canonicalNetwork(r, `networks[${i}]`)).filter(trusted)
    const negatives = (input.negatives ?? []).map((r, i) => canonicalNegative(r, `negatives[${i}]`)).filter(trusted)
    const failures = (input.failures ?? []).map((r, i) => canonicalFailure(r, `failures[${i}]`))
    const clearFailures = (input.clearFailures ?? []).map((a, i) => checkAddress(a, `clearFailures[${i}]`))
    const meta: Array<[string, unknown]> = []
    for (const [key, value] of Object.entries(input.meta ?? {})) {
      if (key === '' || key.startsWith(RESERVED_META_PREFIX)) throw new InvalidRecordError(`meta.${key}`, `meta keys must be non-empty and not start with "${RESERVED_META_PREFIX}"`)
      if (value !== undefined) checkJsonable(value, `meta.${key}`)
      meta.push([key, value === undefined ? undefined : JSON.parse(JSON.stringify(value))])
    }
    return await this.exclusive(async () => await this.applyCommit(networks, negatives, failures, clearFailures, meta))
  }

  private async applyCommit (
    networks: CanonicalNetwork[], negatives: CanonicalNegative[], failures: CanonicalFailure[], clearFailures: number[],
    meta: Array<[string, unknown]>
  ): Promise<CommitResult> {
    this.assertOpen()
    const result: CommitResult = {
      networks: { added: 0, changed: 0, unchanged: 0 },
      negatives: { added: 0, changed: 0, unchanged: 0 },
      failures: { written: 0, cleared: 0 },
      metaKeys: meta.length,
      accepted: { networks: [], negatives: [] },
      contested: []
    }
    const ops: BatchOp[] = []

    // fold duplicates inside the commit by the pick rule, then compare with what is stored
    const netWinners = foldByKey(networks, r => networkKey(r.start, r.end), compareNetworks, result.networks)
    const negWinners = foldByKey(negatives, r => negativeKey(r.address), compareNegatives, result.negatives)
    const [netStored, negStored] = await Promise.all([this.db.getMany(netWinners.map(w => w.key)), this.db.getMany(negWinners.map(w => w.key))])

    // a written record's hashes (digest.ts), and the identity hash of the record it replaces
    type Change<T> = { record: T, identity: Buffer, version: Buffer, replaced: Buffer | undefined }
    const netChanges: Array<Change<CanonicalNetwork>> = []
    netWinners.forEach((w, i) => {
      const stored = this.db.unframe(netStored[i])
      const d = decide(w, stored, bytes => canonicalNetwork(decodeValue(bytes), 'stored network'), compareNetworks, result.networks, this.dataDir)
      if (d.verdict === 'keep-stored') {
        if (stored !== undefined && networkSaysOtherwise(w.record, stored)) {
          result.contested.push({ kind: 'network', record: w.record, kept: d.stored, keptAuthor: d.stored.author, keptLeaf: stored.classified && stored.leaf })
        }
        return
      }
      // the same dispute seen the other way round: a copy saying otherwise replaces the stored
      // record by an earlier fetch time (not by a listing, which answers for its range itself)
      if (d.verdict === 'replace' && stored !== undefined && (w.record.listedSample ?? 0) === 0 && networkSaysOtherwise(w.record, stored)) {
        result.contested.push({ kind: 'network', record: d.stored, kept: w.record, keptAuthor: w.record.author, keptLeaf: isLeaf(w.record.registry, w.record.type), replaced: true })
      }
      const c = { record: w.record, identity: networkHash(w.record), version: versionHash(w.bytes), replaced: stored?.identity }
      ops.push({ type: 'put', key: w.key, value: networkValue(w.record, w.bytes, c) })
      netChanges.push(c)
      result.accepted.networks.push(w.record)
    })
    const negChanges: Array<Change<CanonicalNegative>> = []
    negWinners.forEach((w, i) => {
      const stored = this.db.unframe(negStored[i])
      const d = decide(w, stored, bytes => canonicalNegative(decodeValue(bytes), 'stored negative'), compareNegatives, result.negatives, this.dataDir)
      if (d.verdict === 'keep-stored') {
        if (stored !== undefined && !negativeHash(w.record).equals(stored.identity)) {
          result.contested.push({ kind: 'note', record: w.record, keptAuthor: d.stored.author })
        }
        return
      }
      if (d.verdict === 'replace' && stored !== undefined && !negativeHash(w.record).equals(stored.identity)) {
        result.contested.push({ kind: 'note', record: d.stored, keptAuthor: w.record.author, replaced: true })
      }
      const c = { record: w.record, identity: negativeHash(w.record), version: versionHash(w.bytes), replaced: stored?.identity }
      ops.push({ type: 'put', key: w.key, value: negativeValue(w.record, w.bytes, c) })
      negChanges.push(c)
      result.accepted.negatives.push(w.record)
    })

    const plan = planFailures({
      failures,
      clearFailures,
      stored: this.failureSet,
      isResolved: a => this.isResolved(a),
      networks: netWinners.map(w => w.record),
      negatives: negWinners.map(w => w.record.address)
    })
    for (const f of plan.writes.values()) ops.push({ type: 'put', key: failureKey(f.address), value: encodeRecord(f) })
    for (const a of plan.deletes) ops.push({ type: 'del', key: failureKey(a) })
    result.failures.written = plan.writes.size
    result.failures.cleared = [...plan.deletes].filter(a => this.failureSet.has(a)).length

    for (const [key, value] of meta) {
      ops.push(value === undefined ? { type: 'del', key: metaKey(key) } : { type: 'put', key: metaKey(key), value: encodeValue(value) })
    }

    // an older store is marked as this schema with its first write (format-3 headers may follow),
    // not at open: reading it leaves it readable by the version that wrote it
    const upgrade = ops.length > 0 && this.schemaOnDisk !== STORE_SCHEMA_VERSION
    if (upgrade) ops.push({ type: 'put', key: schemaKey(), value: encodeValue(STORE_SCHEMA_VERSION) })
    await this.db.batch(ops, this.opts.syncWrites)
    if (upgrade) this.schemaOnDisk = STORE_SCHEMA_VERSION

    // new containers inside a listed one, as the index stood before this commit (IndexedEvent.reopened)
    const reopened: Array<[number, number]> = []
    for (const c of this.indexedListeners.size > 0 ? netChanges : []) {
      if (c.replaced !== undefined || (!isLeaf(c.record.registry, c.record.type) && this.networkIndex.listedCoverage.covers(c.record.start))) reopened.push([c.record.start, c.record.end])
    }
    for (const c of this.indexedListeners.size > 0 ? negChanges : []) if (c.replaced !== undefined) reopened.push([c.record.address, c.record.address])
    for (const c of netChanges) this.memory.putNetwork(c.record, c.identity, c.version, c.replaced)
    for (const c of negChanges) this.memory.putNegative(c.record, c.identity, c.version, c.replaced)
    for (const a of plan.writes.keys()) this.failureSet.add(a)
    for (const a of plan.deletes) this.failureSet.delete(a)
    if (netChanges.length > 0) this.registryCoverageCache = undefined
    if (this.indexedListeners.size > 0) {
      const e: IndexedEvent = { ranges: [], addresses: [], reopened, contested: result.contested.map(contestedRange) }
      // replaced records too: a network that became a leaf, a note that changed kind, may resolve now
      for (const c of netChanges) e.ranges.push([c.record.start, c.record.end])
      for (const c of negChanges) e.addresses.push(c.record.address)
      if (e.ranges.length + e.addresses.length + e.contested.length > 0) for (const fn of this.indexedListeners) fn(e)
    }
    return result
  }

  /**
   * Distrusts `peers` (`undo`: trusts them again): stores the list, and deletes every network and
   * negative a newly distrusted peer authored in the same batch, keeping the deleted networks'
   * ranges as holes no listing answers in (MemoryIndex.setHoles); later commits drop records they
   * authored (distrust.ts). The in-memory indexes are rebuilt from disk, then `onIndexed` listeners
   * hear the deleted ranges and addresses as `reopened`: a sample address they resolved is open
   * again. Records of a peer trusted again come back only by gossip, sync or a new crawl.
   * @throws InvalidRecordError a peer id is malformed
   */
  async distrust (peers: readonly string[], undo = false): Promise<DistrustResult> {
    this.assertOpen()
    const given = checkPeerIds(peers)
    return await this.exclusive(async () => {
      this.assertOpen()
      const next = new Set(this.distrustedPeers)
      const added = new Set(given.filter(p => !next.has(p)))
      for (const p of given) if (undo) next.delete(p); else next.add(p)
      const dropped = undo ? { ops: [], ranges: [], addresses: [] } : await authoredBy(this.db, added)
      const holes = [...this.memory.openHoles(), ...dropped.ranges]
      await this.db.batch([distrustedOp(next), holesOp(holes), ...dropped.ops], this.opts.syncWrites)
      this.distrustedPeers = next
      if (dropped.ops.length > 0) {
        const memory = new MemoryIndex()
        await memory.load(this.db, this.dataDir)
        memory.setHoles(holes)
        this.memory = memory
        this.registryCoverageCache = undefined
        const e: IndexedEvent = { ranges: [], addresses: [], contested: [], reopened: [...dropped.ranges, ...dropped.addresses.map(a => [a, a] as [number, number])] }
        for (const fn of this.indexedListeners) fn(e)
      }
      return { distrusted: [...next].sort(), droppedNetworks: dropped.ranges.length, droppedNegatives: dropped.addresses.length }
    })
  }

  /** whether records authored by `peerId` are refused (`distrust`) */
  isDistrusted (peerId: string): boolean {
    return this.distrustedPeers.has(peerId)
  }

  /** the distrusted peers, sorted */
  distrusted (): string[] {
    return [...this.distrustedPeers].sort()
  }

  /**
   * Calls `fn` after every commit that added networks or negatives to the index (whoever
   * committed: the crawl, gossip, sync), with their ranges and addresses, before the commit
   * resolves — so what `isResolved` answers and what listeners were told never disagree. Returns
   * the unsubscribe function.
   */
  onIndexed (fn: (e: IndexedEvent) => void): () => void {
    this.indexedListeners.add(fn)
    return () => { this.indexedListeners.delete(fn) }
  }

  /** Waits for pending commits, then closes the database. Idempotent. */
  async close (): Promise<void> {
    if (this.closed) return
    await this.exclusive(async () => {
      this.closed = true
      await this.db.close()
      await this.bulk.close()
    })
  }

  // ---------------------------------------------------------------- internals

  /** runs `fn` after every earlier commit/close has finished */
  private async exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return await run
  }

  private async checkSchema (): Promise<void> {
    const [v] = await this.db.getMany([schemaKey()])
    if (v === undefined) {
      await this.db.put(schemaKey(), encodeValue(STORE_SCHEMA_VERSION))
      return
    }
    const version = this.db.decodeStored(v, decodeValue)
    if (!isReadableSchema(version)) throw new StoreOpenError(this.dataDir, unreadableSchemaReason(version, 'reads'))
    this.schemaOnDisk = version
  }

  /** the schema version the data directory says it holds (marked up to date by the first commit that writes) */
  private schemaOnDisk = STORE_SCHEMA_VERSION

  /**
   * The in-memory indexes from the stored networks and negatives (MemoryIndex.load), then the
   * failures: one whose address is resolved (left by a version before failure-plan.ts) is deleted.
   */
  private async rebuild (): Promise<void> {
    this.distrustedPeers = await loadDistrusted(this.db)
    await this.memory.load(this.db, this.dataDir)
    this.memory.setHoles(await loadHoles(this.db))
    const obsolete: BatchOp[] = []
    for await (const [k] of this.db.scan(failureBounds())) {
      const address = parseAddressKey(k, FAILURE_PREFIX)
      if (address === undefined) throw new StoreCorruptError(this.dataDir, `bad failure key ${k.toString('hex')}`)
      if (this.isResolved(address)) obsolete.push({ type: 'del', key: failureKey(address) })
      else this.failureSet.add(address)
    }
    await this.db.batch(obsolete, this.opts.syncWrites)
  }
}

/** the range a dispute is about, with both authors */
function contestedRange (c: CommitResult['contested'][number]): ContestedRange {
  const replaced = c.replaced === true ? { replaced: true as const } : {}
  if (c.kind === 'note') return { start: c.record.address, end: c.record.address, author: c.record.author, keptAuthor: c.keptAuthor, blocked: [c.record.address, c.record.address], ...replaced }
  const { start, end, queryAddress: q } = c.record
  const blocked: [number, number] | undefined = isLeaf(c.record.registry, c.record.type) && !c.keptLeaf ? [start, end] : q >= start && q <= end ? [q, q] : undefined
  return { start, end, author: c.record.author, keptAuthor: c.keptAuthor, blocked, ...replaced }
}

/** whether `record`, which lost the pick rule to `stored` (same key, other bytes), says otherwise than it: another identity or class */
function networkSaysOtherwise (record: CanonicalNetwork, stored: Framed): boolean {
  return !networkHash(record).equals(stored.identity) || (stored.classified && isLeaf(record.registry, record.type) !== stored.leaf)
}
