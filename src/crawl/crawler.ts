/**
 * The crawl loop: walk the sample in its order, skip what is already known, ask each registry
 * within its rate budget, store what comes back at once.
 *
 * Per registry there is one queue (the unresolved sample addresses that route to it, in sample
 * order) and one dispatcher. The dispatcher waits until the registry's limiter has a free slot,
 * THEN picks the next address still unresolved — so a network found a moment ago already stops
 * the addresses it covers — and never starts a lookup for an address whose /16 (by default) has
 * one in flight: those are the lookups most likely to return the same network twice.
 */
import { EventEmitter } from 'node:events'
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { registryForAddress } from '../registry/iana.js'
import type { NetworkRecord } from '../record/index.js'
import { formatIPv4 } from '../util/ipv4.js'
import type { Logger } from '../util/logger.js'
import { AbortedError, type RateLimiter } from './rate-limiter.js'
import { SampleTally } from './sample-tally.js'
import {
  PERSISTED_COUNTERS, type AddressLookup, type CrawlCounters, type CrawlerOptions, type CrawlStatus,
  type RegistryProgress
} from './interface.js'

/** The parts of the store the crawl loop uses (src/store NetworkStore provides them). */
export interface CrawlStore {
  isResolved: (address: number) => boolean
  isCovered: (address: number) => boolean
  commit: (batch: {
    networks?: NetworkRecord[]
    negatives?: Array<{ address: number, registry: RegistryId, reason: 'not-found' | 'reserved', fetchedAt: number }>
    failures?: Array<{ address: number, registry: RegistryId, reason: string, attempts: number, at: number }>
    clearFailures?: number[]
    meta?: Record<string, unknown>
  }) => Promise<{ accepted: { networks: NetworkRecord[], negatives: Array<{ address: number, registry: RegistryId, reason: 'not-found' | 'reserved', fetchedAt: number }> } }>
  getMeta: (key: string) => Promise<unknown>
  /** called after each commit that indexed new networks or negatives (NetworkStore.onIndexed) */
  onIndexed: (fn: (e: { ranges: Array<[number, number]>, addresses: number[] }) => void) => () => void
}

export interface CrawlerModules {
  store: CrawlStore
  client: AddressLookup
  limiters: Record<RegistryId, RateLimiter>
  logger: Logger
  /**
   * In a mesh: which addresses this node looks up (the rest are left to their owners and arrive
   * by gossip). Absent: every address is this node's.
   */
  ownership?: { isMine: (address: number) => boolean }
}

export const COUNTERS_META_KEY = 'crawl.counters'

/** Which registry holds an address, where known (src/registry/delegations.ts DelegationTable). */
export interface Routes {
  registryFor: (address: number) => RegistryId | undefined
}

interface Retry { address: number, readyAt: number }

/** A list consumed from the front in O(1), compacted now and then. */
class Fifo {
  private items: number[] = []
  private head = 0

  get size (): number { return this.items.length - this.head }
  push (a: number): void { this.items.push(a) }

  /** Takes the first entry, or undefined. */
  shift (): number | undefined {
    if (this.head >= this.items.length) return undefined
    const a = this.items[this.head++]
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return a
  }

  /** The first entry without taking it. */
  peek (): number | undefined { return this.head < this.items.length ? this.items[this.head] : undefined }

  /** Keeps only the entries `keep` accepts (a full pass). */
  filter (keep: (a: number) => boolean): void {
    this.items = this.items.slice(this.head).filter(keep)
    this.head = 0
  }

  /** Moves every entry to the end of `to`, in order. */
  drainTo (to: Fifo): void {
    for (let i = this.head; i < this.items.length; i++) to.push(this.items[i])
    this.items = []
    this.head = 0
  }
}

