/**
 * Exact resolution in a world of nested networks (issue 12): what the crawl does when a registry
 * answers an address with a container (an allocation, a sub-allocation: record/classify.ts).
 *
 * The address itself is resolved exactly — the registry answered it — and gets an 'answered' note
 * (record/interface.ts). The other sample addresses inside the container are not: each may lie in
 * a more specific network nobody has found yet. Asking each of them costs a lookup apiece; where
 * the registry lets a client list a container's children (lookup/listing.ts), one request tells
 * for all of them: an address in no child is answered by the container, an address in a leaf
 * child is answered by that leaf (stored with the listing), and an address in a child container
 * is the same question one level down (that child is listed in turn, when enough sample addresses
 * wait in it; else they are asked one by one).
 *
 * A complete listing is recorded on the container itself: the listing commits the container's
 * record with `listedSample` (record/interface.ts), the size of this crawl's sample, which is a
 * prefix of the one shuffled order (sampleSlice). The store then answers every address of that
 * prefix whose most specific stored network is the container as exact (store/memory-index.ts
 * isListedAnswer): one replicated record instead of a note per address, which were 88% of what a
 * late joiner synced on the full sample (docs/scaling.md). A crawl whose sample is not such a
 * prefix (a test's hand-picked addresses) notes the waiting addresses in no child one by one.
 *
 * Of the children a listing returns, only those holding a sample address are stored: the others
 * answer none of the crawl's questions, and keeping them all would fill a node with most of a
 * registry's tree (a /16 range lists a thousand customer assignments; the simulated world holds
 * ~8 million networks, the real registries ~10 million) where the sample reaches a few hundred
 * thousand.
 *
 * A container is listed when at least `minWaiting` sample addresses inside it are still not
 * exact (a listing of a container holding one such address costs what asking it does, and may not
 * answer it). Each container is listed at most once per run by this node. A listing the registry
 * cut short (RDAP's result cap) keeps the networks it carried but notes nothing: the container's
 * empty space is not known. Where the registry names what it lists by a prefix (ARIN), a container
 * that is no single CIDR block, and one whose listing was cut, are listed by blocks instead
 * (listing-parts.ts).
 */
import type { NetworkRecord, NegativeRecord } from '../record/index.js'
import { isLeaf, LISTED_QUERY_ADDRESS } from '../record/index.js'
import type { RegistryId } from '../registry/interface.js'
import { upperBound } from '../store/sorted-array.js'
import { formatIPv4 } from '../util/ipv4.js'
import type { Logger } from '../util/logger.js'
import { unreachableKind } from '../lookup/errors.js'
import type { AcceptedRecords } from './interface.js'
import { toPublish } from './crawl-writer.js'
import { contradicts } from './contradiction.js'
import type { CommitResult } from '../store/interface.js'
import { PartPlan, type Range } from './listing-parts.js'
import type { RegistryGate } from './registry-gate.js'

/** A container to list, at the registry that answered with it. */
export interface ListingJob {
  registry: RegistryId
  start: number
  end: number
  /** its record, as this crawl has it: a complete listing commits it again with `listedSample` */
  container: NetworkRecord
  /** list this CIDR block of the container instead of all of it (listing-parts.ts) */
  part?: Range
  /** no listing: look this address up, to learn whether a child of the container crosses it (listing-parts.ts) */
  probe?: number
}

/** What the crawl needs to list containers (src/lookup RegistryClient provides it). */
export interface ContainerLister {
  /** whether `registry` can list this container's children (lookup/listing.ts canList) */
  canList: (registry: RegistryId, container: { start: number, end: number }) => boolean
  /** whether `registry` names what it lists by one prefix, and cuts long answers (lookup/listing.ts listsByPrefix) */
  listsByPrefix: (registry: RegistryId) => boolean
  listChildren: (container: { start: number, end: number }, registry: RegistryId, signal?: AbortSignal) => Promise<{
    children: Array<Omit<NetworkRecord, 'source' | 'fetchedAt' | 'queryAddress'>>
    complete: boolean
    source: 'rdap' | 'whois'
  }>
}

