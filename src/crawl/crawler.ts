/**
 * The crawl loop: walk the sample in its order, skip what is already known, ask each registry
 * within its rate budget, store what comes back at once.
 *
 * Per registry there is one queue (src/crawl/registry-queue.ts) and one dispatcher. The
 * dispatcher waits until the registry's gate (src/crawl/registry-gate.ts) has a free slot, THEN
 * picks the next address still unresolved — so a network found a moment ago already stops the
 * addresses it covers — and never starts a lookup for an address whose /12 (by default) has one
 * in flight: those are the lookups most likely to return the same network twice. A failed lookup
 * (src/crawl/lookup-failure.ts) is retried or given up on as the retry policy
 * (src/crawl/retry-policy.ts) says; one that did not reach its registry at all waits for the
 * registry instead (src/crawl/reachability.ts).
 */
import { EventEmitter } from 'node:events'
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { registryForAddress } from '../registry/iana.js'
import { isLeaf, type NegativeRecord, type NetworkRecord } from '../record/index.js'
import { formatIPv4 } from '../util/ipv4.js'
import { sliceSizeOf } from '../sample/index.js'
import { RegistryQueues, registryProgress, type RegistryQueue } from './registry-queue.js'
import { RetryPolicy } from './retry-policy.js'
import { SampleTally } from './sample-tally.js'
import { ListingPlan, type ListingJob } from './listing.js'
import { auditOne, auditRound, listOne, type JobRunContext } from './job-runs.js'
import { WakeUp } from './wake-up.js'
import { giveUpOnRegistry, reportReachability } from './reachability.js'
import { CrawlCounterBook } from './counters.js'
import { checkAnswerStood, giveUpContested } from './contradiction.js'
import { CrawlWriter, toPublish } from './crawl-writer.js'
import { handleLookupError, type LookupFailureContext } from './lookup-failure.js'
import {
  type CrawlCounters, type CrawlerEvents, type CrawlerModules, type CrawlerOptions, type CrawlStatus, type CrawlStore, type RegistryProgress, type Routes
} from './interface.js'


export class Crawler extends EventEmitter<CrawlerEvents> {
  private readonly opts: CrawlerOptions
  private readonly modules: CrawlerModules
  private readonly book: CrawlCounterBook
  /** counted here (the book's); `requests` and `withinKnownBlock` see book.all() */
  private readonly counters: CrawlCounters
  private readonly retry: RetryPolicy
  /** built by run() */
  private queues: RegistryQueues | undefined
  private readonly wakeUp = new WakeUp()
  private readonly startedAt = Date.now()
  /** addresses whose registry answer this node is committing (lookupOne judges them itself) */
  private readonly answering = new Set<number>()
  /** one controller per lookup in flight, all aborted when the crawl's signal aborts */
  private readonly lookupControllers = new Set<AbortController>()
  private finished = false
  private running = false
  /** addresses reopened (SampleTally) while no run() was going, or once it was ending: the next run() crawls them */
  private reopenedIdle = 0
  /** a dispatcher of this run found no work left and ended: work added now would wait for no one */
  private draining = false
  /** the crawl's writes, and the write the store refused (then the crawl stops and run() throws it) */
  private readonly writer: CrawlWriter
  /** which registry holds an address by the delegation files (set by setRoutes; see RegistryQueues.home) */
  private routes: Routes | undefined
  private tally: SampleTally | undefined
  /** which containers to list (exact rule with a lister; set by run) */
  private listing: ListingPlan | undefined

  constructor (opts: CrawlerOptions, modules: CrawlerModules) {
    super()
    this.opts = opts
    this.modules = modules
    this.retry = new RetryPolicy(opts)
    this.writer = new CrawlWriter(modules.store, opts.author, modules.logger)
    this.book = new CrawlCounterBook({ requestsSent: () => modules.gate.requestsSent, skipped: () => this.queues?.skipped ?? 0 })
    this.counters = this.book.counted
  }

  /**
   * Routes addresses by the registries' delegation files (src/registry/delegations.ts) rather
   * than by their /8 alone, so transferred space goes straight to its registry instead of through
   * a redirect. Call it before run().
   */
  setRoutes (routes: Routes | undefined): void {
    this.routes = routes
  }

