/**
 * The fleet's budget glue: this node's share of each registry's fleet-wide budget (BudgetShare,
 * see budget-share.ts), given to its rate limiters, and the budget fields of its heartbeat.
 *
 * - apply(): reads this node's work per registry and its peers' latest heartbeats, and sets each
 *   limiter to this node's share; the crawl loop is told when a rate changed. Run it at start,
 *   when membership changes or a peer departs, and every heartbeat while crawling (start()).
 * - onPeerHeartbeat(): a peer's back-offs (its 429s) pause this node's limiters too, capped by
 *   BudgetShare's maxPeerBackoffMs.
 * - onRateLimited(): this node's own back-offs, reported in its heartbeats (heartbeatFields()).
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import type { Budgets } from '../registry/budget.js'
import type { RegistryProgress } from '../crawl/interface.js'
import type { Heartbeat } from '../mesh/messages.js'
import { BudgetShare, budgetShareTimings, defaultBudgetShareOptions } from './budget-share.js'
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

  /** This node's share of each registry's global budget, given to its limiters. */
  apply (): void {
    const { fleet, limiters, crawler } = this.modules
    const self = fleet.peerId.toString()
    const selfDemand = demandOf(crawler.registryProgress())
    const peers = [...fleet.peers.values()]
      .filter(p => !p.heartbeat.light)
      .map(p => ({ id: p.heartbeat.peerId, demand: p.heartbeat.demand, lastSeenMs: p.lastSeen, countsMe: countsMe(p.heartbeat, self) }))
    const live = new Set(fleet.liveFullPeers())
    const rates = this.share.update(peers.filter(p => live.has(p.id)), selfDemand, this.now())
    let changed = false
    for (const id of REGISTRY_IDS) {
      if (Math.abs(limiters[id].ratePerSecond - rates[id]) > 1e-9) { limiters[id].setRate(rates[id]); changed = true }
    }
    if (changed) crawler.ratesChanged()
  }

  /** Applies the shares every heartbeat until stop() (while the crawl runs). */
  start (): void {
    this.stop()
    this.timer = setInterval(() => this.apply(), this.opts.heartbeatIntervalMs)
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  /** A peer's heartbeat: the back-offs it reports pause this node's limiters too. */
  onPeerHeartbeat (h: Heartbeat): void {
    for (const [reg, until] of Object.entries(h.backoff) as Array<[RegistryId, number]>) {
      const now = this.now()
      if (until > now) { this.share.notePeerBackoff(reg, until, now); this.modules.limiters[reg].pauseFor(until - now) }
    }
  }

  /** A peer said goodbye: it holds no share any more. */
  onPeerDeparted (peerId: string): void {
    this.share.forget(peerId)
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