/** The sorted sample, walked by range (crawl/sample-tally.ts SampleTally provides it). */
export interface SampleRanges {
  /** calls `fn` with each sample address in [start, end] in order, until it returns false */
  forEachIn: (start: number, end: number, fn: (address: number) => boolean | undefined) => void
}

export interface ListingPlanOptions {
  /** sample addresses still not exact inside a container before it is listed (default 2) */
  minWaiting: number
  /**
   * n when the crawl's sample is sampleSlice(n) (a complete listing marks the container
   * `listedSample: n`); undefined for any other sample (it notes each address in no child)
   */
  sampleSlice: number | undefined
  /**
   * whether peers accept a record (CrawlerModules.shareable). A listing marks its container only
   * when every child it stores is: a peer holding the mark without a child it refused would take
   * the container for the answer inside that child, and nothing would ever correct it.
   */
  shareable: (record: NetworkRecord) => boolean
  /** ContainerLister.listsByPrefix: such registries' containers are listed in parts where whole fails (listing-parts.ts) */
  listsByPrefix: (registry: RegistryId) => boolean
  /** the most specific stored network holding an address (NetworkStore.mostSpecificRange), which part listings check */
  mostSpecific: (address: number) => Range | undefined
}

export const defaultListingPlanOptions: ListingPlanOptions = { minWaiting: 2, sampleSlice: undefined, shareable: () => true, listsByPrefix: () => false, mostSpecific: () => undefined }

/** What one finished listing adds to the store. */
export interface ListingResult {
  /** the children holding a sample address, and the container marked listed (complete listings) */
  networks: NetworkRecord[]
  /** 'answered' notes for waiting addresses in no child (a complete listing, a sample that is no slice) */
  notes: NegativeRecord[]
  /** child containers worth listing in turn */
  next: ListingJob[]
}

/** Decides which containers to list, and what a listing resolves. */
export class ListingPlan {
  /** containers listed or queued in this run, by "start-end" */
  private readonly seen = new Set<string>()
  private readonly opts: ListingPlanOptions
  private readonly parts: PartPlan

  constructor (
    private readonly sample: SampleRanges,
    private readonly isExact: (address: number) => boolean,
    private readonly canList: ContainerLister['canList'],
    opts: Partial<ListingPlanOptions> = {}
  ) {
    this.opts = { ...defaultListingPlanOptions, ...opts }
    this.parts = new PartPlan({ sample, isExact, mostSpecific: this.opts.mostSpecific, minWaiting: this.opts.minWaiting })
  }

  /**
   * The listings worth making for a container answer: none (a leaf, no service, too few waiting,
   * done before), the container, or — no single CIDR block at a registry that lists by prefix —
   * its blocks (listing-parts.ts).
   */
  consider (network: NetworkRecord): ListingJob[] {
    if (isLeaf(network.registry, network.type)) return []
    const job: ListingJob = { registry: network.registry, start: network.start, end: network.end, container: network }
    if (!this.canList(network.registry, network)) return this.opts.listsByPrefix(network.registry) ? this.parts.blocksOf(job) : []
    const key = `${network.start}-${network.end}`
    if (this.seen.has(key)) return []
    if (this.waiting(network.start, network.end, this.opts.minWaiting) < this.opts.minWaiting) return []
    this.seen.add(key)
    return [job]
  }

  /** The listing could not be made: a later container answer may try it again (a probe's addresses are asked one by one). */
  forget (job: ListingJob): void {
    if (job.part !== undefined || job.probe !== undefined) this.parts.forget(job)
    else this.seen.delete(`${job.start}-${job.end}`)
  }

  /** What a probe's answer resolves (listing-parts.ts): notes for the addresses it showed are the container's. */
  probed (job: ListingJob, answer: { start: number, end: number, registry: RegistryId }, fetchedAt: number): NegativeRecord[] {
    return this.parts.probed(job, answer, fetchedAt)
  }

