/**
 * In-memory index of the stored networks' ranges, rebuilt at open, answering containment
 * questions without touching disk.
 *
 * Memory: networks live in a struct-of-arrays table (start, end, registry index, class flags,
 * 32-byte version hash (digest.ts): 42 bytes per network) indexed by an id that is never reused. The class
 * flags say whether the network is a leaf (record/classify.ts) and whether its class is known (a
 * header written before leaves and containers existed reads as an unclassified container). Per /16 bucket:
 * - `own`: ids of networks whose start lies in the bucket, sorted by (start, end), with their starts
 *   in a parallel array for binary search (also the order `fingerprintRange` walks);
 * - `cross`: ids of networks that intersect the bucket but are not entirely inside it (the few
 *   large or boundary-straddling ones: a /8 appears in 256 buckets);
 * - `maxInner`: the largest (end - start) of the networks entirely inside the bucket, which bounds
 *   the backward scan of `own` when collecting the networks that contain an address.
 * Plus the union of all ranges (CoverageUnion) for `isCovered`, and the union of the leaves for
 * `isExact`: an address inside a leaf is answered by that leaf, which policy does not subdivide.
 * Per id also the sample size a complete listing of its children was made for (0: never listed;
 * NetworkRecord.listedSample, 4 bytes per network), and the union of the listed networks, which
 * tells `isExact` at memory speed that an address lies in none.
 */
import { REGISTRY_IDS } from '../registry/interface.js'
import { CoverageUnion } from './coverage.js'
import { HASH_BYTES } from './digest.js'
import { SLASH16, emptyBuckets, insertAt, lowerBound, upperBound } from './sorted-array.js'
import { grow } from '../util/grow.js'

const LEAF = 1
const UNCLASSIFIED = 2

/** How a network's class is known: from its record, or (an old header) not at all. */
export interface NetworkClassFlags {
  leaf: boolean
  /** false when the stored header predates leaves and containers (read as a container) */
  classified: boolean
}

/** Networks by class. */
export interface ClassCounts {
  leaves: number
  /** containers, the unclassified included */
  containers: number
  /** networks whose stored header predates the class (counted as containers) */
  unclassified: number
  /** containers whose children were listed completely (NetworkRecord.listedSample) */
  listed: number
}

export class NetworkIndex {
  readonly coverage = new CoverageUnion()
  /**
   * the union of the leaves. It only grows: a leaf whose record is replaced by a container's (the
   * same range, another type word) stays in it until the next open; MemoryIndex keeps those
   * ranges apart and looks closer inside them.
   */
  readonly leafCoverage = new CoverageUnion()
  /** the union of the listed networks (it only grows: a listing is never taken back, pick.ts) */
  readonly listedCoverage = new CoverageUnion()
  private count = 0
  private listed = new Uint32Array(1024)
  private starts = new Uint32Array(1024)
  private ends = new Uint32Array(1024)
  private regs = new Uint8Array(1024)
  private flags = new Uint8Array(1024)
  private leafCount = 0
  private listedCount = 0
  private unclassifiedCount = 0
  /** version hashes (digest.ts), HASH_BYTES per id */
  hashes = new Uint8Array(1024 * HASH_BYTES)
  private readonly ownIds = emptyBuckets()
  private readonly ownStarts = emptyBuckets()
  private readonly ownLen = new Uint32Array(SLASH16)
  private readonly crossIds = emptyBuckets()
  private readonly crossLen = new Uint32Array(SLASH16)
  private readonly maxInner = new Int32Array(SLASH16).fill(-1)
  private readonly perRegistry = new Uint32Array(REGISTRY_IDS.length)

  get size (): number { return this.count }
  start (id: number): number { return this.starts[id] }
  end (id: number): number { return this.ends[id] }
  registryIndex (id: number): number { return this.regs[id] }
  isLeaf (id: number): boolean { return (this.flags[id] & LEAF) !== 0 }
  /** the sample size its children were listed for (NetworkRecord.listedSample), 0 when never */
  listedSample (id: number): number { return this.listed[id] }
  classCounts (): ClassCounts {
    return { leaves: this.leafCount, containers: this.count - this.leafCount, unclassified: this.unclassifiedCount, listed: this.listedCount }
  }
  /** network counts by REGISTRY_IDS index */
  registryCounts (): Uint32Array { return this.perRegistry.slice() }

  /** id of the network with exactly this range, or -1 */
  find (start: number, end: number): number {
    const b = start >>> 16
    const os = this.ownStarts[b]
    const len = this.ownLen[b]
    const ids = this.ownIds[b]
    for (let k = lowerBound(os, len, start); k < len && os[k] === start; k++) {
      if (this.ends[ids[k]] === end) return ids[k]
    }
    return -1
  }

  /** Adds a network that `find` does not know; returns its id. */
  add (start: number, end: number, registryIndex: number, hash: Uint8Array, cls: NetworkClassFlags): number {
    const id = this.count++
    this.starts = grow(this.starts, this.count)
    this.ends = grow(this.ends, this.count)
    this.regs = grow(this.regs, this.count)
    this.flags = grow(this.flags, this.count)
    this.flags[id] = 0
    this.listed = grow(this.listed, this.count)
    this.listed[id] = 0
    this.hashes = grow(this.hashes, this.count * HASH_BYTES)
    this.starts[id] = start
    this.ends[id] = end
    this.setClass(id, cls)
    this.regs[id] = registryIndex
    this.hashes.set(hash.subarray(0, HASH_BYTES), id * HASH_BYTES)
    this.perRegistry[registryIndex]++

    const b = start >>> 16
    const len = this.ownLen[b]
    const os = this.ownStarts[b]
    let pos = upperBound(os, len, start)
    while (pos > 0 && os[pos - 1] === start && this.ends[this.ownIds[b][pos - 1]] > end) pos--
    this.ownStarts[b] = insertAt(os, len, pos, start)
    this.ownIds[b] = insertAt(this.ownIds[b], len, pos, id)
    this.ownLen[b] = len + 1

    const last = end >>> 16
    if (last === b) {
      if (end - start > this.maxInner[b]) this.maxInner[b] = end - start
    } else {
      for (let c = b; c <= last; c++) {
        this.crossIds[c] = insertAt(this.crossIds[c], this.crossLen[c], this.crossLen[c], id)
        this.crossLen[c]++
      }
    }
    this.coverage.add(start, end)
    return id
  }

