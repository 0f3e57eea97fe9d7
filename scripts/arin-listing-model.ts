/**
 * What ARIN's listing service lets a crawl save, modelled on the nested world (no crawl, no
 * network: the simulator's tree in process). ARIN lists a container's children only over RDAP
 * `rdap-down`, keyed by one prefix, and cuts the answer at 100 networks (src/sim/listing.ts,
 * docs/registries.md C.3), so listing whole containers covers only those that are one CIDR block
 * with at most 100 children, and the waiting sample addresses of every other container are asked
 * one by one. This script counts, over the first N sample addresses, what the two ways around
 * those limits that the crawl takes (src/crawl/listing-parts.ts) cost against that:
 *
 * - **bisect**: a container whose listing was cut is listed again by halves, recursively, while a
 *   part holds two or more addresses not answered yet (a part whose listing is complete answers
 *   the addresses in its empty space; the first 100 children of a cut one are kept);
 * - **CIDR blocks**: a container that is not one CIDR block is listed block by block (its range's
 *   CIDR decomposition), each block holding two or more unanswered addresses. A child of the
 *   container that crosses a block's edge is in no block's answer, so the addresses between a
 *   block's edge and its first (last) listed child are not known to be the container's: the model
 *   charges one lookup per such edge (the address nearest the edge: answered by the container, it
 *   clears the rest). It assumes ARIN answers a prefix that is no registered network as RIPE's
 *   implementation does (the children of the most specific network holding it, inside it), which
 *   ARIN does not document.
 *
 * Costs are requests: a listing is one, an address asked is one, a child found by asking one of
 * its addresses is one for all its addresses; what happens below a child (its own listing) is the
 * same either way and not counted. Also printed per registry: sample addresses, distinct answers
 * (leaves, containers), and what asking every address once costs when a known leaf answers the
 * rest of its addresses (the crawl with no listing at all).
 *
 * Usage: node --import tsx scripts/arin-listing-model.ts [sampleLimit=200000]
 */
import { buildWorld } from '../src/sim/world.js'
import { NestedWorld, type TreeNode } from '../src/sim/nested.js'
import { defaultSimulatorOptions } from '../src/sim/options.js'
import { RDAP_SEARCH_MAX_RESULTS as CAP } from '../src/sim/listing.js'
import { sampleSlice } from '../src/sample/index.js'

const limit = Number(process.argv[2] ?? 200_000)
const nw = new NestedWorld(await buildWorld({ transferRate: defaultSimulatorOptions.transferRate }), defaultSimulatorOptions.worldSeed)
const sample = Uint32Array.from(sampleSlice(limit)).sort()

/** a sample address, and the index of the container's child holding it (-1: its empty space) */
interface Placed { a: number, k: number }

const perRegistry: Record<string, { addresses: number, leaves: Set<string>, containers: Set<string>, containerAnswers: number }> = {}
const arinContainers = new Map<string, { node: TreeNode, addresses: number[] }>()
for (const a of sample) {
  const chain = nw.chainAt(a)
  if (chain === undefined) continue
  const reg = nw.ownerOf(chain[0].alloc)
  const s = perRegistry[reg] ??= { addresses: 0, leaves: new Set(), containers: new Set(), containerAnswers: 0 }
  s.addresses++
  const last = chain[chain.length - 1]
  if (last.container) { s.containerAnswers++; s.containers.add(`${last.start}-${last.end}`) } else s.leaves.add(`${last.start}-${last.end}`)
  if (reg !== 'arin') continue
  for (const n of chain) {
    if (!n.container) continue
    const key = `${n.start}-${n.end}`
    const e = arinContainers.get(key) ?? { node: n, addresses: [] }
    e.addresses.push(a)
    arinContainers.set(key, e)
  }
}

const isCidr = (s: number, e: number): boolean => { const size = e - s + 1; return (size & (size - 1)) === 0 && s % size === 0 }
function cidrBlocks (s: number, e: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  while (s <= e) {
    let size = 1
    while (s % (size * 2) === 0 && s + size * 2 - 1 <= e) size *= 2
    out.push([s, s + size - 1])
    s += size
  }
  return out
}
/** requests to ask `open` one by one: each empty-space address, and one per child not known */
function perAddress (open: Placed[], known: Set<number>): number {
  const found = new Set<number>()
  let n = 0
  for (const { k } of open) {
    if (k < 0) n++
    else if (!known.has(k) && !found.has(k)) { found.add(k); n++ }
  }
  return n
}
const unanswered = (list: Placed[], known: Set<number>): Placed[] => list.filter(p => p.k < 0 || !known.has(p.k))
const distinctQuestions = (list: Placed[]): number => new Set(list.map(p => p.k < 0 ? `a${p.a}` : `k${p.k}`)).size

