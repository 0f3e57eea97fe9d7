/**
 * The store's reads: what the in-memory indexes answer (coverage, resolution, digests) and what is
 * read from disk (records by range, scans, meta). NetworkStore (network-store.ts) adds the writes
 * and the opening; this half never changes anything, so it never needs the commit queue.
 */
import {
  canonicalFailure, canonicalNegative, canonicalNetwork, checkAddress, decodeValue, InvalidRecordError,
  type CanonicalFailure, type CanonicalNegative, type CanonicalNetwork
} from '../record/index.js'
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { StoreClosedError, StoreCorruptError } from './errors.js'
import type {
  AddressScanOptions, NetworkRange, NetworkScanOptions, RangeFingerprint, RegistryStats, StoreCounts, StoredItem
} from './interface.js'
import type { ClassCounts } from './interval-index.js'
import { failureBounds, metaKey, negativeBounds, networkBounds, networkKey } from './keys.js'
import { MemoryIndex } from './memory-index.js'
import type { LevelStore } from './level-db.js'
import { versionOf } from './value-format.js'
import type { NetworkStoreOptions } from './options.js'
import { BulkLayer } from '../bulk/layer.js'
import type { NetworkRecord } from '../record/index.js'
import type { AnswerMemo, MemoEntry } from './answer-memo.js'
import { answersOf, warmAnswers, type MemoView } from './memo-reads.js'

/** records kept in memory once read (recordsOf): a WHOIS or RDAP service reads the same parents for many addresses */
const RECENT_RECORDS = 65_536

export abstract class StoreReads {
  /** replaced whole when records are dropped (NetworkStore.distrust), so read through the getters below */
  protected memory = new MemoryIndex()
  protected get networkIndex (): MemoryIndex['networks'] { return this.memory.networks }
  protected get negativeIndex (): MemoryIndex['negatives'] { return this.memory.negatives }
  protected readonly failureSet = new Set<number>()
  /**
   * The registries' imported dumps (src/bulk): beside the index, never in it — not in digests,
   * sync or gossip. An address a dump answers is resolved exactly; the crawl never asks for it.
   */
  protected bulk = new BulkLayer()
  protected registryCoverageCache: number[] | undefined
  protected closed = false
  /** records read lately, by index id, with their version tag (recordsOf); for the index `recentFor` only */
  private readonly recent = new Map<number, { a: number, b: number, record: NetworkRecord }>()
  private recentFor: MemoryIndex | undefined

  protected constructor (protected readonly db: LevelStore, readonly dataDir: string, protected readonly opts: Required<Omit<NetworkStoreOptions, 'dataDir'>>) {}

  // ---------------------------------------------------------------- in-memory queries

  /** inside any known network (the union of all of them; networks may nest or overlap), crawled or imported */
  isCovered (address: number): boolean {
    return this.memory.isCovered(address) || this.bulk.answers(address)
  }

  /** resolved by the store's rule (NetworkStoreOptions.resolve): exact, or merely covered */
  isResolved (address: number): boolean {
    return this.memory.isResolved(address, this.opts.resolve) || this.bulk.answers(address)
  }

  /**
   * the registry's answer for `address` is known exactly, whatever the rule: by the crawled index
   * (MemoryIndex.isExact), or by a registry's imported dump (which lists every network it holds)
   */
  isExact (address: number): boolean {
    return this.memory.isExact(address) || this.bulk.answers(address)
  }

  /** whether an imported dump answers `address` (BulkLayer.answers) */
  isBulkAnswer (address: number): boolean {
    return this.bulk.answers(address)
  }

  /** the registry whose imported dump answers `address`, or undefined */
  bulkAnswerRegistry (address: number): RegistryId | undefined {
    return this.bulk.mostSpecific(address)?.snapshot.header.registry
  }

  /** the imported dumps' headers (src/bulk) */
  bulkHeaders (): ReturnType<BulkLayer['headers']> {
    return this.bulk.headers()
  }

  /** the imported dumps (src/bulk) this store reads beside its index */
  get bulkLayer (): BulkLayer {
    return this.bulk
  }