  setRegistry (id: number, registryIndex: number): void {
    this.perRegistry[this.regs[id]]--
    this.regs[id] = registryIndex
    this.perRegistry[registryIndex]++
  }

  /** sets the class of a network (at add, and when a commit replaces its record) */
  setClass (id: number, cls: NetworkClassFlags): void {
    const old = this.flags[id]
    const next = (cls.leaf ? LEAF : 0) | (cls.classified ? 0 : UNCLASSIFIED)
    this.leafCount += ((next & LEAF) - (old & LEAF))
    if ((next & LEAF) !== 0 && (old & LEAF) === 0) this.leafCoverage.add(this.starts[id], this.ends[id])
    this.unclassifiedCount += ((next & UNCLASSIFIED) - (old & UNCLASSIFIED)) / UNCLASSIFIED
    this.flags[id] = next
  }

  /** sets the sample size a listing of the network's children was made for (at add, and when a commit replaces its record) */
  setListed (id: number, sample: number): void {
    if (sample > 0 && this.listed[id] === 0) this.listedCoverage.add(this.starts[id], this.ends[id])
    this.listedCount += (sample > 0 ? 1 : 0) - (this.listed[id] > 0 ? 1 : 0)
    this.listed[id] = sample
  }

  /** the first 8 bytes of the network's version hash, as two numbers: a record read for this id is current while they are the same */
  versionTag (id: number): [number, number] {
    const at = id * HASH_BYTES
    const h = this.hashes
    return [((h[at] << 24) | (h[at + 1] << 16) | (h[at + 2] << 8) | h[at + 3]) >>> 0, ((h[at + 4] << 24) | (h[at + 5] << 16) | (h[at + 6] << 8) | h[at + 7]) >>> 0]
  }

  setHash (id: number, hash: Uint8Array): void {
    this.hashes.set(hash.subarray(0, HASH_BYTES), id * HASH_BYTES)
  }

  /**
   * Calls `fn` with the id of every network containing `address`, looking only at its /16's
   * bucket: the networks crossing into it and those starting in it (at most maxInner long).
   */
  private forEachContaining (address: number, fn: (id: number) => void): void {
    const b = address >>> 16
    const be = b * SLASH16 + SLASH16 - 1
    const cids = this.crossIds[b]
    for (let k = 0, n = this.crossLen[b]; k < n; k++) {
      const id = cids[k]
      if (this.starts[id] <= address && this.ends[id] >= address) fn(id)
    }
    const limit = this.maxInner[b]
    if (limit >= 0) {
      const os = this.ownStarts[b]
      const ids = this.ownIds[b]
      for (let k = upperBound(os, this.ownLen[b], address) - 1; k >= 0; k--) {
        if (address - os[k] > limit) break
        const e = this.ends[ids[k]]
        if (e <= be && e >= address) fn(ids[k])
      }
    }
  }

  /** ids of the networks containing `address`, most specific (smallest) first, ties by start */
  containing (address: number): number[] {
    const out: number[] = []
    this.forEachContaining(address, id => out.push(id))
    if (out.length > 1) {
      out.sort((x, y) => (this.ends[x] - this.starts[x]) - (this.ends[y] - this.starts[y]) || this.starts[x] - this.starts[y])
    }
    return out
  }

  /** id of the smallest network containing `address` (ties: lower start), or -1 */
  mostSpecific (address: number): number {
    let best = -1
    let bestSize = Infinity
    let bestStart = Infinity
    this.forEachContaining(address, id => {
      const size = this.ends[id] - this.starts[id]
      if (size < bestSize || (size === bestSize && this.starts[id] < bestStart)) {
        best = id
        bestSize = size
        bestStart = this.starts[id]
      }
    })
    return best
  }

  /** Calls `fn` with the id of every network whose start lies in [from, to], in (start, end) order. */
  forEachStartIn (from: number, to: number, fn: (id: number) => void): void {
    const last = to >>> 16
    for (let b = from >>> 16; b <= last; b++) {
      const os = this.ownStarts[b]
      const ids = this.ownIds[b]
      const len = this.ownLen[b]
      for (let k = lowerBound(os, len, from); k < len && os[k] <= to; k++) fn(ids[k])
    }
  }

  /** size of the union of each registry's networks, by REGISTRY_IDS index; O(networks) */
  registryCoverage (): number[] {
    const covered = REGISTRY_IDS.map(() => 0)
    const reach = REGISTRY_IDS.map(() => -1) // last covered address so far, per registry
    for (let b = 0; b < SLASH16; b++) {
      const ids = this.ownIds[b]
      for (let k = 0, n = this.ownLen[b]; k < n; k++) {
        const id = ids[k]
        const r = this.regs[id]
        const s = this.starts[id]
        const e = this.ends[id]
        if (s > reach[r]) { covered[r] += e - s + 1; reach[r] = e } else if (e > reach[r]) { covered[r] += e - reach[r]; reach[r] = e }
      }
    }
    return covered
  }
}
