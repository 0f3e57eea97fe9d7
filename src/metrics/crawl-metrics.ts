/**
 * The crawl's metrics: the 2016 crawler's statuses, lookups, registry requests by outcome, this
 * node's budget share, and the index and sample progress. Call sites take them optionally
 * (`metrics?.lookupsTotal.inc()`); observeCrawlStatus() sets the gauges from a status snapshot.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import type { CrawlCounters, CrawlStatus } from '../crawl/interface.js'

/** The 2016 crawler's statuses, as `status` label values of whoismesh_crawl_status. */
export const CRAWL_STATUSES = [
  'awaiting_registry',
  'looking_up_whois',
  'got_whois',
  'failed',
  'within_known_cidr_block',
  'unallocated',
  'rate_limited'
] as const
export type CrawlStatusLabel = typeof CRAWL_STATUSES[number]

/** Which crawl counter each status label reports. */
export const CRAWL_STATUS_COUNTERS: Record<CrawlStatusLabel, keyof CrawlCounters> = {
  awaiting_registry: 'awaitingRegistry',
  looking_up_whois: 'lookingUp',
  got_whois: 'gotWhois',
  failed: 'failed',
  within_known_cidr_block: 'withinKnownBlock',
  unallocated: 'unallocated',
  rate_limited: 'rateLimited'
}

/**
 * `outcome` label values of whoismesh_registry_requests_total: one per request sent.
 * - network: an answer with a network
 * - listing: a container's children listed (lookup/listing.ts), none or many
 * - not_found: "no such network" (unallocated / reserved)
 * - redirect: an RDAP redirect or a WHOIS referral to another registry
 * - rate_limited: 429, "Query rate limit exceeded", a ban
 * - transient: timeout, reset, server error
 * - malformed: an answer that could not be parsed
 * - error: anything else
 */
export const REGISTRY_REQUEST_OUTCOMES = ['network', 'listing', 'not_found', 'redirect', 'rate_limited', 'transient', 'malformed', 'error'] as const
export type RegistryRequestOutcome = typeof REGISTRY_REQUEST_OUTCOMES[number]

export interface CrawlMetrics {
  /** the 2016 statuses, by `status` (see CRAWL_STATUSES) */
  status: Gauge<'status'>
  /** address lookups started (each may take several requests) */
  lookupsTotal: Counter
  /** registry answers a peer's stored copy contradicts (crawl/contradiction.ts) */
  contradictionsTotal: Counter<'registry'>
  /** audits of peers' records by `verdict` (agreed, contradicted, inconclusive; crawl/audits.ts) */
  auditsTotal: Counter<'verdict'>
  /** peers this node distrusted by itself: the registries contradicted too many of their records */
  autoDistrustsTotal: Counter
  /** registry requests sent, by `registry` and `outcome` (see REGISTRY_REQUEST_OUTCOMES) */
  registryRequestsTotal: Counter<'registry' | 'outcome'>
  /** this node's share of each registry's fleet budget, requests per second */
  registryBudget: Gauge<'registry'>
  /** how long each registry has been unreachable from this node (0: reachable) */
  registryUnreachable: Gauge<'registry'>
  /** networks in this node's index */
  indexNetworks: Gauge
  /** sample addresses resolved (covered by a stored network, unallocated, or reserved) */
  sampleResolved: Gauge
  /** sample addresses */
  sampleTotal: Gauge
}

export function createCrawlMetrics (register: Registry): CrawlMetrics {
  const registers = [register]
  return {
    status: new Gauge({
      name: 'whoismesh_crawl_status',
      help: 'Sample addresses (and rate-limit answers) per status of the 2016 crawler: awaiting_registry, looking_up_whois, got_whois, failed, within_known_cidr_block, unallocated, rate_limited',
      labelNames: ['status'] as const,
      registers
    }),
    lookupsTotal: new Counter({
      name: 'whoismesh_lookups_total',
      help: 'Address lookups started by this node (each may take several registry requests)',
      registers
    }),
    contradictionsTotal: new Counter({
      name: 'whoismesh_contradictions_total',
      help: 'Registry answers that a peer\'s stored copy of the same network contradicts (another name, org, country, handle or type), by registry; each leaves its address given up on until the peer is distrusted',
      labelNames: ['registry'] as const,
      registers
    }),
    auditsTotal: new Counter({
      name: 'whoismesh_audits_total',
      help: 'Audits of records peers published (the registry asked again about one), by verdict: agreed, contradicted, inconclusive (no answer, or a container answered by a network inside it)',
      labelNames: ['verdict'] as const,
      registers
    }),
    autoDistrustsTotal: new Counter({
      name: 'whoismesh_auto_distrusts_total',
      help: 'Peers this node distrusted by itself because the registries contradicted records they published (--audit-distrust)',
      registers
    }),
    registryRequestsTotal: new Counter({
      name: 'whoismesh_registry_requests_total',
      help: 'Registry requests sent by this node, by registry and outcome (network, not_found, redirect, rate_limited, transient, malformed, error)',
      labelNames: ['registry', 'outcome'] as const,
      registers
    }),
    registryBudget: new Gauge({
      name: 'whoismesh_registry_budget_requests_per_second',
      help: 'This node\'s share of each registry\'s fleet-wide rate budget, requests per second',
      labelNames: ['registry'] as const,
      registers
    }),
    registryUnreachable: new Gauge({
      name: 'whoismesh_registry_unreachable_seconds',
      help: 'How long each registry has been unreachable from this node (name not resolved, connection refused, no answer); 0 while it answers',
      labelNames: ['registry'] as const,
      registers
    }),
    indexNetworks: new Gauge({
      name: 'whoismesh_index_networks',
      help: 'Networks in this node\'s index',
      registers
    }),
    sampleResolved: new Gauge({
      name: 'whoismesh_sample_resolved',
      help: 'Sample addresses resolved: covered by a stored network, answered unallocated, or in reserved space',
      registers
    }),
    sampleTotal: new Gauge({
      // a gauge: no _total suffix, which Prometheus reserves for counters
      name: 'whoismesh_sample_addresses',
      help: 'Sample addresses this node crawls',
      registers
    })
  }
}

/** Sets the status, budget, reachability and sample gauges from a crawler status snapshot. */
export function observeCrawlStatus (m: CrawlMetrics, s: CrawlStatus): void {
  for (const label of CRAWL_STATUSES) m.status.set({ status: label }, s.counters[CRAWL_STATUS_COUNTERS[label]])
  for (const id of REGISTRY_IDS) {
    m.registryBudget.set({ registry: id }, s.registries[id].budgetPerSecond)
    m.registryUnreachable.set({ registry: id }, (s.registries[id].unreachableForMs ?? 0) / 1000)
  }
  m.sampleResolved.set(s.sampleResolved)
  m.sampleTotal.set(s.sampleTotal)
}

/** Counts one registry request. */
export function countRegistryRequest (m: CrawlMetrics | undefined, registry: RegistryId, outcome: RegistryRequestOutcome): void {
  m?.registryRequestsTotal.inc({ registry, outcome })
}