  /** Runs until every sample address is resolved or given up on, or until `signal` aborts. */
  async run (signal?: AbortSignal): Promise<CrawlStatus> {
    this.running = true
    this.draining = false
    this.reopenedIdle = 0
    try {
      return await this.runOnce(signal)
    } finally {
      this.running = false
    }
  }

  /** whether run() is under way */
  get isRunning (): boolean {
    return this.running
  }

  /**
   * Addresses resolved before that a later commit (or a distrust) took back (SampleTally) after
   * the last run() ended or while it was ending — the 'reopened' event says when; run() again
   * crawls them.
   */
  get reopenedSinceRun (): number {
    return this.reopenedIdle
  }

  private async runOnce (signal?: AbortSignal): Promise<CrawlStatus> {
    await this.book.load(this.modules.store)
    const { store, ownership, logger } = this.modules
    const queues = this.queues = new RegistryQueues(this.opts, { store, ownership, routes: this.routes, retry: this.retry, wake: () => this.wakeUp.wake() })
    const { lister } = this.modules
    // the tally follows the index from now on, and queues again what a commit reopens (SampleTally)
    this.sampleTally()
    if (this.opts.resolve === 'exact' && lister !== undefined) {
      this.listing = new ListingPlan(this.sampleTally(), a => store.isExact(a), (r, c) => lister.canList(r, c), {
        minWaiting: this.opts.listingMinWaiting,
        sampleSlice: sliceSizeOf(this.opts.sample),
        shareable: this.modules.shareable ?? (() => true),
        listsByPrefix: r => lister.listsByPrefix(r),
        mostSpecific: a => store.mostSpecificRange(a)
      })
    }
    logger.info('crawl started', {
      sample: this.opts.sample.length,
      queued: Object.fromEntries(REGISTRY_IDS.map(id => [id, queues.byId[id].addresses.length]))
    })
    this.emit('started')
    const onAbort = (): void => {
      for (const ac of this.lookupControllers) ac.abort()
      this.wakeUp.wake()
    }
    signal?.addEventListener('abort', onAbort)
    this.writer.onFatal = onAbort
    const { reachability } = this.modules.gate
    const stopReporting = reportReachability(reachability, logger, { backoffMaxMs: this.modules.gate.opts.unreachableBackoffMaxMs, giveUpMs: this.opts.giveUpUnreachableMs }, {
      unreachable: e => this.emit('unreachable', e),
      // the dispatcher may wait for the probe's end, or for a back-off that has just been lifted
      reachable: e => { this.wakeUp.wake(); this.emit('reachable', e) }
    })
    try {
      await Promise.all(REGISTRY_IDS.map(async id => await this.dispatch(queues, id, signal)))
      await this.writer.idle()
      // what was counted after the last answer's commit (the skips that followed it, above all)
      await this.commit({ meta: this.book.meta() })
    } finally {
      stopReporting()
      signal?.removeEventListener('abort', onAbort)
      this.wakeUp.clear()
    }
    if (this.writer.fatal != null) throw this.writer.fatal
    this.finished = signal?.aborted !== true
    const status = this.status()
    this.emit(this.finished ? 'done' : 'stopped', status)
    return status
  }

  /** A snapshot of counters and per-registry progress. */
  status (): CrawlStatus {
    const { resolved, failed } = this.countSample()
    return {
      counters: this.counterSnapshot(),
      registries: this.registryProgress(),
      sampleTotal: this.opts.sample.length,
      sampleResolved: resolved,
      sampleFailed: failed,
      done: this.finished,
      startedAt: this.startedAt
    }
  }

  /** The counters alone (persisted ones as loaded and counted since): cheap, unlike status(). */
  counterSnapshot (): CrawlCounters {
    let awaiting = 0
    let inFlight = 0
    for (const id of REGISTRY_IDS) {
      const q = this.queues?.byId[id]
      awaiting += (q?.queued ?? 0) + (q?.retries.length ?? 0)
      inFlight += q?.inFlight ?? 0
    }
    return { ...this.book.all(), awaitingRegistry: awaiting, lookingUp: inFlight }
  }

