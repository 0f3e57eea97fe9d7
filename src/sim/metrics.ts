/**
 * The simulator's counters, per registry, as `GET /stats` reports them. A query is every request
 * or query line received; each gets exactly one outcome counter (network_answers, listings,
 * not_found, redirects, rate_limited, or none for a bad request), and faults are counted apart.
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { FAULT_KINDS, type FaultKind } from './options.js'

/** Per-registry counters, exactly the keys of `GET /stats` → registries.<id>. */
export interface RegistryStats {
  /** every query received (RDAP requests and WHOIS query lines) */
  queries: number
  /** answers that carried a network */
  network_answers: number
  /** more-specific listings answered (RPSL -m/-M, RDAP rdap-down; sim/listing.ts), with or without networks */
  listings: number
  /** networks those listings carried */
  listed_networks: number
  /** answers "no such network" (special-purpose / reserved space) */
  not_found: number
  /** RDAP redirects and WHOIS referrals to another registry */
  redirects: number
  /** queries refused for the budget or a ban */
  rate_limited: number
  /** bans started */
  bans: number
  /** different networks served in network answers */
  distinct_networks: number
  /** of the network answers, those that carried a leaf (nested world: an assignment, which holds no other network) */
  leaf_answers: number
  /** different leaves served: leaf_answers − distinct_leaves answers told a crawler a leaf it could have known */
  distinct_leaves: number
}

export interface SimStats {
  registries: Record<RegistryId, RegistryStats>
  /** faults injected, by kind */
  faults: Record<FaultKind, number>
  /** queries refused by an injected storm (POST /storm), per registry; also counted in rate_limited */
  storm_refusals: Record<RegistryId, number>
  /** bans started by an injected ban storm, per registry; also counted in bans */
  storm_bans: Record<RegistryId, number>
  /** the fault plan and the storms in force (POST /faults, POST /storm) */
  fault_plan: FaultPlanState
  /** queries that were not understood (bad path, no address in the WHOIS line, line too long) */
  bad_requests: number
  /** clients banned right now, per registry */
  banned_clients: Record<RegistryId, number>
  uptime_ms: number
  /** the flat world's counts; with `kind: 'nested'`, also the nested world's RIR-level allocations */
  world: { networks: number, ranges: number, gaps: number, transferred: number, kind?: 'nested', allocations?: number }
}

export interface FaultPlanState {
  rate: number
  kinds: FaultKind[]
  /** registries whose answers may be replaced by a fault */
  registries: RegistryId[]
  huge_bytes: number
  hang_ms: number
  /** storms still running: registry → mode and time left */
  storms: Partial<Record<RegistryId, { mode: string, remaining_ms: number, retry_after_seconds: number }>>
}

function zeroRegistryStats (): RegistryStats {
  return { queries: 0, network_answers: 0, listings: 0, listed_networks: 0, not_found: 0, redirects: 0, rate_limited: 0, bans: 0, distinct_networks: 0, leaf_answers: 0, distinct_leaves: 0 }
}

export class SimMetrics {
  readonly registries: Record<RegistryId, RegistryStats>
  readonly faults: Record<FaultKind, number>
  readonly stormRefusals: Record<RegistryId, number>
  readonly stormBans: Record<RegistryId, number>
  badRequests = 0
  private readonly served: Record<RegistryId, Uint8Array>
  /** nested-world networks served (their keys lie above the flat world's indexes) */
  private readonly servedNested: Record<RegistryId, Set<number>>

  constructor (private readonly networkCount: number) {
    this.registries = Object.fromEntries(REGISTRY_IDS.map(id => [id, zeroRegistryStats()])) as Record<RegistryId, RegistryStats>
    this.faults = Object.fromEntries(FAULT_KINDS.map(k => [k, 0])) as Record<FaultKind, number>
    this.stormRefusals = zeroPerRegistry()
    this.stormBans = zeroPerRegistry()
    this.served = Object.fromEntries(REGISTRY_IDS.map(id => [id, new Uint8Array(networkCount)])) as Record<RegistryId, Uint8Array>
    this.servedNested = Object.fromEntries(REGISTRY_IDS.map(id => [id, new Set<number>()])) as Record<RegistryId, Set<number>>
  }

  /** Records a network answer for world network `index` (a flat index, or a nested network's key). */
  networkServed (registry: RegistryId, index: number, leaf = false): void {
    const r = this.registries[registry]
    r.network_answers++
    if (leaf) r.leaf_answers++
    if (index >= this.networkCount) {
      const seenNested = this.servedNested[registry]
      if (!seenNested.has(index)) {
        seenNested.add(index)
        r.distinct_networks++
        if (leaf) r.distinct_leaves++
      }
      return
    }
    const seen = this.served[registry]
    if (seen[index] === 0) {
      seen[index] = 1
      r.distinct_networks++
      if (leaf) r.distinct_leaves++
    }
  }

  reset (): void {
    for (const id of REGISTRY_IDS) {
      Object.assign(this.registries[id], zeroRegistryStats())
      this.served[id].fill(0)
      this.servedNested[id].clear()
    }
    for (const k of FAULT_KINDS) this.faults[k] = 0
    for (const id of REGISTRY_IDS) { this.stormRefusals[id] = 0; this.stormBans[id] = 0 }
    this.badRequests = 0
  }

  snapshot (): Pick<SimStats, 'registries' | 'faults' | 'storm_refusals' | 'storm_bans' | 'bad_requests'> {
    return {
      registries: Object.fromEntries(REGISTRY_IDS.map(id => [id, { ...this.registries[id] }])) as Record<RegistryId, RegistryStats>,
      faults: { ...this.faults },
      storm_refusals: { ...this.stormRefusals },
      storm_bans: { ...this.stormBans },
      bad_requests: this.badRequests
    }
  }
}

function zeroPerRegistry (): Record<RegistryId, number> {
  return Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
}
