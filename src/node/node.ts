/**
 * A whoismesh node: the store, the registry client, one rate limiter per registry, the crawl
 * loop, the mesh (gossip, heartbeats), the fleet (ownership, the shared budgets; src/fleet) and
 * the control endpoint, put together. Only composition: each part's rules live in its folder.
 */
import { once } from 'node:events'
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { RegistryClient } from '../lookup/index.js'
import { NetworkStore, type DistrustResult } from '../store/index.js'
import { UserError } from '../util/errors.js'
import { isPeerIdText } from '../record/index.js'
import { Crawler } from '../crawl/crawler.js'
import { defaultCrawlerOptions, defaultRegistryGateOptions, type CrawlStatus } from '../crawl/interface.js'
import { RateLimiter } from '../crawl/rate-limiter.js'
import { RegistryGate } from '../crawl/registry-gate.js'
import { Audits } from '../crawl/audits.js'
import { sampleSlice } from '../sample/index.js'
import { loadRoutes } from '../registry/routes.js'
import type { DelegationTable } from '../registry/delegations.js'
import { ControlServer } from './control.js'
import { controlRoutes } from './control-routes.js'
import type { Logger } from '../util/logger.js'
import type { NodeProgress } from '../report/status-line.js'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Mesh, loadOrCreatePeerKey, type Heartbeat } from '../mesh/index.js'
import { RecordChecks } from './record-checks.js'
import { DumpAwareOwnership, dumpsOf, Ownership, FleetBudget, ProgressWatch, settleMembership } from '../fleet/index.js'
import { registryForAddress } from '../registry/iana.js'
import { createNodeMetrics, startMetricsServer, observeCrawlStatus, countRegistryRequest, type MetricsServer } from '../metrics/index.js'
import type { NodeOptions } from './options.js'
import { startServices, storeAnswerSource, type Services } from '../serve/index.js'
import { paceFor } from '../serve/pace.js'

import { heartbeatBody, nodeProgress, requestOutcome } from './node-reports.js'

/** how often a node whose crawl is done looks whether an audit is earned (auditWhileIdle) */
const IDLE_AUDIT_TICK_MS = 1000

/** how long after a distrust this node syncs with every peer (by then the others distrusted too) */
const DISTRUST_RESYNC_MS = 10_000

export class WhoismeshNode {
  readonly crawler: Crawler
  private readonly control: ControlServer
  private readonly limiters: Record<RegistryId, RateLimiter>
  private readonly client: RegistryClient
  readonly mesh: Mesh
  /** who crawls which sample address; split per registry where the crawlers hold different dumps */
  readonly ownership: DumpAwareOwnership
  /** which live peers own a share of the sample: those whose work shows */
  private readonly progressWatch: ProgressWatch
  private progressTimer: ReturnType<typeof setInterval> | undefined
  readonly fleetBudget: FleetBudget
  /** audits of peers' records (crawl/audits.ts) */
  readonly audits: Audits
  private pruneTimer: ReturnType<typeof setTimeout> | undefined
  private ownersTimer: ReturnType<typeof setTimeout> | undefined
  /** the delegation files' table (loaded before the node joins): routes the crawl, checks peers' records */
  private routes: DelegationTable | undefined
  /** this node's records and its peers' against the delegation files (record-checks.ts) */
  private readonly checks: RecordChecks
  /** the sync with every peer a while after a distrust */
  private resyncTimer: ReturnType<typeof setTimeout> | undefined
  readonly metrics = createNodeMetrics()
  private metricsServer: MetricsServer | undefined
  private services: Services | undefined
  private metricsTimer: ReturnType<typeof setInterval> | undefined

