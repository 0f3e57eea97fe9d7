/**
 * The nested world: the flat world's networks as one layer of a tree per RIR allocation.
 *
 * - Above: RIR-level allocations/assignments (what the delegation files list), built once from
 *   the flat world: runs of its consecutive networks of one owner, cut at a per-RIR rate so the
 *   counts land near the delegated files' (src/sim/nested-params.ts). The flat world's gap blocks
 *   become allocation space: an address there is answered with the allocation itself. LACNIC's
 *   allocations are single CIDR blocks. Kept in typed arrays.
 * - The layer itself: the dataset's ranges inside an allocation that holds more than one network
 *   (an allocation that is exactly one range is that range).
 * - Below: sub-allocations (containers, which nest) and customer assignments (leaves), generated
 *   on demand: the children of a network are a pure function of (its range, depth, registry,
 *   seed), so nothing below the ranges is stored; a small cache keeps the children lists last
 *   asked for. `forEachNetwork` enumerates the whole tree (for counts and tests, not at start).
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { MAX_GENERATED_DEPTH, NEST_PARAMS, type NestParams } from './nested-params.js'
import { mix32, REGISTRY_INDEX, type World } from './world.js'
import { upperBound } from '../store/sorted-array.js'

export type NodeLevel = 'allocation' | 'range' | 'sub' | 'leaf'

/** One network of the tree. */
export interface TreeNode {
  start: number
  end: number
  /** 0 = allocation; its ranges 1; generated networks below */
  depth: number
  level: NodeLevel
  /** may hold registered children (allocations, sub-allocations, ranges that were sub-delegated) */
  container: boolean
  /** generated children exist below it (checked by childrenOf) */
  generates: boolean
  /** index of its allocation */
  alloc: number
  /** flat-world index of the dataset range it is; -1 for generated networks and unassigned allocations */
  flat: number
  parent: TreeNode | undefined
}

export interface NestedCounts {
  allocations: number
  byRegistry: Record<RegistryId, number>
  buildMs: number
}

const CACHE_ENTRIES = 4096

/** Is [s, e] exactly one CIDR block? */
function isCidr (s: number, e: number): boolean {
  const size = e - s + 1
  return size > 0 && (size & (size - 1)) === 0 && s % size === 0
}

export class NestedWorld {
  readonly count: number
  readonly start: Uint32Array
  readonly end: Uint32Array
  readonly owner: Uint8Array
  /** first and last flat network of each allocation */
  readonly first: Uint32Array
  readonly last: Uint32Array
  /** the flat range whose holder holds the allocation (its largest); -1 = unassigned RIR space */
  readonly holder: Int32Array
  readonly counts: NestedCounts
  private readonly cache = new Map<number, TreeNode[]>()

