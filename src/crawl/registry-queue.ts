/**
 * The crawl's queues: per registry, the unresolved sample addresses that route to it, in sample
 * order, with the lists an address moves through on its way to a lookup.
 *
 * `pick` chooses the next address a registry's dispatcher looks up: retries whose time has come,
 * then addresses parked because their block had a lookup in flight (once the block is free), then
 * addresses handed over from elsewhere, then the queue in sample order. On the way it drops what
 * is resolved already (a network found a moment ago stops the addresses it covers), leaves what
 * another node owns to its owner, hands an address to the registry a route hint names, and parks
 * an address whose block (a /`blockPrefixLength`) has a lookup in flight: two lookups of one block
 * are the ones most likely to return the same network twice.
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { registryForAddress } from '../registry/iana.js'
import type { AddressOwnership, CrawlerOptions, CrawlStore, RegistryProgress, Routes } from './interface.js'
import type { RegistryGate } from './registry-gate.js'
import type { ListingJob } from './listing.js'

/** A list consumed from the front in O(1), compacted now and then. */
export class Fifo {
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

  /** Drops entries from the front while `drop` accepts them; returns how many. */
  dropFront (drop: (a: number) => boolean): number {
    let n = 0
    for (let a = this.peek(); a !== undefined && drop(a); a = this.peek()) { this.shift(); n++ }
    return n
  }
}

export interface Retry { address: number, readyAt: number }

/** One registry's queue and the lists beside it. */
export class RegistryQueue {
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
  /**
   * an address or listing taken by the dispatcher and waiting for its slot: work that is in no
   * list and not yet in flight, which must still keep every dispatcher alive (see anyWork)
   */
  reserving = 0
  /** addresses passed over because their block had a lookup in flight, per block, in order */
  readonly parked = new Map<number, number[]>()
  parkedCount = 0
  /** parked addresses whose block is free again, looked at before `deferred` */
  readonly unparked = new Fifo()
  /** containers to list (crawl/listing.ts), taken before any address: one listing may resolve many */
  listings: ListingJob[] = []

  constructor (id: RegistryId, addresses: Uint32Array) { this.id = id; this.addresses = addresses }

  park (block: number, a: number): void {
    const list = this.parked.get(block)
    if (list === undefined) this.parked.set(block, [a])
    else list.push(a)
    this.parkedCount++
  }

  /** Moves the parked addresses of every block `busy` does not hold to `unparked`, in order. */
  unpark (busy: (block: number) => boolean): void {
    for (const [block, list] of this.parked) {
      if (busy(block)) continue
      this.parked.delete(block)
      this.parkedCount -= list.length
      for (const a of list) this.unparked.push(a)
    }
  }

  /** Asks `address` again first, at once (a lookup cut short: not an answer). */
  retryFirst (address: number): void { this.retries.unshift({ address, readyAt: 0 }) }

  /** Asks `address` again at `readyAt` (performance.now()). */
  retryAt (address: number, readyAt: number): void { this.retries.push({ address, readyAt }) }

  /** When the earliest retry is due (performance.now()), Infinity if none waits. */
  get nextRetryAt (): number { return this.retries.length > 0 ? Math.min(...this.retries.map(r => r.readyAt)) : Infinity }

  /** Addresses this node will look up, and containers it will list. */
  get queued (): number { return this.addresses.length - this.cursor + this.deferred.size + this.parkedCount + this.unparked.size + this.listings.length }

  /**
   * Drops every address and listing waiting here, and those another node owns (the registry is
   * given up on for this run); returns how many of this node's addresses were dropped.
   */
  clear (): number {
    const dropped = this.queued + this.retries.length - this.listings.length
    this.cursor = this.addresses.length
    for (const list of [this.deferred, this.unparked, this.foreign]) list.filter(() => false)
    this.parked.clear()
    this.parkedCount = 0
    this.retries = []
    this.listings = []
    return dropped
  }

  get hasWork (): boolean {
    return this.listings.length > 0 || this.cursor < this.addresses.length || this.deferred.size > 0 || this.parkedCount > 0 || this.unparked.size > 0 || this.retries.length > 0 || this.inFlight > 0 || this.reserving > 0 || this.foreign.size > 0
  }
}

export type RegistryQueuesOptions = Pick<CrawlerOptions, 'sample' | 'blockPrefixLength' | 'fullPruneIntervalMs'>

