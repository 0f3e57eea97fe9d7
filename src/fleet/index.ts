/**
 * The fleet: how the nodes that hear each other divide the work and the registries' budgets,
 * each by the same rules on its own view of the others' heartbeats, with nobody coordinating.
 *
 * - ownership.ts: which live node crawls which sample address (rendezvous hashing per block);
 *   dump-ownership.ts splits it per registry where the nodes hold different dumps (src/bulk);
 * - progress-watch.ts: which live peers own a share of the sample at all (those whose work shows);
 * - budget-share.ts: this node's share of each registry's fleet-wide rate budget;
 * - fleet-budget.ts: that share given to the node's rate limiters, peers' back-offs honoured,
 *   and the budget fields of the node's heartbeat;
 * - settle.ts: the wait to hear the fleet before crawling.
 */
export { Ownership, defaultOwnershipOptions, type OwnershipOptions } from './ownership.js'
export { DumpAwareOwnership, dumpsOf } from './dump-ownership.js'
export { ProgressWatch, defaultProgressWatchOptions, type ProgressWatchOptions, type ProgressWatchModules } from './progress-watch.js'
export { BudgetShare, budgetShareTimings, defaultBudgetShareOptions, type BudgetShareOptions, type Demand, type PeerDemand, type RegistryShare } from './budget-share.js'
export { FleetBudget, defaultFleetBudgetOptions, demandOf, countsMe, type FleetBudgetOptions, type FleetBudgetModules } from './fleet-budget.js'
export { settleMembership, type SettleOptions, type SettleModules } from './settle.js'
export { DEFAULT_HEARTBEAT_INTERVAL_MS, type BudgetHeartbeatFields, type BudgetLimiter, type CrawlWork, type FleetPeer, type FleetView } from './interface.js'
export { OwnershipError, BudgetShareError } from './errors.js'
