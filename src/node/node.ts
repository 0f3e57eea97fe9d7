/**
 * A whoismesh node: the store, the registry client, one rate limiter per registry, the crawl
 * loop, the mesh (gossip, heartbeats, ownership, the fleet's shared budgets) and the control
 * endpoint, put together.
 */
import { REGISTRY_IDS, type RegistryId, type RegistryEndpoints } from '../registry/interface.js'
import { type Budgets } from '../registry/budget.js'
import { RegistryClient } from '../lookup/index.js'
import { NetworkStore } from '../store/index.js'
import { Crawler, COUNTERS_META_KEY } from '../crawl/crawler.js'
import { defaultCrawlerOptions, type CrawlStatus, type RegistryProgress } from '../crawl/interface.js'
import { RateLimiter } from '../crawl/rate-limiter.js'
import { sampleSlice } from '../sample/index.js'
import { loadDelegations, type DelegationTable } from '../registry/delegations.js'
import { join } from 'node:path'
import { ControlServer } from './control.js'
import { coverageReport } from '../report/coverage.js'
import { formatDumpLine, csvHeader, type DumpFormat, DUMP_FORMATS } from '../report/dump.js'
import { parseIPv4 } from '../util/ipv4.js'
import type { Logger } from '../util/logger.js'
import { UserError } from '../util/errors.js'
import { isRegistryId } from '../registry/interface.js'
import type { Writable } from 'node:stream'
import { lookupReport } from '../report/lookup.js'
import type { NodeProgress } from '../report/status-line.js'
import type { PrivateKey } from '@libp2p/interface'
import { Mesh } from '../mesh/mesh.js'
import type { Heartbeat } from '../mesh/messages.js'
import { loadOrCreatePeerKey } from '../mesh/keys.js'
import { Ownership } from '../crawl/ownership.js'
import { BudgetShare } from '../crawl/budget-share.js'
import type { CommitResult } from '../store/index.js'
import { sleep } from '../crawl/rate-limiter.js'
import { createNodeMetrics, startMetricsServer, observeCrawlStatus, countRegistryRequest, type MetricsServer, type RegistryRequestOutcome } from '../metrics/index.js'

export const VERSION = '0.1.0'

/** The registry client's request outcome as the metrics' label. */
function requestOutcome (outcome: string, error?: string): RegistryRequestOutcome {
  switch (outcome) {
    case 'network': return 'network'
    case 'redirect': return 'redirect'
    case 'not-found': return 'not_found'
    case 'rate-limited': return 'rate_limited'
    default: return error === 'MalformedResponseError' ? 'malformed' : error === 'TransientLookupError' ? 'transient' : 'error'
  }
}

/**
 * Work per registry, what decides whether a node holds a share of it: its queue, retries and
 * lookups in flight for that registry. A node whose work for a registry ran out stops holding a
 * share of it (the others take it over once its heartbeats show no work for demandGap + 2 silences,
 * see crawl/budget-share.ts), so the last nodes with work for a registry get all of its budget.
 * Redirect hops waiting for a registry's slot count as work for it. Work that appears again
 * (addresses taken over when membership changes, a hop to a registry this node has no queue for —
 * rare, as the delegation files route transferred space straight to its holder) starts at the
 * floor rate and takes a full share after the join hold and the peers' acknowledgement.
 */
function demandOf (registries: Record<RegistryId, RegistryProgress>): Record<RegistryId, number> {
  return Object.fromEntries(REGISTRY_IDS.map(id => {
    const r = registries[id]
    return [id, r.queued + r.retrying + r.inFlight + r.hopsWaiting]
  })) as Record<RegistryId, number>
}

/** Whether a peer's heartbeat counts this node as a demander: per registry when it says so. */
function countsMe (h: Heartbeat, self: string): boolean | Partial<Record<RegistryId, boolean>> | undefined {
  if (h.counting === undefined) return undefined
  const i = h.counting.indexOf(self)
  if (h.countingMask === undefined) return i >= 0
  const mask = i >= 0 ? h.countingMask[i] : 0
  return Object.fromEntries(REGISTRY_IDS.map((id, b) => [id, (mask & (1 << b)) !== 0])) as Record<RegistryId, boolean>
}

