import type { RegistryId } from '../registry/interface.js'
import type { NetworkRecord, ParsedNetwork } from '../record/index.js'
import type { CommitInput, CommitResult } from '../store/interface.js'
import type { ReachableEvent, UnreachableEvent } from './reachability.js'
import type { RegistryGate } from './registry-gate.js'
import type { ContainerLister } from './listing.js'
import type { Contradiction } from './contradiction.js'
import type { TallySource } from './sample-tally.js'
import type { Logger } from '../util/logger.js'
import type { Audits } from './audits.js'

/** What the crawl loop needs from the registry client (src/lookup RegistryClient implements it). */
export interface AddressLookup {
  lookup: (address: number, firstRegistry: RegistryId, signal?: AbortSignal) => Promise<{
    network: ParsedNetwork
    registry: RegistryId
    source: 'rdap' | 'whois'
    hops: RegistryId[]
    requests: number
  }>
}

export interface CrawlerOptions {
  /** addresses to resolve, in crawl order (the shuffled sample or a prefix of it) */
  sample: Uint32Array
  /** lookups in flight at once per registry (default 4) */
  maxInFlightPerRegistry: number
  /**
   * Addresses in the same /N are never looked up at the same time, since they are likely to land
   * in the same network; a node also owns addresses per such block (default 12: registry
   * networks larger than a /16 are common)
   */
  blockPrefixLength: number
  /** attempts for timeouts, resets and server errors before giving up on an address (default 6) */
  maxTransientAttempts: number
  /** attempts for malformed answers: the first, one retry, then give up (default 2) */
  maxMalformedAttempts: number
  /** first retry delay after a transient error; doubles each attempt (default 1000) */
  retryBaseMs: number
  /** cap of the retry delay (default 60000) */
  retryMaxMs: number
  /**
   * Cool-down before an address given up on is asked again in the same run, since registry
   * outages end; it doubles each round up to failedRetryMaxMs, and the address gets its full
   * attempts again. Its failure stays recorded (with the reason) until an answer clears it.
   * 0: not in this run, only at the next start (default 0)
   */
  failedRetryMs: number
  /** cap of that cool-down (default 3600000) */
  failedRetryMaxMs: number
  /** such rounds per address and run: Infinity for a node that runs as a service (default Infinity) */
  failedRetryRounds: number
  /**
   * when this node holds more than 65,536 addresses other nodes own, pruneResolved() passes over
   * all of them at most this often; in between it drops only the resolved ones at the front
   * (default 15000)
   */
  fullPruneIntervalMs: number
  /**
   * `exact`: a container answer does not resolve the other addresses inside it; the crawl lists
   * containers' children where the registry allows (crawl/listing.ts). `covered`: the 2016 rule,
   * no listing. Must match the store's rule (NetworkStoreOptions.resolve), which decides what
   * counts as resolved. (default 'exact')
   */
  resolve: 'exact' | 'covered'
  /** sample addresses still not exact inside a container before it is listed (default 2) */
  listingMinWaiting: number
  /**
   * A registry unreachable this long (crawl/reachability.ts) has its addresses given up on for
   * this run, all at once, and the crawl goes on without it: a batch run must end. Infinity: never,
   * it is probed until it answers (a node run as a service). (default Infinity)
   */
  giveUpUnreachableMs: number
  /**
   * This node's peer id: every record the crawl writes carries it as its author (provenance,
   * NetworkRecord.author). Absent: records carry no author.
   */
  author?: string
}

export const defaultCrawlerOptions: Omit<CrawlerOptions, 'sample'> = {
  resolve: 'exact',
  listingMinWaiting: 2,
  maxInFlightPerRegistry: 4,
  blockPrefixLength: 12,
  maxTransientAttempts: 6,
  maxMalformedAttempts: 2,
  retryBaseMs: 1000,
  retryMaxMs: 60_000,
  failedRetryMs: 0,
  failedRetryMaxMs: 3_600_000,
  failedRetryRounds: Infinity,
  fullPruneIntervalMs: 15_000,
  giveUpUnreachableMs: Infinity
}

/** The attempts and rounds of src/crawl/retry-policy.ts RetryPolicy (the crawler's options). */
export type RetryPolicyOptions = Pick<CrawlerOptions, 'maxTransientAttempts' | 'maxMalformedAttempts' | 'retryBaseMs' | 'retryMaxMs' | 'failedRetryMs' | 'failedRetryMaxMs' | 'failedRetryRounds'>

