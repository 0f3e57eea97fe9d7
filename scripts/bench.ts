/**
 * `npm run bench`: the figures README reports, measured in one run on this machine, as ratios where
 * a comparison makes sense. Prints one JSON object and writes it to scripts/bench-results.json.
 * Every crawl runs against the simulator's default world, the NESTED one (registries' trees), with
 * the node's default rule, exact; answers are judged against the simulator's ground truth
 * (test/helpers/exact.ts). The flat world's figures are kept in docs/scaling.md for comparison.
 *
 *   npm run bench [-- --sample-limit 50000 --budget all=300 --skip-crawl --skip-mesh --skip-index --index-dir DIR]
 *   npm run bench -- --fleet-sample 200000 --fleet-budget all=40 [--covered-budget all=400] [--full-sample]
 *     (the whole performance table; the fleet crawl is off by default to keep the run short)
 *
 * 1. sample generation: the 4,706,768-address sample, generated and shuffled
 * 2. the index a node holds once the whole sample is crawled (scripts/bench-index.ts: every network
 *    the sample's answers reach and the 'answered' notes, written from the world): covered and exact
 *    checks per second against it, against a LevelDB seek per check. Writing it takes 15–45 min:
 *    --index-dir DIR writes it there and keeps it, and a later run with the same DIR measures it as
 *    it is (step 5's node opens it and may add to it)
 * 3. a crawl: simulator (in this process) + `whoismesh node start` (child process) on the first N
 *    sample addresses: exact-answer rate, requests, wall time ÷ the request bound
 * 4. a fleet crawl (scripts/bench-fleet.ts): --fleet-nodes `whoismesh node start` processes on the
 *    first --fleet-sample addresses (0 = skip): exact-answer rate on every node, requests per
 *    registry ÷ those of one node with the covered rule on the same sample (--covered-budget), ÷
 *    asking every address; wall time ÷ the request bound; per registry the share of the global
 *    budget used while the fleet had work queued for it; the whole-sample estimate at the real
 *    default budgets, scaled from it
 * 5. world nodes (scripts/bench-fleet.ts): a node opened on the index of step 2 (or of step 7's
 *    crawl) and an empty node that syncs it from that node; VmRSS/VmHWM of both, and VmRSS split
 *    into anonymous memory and mapped files (LevelDB maps its table files: pages the kernel can
 *    drop, counted in VmRSS once read) (--skip-world-nodes)
 * 6. the mesh: scripts/bench-mesh.ts (--gossip-nodes peer processes: gossip latency and throughput,
 *    and a late joiner's full sync), spawned
 * 7. with --full-sample: the fleet crawl of the whole 4,706,768-address sample, --full-budget
 *    (default all=3000), bounded by --full-timeout-s; judged, and the whole-sample estimate at the
 *    real budgets from its own requests; its store then replaces step 2's for steps 2 and 5;
 *    with --full-covered, the whole sample crawled by one node under the covered rule too, and
 *    the per-registry requests of the exact crawl ÷ its own (either runs without the other)
 * 8. start time, right after the sample (scripts/bench-startup.ts): `whoismesh --help` and `dump`
 *    on an empty, stopped store, each ÷ `node -e ''`, median of 5; then LevelDB's batch forms,
 *    array against chained (scripts/bench-batch.ts)
 * 10. with --bulk-sample N (default 0 = off): scripts/bench-bulk.ts — the simulated dumps, the import
 *    of RIPE NCC's (objects/s, peak RSS), and N addresses crawled without and with the dumps
 * 9. with --exact-sample N (default 0 = off): scripts/bench-exact.ts, both rules on one node and
 *    --fleet-nodes nodes on the first N addresses
 * 11. with --serve-sample N (default 0 = off): the services on the index of the first N sample
 *    addresses — scripts/bench-whois.ts (port-43 bulk mode, 100k addresses in one connection) and
 *    scripts/bench-rdap.ts (16 clients: queries/s, p99), spawned; then scripts/bench-serve-crawl.ts:
 *    a crawling node's pace quiet and while its services answer as fast as they can, at the
 *    registries' real budgets and at 10× them
 * 12. with --lookup-addresses N (default 0 = off): scripts/bench-lookup.ts — `whoismesh lookup -` on N
 *    random addresses against step 2's index (written first when --skip-index left none), JSONL
 *    then CSV, each round beside its references (the pipe alone, the same work in C)
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir, cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { spawn } from 'node:child_process'
import { generateSortedSample, shuffledSample } from '../src/sample/index.js'
import { buildWorld, defaultSimulatorOptions, NestedWorld, startSimulator, writeRegistriesFile } from '../src/sim/index.js'
import { NetworkStore } from '../src/store/index.js'
import { REGISTRY_IDS, type RegistryId } from '../src/registry/interface.js'
import { DEFAULT_BUDGETS, parseBudgets } from '../src/registry/budget.js'
import { sampleSlice } from '../src/sample/index.js'
import { benchFleetCrawl, benchWorldNodes, simTotals } from './bench-fleet.js'
import { benchIndexChecks, buildReachedIndex } from './bench-index.js'
import { describeJudgement, inProcessTruth, judgeExact } from '../test/helpers/exact.js'
import { BIN } from '../test/helpers/cli.js'
import { benchStartup } from './bench-startup.js'
import { benchExact } from './bench-exact.js'
import { benchBulk } from './bench-bulk.js'
import { benchBatchForms } from './bench-batch.js'
import { benchLookup } from './bench-lookup.js'

const { values: args } = parseArgs({
  options: {
    'sample-limit': { type: 'string', default: '50000' },
    budget: { type: 'string', default: 'all=300' },
    'skip-crawl': { type: 'boolean', default: false },
    'skip-mesh': { type: 'boolean', default: false },
    'fleet-sample': { type: 'string', default: '0' },
    'fleet-nodes': { type: 'string', default: '5' },
    'fleet-budget': { type: 'string' },
    'covered-budget': { type: 'string', default: 'all=400' },
    'skip-world-nodes': { type: 'boolean', default: false },
    'skip-index': { type: 'boolean', default: false },
    'index-dir': { type: 'string' },
    'gossip-nodes': { type: 'string', default: '12' },
    'full-sample': { type: 'boolean', default: false },
    'full-covered': { type: 'boolean', default: false },
    'full-budget': { type: 'string', default: 'all=3000' },
    'full-timeout-s': { type: 'string', default: '3600' },
    'exact-sample': { type: 'string', default: '0' },
    'bulk-sample': { type: 'string', default: '0' },
    'serve-sample': { type: 'string', default: '0' },
    'lookup-addresses': { type: 'string', default: '0' },
    out: { type: 'string', default: fileURLToPath(new URL('./bench-results.json', import.meta.url)) }
  }
})
const round = (x: number, d = 3): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`bench: ${s}\n`) }

function benchSample (): Record<string, number> {
  const runs: number[] = []
  for (let i = 0; i < 3; i++) {
    const t = performance.now()
    generateSortedSample()
    runs.push(performance.now() - t)
  }
  const t = performance.now()
  shuffledSample()
  const shuffled = performance.now() - t
  return { generate_ms: round(Math.min(...runs), 1), generate_and_shuffle_ms: round(shuffled, 1), addresses: shuffledSample().length }
}

const SAMPLE_SIZE = 4_706_768
let nestedWorld: NestedWorld | undefined
/** the simulator's default world, built once for every step of the run */
async function nested (): Promise<NestedWorld> {
  nestedWorld ??= new NestedWorld(await buildWorld({ transferRate: defaultSimulatorOptions.transferRate }), defaultSimulatorOptions.worldSeed)
  return nestedWorld
}

