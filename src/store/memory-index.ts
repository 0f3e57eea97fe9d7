/**
 * The store's in-memory state, rebuilt at open and kept in step with every commit: the network and
 * negative indexes (interval-index.ts, negative-index.ts), which hold each item's version hash, and
 * the two set digests (digest.ts):
 * - the version sums per /16, /8 and in all, for `fingerprintRange` (what sync compares);
 * - the identity sums per /8 and in all, for `digest()` and `digestBySlashEight()`.
 *
 * An item's identity hash is not kept in memory (it would be 32 more bytes per network): at open it
 * comes from the value header, at a commit from the record, and a replace subtracts the replaced
 * record's identity hash, which the commit has read from the stored value's header.
 */
import type { NegativeRecord, NetworkRecord } from '../record/index.js'
import { canonicalNetwork, decodeValue, isLeaf } from '../record/index.js'
import { inSampleSlice, isSampleAddress } from '../sample/index.js'
import { DigestAccumulator, HASH_BYTES, SlashEightDigest, addHash, fingerprint } from './digest.js'
import type { RangeFingerprint } from './interface.js'
import { NetworkIndex, type NetworkClassFlags } from './interval-index.js'
import { NegativeIndex } from './negative-index.js'
import { SLASH16 } from './sorted-array.js'
import { SortedRanges } from './sorted-ranges.js'
import { registryIndexOf, versionOf } from './value-format.js'
import { StoreCorruptError } from './errors.js'
import { NEGATIVE_PREFIX, negativeBounds, networkBounds, parseAddressKey, parseNetworkKey } from './keys.js'
import type { LevelStore } from './level-db.js'

export class MemoryIndex {
  readonly networks = new NetworkIndex()
  readonly negatives = new NegativeIndex()
  private readonly versions = new DigestAccumulator()
  private readonly identities = new SlashEightDigest()

  /**
   * Fills the indexes from the store's networks and negatives at open: one range scan per bucket,
   * reading keys and value headers only (value-format.ts): no record is decoded or classified, and
   * none hashed but those of a format older than the version hash.
   */
  async load (db: LevelStore, dataDir: string): Promise<void> {
    for await (const [k, v] of db.scan(networkBounds())) {
      const range = parseNetworkKey(k)
      if (range === undefined || range.start > range.end) throw new StoreCorruptError(dataDir, `bad network key ${k.toString('hex')}`)
      const f = db.unframe(v)
      const id = this.addNetwork(range.start, range.end, f.registryIndex, f, f.identity, versionOf(f))
      // a listed network's sample size is in its body: the few of them are decoded
      if (f.listed) this.networks.setListed(id, db.decodeStored(f.body, b => canonicalNetwork(decodeValue(b), 'stored network')).listedSample ?? 0)
    }
    for await (const [k, v] of db.scan(negativeBounds())) {
      const address = parseAddressKey(k, NEGATIVE_PREFIX)
      if (address === undefined) throw new StoreCorruptError(dataDir, `bad negative key ${k.toString('hex')}`)
      const f = db.unframe(v)
      this.addNegative(address, f.identity, versionOf(f), f.leaf)
    }
  }

  /** inside any known network */
  isCovered (address: number): boolean {
    return this.networks.coverage.covers(address)
  }

  /**
   * The registry's answer for `address` is known exactly: it lies in a leaf (which policy does not
   * subdivide), or has a note of its own (unallocated, reserved, or 'answered' by a stored
   * container), or it is a sample address a complete listing of its most specific stored network
   * vouches for (`isListedAnswer`). Two memory lookups, a third inside a listed network.
   */
  isExact (address: number): boolean {
    if (this.inLeaf(address)) return true
    // one lookup of the address's note: "no network here" answers; an 'answered' one, see answeredHolds
    const note = this.negatives.find(address)
    if (note >= 0) return !this.negatives.isAnswered(note) || this.answeredHolds(address)
    return this.isListedAnswer(address)
  }

  /**
   * An 'answered' note says the address's answer is a stored container: it holds while one is
   * stored there, and not inside a hole (a network a distrusted peer authored, deleted: the note
   * may be about the real network it had replaced, which is asked again).
   */
  private answeredHolds (address: number): boolean {
    return this.networks.coverage.covers(address) && !this.inHole(address)
  }

  /**
   * The most specific stored network holding `address` was listed completely for a sample holding
   * it (NetworkRecord.listedSample): every child holding such an address is stored, and none is
   * more specific here, so the registry answers the address with that network itself.
   */
  isListedAnswer (address: number): boolean {
    if (!this.networks.listedCoverage.covers(address) || !isSampleAddress(address)) return false
    const n = this.networks.listedSample(this.networks.mostSpecific(address))
    return n > 0 && inSampleSlice(address, n) && !this.inHole(address)
  }

  /**
   * Ranges of networks deleted because a distrusted peer authored them (store/distrust.ts). Such a
   * network may have been a copy standing in place of the real one (an earlier fetch time wins the
   * pick rule), and a listing of its parent or an 'answered' note inside it may be about the real
   * one, now gone. So where the most specific stored network holds a whole hole, no listing or note
   * answers inside the hole until a network with the hole's very range is stored again (the real
   * one, asked again); where a network inside the hole is the most specific, its answers stand (the
   * deleted one was larger than what they are about). An address outside every hole costs one
   * binary search however many a liar left (sorted-ranges.ts).
   */
  private readonly holes = new SortedRanges()
  /**
   * Ranges of leaves whose record a commit replaced by a container's (the same key, another type:
   * a registry reclassified it, or a peer's copy with an earlier fetch time won the pick rule).
   * The leaf union only grows (interval-index.ts), so inside these ranges `isExact` asks whether a
   * leaf really holds the address. Empty after every open (the union is rebuilt from the records).
   */
  private readonly demotedLeaves = new SortedRanges()

