/**
 * mulberry32: a small deterministic 32-bit generator. The sample's shuffle depends on it (every
 * node must draw the same sequence), so it must never change; tests and benches use it to be
 * reproducible.
 */

/** uint32 values. */
export function prng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/** Floats in [0, 1). */
export function prngFloat (seed: number): () => number {
  const next = prng(seed)
  return () => next() / 2 ** 32
}
