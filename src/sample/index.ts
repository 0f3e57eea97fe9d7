/**
 * The seed-compatible sample of IPv4: 4,706,768 addresses that every node generates identically.
 *
 * Rule (as in the 2016 crawler): first octet 1–255 except 3, 9, 10, 12, 15–20, 34, 48, 56, 127;
 * every second octet 0–255; third octet 0, 12, 24, … 252 (22 values); fourth octet 1, 65, 129, 193;
 * then drop multicast (224/4), reserved (240/4), private (10/8, 172.16/12, 192.168/16),
 * link-local (169.254/16) and loopback (127/8).
 *
 * The addresses are then put in one pseudo-random order: a Fisher–Yates shuffle driven by the
 * SplitMix32-style generator below, seeded with SAMPLE_SEED. Every node therefore walks the same
 * order, and the first N addresses (`--sample-limit N`) are a representative random subset.
 */

/** The documented, fixed seed of the sample order ("WHOIS", 2016 → 0x2016_0415 was the first crawl's date). */
export const SAMPLE_SEED = 0x20160415

/** Size of the full sample. */
export const SAMPLE_SIZE = 4_706_768

import { prng } from '../util/prng.js'

const EXCLUDED_FIRST_OCTETS = new Set([3, 9, 10, 12, 15, 16, 17, 18, 19, 20, 34, 48, 56, 127])
const FOURTH_OCTETS = [1, 65, 129, 193]

function isDropped (first: number, second: number): boolean {
  if (first >= 224) return true // multicast 224/4 and reserved 240/4
  if (first === 10 || first === 127) return true
  if (first === 172 && second >= 16 && second <= 31) return true
  if (first === 192 && second === 168) return true
  if (first === 169 && second === 254) return true
  return false
}

/** Third octets of sample addresses: 0, 12, 24, … 252. */
export const SAMPLE_THIRD_OCTET_STEP = 12

/**
 * Whether `address` (a uint32) is one of the sample's addresses, by the rule above (no table:
 * O(1)). The crawl asks the registries about these addresses only.
 */
export function isSampleAddress (address: number): boolean {
  // the fourth octet is one of 1, 65, 129, 193 exactly when its low six bits are 000001
  if ((address & 63) !== 1 || ((address >>> 8) & 0xff) % SAMPLE_THIRD_OCTET_STEP !== 0) return false
  const a = address >>> 24
  return a !== 0 && !EXCLUDED_FIRST_OCTETS.has(a) && !isDropped(a, (address >>> 16) & 0xff)
}

/** The sample in ascending address order (unshuffled). */
export function generateSortedSample (): Uint32Array {
  const out = new Uint32Array(SAMPLE_SIZE)
  let n = 0
  for (let a = 1; a <= 255; a++) {
    if (EXCLUDED_FIRST_OCTETS.has(a)) continue
    for (let b = 0; b <= 255; b++) {
      if (isDropped(a, b)) continue
      for (let c = 0; c <= 252; c += SAMPLE_THIRD_OCTET_STEP) {
        const base = ((a * 256 + b) * 256 + c) * 256
        for (const d of FOURTH_OCTETS) out[n++] = base + d
      }
    }
  }
  if (n !== SAMPLE_SIZE) throw new Error(`sample rule produced ${n} addresses, expected ${SAMPLE_SIZE}`)
  return out
}

export { prng }

let cached: Uint32Array | undefined

/**
 * The full sample in its shuffled order. Cached: callers must not modify it (take a copy or a
 * subarray view).
 */
export function shuffledSample (): Uint32Array {
  if (cached != null) return cached
  cached = shuffle(generateSortedSample())
  return cached
}

/** the sample order's shuffle, in place: every array of SAMPLE_SIZE is permuted alike */
function shuffle (arr: Uint32Array): Uint32Array {
  const next = prng(SAMPLE_SEED)
  for (let i = arr.length - 1; i > 0; i--) {
    // unbiased enough for 4.7M elements: 32-bit draw scaled to [0, i]
    const j = Math.floor((next() / 0x1_0000_0000) * (i + 1))
    const t = arr[i]; arr[i] = arr[j]; arr[j] = t
  }
  return arr
}

let ranks: { sorted: Uint32Array, rankBySorted: Uint32Array } | undefined

/**
 * The position of `address` in the shuffled order, or -1 when it is not a sample address: it lies
 * in `sampleSlice(n)` exactly when 0 <= rank < n. The first call builds a table (the sorted sample
 * and each one's rank: 38 MB); a full-sample question needs none
 * (`inSampleSlice`).
 */
export function sampleRank (address: number): number {
  if (!isSampleAddress(address)) return -1
  if (ranks === undefined) {
    // shuffling the sorted positions as the sample is shuffled gives each rank's sorted position
    const positionByRank = new Uint32Array(SAMPLE_SIZE)
    for (let i = 0; i < SAMPLE_SIZE; i++) positionByRank[i] = i
    shuffle(positionByRank)
    const rankBySorted = new Uint32Array(SAMPLE_SIZE)
    for (let i = 0; i < SAMPLE_SIZE; i++) rankBySorted[positionByRank[i]] = i
    ranks = { sorted: generateSortedSample(), rankBySorted }
  }
  return ranks.rankBySorted[sortedPosition(ranks.sorted, address)]
}

/** the first n addresses of the shuffled order, sorted, for the few n asked about (small n only) */
const sortedSlices = new Map<number, Uint32Array>()
/** up to this n a slice is answered from its own sorted copy (n log n to build), above from the rank table */
const SORTED_SLICE_MAX = SAMPLE_SIZE >>> 3

/**
 * Whether `address` is one of the first `n` addresses of the shuffled order (sampleSlice(n)). The
 * whole sample needs no table; a slice up to an eighth of it is looked up in its own sorted copy
 * (4000 addresses: well under a millisecond to build, where the rank table stalls the event loop
 * for a few hundred); a larger one uses the rank table (`sampleRank`).
 */
export function inSampleSlice (address: number, n: number): boolean {
  if (n >= SAMPLE_SIZE) return isSampleAddress(address)
  if (!isSampleAddress(address) || n <= 0) return false
  if (n > SORTED_SLICE_MAX) return sampleRank(address) < n
  let sorted = sortedSlices.get(n)
  if (sorted === undefined) {
    sorted = Uint32Array.from(sampleSlice(n)).sort()
    if (sortedSlices.size >= 8) sortedSlices.delete(sortedSlices.keys().next().value as number)
    sortedSlices.set(n, sorted)
  }
  const k = sortedPosition(sorted, address)
  return k < sorted.length && sorted[k] === address
}

/** index of `address` in the sorted sample, which holds it */
function sortedPosition (sorted: Uint32Array, address: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid] < address) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** n when `sample` is sampleSlice(n) (the same addresses in the same order), else undefined */
export function sliceSizeOf (sample: Uint32Array): number | undefined {
  const all = shuffledSample()
  if (sample.length === 0 || sample.length > all.length) return undefined
  if (sample.buffer === all.buffer && sample.byteOffset === all.byteOffset) return sample.length
  for (let i = 0; i < sample.length; i++) if (sample[i] !== all[i]) return undefined
  return sample.length
}

/** The first `limit` addresses of the shuffled order (all of them when limit is undefined). */
export function sampleSlice (limit?: number): Uint32Array {
  const all = shuffledSample()
  if (limit == null || limit >= all.length) return all
  return all.subarray(0, limit)
}
