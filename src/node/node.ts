/**
 * A whoismesh node: the store, the registry client, one rate limiter per registry, the crawl
 * loop and the control endpoint, put together. (The mesh joins here in the next step.)
 */
import { REGISTRY_IDS, type RegistryId, type RegistryEndpoints } from '../registry/interface.js'
import { type Budgets } from '../registry/budget.js'
import { RegistryClient } from '../lookup/index.js'
import { NetworkStore } from '../store/index.js'
import { Crawler, COUNTERS_META_KEY } from '../crawl/crawler.js'
import { defaultCrawlerOptions, type CrawlStatus } from '../crawl/interface.js'
import { RateLimiter } from '../crawl/rate-limiter.js'
import { sampleSlice } from '../sample/index.js'
import { ControlServer } from './control.js'
import { coverageReport } from '../report/coverage.js'
import { formatDumpLine, csvHeader, type DumpFormat, DUMP_FORMATS } from '../report/dump.js'
import { parseIPv4 } from '../util/ipv4.js'
import type { Logger } from '../util/logger.js'
import { UserError } from '../util/errors.js'
import { isRegistryId } from '../registry/interface.js'
import type { Writable } from 'node:stream'
import { lookupReport } from '../report/lookup.js'

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
}

export const defaultNodeOptions = {
  dataDir: './data',
  budgetSafety: 0.98,
  contact: '',
  maxInFlightPerRegistry: defaultCrawlerOptions.maxInFlightPerRegistry,
  timeoutMs: 15_000,
  controlPort: 0
}

export class WhoismeshNode {
  readonly crawler: Crawler
  private readonly control: ControlServer
  private readonly limiters: Record<RegistryId, RateLimiter>
  private readonly client: RegistryClient

  private constructor (readonly opts: NodeOptions, readonly store: NetworkStore, private readonly logger: Logger) {
    this.limiters = Object.fromEntries(REGISTRY_IDS.map(id => [id, new RateLimiter({ ratePerSecond: opts.budgets[id] * opts.budgetSafety })])) as Record<RegistryId, RateLimiter>
    let crawler: Crawler | undefined
    const client = this.client = new RegistryClient({
      endpoints: opts.endpoints,
      contact: opts.contact,
      timeoutMs: opts.timeoutMs
    }, {
      acquire: async (registry, signal) => await crawler!.acquire(registry, signal),
      onRequest: (ev) => crawler?.noteRequest(ev.registry)
    })
    crawler = new Crawler({
      ...defaultCrawlerOptions,
      sample: sampleSlice(opts.sampleLimit),
      budgets: opts.budgets,
      maxInFlightPerRegistry: opts.maxInFlightPerRegistry
    }, { store, client, limiters: this.limiters, logger })
    this.crawler = crawler
    this.control = new ControlServer({ dataDir: opts.dataDir, port: opts.controlPort }, {
      '/v1/status': async () => this.crawler.status(),
      '/v1/coverage': async (p) => await coverageReport(store, { sampleLimit: optionalInt(p.get('sampleLimit')) ?? opts.sampleLimit, countersKey: COUNTERS_META_KEY }),
      '/v1/dump': async (p, stream) => { await writeDump(store, dumpParams(p), stream()) },
      '/v1/lookup': async (p) => await lookupReport(store, parseIPv4(p.get('ip') ?? ''))
    })
  }

  /** Opens the store and the control endpoint. Throws the store's errors (locked, unwritable, corrupt). */
  static async open (opts: NodeOptions, logger: Logger): Promise<WhoismeshNode> {
    const store = await NetworkStore.open({ dataDir: opts.dataDir })
    const node = new WhoismeshNode(opts, store, logger)
    try {
      const port = await node.control.start()
      logger.info('node ready', { dataDir: opts.dataDir, controlPort: port, networks: store.counts().networks, sample: node.opts.sampleLimit ?? 'all' })
    } catch (err) {
      await store.close()
      throw err
    }
    return node
  }

  /** Crawls until done or `signal` aborts. */
  async crawl (signal?: AbortSignal): Promise<CrawlStatus> {
    await this.store.commit({ meta: { 'node.sampleLimit': this.opts.sampleLimit ?? null } })
    return await this.crawler.run(signal)
  }

  async close (): Promise<void> {
    for (const l of Object.values(this.limiters)) l.close()
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