/** Exact-answer judgement of a stopped node's store over the first `limit` sample addresses. */
async function judge (dataDir: string, limit: number): Promise<Record<string, unknown>> {
  const j = await judgeExact(dataDir, sampleSlice(limit), inProcessTruth(await nested()))
  log(`judged ${dataDir}: ${describeJudgement(j)}`)
  return { exact_answer_rate: round(j.rate, 5), judged: j.judged, exact: j.exact, coarse: j.coarse, other_wrong: j.other, outside_every_network: j.outside, notes_without_network: j.negatives, reserved_excluded: j.reserved }
}

/**
 * How long the whole sample takes at the real default budgets (10/s ARIN, RIPE NCC, APNIC; 10/min
 * LACNIC; 1/s AFRINIC), per registry: the requests each registry answered in a crawl of `sampled`
 * addresses, scaled to the whole sample (a sample of the whole needs no scaling; from a subset the
 * scaling is an upper bound: a denser sample lists more containers and asks fewer addresses alone),
 * ÷ its budget. The crawl takes as long as the slowest registry: the bottleneck.
 */
function wholeSampleEstimate (crawl: Record<string, any>, sampled: number): Record<string, unknown> {
  const scale = SAMPLE_SIZE / sampled
  const per: Record<string, unknown> = {}
  let bottleneck: RegistryId = 'arin'
  let worst = 0
  for (const id of REGISTRY_IDS) {
    const r = crawl.registries[id]
    const requests = (r.queries - r.rate_limited) * scale
    const seconds = requests / DEFAULT_BUDGETS[id]
    per[id] = { requests: Math.round(requests), budget_per_s: round(DEFAULT_BUDGETS[id], 4), hours: round(seconds / 3600, 1), days: round(seconds / 86400, 2) }
    if (seconds > worst) { worst = seconds; bottleneck = id }
  }
  return { scaled_from_addresses: sampled, scale: round(scale, 3), registries: per, bottleneck, days: round(worst / 86400, 2) }
}