  /**
   * The range of the network that answers `address` as far as this node knows: the most specific
   * of the crawled index's and the imported dumps' (the smaller; the crawled one when both are
   * the same range): the first of `containing` (what `lookup` prints), from memory; what the
   * exact-answer judge compares.
   */
  answerRange (address: number): NetworkRange | undefined {
    const crawled = this.mostSpecificRange(address)
    const hit = this.bulk.mostSpecific(address)
    if (hit === undefined) return crawled
    const s = hit.snapshot.start(hit.row)
    const e = hit.snapshot.end(hit.row)
    if (crawled !== undefined && crawled.end - crawled.start <= e - s) return crawled
    return { start: s, end: e, registry: hit.snapshot.header.registry, leaf: hit.snapshot.isLeaf(hit.row) }
  }

  /** whether a note says no network holds exactly this address (unallocated or reserved) */
  hasNegative (address: number): boolean {
    return this.negativeIndex.hasNoNetwork(address)
  }

  /** whether a note says this address's answer is a stored container ('answered') */
  hasAnsweredNote (address: number): boolean {
    return this.negativeIndex.hasAnswered(address)
  }

  /** whether a failure record exists for this address */
  hasFailure (address: number): boolean {
    return this.failureSet.has(address)
  }

  /** range of the smallest network containing the address (ties: lower start), from memory */
  mostSpecificRange (address: number): NetworkRange | undefined {
    const id = this.networkIndex.mostSpecific(address)
    return id < 0 ? undefined : this.rangeOf(id)
  }

  /** ranges of all networks containing the address, most specific first, from memory */
  containingRanges (address: number): NetworkRange[] {
    return this.networkIndex.containing(address).map(id => this.rangeOf(id))
  }

  /** the smallest network containing the address; the range comes from memory, the record from disk */
  async mostSpecific (address: number): Promise<CanonicalNetwork | undefined> {
    const r = this.mostSpecificRange(address)
    if (r === undefined) return undefined
    return (await this.readNetworks([r]))[0]
  }

  /** the networks stored under these ranges (which the index holds: answerRange's), read from disk in one go */
  async networksAt (ranges: NetworkRange[]): Promise<CanonicalNetwork[]> {
    return await this.readNetworks(ranges)
  }

  /** whether the index holds a network of exactly [start, end] (memory only) */
  holdsRange (start: number, end: number): boolean {
    return this.networkIndex.find(start, end) >= 0
  }

  /** the network stored under exactly [start, end], read from disk */
  async network (start: number, end: number): Promise<CanonicalNetwork | undefined> {
    const x = this.networkIndex
    const id = x.find(start, end)
    return id < 0 ? undefined : (await this.readNetworks([this.rangeOf(id)]))[0]
  }

  /**
   * all networks containing the address, most specific first: the crawled index's and the
   * imported dumps' (source 'bulk'; a range both hold is given once, the crawled record)
   */
  async containing (address: number): Promise<NetworkRecord[]> {
    return (await this.containingMany([address]))[0]
  }

  /**
   * `containing` of many addresses at once (a bulk lookup, a WHOIS service's bulk mode): each
   * network is read once however many of the addresses it holds, the crawled ones in one read.
   */
  async containingMany (addresses: readonly number[]): Promise<NetworkRecord[][]> {
    // by index id: each crawled network read once
    const idsOf = addresses.map(a => this.networkIndex.containing(a))
    const crawled = await this.recordsOf([...new Set(idsOf.flat())])
    const imported = new Map<string, Promise<NetworkRecord>>()
    const rows = addresses.map((a, i) => {
      const mine = idsOf[i].map(id => crawled.get(id)!)
      const extra: Array<Promise<NetworkRecord>> = []
      for (const h of this.bulk.containing(a)) {
        // a range both hold is given once: the crawled record
        if (mine.some(r => r.start === h.snapshot.start(h.row) && r.end === h.snapshot.end(h.row))) continue
        const key = `${h.snapshot.header.registry}:${h.row}`
        let p = imported.get(key)
        if (p === undefined) { p = this.bulk.record(h); imported.set(key, p) }
        extra.push(p)
      }
      return { mine, extra }
    })
    return await Promise.all(rows.map(async ({ mine, extra }) => {
      if (extra.length === 0) return mine
      return [...mine, ...await Promise.all(extra)].sort((a, b) => (a.end - a.start) - (b.end - b.start))
    }))
  }

