/**
 * The growable typed arrays of the bulk paths (the store's sorted arrays, the answer table's
 * sweeps, a dump import's rows, the parse workers' batches, `lookup -`'s batches): one rule.
 */
type Typed = Uint8Array | Uint32Array | Int32Array | Float64Array

/** `arr` when it holds `min` elements, else a copy with room for at least `min` (doubling, from 1,024). */
export function grow<T extends Typed> (arr: T, min: number): T {
  if (arr.length >= min) return arr
  let cap = Math.max(arr.length * 2, 1024)
  while (cap < min) cap *= 2
  const next = new (arr.constructor as new (n: number) => T)(cap)
  next.set(arr)
  return next
}