/** Requests per registry of one crawl ÷ another's (same sample). */
function requestRatios (x: Record<string, any>, y: Record<string, any>): Record<string, unknown> {
  return {
    all: round(x.registry_queries / y.registry_queries, 3),
    by_registry: Object.fromEntries(REGISTRY_IDS.map(id => [id, round(x.registries[id].queries / Math.max(1, y.registries[id].queries), 3)]))
  }
}

async function benchCrawl (dir: string, sampleLimit: number, budgetSpec: string): Promise<Record<string, unknown>> {
  const budgets = parseBudgets(budgetSpec)
  log(`crawl: simulator with budget ${budgetSpec}, node on the first ${sampleLimit} sample addresses…`)
  const sim = await startSimulator({ budgetPerSecond: budgets }, { nested: await nested() })
  const registries = join(dir, 'registries.json')
  await writeRegistriesFile(sim, registries)
  const data = join(dir, 'crawl')
  const t0 = performance.now()
  let crawlStart = 0
  let crawlEnd = 0
  const child = spawn(process.execPath, [BIN, 'node', 'start', '--data', data, '--registries', registries, '--sample-limit', String(sampleLimit), '--exit-when-done', '--log-format', 'json', '--status-interval', '30'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let tail = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    tail = (tail + d).slice(-4000)
    for (const line of d.split('\n')) {
      if (line.includes('"crawl started"')) crawlStart = performance.now()
      if (line.includes('"crawl complete"') || line.includes('"crawl finished')) crawlEnd = performance.now()
    }
  })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  const wallMs = performance.now() - t0
  const stats = sim.stats()
  await sim.close()
  if (code !== 0) throw new Error(`node exited ${String(code)}: ${tail}`)

  const store = await NetworkStore.open({ dataDir: data })
  const counters = await store.getMeta('crawl.counters') as { lookups: number, requests: number }
  const networks = store.counts().networks
  await store.close()
  const judged = await judge(data, sampleLimit)

  const { requestBoundS, requestSlowest, bans, rateLimited } = simTotals(stats, budgets)
  const perRegistry: Record<string, unknown> = {}
  const crawlS = (crawlEnd - crawlStart) / 1000
  for (const id of REGISTRY_IDS) {
    const r = stats.registries[id]
    perRegistry[id] = { ...r, budget_per_s: round(budgets[id], 3), budget_used: round(r.queries / (budgets[id] * crawlS), 3) }
  }
  return {
    sample_limit: sampleLimit,
    budget: budgetSpec,
    ...judged,
    networks_found: networks,
    lookups: counters.lookups,
    registry_requests: counters.requests,
    requests_per_sample_address: round(counters.requests / sampleLimit, 4),
    bans,
    rate_limited: rateLimited,
    crawl_s: round(crawlS, 2),
    process_wall_s: round(wallMs / 1000, 2),
    request_bound_s: round(requestBoundS, 2),
    request_bound_registry: requestSlowest,
    crawl_over_request_bound: round(crawlS / requestBoundS, 3),
    registries: perRegistry
  }
}

