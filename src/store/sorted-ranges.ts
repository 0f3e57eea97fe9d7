/**
 * A few ranges that may nest or overlap, sorted by start, with the prefix maxima of their ends:
 * the ranges holding an address are found by binary search, so an address outside all of them
 * (nearly every address: these lists hold exceptions) costs one search however many there are.
 * Changes rebuild the list, once per batch of additions (at the next query); they are rare (a
 * distrust, a leaf's record replaced by a container's).
 */
export class SortedRanges {
  private ranges: ReadonlyArray<readonly [number, number]> = []
  /** reach[i] = the largest end among ranges[0..i] */
  private reach = new Float64Array(0)
  /** the ranges held, as "start:end" (add() keeps each once) */
  private keys = new Set<string>()
  /** added since the last sort: sorted in at the next query, so a commit adding many sorts once */
  private pending: Array<readonly [number, number]> = []

  constructor (ranges: ReadonlyArray<readonly [number, number]> = []) {
    this.set(ranges)
  }

  get size (): number { return this.ranges.length + this.pending.length }

  /** the ranges, sorted by start */
  list (): ReadonlyArray<readonly [number, number]> { this.settle(); return this.ranges }

  set (ranges: ReadonlyArray<readonly [number, number]>): void {
    this.pending = []
    this.keys = new Set(ranges.map(([s, e]) => `${s}:${e}`))
    this.ranges = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1])
    this.reach = new Float64Array(this.ranges.length)
    let max = -1
    this.ranges.forEach(([, e], i) => { max = Math.max(max, e); this.reach[i] = max })
  }

  /** Adds [start, end] unless it is held already. */
  add (start: number, end: number): void {
    const key = `${start}:${end}`
    if (this.keys.has(key)) return
    this.keys.add(key)
    this.pending.push([start, end])
  }

  private settle (): void {
    if (this.pending.length > 0) this.set([...this.ranges, ...this.pending])
  }

  /** whether `pred` accepts one of the ranges holding `address` (asked from the latest start back) */
  some (address: number, pred: (start: number, end: number) => boolean): boolean {
    if (this.size === 0) return false
    this.settle()
    let hi = upperBound(this.ranges, address)
    for (; hi > 0 && this.reach[hi - 1] >= address; hi--) {
      const [s, e] = this.ranges[hi - 1]
      if (address <= e && pred(s, e)) return true
    }
    return false
  }
}

/** the number of ranges whose start is at most `address` (they are sorted by start) */
function upperBound (ranges: ReadonlyArray<readonly [number, number]>, address: number): number {
  let lo = 0
  let hi = ranges.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (ranges[mid][0] <= address) lo = mid + 1
    else hi = mid
  }
  return lo
}