  /** Per-registry queues and rates: cheap, unlike status(), which also counts the whole sample. */
  registryProgress (): Record<RegistryId, RegistryProgress> {
    return registryProgress(this.queues, this.modules.gate)
  }

  /**
   * The sample's size, resolved (reserved and special-purpose space counts as resolved), given
   * up on in this run, and this node's slice (the allocated addresses it owns now) with how much
   * of it is resolved. The first call passes over the sample once (~150 ms for 4.7M addresses);
   * after that the tally follows the store's indexing, and a call costs a pass over 65,536 /16s.
   */
  countSample (): { total: number, resolved: number, failed: number, sliceTotal: number, sliceResolved: number } {
    const { store, ownership } = this.modules
    // ownership is decided per block of at most /16 (src/fleet/ownership.ts), so per /16 suffices
    const c = this.sampleTally().counts(a => ownership?.isMine(a) ?? true)
    return { ...c, failed: this.retry.failedCount(a => store.isResolved(a)) }
  }

  /**
   * The open sample addresses per owner (`ownerOf`, asked per /16; the fleet's ProgressWatch), but
   * those this node gave up on (a dispute, a failing registry: their owner has nothing to show for
   * them either), or undefined before a run counted the sample.
   */
  openByOwner (ownerOf: (address: number) => string): Map<string, number> | undefined {
    return this.tally?.openBy(ownerOf, this.retry.givenUp())
  }

  /** the sample, sorted and tallied: built once (one pass), then kept up to date by the store's indexing events */
  private sampleTally (): SampleTally {
    const isResolved = (a: number): boolean => this.modules.store.isResolved(a)
    this.tally ??= new SampleTally(this.opts.sample, this.modules.store, a => registryForAddress(a) == null,
      // a record replaced in a range may end a dispute there (a listed answer won): its addresses are asked again
      (reopened, ranges) => this.reopen([...reopened, ...this.retry.takeDisputed(isResolved, a => ranges.some(([s, e]) => a >= s && a <= e))]),
      (contested, c) => this.writer.track(giveUpContested({
        logger: this.modules.logger,
        retry: this.retry,
        counters: this.counters,
        commit: async batch => await this.commit({ ...batch, meta: this.book.meta() }),
        settled: open => { this.queues?.forgetForeign(new Set(open)); this.wakeUp.wake() }
      // the stored record replaced: this node asks its own addresses again (the registry says who
      // is right; its answer may lose, and then it is a dispute); it stops waiting for the others'
      }, contested.filter(a => !this.answering.has(a) && (c.replaced !== true || this.modules.ownership?.isMine(a) === false)), c)))
    return this.tally
  }

  /** Addresses to ask again: while the run's dispatchers all go on, they take them; once one has ended, the next run does. */
  private reopen (addresses: number[]): void {
    if (addresses.length === 0) return
    // given up on before (a transient failure, a dispute): asked again now, not passed over
    this.retry.release(addresses)
    if (this.running && !this.draining) { this.queues?.reopen(addresses); return }
    this.reopenedIdle += addresses.length
    this.emit('reopened', addresses.length)
  }

  /**
   * The operator distrusted a peer: the addresses given up on in this run for a dispute
   * (crawl/contradiction.ts) and still open are asked again.
   */
  reopenGivenUp (): void {
    this.reopen(this.retry.takeDisputed(a => this.modules.store.isResolved(a)))
  }

  /**
   * Ownership changed (a peer joined or left): addresses left to others are looked at again, so
   * those of a departed peer — including the ones it had in flight — are taken up by their new
   * owner.
   */
  reconsider (): void {
    if (this.queues == null) return
    this.queues.reconsider()
    this.wakeUp.wake()
  }

  /**
   * Records arrived from elsewhere (gossip, sync): drop foreign addresses they resolved (see
   * RegistryQueues.pruneResolved).
   */
  pruneResolved (): void {
    if (this.queues == null) return
    this.queues.pruneResolved()
    // dispatchers waiting for a slot drop what these records resolved from their queues' fronts
    this.wakeUp.wake()
  }

