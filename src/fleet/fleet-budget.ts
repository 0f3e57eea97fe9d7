/**
 * The fleet's budget glue: this node's share of each registry's fleet-wide budget (BudgetShare,
 * see budget-share.ts), given to its rate limiters, and the budget fields of its heartbeat.
 *
 * - apply(): reads this node's work per registry and its peers' latest heartbeats, and sets each
 *   limiter to this node's share; the crawl loop is told when a rate changed. Run it at start,
 *   when membership changes, a peer departs or this node's work is queued, and every heartbeat
 *   from the node's start on (start(): its acknowledgements of joiners must not wait for its own
 *   crawl to begin). When its heartbeat has news for the peers' shares (a run of work for a
 *   registry started, or it counts other peers or registries), it asks for a heartbeat at once
 *   (`announce`), so a joiner's acknowledgement takes a round trip, not up to three heartbeats;
 *   and it applies again when a joining hold ends.
 * - onPeerHeartbeat(): a peer's back-offs (its 429s) hold this node's limiters too — at most
 *   BudgetShare's maxPeerBackoffMs, only for a registry its heartbeat shows it has work at (a
 *   crawler that was refused still holds the address), never from a light peer, and only while
 *   the peer is live: every apply() sets the holds from the live peers' back-offs again, so one
 *   that left or fell silent stops holding anyone. A heartbeat that changes what the peer demands
 *   or whether it counts this node is applied at once.
 * - onRateLimited(): this node's own back-offs, reported in its heartbeats (heartbeatFields()).
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import type { Budgets } from '../registry/budget.js'
import type { RegistryProgress } from '../crawl/interface.js'
import type { Heartbeat } from '../mesh/messages.js'
import type { Logger } from '../util/logger.js'
import { BudgetShare, budgetShareTimings, defaultBudgetShareOptions, type RegistryShare } from './budget-share.js'
import { DEFAULT_HEARTBEAT_INTERVAL_MS, type BudgetHeartbeatFields, type BudgetLimiter, type CrawlWork, type FleetView } from './interface.js'

export interface FleetBudgetOptions {
  /** the fleet's global budget per registry, requests per second, as given to every node */
  budgets: Budgets
  /** share of each budget the established nodes use, a margin for jitter; @default 0.98 */
  safety: number
  /** between two heartbeats; BudgetShare's timings are counted in it; @default 2000 */
  heartbeatIntervalMs: number
  /**
   * this node starts with nobody to join (no bootstrap): it is the fleet's first and need not
   * wait to be counted (a join hold of one heartbeat instead of six); @default false
   */
  firstNode: boolean
}

export const defaultFleetBudgetOptions: Omit<FleetBudgetOptions, 'budgets'> = {
  safety: defaultBudgetShareOptions.safety,
  heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
  firstNode: false
}

export interface FleetBudgetModules {
  /** whom this node hears (the mesh) */
  fleet: FleetView
  /** one rate limiter per registry: their rates are set to this node's share */
  limiters: Record<RegistryId, BudgetLimiter>
  /** the crawl loop: its work per registry is this node's demand */
  crawler: CrawlWork
  /** clock in ms; wall-clock by default, since peers' back-off deadlines cross hosts */
  now?: () => number
  /** where a registry's share taken or given up is logged ('budget share') */
  logger?: Logger
  /** publishes this node's heartbeat now rather than at the next tick (the mesh's announce()) */
  announce?: () => void
}

/**
 * Work per registry, what decides whether a node holds a share of it: its queue, retries and
 * lookups in flight for that registry. A node whose work for a registry ran out stops holding a
 * share of it (the others take it over once its heartbeats show no work for demandGap + 2 silences,
 * see budget-share.ts), so the last nodes with work for a registry get all of its budget.
 * Redirect hops waiting for a registry's slot count as work for it. Work that appears again
 * (addresses taken over when membership changes, a hop to a registry this node has no queue for —
 * rare, as the delegation files route transferred space straight to its holder) starts at the
 * floor rate and takes a full share after the join hold and the peers' acknowledgement.
 */