  /**
   * For each address, the entry `memo` keeps of its answer network (what `lookup` answers with),
   * or undefined where no network holds it; the networks not kept yet are read (memo-reads.ts).
   */
  async answersOf<T> (addresses: readonly number[], memo: AnswerMemo<T>): Promise<Array<MemoEntry<T> | undefined>> {
    this.assertOpen()
    return await answersOf(this.memoView, addresses, memo)
  }

  /** Makes `memo`'s entry of every stored network, by one scan (memo-reads.ts). */
  async warmAnswers<T> (memo: AnswerMemo<T>, signal?: AbortSignal, pause?: () => Promise<void>): Promise<{ made: number, complete: boolean }> {
    return await warmAnswers(this.memoView, memo, signal, pause)
  }

  /** what memo-reads.ts reads of this store, live (the index is replaced by a distrust) */
  private get memoView (): MemoView {
    const store = this
    return {
      get memory () { return store.memory },
      get bulk () { return store.bulk },
      get closed () { return store.closed },
      db: this.db,
      dataDir: this.dataDir
    }
  }

  /** size of the union of all networks */
  addressesCovered (): number {
    return this.networkIndex.coverage.size
  }

  /** records held; `negatives` counts every address note, 'answered' ones included (see noteCounts) */
  counts (): StoreCounts {
    return { networks: this.networkIndex.size, negatives: this.negativeIndex.size, failures: this.failureSet.size }
  }

  /** address notes by kind: no network there (unallocated, reserved), or answered by a stored container */
  noteCounts (): { noNetwork: number, answered: number } {
    return this.memory.noteCounts()
  }

  /** networks by class (record/classify.ts), from memory; `unclassified`: headers older than the class, until repair */
  classCounts (): ClassCounts {
    return this.networkIndex.classCounts()
  }

  /** network count and covered addresses (union of that registry's networks) per registry */
  registryStats (): Record<RegistryId, RegistryStats> {
    this.registryCoverageCache ??= this.networkIndex.registryCoverage()
    const counts = this.networkIndex.registryCounts()
    const covered = this.registryCoverageCache
    return Object.fromEntries(REGISTRY_IDS.map((r, i) => [r, { networks: counts[i], addressesCovered: covered[i] }])) as Record<RegistryId, RegistryStats>
  }

  // ---------------------------------------------------------------- digests (see digest.ts)

  /** fingerprint of every network's and negative's identity: equal for crawls of one world, however fetched */
  digest (): string {
    return this.memory.digest()
  }

  /** 256 identity fingerprints: index o covers networks starting in, and negatives at, o.0.0.0/8 */
  digestBySlashEight (): string[] {
    return this.memory.digestBySlashEight()
  }

  /**
   * Fingerprint and count of the records, byte for byte (version hashes), of the networks whose
   * start and the negatives whose address lies in [from, to]: what sync compares.
   */
  fingerprintRange (from: number, to: number): RangeFingerprint {
    checkAddress(from, 'from')
    checkAddress(to, 'to')
    if (from > to) throw new InvalidRecordError('to', `range end ${to} is before start ${from}`)
    return this.memory.fingerprintRange(from, to)
  }

  // ---------------------------------------------------------------- disk reads

  /** networks in key order (start, then end), optionally filtered */
  async * networks (opts: NetworkScanOptions = {}): AsyncGenerator<CanonicalNetwork> {
    this.assertOpen()
    for await (const [, v] of this.db.scan(networkBounds(opts.from, opts.to))) {
      const r = this.db.decodeFramed(v, b => canonicalNetwork(decodeValue(b), 'stored network'))
      if (opts.registry !== undefined && r.registry !== opts.registry) continue
      if (opts.since !== undefined && r.fetchedAt < opts.since) continue
      yield r
    }
  }

  /** negatives in address order */
  async * negatives (opts: AddressScanOptions = {}): AsyncGenerator<CanonicalNegative> {
    this.assertOpen()
    for await (const [, v] of this.db.scan(negativeBounds(opts.from, opts.to))) {
      yield this.db.decodeFramed(v, b => canonicalNegative(decodeValue(b), 'stored negative'))
    }
  }