  /**
   * The limiters' rates changed (this node's budget shares): dispatchers waiting for a slot
   * planned at the old rate look again — after a rise from the floor, the next slot may be
   * milliseconds away instead of a minute.
   */
  ratesChanged (): void {
    this.wakeUp.wake()
  }

  private async dispatch (queues: RegistryQueues, id: RegistryId, signal?: AbortSignal): Promise<void> {
    const q = queues.byId[id]
    const { gate } = this.modules
    while (signal?.aborted !== true && this.writer.fatal == null && queues.anyWork()) {
      if (!q.hasWork) { await this.wakeUp.next(); continue }
      // an unreachable registry is probed one lookup at a time, and given up on after a while
      const unreachable = gate.reachability.isUnreachable(id)
      const giveUpInMs = unreachable ? this.opts.giveUpUnreachableMs - gate.reachability.downForMs(id) : Infinity
      if (giveUpInMs <= 0) { this.counters.failed += giveUpOnRegistry(q, gate.reachability, this.modules.logger); this.wakeUp.wake(); continue }
      if (q.inFlight >= (unreachable ? 1 : this.opts.maxInFlightPerRegistry)) { await this.wakeUp.next(); continue }
      // wait for the registry's next free slot before choosing, so the choice sees every answer
      // that arrived meanwhile
      // (a long wait planned at a low rate is cut short by ratesChanged() when the share rises)
      const delay = Math.min(gate.delayMs(id), giveUpInMs)
      if (delay > 0) {
        // while waiting, drop what others have resolved meanwhile from the front of the queue:
        // otherwise a node at a low rate would hold up the end of the crawl (and claim demand)
        // for addresses that need no lookup any more, until its next slot
        queues.skipResolved(q)
        if (!q.hasWork) continue
        await this.wakeUp.sleep(delay, signal)
        continue
      }
      const job = q.listings.shift()
      if (job !== undefined) {
        // undefined: aborted; false: the registry became unreachable meanwhile (wait for its probe)
        const reserved = await this.reserve(q, signal)
        if (reserved !== true) q.listings.unshift(job)
        if (reserved === undefined) break
        if (reserved && this.listing !== undefined) void listOne(this.jobContext(), this.listing, q, job, signal)
        continue
      }
      const audit = this.modules.audits?.take(id)
      if (audit !== undefined) {
        const reserved = await this.reserve(q, signal)
        if (reserved !== true) this.modules.audits!.untake(audit)
        if (reserved === undefined) break
        if (reserved) void auditOne(this.jobContext(), this.modules.audits!, q, audit, signal)
        continue
      }
      let address = queues.pick(q)
      if (address === undefined) {
        if (!q.hasWork) continue
        const due = q.nextRetryAt - performance.now()
        if (due < Infinity) await this.wakeUp.sleep(Math.max(1, due), signal)
        else await this.wakeUp.next()
        continue
      }
      const reserved = await this.reserve(q, signal)
      if (reserved !== true) q.retryFirst(address)
      if (reserved === undefined) break
      if (!reserved) continue
      // a redirect hop of another lookup may have taken the slot and made us wait: re-check
      address = queues.recheck(q, address)
      if (address === undefined) continue
      void this.lookupOne(queues, q, address, signal)
    }
    // the others may be waiting for work this one could have handed over: let them see it is over
    this.draining = true
    this.wakeUp.wake()
    // wait for this registry's lookups still in flight (after an abort)
    while (q.inFlight > 0) await this.wakeUp.next()
  }

  /**
   * The gate's reserve for what the dispatcher took (`reserving` keeps the other dispatchers
   * alive meanwhile: they would end if no list held work); undefined when aborted.
   */
  private async reserve (q: RegistryQueue, signal?: AbortSignal): Promise<boolean | undefined> {
    q.reserving++
    try { return await this.modules.gate.reserve(q.id, signal).catch(() => undefined) } finally { q.reserving-- }
  }