export interface RegistryQueuesModules {
  store: Pick<CrawlStore, 'isResolved'>
  ownership?: AddressOwnership
  /** the delegation files' holders of addresses (see home()) */
  routes?: Routes
  /**
   * told of retries dropped because their address was resolved meanwhile; asked whether an
   * address was given up on in this run (such an address is passed over like a resolved one: a
   * contested one, crawl/contradiction.ts, would wait for an answer its owner cannot store)
   */
  retry: { forget: (address: number) => void, isGivenUp: (address: number) => boolean }
  /** called when an address is handed to another registry's queue (its dispatcher may be idle) */
  wake: () => void
}

/** The five registries' queues, the blocks with lookups in flight, and the route hints. */
export class RegistryQueues {
  private readonly opts: RegistryQueuesOptions
  private readonly modules: RegistryQueuesModules
  readonly byId: Record<RegistryId, RegistryQueue>
  private readonly blocksInFlight = new Map<number, number>()
  /**
   * Where transfers were found: block → the registry that answered for an address of it when the
   * /8's registry did not. Later addresses of the block go there first, saving the redirect hop
   * (a wrong guess costs nothing more: that registry redirects like any other).
   */
  private readonly routeHints = new Map<number, RegistryId>()
  private lastFullPrune = -Infinity
  /** addresses dropped because they were resolved already ("Within Known CIDR Block") */
  skipped = 0

