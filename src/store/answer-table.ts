/**
 * The store's answer for every IPv4 address, flattened once into a sorted table of
 * non-overlapping segments: for each part of the space the network `lookup` answers with (the
 * most specific of the crawled index's and the imported dumps', NetworkStore.answerRange) and
 * what its exactness rule (MemoryIndex.isExact, BulkLayer.answers) says there. What `lookup -`
 * (src/report/bulk-lookup.ts) answers millions of addresses from: one binary search each, inside
 * a /20's part of the table.
 *
 * A segment holds, for all of its addresses alike:
 * - `net`: the answer network (a crawled id, the row of a dump, or none);
 * - EXACT: exact whatever the address — inside a leaf of the crawled index (by its stored class),
 *   or answered by an imported dump, or (a segment of one address) a note of its own that makes
 *   it exact (MemoryIndex.isExact: "no network", or 'answered' where a crawled network holds it
 *   outside every hole);
 * - NO_NETWORK: a one-address segment with a "no network here" note (unallocated, reserved);
 * - `listed`: the sample size the most specific crawled network was listed for (0: none, or a
 *   hole makes its listing answer nothing here): a sample address in that slice of the sample is
 *   exact (MemoryIndex.isListedAnswer) — asked per address.
 * What depends on the address alone — the answer network's own leaf class and query address, the
 * sample, IANA's special-purpose blocks — the caller asks (src/report/lookup.ts's rules).
 *
 * Built by sweeps over the inputs in address order: the crawled networks with two heaps (the most
 * specific open network, ties to the lower start, as NetworkIndex.mostSpecific; and the next to
 * close); each dump by its own walk up the parents (Snapshot.mostSpecific), so that overlapping
 * rows answer as the dump does; then one merge with the notes and the holes.
 * Only without routing (a stopped node's data directory): a node routes each address to one
 * registry's dump, and answers bulk lookups from its live store instead.
 */
import { SortedRanges } from './sorted-ranges.js'
import { SLASH16 } from './sorted-array.js'
import { grow } from '../util/grow.js'

/** past the last address */
const END = 2 ** 32

/** The crawled networks in key order (start, then end), as the store holds them. */
export interface CrawledNetworks {
  count: number
  start: Uint32Array
  end: Uint32Array
  /** 1: a leaf by its stored class (the in-memory index's; a header older than the class reads 0) */
  indexLeaf: Uint8Array
  /** NetworkRecord.listedSample, 0 when never listed */
  listed: Uint32Array
}

/** The address notes in address order: 1 in `answered` for an 'answered' note, 0 for "no network here". */
export interface AddressNotes {
  count: number
  address: Uint32Array
  answered: Uint8Array
}

/** One imported dump's rows (Snapshot.table): sorted by start, larger first, with parents. */
export interface DumpRows {
  start: Uint32Array
  end: Uint32Array
  parent: Int32Array
}

export interface AnswerTableInput {
  networks: CrawledNetworks
  notes: AddressNotes
  /** ranges of networks deleted as a distrusted peer's (MemoryIndex.setHoles) */
  holes: ReadonlyArray<readonly [number, number]>
  /** the dumps in the order BulkLayer tries them */
  dumps: readonly DumpRows[]
}

export const EXACT = 1
export const NO_NETWORK = 2

/** Change points: from pos[k] until pos[k + 1] - 1 the value is a[k] (and b[k]). */
class Changes {
  n = 0
  pos = new Uint32Array(1024)
  a = new Int32Array(1024)
  b = new Uint32Array(1024)

  /** appends, or folds into the last point when the value did not change (or at the same position) */
  push (pos: number, a: number, b = 0): void {
    const last = this.n - 1
    if (last >= 0 && this.pos[last] === pos) {
      this.a[last] = a
      this.b[last] = b
      if (last > 0 && this.a[last - 1] === a && this.b[last - 1] === b) this.n--
      return
    }
    if (last >= 0 && this.a[last] === a && this.b[last] === b) return
    if (this.n === this.pos.length) {
      this.pos = grow(this.pos, this.n + 1)
      this.a = grow(this.a, this.n + 1)
      this.b = grow(this.b, this.n + 1)
    }
    this.pos[this.n] = pos
    this.a[this.n] = a
    this.b[this.n] = b
    this.n++
  }
}

/** A binary min-heap of ids under `less`. */
class IdHeap {
  private a = new Int32Array(64)
  size = 0
  constructor (private readonly less: (x: number, y: number) => boolean) {}

  top (): number { return this.a[0] }

