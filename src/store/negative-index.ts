/**
 * In-memory index of the negative records (address notes: unallocated, reserved, or 'answered' by
 * a stored container): per /16 a sorted Uint32Array of addresses with their ids alongside, and per
 * id the 32-byte version hash (digest.ts; for range fingerprints) and whether the note is
 * 'answered' (the rest are "no network here").
 */
import { HASH_BYTES } from './digest.js'
import { SLASH16, emptyBuckets, insertAt, lowerBound } from './sorted-array.js'
import { grow } from '../util/grow.js'

export class NegativeIndex {
  private count = 0
  private readonly addrs = emptyBuckets()
  private readonly ids = emptyBuckets()
  private readonly lens = new Uint32Array(SLASH16)
  hashes = new Uint8Array(1024 * HASH_BYTES)
  private answered = new Uint8Array(1024)
  private answeredCount = 0
  /**
   * One bit per /24 that holds a note (2 MiB; notes are never removed, so a bit once set stays
   * true): most addresses asked about lie in a /24 with none and are answered without reading a
   * bucket, which for a random address costs several cache misses.
   */
  private readonly slash24 = new Uint32Array(1 << 19)

  get size (): number { return this.count }
  /** notes whose reason is 'answered' */
  get answeredSize (): number { return this.answeredCount }
  isAnswered (id: number): boolean { return this.answered[id] === 1 }

  /** Marks the note `id` as 'answered' or not (at add, and when a commit replaces its record). */
  setAnswered (id: number, answered: boolean): void {
    const v = answered ? 1 : 0
    this.answeredCount += v - this.answered[id]
    this.answered[id] = v
  }

  /** a note that says the address's answer is a stored container ('answered') */
  hasAnswered (address: number): boolean {
    const id = this.find(address)
    return id >= 0 && this.answered[id] === 1
  }

  /** a note that says no network holds the address (unallocated or reserved), not an 'answered' one */
  hasNoNetwork (address: number): boolean {
    const id = this.find(address)
    return id >= 0 && this.answered[id] === 0
  }

  /** id of the negative for `address`, or -1 */
  find (address: number): number {
    if ((this.slash24[address >>> 13] & (1 << ((address >>> 8) & 31))) === 0) return -1
    const b = address >>> 16
    const a = this.addrs[b]
    const len = this.lens[b]
    if (len === 0) return -1
    const k = lowerBound(a, len, address)
    return k < len && a[k] === address ? this.ids[b][k] : -1
  }

  has (address: number): boolean {
    return this.find(address) >= 0
  }


  add (address: number, hash: Uint8Array, answered = false): number {
    const id = this.count++
    this.answered = grow(this.answered, this.count)
    this.answered[id] = 0
    this.setAnswered(id, answered)
    this.hashes = grow(this.hashes, this.count * HASH_BYTES)
    this.hashes.set(hash.subarray(0, HASH_BYTES), id * HASH_BYTES)
    this.slash24[address >>> 13] |= 1 << ((address >>> 8) & 31)
    const b = address >>> 16
    const len = this.lens[b]
    const pos = lowerBound(this.addrs[b], len, address)
    this.addrs[b] = insertAt(this.addrs[b], len, pos, address)
    this.ids[b] = insertAt(this.ids[b], len, pos, id)
    this.lens[b] = len + 1
    return id
  }

  setHash (id: number, hash: Uint8Array): void {
    this.hashes.set(hash.subarray(0, HASH_BYTES), id * HASH_BYTES)
  }

  /** Calls `fn` with the id of every negative whose address lies in [from, to], in address order. */
  forEachIn (from: number, to: number, fn: (id: number) => void): void {
    const last = to >>> 16
    for (let b = from >>> 16; b <= last; b++) {
      const len = this.lens[b]
      if (len === 0) continue
      const a = this.addrs[b]
      const ids = this.ids[b]
      for (let k = lowerBound(a, len, from); k < len && a[k] <= to; k++) fn(ids[k])
    }
  }
}
