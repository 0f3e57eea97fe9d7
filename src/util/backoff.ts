/**
 * The one exponential back-off of the project: the first delay is `baseMs`, each further one
 * doubles, and none exceeds `maxMs`. Used for rate-limit pauses, retries after transient errors,
 * the cool-down rounds of addresses given up on, and retries of a busy sync peer.
 */

export interface Backoff {
  /** the first delay */
  baseMs: number
  /** the cap; Infinity for none */
  maxMs: number
}

/** The delay before attempt `n` (1 = the first back-off): `baseMs · 2^(n−1)`, at most `maxMs`. */
export function backoffMs (b: Backoff, n: number): number {
  return Math.min(b.maxMs, b.baseMs * 2 ** (n - 1))
}
