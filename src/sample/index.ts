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
  const a = (address >>> 24) & 0xff
  const b = (address >>> 16) & 0xff
  const c = (address >>> 8) & 0xff
  const d = address & 0xff
  if (a === 0 || EXCLUDED_FIRST_OCTETS.has(a) || isDropped(a, b)) return false
  return c % SAMPLE_THIRD_OCTET_STEP === 0 && FOURTH_OCTETS.includes(d)
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
  const arr = generateSortedSample()
  const next = prng(SAMPLE_SEED)
  for (let i = arr.length - 1; i > 0; i--) {
    // unbiased enough for 4.7M elements: 32-bit draw scaled to [0, i]
    const j = Math.floor((next() / 0x1_0000_0000) * (i + 1))
    const t = arr[i]; arr[i] = arr[j]; arr[j] = t
  }
  cached = arr
  return arr
}

/** The first `limit` addresses of the shuffled order (all of them when limit is undefined). */
export function sampleSlice (limit?: number): Uint32Array {
  const all = shuffledSample()
  if (limit == null || limit >= all.length) return all
  return all.subarray(0, limit)
}
