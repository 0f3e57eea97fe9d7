/**
 * What a node reports about itself, built from its parts: its heartbeat's body (what peers read),
 * its progress (the operator's status line), and a registry request's outcome as a metrics label.
 */
import type { Crawler } from '../crawl/crawler.js'
import type { FleetBudget } from '../fleet/index.js'
import type { Heartbeat } from '../mesh/index.js'
import type { RegistryRequestOutcome } from '../metrics/index.js'
import { REGISTRY_IDS } from '../registry/interface.js'
import type { NodeProgress } from '../report/status-line.js'
import type { NetworkStore } from '../store/index.js'
import { VERSION } from '../version.js'

/** The registry client's request outcome as the metrics' label. */
export function requestOutcome (outcome: string, error?: string): RegistryRequestOutcome {
  switch (outcome) {
    case 'network': return 'network'
    case 'listing': return 'listing'
    case 'redirect': return 'redirect'
    case 'not-found': return 'not_found'
    case 'rate-limited': return 'rate_limited'
    default: return error === 'MalformedResponseError' ? 'malformed' : error === 'TransientLookupError' ? 'transient' : 'error'
  }
}

/** The heartbeat's body: counters, the fleet budget's fields, the index and sample summaries, the dumps held. */
export function heartbeatBody (crawler: Pick<Crawler, 'status'>, store: Pick<NetworkStore, 'counts' | 'digest' | 'bulkHeaders'>, fleetBudget: Pick<FleetBudget, 'heartbeatFields'>): Omit<Heartbeat, 'peerId' | 'seq' | 'sentAt' | 'listen' | 'light'> {
  const status = crawler.status()
  const counts = store.counts()
  const bulk = store.bulkHeaders()
  return {
    version: VERSION,
    counters: { ...status.counters },
    ...fleetBudget.heartbeatFields(status.registries),
    index: { networks: counts.networks, negatives: counts.negatives, digest: store.digest() },
    sample: { total: status.sampleTotal, resolved: status.sampleResolved },
    // the registries whose space this node answers from their dumps (src/bulk), by serial (0: unknown)
    ...(bulk.length > 0 ? { bulk: Object.fromEntries(bulk.map(h => [h.registry, h.serial ?? 0])) } : {})
  }
}

/**
 * Progress for the operator (src/report/status-line.ts). The sample and slice counts come from
 * the crawler's tally (src/crawl/sample-tally.ts): a pass over 65,536 /16s, not over the sample.
 */
export function nodeProgress (crawler: Pick<Crawler, 'countSample' | 'registryProgress'>, store: Pick<NetworkStore, 'counts' | 'bulkHeaders'>): NodeProgress {
  const c = crawler.countSample()
  const regs = crawler.registryProgress()
  return {
    at: Date.now(),
    sample: { total: c.total, resolved: c.resolved },
    slice: { total: c.sliceTotal, resolved: c.sliceResolved },
    networks: store.counts().networks,
    failed: store.counts().failures,
    registries: Object.fromEntries(REGISTRY_IDS.map(id => {
      const r = regs[id]
      return [id, { requests: r.requests, sharePerSecond: r.budgetPerSecond, pausedForMs: r.pausedForMs, unreachableForMs: r.unreachableForMs, remaining: r.queued + r.retrying + r.inFlight }]
    })) as NodeProgress['registries'],
    bulk: store.bulkHeaders().map(h => ({ registry: h.registry, takenAt: h.takenAt }))
  }
}
