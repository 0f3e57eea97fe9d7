/**
 * The union of all known networks as disjoint intervals, for `isCovered` at memory speed.
 *
 * Per /16 bucket either a "whole /16 covered" mark or a sorted run of disjoint, non-adjacent
 * [start, end] pairs clipped to the bucket. All runs live in one Uint32Array pool, located by a
 * directory of (offset, used) pairs, so a lookup is one directory read plus a binary search in one
 * short run: two or three cache lines, no object hops. Adding a network touches only the buckets it
 * overlaps (a /8 marks 256 buckets, a /24 merges into one run); a run that outgrows its slot moves
 * to the end of the pool with double the capacity (so at most about half the pool is abandoned slots
 * while runs grow), and the pool is compacted after an add that leaves more than half of it
 * abandoned (runs of buckets that became whole). The union only grows: networks are never deleted (a replaced record keeps
 * its [start, end] key).
 */
import { SLASH16 } from './sorted-array.js'

const FULL = 0xffffffff

export class CoverageUnion {
  /** per bucket: [offset into pool, uint32s used (two per interval) or FULL] */
  private readonly dir = new Uint32Array(SLASH16 * 2)
  /** per bucket: uint32 capacity of its slot in the pool */
  private readonly cap = new Uint32Array(SLASH16)
  private pool = new Uint32Array(1 << 16)
  private poolUsed = 0
  private poolAbandoned = 0
  private total = 0

  /** addresses in the union */
  get size (): number {
    return this.total
  }

  covers (address: number): boolean {
    const b = address >>> 16
    const used = this.dir[(b << 1) + 1]
    if (used === 0) return false
    if (used === FULL) return true
    const p = this.pool
    const off = this.dir[b << 1]
    let lo = 0
    let hi = used >>> 1
    while (lo < hi) { // first interval whose start > address
      const mid = (lo + hi) >>> 1
      if (p[off + (mid << 1)] <= address) lo = mid + 1
      else hi = mid
    }
    return lo > 0 && p[off + (lo << 1) - 1] >= address
  }

  /** Adds [start, end] (inclusive); returns how many addresses were not covered before. */
  add (start: number, end: number): number {
    let added = 0
    const last = end >>> 16
    for (let b = start >>> 16; b <= last; b++) {
      if (this.dir[(b << 1) + 1] === FULL) continue
      const bs = b * SLASH16
      const be = bs + SLASH16 - 1
      added += this.addInBucket(b, start > bs ? start : bs, end < be ? end : be, bs, be)
    }
    this.total += added
    if (this.poolAbandoned > this.poolUsed / 2 && this.poolUsed > (1 << 16)) this.compact()
    return added
  }

  private addInBucket (b: number, cs: number, ce: number, bs: number, be: number): number {
    let p = this.pool
    let off = this.dir[b << 1]
    const n = this.dir[(b << 1) + 1] >>> 1
    // i: first interval ending at or after cs - 1 (overlapping or adjacent on the left)
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (p[off + (mid << 1) + 1] + 1 < cs) lo = mid + 1
      else hi = mid
    }
    const i = lo
    // j: last interval starting at or before ce + 1
    hi = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (p[off + (mid << 1)] <= ce + 1) lo = mid + 1
      else hi = mid
    }
    const j = lo - 1
    let ns = cs
    let ne = ce
    let before = 0
    if (i <= j) {
      if (p[off + (i << 1)] < ns) ns = p[off + (i << 1)]
      if (p[off + (j << 1) + 1] > ne) ne = p[off + (j << 1) + 1]
      for (let k = i; k <= j; k++) before += p[off + (k << 1) + 1] - p[off + (k << 1)] + 1
    }
    const added = ne - ns + 1 - before
    if (added === 0) return 0
    if (ns === bs && ne === be) {
      this.abandon(b)
      this.dir[(b << 1) + 1] = FULL
      return added
    }
    const removed = j - i + 1 // 0 when [cs, ce] touches nothing: an insertion
    const newUsed = (n - removed + 1) << 1
    if (newUsed > this.cap[b]) {
      off = this.relocate(b, newUsed)
      p = this.pool
    }
    if (removed !== 1) p.copyWithin(off + ((i + 1) << 1), off + ((j + 1) << 1), off + (n << 1))
    p[off + (i << 1)] = ns
    p[off + (i << 1) + 1] = ne
    this.dir[(b << 1) + 1] = newUsed
    return added
  }

  /** moves bucket b's run to a fresh slot of at least `need` uint32s at the pool's end; returns its offset */
  private relocate (b: number, need: number): number {
    const oldCap = this.cap[b]
    let newCap = Math.max(4, oldCap * 2)
    while (newCap < need) newCap *= 2
    if (this.poolUsed + newCap > this.pool.length) {
      let size = this.pool.length * 2
      while (size < this.poolUsed + newCap) size *= 2
      const grown = new Uint32Array(size)
      grown.set(this.pool.subarray(0, this.poolUsed))
      this.pool = grown
    }
    const off = this.poolUsed
    const oldOff = this.dir[b << 1]
    const used = this.dir[(b << 1) + 1]
    if (used !== 0) this.pool.copyWithin(off, oldOff, oldOff + used)
    this.poolAbandoned += this.cap[b]
    this.poolUsed += newCap
    this.dir[b << 1] = off
    this.cap[b] = newCap
    return off
  }

  private abandon (b: number): void {
    this.poolAbandoned += this.cap[b]
    this.cap[b] = 0
    this.dir[b << 1] = 0
  }

  /** rewrites the pool without abandoned slots, bucket runs in bucket order */
  private compact (): void {
    let size = 0
    for (let b = 0; b < SLASH16; b++) size += this.cap[b]
    const next = new Uint32Array(Math.max(1 << 16, size * 2))
    let off = 0
    for (let b = 0; b < SLASH16; b++) {
      const c = this.cap[b]
      if (c === 0) continue
      const used = this.dir[(b << 1) + 1]
      const from = this.dir[b << 1]
      next.set(this.pool.subarray(from, from + used), off)
      this.dir[b << 1] = off
      off += c
    }
    this.pool = next
    this.poolUsed = off
    this.poolAbandoned = 0
  }
}