/** The rate-limit back-off of src/crawl/registry-gate.ts RegistryGate. */
export interface RegistryGateOptions {
  /** back-off after a rate-limit answer without Retry-After; doubles while it repeats (default 2000) */
  rateLimitBackoffBaseMs: number
  /** cap of that back-off (default 300000, LACNIC's ban period) */
  rateLimitBackoffMaxMs: number
  /**
   * wait before the first probe of a registry that could not be reached (no name, refused, no
   * connection, answer timeouts in a row; crawl/reachability.ts); doubles per failed probe (default 1000)
   */
  unreachableBackoffBaseMs: number
  /** cap of that wait: an unreachable registry is probed at least this often (default 60000) */
  unreachableBackoffMaxMs: number
  /** answer timeouts in a row (no answer between) that make a registry unreachable (default 3) */
  unreachableAfterTimeouts: number
}

export const defaultRegistryGateOptions: RegistryGateOptions = {
  rateLimitBackoffBaseMs: 2000,
  rateLimitBackoffMaxMs: 300_000,
  unreachableBackoffBaseMs: 1000,
  unreachableBackoffMaxMs: 60_000,
  unreachableAfterTimeouts: 3
}

/** The records a commit actually wrote (added or changed): what is worth gossiping on. */
export type AcceptedRecords = CommitResult['accepted']

/** The parts of the store the crawl loop uses (src/store NetworkStore provides them). */
export interface CrawlStore {
  isResolved: (address: number) => boolean
  /** the registry's own answer for the address is known (store.isExact) */
  isExact: (address: number) => boolean
  isCovered: (address: number) => boolean
  commit: (batch: CommitInput) => Promise<Pick<CommitResult, 'accepted' | 'contested'>>
  /** the network stored under exactly [start, end] (NetworkStore.network) */
  network: (start: number, end: number) => Promise<NetworkRecord | undefined>
  /** the range of the most specific stored network holding the address (NetworkStore.mostSpecificRange) */
  mostSpecificRange: (address: number) => { start: number, end: number } | undefined
  getMeta: (key: string) => Promise<unknown>
  /** called after each commit that indexed new networks or negatives (NetworkStore.onIndexed, IndexedEvent) */
  onIndexed: TallySource['onIndexed']
}

/** What the crawler is built from (src/node wires them). */
export interface CrawlerModules {
  store: CrawlStore
  client: AddressLookup
  /** the registries' gate; the registry client (`client`) must pass the same one before each request */
  gate: RegistryGate
  logger: Logger
  /**
   * In a mesh: which addresses this node looks up (the rest are left to their owners and arrive
   * by gossip). Absent: every address is this node's.
   */
  ownership?: AddressOwnership
  /** lists containers' children (the registry client); absent: every address is asked on its own */
  lister?: ContainerLister
  /** the audits of peers' records (crawl/audits.ts): a dispatcher runs one when it is earned; absent: none */
  audits?: Audits
  /**
   * whether peers accept a record as this node would send it (mesh/validation.ts
   * checkNetworkRecord); absent: every record. A listing whose children peers would refuse marks
   * no container listed (crawl/listing.ts)
   */
  shareable?: (record: NetworkRecord) => boolean
}

/** Which registry holds an address, where known (src/registry/delegations.ts DelegationTable). */
export interface Routes {
  registryFor: (address: number) => RegistryId | undefined
}

/** In a mesh: which addresses this node looks up (the rest are left to their owners and arrive by gossip). */
export interface AddressOwnership {
  isMine: (address: number) => boolean
}

/** The store's meta key of the persisted counters. */
export const COUNTERS_META_KEY = 'crawl.counters'

/**
 * The crawler's events and their payloads (node:events style: `crawler.on('network', r => …)`).
 */