export interface NodeOptions {
  /** data directory (LevelDB and control file) */
  dataDir: string
  endpoints: RegistryEndpoints
  /** requests per second this node may send to each registry */
  budgets: Budgets
  /** share of the budget actually used, a margin for clock and network jitter (default 0.98) */
  budgetSafety: number
  /** take the first N addresses of the shuffled sample (default: all) */
  sampleLimit?: number
  /** operator contact sent in the User-Agent */
  contact: string
  /** lookups in flight per registry */
  maxInFlightPerRegistry: number
  /** request timeout */
  timeoutMs: number
  /** port of the loopback control endpoint (0 = any free port) */
  controlPort: number
  /** the mesh: where to listen and whom to dial first */
  mesh: { listen: string[], bootstrap: string[], heartbeatIntervalMs: number, swarmKey?: Uint8Array }
  /**
   * Addresses of the same /N go to the same node, and never have two lookups in flight at once:
   * they are the ones likely to land in the same network (default 12; see README)
   */
  blockPrefixLength: number
  /** loopback port for Prometheus `GET /metrics`; undefined = no metrics server */
  metricsPort?: number
  /** time to learn the fleet (heartbeats) before crawling, so ownership is known (default 2.5 heartbeats) */
  settleMs?: number
  /**
   * Cool-down before an address given up on is asked again while the node runs (doubling per
   * round, capped at an hour); 0 = only at the next start. See CrawlerOptions.failedRetryMs.
   */
  failedRetryMs?: number
  /** rounds of those retries per address and run (default: unbounded, a node run as a service) */
  failedRetryRounds?: number
  /**
   * Route addresses by the registries' delegation files: fetched from these URLs (cached in
   * `<dataDir>/delegations` for a day) when the crawl starts, or the table given (from a local
   * file). Neither: by the IANA /8 table alone (transferred space then costs a redirect hop).
   */
  delegations?: { urls: Partial<Record<RegistryId, string>> } | { table: DelegationTable, source: string }
}

export const defaultNodeOptions = {
  dataDir: './data',
  budgetSafety: 0.98,
  contact: '',
  maxInFlightPerRegistry: defaultCrawlerOptions.maxInFlightPerRegistry,
  timeoutMs: 15_000,
  controlPort: 0,
  blockPrefixLength: 12,
  mesh: { listen: ['/ip4/0.0.0.0/tcp/4001'], bootstrap: [] as string[], heartbeatIntervalMs: 2000 }
}

export class WhoismeshNode {
  readonly crawler: Crawler
  private readonly control: ControlServer
  private readonly limiters: Record<RegistryId, RateLimiter>
  private readonly client: RegistryClient
  readonly mesh: Mesh
  readonly ownership: Ownership
  readonly budgetShare: BudgetShare
  private pruneTimer: ReturnType<typeof setTimeout> | undefined
  readonly metrics = createNodeMetrics()
  private metricsServer: MetricsServer | undefined
  private metricsTimer: ReturnType<typeof setInterval> | undefined