export function demandOf (registries: Record<RegistryId, RegistryProgress>): Record<RegistryId, number> {
  return Object.fromEntries(REGISTRY_IDS.map(id => {
    const r = registries[id]
    return [id, r.queued + r.retrying + r.inFlight + r.hopsWaiting]
  })) as Record<RegistryId, number>
}

/** Whether a peer's heartbeat counts this node as a demander: per registry when it says so. */
export function countsMe (h: Heartbeat, self: string): boolean | Partial<Record<RegistryId, boolean>> | undefined {
  if (h.counting === undefined) return undefined
  const i = h.counting.indexOf(self)
  if (h.countingMask === undefined) return i >= 0
  const mask = i >= 0 ? h.countingMask[i] : 0
  return Object.fromEntries(REGISTRY_IDS.map((id, b) => [id, (mask & (1 << b)) !== 0])) as Record<RegistryId, boolean>
}

export class FleetBudget {
  readonly opts: FleetBudgetOptions
  readonly share: BudgetShare
  private readonly modules: FleetBudgetModules
  private readonly now: () => number
  private timer: ReturnType<typeof setInterval> | undefined
  private holdTimer: ReturnType<typeof setTimeout> | undefined
  private running = false
  /** the peers (and registries) this node counted at the latest apply(), as its heartbeat says */
  private announced = ''
  /** per peer, what its latest heartbeat said that the shares depend on */
  private readonly heard = new Map<string, string>()
  /** per registry, this node's run at the latest apply(), and the registries it has taken a share of (for the log) */
  private readonly runs: Partial<Record<RegistryId, RegistryShare['run']>> = {}
  private readonly taken = new Set<RegistryId>()

  constructor (opts: Partial<FleetBudgetOptions> & Pick<FleetBudgetOptions, 'budgets'>, modules: FleetBudgetModules) {
    this.opts = { ...defaultFleetBudgetOptions, ...opts }
    this.modules = modules
    this.now = modules.now ?? Date.now
    const H = this.opts.heartbeatIntervalMs
    const timings = budgetShareTimings(H)
    this.share = new BudgetShare({
      budgets: this.opts.budgets,
      safety: this.opts.safety,
      ...timings,
      joinHoldMs: this.opts.firstNode ? H : timings.joinHoldMs
    }, { now: this.now })
  }

  /** Holds each limiter for the latest back-off its live peers reported (none: lifted). */
  private applyHolds (): void {
    const live = new Set(this.modules.fleet.liveFullPeers())
    const now = this.now()
    for (const id of REGISTRY_IDS) this.modules.limiters[id].holdFor(this.share.peerPausedUntil(id, live) - now)
  }

  /** This node's share of each registry's global budget, given to its limiters; the live peers' back-offs, as holds. */
  apply (): void {
    this.applyHolds()
    const { fleet, limiters, crawler } = this.modules
    const self = fleet.peerId.toString()
    const selfDemand = demandOf(crawler.registryProgress())
    const peers = [...fleet.peers.values()]
      .filter(p => !p.heartbeat.light)
      .map(p => ({ id: p.heartbeat.peerId, demand: p.heartbeat.demand, lastSeenMs: p.lastSeen, countsMe: countsMe(p.heartbeat, self) }))
    const live = new Set(fleet.liveFullPeers())
    const rates = this.share.update(peers.filter(p => live.has(p.id)), selfDemand, this.now())
    let changed = false
    // a run of work starting is news for the peers: they must count this node before it takes a share
    let runStarted = false
    for (const id of REGISTRY_IDS) {
      if (Math.abs(limiters[id].ratePerSecond - rates[id]) > 1e-9) { limiters[id].setRate(rates[id]); changed = true }
      const s = this.share.share(id)
      if (s.run !== this.runs[id]) {
        if ((this.runs[id] ?? 'none') === 'none') runStarted = true
        // the first share taken per registry at info (how long a node took to get going), every run at debug
        const first = s.run === 'established' && !this.taken.has(id)
        if (first) this.taken.add(id)
        this.runs[id] = s.run
        this.modules.logger?.[first ? 'info' : 'debug']('budget share', { registry: id, run: s.run, ratePerSecond: Number(s.ratePerSecond.toFixed(4)), demandingPeers: s.demandingPeers, livePeers: s.livePeers })
      }
    }
    if (changed) crawler.ratesChanged()
    if (!this.running) return
    for (const id of this.heard.keys()) if (!fleet.peers.has(id)) this.heard.delete(id)
    const c = this.share.counted()
    const counting = `${c.counting.join(',')} ${c.countingMask.join(',')}`
    if (runStarted || counting !== this.announced) { this.announced = counting; this.modules.announce?.() }
    this.scheduleHoldEnd()
  }

