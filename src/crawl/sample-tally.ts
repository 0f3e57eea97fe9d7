/**
 * How much of the sample is resolved, kept up to date as records are indexed instead of counted
 * by a pass over the sample (~150 ms for 4.7M addresses, which every heartbeat of every node used
 * to pay).
 *
 * The sample is held sorted with one "done" byte per address; a network that enters the index
 * marks the sample addresses inside it that the store's rule now counts resolved (a binary search,
 * then only those addresses), a note marks its address. Per /16 the tally keeps how many sample
 * addresses it has and how many are done, so this node's slice (whose owner is decided per block of
 * at most /16) is summed over 65,536 blocks, not over the sample.
 *
 * Resolved is not for good under the exact rule: an address a listed container answered is
 * reopened when a container arrives between them (NetworkStore IndexedEvent.reopened). The tally
 * counts it unresolved again and tells `onReopened`, which queues it again.
 *
 * A commit may also report a range two authors disagree about (a record lost the pick rule to a
 * stored copy saying otherwise): `onContested` hears the sample addresses the dispute leaves open
 * (those the loser would answer and the kept copy may not: ContestedRange.blocked).
 */
import { lowerBound } from '../store/sorted-array.js'
import type { ContestedRange } from '../store/interface.js'

export interface TallySource {
  isResolved: (address: number) => boolean
  /** NetworkStore.onIndexed: what each commit added to the index */
  onIndexed: (fn: (e: { ranges: Array<[number, number]>, addresses: number[], reopened: Array<[number, number]>, contested: ContestedRange[] }) => void) => () => void
}

export interface SampleCounts {
  total: number
  /** resolved, counting reserved and special-purpose addresses (never asked) as resolved */
  resolved: number
  /** allocated addresses of the blocks `isMine` accepts */
  sliceTotal: number
  sliceResolved: number
}

export class SampleTally {
  private readonly sorted: Uint32Array
  private readonly done: Uint8Array
  private readonly per16Total = new Uint32Array(65_536)
  private readonly per16Done = new Uint32Array(65_536)
  private resolved = 0

  /**
   * Counts the sample against what `source` holds now and follows what it indexes from then on.
   * `reserved(a)`: never asked (counted resolved, and in no slice). `onReopened`: the addresses a
   * commit took back from resolved, in address order, with the ranges it reported (possibly none
   * of them: a listener may hold other addresses in those ranges, e.g. disputed ones).
   */
  constructor (
    sample: Uint32Array, private readonly source: TallySource, reserved: (address: number) => boolean,
    private readonly onReopened?: (addresses: number[], ranges: ReadonlyArray<[number, number]>) => void,
    private readonly onContested?: (addresses: number[], contested: ContestedRange) => void
  ) {
    this.sorted = Uint32Array.from(sample).sort()
    this.done = new Uint8Array(this.sorted.length)
    for (let i = 0; i < this.sorted.length; i++) {
      const a = this.sorted[i]
      if (reserved(a)) { this.done[i] = 2; this.resolved++; continue }
      const k = a >>> 16
      this.per16Total[k]++
      if (source.isResolved(a)) { this.done[i] = 1; this.resolved++; this.per16Done[k]++ }
    }
    source.onIndexed(e => {
      for (const [start, end] of e.ranges) this.addRange(start, end)
      for (const a of e.addresses) this.addRange(a, a)
      const reopened: number[] = []
      for (const [start, end] of e.reopened) this.reopenRange(start, end, reopened)
      if (e.reopened.length > 0) this.onReopened?.(reopened, e.reopened)
      for (const c of e.contested) {
        if (c.blocked === undefined) continue
        const open: number[] = []
        this.forEachIn(c.blocked[0], c.blocked[1], a => { if (!this.source.isResolved(a) && !reserved(a)) open.push(a); return true })
        if (open.length > 0) this.onContested?.(open, c)
      }
    })
  }

  /** The addresses in [start, end] counted resolved that are not any more: unmarked, and collected in `out`. */
  private reopenRange (start: number, end: number, out: number[]): void {
    const s = this.sorted
    for (let i = lowerBound(s, s.length, start); i < s.length && s[i] <= end; i++) {
      if (this.done[i] !== 1 || this.source.isResolved(s[i])) continue
      this.done[i] = 0
      this.resolved--
      this.per16Done[s[i] >>> 16]--
      out.push(s[i])
    }
  }

  /**
   * A network [start, end] (or a note: start = end) entered the index: the sample addresses in it
   * that are resolved now (under the exact rule, a container resolves none of them by itself).
   */
  private addRange (start: number, end: number): void {
    const s = this.sorted
    for (let i = lowerBound(s, s.length, start); i < s.length && s[i] <= end; i++) {
      if (this.done[i] === 0 && this.source.isResolved(s[i])) this.mark(i)
    }
  }

  private mark (i: number): void {
    if (this.done[i] !== 0) return
    this.done[i] = 1
    this.resolved++
    this.per16Done[this.sorted[i] >>> 16]++
  }

  /** Calls `fn` with each sample address in [start, end], in address order, until it returns false. */
  forEachIn (start: number, end: number, fn: (address: number) => boolean | undefined): void {
    const s = this.sorted
    for (let i = lowerBound(s, s.length, start); i < s.length && s[i] <= end; i++) if (fn(s[i]) === false) return
  }

  /**
   * The open (allocated, unresolved) sample addresses per owner, but those in `excluded`;
   * `ownerOf(a)` is asked once per /16 holding open ones.
   */
  openBy (ownerOf: (address: number) => string, excluded: Iterable<number> = []): Map<string, number> {
    const less = new Map<number, number>()
    const s = this.sorted
    for (const a of excluded) {
      const i = lowerBound(s, s.length, a)
      if (i < s.length && s[i] === a && this.done[i] === 0) less.set(a >>> 16, (less.get(a >>> 16) ?? 0) + 1)
    }
    const out = new Map<string, number>()
    for (let k = 0; k < 65_536; k++) {
      const open = this.per16Total[k] - this.per16Done[k] - (less.get(k) ?? 0)
      if (open <= 0) continue
      const owner = ownerOf(k * 65_536)
      out.set(owner, (out.get(owner) ?? 0) + open)
    }
    return out
  }

  /** The counts now; `isMine(a)` decides the slice, asked once per /16 holding sample addresses. */
  counts (isMine: (address: number) => boolean): SampleCounts {
    let sliceTotal = 0
    let sliceResolved = 0
    for (let k = 0; k < 65_536; k++) {
      const t = this.per16Total[k]
      if (t === 0 || !isMine(k * 65_536)) continue
      sliceTotal += t
      sliceResolved += this.per16Done[k]
    }
    return { total: this.sorted.length, resolved: this.resolved, sliceTotal, sliceResolved }
  }
}
