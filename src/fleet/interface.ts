/**
 * What the fleet's budget glue needs from the rest of a node: narrow views, so src/fleet imports
 * no libp2p (a `Mesh`, a `RateLimiter` and a `Crawler` each satisfy one of them as they are).
 */
import type { RegistryId } from '../registry/interface.js'
import type { RegistryProgress } from '../crawl/interface.js'
import type { Heartbeat } from '../mesh/messages.js'

/** The heartbeat interval the fleet's timings are counted in (BudgetShare's windows, the settle wait): the mesh's default. */
export { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../mesh/interface.js'

/** The fields of this node's heartbeat that the fleet's budget sharing fills in. */
export type BudgetHeartbeatFields = Pick<Heartbeat, 'demand' | 'rates' | 'backoff' | 'counting' | 'countingMask'>

/** A peer as the mesh last heard it. */
export interface FleetPeer {
  heartbeat: Heartbeat
  /** local time (ms) its last heartbeat arrived */
  lastSeen: number
}

/** The mesh as the fleet sees it: who this node is, and whom it hears. */
export interface FleetView {
  /** this node's peer id (`toString()` is what peers' heartbeats name it by) */
  readonly peerId: { toString: () => string }
  /** the peers heard from, by peer id (light peers included) */
  readonly peers: ReadonlyMap<string, FleetPeer>
  /** live full (crawling) peers, this node included. Sorted. */
  liveFullPeers: () => string[]
}

/** One registry's rate limiter, as far as the budget share sets it. */
export interface BudgetLimiter {
  readonly ratePerSecond: number
  setRate: (ratePerSecond: number) => void
  /** holds every request for `ms`, replacing the previous hold (0 lifts it): the peers' back-offs (RateLimiter.holdFor) */
  holdFor: (ms: number) => void
}

/** The crawl loop, as far as the budget share reads its work and tells it of new rates. */
export interface CrawlWork {
  registryProgress: () => Record<RegistryId, RegistryProgress>
  /** the limiters' rates changed: waits planned at the old rates should be cut short */
  ratesChanged: () => void
}
