import { REGISTRY_IDS } from '../../registry/interface.js'
import { DEFAULT_BUDGETS, formatBudgets, parseBudgets, type Budgets } from '../../registry/budget.js'
import { loadRegistriesFile, REAL_REGISTRY_ENDPOINTS } from '../../registry/endpoints.js'
import { fetchRdapBootstrap } from '../../registry/bootstrap.js'
import { applyRoutingOverrides } from '../../registry/iana.js'
import { WhoismeshNode, defaultNodeOptions } from '../../node/node.js'
import { createLogger, type LogFormat } from '../../util/logger.js'
import { formatCoverage, coverageReport } from '../../report/coverage.js'
import { COUNTERS_META_KEY } from '../../crawl/crawler.js'
import { parseMultiaddrList } from '../multiaddrs.js'
import { UserError } from '../errors.js'
import { loadSwarmKey } from '../../mesh/swarm-key.js'

export interface NodeStartCommandOptions {
  data: string
  listen: string
  bootstrap?: string
  swarmKey?: string
  heartbeatMs: number
  registries?: string
  budget?: string
  sampleLimit?: number
  exitWhenDone?: boolean
  contact?: string
  concurrency: number
  timeoutMs: number
  controlPort: number
  metricsPort?: number
  statusInterval: number
  logFormat?: LogFormat
  quiet?: boolean
  verbose?: boolean
}

/** Exit code when the crawl ended with addresses given up on (see README). */
export const EXIT_INCOMPLETE = 3

export async function runNodeStart (o: NodeStartCommandOptions): Promise<void> {
  const listen = parseMultiaddrList('--listen', o.listen, false)
  if (listen.length === 0) throw new UserError('--listen needs at least one address, e.g. /ip4/0.0.0.0/tcp/4001')
  const bootstrap = parseMultiaddrList('--bootstrap', o.bootstrap, true)
  const swarmKey = o.swarmKey != null ? await loadSwarmKey(o.swarmKey) : undefined
  const logger = createLogger({ format: o.logFormat, level: o.quiet === true ? 'warn' : o.verbose === true ? 'debug' : 'info' })

  // budgets: defaults, then what the registries file declares, then --budget
  let base: Budgets = { ...DEFAULT_BUDGETS }
  let endpoints = REAL_REGISTRY_ENDPOINTS
  if (o.registries != null) {
    const loaded = await loadRegistriesFile(o.registries)
    endpoints = loaded.endpoints
    base = { ...base, ...loaded.budgets }
  }
  const budgets = o.budget != null ? parseBudgets(o.budget, base) : base

  if (o.registries == null) {
    if (o.contact == null) logger.warn('no --contact given: registries ask bulk clients to identify an operator contact in the User-Agent')
    const fresh = await fetchRdapBootstrap(endpoints, { timeoutMs: 5000 })
    if (fresh == null) logger.info('IANA RDAP bootstrap file not reachable; routing by the built-in IANA table')
    else logger.info('routing refreshed from the IANA RDAP bootstrap file', { slashEightsChanged: applyRoutingOverrides(fresh) })
  }

  const node = await WhoismeshNode.open({
    ...defaultNodeOptions,
    dataDir: o.data,
    endpoints,
    budgets,
    sampleLimit: o.sampleLimit,
    contact: o.contact ?? '',
    maxInFlightPerRegistry: o.concurrency,
    timeoutMs: o.timeoutMs,
    controlPort: o.controlPort,
    metricsPort: o.metricsPort,
    mesh: { listen, bootstrap, heartbeatIntervalMs: o.heartbeatMs, swarmKey }
  }, logger)
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

  const progress = setInterval(() => {
    const s = node.crawler.status()
    logger.info('progress', {
      resolved: s.sampleResolved,
      total: s.sampleTotal,
      networks: node.store.counts().networks,
      lookups: s.counters.lookups,
      inFlight: s.counters.lookingUp,
      queued: Object.fromEntries(REGISTRY_IDS.map(id => [id, s.registries[id].queued + s.registries[id].retrying])),
      rateLimited: s.counters.rateLimited,
      failed: s.sampleFailed
    })
  }, o.statusInterval * 1000)
  progress.unref()

  let exitCode = 0
  try {
    const status = await node.crawl(ac.signal)
    if (status.done) {
      const report = await coverageReport(node.store, { sampleLimit: o.sampleLimit, countersKey: COUNTERS_META_KEY })
      const complete = report.sample_resolved === report.sample_total
      logger.info(complete ? 'crawl complete' : 'crawl finished with addresses given up on', {
        networks: report.networks,
        sampleResolved: report.sample_resolved,
        sampleTotal: report.sample_total,
        lookups: report.lookups,
        lookupsPerNetwork: report.networks === 0 ? null : Number((report.lookups / report.networks).toFixed(4)),
        digest: report.digest
      })
      if (o.exitWhenDone === true) {
        if (o.quiet !== true) process.stderr.write(formatCoverage(report))
        exitCode = complete ? 0 : EXIT_INCOMPLETE
      } else {
        logger.info('crawl done; serving dump/lookup/coverage until stopped (Ctrl-C)')
        await new Promise<void>(resolve => {
          if (ac.signal.aborted) resolve()
          else ac.signal.addEventListener('abort', () => resolve(), { once: true })
        })
      }
    }
  } finally {
    clearInterval(progress)
    await node.close()
  }
  if (signalled != null) exitCode = 0
  process.exitCode = exitCode
}