export interface CrawlerEvents {
  /** run() has queued this node's work: its demand per registry is known (the fleet's budget share reads it) */
  started: []
  /** what a commit of this node's answers actually wrote, and an answer that lost to a copy saying otherwise (crawl/contradiction.ts): what the node publishes to its peers */
  accepted: [records: AcceptedRecords]
  /** a lookup of an address started (each may take several registry requests) */
  lookup: [registry: RegistryId]
  /** a network found by a lookup, as stored */
  network: [record: NetworkRecord]
  /** a registry refused a lookup for its rate; its limiter is paused for `pauseMs` */
  'rate-limited': [event: { registry: RegistryId, pauseMs: number }]
  /** a registry could not be reached (once per outage; crawl/reachability.ts) */
  unreachable: [event: UnreachableEvent]
  /** it answered again */
  reachable: [event: ReachableEvent]
  /** the registry's answer lost the pick rule to a peer's copy that says otherwise (crawl/contradiction.ts); the address is given up on */
  contradicted: [contradiction: Contradiction]
  /** after run() ended: addresses a listing answered are open again (SampleTally); run() again crawls them */
  reopened: [addresses: number]
  /** run() ended with every sample address resolved or given up on */
  done: [status: CrawlStatus]
  /** run() ended because its signal aborted */
  stopped: [status: CrawlStatus]
}

/** How much of the budget audits of peers' records take, and when a peer is distrusted for them (crawl/audits.ts). */
export interface AuditOptions {
  /** audits per lookup of the crawl (0: none) */
  share: number
  /** how many times `share` lookups earn while a peer with strikes has records left to audit */
  suspectBoost: number
  /** strikes (distinct records the registries contradicted) after which an author is distrusted; 0: never */
  distrustAfter: number
  /**
   * strikes per audit of an author below which it is not suspected (no boost, no distrust):
   * registries change records between a fetch and an audit, and a liar forging less often than
   * this is not told from that
   */
  minStrikeRate: number
  /** records kept to audit per author: a uniform sample of those it sent */
  perAuthor: number
  /** authors whose records are kept to audit (the first seen) */
  maxAuthors: number
}

export const defaultAuditOptions: AuditOptions = { share: 0.01, suspectBoost: 10, distrustAfter: 3, minStrikeRate: 0.005, perAuthor: 1000, maxAuthors: 256 }

/**
 * Status counters, named as the 2016 crawler's statuses where they mean the same.
 * `persisted` ones survive restarts (kept in the store's meta bucket).
 */
export interface CrawlCounters {
  /** sample addresses not yet resolved and not in flight ("Awaiting Registry") */
  awaitingRegistry: number
  /** lookups in flight ("Looking up WHOIS") */
  lookingUp: number
  /** lookups that returned a network ("Got WHOIS"), persisted */
  gotWhois: number
  /** addresses given up on after retries ("Failed to lookup WHOIS"), persisted */
  failed: number
  /** addresses skipped because a known network already covers them ("Within Known CIDR Block"), persisted */
  withinKnownBlock: number
  /** addresses the registry answered as not found / unallocated, persisted */
  unallocated: number
  /** rate-limit answers received (429, "Query rate limit exceeded", bans), persisted */
  rateLimited: number
  /** address lookups started (each may take several requests), persisted */
  lookups: number
  /** container listings made (crawl/listing.ts; one request each), persisted */
  listings: number
  /** audits of peers' records made (crawl/audits.ts; a lookup each, not counted in `lookups`), persisted */
  audits: number
  /** registry requests sent, including redirect/referral hops and WHOIS fallbacks, persisted */
  requests: number
  /** retries scheduled after transient or malformed answers, persisted */
  retries: number
}

export const PERSISTED_COUNTERS = ['gotWhois', 'failed', 'withinKnownBlock', 'unallocated', 'rateLimited', 'lookups', 'listings', 'audits', 'requests', 'retries'] as const
export type PersistedCounter = typeof PERSISTED_COUNTERS[number]

export interface RegistryProgress {
  /** addresses this node will look up */
  queued: number
  /** unresolved addresses other nodes own (mesh) */
  othersOwn: number
  inFlight: number
  /** redirect hops of other registries' lookups waiting for a slot of this one */
  hopsWaiting: number
  retrying: number
  budgetPerSecond: number
  pausedForMs: number
  /** > 0 while the registry cannot be reached at all: for how long (crawl/reachability.ts) */
  unreachableForMs?: number
  requests: number
}

export interface CrawlStatus {
  counters: CrawlCounters
  registries: Record<RegistryId, RegistryProgress>
  sampleTotal: number
  /** sample addresses covered by a stored network, recorded unallocated, or in reserved space */
  sampleResolved: number
  sampleFailed: number
  done: boolean
  startedAt: number
}
