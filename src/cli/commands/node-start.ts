import { DEFAULT_BUDGETS, formatBudgets, parseBudgets, type Budgets } from '../../registry/budget.js'
import { REAL_BULK_SOURCES, REAL_REGISTRY_ENDPOINTS, type BulkSource } from '../../registry/endpoints.js'
import type { BulkChoice } from '../../bulk/sources.js'
import { DelegationTable, parseDelegations, REAL_DELEGATION_URLS } from '../../registry/delegations.js'
import type { RegistryId } from '../../registry/interface.js'
import { defaultNodeOptions, type NodeOptions } from '../../node/options.js'
import { readFile, stat } from 'node:fs/promises'
import { fetchRdapBootstrap } from '../../registry/bootstrap.js'
import { applyRoutingOverrides } from '../../registry/iana.js'
import { createLogger, type LogFormat } from '../../util/logger.js'
import { formatCoverage, coverageReport } from '../../report/coverage.js'
import { COUNTERS_META_KEY } from '../../crawl/interface.js'
import { nameListenFailure, parseMultiaddrList } from '../multiaddrs.js'
import { budgetFlag } from '../options.js'
import { UserError } from '../errors.js'
import { loadSwarmKey } from '../../mesh/swarm-key.js'
import { LiveLine, startStatusReporter } from '../status-reporter.js'
import { BUNDLED_SIMULATOR, loadRegistries, startBundledSimulator, type BundledSimulator } from '../registries-source.js'

export interface NodeStartCommandOptions {
  data: string
  listen: string
  bootstrap?: string
  swarmKey?: string
  heartbeatMs: number
  /** a registries file, or `sim`: the bundled simulator in this process (cli/registries-source.ts) */
  registries?: string
  /** seconds to wait for a registries file that does not exist yet */
  registriesWait: number
  /** 'auto' (the registries' files, fetched and cached), 'off', or a local file */
  delegations: string
  /** 'auto' (the registries' database dumps, fetched when their serial changed), 'off', or a directory of dump files */
  bulk: string
  budget?: string
  sampleLimit?: number
  exitWhenDone?: boolean
  resolve: 'exact' | 'covered'
  contact?: string
  concurrency: number
  timeoutMs: number
  /** seconds before a given-up address is asked again while running (0 = next start) */
  retryFailedAfter: number
  /** with exitWhenDone: seconds a registry may stay unreachable before its addresses are given up on */
  giveUpUnreachable: number
  peerStall: number
  auditShare: number
  auditDistrust: number
  controlPort: number
  metricsPort?: number
  /** `--serve-whois [ADDR:]PORT` */
  serveWhois?: { host: string, port: number }
  /** `--serve-rdap [ADDR:]PORT` */
  serveRdap?: { host: string, port: number }
  /** `--serve-share`: ServePace.maxBusy */
  serveShare?: number
  statusInterval: number
  logFormat?: LogFormat
  quiet?: boolean
  verbose?: boolean
}

/** how long a node waits, once done, for its peers to finish and agree before it says so (a batch run then exits) */
const FLEET_AGREEMENT_MS = 30_000

/**
 * `--delegations`: auto = the registries' files (their URLs, fetched when the crawl starts; a
 * registries file without them means none), off, or a local file in the exchange format (read
 * now, so a bad path is a user error before anything starts).
 */
async function delegationsFlag (value: string, urls: Partial<Record<RegistryId, string>>): Promise<NodeOptions['delegations']> {
  if (value === 'off') return undefined
  if (value === 'auto') return Object.keys(urls).length > 0 ? { urls } : undefined
  let text: string
  try {
    text = await readFile(value, 'utf8')
  } catch (err: any) {
    throw new UserError(`--delegations: cannot read ${value}: ${String(err?.code ?? err?.message)} (give auto, off or a delegation file)`)
  }
  const parsed = parseDelegations(text)
  if (parsed.entries.length === 0) throw new UserError(`--delegations: ${value} has no ipv4 allocated/assigned lines of the RIR statistics exchange format (registry|cc|ipv4|start|count|date|status)`)
  return { table: new DelegationTable(parsed.entries), source: value }
}

/** Exit code when the crawl ended with addresses given up on (docs/operating.md, "Exit codes"). */
export const EXIT_INCOMPLETE = 3