  setHoles (holes: ReadonlyArray<readonly [number, number]>): void {
    this.holes.set(holes)
  }

  /** the holes no network fills again yet (what to keep) */
  openHoles (): Array<[number, number]> {
    return this.holes.list().filter(([s, e]) => this.networks.find(s, e) < 0).map(([s, e]) => [s, e])
  }

  /** whether a listing's or note's answer at `address` may be about a network deleted as a distrusted peer's */
  private inHole (address: number): boolean {
    if (!this.holes.some(address, () => true)) return false
    // no network there: as if the whole space held the hole
    const id = this.networks.mostSpecific(address)
    const s = id < 0 ? -1 : this.networks.start(id)
    const e = id < 0 ? 2 ** 32 : this.networks.end(id)
    return this.holes.some(address, (hs, he) => s <= hs && he <= e && this.networks.find(hs, he) < 0)
  }

  /** inside a stored leaf (the union of the leaves, checked where a leaf's record became a container's) */
  private inLeaf (address: number): boolean {
    if (!this.networks.leafCoverage.covers(address)) return false
    if (!this.demotedLeaves.some(address, () => true)) return true
    return this.networks.containing(address).some(id => this.networks.isLeaf(id))
  }

  /** resolved by `rule`: exact, or (covered) inside any known network or noted */
  isResolved (address: number, rule: 'exact' | 'covered'): boolean {
    return rule === 'covered' ? this.isCovered(address) || this.negatives.has(address) : this.isExact(address)
  }

  /** address notes by kind: no network there (unallocated, reserved), or answered by a stored container */
  noteCounts (): { noNetwork: number, answered: number } {
    const answered = this.negatives.answeredSize
    return { noNetwork: this.negatives.size - answered, answered }
  }

  /** a network whose key the index does not hold yet (open, or a commit's new key); returns its id */
  addNetwork (start: number, end: number, registryIndex: number, cls: NetworkClassFlags, identity: Uint8Array, version: Uint8Array): number {
    const id = this.networks.add(start, end, registryIndex, version, cls)
    this.versions.add(start, version)
    this.identities.add(start, identity)
    return id
  }

  /**
   * A network a commit wrote: new (`replaced` undefined), or replacing the record stored under its
   * key, whose identity hash `replaced` is.
   */
  putNetwork (record: NetworkRecord, identity: Uint8Array, version: Uint8Array, replaced: Uint8Array | undefined): void {
    const registry = registryIndexOf(record.registry)
    const cls = { leaf: isLeaf(record.registry, record.type), classified: true }
    const id = replaced === undefined ? -1 : this.networks.find(record.start, record.end)
    if (id < 0) {
      this.networks.setListed(this.addNetwork(record.start, record.end, registry, cls, identity, version), record.listedSample ?? 0)
      return
    }
    this.versions.replace(record.start, this.networks.hashes, id * HASH_BYTES, version, 0)
    this.identities.replace(record.start, replaced as Uint8Array, 0, identity, 0)
    this.networks.setHash(id, version)
    if (this.networks.isLeaf(id) && !cls.leaf) this.demotedLeaves.add(record.start, record.end)
    this.networks.setClass(id, cls)
    this.networks.setListed(id, record.listedSample ?? 0)
    if (this.networks.registryIndex(id) !== registry) this.networks.setRegistry(id, registry)
  }

  addNegative (address: number, identity: Uint8Array, version: Uint8Array, answered: boolean): void {
    this.negatives.add(address, version, answered)
    this.versions.add(address, version)
    this.identities.add(address, identity)
  }

  /** a negative a commit wrote; see putNetwork */
  putNegative (record: NegativeRecord, identity: Uint8Array, version: Uint8Array, replaced: Uint8Array | undefined): void {
    const id = replaced === undefined ? -1 : this.negatives.find(record.address)
    const answered = record.reason === 'answered'
    if (id < 0) {
      this.addNegative(record.address, identity, version, answered)
      return
    }
    this.versions.replace(record.address, this.negatives.hashes, id * HASH_BYTES, version, 0)
    this.identities.replace(record.address, replaced as Uint8Array, 0, identity, 0)
    this.negatives.setHash(id, version)
    this.negatives.setAnswered(id, answered)
  }

  /** fingerprint of every item's identity */
  digest (): string {
    return this.identities.digest()
  }

  digestBySlashEight (): string[] {
    return this.identities.bySlashEight()
  }

  /** fingerprint and count of the version hashes of the items whose start (address) lies in [from, to] */
  fingerprintRange (from: number, to: number): RangeFingerprint {
    const acc = new Uint32Array(8)
    let partial = 0
    const whole = this.versions.sumRange(from, to, acc, b => {
      const lo = Math.max(from, b * SLASH16)
      const hi = Math.min(to, b * SLASH16 + SLASH16 - 1)
      const nh = this.networks.hashes
      this.networks.forEachStartIn(lo, hi, id => { addHash(acc, 0, nh, id * HASH_BYTES); partial++ })
      const xh = this.negatives.hashes
      this.negatives.forEachIn(lo, hi, id => { addHash(acc, 0, xh, id * HASH_BYTES); partial++ })
    })
    const count = whole + partial
    return { fingerprint: fingerprint(acc, 0, count), count }
  }
}