  /**
   * What a listing of `job` resolves: its children that hold a sample address, as records; for a
   * complete listing, the container marked listed (or, a sample that is no slice, a note for each
   * waiting sample address in no child); and the child containers to list next.
   */
  resolve (job: ListingJob, listing: Awaited<ReturnType<ContainerLister['listChildren']>>, fetchedAt: number): ListingResult {
    // a network found by a listing was asked for no address of its own: query_address 0.0.0.0
    const children: NetworkRecord[] = listing.children.map(c => ({ ...c, source: listing.source, fetchedAt, queryAddress: LISTED_QUERY_ADDRESS }))
    const starts = Uint32Array.from(children, n => n.start)
    const childAt = (a: number): number => {
      const k = upperBound(starts, starts.length, a) - 1
      return k >= 0 && children[k].end >= a ? k : -1
    }
    const holdsSample = new Uint8Array(children.length)
    this.sample.forEachIn(job.start, job.end, a => {
      const k = childAt(a)
      if (k >= 0) holdsSample[k] = 1
      return true
    })
    const networks = children.filter((_, k) => holdsSample[k] === 1)
    if (job.part !== undefined) {
      // a block of the container: its child containers are listed in turn like any container answer
      const r = this.parts.resolve(job, listing.children, listing.complete, fetchedAt)
      return { networks, notes: r.notes, next: [...r.next, ...networks.flatMap(n => this.consider(n))] }
    }
    const notes: NegativeRecord[] = []
    const next: ListingJob[] = []
    // cut short where the registry lists by prefix: its halves are listed (listing-parts.ts)
    if (!listing.complete) return { networks, notes, next: this.opts.listsByPrefix(job.registry) ? this.parts.halvesOf(job, job, listing.children) : next }
    // a complete listing marks its container, when the sample is a slice and peers take every child stored
    const slice = networks.every(this.opts.shareable) && this.opts.shareable({ ...job.container, listedSample: 1, listedAt: fetchedAt }) ? this.opts.sampleSlice : undefined
    const waitingIn = new Map<number, number>()
    this.sample.forEachIn(job.start, job.end, a => {
      if (this.isExact(a)) return true
      const k = childAt(a)
      if (k < 0) {
        if (slice === undefined) notes.push({ address: a, registry: job.registry, reason: 'answered', fetchedAt })
      } else if (!isLeaf(children[k].registry, children[k].type)) waitingIn.set(k, (waitingIn.get(k) ?? 0) + 1)
      return true
    })
    for (const [k, n] of waitingIn) {
      if (n >= this.opts.minWaiting) next.push(...this.consider(children[k]))
    }
    if (slice !== undefined) {
      const { listedSample, listedAt, ...container } = job.container
      networks.push({ ...container, listedSample: Math.max(slice, listedSample ?? 0), listedAt: listedSample !== undefined && listedSample > slice ? listedAt : fetchedAt })
    }
    return { networks, notes, next }
  }

  /** sample addresses in [start, end] not exact yet, counted up to `enough` */
  private waiting (start: number, end: number, enough: number): number {
    let n = 0
    this.sample.forEachIn(start, end, a => {
      if (!this.isExact(a)) n++
      return n < enough
    })
    return n
  }
}