/** Runs the node until it is done (--exit-when-done) or stopped; resolves to the exit code. */
export async function runNodeStart (o: NodeStartCommandOptions): Promise<number> {
  const listen = parseMultiaddrList('--listen', o.listen, false)
  if (listen.length === 0) throw new UserError('--listen needs at least one address, e.g. /ip4/0.0.0.0/tcp/4001')
  const bootstrap = parseMultiaddrList('--bootstrap', o.bootstrap, true)
  const swarmKey = o.swarmKey != null ? await loadSwarmKey(o.swarmKey) : undefined
  // a live status line on a terminal (see status-reporter.ts); log lines are then printed above it
  const live = process.stderr.isTTY && o.quiet !== true && o.logFormat !== 'json' ? new LiveLine(process.stderr) : undefined
  const logger = createLogger({ format: o.logFormat, level: o.quiet === true ? 'warn' : o.verbose === true ? 'debug' : 'info', write: live != null ? line => live.printAbove(line) : undefined })

  // budgets: defaults, then what the registries file declares, then --budget (the bundled
  // simulator enforces the node's budgets)
  let base: Budgets = { ...DEFAULT_BUDGETS }
  let endpoints = REAL_REGISTRY_ENDPOINTS
  let delegationUrls: Partial<Record<RegistryId, string>> = REAL_DELEGATION_URLS
  let bulkSources: Partial<Record<RegistryId, BulkSource>> = REAL_BULK_SOURCES
  const budgetOf = (b: Budgets): Budgets => o.budget != null ? budgetFlag(() => parseBudgets(o.budget!, b)) : b
  budgetOf(base) // a bad --budget is said before anything starts or waits
  let sim: BundledSimulator | undefined
  if (o.registries === BUNDLED_SIMULATOR) {
    sim = await startBundledSimulator(budgetOf(base), logger)
    endpoints = sim.registries.endpoints
    delegationUrls = sim.registries.delegationUrls
    bulkSources = sim.registries.bulkSources
  } else if (o.registries != null) {
    const loaded = await loadRegistries(o.registries, o.registriesWait * 1000, logger)
    endpoints = loaded.endpoints
    delegationUrls = loaded.delegationUrls
    bulkSources = loaded.bulkSources
    base = { ...base, ...loaded.budgets }
  }
  try {
    return await crawlWith(o, { logger, live, listen, bootstrap, swarmKey, endpoints, budgets: budgetOf(base), delegationUrls, bulk: await bulkFlag(o.bulk, bulkSources) })
  } finally {
    await sim?.close()
  }
}

interface StartContext {
  logger: ReturnType<typeof createLogger>
  live: LiveLine | undefined
  listen: string[]
  bootstrap: string[]
  swarmKey: Uint8Array | undefined
  endpoints: NodeOptions['endpoints']
  budgets: Budgets
  delegationUrls: Partial<Record<RegistryId, string>>
  bulk: BulkChoice
}

/** `--bulk`: auto (the registries' published dumps), off, or a directory holding dump files (checked now). */
async function bulkFlag (value: string, sources: Partial<Record<RegistryId, BulkSource>>): Promise<BulkChoice> {
  if (value === 'off') return { kind: 'off' }
  if (value === 'auto') return { kind: 'auto', sources }
  try {
    if (!(await stat(value)).isDirectory()) throw new UserError(`--bulk: ${value} is not a directory (give auto, off or a directory holding ripe.db.inetnum.gz, apnic.db.inetnum.gz, afrinic.db.gz, …)`)
  } catch (err: any) {
    if (err instanceof UserError) throw err
    throw new UserError(`--bulk: cannot use ${value}: ${String(err?.code ?? err?.message)} (give auto, off or a directory of dump files)`)
  }
  return { kind: 'dir', dir: value }
}