  private constructor (readonly opts: NodeOptions, readonly store: NetworkStore, privateKey: PrivateKey, private readonly logger: Logger) {
    this.limiters = Object.fromEntries(REGISTRY_IDS.map(id => [id, new RateLimiter({ ratePerSecond: opts.budgets[id] * opts.budgetSafety })])) as Record<RegistryId, RateLimiter>
    this.ownership = new Ownership({ prefixLength: opts.blockPrefixLength })
    let crawler: Crawler | undefined
    const client = this.client = new RegistryClient({
      endpoints: opts.endpoints,
      contact: opts.contact,
      timeoutMs: opts.timeoutMs
    }, {
      acquire: async (registry, signal) => await crawler!.acquire(registry, signal),
      onRequest: (ev) => {
        crawler?.noteRequest(ev.registry)
        countRegistryRequest(this.metrics.crawl, ev.registry, requestOutcome(ev.outcome, ev.error))
      }
    })
    crawler = new Crawler({
      ...defaultCrawlerOptions,
      sample: sampleSlice(opts.sampleLimit),
      budgets: opts.budgets,
      maxInFlightPerRegistry: opts.maxInFlightPerRegistry,
      blockPrefixLength: opts.blockPrefixLength,
      failedRetryMs: opts.failedRetryMs ?? defaultCrawlerOptions.failedRetryMs,
      failedRetryRounds: opts.failedRetryRounds ?? defaultCrawlerOptions.failedRetryRounds
    }, { store, client, limiters: this.limiters, logger, ownership: this.ownership })
    this.crawler = crawler
    // BudgetShare's timings are defined in heartbeats (see its header); a node that starts with no
    // bootstrap is the fleet's first and need not wait to be counted
    const H = opts.mesh.heartbeatIntervalMs
    this.budgetShare = new BudgetShare({
      budgets: opts.budgets,
      safety: opts.budgetSafety,
      // a silent peer (crashed, or beyond a partition) keeps its share this long: 90 s by default
      recentWindowMs: 45 * H,
      joinHoldMs: opts.mesh.bootstrap.length === 0 ? H : 6 * H,
      silenceMs: 2 * H,
      demandGapMs: 2 * H,
      presumedGoneAfterMs: 12 * H
    })
    this.mesh = new Mesh({
      listen: opts.mesh.listen,
      bootstrap: opts.mesh.bootstrap,
      heartbeatIntervalMs: opts.mesh.heartbeatIntervalMs,
      swarmKey: opts.mesh.swarmKey
    }, {
      privateKey,
      store,
      logger: logger.child({ component: 'mesh' }),
      heartbeat: () => this.heartbeat(),
      syncMetrics: this.metrics.mesh,
      onValidation: (topic, outcome, records, reason) => {
        this.metrics.mesh.gossipMessagesTotal.inc({ topic, outcome })
        if (reason !== undefined) this.metrics.mesh.gossipRefusedTotal.inc({ topic, outcome, reason })
        if (records > 0) this.metrics.mesh.gossipRecordsTotal.inc({ topic, outcome }, records)
      }
    })
    // what this node finds goes to its peers; what they find prunes its queues
    crawler.on('accepted', (a: CommitResult['accepted']) => this.mesh.publishRecords(a.networks, a.negatives))
    this.mesh.on('records', () => this.schedulePrune())
    this.mesh.on('membership', (peers: string[]) => {
      this.ownership.setPeers(peers, this.mesh.peerId.toString())
      logger.info('membership changed', { livePeers: peers.length })
      this.crawler.reconsider()
      this.applyBudgets()
    })
    this.mesh.on('departed', (peerId: string) => { this.budgetShare.forget(peerId); this.applyBudgets() })
    this.mesh.on('heartbeat', (h: Heartbeat) => {
      for (const [reg, until] of Object.entries(h.backoff) as Array<[RegistryId, number]>) {
        if (until > Date.now()) { this.budgetShare.notePeerBackoff(reg, until); this.limiters[reg].pauseFor(until - Date.now()) }
      }
    })
    crawler.on('rate-limited', (e: { registry: RegistryId, pauseMs: number }) => this.budgetShare.onRateLimited(e.registry, e.pauseMs))
    this.control = new ControlServer({ dataDir: opts.dataDir, port: opts.controlPort }, {
      '/v1/status': async () => this.crawler.status(),
      '/v1/coverage': async (p) => await coverageReport(store, { sampleLimit: optionalInt(p.get('sampleLimit')) ?? opts.sampleLimit, countersKey: COUNTERS_META_KEY }),
      '/v1/dump': async (p, stream) => { await writeDump(store, dumpParams(p), stream()) },
      '/v1/lookup': async (p) => await lookupReport(store, parseIPv4(p.get('ip') ?? ''))
    })
  }

  /**
   * Opens the store, joins the mesh and opens the control endpoint. Throws the store's errors
   * (locked, unwritable, corrupt) and listen errors (address in use).
   */
  static async open (opts: NodeOptions, logger: Logger): Promise<WhoismeshNode> {
    const store = await NetworkStore.open({ dataDir: opts.dataDir })
    let node: WhoismeshNode | undefined
    try {
      const { privateKey } = await loadOrCreatePeerKey(opts.dataDir)
      node = new WhoismeshNode(opts, store, privateKey, logger)
      await node.mesh.start()
      node.ownership.setPeers(node.mesh.liveFullPeers(), node.mesh.peerId.toString())
      node.applyBudgets()
      if (opts.metricsPort != null) {
        node.metricsServer = await startMetricsServer({ host: '127.0.0.1', port: opts.metricsPort }, node.metrics.register)
        node.metricsTimer = setInterval(() => node!.observe(), 1000)
        node.metricsTimer.unref()
      }
      const port = await node.control.start()
      logger.info('node ready', { peerId: node.mesh.peerId.toString(), listen: node.mesh.listenAddrs(), dataDir: opts.dataDir, controlPort: port, networks: store.counts().networks, sample: node.opts.sampleLimit ?? 'all' })
    } catch (err) {
      await node?.mesh.stop().catch(() => {})
      await store.close()
      throw err
    }
    return node
  }