/** What running one listing needs from the crawler. */
export interface ListingRun {
  plan: ListingPlan
  lister: ContainerLister
  gate: Pick<RegistryGate, 'beginLookup' | 'noteAnswer' | 'noteRateLimited' | 'noteUnreachable' | 'noteReached'>
  logger: Logger
  /** the container's record as stored (a listing marks that one, not the crawl's later copy, unless it says otherwise) */
  stored: (job: ListingJob) => Promise<NetworkRecord | undefined>
  /** commits a batch; undefined when the store refused it (the crawl stops) */
  commit: (batch: { networks: NetworkRecord[], negatives: NegativeRecord[] }) => Promise<Pick<CommitResult, 'accepted' | 'contested'> | undefined>
  /** hands a listing to its registry's queue */
  enqueue: (job: ListingJob) => void
  /** after a refusal for our rate: the job waits its turn again */
  retryFirst: (job: ListingJob) => void
  accepted: (records: AcceptedRecords) => void
  rateLimited: (registry: RegistryId, pauseMs: number) => void
  /** looks an address up (a probe: listing-parts.ts); the most specific network the registry answered with */
  lookup: (address: number, registry: RegistryId, signal: AbortSignal) => Promise<{ start: number, end: number, registry: RegistryId }>
}

/**
 * Lists one container, or one block of it, or makes a probe's lookup (its slot already reserved at
 * `job.registry`), and commits what that resolves. A refusal for our rate pauses the registry and puts the job back, and so does a
 * failure to reach the registry at all (crawl/reachability.ts); any other failure drops it (its addresses are asked one by one, and a later container answer may list it again).
 */
export async function runListing (run: ListingRun, job: ListingJob, signal: AbortSignal): Promise<void> {
  const { plan, lister, gate, logger } = run
  gate.beginLookup(job.registry, signal)
  const where = { registry: job.registry, container: `${formatIPv4(job.start)} - ${formatIPv4(job.end)}` }
  try {
    if (job.probe !== undefined) {
      const answer = await run.lookup(job.probe, job.registry, signal)
      gate.noteAnswer(job.registry, signal)
      const notes = plan.probed(job, answer, Date.now())
      const committed = notes.length > 0 ? await run.commit({ networks: [], negatives: notes }) : undefined
      if (committed !== undefined) run.accepted(toPublish(committed))
      logger.debug('container edge probed', { ...where, probe: formatIPv4(job.probe), answered: notes.length })
      return
    }
    const listing = await lister.listChildren(job.part ?? job, job.registry, signal)
    gate.noteAnswer(job.registry, signal)
    // the stored record is marked (its fetch time stays the first observation) unless it says
    // otherwise than the registry's answer this job came from (a peer's copy that won the pick
    // rule): then that answer is, and with its listing it wins on every replica
    const stored = await run.stored(job)
    const mark = stored === undefined || contradicts(job.container, stored) ? job : { ...job, container: stored }
    const result = plan.resolve(mark, listing, Date.now())
    const committed = await run.commit({ networks: result.networks, negatives: result.notes })
    if (committed === undefined) return
    run.accepted(toPublish(committed))
    for (const next of result.next) run.enqueue(next)
    logger.debug('container listed', { ...where, ...(job.part !== undefined ? { part: `${formatIPv4(job.part.start)} - ${formatIPv4(job.part.end)}` } : {}), children: result.networks.length, complete: listing.complete, answered: result.notes.length, next: result.next.length })
  } catch (err: any) {
    if (signal.aborted) { plan.forget(job); return }
    if (err?.name === 'RateLimitedError') {
      const pauseMs = gate.noteRateLimited(job.registry, signal, err.retryAfterMs)
      run.rateLimited(job.registry, pauseMs)
      // the pause holds the lookups too: said as a lookup's 429 is (lookup-failure.ts)
      logger.warn('registry rate-limited us; backing off', { registry: job.registry, pauseMs, banned: err.banned === true, listing: `${formatIPv4(job.start)} - ${formatIPv4(job.end)}` })
      run.retryFirst(job)
      return
    }
    const kind = unreachableKind(err)
    if (kind !== undefined && gate.noteUnreachable(job.registry, signal, kind, String(err?.message))) {
      run.retryFirst(job)
      return
    }
    if (kind === undefined) gate.noteReached(job.registry)
    plan.forget(job)
    logger.debug('listing failed; its addresses are asked one by one', { ...where, error: `${String(err?.name ?? 'Error')}: ${String(err?.message ?? err)}` })
  }
}
