/**
 * Helpers for the per-/16 buckets of the in-memory indexes: each bucket is a Uint32Array with spare
 * capacity and a separate length. Inserting moves at most one bucket's tail (memmove), never the
 * whole index; capacity doubles, so appends (the open-time load, which comes in key order) are O(1).
 */

export const SLASH16 = 65536
export const EMPTY = new Uint32Array(0)

export function emptyBuckets (): Uint32Array[] {
  return Array.from({ length: SLASH16 }, () => EMPTY)
}

/** Inserts `value` at `pos` of the first `len` elements; returns the (possibly new) array. */
export function insertAt (arr: Uint32Array, len: number, pos: number, value: number): Uint32Array {
  if (len < arr.length) {
    if (pos < len) arr.copyWithin(pos + 1, pos, len)
    arr[pos] = value
    return arr
  }
  const grown = new Uint32Array(Math.max(4, len * 2))
  grown.set(arr.subarray(0, pos))
  grown[pos] = value
  grown.set(arr.subarray(pos, len), pos + 1)
  return grown
}

/** First index in arr[0, len) whose value is > x (arr sorted ascending). */
export function upperBound (arr: Uint32Array, len: number, x: number): number {
  let lo = 0
  let hi = len
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (arr[mid] <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** First index in arr[0, len) whose value is >= x (arr sorted ascending). */
export function lowerBound (arr: Uint32Array, len: number, x: number): number {
  let lo = 0
  let hi = len
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (arr[mid] < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