  constructor (readonly world: World, readonly seed: number, readonly params: Record<RegistryId, NestParams> = NEST_PARAMS) {
    const t0 = performance.now()
    const n = world.count
    const start = new Uint32Array(n)
    const end = new Uint32Array(n)
    const owner = new Uint8Array(n)
    const first = new Uint32Array(n)
    const last = new Uint32Array(n)
    const ranges = new Array<number>(REGISTRY_IDS.length).fill(0)
    for (let i = 0; i < n; i++) if (!world.isGap(i)) ranges[world.owner[i]]++
    const cut = REGISTRY_IDS.map((id, k) => Math.round(Math.min(1, params[id].allocations / Math.max(1, ranges[k])) * 2 ** 32))
    let m = 0
    const push = (a: number, b: number): void => {
      start[m] = world.start[a]; end[m] = world.end[b]; owner[m] = world.owner[a]; first[m] = a; last[m] = b; m++
    }
    const lacnic = REGISTRY_INDEX.lacnic
    /** LACNIC registers only CIDRs: a run is cut into the largest CIDR blocks that end on network boundaries */
    const emit = (a: number, b: number): void => {
      if (world.owner[a] !== lacnic) { push(a, b); return }
      let k = a
      while (k <= b) {
        let best = k
        for (let j = k + 1; j <= b; j++) if (isCidr(world.start[k], world.end[j])) best = j
        push(k, best)
        k = best + 1
      }
    }
    let runStart = 0
    let bigGapRun = false
    for (let i = 0; i < n; i++) {
      const gap = world.isGap(i)
      const size = world.end[i] - world.start[i] + 1
      let fresh = i === 0 || world.owner[i] !== world.owner[i - 1] || world.start[i] !== world.end[i - 1] + 1 ||
        (world.start[i] >>> 24) !== (world.end[i - 1] >>> 24)
      if (!fresh && gap && size > 2 ** 16) fresh = true // a large unassigned stretch is the RIR's own block
      else if (!fresh && bigGapRun) fresh = true
      else if (!fresh && !gap && mix32(world.start[i] ^ mix32(seed ^ 0xa11c)) < cut[world.owner[i]]) fresh = true
      if (fresh) {
        if (i > 0) emit(runStart, i - 1)
        runStart = i
        bigGapRun = gap && size > 2 ** 16
      }
    }
    if (n > 0) emit(runStart, n - 1)

    this.count = m
    this.start = start.slice(0, m)
    this.end = end.slice(0, m)
    this.owner = owner.slice(0, m)
    this.first = first.slice(0, m)
    this.last = last.slice(0, m)
    this.holder = new Int32Array(m)
    const byRegistry = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
    for (let a = 0; a < m; a++) {
      let best = -1
      for (let i = this.first[a]; i <= this.last[a]; i++) {
        if (!world.isGap(i) && (best < 0 || world.end[i] - world.start[i] > world.end[best] - world.start[best])) best = i
      }
      this.holder[a] = best
      byRegistry[REGISTRY_IDS[this.owner[a]]]++
    }
    this.counts = { allocations: m, byRegistry, buildMs: Math.round(performance.now() - t0) }
  }

  ownerOf (alloc: number): RegistryId {
    return REGISTRY_IDS[this.owner[alloc]]
  }

  /** Index of the allocation holding `address`, or -1 (special-purpose or reserved space). */
  findAllocation (address: number): number {
    const found = upperBound(this.start, this.count, address) - 1
    if (found < 0 || this.end[found] < address) return -1
    return found
  }

  private hash (x: number, tag: number): number {
    return mix32((x ^ mix32(tag ^ this.seed)) >>> 0)
  }

  private frac (x: number, tag: number): number {
    return this.hash(x, tag) / 2 ** 32
  }

  /** The allocation as a tree node. */
  allocationNode (a: number): TreeNode {
    const s = this.start[a]
    const e = this.end[a]
    const unassigned = this.holder[a] < 0
    const single = this.first[a] === this.last[a] && !unassigned
    const node: TreeNode = { start: s, end: e, depth: 0, level: 'allocation', container: true, generates: false, alloc: a, flat: single ? this.first[a] : -1, parent: undefined }
    if (single) this.decideTop(node)
    return node
  }

  /** A top-level network (an allocation that is one range, or a range): sub-delegated, a leaf, or neither. */
  private decideTop (node: TreeNode): void {
    const p = this.params[this.ownerOf(node.alloc)]
    const u = this.frac(node.start ^ Math.imul(node.end, 0x9e3779b1), 0x70b + node.depth)
    if (u < p.childShare) { node.container = true; node.generates = true; return }
    // an allocation without registered children stays an allocation; a range is an assignment
    node.container = node.level === 'allocation' && (u - p.childShare) / (1 - p.childShare) >= p.leafShare
  }

  /** The children of `node`, in address order (disjoint, each strictly inside it). */
  childrenOf (node: TreeNode, useCache = true): TreeNode[] {
    if (node.level === 'allocation' && node.flat < 0) {
      if (this.holder[node.alloc] < 0) return []
      return this.cached(node, useCache, () => this.rangesOf(node))
    }
    if (!node.generates) return []
    return this.cached(node, useCache, () => this.generate(node))
  }

  private cached (node: TreeNode, useCache: boolean, make: () => TreeNode[]): TreeNode[] {
    if (!useCache) return make()
    const key = node.start * 16 + node.depth
    const hit = this.cache.get(key)
    if (hit !== undefined) return hit
    const kids = make()
    if (this.cache.size >= CACHE_ENTRIES) this.cache.clear()
    this.cache.set(key, kids)
    return kids
  }

