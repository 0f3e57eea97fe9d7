/**
 * What a bulk service keeps of each network it answers with (the WHOIS service's bulk mode: its
 * cells of a line), so that an address costs a walk of the in-memory index and no read: a value
 * made once from the network's record by `make`, kept by the network's index id with the version
 * the record had (the index's version tag, interval-index.ts), and made again when a commit
 * replaced the record since. The store fills it (StoreReads.answersOf): as addresses need it, and
 * once for every stored network by a scan (StoreReads.warmAnswers). An index rebuilt by a distrust
 * numbers its networks anew: the memo starts over (`useIndex`). The imported dumps' rows are kept
 * too, up to `maxDumpRows` (a registry's dump holds millions), and never change while imported.
 *
 * With each value the memo keeps what `lookup`'s exactness rule needs of the record
 * (report/lookup.ts): whether it is a leaf by its class, and its query address.
 */
import { isLeaf, type NetworkRecord } from '../record/index.js'
import { grow } from '../util/grow.js'

export interface MemoEntry<T> {
  value: T
  /** a leaf by its class (record/classify.ts) */
  leaf: boolean
  /** the address the registry was asked about (NetworkRecord.queryAddress) */
  queryAddress: number
}

export class AnswerMemo<T> {
  /** by crawled index id */
  private entries: Array<MemoEntry<T> | undefined> = []
  /** two words per id: the version tag the entry was made at */
  private tags = new Uint32Array(0)
  /** the index the ids are of (MemoryIndex); another one resets the memo */
  private index: unknown
  /** times the memo started over on another index (a distrust rebuilt the store's) */
  resets = 0
  private readonly dumped = new Map<string, MemoEntry<T>>()

  constructor (private readonly make: (r: NetworkRecord) => T, private readonly maxDumpRows = 1 << 16) {}

  private held = 0

  /** crawled networks held */
  get size (): number { return this.held }

  /** starts over when `index` is not the one the entries are of */
  useIndex (index: unknown): void {
    if (this.index === index) return
    if (this.index !== undefined) this.resets++
    this.index = index
    this.entries = []
    this.held = 0
    this.tags = new Uint32Array(0)
    this.dumped.clear()
  }

  /** the entry of a crawled network, when it was made at this version */
  get (id: number, tagA: number, tagB: number): MemoEntry<T> | undefined {
    const e = this.entries[id]
    return e !== undefined && this.tags[2 * id] === tagA && this.tags[2 * id + 1] === tagB ? e : undefined
  }

  /** makes the entry of a record; kept (for index `index`) when its version is `tagA`/`tagB` */
  set (index: unknown, id: number, tagA: number, tagB: number, r: NetworkRecord): MemoEntry<T> {
    const e = this.entryOf(r)
    if (index !== this.index) return e
    // grown by pushes, never by a write past the end: a sparse array falls back to a dictionary
    while (this.entries.length <= id) this.entries.push(undefined)
    this.tags = grow(this.tags, 2 * (id + 1))
    if (this.entries[id] === undefined) this.held++
    this.entries[id] = e
    this.tags[2 * id] = tagA
    this.tags[2 * id + 1] = tagB
    return e
  }

  /** the entry of an imported dump's row (`key`: its registry and row), if kept */
  getDumped (key: string): MemoEntry<T> | undefined {
    return this.dumped.get(key)
  }

  setDumped (key: string, r: NetworkRecord): MemoEntry<T> {
    const e = this.entryOf(r)
    if (this.dumped.size >= this.maxDumpRows) this.dumped.clear()
    this.dumped.set(key, e)
    return e
  }

  private entryOf (r: NetworkRecord): MemoEntry<T> {
    return { value: this.make(r), leaf: isLeaf(r.registry, r.type), queryAddress: r.queryAddress }
  }
}