  /** Crawls until every sample address is resolved in the (replicated) index, or `signal` aborts. */
  async crawl (signal?: AbortSignal): Promise<CrawlStatus> {
    await this.store.commit({ meta: { 'node.sampleLimit': this.opts.sampleLimit ?? null } })
    const routes = this.loadRoutes()
    // learn the fleet before choosing what is ours: wait at least settleMs, and until the set of
    // live peers has not changed for two heartbeats (peers joining together), at most 10 heartbeats
    const H = this.opts.mesh.heartbeatIntervalMs
    const settle = this.opts.settleMs ?? 2.5 * H
    const t0 = Date.now()
    let lastChange = t0
    const onChange = (): void => { lastChange = Date.now() }
    this.mesh.on('membership', onChange)
    try {
      while (signal?.aborted !== true) {
        const now = Date.now()
        if (now - t0 >= 10 * H) break
        if (now - t0 >= settle && now - lastChange >= 2 * H) break
        await sleep(Math.min(200, H / 4), signal).catch(() => {})
      }
    } finally {
      this.mesh.off('membership', onChange)
    }
    // a joiner first pulls what the fleet already found, so it does not ask for it again
    if (this.mesh.liveFullPeers().length > 1) {
      await this.mesh.whenSynced(60_000)
      await this.mesh.catchUpWithMostAdvanced(60_000)
    }
    this.crawler.setRoutes(await routes)
    this.ownership.setPeers(this.mesh.liveFullPeers(), this.mesh.peerId.toString())
    this.applyBudgets()
    const budgetTimer = setInterval(() => this.applyBudgets(), this.opts.mesh.heartbeatIntervalMs)
    try {
      return await this.crawler.run(signal)
    } finally {
      clearInterval(budgetTimer)
    }
  }

  /** The delegation table the crawl routes by (see NodeOptions.delegations); never throws. */
  private async loadRoutes (): Promise<DelegationTable | undefined> {
    const d = this.opts.delegations
    if (d == null) return undefined
    if ('table' in d) {
      this.logger.info('routing by delegation file', { file: d.source, blocks: d.table.size })
      return d.table
    }
    const t0 = performance.now()
    let loaded: Awaited<ReturnType<typeof loadDelegations>>
    try {
      loaded = await loadDelegations({ urls: d.urls, cacheDir: join(this.opts.dataDir, 'delegations') })
    } catch (err: any) {
      // e.g. the cache directory cannot be made: route by the /8 table, as without the files
      this.logger.warn('cannot load the delegation files; routing by the IANA /8 table', { error: String(err?.message ?? err) })
      return undefined
    }
    const failed = Object.entries(loaded.sources).filter(([, v]) => v != null && 'error' in v)
    for (const [id, v] of failed) this.logger.warn('delegation file unavailable; that registry\'s transferred space costs a redirect hop', { registry: id, error: (v as { error: string }).error })
    this.logger.info('routing by delegation files', { blocks: loaded.table.size, ms: Math.round(performance.now() - t0), sources: loaded.sources })
    return loaded.table.size > 0 ? loaded.table : undefined
  }

  /** This node's share of each registry's global budget, given to its limiters. */
  private applyBudgets (): void {
    const self = this.mesh.peerId.toString()
    const selfDemand = demandOf(this.crawler.registryProgress())
    const peers = [...this.mesh.peers.values()]
      .filter(p => !p.heartbeat.light)
      .map(p => ({ id: p.heartbeat.peerId, demand: p.heartbeat.demand, lastSeenMs: p.lastSeen, countsMe: countsMe(p.heartbeat, self) }))
    const live = new Set(this.mesh.liveFullPeers())
    const rates = this.budgetShare.update(peers.filter(p => live.has(p.id)), selfDemand, Date.now())
    let changed = false
    for (const id of REGISTRY_IDS) {
      if (Math.abs(this.limiters[id].ratePerSecond - rates[id]) > 1e-9) { this.limiters[id].setRate(rates[id]); changed = true }
    }
    if (changed) this.crawler.ratesChanged()
  }