  /**
   * The networks whose start lies in [from, to] (key order), then the negatives whose address does
   * (address order), each with its version hash: the items `fingerprintRange` sums.
   */
  async * items (from = 0, to = 0xffffffff): AsyncGenerator<StoredItem> {
    this.assertOpen()
    for await (const [, v] of this.db.scan(networkBounds(from, to))) {
      const f = this.db.unframe(v)
      yield { kind: 'n', record: this.db.decodeStored(f.body, b => canonicalNetwork(decodeValue(b), 'stored network')), version: versionOf(f) }
    }
    for await (const [, v] of this.db.scan(negativeBounds(from, to))) {
      const f = this.db.unframe(v)
      yield { kind: 'x', record: this.db.decodeStored(f.body, b => canonicalNegative(decodeValue(b), 'stored negative')), version: versionOf(f) }
    }
  }

  /** failures in address order */
  async * failures (opts: AddressScanOptions = {}): AsyncGenerator<CanonicalFailure> {
    this.assertOpen()
    for await (const [, v] of this.db.scan(failureBounds(opts.from, opts.to))) {
      yield this.db.decodeStored(v, b => canonicalFailure(decodeValue(b), 'stored failure'))
    }
  }

  async getMeta (key: string): Promise<unknown> {
    this.assertOpen()
    const [v] = await this.db.getMany([metaKey(key)])
    return v === undefined ? undefined : this.db.decodeStored(v, decodeValue)
  }

  // ---------------------------------------------------------------- internals

  protected rangeOf (id: number): NetworkRange {
    const x = this.networkIndex
    return { start: x.start(id), end: x.end(id), registry: REGISTRY_IDS[x.registryIndex(id)], leaf: x.isLeaf(id) }
  }

  /**
   * The records of these index ids: those read lately from memory (`recent`: checked against the
   * index's version, so a record replaced since is read again), the others in one read.
   */
  private async recordsOf (ids: number[]): Promise<Map<number, NetworkRecord>> {
    const out = new Map<number, NetworkRecord>()
    const missing: number[] = []
    // ids are the index's: a new index (after a distrust) numbers its networks anew
    if (this.recentFor !== this.memory) { this.recent.clear(); this.recentFor = this.memory }
    for (const id of ids) {
      const hit = this.recent.get(id)
      const [a, b] = this.networkIndex.versionTag(id)
      if (hit !== undefined && hit.a === a && hit.b === b) {
        // most recently used last: the first entries are the ones to drop
        this.recent.delete(id)
        this.recent.set(id, hit)
        out.set(id, hit.record)
      } else {
        missing.push(id)
      }
    }
    if (missing.length === 0) return out
    // the versions as the read starts: a commit that replaces a network while it runs changes them,
    // and a record read then is not kept (it may be the one before)
    const index = this.memory
    const before = missing.map(id => this.networkIndex.versionTag(id))
    const records = await this.readNetworks(missing.map(id => this.rangeOf(id)))
    const same = this.memory === index && this.recentFor === index
    missing.forEach((id, i) => {
      out.set(id, records[i])
      if (!same) return
      const [a, b] = this.networkIndex.versionTag(id)
      if (a !== before[i][0] || b !== before[i][1]) return
      this.recent.delete(id)
      this.recent.set(id, { a, b, record: records[i] })
    })
    for (const id of this.recent.keys()) {
      if (this.recent.size <= RECENT_RECORDS) break
      this.recent.delete(id)
    }
    return out
  }

  protected async readNetworks (ranges: NetworkRange[]): Promise<CanonicalNetwork[]> {
    this.assertOpen()
    const values = await this.db.getMany(ranges.map(r => networkKey(r.start, r.end)))
    return values.map((v, i) => {
      if (v === undefined) throw new StoreCorruptError(this.dataDir, `network ${ranges[i].start}-${ranges[i].end} is indexed but missing on disk`)
      return this.db.decodeFramed(v, b => canonicalNetwork(decodeValue(b), 'stored network'))
    })
  }

  protected assertOpen (): void {
    if (this.closed) throw new StoreClosedError(this.dataDir)
  }
}
