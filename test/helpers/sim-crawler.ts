/**
 * A crawler wired to the registry simulator as a node wires it (the registry client and the
 * crawler share one registry gate, which gives each request its slot), for tests of the crawl
 * loop against real servers.
 */
import { Crawler } from '../../src/crawl/crawler.js'
import { defaultCrawlerOptions, defaultRegistryGateOptions, type AddressOwnership, type CrawlerOptions, type RegistryGateOptions } from '../../src/crawl/interface.js'
import type { ContainerLister } from '../../src/crawl/listing.js'
import { RateLimiter } from '../../src/crawl/rate-limiter.js'
import { RegistryGate } from '../../src/crawl/registry-gate.js'
import { RegistryClient, type RegistryClientOptions } from '../../src/lookup/index.js'
import type { NetworkStore } from '../../src/store/index.js'
import { REGISTRY_IDS, type RegistryEndpoints, type RegistryId } from '../../src/registry/interface.js'
import { createLogger } from '../../src/util/logger.js'

export type LogLine = { msg: string, [k: string]: unknown }

/** One limiter per registry at `rate` requests/s (or per registry). */
export function limitersAt (rate: number | ((id: RegistryId) => number)): Record<RegistryId, RateLimiter> {
  return Object.fromEntries(REGISTRY_IDS.map(id => [id, new RateLimiter({ ratePerSecond: typeof rate === 'number' ? rate : rate(id) })])) as Record<RegistryId, RateLimiter>
}

/**
 * A crawler over `endpoints` (the simulator's, or fake registries'); `logs` collects its structured
 * log lines; `client` overrides the registry client's options (e.g. `protocols`); `listing` lists
 * containers' children as a node does (crawl/listing.ts; 'whole': never in parts, listing-parts.ts;
 * off: every address is asked); `ownership`: which addresses are this node's (default all).
 */
export function simCrawler (endpoints: RegistryEndpoints, store: NetworkStore, sample: number[], o: { limiters: Record<RegistryId, RateLimiter>, timeoutMs: number, opts?: Partial<CrawlerOptions & RegistryGateOptions>, client?: Partial<RegistryClientOptions>, listing?: boolean | 'whole', ownership?: AddressOwnership }): { crawler: Crawler, client: RegistryClient, gate: RegistryGate, logs: LogLine[] } {
  const logs: LogLine[] = []
  const logger = createLogger({ format: 'json', level: 'debug', write: line => { logs.push(JSON.parse(line)) } })
  const gate = new RegistryGate({ ...defaultRegistryGateOptions, ...o.opts }, { limiters: o.limiters })
  const client = new RegistryClient({ ...o.client, endpoints, timeoutMs: o.timeoutMs }, { gate })
  const crawler = new Crawler({ ...defaultCrawlerOptions, ...o.opts, sample: Uint32Array.from(sample) }, { store, client, gate, logger, lister: listerFor(client, o.listing), ownership: o.ownership })
  return { crawler, client, gate, logs }
}

function listerFor (client: RegistryClient, listing: boolean | 'whole' | undefined): ContainerLister | undefined {
  if (listing === undefined || listing === false) return undefined
  if (listing === true) return client
  return { canList: (r, c) => client.canList(r, c), listChildren: async (c, r, s) => await client.listChildren(c, r, s), listsByPrefix: () => false }
}