  private constructor (readonly opts: NodeOptions, readonly store: NetworkStore, privateKey: PrivateKey, private readonly logger: Logger) {
    this.checks = new RecordChecks({ logger, metrics: this.metrics.mesh })
    this.limiters = Object.fromEntries(REGISTRY_IDS.map(id => [id, new RateLimiter({ ratePerSecond: opts.budgets[id] * opts.budgetSafety })])) as Record<RegistryId, RateLimiter>
    this.ownership = new DumpAwareOwnership(new Ownership({ prefixLength: opts.blockPrefixLength }), a => this.registryOf(a))
    this.progressWatch = new ProgressWatch({ stallMs: opts.peerStallMs }, {
      openByOwner: () => this.ownership.peers.length === 0 ? undefined : this.crawler.openByOwner(a => this.ownership.ownerOf(a))
    })
    // the registry client and the crawler share one gate: every request passes it
    const gate = new RegistryGate(defaultRegistryGateOptions, { limiters: this.limiters })
    const client = this.client = new RegistryClient({
      endpoints: opts.endpoints,
      contact: opts.contact,
      timeoutMs: opts.timeoutMs
    }, {
      gate,
      onRequest: (ev) => countRegistryRequest(this.metrics.crawl, ev.registry, requestOutcome(ev.outcome, ev.error))
    })
    const self = peerIdFromPrivateKey(privateKey).toString()
    const audits = this.audits = new Audits({ share: opts.auditShare, distrustAfter: opts.auditDistrust }, self)
    const crawler = new Crawler({
      ...defaultCrawlerOptions,
      sample: sampleSlice(opts.sampleLimit),
      maxInFlightPerRegistry: opts.maxInFlightPerRegistry,
      blockPrefixLength: opts.blockPrefixLength,
      failedRetryMs: opts.failedRetryMs ?? defaultCrawlerOptions.failedRetryMs,
      failedRetryRounds: opts.failedRetryRounds ?? defaultCrawlerOptions.failedRetryRounds,
      giveUpUnreachableMs: opts.giveUpUnreachableMs ?? defaultCrawlerOptions.giveUpUnreachableMs,
      resolve: opts.resolve,
      author: self
    }, { store, client, gate, logger, ownership: this.ownership, lister: client, audits, shareable: r => this.checks.shareable(r) })
    this.crawler = crawler
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
      plausible: () => this.checks.plausibility,
      onImplausible: (records, from) => { this.checks.onImplausible(records, from) },
      onValidation: (topic, outcome, records, reason) => {
        this.metrics.mesh.gossipMessagesTotal.inc({ topic, outcome })
        if (reason !== undefined) this.metrics.mesh.gossipRefusedTotal.inc({ topic, outcome, reason })
        if (records > 0) this.metrics.mesh.gossipRecordsTotal.inc({ topic, outcome }, records)
      }
    })
    this.fleetBudget = new FleetBudget({
      budgets: opts.budgets,
      safety: opts.budgetSafety,
      heartbeatIntervalMs: opts.mesh.heartbeatIntervalMs,
      firstNode: opts.mesh.bootstrap.length === 0
    }, { fleet: this.mesh, limiters: this.limiters, crawler, logger: logger.child({ component: 'fleet' }), announce: () => { this.mesh.announce() } })
    // what this node finds goes to its peers; what they find prunes its queues
    crawler.on('accepted', a => {
      this.mesh.publishRecords(a.networks, a.negatives)
      this.checks.warnIfImplausible(a.networks)
    })
    this.mesh.on('records', a => {
      audits.offer(a)
      this.progressWatch.onAuthored(a.networks.map(r => r.author))
      this.progressWatch.onAuthored(a.negatives.map(r => r.author))
      this.schedulePrune()
    })
    this.mesh.on('membership', peers => {
      this.setOwners()
      logger.info('membership changed', { livePeers: peers.length })
      this.crawler.reconsider()
      this.fleetBudget.apply()
    })
    this.mesh.on('departed', peerId => this.fleetBudget.onPeerDeparted(peerId))
    this.mesh.on('heartbeat', h => {
      this.fleetBudget.onPeerHeartbeat(h)
      const before = this.lastHeartbeat.get(h.peerId)
      this.lastHeartbeat.set(h.peerId, h)
      this.reconcileIfApart(h)
      // a peer that imported a dump (or dropped one) no longer needs (or needs again) that registry's answers
      if (dumpsOf(before) !== dumpsOf(h)) this.ownersSoon()
    })
    crawler.on('rate-limited', e => this.fleetBudget.onRateLimited(e.registry, e.pauseMs))
    crawler.on('lookup', () => { this.metrics.crawl.lookupsTotal.inc(); audits.earn() })
    crawler.on('contradicted', c => this.metrics.crawl.contradictionsTotal.inc({ registry: c.registry }))
    audits.on('audited', (_job, verdict) => this.metrics.crawl.auditsTotal.inc({ verdict }))
    audits.on('distrust', (peer, strikes) => {
      this.metrics.crawl.autoDistrustsTotal.inc()
      logger.warn('distrusting a peer: the registries contradicted records it published', { peer, records: strikes, auditDistrust: opts.auditDistrust })
      this.distrust([peer], false).catch(err => logger.error('distrusting a peer failed', { peer, error: String(err?.message ?? err) }))
    })
    // this node's work is queued: its demand goes out now, not at the next heartbeat
    crawler.on('started', () => { this.fleetBudget.apply() })
    this.control = new ControlServer({ dataDir: opts.dataDir, port: opts.controlPort }, controlRoutes({ sampleLimit: opts.sampleLimit }, { store, crawler, distrust: async (peers, undo) => await this.distrust(peers, undo) }))
  }

  /**
   * Opens the store, joins the mesh and opens the control endpoint. Throws the store's errors
   * (locked, unwritable, corrupt) and listen errors (address in use).
   */
  static async open (opts: NodeOptions, logger: Logger): Promise<WhoismeshNode> {
    const store = await NetworkStore.open({ dataDir: opts.dataDir, resolve: opts.resolve })
    let node: WhoismeshNode | undefined
    try {
      const { privateKey } = await loadOrCreatePeerKey(opts.dataDir)
      node = new WhoismeshNode(opts, store, privateKey, logger)
      // before joining: no record from a peer arrives unchecked against the files
      node.routes = await loadRoutes({ delegations: opts.delegations, dataDir: opts.dataDir }, { logger })
      node.checks.setTable(node.routes)
      // a dump answers what is routed to its registry: the rule ownership splits by
      store.bulkLayer.setRouting(a => node!.registryOf(a))
      for (const d of store.bulkLayer.damaged) logger.warn('bulk data: an imported dump cannot be read and is left out (its space is crawled); import the dump again', { path: d.path, problem: d.message })
      await node.mesh.start()
      node.setOwners()
      node.progressTimer = setInterval(() => node!.judgeProgress(), opts.mesh.heartbeatIntervalMs)
      node.progressTimer.unref()
      // from now on, not only while crawling: joiners wait for this node's acknowledgements
      node.fleetBudget.start()
      node.fleetBudget.apply()
      if (opts.metricsPort != null) {
        node.metricsServer = await startMetricsServer({ host: '127.0.0.1', port: opts.metricsPort }, node.metrics.register)
        node.metricsTimer = setInterval(() => node!.observe(), 1000)
        node.metricsTimer.unref()
      }
      const port = await node.control.start()
      // the WHOIS and RDAP services answer from this replica (src/serve)
      if (opts.serve !== undefined) node.services = await startServices({ ...opts.serve, registryEndpoints: opts.endpoints }, { source: storeAnswerSource(store, node.mesh.peerId.toString(), paceFor(opts.serve.share)), logger, register: node.metrics.register })
      logger.info('node ready', { peerId: node.mesh.peerId.toString(), listen: node.mesh.listenAddrs(), dataDir: opts.dataDir, controlPort: port, ...(node.metricsServer !== undefined ? { metricsPort: node.metricsServer.port } : {}), ...(node.services !== undefined ? { serving: node.services.ports } : {}), networks: store.counts().networks, sample: node.opts.sampleLimit ?? 'all' })
    } catch (err) {
      node?.fleetBudget.stop()
      await node?.mesh.stop().catch(() => {})
      // a service that could not listen comes last: what was opened before it is closed too
      await node?.metricsServer?.close().catch(() => {})
      await node?.control.stop().catch(() => {})
      await store.close()
      throw err
    }
    return node
  }

  /** each peer's latest heartbeat, for awaitFleetAgreement */
  private readonly lastHeartbeat = new Map<string, Heartbeat>()

  /**
   * After this node's crawl is done: waits until every live peer that crawls has no work queued
   * either and holds the same index (its heartbeat's digest is this node's), so a batch run's replicas
   * end identical even where a peer found networks no sample address needed (a listing's
   * children). Resolves false after `timeoutMs` (or an abort) without that agreement.
   */
  async awaitFleetAgreement (timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = performance.now() + timeoutMs
    await this.mesh.flush()
    for (;;) {
      const mine = this.store.digest()
      const self = this.mesh.peerId.toString()
      const peers = this.progressWatch.crawlers(this.mesh.liveFullPeers(), self).filter(id => id !== self)
      const agree = peers.every(id => {
        const h = this.lastHeartbeat.get(id)
        return h !== undefined && Object.values(h.demand).every(d => d <= 0) && h.index.digest === mine
      })
      if (agree) return true
      if (performance.now() >= deadline || signal?.aborted === true) return false
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }

  /** Crawls until every sample address is resolved in the (replicated) index, or `signal` aborts. */
  async crawl (signal?: AbortSignal): Promise<CrawlStatus> {
    await this.store.commit({ meta: { 'node.sampleLimit': this.opts.sampleLimit ?? null } })
    // learn the fleet before choosing what is ours
    await settleMembership({ heartbeatIntervalMs: this.opts.mesh.heartbeatIntervalMs, settleMs: this.opts.settleMs }, {
      onMembershipChange: (listener) => { this.mesh.on('membership', listener); return () => { this.mesh.off('membership', listener) } }
    }, signal)
    // a joiner first pulls what the fleet already found, so it does not ask for it again
    if (this.mesh.liveFullPeers().length > 1) {
      await this.mesh.whenStartedSyncsEnd(60_000)
      await this.mesh.catchUpWithMostAdvanced(60_000)
    }
    this.crawler.setRoutes(this.routes)
    this.setOwners()
    this.fleetBudget.apply()
    return await this.crawler.run(signal)
  }

  /**
   * After a crawl ended: runs it again while addresses resolved before were taken back since
   * (Crawler 'reopened': this replica got a listed container before the child holding them, or
   * the operator distrusted the peer whose records resolved them). Returns the last run's status.
   */
  async crawlReopened (status: CrawlStatus, signal?: AbortSignal): Promise<CrawlStatus> {
    while (this.crawler.reopenedSinceRun > 0 && signal?.aborted !== true) {
      this.logger.info('sample addresses resolved before are open again; crawling them', { addresses: this.crawler.reopenedSinceRun })
      status = await this.crawler.run(signal)
    }
    return status
  }

  /**
   * While a service node's crawl is done (between runs): audits go on at `--audit-share` of this
   * node's fair share of the budgets (each registry's ÷ the live crawlers), so a peer that
   * publishes after the crawl is audited too. Resolves when `signal` aborts.
   */
  async auditWhileIdle (signal: AbortSignal): Promise<void> {
    let last = performance.now()
    // from now on, records that arrive are audited first (also during a run that crawls reopened addresses)
    this.audits.idle = true
    while (!signal.aborted) {
      await new Promise(resolve => setTimeout(resolve, IDLE_AUDIT_TICK_MS).unref())
      const now = performance.now()
      const crawlers = Math.max(1, this.mesh.liveFullPeers().length)
      const perSecond = REGISTRY_IDS.reduce((sum, id) => sum + this.opts.budgets[id] * this.opts.budgetSafety, 0) / crawlers
      if (!this.crawler.isRunning) {
        this.audits.earn(perSecond * (now - last) / 1000)
        // as many as are earned (at most 10: Audits caps its credit), a round of one per registry at a time
        try {
          while (!signal.aborted && await this.crawler.auditIdle(signal) > 0);
        } catch (err: any) {
          this.logger.warn('an audit failed', { error: String(err?.message ?? err) })
        }
      }
      last = performance.now()
    }
  }

  /** Resolves true once addresses are reopened after the crawl (crawlReopened crawls them), false when `signal` aborts. */
  async whenReopened (signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false
    if (this.crawler.reopenedSinceRun > 0) return true
    try {
      await once(this.crawler, 'reopened', { signal })
      return true
    } catch (err) {
      if (signal.aborted) return false
      throw err
    }
  }

  /**
   * `whoismesh distrust` on the running node: the store drops what the peers authored and refuses
   * it from now on (NetworkStore.distrust; the sample addresses it resolved, and those given up
   * on in this run, are crawled again), and
   * the mesh stops counting them as peers (their work and budget shares go to the others).
   * `undo` trusts them again. This node's own id is refused (UserError).
   */
  async distrust (peers: string[], undo: boolean): Promise<DistrustResult> {
    const bad = peers.find(p => !isPeerIdText(p))
    if (bad !== undefined) throw new UserError(`"${String(bad).slice(0, 64)}" is not a peer id`)
    const self = this.mesh.peerId.toString()
    if (peers.includes(self)) throw new UserError(`${self} is this node's own peer id`)
    const res = await this.store.distrust(peers, undo)
    if (!undo) {
      for (const p of peers) {
        await this.mesh.forgetPeer(p)
        this.audits.distrusted(p)
      }
      // addresses given up on, e.g. where a copy the peer authored contradicted the registry
      this.crawler.reopenGivenUp()
    } else {
      // trusted again: its audits and strikes start afresh
      for (const p of peers) this.audits.forgive(p)
    }
    if (res.droppedNetworks + res.droppedNegatives > 0) {
      // what the dropped records had replaced may still be held by a peer: fetch it rather than ask
      // the registry; and once the others have distrusted too (ansible runs it on every node at
      // once), what their crawls found again lost to the liar's copies here: sync with each of them
      void this.mesh.catchUpWithMostAdvanced(60_000).catch(() => {})
      this.resyncTimer ??= setTimeout(() => { this.resyncTimer = undefined; void this.mesh.syncWithEveryPeer() }, DISTRUST_RESYNC_MS)
    }
    this.logger.warn(undo ? 'peers trusted again' : 'peers distrusted: their records are dropped', { peers, droppedNetworks: res.droppedNetworks, droppedNegatives: res.droppedNegatives })
    return res
  }

  /**
   * A peer with no work left whose index differs from this node's, which has none either: sync
   * with it now (at most every half sync interval per peer), not at a random round. Gossip
   * published while a joiner's mesh formed, or records a restarted node brought back, otherwise
   * left the replicas of a finished fleet apart for up to a sync interval per hop.
   */
  private reconcileIfApart (h: Heartbeat): void {
    if (h.light || h.index.digest === this.store.digest() || Object.values(h.demand).some(d => d > 0)) return
    const mine = this.crawler.counterSnapshot()
    if (mine.awaitingRegistry > 0 || mine.lookingUp > 0) return
    void this.mesh.syncSoonWith(h.peerId)
  }

  /** the registry asked first about `address`: the delegation files' holder, else its /8's (as the crawl routes) */
  private registryOf (address: number): RegistryId | undefined {
    return this.routes?.registryFor(address) ?? registryForAddress(address) ?? undefined
  }

  /**
   * Ownership again within a heartbeat interval (at least 2 s): once for any number of peers'
   * dump changes meanwhile, so a peer flipping its `bulk` field costs one recomputation per interval.
   */
  private ownersSoon (): void {
    if (this.ownersTimer !== undefined || this.ownership.peers.length === 0) return
    this.ownersTimer = setTimeout(() => {
      this.ownersTimer = undefined
      if (this.setOwners()) this.crawler.reconsider()
    }, Math.max(2000, this.opts.mesh.heartbeatIntervalMs))
    this.ownersTimer.unref()
  }

  /** Ownership over the live peers whose work shows (ProgressWatch), and the dumps each holds; whether it changed. */
  private setOwners (): boolean {
    const self = this.mesh.peerId.toString()
    const mine = new Set(this.store.bulkHeaders().map(h => h.registry))
    const holds = (id: string): ReadonlySet<RegistryId> => id === self ? mine : new Set(Object.keys(this.lastHeartbeat.get(id)?.bulk ?? {}) as RegistryId[])
    return this.ownership.setPeers(this.progressWatch.crawlers(this.mesh.liveFullPeers(), self), self, holds)
  }

  /** Once a heartbeat interval: a peer that owns open work and shows none loses its share; one that shows work again takes it back. */
  private judgeProgress (): void {
    try {
      this.applyProgress()
    } catch (err) {
      this.logger.error('judging the peers\' progress failed', { error: String((err as Error)?.message ?? err) })
    }
  }

  private applyProgress (): void {
    const r = this.progressWatch.check(this.mesh.liveFullPeers(), this.mesh.peerId.toString())
    for (const peer of r.stalled) this.logger.warn('a peer owns open sample addresses and shows no work: its share goes to the others', { peer, stallMs: this.opts.peerStallMs })
    for (const peer of r.resumed) this.logger.info('a peer whose work stalled shows work again: it takes its share back', { peer })
    if (r.stalled.length + r.resumed.length > 0 && this.setOwners()) this.crawler.reconsider()
  }

  private heartbeat (): Omit<Heartbeat, 'peerId' | 'seq' | 'sentAt' | 'listen' | 'light'> {
    return heartbeatBody(this.crawler, this.store, this.fleetBudget)
  }

  /** Progress for the operator (src/report/status-line.ts; node-reports.ts). */
  progress (): NodeProgress {
    return nodeProgress(this.crawler, this.store)
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
    if (this.ownersTimer != null) clearTimeout(this.ownersTimer)
    if (this.resyncTimer != null) clearTimeout(this.resyncTimer)
    if (this.progressTimer != null) clearInterval(this.progressTimer)
    if (this.metricsTimer != null) clearInterval(this.metricsTimer)
    this.fleetBudget.stop()
    await this.metricsServer?.close()
    await this.services?.close()
    for (const l of Object.values(this.limiters)) l.close()
    await this.mesh.stop()
    await this.client.close()
    await this.control.stop()
    await this.store.close()
  }
}