/** Opens the node on the registries chosen and crawls until done or stopped; resolves to the exit code. */
async function crawlWith (o: NodeStartCommandOptions, c: StartContext): Promise<number> {
  const { logger, live, listen, bootstrap, swarmKey, endpoints, budgets } = c
  const delegations = await delegationsFlag(o.delegations, c.delegationUrls)

  if (o.registries == null) {
    if (o.contact == null) logger.warn('no --contact given: registries ask bulk clients to identify an operator contact in the User-Agent')
    const fresh = await fetchRdapBootstrap(endpoints, { timeoutMs: 5000 })
    if (fresh == null) logger.info('IANA RDAP bootstrap file not reachable; routing by the built-in IANA table')
    else logger.info('routing refreshed from the IANA RDAP bootstrap file', { slashEightsChanged: applyRoutingOverrides(fresh) })
  }

  // the registries' dumps before the node joins: it owns none of the space they answer, and
  // its peers do not wait for it while it imports (src/bulk)
  if (c.bulk.kind !== 'off' && !(await importBulk(o.data, c.bulk, logger))) return 0

  // libp2p takes about two seconds to load: only once every flag has been checked
  const { WhoismeshNode } = await import('../../node/node.js')
  const node = await WhoismeshNode.open({
    ...defaultNodeOptions,
    dataDir: o.data,
    endpoints,
    budgets,
    sampleLimit: o.sampleLimit,
    resolve: o.resolve,
    contact: o.contact ?? '',
    maxInFlightPerRegistry: o.concurrency,
    timeoutMs: o.timeoutMs,
    // a service heals by itself after a registry outage; a batch job (--exit-when-done) gives
    // its given-up addresses one more round after the cool-down, then ends (exit 3)
    failedRetryMs: o.retryFailedAfter * 1000,
    failedRetryRounds: o.exitWhenDone === true ? 1 : Infinity,
    // a batch job must end even when a registry never answers; a service keeps probing it
    giveUpUnreachableMs: o.exitWhenDone === true ? o.giveUpUnreachable * 1000 : Infinity,
    peerStallMs: o.peerStall * 1000,
    auditShare: o.auditShare,
    auditDistrust: o.auditDistrust,
    controlPort: o.controlPort,
    metricsPort: o.metricsPort,
    ...(o.serveWhois !== undefined || o.serveRdap !== undefined ? { serve: { whois: o.serveWhois, rdap: o.serveRdap, ...(o.serveShare !== undefined ? { share: o.serveShare } : {}) } } : {}),
    delegations,
    mesh: { listen, bootstrap, heartbeatIntervalMs: o.heartbeatMs, swarmKey }
  }, logger).catch(err => { throw nameListenFailure(err, { listen: '--listen', controlPort: '--control-port', metricsPort: '--metrics-port' }) })
  logger.info('budgets', { budgets: formatBudgets(budgets), registries: o.registries ?? 'real RIRs' })

  const ac = new AbortController()
  let signalled: string | undefined
  const onSignal = (sig: string): void => {
    if (signalled != null) { logger.warn('second signal: exiting now'); process.exit(130) }
    signalled = sig
    logger.info('stopping', { signal: sig })
    ac.abort()
  }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))

  const stopStatus = startStatusReporter({ statusIntervalSeconds: o.statusInterval }, { node, logger, live })

  let exitCode = 0
  try {
    let status = await node.crawlReopened(await node.crawl(ac.signal), ac.signal)
    // done means the fleet holds one index: an idle peer whose index differs is synced with at once (node.ts)
    if (status.done && !(await node.awaitFleetAgreement(FLEET_AGREEMENT_MS, ac.signal))) {
      logger.warn(o.exitWhenDone === true
        ? 'the fleet\'s replicas still differ; exiting with this node\'s copy (the others keep syncing while they run)'
        : 'the fleet\'s replicas still differ; they keep syncing', { waitedMs: FLEET_AGREEMENT_MS })
    }
    status = await node.crawlReopened(status, ac.signal)
    if (status.done) {
      const report = await coverageReport(node.store, { sampleLimit: o.sampleLimit, countersKey: COUNTERS_META_KEY })
      // done by the node's rule: every answer exact, or (covered) every address inside some network
      const complete = (o.resolve === 'covered' ? report.sample_resolved : report.sample_exact) === report.sample_total
      logger.info(complete ? 'crawl complete' : 'crawl finished with addresses given up on', {
        networks: report.networks,
        sampleResolved: report.sample_resolved,
        sampleExact: report.sample_exact,
        sampleTotal: report.sample_total,
        lookups: report.lookups,
        listings: report.listings,
        lookupsPerNetwork: report.networks === 0 ? null : Number((report.lookups / report.networks).toFixed(4)),
        digest: report.digest
      })
      if (o.exitWhenDone === true) {
        stopStatus()
        if (o.quiet !== true) process.stderr.write(formatCoverage(report))
        exitCode = complete ? 0 : EXIT_INCOMPLETE
      } else {
        logger.info('crawl done; serving dump/lookup/coverage until stopped (Ctrl-C)')
        // peers' records that arrive from now on are audited too (crawl/audits.ts)
        const idleAudits = node.auditWhileIdle(ac.signal)
        // a sync may still take back answers a listing gave (crawl/sample-tally.ts): crawl those
        while (await node.whenReopened(ac.signal)) {
          status = await node.crawlReopened(status, ac.signal)
          logger.info('reopened addresses crawled', { sampleResolved: status.sampleResolved, sampleTotal: status.sampleTotal })
        }
        await idleAudits
      }
    }
  } finally {
    stopStatus()
    await node.close()
  }
  return signalled != null ? 0 : exitCode
}

/**
 * `--bulk`: brings the data directory's dumps up to the source (src/bulk/sources.ts) while holding
 * the store's lock, so no other node imports into the same directory meanwhile. A source that
 * fails is said in one line and left to the crawl; SIGINT/SIGTERM stop the import at once (the
 * snapshots imported before stay) and the node with it: resolves false then.
 */
async function importBulk (dataDir: string, choice: BulkChoice, logger: ReturnType<typeof createLogger>): Promise<boolean> {
  const { refreshBulk } = await import('../../bulk/sources.js')
  const { NetworkStore } = await import('../../store/index.js')
  const ac = new AbortController()
  const stop = (): void => ac.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    await NetworkStore.withLock(dataDir, async () => await refreshBulk(dataDir, choice, logger, ac.signal))
  } catch (err) {
    if (!ac.signal.aborted) throw err
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
  if (ac.signal.aborted) logger.info('stopped while importing the registries\' dumps; the ones imported before stay')
  return !ac.signal.aborted
}