class RegistryQueue {
  readonly id: RegistryId
  /** sample addresses routed here, in crawl order */
  readonly addresses: Uint32Array
  cursor = 0
  /** addresses handed over by another registry's queue or taken back from departed peers */
  readonly deferred = new Fifo()
  retries: Retry[] = []
  /**
   * unresolved addresses another node owns, in the order met; looked at again when membership
   * changes. Owners crawl in sample order too, so resolved ones gather at the front.
   */
  readonly foreign = new Fifo()
  inFlight = 0
  requests = 0
  /** addresses passed over because their block had a lookup in flight, per block, in order */
  readonly parked = new Map<number, number[]>()
  parkedCount = 0
  /** parked addresses whose block is free again, looked at before `deferred` */
  readonly unparked = new Fifo()

  constructor (id: RegistryId, addresses: Uint32Array) { this.id = id; this.addresses = addresses }

  park (block: number, a: number): void {
    const list = this.parked.get(block)
    if (list === undefined) this.parked.set(block, [a])
    else list.push(a)
    this.parkedCount++
  }

  get queued (): number { return this.addresses.length - this.cursor + this.deferred.size + this.parkedCount + this.unparked.size }
}

export class Crawler extends EventEmitter {
  private readonly opts: CrawlerOptions
  private readonly modules: CrawlerModules
  private readonly counters: CrawlCounters = {
    awaitingRegistry: 0,
    lookingUp: 0,
    gotWhois: 0,
    failed: 0,
    withinKnownBlock: 0,
    unallocated: 0,
    rateLimited: 0,
    lookups: 0,
    requests: 0,
    retries: 0
  }

  private queues!: Record<RegistryId, RegistryQueue>
  private readonly blocksInFlight = new Map<number, number>()
  /**
   * Where transfers were found: block → the registry that answered for an address of it when the
   * /8's registry did not. Later addresses of the block go there first, saving the redirect hop
   * (a wrong guess costs nothing more: that registry redirects like any other).
   */
  private readonly routeHints = new Map<number, RegistryId>()
  private readonly attempts = new Map<number, { transient: number, malformed: number, lastError: string }>()
  private readonly failedNow = new Set<number>()
  /** rounds of cool-down retries each given-up address has had in this run */
  private readonly failedRounds = new Map<number, number>()
  private readonly rateLimitStreak: Record<RegistryId, number> = { arin: 0, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 }
  /**
   * When (performance.now()) each registry's last rate-limit answer arrived. Answers to lookups
   * that were already in flight then belong to the same refusal and do not escalate the back-off:
   * with N lookups in flight, one burst of N 429s would otherwise double the pause N times.
   * What counts is when a lookup's last request left (see `lastSentAt`): a WHOIS fallback or a
   * redirect hop that waited out the pause and is refused again is a new refusal, and escalates.
   * Likewise only an answer to a request sent after the last refusal ends the streak: one sent
   * before it says nothing about whether the registry lifted its limit.
   */
  private readonly rateLimitedAt: Record<RegistryId, number> = { arin: -Infinity, ripe: -Infinity, apnic: -Infinity, lacnic: -Infinity, afrinic: -Infinity }
  private wakeUp: (() => void) | undefined
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private readonly startedAt = Date.now()
  private readonly prepaid = new WeakMap<AbortSignal, RegistryId>()
  /** per lookup (its signal): when its latest request was let through (performance.now()) */
  private readonly lastSentAt = new WeakMap<AbortSignal, number>()
  /** one controller per lookup in flight, all aborted when the crawl's signal aborts */
  private readonly lookupControllers = new Set<AbortController>()
  private finished = false
  /** the store refused a write (disk full, I/O error, corruption): the crawl stops and run() throws it */
  private fatal: Error | undefined
  /** which registry holds an address by the delegation files (set by setRoutes; see home()) */
  private routes: Routes | undefined
  /** aborts the lookups in flight and wakes the dispatchers (set by run) */
  private onFatal: (() => void) | undefined

  constructor (opts: CrawlerOptions, modules: CrawlerModules) {
    super()
    this.opts = opts
    this.modules = modules
  }

