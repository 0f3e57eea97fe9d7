/**
 * The crawl's counters (CrawlCounters, named as the 2016 crawler's statuses): those the crawl
 * counts itself, plus those others keep — requests sent (the registry gate) and addresses skipped
 * because a known network already covers them (the queues). PERSISTED_COUNTERS go to the store's
 * meta bucket with every commit and when a run ends, and are loaded when a run starts: a kill -9
 * loses what was counted after the last commit, as it loses the answers in flight.
 */
import { COUNTERS_META_KEY, PERSISTED_COUNTERS, type CrawlCounters, type CrawlStore } from './interface.js'

export interface CounterSources {
  /** requests sent so far, all registries (RegistryGate.requestsSent) */
  requestsSent: () => number
  /** addresses the queues dropped as resolved already (RegistryQueues.skipped; 0 before a run) */
  skipped: () => number
}

export class CrawlCounterBook {
  /** counted here (the persisted ones start from what was loaded) */
  readonly counted: CrawlCounters = {
    awaitingRegistry: 0,
    lookingUp: 0,
    gotWhois: 0,
    failed: 0,
    withinKnownBlock: 0,
    unallocated: 0,
    rateLimited: 0,
    lookups: 0,
    listings: 0,
    audits: 0,
    requests: 0,
    retries: 0
  }

  /** the gate's request count when the persisted counters were loaded (the queues' skips start at 0 with each run) */
  private requestsAtLoad: number

  constructor (private readonly sources: CounterSources) {
    this.requestsAtLoad = sources.requestsSent()
  }

  /** Loads the persisted counters a previous run left in the store. */
  async load (store: Pick<CrawlStore, 'getMeta'>): Promise<void> {
    const saved = await store.getMeta(COUNTERS_META_KEY) as Partial<CrawlCounters> | undefined
    this.requestsAtLoad = this.sources.requestsSent()
    if (saved == null) return
    for (const k of PERSISTED_COUNTERS) {
      const v = saved[k]
      if (typeof v === 'number' && Number.isFinite(v)) this.counted[k] = v
    }
  }

  /** The counters with those others keep: requests (the gate) and addresses skipped (the queues). */
  all (): CrawlCounters {
    const c = this.counted
    return {
      ...c,
      withinKnownBlock: c.withinKnownBlock + this.sources.skipped(),
      requests: c.requests + this.sources.requestsSent() - this.requestsAtLoad
    }
  }

  /** The meta entry every commit of the crawl writes: the persisted counters now. */
  meta (): Record<string, Record<string, number>> {
    const c = this.all()
    return { [COUNTERS_META_KEY]: Object.fromEntries(PERSISTED_COUNTERS.map(k => [k, c[k]])) }
  }
}
