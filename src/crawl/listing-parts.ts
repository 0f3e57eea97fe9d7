/**
 * Listing a container in parts, where the registry names what it lists by one prefix and cuts the
 * answer short (ARIN: RDAP `rdap-down`, 100 networks; lookup/listing.ts). Two containers cannot be
 * listed whole there: one that is not a single CIDR block (ARIN delegates ranges such as 768
 * addresses), and one whose listing came back cut. Both are listed by CIDR blocks instead — the
 * range's decomposition, or the halves of a cut block, recursively — each block that holds at
 * least `minWaiting` sample addresses still not exact (scripts/arin-listing-model.ts counts what
 * this saves: docs/scaling.md).
 *
 * What a block's answer tells. The server answers a prefix that is no registered network with
 * the children of the most specific network holding it, those inside it (RIPE NCC's
 * implementation; the simulator's; ARIN documents nothing). So:
 * - every network in the answer must name the container as its parent (`parentHandle`): else a
 *   network inside the container holds the block, and the answer says nothing about the
 *   container's empty space;
 * - a child of the container that crosses the block's edge is in no block's answer. It can only
 *   cross an edge inside the container (an *inner* edge), so the addresses between the block's
 *   first and last listed child are the container's, and so are those between an outer edge and
 *   the nearest child; those between an inner edge and the nearest child wait for a *probe*: one
 *   lookup of the block's edge address. Answered by the container itself, no child crosses there,
 *   and they are the container's; answered by anything else, they are asked one by one;
 * - an empty answer (404) cannot tell "no children here" from "a registered network is this very
 *   block" (the exact match is never listed), nor from a server that does not answer such keys at
 *   all: its addresses wait for the probes of every inner edge — which also rule out a network
 *   holding the block, since it would hold the probed address — and only at a registry whose part
 *   listings have named children of their container (`trusted`; an empty answer that came
 *   before is weighed again then);
 * - a stored network inside the block that no listed child holds means the server's answer is not
 *   what the above assumes: the block resolves nothing.
 * Addresses resolved this way get 'answered' notes (a part never marks its container listed), and
 * only while their most specific stored network is the container.
 */
import type { NegativeRecord } from '../record/index.js'
import type { RegistryId } from '../registry/interface.js'
import { rangeToBlocks } from '../util/ipv4.js'
import type { ListingJob, SampleRanges } from './listing.js'

export interface Range { start: number, end: number }

/** A listed child as a part's answer gives it. */
export interface PartChild extends Range { parentHandle: string }

export interface PartPlanDeps {
  sample: SampleRanges
  isExact: (address: number) => boolean
  /** the most specific stored network holding an address (NetworkStore.mostSpecificRange) */
  mostSpecific: (address: number) => Range | undefined
  minWaiting: number
}

/** Addresses a block's answer left to probes: theirs once every probe in `probes` is answered by the container. */
interface Group {
  job: ListingJob
  addresses: number[]
  probes: Set<number>
  dead: boolean
}

export class PartPlan {
  /** registries whose part listings named children of the container: their empty answers are believed */
  private readonly trusted = new Set<RegistryId>()
  /** empty part answers a registry gave before it was trusted: weighed again once it is */
  private readonly emptyBeforeTrust = new Map<RegistryId, ListingJob[]>()
  /** parts and probes listed or queued in this run */
  private readonly seen = new Set<string>()
  /** groups waiting on each probe (probeKey) */
  private readonly waiting = new Map<string, Group[]>()

  constructor (private readonly d: PartPlanDeps) {}

  /** The CIDR blocks of a container that is no single block, as part jobs (those worth listing). */
  blocksOf (job: ListingJob): ListingJob[] {
    return this.worthListing(job, rangeToBlocks(job.start, job.end), [])
  }

  /**
   * Part jobs for `ranges` of the container (CIDR blocks), each holding at least minWaiting
   * addresses not exact and in none of the `known` children, and not inside one of them.
   */
  worthListing (job: ListingJob, ranges: Range[], known: Range[]): ListingJob[] {
    const out: ListingJob[] = []
    for (const r of ranges) {
      const key = partKey(job, r)
      if (this.seen.has(key) || known.some(k => k.start <= r.start && r.end <= k.end)) continue
      let n = 0
      this.d.sample.forEachIn(r.start, r.end, a => {
        if (!this.d.isExact(a) && !known.some(k => k.start <= a && a <= k.end)) n++
        return n < this.d.minWaiting
      })
      if (n < this.d.minWaiting) continue
      this.seen.add(key)
      out.push({ registry: job.registry, start: job.start, end: job.end, container: job.container, part: { start: r.start, end: r.end } })
    }
    return out
  }

  /** The halves of a CIDR block (a container or a part) whose listing was cut, worth listing. */
  halvesOf (job: ListingJob, block: Range, known: Range[]): ListingJob[] {
    if (block.end === block.start) return []
    const mid = block.start + (block.end - block.start + 1) / 2
    return this.worthListing(job, [{ start: block.start, end: mid - 1 }, { start: mid, end: block.end }], known)
  }