  push (id: number): void {
    this.a = grow(this.a, this.size + 1)
    let i = this.size++
    while (i > 0) {
      const p = (i - 1) >>> 1
      if (!this.less(id, this.a[p])) break
      this.a[i] = this.a[p]
      i = p
    }
    this.a[i] = id
  }

  pop (): number {
    const top = this.a[0]
    const last = this.a[--this.size]
    let i = 0
    for (;;) {
      let c = 2 * i + 1
      if (c >= this.size) break
      if (c + 1 < this.size && this.less(this.a[c + 1], this.a[c])) c++
      if (!this.less(this.a[c], last)) break
      this.a[i] = this.a[c]
      i = c
    }
    this.a[i] = last
    return top
  }
}

/** The most specific crawled network (a: id or -1) and whether a leaf holds the address (b), by change point. */
function crawledChanges (nw: CrawledNetworks): Changes {
  const { start, end, indexLeaf } = nw
  const out = new Changes()
  const bySize = new IdHeap((x, y) => {
    const sx = end[x] - start[x]
    const sy = end[y] - start[y]
    return sx < sy || (sx === sy && start[x] < start[y])
  })
  const byEnd = new IdHeap((x, y) => end[x] < end[y])
  const open = new Uint8Array(nw.count)
  let leaves = 0
  let i = 0
  out.push(0, -1, 0)
  while (i < nw.count || byEnd.size > 0) {
    const p = Math.min(i < nw.count ? start[i] : END, byEnd.size > 0 ? end[byEnd.top()] + 1 : END)
    if (p >= END) break
    while (byEnd.size > 0 && end[byEnd.top()] + 1 === p) {
      const id = byEnd.pop()
      open[id] = 0
      leaves -= indexLeaf[id]
    }
    for (; i < nw.count && start[i] === p; i++) {
      bySize.push(i)
      byEnd.push(i)
      open[i] = 1
      leaves += indexLeaf[i]
    }
    while (bySize.size > 0 && open[bySize.top()] === 0) bySize.pop()
    out.push(p, bySize.size > 0 ? bySize.top() : -1, leaves > 0 ? 1 : 0)
  }
  return out
}

/** A dump's answer (a: row or -1) by change point: what Snapshot.mostSpecific gives in each stretch. */
function dumpChanges (d: DumpRows): Changes {
  const { start, end, parent } = d
  const n = start.length
  const out = new Changes()
  out.push(0, -1)
  for (let k = 0; k < n; k++) {
    const next = k + 1 < n ? start[k + 1] : END
    // rows with one start: the last of them (the smallest) is where the walk begins
    if (next === start[k]) continue
    let pos = start[k]
    let cur = k
    while (pos < next) {
      while (cur >= 0 && end[cur] < pos) cur = parent[cur]
      if (cur < 0) {
        out.push(pos, -1)
        break
      }
      out.push(pos, cur)
      pos = end[cur] + 1
      cur = parent[cur]
    }
  }
  return out
}

/** The dumps' answer by change point: the smallest row of any dump (ties: the dump tried first), as a global id (a). */
function dumpsChanges (dumps: readonly DumpRows[], base: readonly number[]): Changes {
  const lists = dumps.map(dumpChanges)
  const at = lists.map(() => 0)
  const out = new Changes()
  let p = 0
  for (;;) {
    let best = -1
    let bestSize = Infinity
    for (let j = 0; j < lists.length; j++) {
      const l = lists[j]
      while (at[j] + 1 < l.n && l.pos[at[j] + 1] <= p) at[j]++
      const row = l.a[at[j]]
      if (row < 0) continue
      const size = dumps[j].end[row] - dumps[j].start[row]
      if (size < bestSize) { best = base[j] + row; bestSize = size }
    }
    out.push(p, best)
    let next = END
    for (let j = 0; j < lists.length; j++) if (at[j] + 1 < lists[j].n) next = Math.min(next, lists[j].pos[at[j] + 1])
    if (next >= END) return out
    p = next
  }
}

/** An answer table's arrays (what `lookup -` keeps in its cache file). */
export interface AnswerTableArrays {
  /** global ids of dump rows start here: crawled ids are 0 … crawledCount - 1 */
  crawledCount: number
  /** per dump, its first global id */
  dumpBase: number[]
  /**
   * SEG_WORDS per segment: its first address, its network (as a uint32: 0xffffffff for none), its
   * flags, its listed sample size — side by side, so that the binary search's last probe has
   * brought what the answer reads into the cache
   */
  seg: Uint32Array
  /** per /16 (and one past the last): the last segment starting at or before its first address */
  dir: Uint32Array
}