async function benchMesh (peers: number): Promise<unknown> {
  return await benchScript('bench-mesh.ts', ['--json', '--peers', String(peers)])
}

/** Runs a benchmark script of this folder in its own process; resolves with the JSON it prints. */
async function benchScript (script: string, scriptArgs: string[]): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`./${script}`, import.meta.url)), ...scriptArgs], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  if (code !== 0) throw new Error(`${script} exited ${String(code)}`)
  return JSON.parse(out)
}

/** each target of the performance table: the figure, the target, met or not */
function targets (r: any): Array<Record<string, unknown>> {
  const t: Array<Record<string, unknown>> = []
  const add = (measure: string, figure: unknown, target: string, met: boolean | null): void => { t.push({ measure, figure: figure ?? null, target, met: figure == null ? null : met }) }
  const f = r.fleet_crawl
  const n = f?.sample_limit ?? args['fleet-sample']
  add(`exact-answer rate, ${String(f?.nodes ?? args['fleet-nodes'])} nodes, ${String(n)} addresses (lowest node)`, f?.exact_answer_rate_lowest_node, '≥ 0.995', f?.exact_answer_rate_lowest_node >= 0.995)
  add('exact-answer rate of the covered rule, same sample (for comparison)', r.fleet_covered?.exact_answer_rate, 'report', null)
  const ratio = f?.requests_over_covered
  add('requests ÷ the covered rule\'s, same sample, all registries', ratio?.all, '≤ 1.5', ratio?.all <= 1.5)
  if (ratio?.by_registry != null) for (const [id, x] of Object.entries(ratio.by_registry as Record<string, number>)) add(`requests ÷ the covered rule's: ${id}`, x, '≤ 1.5 (or explained)', x <= 1.5)
  add('requests ÷ asking every sample address', f?.requests_over_every_address, 'report', null)
  add('crawl wall time ÷ request bound, fleet crawl', f?.crawl_over_request_bound, '≤ 1.15', f?.crawl_over_request_bound <= 1.15)
  if (f?.registries != null) {
    for (const [id, reg] of Object.entries(f.registries as Record<string, any>)) {
      add(`share of the global budget used while work is queued: ${id}`, reg.used_while_queued, '≥ 0.90, never > 1.00 (no 429s)', reg.used_while_queued != null && reg.used_while_queued >= 0.9 && reg.rate_limited === 0)
    }
  }
  const est = r.full_sample_crawl?.whole_sample_at_real_budgets ?? f?.whole_sample_at_real_budgets
  add(`whole sample at the real budgets, days (bottleneck ${String(est?.bottleneck)}; ${est?.scale === 1 ? 'measured on the whole sample' : 'scaled from the fleet crawl'})`, est?.days, 'report', null)
  add('`whoismesh --help` start ÷ `node -e \'\'` (median of 5)', r.startup?.help_ratio, '≤ 3', r.startup?.help_ratio <= 3)
  add('`whoismesh dump` on an empty, stopped store ÷ `node -e \'\'`', r.startup?.dump_ratio, '≤ 4', r.startup?.dump_ratio <= 4)
  add('4.7M sample generation, ms', r.sample?.generate_ms, '< 1000', r.sample?.generate_ms < 1000)
  const ix = r.full_index_checks ?? r.index_checks
  add(`covered checks/s, the full sample's index loaded (${String(ix?.networks)} networks, ${String(ix?.notes)} notes)`, ix?.covered_checks_per_s, '≥ 5,000,000', ix?.covered_checks_per_s >= 5e6)
  add('exact checks/s, same index', ix?.exact_checks_per_s, '≥ 5,000,000', ix?.exact_checks_per_s >= 5e6)
  const light = r.mesh?.latency?.flushed_each_light_load?.to_last_peer_ms?.p99
  add(`gossip to all of ${String(r.mesh?.membership?.peers ?? args['gossip-nodes'])} processes, p99 ms (light load)`, light, '< 1000', light < 1000)
  const timer = r.mesh?.latency?.default_flush_timer?.to_last_peer_ms?.p99
  add(`gossip to all of ${String(r.mesh?.membership?.peers ?? args['gossip-nodes'])} processes, p99 ms (record every 20 ms, default batching)`, timer, '< 1000', timer < 1000)
  const nodeSync = r.world_nodes?.joiner?.sync_from_spawn_s
  add('late joiner: sync of the full sample\'s index through `node start`, s from spawn', nodeSync, '< 60', nodeSync < 60)
  add('late joiner: that sync, MB received', r.world_nodes?.joiner?.sync_mb_received, 'report', null)
  const rss = Math.max(r.world_nodes?.joiner?.memory_holding_world?.hwm_mb ?? NaN, r.world_nodes?.full_node?.memory_after_serving_sync?.hwm_mb ?? NaN)
  add('peak RSS (VmHWM) per node holding the full sample\'s index, MB', Number.isNaN(rss) ? null : rss, 'report', null)
  const steady = Math.max(r.world_nodes?.joiner?.memory_holding_world_60s_later?.rss_mb ?? NaN, r.world_nodes?.full_node?.memory_60s_later?.rss_mb ?? NaN)
  add('RSS per node holding the full sample\'s index, a minute after the sync (steady state), MB', Number.isNaN(steady) ? null : steady, '< 500', steady < 500)
  // of which the node's own memory; the rest are LevelDB's mapped table files (processMemory)
  const anon = Math.max(r.world_nodes?.joiner?.memory_holding_world_60s_later?.anon_mb ?? NaN, r.world_nodes?.full_node?.memory_60s_later?.anon_mb ?? NaN)
  add('… of it anonymous memory (VmRSS without mapped files), MB', Number.isNaN(anon) ? null : anon, 'report', null)
  for (const format of ['jsonl', 'csv']) {
    const l = r[`bulk_lookup_${format}`]
    if (l == null) continue
    add(`\`lookup -\`, ${String(args['lookup-addresses'])} random addresses, ${format}, one process, end to end into \`wc -lc\` (median of 5), addresses/s`, l.with_cache_median?.addresses_per_s, '≥ 1,000,000', l.with_cache_median?.addresses_per_s >= 1e6)
    add(`… the same answers through the same pipe alone (\`cat\`), addresses/s`, l.references?.pipe_only?.addresses_per_s, 'report', null)
    add(`… the same work in C on one thread (scripts/lookup-floor.c), addresses/s`, l.references?.c_loop?.addresses_per_s, 'report', null)
  }
  const full = r.full_sample_crawl
  if (full != null) add(`full sample, ${String(full.nodes ?? args['fleet-nodes'])} nodes: crawl s / exact-answer rate`, full.error ?? `${String(full.crawl_s)} s / ${String(full.exact_answer_rate)}`, 'completes, ≥ 0.995', full.error == null && full.exact_answer_rate >= 0.995)
  const fullRatio = full?.requests_over_covered
  if (fullRatio?.by_registry != null) for (const [id, x] of Object.entries(fullRatio.by_registry as Record<string, number>)) add(`requests ÷ the covered rule's on the whole sample: ${id}`, x, '≤ 1.5 (or explained)', x <= 1.5)
  return t
}