  private async lookupOne (queues: RegistryQueues, q: RegistryQueue, address: number, signal?: AbortSignal): Promise<void> {
    queues.started(q, address)
    this.counters.lookups++
    this.emit('lookup', q.id)
    const { client, logger, gate } = this.modules
    const ac = new AbortController()
    this.lookupControllers.add(ac)
    if (signal?.aborted === true) ac.abort()
    gate.beginLookup(q.id, ac.signal)
    try {
      const res = await client.lookup(address, q.id, ac.signal)
      gate.noteAnswer(res.registry, ac.signal)
      for (const hop of res.hops) gate.noteReached(hop)
      queues.learnRoute(address, res.registry)
      const record: NetworkRecord = { ...res.network, source: res.source, fetchedAt: Date.now(), queryAddress: address }
      this.counters.gotWhois++
      const hadFailure = this.retry.answered(address)
      // a container answered this very address: its answer is known exactly (crawl/listing.ts)
      const notes: NegativeRecord[] = this.opts.resolve !== 'exact' || isLeaf(record.registry, record.type) ? [] : [{ address, registry: record.registry, reason: 'answered', fetchedAt: record.fetchedAt }]
      // a peer's copy kept against the answer leaves the address open: said and given up on here,
      // with the registry's answer in the reason (not by the commit's contested range)
      this.answering.add(address)
      let committed
      try {
        committed = await this.commit({ networks: [record], negatives: notes, clearFailures: hadFailure ? [address] : undefined, meta: this.book.meta() })
        if (committed == null) return
        this.emit('accepted', toPublish(committed))
        const lost = committed.contested.find(c => c.kind === 'network' && c.replaced !== true && c.record.start === record.start && c.record.end === record.end)
        const contradiction = await checkAnswerStood({ ...this.failureContext(), store: this.modules.store }, q, address, record, lost?.kind === 'network' ? lost.kept : undefined)
        if (contradiction !== undefined) this.emit('contradicted', contradiction)
      } finally {
        this.answering.delete(address)
      }
      for (const job of this.listing?.consider(record) ?? []) this.enqueueListing(job)
      logger.debug('network stored', { address: formatIPv4(address), cidr: record.cidrs.join(','), registry: record.registry, handle: record.handle })
      this.emit('network', record)
    } catch (err: any) {
      await handleLookupError(this.failureContext(), q, address, err, ac.signal, signal)
    } finally {
      this.lookupControllers.delete(ac)
      queues.ended(q, address)
      this.wakeUp.wake()
    }
  }

  private enqueueListing (job: ListingJob): void {
    this.queues?.byId[job.registry].listings.push(job)
    this.wakeUp.wake()
  }

  /**
   * Between runs (a service node whose crawl is done): runs the audits earned (Audits.earn), one
   * per registry at most, each in a slot of that registry's limiter; resolves when they end.
   */
  async auditIdle (signal?: AbortSignal): Promise<number> {
    const audits = this.modules.audits
    return audits === undefined || this.running ? 0 : await auditRound(this.jobContext(), audits, signal)
  }

  /** what a listing or an audit may touch (crawl/job-runs.ts) */
  private jobContext (): JobRunContext {
    return {
      modules: this.modules,
      counters: this.counters,
      controllers: this.lookupControllers,
      wake: () => this.wakeUp.wake(),
      commit: async batch => await this.commit({ ...batch, meta: this.book.meta() }),
      accepted: records => this.emit('accepted', records),
      rateLimited: (registry, pauseMs) => this.emit('rate-limited', { registry, pauseMs }),
      lookup: registry => this.emit('lookup', registry),
      enqueueListing: job => this.enqueueListing(job)
    }
  }

  /** what a failed lookup may touch (crawl/lookup-failure.ts) */
  private failureContext (): LookupFailureContext {
    return {
      modules: this.modules,
      counters: this.counters,
      retry: this.retry,
      queues: this.queues!,
      wakeUp: this.wakeUp,
      stopping: () => this.writer.fatal != null,
      commit: async batch => await this.commit({ ...batch, meta: this.book.meta() }),
      accepted: records => this.emit('accepted', records),
      rateLimited: e => this.emit('rate-limited', e)
    }
  }

  /** Writes to the store as this node's (crawl-writer.ts); undefined when the store refused it (the crawl stops). */
  private async commit (batch: Parameters<CrawlStore['commit']>[0]): Promise<Awaited<ReturnType<CrawlStore['commit']>> | undefined> {
    return await this.writer.commit(batch)
  }
}