const cut = { containers: 0, addresses: 0, now: 0, bisect: 0 }
const split = { containers: 0, addresses: 0, now: 0, blocks: 0, listed: 0, cutBlocks: 0, edges: 0, edgeAddresses: 0, emptyBlocks: 0 }
for (const { node, addresses } of arinContainers.values()) {
  if (addresses.length < 2) continue
  const kids = nw.childrenOf(node)
  const childAt = (a: number): number => kids.findIndex(c => c.start <= a && a <= c.end)
  const placed: Placed[] = addresses.map(a => ({ a, k: childAt(a) }))
  const inside = (s: number, e: number): number[] => kids.flatMap((c, k) => s <= c.start && c.end <= e && !(c.start === s && c.end === e) ? [k] : [])
  if (isCidr(node.start, node.end)) {
    if (kids.length <= CAP) continue
    cut.containers++
    cut.addresses += addresses.length
    const first = new Set(kids.slice(0, CAP).map((_, k) => k))
    cut.now += 1 + perAddress(unanswered(placed, first), first)
    const part = (s: number, e: number, list: Placed[], known: Set<number>): number => {
      const open = unanswered(list, known)
      if (distinctQuestions(open) < 2 || kids.some(c => c.start <= s && e <= c.end)) return perAddress(open, known)
      const ks = inside(s, e)
      const k2 = new Set([...known, ...ks.slice(0, CAP)])
      // complete: its empty space is the container's; a child crossing the part's edge is in no answer
      if (ks.length <= CAP) return 1 + perAddress(open.filter(p => p.k >= 0 && !k2.has(p.k)), k2)
      const mid = s + (e - s + 1) / 2
      return 1 + part(s, mid - 1, open.filter(p => p.a < mid), k2) + part(mid, e, open.filter(p => p.a >= mid), k2)
    }
    const mid = node.start + (node.end - node.start + 1) / 2
    const open = unanswered(placed, first)
    cut.bisect += 1 + part(node.start, mid - 1, open.filter(p => p.a < mid), first) + part(mid, node.end, open.filter(p => p.a >= mid), first)
  } else {
    split.containers++
    split.addresses += addresses.length
    split.now += perAddress(placed, new Set())
    for (const [s, e] of cidrBlocks(node.start, node.end)) {
      const list = placed.filter(p => p.a >= s && p.a <= e)
      if (distinctQuestions(list) < 2) { split.listed += perAddress(list, new Set()); continue }
      split.blocks++
      const ks = inside(s, e)
      if (ks.length > CAP) { split.cutBlocks++; split.listed += 1 + perAddress(list, new Set(ks.slice(0, CAP))); continue }
      // an empty answer: every address waits for the probes (at most two)
      if (ks.length === 0) split.emptyBlocks++
      const known = new Set(ks)
      const firstStart = ks.length > 0 ? kids[ks[0]].start : Infinity
      const lastEnd = ks.length > 0 ? kids[ks[ks.length - 1]].end : -1
      const edgeOpen = list.filter(p => p.k < 0 && ((s !== node.start && p.a < firstStart) || (e !== node.end && p.a > lastEnd)))
      const edges = (edgeOpen.some(p => p.a < firstStart) ? 1 : 0) + (edgeOpen.some(p => p.a > lastEnd) ? 1 : 0)
      split.edges += edges
      split.edgeAddresses += edgeOpen.length
      split.listed += 1 + perAddress(list.filter(p => p.k >= 0 && !known.has(p.k)), known) + edges
    }
  }
}

console.log(JSON.stringify({
  sample_addresses: limit,
  per_registry: Object.fromEntries(Object.entries(perRegistry).map(([r, s]) => [r, {
    addresses: s.addresses,
    distinct_leaf_answers: s.leaves.size,
    distinct_container_answers: s.containers.size,
    addresses_answered_by_a_container: s.containerAnswers,
    every_address_once_known_leaves_skipped: s.leaves.size + s.containerAnswers
  }])),
  arin_containers_reached_by_two_or_more: [...arinContainers.values()].filter(c => c.addresses.length >= 2).length,
  arin_cut_cidr_containers: { ...cut, saved_by_bisect: cut.now - cut.bisect },
  arin_non_cidr_containers: { ...split, saved_by_cidr_blocks: split.now - split.listed, saved_without_edge_lookups: split.now - (split.listed - split.edges + split.edgeAddresses) }
}, null, 2))