  /**
   * Routes addresses by the registries' delegation files (src/registry/delegations.ts) rather
   * than by their /8 alone, so transferred space goes straight to its registry instead of through
   * a redirect. Call it before run().
   */
  setRoutes (routes: Routes | undefined): void {
    this.routes = routes
  }

  /**
   * The registry to ask first about `a`: the delegation files' holder, else its /8's registry;
   * undefined for special-purpose and reserved space (never asked).
   */
  private home (a: number): RegistryId | undefined {
    const iana = registryForAddress(a)
    if (iana == null) return undefined
    return this.routes?.registryFor(a) ?? iana
  }

  /** Runs until every sample address is resolved or given up on, or until `signal` aborts. */
  async run (signal?: AbortSignal): Promise<CrawlStatus> {
    await this.loadCounters()
    this.buildQueues()
    const { logger } = this.modules
    logger.info('crawl started', {
      sample: this.opts.sample.length,
      queued: Object.fromEntries(REGISTRY_IDS.map(id => [id, this.queues[id].addresses.length]))
    })
    const onAbort = (): void => {
      for (const ac of this.lookupControllers) ac.abort()
      this.wake()
    }
    signal?.addEventListener('abort', onAbort)
    this.onFatal = onAbort
    try {
      await Promise.all(REGISTRY_IDS.map(async id => await this.dispatch(id, signal)))
    } finally {
      signal?.removeEventListener('abort', onAbort)
      for (const t of this.timers) clearTimeout(t)
      this.timers.clear()
    }
    if (this.fatal != null) throw this.fatal
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
      const q = this.queues?.[id]
      awaiting += (q?.queued ?? 0) + (q?.retries.length ?? 0)
      inFlight += q?.inFlight ?? 0
    }
    return { ...this.counters, awaitingRegistry: awaiting, lookingUp: inFlight }
  }

  /** Per-registry queues and rates: cheap, unlike status(), which also counts the whole sample. */
  registryProgress (): Record<RegistryId, RegistryProgress> {
    const registries = {} as Record<RegistryId, RegistryProgress>
    for (const id of REGISTRY_IDS) {
      const q = this.queues?.[id]
      const lim = this.modules.limiters[id]
      registries[id] = {
        queued: q?.queued ?? 0,
        othersOwn: q?.foreign.size ?? 0,
        inFlight: q?.inFlight ?? 0,
        hopsWaiting: this.hopsWaiting[id],
        retrying: q?.retries.length ?? 0,
        budgetPerSecond: lim.ratePerSecond,
        pausedForMs: Math.round(lim.pausedForMs()),
        requests: q?.requests ?? 0
      }
    }
    return registries
  }

  /**
   * The sample's size, resolved (reserved and special-purpose space counts as resolved), given
   * up on in this run, and this node's slice (the allocated addresses it owns now) with how much
   * of it is resolved. The first call passes over the sample once (~150 ms for 4.7M addresses);
   * after that the tally follows the store's indexing, and a call costs a pass over 65,536 /16s.
   */
  countSample (): { total: number, resolved: number, failed: number, sliceTotal: number, sliceResolved: number } {
    const { store } = this.modules
    if (this.tally === undefined) {
      // built once (one pass), then kept up to date by the store's indexing events
      this.tally = new SampleTally(this.opts.sample, store, a => registryForAddress(a) == null)
    }
    // ownership is decided per block of at most /16 (src/crawl/ownership.ts), so per /16 suffices
    const c = this.tally.counts(a => this.isMine(a))
    let failed = 0
    for (const a of this.failedNow) if (!store.isResolved(a)) failed++
    return { ...c, failed }
  }

  private tally: SampleTally | undefined

  private async loadCounters (): Promise<void> {
    const saved = await this.modules.store.getMeta(COUNTERS_META_KEY) as Partial<CrawlCounters> | undefined
    if (saved == null) return
    for (const k of PERSISTED_COUNTERS) {
      const v = saved[k]
      if (typeof v === 'number' && Number.isFinite(v)) this.counters[k] = v
    }
  }

  private persistedCounters (): Record<string, number> {
    return Object.fromEntries(PERSISTED_COUNTERS.map(k => [k, this.counters[k]]))
  }

  private buildQueues (): void {
    const { store } = this.modules
    const sample = this.opts.sample
    const route = new Uint8Array(sample.length) // 0 = nothing to do, else registry index + 1
    const sizes = new Array<number>(REGISTRY_IDS.length).fill(0)
    for (let i = 0; i < sample.length; i++) {
      const a = sample[i]
      const reg = this.home(a)
      if (reg == null) continue
      if (store.isResolved(a)) continue
      const r = REGISTRY_IDS.indexOf(reg)
      route[i] = r + 1
      sizes[r]++
    }
    const arrays = sizes.map(n => new Uint32Array(n))
    const fill = new Array<number>(REGISTRY_IDS.length).fill(0)
    for (let i = 0; i < sample.length; i++) {
      const r = route[i]
      if (r === 0) continue
      arrays[r - 1][fill[r - 1]++] = sample[i]
    }
    this.queues = Object.fromEntries(REGISTRY_IDS.map((id, r) => [id, new RegistryQueue(id, arrays[r])])) as Record<RegistryId, RegistryQueue>
  }

  private blockOf (address: number): number {
    return Math.floor(address / 2 ** (32 - this.opts.blockPrefixLength))
  }

  /** Next address to look up for this registry, or undefined if none can start now. */
  private pick (q: RegistryQueue): number | undefined {
    const now = performance.now()
    // 1. retries whose time has come
    this.dropResolvedRetries(q)
    for (let i = 0; i < q.retries.length; i++) {
      const r = q.retries[i]
      if (r.readyAt > now) continue
      if (!this.isMine(r.address)) { q.retries.splice(i--, 1); q.foreign.push(r.address); continue }
      if (this.blocksInFlight.has(this.blockOf(r.address))) continue
      q.retries.splice(i, 1)
      return r.address
    }
    // 2. addresses passed over because their block was busy: the blocks parked are few (those
    // with lookups in flight when they were met), so this is cheap however many addresses wait
    for (const [block, list] of q.parked) {
      if (this.blocksInFlight.has(block)) continue
      q.parked.delete(block)
      q.parkedCount -= list.length
      for (const a of list) q.unparked.push(a)
    }
    // 3. those, then addresses handed over by another registry or taken back from departed
    // peers (may be many: consumed in order)
    for (const list of [q.unparked, q.deferred]) {
      for (let a = list.shift(); a !== undefined; a = list.shift()) if (this.canStart(q, a)) return a
    }
    // 4. the queue, in sample order
    while (q.cursor < q.addresses.length) {
      const a = q.addresses[q.cursor++]
      if (this.canStart(q, a)) return a
    }
    return undefined
  }

  /**
   * Drops resolved addresses from the fronts of `q`'s lists (and foreign ones from the front of
   * its queue), without taking a slot; each address is dropped once, so this costs what it drops.
   */
  private skipResolved (q: RegistryQueue): void {
    const { store } = this.modules
    while (q.cursor < q.addresses.length) {
      const a = q.addresses[q.cursor]
      if (store.isResolved(a)) this.counters.withinKnownBlock++
      else if (!this.isMine(a)) q.foreign.push(a)
      else break
      q.cursor++
    }
    for (const list of [q.unparked, q.deferred]) {
      for (let a = list.peek(); a !== undefined && store.isResolved(a); a = list.peek()) { list.shift(); this.counters.withinKnownBlock++ }
    }
    for (const [block, list] of q.parked) {
      const keep = list.filter(a => !store.isResolved(a))
      if (keep.length === list.length) continue
      q.parkedCount -= list.length - keep.length
      this.counters.withinKnownBlock += list.length - keep.length
      if (keep.length === 0) q.parked.delete(block)
      else q.parked.set(block, keep)
    }
    this.dropResolvedRetries(q)
  }

  /** Drops the retries of addresses resolved meanwhile (by this node, a peer, another address). */
  private dropResolvedRetries (q: RegistryQueue): void {
    const { store } = this.modules
    if (!q.retries.some(r => store.isResolved(r.address))) return
    q.retries = q.retries.filter(r => {
      if (!store.isResolved(r.address)) return true
      this.attempts.delete(r.address)
      return false
    })
  }

  /**
   * Whether `a`, taken from one of `q`'s lists, can be looked up now; if not, it goes where it
   * belongs: nowhere (resolved), to the foreign list, to another registry, or parked by block.
   */
  private canStart (q: RegistryQueue, a: number): boolean {
    if (this.modules.store.isResolved(a)) { this.counters.withinKnownBlock++; return false }
    if (!this.isMine(a)) { q.foreign.push(a); return false }
    if (this.handOver(q, a)) return false
    const block = this.blockOf(a)
    if (this.blocksInFlight.has(block)) { q.park(block, a); return false }
    return true
  }

  /**
   * Moves `a` to the registry a route hint names, if that is not `q`'s. The delegation files,
   * where they name the holder of `a`, are more precise than a hint learned per block.
   */
  private handOver (q: RegistryQueue, a: number): boolean {
    const target = this.routeHints.get(this.blockOf(a))
    if (target === undefined || target === q.id || this.routes?.registryFor(a) !== undefined) return false
    this.queues[target].deferred.push(a)
    this.wake()
    return true
  }

  private hasWork (q: RegistryQueue): boolean {
    return q.cursor < q.addresses.length || q.deferred.size > 0 || q.parkedCount > 0 || q.unparked.size > 0 || q.retries.length > 0 || q.inFlight > 0 || q.foreign.size > 0
  }

  private isMine (address: number): boolean {
    return this.modules.ownership?.isMine(address) ?? true
  }

  /**
   * Ownership changed (a peer joined or left): addresses left to others are looked at again, so
   * those of a departed peer — including the ones it had in flight — are taken up by their new
   * owner.
   */
  reconsider (): void {
    if (this.queues == null) return
    for (const id of REGISTRY_IDS) {
      const q = this.queues[id]
      q.foreign.drainTo(q.deferred)
    }
    this.wake()
  }

  /**
   * Records arrived from elsewhere (gossip, sync): drop foreign addresses they resolved. A short
   * list is passed over whole; a long one (at the full sample a node holds millions, and a full
   * pass on every batch of records kept a core busy) loses only the resolved entries at its front
   * (owners crawl in sample order too), with a full pass at most every fullPruneIntervalMs.
   */
  pruneResolved (): void {
    if (this.queues == null) return
    const { store } = this.modules
    // a short list is cheap to pass over: the end of a crawl is seen at once
    const held = REGISTRY_IDS.reduce((n, id) => n + this.queues[id].foreign.size, 0)
    const full = held <= 65_536 || performance.now() - this.lastFullPrune >= this.opts.fullPruneIntervalMs
    if (full) this.lastFullPrune = performance.now()
    for (const id of REGISTRY_IDS) {
      const q = this.queues[id]
      if (full) { q.foreign.filter(a => !store.isResolved(a)); continue }
      for (let a = q.foreign.peek(); a !== undefined && store.isResolved(a); a = q.foreign.peek()) q.foreign.shift()
    }
    // dispatchers waiting for a slot drop what these records resolved from their queues' fronts
    this.wake()
  }

  private lastFullPrune = -Infinity

  /** Work anywhere: a registry with an empty queue may still be handed addresses by another. */
  private anyWork (): boolean {
    return REGISTRY_IDS.some(id => this.hasWork(this.queues[id]))
  }

  private wake (): void {
    const w = this.wakeUp
    this.wakeUp = undefined
    w?.()
  }

  /** Resolves at the next event that may make work available (a lookup ends, a retry is due). */
  private nextEvent (): Promise<void> {
    return new Promise(resolve => {
      const prev = this.wakeUp
      this.wakeUp = () => { prev?.(); resolve() }
    })
  }

  private async dispatch (id: RegistryId, signal?: AbortSignal): Promise<void> {
    const q = this.queues[id]
    const limiter = this.modules.limiters[id]
    while (signal?.aborted !== true && this.fatal == null && this.anyWork()) {
      if (!this.hasWork(q)) { await this.nextEvent(); continue }
      if (q.inFlight >= this.opts.maxInFlightPerRegistry) { await this.nextEvent(); continue }
      // wait for the registry's next free slot before choosing, so the choice sees every answer
      // that arrived meanwhile
      // (a long wait planned at a low rate is cut short by ratesChanged() when the share rises)
      const delay = limiter.delayMs()
      if (delay > 0) {
        // while waiting, drop what others have resolved meanwhile from the front of the queue:
        // otherwise a node at a low rate would hold up the end of the crawl (and claim demand)
        // for addresses that need no lookup any more, until its next slot
        this.skipResolved(q)
        if (!this.hasWork(q)) continue
        await this.sleepOrWake(delay, signal)
        continue
      }
      let address = this.pick(q)
      if (address === undefined) {
        if (!this.hasWork(q)) continue
        const due = q.retries.length > 0 ? Math.min(...q.retries.map(r => r.readyAt)) - performance.now() : Infinity
        if (due < Infinity) await this.sleepOrWake(Math.max(1, due), signal)
        else await this.nextEvent()
        continue
      }
      try {
        await limiter.acquire(signal)
      } catch {
        q.retries.unshift({ address, readyAt: 0 })
        break
      }
      // a redirect hop of another lookup may have taken the slot and made us wait: re-check
      while (address !== undefined && this.modules.store.isResolved(address)) {
        this.counters.withinKnownBlock++
        address = this.pick(q)
      }
      if (address === undefined) continue
      void this.lookupOne(id, q, address, signal)
    }
    // the others may be waiting for work this one could have handed over: let them see it is over
    this.wake()
    // wait for this registry's lookups still in flight (after an abort)
    while (q.inFlight > 0) await this.nextEvent()
  }

  /**
   * The rate-limit gate the registry client calls before every request it sends. The first
   * request of a lookup was paid for by the dispatcher (see dispatch) and passes at once.
   */
  async acquire (registry: RegistryId, signal?: AbortSignal): Promise<void> {
    if (signal != null && this.prepaid.get(signal) === registry) {
      this.prepaid.delete(signal)
      return
    }
    // a redirect hop: while it waits it is work for that registry (the node's demand for it, so
    // its share there is not the floor when its own queue for it is empty)
    this.hopsWaiting[registry]++
    try {
      await this.modules.limiters[registry].acquire(signal)
    } finally {
      this.hopsWaiting[registry]--
    }
    if (signal != null) this.lastSentAt.set(signal, performance.now())
  }

  private readonly hopsWaiting: Record<RegistryId, number> = { arin: 0, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 }

  /**
   * The limiters' rates changed (this node's budget shares): dispatchers waiting for a slot
   * planned at the old rate look again — after a rise from the floor, the next slot may be
   * milliseconds away instead of a minute.
   */
  ratesChanged (): void {
    this.wake()
  }

  /** Counts a request the registry client sent (its onRequest hook). */
  noteRequest (registry: RegistryId): void {
    this.counters.requests++
    const q = this.queues?.[registry]
    if (q != null) q.requests++
  }

  private async sleepOrWake (ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return
    await new Promise<void>(resolve => {
      const t = setTimeout(() => { this.timers.delete(t); resolve() }, Math.ceil(ms))
      this.timers.add(t)
      void this.nextEvent().then(() => { clearTimeout(t); this.timers.delete(t); resolve() })
    })
  }

  private async lookupOne (id: RegistryId, q: RegistryQueue, address: number, signal?: AbortSignal): Promise<void> {
    const block = this.blockOf(address)
    this.blocksInFlight.set(block, (this.blocksInFlight.get(block) ?? 0) + 1)
    q.inFlight++
    this.counters.lookups++
    const { client, logger } = this.modules
    const ac = new AbortController()
    this.lookupControllers.add(ac)
    if (signal?.aborted === true) ac.abort()
    this.prepaid.set(ac.signal, id)
    this.lastSentAt.set(ac.signal, performance.now())
    try {
      const res = await client.lookup(address, id, ac.signal)
      if (this.lastSentAt.get(ac.signal)! >= this.rateLimitedAt[res.registry]) this.rateLimitStreak[res.registry] = 0
      if (res.registry !== this.home(address)) this.routeHints.set(block, res.registry)
      else this.routeHints.delete(block)
      const record: NetworkRecord = { ...res.network, source: res.source, fetchedAt: Date.now(), queryAddress: address }
      this.counters.gotWhois++
      const hadFailure = this.attempts.has(address) || this.failedNow.has(address)
      this.attempts.delete(address)
      this.failedNow.delete(address)
      const committed = await this.commit({ networks: [record], clearFailures: hadFailure ? [address] : undefined, meta: { [COUNTERS_META_KEY]: this.persistedCounters() } })
      if (committed == null) return
      this.emit('accepted', committed.accepted)
      logger.debug('network stored', { address: formatIPv4(address), cidr: record.cidrs.join(','), registry: record.registry, handle: record.handle })
      this.emit('network', record)
    } catch (err: any) {
      await this.handleError(id, q, address, err, signal, this.lastSentAt.get(ac.signal))
    } finally {
      this.lookupControllers.delete(ac)
      q.inFlight--
      const n = (this.blocksInFlight.get(block) ?? 1) - 1
      if (n <= 0) this.blocksInFlight.delete(block)
      else this.blocksInFlight.set(block, n)
      this.wake()
    }
  }

  /** @param sentAt when the failed lookup's last request left (rate-limit refusals: see rateLimitedAt) */
  private async handleError (id: RegistryId, q: RegistryQueue, address: number, err: any, signal?: AbortSignal, sentAt = performance.now()): Promise<void> {
    const { logger, limiters } = this.modules
    const ip = formatIPv4(address)
    if (err instanceof AbortedError || signal?.aborted === true || this.fatal != null) {
      // shutting down: the address stays unresolved and is asked again next run
      this.counters.lookups--
      return
    }
    switch (err?.name) {
      case 'NotFoundError': {
        this.counters.unallocated++
        const res = await this.commit({
          negatives: [{ address, registry: err.registry ?? id, reason: 'not-found', fetchedAt: Date.now() }],
          clearFailures: this.failedNow.delete(address) ? [address] : undefined,
          meta: { [COUNTERS_META_KEY]: this.persistedCounters() }
        })
        if (res == null) return
        this.emit('accepted', res.accepted)
        this.attempts.delete(address)
        return
      }
      case 'RateLimitedError': {
        const reg: RegistryId = err.registry ?? id
        this.counters.rateLimited++
        this.counters.lookups-- // not an answer: the address goes back to the front of the queue
        // a request sent before the previous refusal arrived is part of that refusal
        const sameRefusal = sentAt < this.rateLimitedAt[reg]
        if (!sameRefusal) this.rateLimitedAt[reg] = performance.now()
        const streak = sameRefusal ? Math.max(1, this.rateLimitStreak[reg]) : ++this.rateLimitStreak[reg]
        const backoff = Math.min(this.opts.rateLimitBackoffMaxMs, this.opts.rateLimitBackoffBaseMs * 2 ** (streak - 1))
        const pauseMs = Math.max(err.retryAfterMs ?? 0, backoff)
        limiters[reg].pauseFor(pauseMs)
        this.emit('rate-limited', { registry: reg, pauseMs })
        logger.warn('registry rate-limited us; backing off', { registry: reg, pauseMs, banned: err.banned === true, address: ip })
        q.retries.unshift({ address, readyAt: 0 })
        return
      }
      case 'TransientLookupError':
      case 'MalformedResponseError': {
        const a = this.attempts.get(address) ?? { transient: 0, malformed: 0, lastError: '' }
        const malformed = err.name === 'MalformedResponseError'
        if (malformed) a.malformed++
        else a.transient++
        a.lastError = `${err.name}${err.kind != null ? `(${String(err.kind)})` : ''}: ${String(err.message)}`
        this.attempts.set(address, a)
        const attemptsUsed = malformed ? a.malformed : a.transient
        const maxAttempts = malformed ? this.opts.maxMalformedAttempts : this.opts.maxTransientAttempts
        if (attemptsUsed < maxAttempts) {
          this.counters.retries++
          const delay = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** (attemptsUsed - 1))
          q.retries.push({ address, readyAt: performance.now() + delay })
          this.scheduleWake(delay)
          logger.debug('lookup failed; will retry', { address: ip, registry: id, attempt: attemptsUsed, delayMs: delay, error: a.lastError })
          return
        }
        await this.giveUp(id, address, a.transient + a.malformed, a.lastError)
        return
      }
      default: {
        const reason = `${String(err?.name ?? 'Error')}: ${String(err?.message ?? err)}`
        if (err?.name !== 'TooManyRedirectsError') logger.error('unexpected lookup error', { address: ip, registry: id, error: reason })
        await this.giveUp(id, address, 1, reason)
      }
    }
  }

  /**
   * Records the address as failed, with the reason. With `failedRetryMs`, it is asked again after
   * a cool-down (doubling each round, at most `failedRetryRounds` rounds in this run), with its
   * full attempts; otherwise at the next start.
   */
  private async giveUp (id: RegistryId, address: number, attempts: number, reason: string): Promise<void> {
    this.counters.failed++
    this.attempts.delete(address)
    this.failedNow.add(address)
    const { failedRetryMs, failedRetryMaxMs, failedRetryRounds } = this.opts
    const round = (this.failedRounds.get(address) ?? 0) + 1
    const retryInMs = failedRetryMs > 0 && round <= failedRetryRounds ? Math.min(failedRetryMaxMs, failedRetryMs * 2 ** (round - 1)) : undefined
    this.modules.logger.warn('giving up on address', { address: formatIPv4(address), registry: id, attempts, reason, ...(retryInMs !== undefined ? { retryInMs } : {}) })
    await this.commit({
      failures: [{ address, registry: id, reason, attempts, at: Date.now() }],
      meta: { [COUNTERS_META_KEY]: this.persistedCounters() }
    })
    if (retryInMs !== undefined && this.fatal == null) {
      this.failedRounds.set(address, round)
      this.queues[id].retries.push({ address, readyAt: performance.now() + retryInMs })
      this.scheduleWake(retryInMs)
    }
  }

  /**
   * Writes to the store. A write the store refuses (disk full, I/O error, corruption) stops the
   * crawl: lookups in flight are aborted, run() throws the error, and what was committed before
   * stays; the address of the failed write is still unresolved and is asked again next run.
   * Returns undefined then.
   */
  private async commit (batch: Parameters<CrawlStore['commit']>[0]): Promise<Awaited<ReturnType<CrawlStore['commit']>> | undefined> {
    if (this.fatal != null) return undefined
    try {
      return await this.modules.store.commit(batch)
    } catch (err: any) {
      if (this.fatal == null) {
        this.fatal = err instanceof Error ? err : new Error(String(err))
        this.modules.logger.error('the store refused a write; stopping the crawl', { error: String(err?.message ?? err) })
        this.onFatal?.()
      }
      return undefined
    }
  }

  private scheduleWake (ms: number): void {
    const t = setTimeout(() => { this.timers.delete(t); this.wake() }, Math.ceil(ms))
    this.timers.add(t)
  }
}
