/**
 * A node's options and their defaults: the one place the command line (src/cli/main.ts) takes
 * its flag defaults from. Loads no libp2p, so `--help` and the read commands stay quick.
 */
import type { RegistryEndpoints } from '../registry/interface.js'
import type { Budgets } from '../registry/budget.js'
import type { DelegationSource } from '../registry/routes.js'
import type { ServicesOptions } from '../serve/index.js'
import { defaultAuditOptions, defaultCrawlerOptions } from '../crawl/interface.js'
import { defaultBudgetShareOptions } from '../fleet/budget-share.js'
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../fleet/interface.js'
import { defaultProgressWatchOptions } from '../fleet/progress-watch.js'

export interface NodeOptions {
  /** data directory (LevelDB, node key and control file); @default './data' */
  dataDir: string
  endpoints: RegistryEndpoints
  /** the whole fleet's requests per second per registry (every node is given the same) */
  budgets: Budgets
  /** share of the budget actually used, a margin for clock and network jitter; @default 0.98 */
  budgetSafety: number
  /** take the first N addresses of the shuffled sample; @default all */
  sampleLimit?: number
  /** operator contact sent in the User-Agent; @default '' (none) */
  contact: string
  /** lookups in flight per registry; @default 4 */
  maxInFlightPerRegistry: number
  /** one registry request in all; @default 15000 */
  timeoutMs: number
  /** port of the loopback control endpoint (0 = any free port); @default 0 */
  controlPort: number
  /**
   * the mesh: where to listen (@default /ip4/0.0.0.0/tcp/4001), whom to dial first (@default
   * none: the fleet's first node) and between two heartbeats (@default 2000)
   */
  mesh: { listen: string[], bootstrap: string[], heartbeatIntervalMs: number, swarmKey?: Uint8Array }
  /**
   * Addresses of the same /N go to the same node, and never have two lookups in flight at once:
   * they are the ones likely to land in the same network (@default the crawler's, 12)
   */
  blockPrefixLength: number
  /** loopback port for Prometheus `GET /metrics`; undefined = no metrics server */
  metricsPort?: number
  /** the WHOIS/RDAP services answering from this node's replica (src/serve); undefined = none */
  serve?: ServicesOptions
  /** time to learn the fleet (heartbeats) before crawling, so ownership is known; @default 2.5 heartbeats */
  settleMs?: number
  /**
   * Cool-down before an address given up on is asked again while the node runs (doubling per
   * round, capped at an hour); 0 = only at the next start. See CrawlerOptions.failedRetryMs.
   */
  failedRetryMs?: number
  /** rounds of those retries per address and run; @default unbounded, a node run as a service */
  failedRetryRounds?: number
  /**
   * a registry unreachable this long has its addresses given up on for this run (a batch run must
   * end); @default Infinity: probed until it answers (see CrawlerOptions.giveUpUnreachableMs)
   */
  giveUpUnreachableMs?: number
  /** route addresses by the registries' delegation files (see DelegationSource); @default none: the IANA /8 table */
  delegations?: DelegationSource
  /**
   * when a sample address counts as resolved: `exact` (the registry's own answer for it is known;
   * containers are listed where the registry allows) or `covered` (inside any known network, the
   * 2016 rule: fewer lookups, coarse where networks nest); @default 'exact' (see docs/operating.md)
   */
  resolve: 'exact' | 'covered'
  /**
   * a peer that owns open sample addresses and shows no work (no record of its own arrives) for
   * this long loses its share of the sample to the others (src/fleet/progress-watch.ts); @default 120000
   */
  peerStallMs: number
  /** audits of peers' records per lookup of the crawl (crawl/audits.ts); @default 0.01 */
  auditShare: number
  /** records of a peer the registries contradicted after which this node distrusts it; 0 = never; @default 3 */
  auditDistrust: number
}

export const defaultNodeOptions = {
  dataDir: './data',
  budgetSafety: defaultBudgetShareOptions.safety,
  contact: '',
  maxInFlightPerRegistry: defaultCrawlerOptions.maxInFlightPerRegistry,
  // the registry client's own default (registryClientDefaults.timeoutMs) is the same; not read
  // from there, since src/lookup/client.ts loads undici and this file is on `--help`'s path
  timeoutMs: 15_000,
  controlPort: 0,
  blockPrefixLength: defaultCrawlerOptions.blockPrefixLength,
  resolve: defaultCrawlerOptions.resolve,
  peerStallMs: defaultProgressWatchOptions.stallMs,
  auditShare: defaultAuditOptions.share,
  auditDistrust: defaultAuditOptions.distrustAfter,
  mesh: { listen: ['/ip4/0.0.0.0/tcp/4001'], bootstrap: [] as string[], heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS }
} satisfies Partial<NodeOptions>