  /** Queues the unresolved addresses of the sample, each at its home registry. */
  constructor (opts: RegistryQueuesOptions, modules: RegistryQueuesModules) {
    this.opts = opts
    this.modules = modules
    const { sample } = opts
    const route = new Uint8Array(sample.length) // 0 = nothing to do, else registry index + 1
    const sizes = new Array<number>(REGISTRY_IDS.length).fill(0)
    for (let i = 0; i < sample.length; i++) {
      const a = sample[i]
      const reg = this.home(a)
      if (reg == null) continue
      if (modules.store.isResolved(a)) continue
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
    this.byId = Object.fromEntries(REGISTRY_IDS.map((id, r) => [id, new RegistryQueue(id, arrays[r])])) as Record<RegistryId, RegistryQueue>
  }

  /**
   * The registry to ask first about `a`: the delegation files' holder, else its /8's registry;
   * undefined for special-purpose and reserved space (never asked).
   */
  home (a: number): RegistryId | undefined {
    const iana = registryForAddress(a)
    if (iana == null) return undefined
    return this.modules.routes?.registryFor(a) ?? iana
  }

  blockOf (address: number): number {
    return Math.floor(address / 2 ** (32 - this.opts.blockPrefixLength))
  }

  private isMine (address: number): boolean {
    return this.modules.ownership?.isMine(address) ?? true
  }

  /** Work anywhere: a registry with an empty queue may still be handed addresses by another. */
  anyWork (): boolean {
    return REGISTRY_IDS.some(id => this.byId[id].hasWork)
  }

  /** Next address to look up for this registry, or undefined if none can start now. */
  pick (q: RegistryQueue): number | undefined {
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
    q.unpark(block => this.blocksInFlight.has(block))
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
   * `a` if it is still unresolved, else the next address that can start: the dispatcher's slot
   * may have come late (a redirect hop of another lookup took one), and an answer meanwhile may
   * have resolved the address it picked.
   */
  recheck (q: RegistryQueue, a: number | undefined): number | undefined {
    while (a !== undefined && this.modules.store.isResolved(a)) {
      this.skipped++
      a = this.pick(q)
    }
    return a
  }

  /**
   * Drops resolved addresses from the fronts of `q`'s lists (and foreign ones from the front of
   * its queue), without taking a slot; each address is dropped once, so this costs what it drops.
   */
  skipResolved (q: RegistryQueue): void {
    const { store } = this.modules
    while (q.cursor < q.addresses.length) {
      const a = q.addresses[q.cursor]
      if (this.settled(a)) this.skipped++
      else if (!this.isMine(a)) q.foreign.push(a)
      else break
      q.cursor++
    }
    for (const list of [q.unparked, q.deferred]) this.skipped += list.dropFront(a => store.isResolved(a))
    for (const [block, list] of q.parked) {
      const keep = list.filter(a => !store.isResolved(a))
      if (keep.length === list.length) continue
      q.parkedCount -= list.length - keep.length
      this.skipped += list.length - keep.length
      if (keep.length === 0) q.parked.delete(block)
      else q.parked.set(block, keep)
    }
    this.dropResolvedRetries(q)
  }

  /** Drops the retries of addresses resolved meanwhile (by this node, a peer, another address). */
  private dropResolvedRetries (q: RegistryQueue): void {
    const { store, retry } = this.modules
    if (!q.retries.some(r => store.isResolved(r.address))) return
    q.retries = q.retries.filter(r => {
      if (!store.isResolved(r.address)) return true
      retry.forget(r.address)
      return false
    })
  }

  /** resolved, or given up on in this run (waiting for no one) */
  private settled (a: number): boolean {
    return this.modules.store.isResolved(a) || this.modules.retry.isGivenUp(a)
  }

  /**
   * Whether `a`, taken from one of `q`'s lists, can be looked up now; if not, it goes where it
   * belongs: nowhere (resolved), to the foreign list, to another registry, or parked by block.
   */
  private canStart (q: RegistryQueue, a: number): boolean {
    if (this.settled(a)) { this.skipped++; return false }
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
    if (target === undefined || target === q.id || this.modules.routes?.registryFor(a) !== undefined) return false
    this.byId[target].deferred.push(a)
    this.modules.wake()
    return true
  }

  /** A lookup of `address` starts at `q`: its block is busy until it ends. */
  started (q: RegistryQueue, address: number): void {
    const block = this.blockOf(address)
    this.blocksInFlight.set(block, (this.blocksInFlight.get(block) ?? 0) + 1)
    q.inFlight++
  }

  /** The lookup of `address` at `q` ended. */
  ended (q: RegistryQueue, address: number): void {
    q.inFlight--
    const block = this.blockOf(address)
    const n = (this.blocksInFlight.get(block) ?? 1) - 1
    if (n <= 0) this.blocksInFlight.delete(block)
    else this.blocksInFlight.set(block, n)
  }

  /** `registry` answered for `address`: later addresses of its block go there first if that is not their home. */
  learnRoute (address: number, registry: RegistryId): void {
    const block = this.blockOf(address)
    if (registry !== this.home(address)) this.routeHints.set(block, registry)
    else this.routeHints.delete(block)
  }

  /**
   * Addresses dropped as resolved that are not any more (SampleTally onReopened): queued again at
   * their home registry, where `pick` passes them to their owner's list or looks them up.
   */
  reopen (addresses: number[]): void {
    for (const a of addresses) {
      const home = this.home(a)
      if (home !== undefined) this.byId[home].deferred.push(a)
    }
    this.modules.wake()
  }

  /** Ownership changed: the addresses left to others are looked at again. */
  reconsider (): void {
    for (const id of REGISTRY_IDS) this.byId[id].foreign.drainTo(this.byId[id].deferred)
  }

  /** Drops these addresses from the foreign lists (given up on: their owners will not answer them in this run). */
  forgetForeign (addresses: ReadonlySet<number>): void {
    for (const id of REGISTRY_IDS) this.byId[id].foreign.filter(a => !addresses.has(a))
  }

  /**
   * Drops foreign addresses that records from elsewhere resolved. A short list is passed over
   * whole; a long one (at the full sample a node holds millions, and a full pass on every batch of
   * records kept a core busy) loses only the resolved entries at its front (owners crawl in
   * sample order too), with a full pass at most every fullPruneIntervalMs.
   */
  pruneResolved (): void {
    const { store } = this.modules
    // a short list is cheap to pass over: the end of a crawl is seen at once
    const held = REGISTRY_IDS.reduce((n, id) => n + this.byId[id].foreign.size, 0)
    const full = held <= 65_536 || performance.now() - this.lastFullPrune >= this.opts.fullPruneIntervalMs
    if (full) this.lastFullPrune = performance.now()
    for (const id of REGISTRY_IDS) {
      const q = this.byId[id]
      if (full) q.foreign.filter(a => !this.settled(a))
      else q.foreign.dropFront(a => store.isResolved(a))
    }
  }
}

/** Per-registry queues (before run(): none) and the gate's rates and pauses. */
export function registryProgress (queues: RegistryQueues | undefined, gate: Pick<RegistryGate, 'progress' | 'requestsTo'>): Record<RegistryId, RegistryProgress> {
  const registries = {} as Record<RegistryId, RegistryProgress>
  for (const id of REGISTRY_IDS) {
    const q = queues?.byId[id]
    const g = gate.progress(id)
    registries[id] = {
      queued: q?.queued ?? 0,
      othersOwn: q?.foreign.size ?? 0,
      inFlight: q?.inFlight ?? 0,
      hopsWaiting: g.hopsWaiting,
      retrying: q?.retries.length ?? 0,
      budgetPerSecond: g.budgetPerSecond,
      pausedForMs: g.pausedForMs,
      unreachableForMs: g.unreachableForMs,
      requests: gate.requestsTo(id)
    }
  }
  return registries
}