  private rangesOf (node: TreeNode): TreeNode[] {
    const out: TreeNode[] = []
    for (let i = this.first[node.alloc]; i <= this.last[node.alloc]; i++) {
      if (this.world.isGap(i)) continue
      const r: TreeNode = { start: this.world.start[i], end: this.world.end[i], depth: 1, level: 'range', container: false, generates: false, alloc: node.alloc, flat: i, parent: node }
      this.decideTop(r)
      out.push(r)
    }
    return out
  }

  /** Sub-allocations and assignments inside a sub-delegated network: a pure function of (range, depth, registry, seed). */
  private generate (node: TreeNode): TreeNode[] {
    const registry = this.ownerOf(node.alloc)
    const p = this.params[registry]
    const s = node.start
    const e = node.end
    const size = e - s + 1
    const bits = Math.floor(Math.log2(size))
    const depth = node.depth + 1
    const out: TreeNode[] = []
    const canNest = depth - 1 < MAX_GENERATED_DEPTH
    const child = (a: number, b: number, container: boolean): void => {
      out.push({ start: a, end: b, depth, level: container ? 'sub' : 'leaf', container, generates: container, alloc: node.alloc, flat: -1, parent: node })
    }
    if (bits > 16) {
      // a large network is carved into sub-allocations of a sixteenth of it
      const slot = 2 ** (bits - 4)
      for (let b = Math.ceil(s / slot) * slot; b + slot - 1 <= e; b += slot) {
        if (canNest && this.frac(b, 0x5107 + depth * 64 + bits) < p.bigSlotShare) child(b, b + slot - 1, true)
      }
      return out
    }
    if (bits < 8) return out
    const leafSizesTotal = p.leafSizes.reduce((x, y) => x + y, 0)
    for (let b = Math.ceil(s / 256) * 256; b + 255 <= e; b += 256) {
      if (bits > 10 && canNest && b % 1024 === 0 && b + 1023 <= e && this.frac(b, 0x2200 + depth) < p.sub22Share) {
        child(b, b + 1023, true)
        b += 768
        continue
      }
      if (bits > 8 && this.frac(b, 0x2400 + depth) >= p.used24Share) continue
      // the assignment size used in this /24: /30 … /24, never the whole node
      let u = this.frac(b, 0x5123 + depth) * leafSizesTotal
      let k = 0
      while (k < 6 && u >= p.leafSizes[k]) { u -= p.leafSizes[k]; k++ }
      let lb = k + 2
      if (lb === 8 && size < 512) lb = 6
      if (lb === 8) { child(b, b + 255, false); continue }
      const len = 2 ** lb
      const positions = 256 / len
      for (let q = 0; q < positions; q++) {
        const a = b + q * len
        if (this.frac(a, 0xf111 + lb + depth * 16) >= p.fill) continue
        // an odd position joined with the next: a range that is not one CIDR block (RPSL registries)
        if ((q & 1) === 1 && q + 1 < positions && this.frac(a, 0xc1d2) < p.nonCidrShare) {
          child(a, a + 2 * len - 1, false)
          q++
          continue
        }
        child(a, a + len - 1, false)
      }
    }
    return out
  }

  /**
   * The chain from the allocation holding `address` down to its most specific network (what the
   * owning registry answers), or undefined for special-purpose and reserved space.
   */
  chainAt (address: number): TreeNode[] | undefined {
    const a = this.findAllocation(address)
    if (a < 0) return undefined
    const chain = [this.allocationNode(a)]
    for (;;) {
      const kids = this.childrenOf(chain[chain.length - 1])
      let lo = 0
      let hi = kids.length - 1
      let found: TreeNode | undefined
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1
        if (kids[mid].start <= address) { found = kids[mid]; lo = mid + 1 } else hi = mid - 1
      }
      if (found === undefined || found.end < address) return chain
      chain.push(found)
    }
  }

  /** Every network of the tree, depth first in address order (no cache: for counts, dumps and tests). */
  forEachNetwork (visit: (node: TreeNode) => void, allocations: Iterable<number> = range(this.count)): void {
    const walk = (node: TreeNode): void => {
      visit(node)
      for (const c of this.childrenOf(node, false)) walk(c)
    }
    for (const a of allocations) walk(this.allocationNode(a))
  }
}

function * range (n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i
}