export const SEG_WORDS = 4
/** /20s in IPv4 */
const SLASH20 = 1 << 20

export class AnswerTable {
  readonly crawledCount: number
  readonly dumpBase: readonly number[]
  private readonly seg: Uint32Array
  private readonly dir: Uint32Array
  /**
   * Per /20: the last segment starting at or before its first address (past a /16's last /20, the
   * next /16's `dir` entry stands for the next /20's) —
   * 2.3 segments a /20 on average against 36 a /16, so that a search reads one or two cache lines
   * (random addresses' searches were most of `lookup -`'s answering time). Made from `dir` a /16
   * at a time, when an address of it is first asked for (`ready`): a table used for a few
   * addresses pays nothing, one asked for every /16 ~10 ms in all.
   */
  private readonly dir20 = new Uint32Array(SLASH20)
  private readonly ready = new Uint8Array(SLASH16)

  constructor (readonly arrays: AnswerTableArrays) {
    if (arrays.dir.length !== SLASH16 + 1 || arrays.seg.length === 0 || arrays.seg.length % SEG_WORDS !== 0 || arrays.seg[0] !== 0) throw new RangeError('not an answer table')
    this.crawledCount = arrays.crawledCount
    this.dumpBase = arrays.dumpBase
    this.seg = arrays.seg
    this.dir = arrays.dir
  }

  /** fills the /20 entries of the /16 `b` (see dir20) */
  private prepare (b: number): void {
    const s = this.seg
    const last = this.dir[b + 1]
    let k = this.dir[b]
    for (let j = 0; j < 16; j++) {
      const first = (b * 16 + j) * 4096
      while (k < last && s[(k + 1) * SEG_WORDS] <= first) k++
      this.dir20[b * 16 + j] = k
    }
    this.ready[b] = 1
  }

  /** Builds the table of `input` (see the top of this file). */
  static build (input: AnswerTableInput): AnswerTable {
    const { networks: nw, notes, dumps } = input
    const base: number[] = []
    let total = nw.count
    for (const d of dumps) { base.push(total); total += d.start.length }
    if (total > 0x7fffffff) throw new RangeError(`${total} networks do not fit the answer table`)
    const crawled = crawledChanges(nw)
    const dumped = dumpsChanges(dumps, base)
    const holes = new Holes(input.holes, nw)
    const dumpSize = (g: number): number => {
      let j = dumps.length - 1
      while (base[j] > g) j--
      return dumps[j].end[g - base[j]] - dumps[j].start[g - base[j]]
    }

    const out = { n: 0, start: new Uint32Array(1024), net: new Int32Array(1024), flags: new Uint8Array(1024), listed: new Uint32Array(1024) }
    const push = (pos: number, net: number, flags: number, listed: number): void => {
      const last = out.n - 1
      if (last >= 0 && out.net[last] === net && out.flags[last] === flags && out.listed[last] === listed) return
      if (out.n === out.start.length) {
        const n = out.n + 1
        out.start = grow(out.start, n); out.net = grow(out.net, n); out.flags = grow(out.flags, n); out.listed = grow(out.listed, n)
      }
      out.start[out.n] = pos; out.net[out.n] = net; out.flags[out.n] = flags; out.listed[out.n] = listed
      out.n++
    }

    let ci = 0
    let di = 0
    let ni = 0
    let hi = 0
    const bounds = holes.bounds
    let p = 0
    for (;;) {
      while (ci + 1 < crawled.n && crawled.pos[ci + 1] <= p) ci++
      while (di + 1 < dumped.n && dumped.pos[di + 1] <= p) di++
      while (ni < notes.count && notes.address[ni] < p) ni++
      while (hi < bounds.length && bounds[hi] <= p) hi++
      const cid = crawled.a[ci]
      const gid = dumped.a[di]
      const net = cid >= 0 && (gid < 0 || nw.end[cid] - nw.start[cid] <= dumpSize(gid)) ? cid : gid
      const inHole = holes.any && holes.has(p, cid)
      let flags = crawled.b[ci] === 1 || gid >= 0 ? EXACT : 0
      let listed = cid >= 0 && !inHole ? nw.listed[cid] : 0
      const noted = ni < notes.count && notes.address[ni] === p
      if (noted) {
        // MemoryIndex.isExact: a note decides, and a listing is not asked
        listed = 0
        if (notes.answered[ni] === 0) flags |= EXACT | NO_NETWORK
        else if (cid >= 0 && !inHole) flags |= EXACT
      }
      push(p, net, flags, listed)
      let next = noted ? p + 1 : ni < notes.count ? notes.address[ni] : END
      if (ci + 1 < crawled.n) next = Math.min(next, crawled.pos[ci + 1])
      if (di + 1 < dumped.n) next = Math.min(next, dumped.pos[di + 1])
      if (hi < bounds.length) next = Math.min(next, bounds[hi])
      if (next >= END) break
      p = next
    }
    const seg = new Uint32Array(out.n * SEG_WORDS)
    for (let i = 0; i < out.n; i++) {
      seg[i * SEG_WORDS] = out.start[i]
      seg[i * SEG_WORDS + 1] = out.net[i]
      seg[i * SEG_WORDS + 2] = out.flags[i]
      seg[i * SEG_WORDS + 3] = out.listed[i]
    }
    const dir = new Uint32Array(SLASH16 + 1)
    let k = 0
    for (let b = 0; b <= SLASH16; b++) {
      const first = b * SLASH16
      while (k + 1 < out.n && out.start[k + 1] <= first) k++
      dir[b] = k
    }
    return new AnswerTable({ crawledCount: nw.count, dumpBase: base, seg, dir })
  }