  private heartbeat (): Omit<Heartbeat, 'peerId' | 'seq' | 'sentAt' | 'listen' | 'light'> {
    const status = this.crawler.status()
    const counts = this.store.counts()
    const backoff = Object.fromEntries(Object.entries(this.budgetShare.ownBackoffs()).map(([k, v]) => [k, Math.round(v)]))
    return {
      version: VERSION,
      counters: { ...status.counters },
      demand: demandOf(status.registries),
      rates: Object.fromEntries(REGISTRY_IDS.map(id => [id, this.limiters[id].ratePerSecond])) as Record<RegistryId, number>,
      backoff,
      ...this.budgetShare.counted(),
      index: { networks: counts.networks, negatives: counts.negatives, digest: this.store.digest() },
      sample: { total: status.sampleTotal, resolved: status.sampleResolved }
    }
  }

  /**
   * Progress for the operator (src/report/status-line.ts). The sample and slice counts come from
   * the crawler's tally (src/crawl/sample-tally.ts): a pass over 65,536 /16s, not over the sample.
   */
  progress (): NodeProgress {
    const c = this.crawler.countSample()
    const regs = this.crawler.registryProgress()
    return {
      at: Date.now(),
      sample: { total: c.total, resolved: c.resolved },
      slice: { total: c.sliceTotal, resolved: c.sliceResolved },
      networks: this.store.counts().networks,
      failed: this.store.counts().failures,
      registries: Object.fromEntries(REGISTRY_IDS.map(id => {
        const r = regs[id]
        return [id, { requests: r.requests, sharePerSecond: r.budgetPerSecond, pausedForMs: r.pausedForMs, remaining: r.queued + r.retrying + r.inFlight }]
      })) as NodeProgress['registries']
    }
  }

  /** Refreshes the gauges of the Prometheus metrics. */
  private observe (): void {
    observeCrawlStatus(this.metrics.crawl, this.crawler.status())
    for (const id of REGISTRY_IDS) this.metrics.crawl.registryBudget.set({ registry: id }, this.limiters[id].ratePerSecond)
    this.metrics.crawl.indexNetworks.set(this.store.counts().networks)
    this.metrics.mesh.livePeers.set(Math.max(0, this.mesh.liveFullPeers().length - 1))
    const scores = this.mesh.peerScores
    this.metrics.mesh.gossipPeerScoreMin.set(scores.min)
    this.metrics.mesh.gossipPenalisedPeers.set(scores.penalised)
    this.metrics.mesh.gossipGraylistedPeers.set(scores.graylisted)
  }

  private schedulePrune (): void {
    this.pruneTimer ??= setTimeout(() => { this.pruneTimer = undefined; this.crawler.pruneResolved() }, 500)
  }

  async close (): Promise<void> {
    if (this.pruneTimer != null) clearTimeout(this.pruneTimer)
    if (this.metricsTimer != null) clearInterval(this.metricsTimer)
    await this.metricsServer?.close()
    for (const l of Object.values(this.limiters)) l.close()
    await this.mesh.stop()
    await this.client.close()
    await this.control.stop()
    await this.store.close()
  }
}

function optionalInt (v: string | null): number | undefined {
  if (v == null || v === '') return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new UserError(`bad number "${v}"`)
  return n
}

export interface DumpParams { format: DumpFormat, registry?: RegistryId, since?: number }

function dumpParams (p: URLSearchParams): DumpParams {
  const format = (p.get('format') ?? 'jsonl') as DumpFormat
  if (!DUMP_FORMATS.includes(format)) throw new UserError(`unknown format "${format}"`)
  const registry = p.get('registry') ?? undefined
  if (registry != null && !isRegistryId(registry)) throw new UserError(`unknown registry "${registry}"`)
  const since = p.get('since')
  return { format, registry: registry as RegistryId | undefined, since: since == null ? undefined : Number(since) }
}

/** Writes every stored network (filtered) to `out`, respecting back-pressure. */
export async function writeDump (store: NetworkStore, params: DumpParams, out: Writable): Promise<number> {
  let n = 0
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await new Promise<void>((resolve, reject) => { out.once('drain', resolve); out.once('error', reject) })
  }
  if (params.format === 'csv') await write(csvHeader())
  for await (const r of store.networks({ registry: params.registry, since: params.since })) {
    await write(formatDumpLine(r, params.format))
    n++
  }
  return n
}

