/**
 * The simulator's per-registry counters (`GET /stats` → registries) summed over the five
 * registries, under the names the end-to-end tests read.
 */
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import type { SimStats } from '../../src/sim/index.js'

export interface SimTotals {
  queries: number
  networkAnswers: number
  distinct: number
  leafAnswers: number
  distinctLeaves: number
  bans: number
  rateLimited: number
}

export function sumRegistryStats (stats: Pick<SimStats, 'registries'>): SimTotals {
  const t: SimTotals = { queries: 0, networkAnswers: 0, distinct: 0, leafAnswers: 0, distinctLeaves: 0, bans: 0, rateLimited: 0 }
  for (const id of REGISTRY_IDS) {
    const r = stats.registries[id]
    t.queries += r.queries
    t.networkAnswers += r.network_answers
    t.distinct += r.distinct_networks
    t.leafAnswers += r.leaf_answers
    t.distinctLeaves += r.distinct_leaves
    t.bans += r.bans
    t.rateLimited += r.rate_limited
  }
  return t
}