  /** segments in the table */
  get size (): number { return this.seg.length / SEG_WORDS }

  /** bytes of the table's arrays */
  get bytes (): number { return this.seg.byteLength + this.dir.byteLength + this.dir20.byteLength + this.ready.byteLength }

  /** the segment holding `address` */
  find (address: number): number {
    const b = address >>> 12
    if (this.ready[b >>> 4] === 0) this.prepare(b >>> 4)
    let lo = this.dir20[b]
    // the next /20's entry; the first of the next /16 is its `dir` entry, ready or not
    let hi = (b & 15) === 15 ? this.dir[(b >>> 4) + 1] : this.dir20[b + 1]
    const s = this.seg
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (s[mid * SEG_WORDS] <= address) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** the answer network of a segment: a crawled id (< crawledCount), a dump row's global id, or -1 */
  net (seg: number): number { return this.seg[seg * SEG_WORDS + 1] | 0 }
  /** EXACT, NO_NETWORK */
  flags (seg: number): number { return this.seg[seg * SEG_WORDS + 2] }
  /** the sample size a listing answers for here (0: none) */
  listed (seg: number): number { return this.seg[seg * SEG_WORDS + 3] }
  /** first address of a segment */
  start (seg: number): number { return this.seg[seg * SEG_WORDS] }

  /** the dump (its index in the input) and row of a global id ≥ crawledCount */
  dumpRow (id: number): { dump: number, row: number } {
    let j = this.dumpBase.length - 1
    while (this.dumpBase[j] > id) j--
    return { dump: j, row: id - this.dumpBase[j] }
  }
}

/**
 * The holes (MemoryIndex.inHole): a listing or an 'answered' note answers nothing where a hole
 * lies inside the most specific crawled network (or there is none) and no network fills it again.
 */
class Holes {
  readonly any: boolean
  /** the holes' starts and ends + 1, sorted: where the answer may change */
  readonly bounds: Uint32Array
  private readonly ranges: SortedRanges
  private readonly filled = new Set<string>()

  constructor (holes: ReadonlyArray<readonly [number, number]>, private readonly nw: CrawledNetworks) {
    this.any = holes.length > 0
    this.ranges = new SortedRanges(holes)
    const bounds = new Set<number>()
    for (const [s, e] of holes) {
      bounds.add(s)
      if (e + 1 < END) bounds.add(e + 1)
      if (this.holds(s, e)) this.filled.add(`${s}:${e}`)
    }
    this.bounds = Uint32Array.from([...bounds].sort((a, b) => a - b))
  }

  /** whether the index holds a network of exactly [s, e] (binary search over the key order) */
  private holds (s: number, e: number): boolean {
    const { start, end, count } = this.nw
    let lo = 0
    let hi = count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (start[mid] < s || (start[mid] === s && end[mid] < e)) lo = mid + 1
      else hi = mid
    }
    return lo < count && start[lo] === s && end[lo] === e
  }

  /** whether `address`, whose most specific crawled network is `cid` (-1: none), lies in a hole */
  has (address: number, cid: number): boolean {
    const s = cid < 0 ? -1 : this.nw.start[cid]
    const e = cid < 0 ? END : this.nw.end[cid]
    return this.ranges.some(address, (hs, he) => s <= hs && he <= e && !this.filled.has(`${hs}:${he}`))
  }
}