  /** Applies again when the earliest joining hold that acknowledgements allow ends (not at the next tick). */
  private scheduleHoldEnd (): void {
    if (this.holdTimer !== undefined) return
    const hold = Math.min(this.share.opts.ackedHoldMs, this.share.opts.joinHoldMs)
    let at = Infinity
    for (const id of REGISTRY_IDS) {
      const s = this.share.share(id)
      if (!s.established && s.demandSinceMs !== undefined && s.demandSinceMs + hold > this.now()) at = Math.min(at, s.demandSinceMs + hold)
    }
    if (at === Infinity) return
    this.holdTimer = setTimeout(() => { this.holdTimer = undefined; this.apply() }, at - this.now() + 1)
  }

  /** Applies the shares every heartbeat, and at once on news, until stop(): from the node's start to its close. */
  start (): void {
    this.stop()
    this.running = true
    this.timer = setInterval(() => this.apply(), this.opts.heartbeatIntervalMs)
  }

  stop (): void {
    this.running = false
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer)
    this.timer = this.holdTimer = undefined
  }

  /**
   * A peer's heartbeat: the back-offs it reports pause this node's limiters too; one that changes
   * what the peer demands, or whether it counts this node, is applied at once.
   */
  onPeerHeartbeat (h: Heartbeat): void {
    // a light peer crawls nothing: it neither backs off from a registry nor holds a share
    if (h.light) return
    const now = this.now()
    for (const [reg, until] of Object.entries(h.backoff) as Array<[RegistryId, number]>) {
      if (REGISTRY_IDS.includes(reg) && until > now && (h.demand[reg] ?? 0) > 0) this.share.notePeerBackoff(h.peerId, reg, until, now)
    }
    this.applyHolds()
    const c = countsMe(h, this.modules.fleet.peerId.toString())
    const says = `${REGISTRY_IDS.map(id => (h.demand[id] ?? 0) > 0 ? 1 : 0).join('')} ${typeof c === 'object' ? REGISTRY_IDS.map(id => c[id] === true ? 1 : 0).join('') : String(c)}`
    if (this.heard.get(h.peerId) === says) return
    this.heard.set(h.peerId, says)
    if (this.running) this.apply()
  }

  /** A peer said goodbye: it holds no share any more. */
  onPeerDeparted (peerId: string): void {
    this.share.forget(peerId)
    this.heard.delete(peerId)
    this.apply()
  }

  /** A registry told this node to back off: reported to the peers in its heartbeats. */
  onRateLimited (registry: RegistryId, pauseMs: number): void {
    this.share.onRateLimited(registry, pauseMs)
  }

  /** The budget fields of this node's heartbeat, for the crawl progress `registries`. */
  heartbeatFields (registries: Record<RegistryId, RegistryProgress>): BudgetHeartbeatFields {
    const { limiters } = this.modules
    const backoff = Object.fromEntries(Object.entries(this.share.ownBackoffs()).map(([k, v]) => [k, Math.round(v)]))
    return {
      demand: demandOf(registries),
      rates: Object.fromEntries(REGISTRY_IDS.map(id => [id, limiters[id].ratePerSecond])) as Record<RegistryId, number>,
      backoff,
      ...this.share.counted()
    }
  }
}