const dir = await mkdtemp(join(tmpdir(), 'whoismesh-bench-'))
try {
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim()
  }
  const fleetSample = Number(args['fleet-sample'])
  const fleetNodes = Number(args['fleet-nodes'])
  const fleetBudget = args['fleet-budget'] ?? args.budget
  const step = async (name: string, run: () => Promise<unknown>): Promise<void> => {
    const t = performance.now()
    const loadBefore = round(loadavg()[0], 1)
    try {
      result[name] = await run()
      // the machine may be shared: the 1-minute load average before and after each step
      if (result[name] != null && typeof result[name] === 'object') Object.assign(result[name] as object, { loadavg_1m_before_after: [loadBefore, round(loadavg()[0], 1)] })
    } catch (err: any) {
      result[name] = { error: String(err?.message ?? err).slice(0, 2000) }
      log(`${name} failed: ${String(err?.message ?? err).slice(0, 500)}`)
    }
    log(`${name}: ${round((performance.now() - t) / 1000, 1)} s`)
  }
  log('sample generation…')
  result.sample = benchSample()
  await step('startup', async () => await benchStartup({ dir }))
  await step('batch_forms', async () => await benchBatchForms())
  // --index-dir: where step 2 writes the index, kept after the run; an index already there is measured as it is
  const reachedDir = args['index-dir'] ?? join(dir, 'reached-index')
  if (args['skip-index'] !== true) {
    await step('index_checks', async () => {
      if (existsSync(join(reachedDir, 'CURRENT'))) {
        log(`measuring the index already in ${reachedDir}…`)
        return { reached_index: { reused: reachedDir }, ...await benchIndexChecks(reachedDir, sampleSlice()) }
      }
      log('writing the index the whole sample reaches in the nested world…')
      const reached = await buildReachedIndex(reachedDir, await nested(), sampleSlice())
      return { reached_index: reached, ...await benchIndexChecks(reachedDir, sampleSlice()) }
    })
  }
  const lookupAddresses = Number(args['lookup-addresses'])
  if (lookupAddresses > 0) {
    // before the steps that may open the index with a node (and write to it)
    for (const format of ['jsonl', 'csv']) {
      await step(`bulk_lookup_${format}`, async () => {
        const workDir = join(dir, `lookup-${format}`)
        await mkdir(workDir, { recursive: true })
        return await benchLookup({ indexDir: reachedDir, addresses: lookupAddresses, runs: 5, format, workDir })
      })
    }
  }
  if (args['skip-crawl'] !== true) await step('crawl', async () => await benchCrawl(dir, Number(args['sample-limit']), args.budget))
  if (fleetSample > 0) {
    await step('fleet_crawl', async () => {
      const crawl = await benchFleetCrawl({ dir, nodes: fleetNodes, sampleLimit: fleetSample, budget: fleetBudget, timeoutMs: 3_600_000, simModules: { nested: await nested() } })
      const judged: Array<Record<string, any>> = []
      for (const data of crawl.data_dirs as string[]) judged.push(await judge(data, fleetSample))
      const perAddress = (judged[0].judged as number) + (judged[0].notes_without_network as number)
      return {
        ...crawl,
        ...judged[0],
        exact_answer_rate_per_node: judged.map(j => j.exact_answer_rate),
        exact_answer_rate_lowest_node: Math.min(...judged.map(j => j.exact_answer_rate as number)),
        requests_over_every_address: round((crawl.registry_queries as number) / perAddress, 4),
        whole_sample_at_real_budgets: wholeSampleEstimate(crawl, fleetSample)
      }
    })
    await step('fleet_covered', async () => {
      const coveredDir = join(dir, 'covered')
      await mkdir(coveredDir, { recursive: true })
      const { bottleneck_timeline: _, ...crawl } = await benchFleetCrawl({ dir: coveredDir, nodes: 1, sampleLimit: fleetSample, budget: args['covered-budget'], timeoutMs: 1_800_000, simModules: { nested: await nested() }, resolve: 'covered' })
      return { rule: 'covered', ...crawl, ...await judge((crawl.data_dirs as string[])[0], fleetSample) }
    })
    const f = result.fleet_crawl as Record<string, any>
    const c = result.fleet_covered as Record<string, any>
    if (f?.registries != null && c?.registries != null) f.requests_over_covered = requestRatios(f, c)
  }
  let worldStoreDir = reachedDir
  if (args['full-sample'] === true) {
    await step('full_sample_crawl', async () => {
      const { bottleneck_timeline: _, ...crawl } = await benchFleetCrawl({ dir, nodes: fleetNodes, sampleLimit: SAMPLE_SIZE, budget: args['full-budget'], timeoutMs: Number(args['full-timeout-s']) * 1000, simModules: { nested: await nested() } })
      const store = (crawl.data_dirs as string[])[0]
      const judged = await judge(store, SAMPLE_SIZE)
      worldStoreDir = store
      return { ...crawl, ...judged, whole_sample_at_real_budgets: wholeSampleEstimate(crawl, SAMPLE_SIZE) }
    })
    if (worldStoreDir !== reachedDir) await step('full_index_checks', async () => await benchIndexChecks(worldStoreDir, sampleSlice()))
  }
  if (args['full-covered'] === true) {
    await step('full_sample_covered', async () => {
      const coveredDir = join(dir, 'full-covered')
      await mkdir(coveredDir, { recursive: true })
      const { bottleneck_timeline: _, ...crawl } = await benchFleetCrawl({ dir: coveredDir, nodes: 1, sampleLimit: SAMPLE_SIZE, budget: args['full-budget'], timeoutMs: Number(args['full-timeout-s']) * 1000, simModules: { nested: await nested() }, resolve: 'covered' })
      return { rule: 'covered', ...crawl, ...await judge((crawl.data_dirs as string[])[0], SAMPLE_SIZE) }
    })
    const f = result.full_sample_crawl as Record<string, any> | undefined
    const c = result.full_sample_covered as Record<string, any>
    if (f?.registries != null && c?.registries != null) f.requests_over_covered = requestRatios(f, c)
  }
  if (args['skip-world-nodes'] !== true && (worldStoreDir !== reachedDir || args['skip-index'] !== true)) {
    const counts = worldStoreDir === reachedDir ? result.index_checks : result.full_index_checks
    const { networks, notes } = counts as { networks: number, notes: number }
    await step('world_nodes', async () => await benchWorldNodes({ dir, worldStoreDir, worldNetworks: networks + notes, timeoutMs: 300_000 }))
  }
  if (args['skip-mesh'] !== true) await step('mesh', async () => await benchMesh(Number(args['gossip-nodes'])))
  const exactSample = Number(args['exact-sample'])
  if (exactSample > 0) await step('exact', async () => await benchExact({ dir: join(dir, 'exact'), sampleLimit: exactSample, fleetSampleLimit: exactSample, fleetNodes, budget: args.budget, timeoutMs: 900_000 }))
  const bulkSample = Number(args['bulk-sample'])
  if (bulkSample > 0) await step('bulk', async () => await benchBulk({ dir: join(dir, 'bulk'), sample: bulkSample, budget: args.budget, density: 1 }))
  const serveSample = Number(args['serve-sample'])
  if (serveSample > 0) {
    await step('serve_whois', async () => await benchScript('bench-whois.ts', ['--sample', String(serveSample)]))
    await step('serve_rdap', async () => await benchScript('bench-rdap.ts', ['--sample', String(serveSample)]))
    // at the registries' real budgets, then at 10× them: the crawl's pace quiet and while serving
    await step('serve_crawl', async () => await benchScript('bench-serve-crawl.ts', ['--budget', 'arin=10,ripe=10,apnic=10,lacnic=10/min,afrinic=1']))
    await step('serve_crawl_10x', async () => await benchScript('bench-serve-crawl.ts', ['--budget', 'arin=100,ripe=100,apnic=100,lacnic=100/min,afrinic=10']))
  }
  result.targets = targets(result)
  const json = JSON.stringify(result, null, 2)
  process.stdout.write(json + '\n')
  await writeFile(args.out, json + '\n')
  log(`written to ${args.out}`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
