/**
 * The Hilbert curve that lays the IPv4 space out on a square (as xkcd 195 and the Measurement
 * Factory's IPv4 maps do): consecutive addresses stay close together, every aligned block
 * of 4^k cells (a /8, a /16) is a 2^k × 2^k square, and neighbouring blocks are neighbours.
 *
 * The standard curve of order `order` on a side of n = 2^order cells: it starts at (0, 0) in the
 * top-left corner and ends at (n − 1, 0) in the top-right one; consecutive indices are always
 * edge-adjacent cells. These are the usual iterative `d2xy` / `xy2d` algorithms (as on Wikipedia's
 * "Hilbert curve" page), with y growing downwards as image rows do.
 */

/** Largest order supported: 2^16 × 2^16 cells = every IPv4 address one cell. */
export const MAX_HILBERT_ORDER = 16

function checkOrder (order: number): number {
  if (!Number.isInteger(order) || order < 0 || order > MAX_HILBERT_ORDER) throw new RangeError(`Hilbert order must be 0–${MAX_HILBERT_ORDER}, got ${order}`)
  return 2 ** order
}

/** Cell (x, y) of index `d` (0 ≤ d < 4^order) on the curve of that order. */
export function hilbertD2xy (order: number, d: number): { x: number, y: number } {
  const n = checkOrder(order)
  if (!Number.isInteger(d) || d < 0 || d >= n * n) throw new RangeError(`Hilbert index ${d} out of range for order ${order}`)
  let x = 0
  let y = 0
  let t = d
  for (let s = 1; s < n; s *= 2) {
    const rx = 1 & Math.floor(t / 2)
    const ry = 1 & (t ^ rx)
    // rotate the quadrant
    if (ry === 0) {
      if (rx === 1) { x = s - 1 - x; y = s - 1 - y }
      const tmp = x; x = y; y = tmp
    }
    x += s * rx
    y += s * ry
    t = Math.floor(t / 4)
  }
  return { x, y }
}

/** Index on the curve of cell (x, y) (0 ≤ x, y < 2^order): the inverse of hilbertD2xy. */
export function hilbertXy2d (order: number, x: number, y: number): number {
  const n = checkOrder(order)
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= n || y >= n) throw new RangeError(`cell (${x}, ${y}) outside a ${n}×${n} square`)
  let d = 0
  for (let s = n / 2; s >= 1; s /= 2) {
    const rx = (x & s) > 0 ? 1 : 0
    const ry = (y & s) > 0 ? 1 : 0
    d += s * s * ((3 * rx) ^ ry)
    if (ry === 0) {
      if (rx === 1) { x = n - 1 - x; y = n - 1 - y }
      const tmp = x; x = y; y = tmp
    }
  }
  return d
}