  /**
   * What a part's answer resolves: notes for the waiting addresses it shows are the container's,
   * and next jobs — the halves of a cut part, probes for the addresses near inner edges.
   */
  resolve (job: ListingJob, children: PartChild[], complete: boolean, fetchedAt: number): { notes: NegativeRecord[], next: ListingJob[] } {
    const nothing = { notes: [], next: [] }
    const part = job.part
    const handle = job.container.handle
    if (part === undefined || handle === '' || children.some(c => c.parentHandle !== handle)) return nothing
    // the first answer naming children: the empty answers before it are believed now (their probes)
    const earlier = children.length > 0 && !this.trusted.has(job.registry) ? this.emptyBeforeTrust.get(job.registry) ?? [] : []
    if (children.length > 0) { this.trusted.add(job.registry); this.emptyBeforeTrust.delete(job.registry) }
    const r = this.resolveBlock(job, part, children, complete, fetchedAt)
    return { notes: r.notes, next: [...r.next, ...earlier.flatMap(e => this.resolveBlock(e, e.part ?? e, [], true, fetchedAt).next)] }
  }

  private resolveBlock (job: ListingJob, part: Range, children: PartChild[], complete: boolean, fetchedAt: number): { notes: NegativeRecord[], next: ListingJob[] } {
    const nothing = { notes: [], next: [] }
    if (!complete) return { notes: [], next: this.halvesOf(job, part, children) }
    if (children.length === 0 && !this.trusted.has(job.registry)) {
      const held = this.emptyBeforeTrust.get(job.registry) ?? []
      held.push(job)
      this.emptyBeforeTrust.set(job.registry, held)
      return nothing
    }
    const waiting = this.containerAnswered(job, part, children)
    if (waiting === undefined) return nothing
    const innerStart = part.start !== job.start
    const innerEnd = part.end !== job.end
    const notes: number[] = []
    const left: number[] = []
    const right: number[] = []
    if (children.length === 0) {
      const probes = [...(innerStart ? [part.start] : []), ...(innerEnd ? [part.end] : [])]
      return { notes: [], next: this.await(job, waiting, probes) }
    }
    const first = children[0].start
    const last = children[children.length - 1].end
    for (const a of waiting) {
      if (a > first && a < last) notes.push(a)
      else if (a < first) (innerStart ? left : notes).push(a)
      else (innerEnd ? right : notes).push(a)
    }
    return {
      notes: notes.map(address => ({ address, registry: job.registry, reason: 'answered', fetchedAt })),
      next: [...this.await(job, left, [part.start]), ...this.await(job, right, [part.end])]
    }
  }

  /** A probe's answer (the most specific network holding its address): notes for the groups it completes. */
  probed (job: ListingJob, answer: Range & { registry: RegistryId }, fetchedAt: number): NegativeRecord[] {
    const key = probeKey(job, job.probe ?? -1)
    const groups = this.waiting.get(key) ?? []
    this.waiting.delete(key)
    const clear = answer.registry === job.registry && answer.start === job.start && answer.end === job.end
    const notes: NegativeRecord[] = []
    for (const g of groups) {
      if (g.dead) continue
      if (!clear) { g.dead = true; continue }
      g.probes.delete(job.probe ?? -1)
      if (g.probes.size > 0) continue
      for (const address of g.addresses) {
        // resolved meanwhile, or a network found since holds it: not the container's to answer
        if (this.d.isExact(address) || !this.isContainer(job, this.d.mostSpecific(address))) continue
        notes.push({ address, registry: job.registry, reason: 'answered', fetchedAt })
      }
    }
    return notes
  }

  /** A part or probe that could not be made: a part may be tried again; a probe's addresses are asked one by one. */
  forget (job: ListingJob): void {
    if (job.part !== undefined) this.seen.delete(partKey(job, job.part))
    if (job.probe !== undefined) {
      for (const g of this.waiting.get(probeKey(job, job.probe)) ?? []) g.dead = true
      this.waiting.delete(probeKey(job, job.probe))
    }
  }

  /**
   * The waiting addresses of the part in no listed child whose most specific stored network is the
   * container; undefined when a stored network inside the part lies in no listed child (the answer
   * is not the container's children inside the part).
   */
  private containerAnswered (job: ListingJob, part: Range, children: PartChild[]): number[] | undefined {
    const out: number[] = []
    let consistent = true
    let k = 0
    this.d.sample.forEachIn(part.start, part.end, a => {
      if (this.d.isExact(a)) return true
      while (k < children.length && children[k].end < a) k++
      if (k < children.length && children[k].start <= a) return true
      const r = this.d.mostSpecific(a)
      if (this.isContainer(job, r)) out.push(a)
      else if (r !== undefined && r.start >= part.start && r.end <= part.end) consistent = false
      return consistent
    })
    return consistent ? out : undefined
  }

  private isContainer (job: ListingJob, r: Range | undefined): boolean {
    return r !== undefined && r.start === job.start && r.end === job.end
  }

  /** Probe jobs for `probes` (one per address and run), `addresses` waiting until every one answers with the container. */
  private await (job: ListingJob, addresses: number[], probes: number[]): ListingJob[] {
    if (addresses.length === 0 || probes.length === 0) return []
    const group: Group = { job, addresses, probes: new Set(probes), dead: false }
    const next: ListingJob[] = []
    for (const p of probes) {
      const key = probeKey(job, p)
      const groups = this.waiting.get(key)
      if (groups !== undefined) { groups.push(group); continue }
      this.waiting.set(key, [group])
      next.push({ registry: job.registry, start: job.start, end: job.end, container: job.container, probe: p })
    }
    return next
  }
}

/** a part is listed for one container: the same block of two nested containers is two parts */
function partKey (job: ListingJob, part: Range): string {
  return `${job.registry} ${job.start}-${job.end} ${part.start}-${part.end}`
}

/** a probe answers for one container: the same address probed for two containers is two probes */
function probeKey (job: ListingJob, address: number): string {
  return `${job.registry} ${job.start}-${job.end} ${address}`
}
