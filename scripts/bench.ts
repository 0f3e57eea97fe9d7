/**
 * `npm run bench`: the figures README reports, measured in one run on this machine, as ratios where
 * a comparison makes sense. Prints one JSON object and writes it to scripts/bench-results.json.
 *
 *   npm run bench [-- --sample-limit 50000 --budget all=300 --skip-crawl --skip-mesh]
 *   npm run bench -- --fleet-sample 200000 --gossip-nodes 20 [--fleet-budget all=300] [--full-sample]
 *     (the whole performance table; the fleet crawl is off by default to keep the run short)
 *
 * 1. sample generation: the 4,706,768-address sample, generated and shuffled
 * 2. covered checks with the full simulated world (~477k networks) loaded into the index, against
 *    a LevelDB seek per check (the baseline the in-memory index replaces)
 * 3. a crawl: simulator (in this process) + `whoismesh node start` (child process) on the first N
 *    sample addresses: lookups ÷ distinct networks, and wall time ÷ the rate-budget lower bound
 *    max over registries of (distinct networks it served ÷ its budget)
 * 4. a fleet crawl (scripts/bench-fleet.ts): --fleet-nodes `whoismesh node start` processes on the
 *    first --fleet-sample addresses (0 = skip): lookups ÷ networks, wall time ÷ lower bound, and per
 *    registry the share of the global budget used while the fleet had work queued for it
 * 5. world nodes (scripts/bench-fleet.ts): a node opened on the full world's store and an empty node
 *    that syncs it from that node; VmRSS/VmHWM of both (--skip-world-nodes)
 * 6. the mesh: scripts/bench-mesh.ts (--gossip-nodes peer processes: gossip latency and throughput,
 *    and a late joiner's full sync), spawned
 * 7. with --full-sample: the fleet crawl of the whole 4,706,768-address sample, --full-budget
 *    (default all=3000), bounded by --full-timeout-s
 * 8. start time, right after the sample (scripts/bench-startup.ts): `whoismesh --help` and `dump`
 *    on an empty, stopped store, each ÷ `node -e ''`, median of 5
 * 9. with --exact-sample N (default 0 = off): scripts/bench-exact.ts, the exact-answer rate in the
 *    nested world with today's covered rule, one node and --fleet-nodes nodes on the first N addresses
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir, cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { spawn } from 'node:child_process'
import { generateSortedSample, shuffledSample } from '../src/sample/index.js'
import { buildWorld, describeNetwork, startSimulator, writeRegistriesFile } from '../src/sim/index.js'
import { Level } from 'level'
import { NetworkStore } from '../src/store/index.js'
import { REGISTRY_IDS } from '../src/registry/interface.js'
import { parseBudgets } from '../src/registry/budget.js'
import { networkKey } from '../src/store/keys.js'
import type { NetworkRecord } from '../src/record/index.js'
import { rangeToCidrs } from '../src/util/ipv4.js'
import { prng } from '../src/sample/index.js'
import { benchFleetCrawl, benchWorldNodes, simTotals } from './bench-fleet.js'
import { BIN } from '../test/helpers/cli.js'
import { benchStartup } from './bench-startup.js'
import { benchExact } from './bench-exact.js'

const { values: args } = parseArgs({
  options: {
    'sample-limit': { type: 'string', default: '50000' },
    budget: { type: 'string', default: 'all=300' },
    'skip-crawl': { type: 'boolean', default: false },
    'skip-mesh': { type: 'boolean', default: false },
    'fleet-sample': { type: 'string', default: '0' },
    'fleet-nodes': { type: 'string', default: '5' },
    'fleet-budget': { type: 'string' },
    'skip-world-nodes': { type: 'boolean', default: false },
    'gossip-nodes': { type: 'string', default: '12' },
    'full-sample': { type: 'boolean', default: false },
    'full-budget': { type: 'string', default: 'all=3000' },
    'full-timeout-s': { type: 'string', default: '3600' },
    'exact-sample': { type: 'string', default: '0' },
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

async function benchCoveredChecks (dir: string): Promise<Record<string, number>> {
  log('building the simulated world and loading it into a store…')
  const world = await buildWorld()
  const dataDir = join(dir, 'world-store')
  let store = await NetworkStore.open({ dataDir })
  const now = Date.now()
  const BATCH = 5000
  const tLoad = performance.now()
  for (let i = 0; i < world.count; i += BATCH) {
    const networks: NetworkRecord[] = []
    for (let j = i; j < Math.min(world.count, i + BATCH); j++) {
      const n = describeNetwork(world, j)
      networks.push({ start: n.start, end: n.end, registry: n.registry, handle: n.handle, name: n.name, org: n.org, country: n.country, cidrs: rangeToCidrs(n.start, n.end), type: '', parentHandle: '', registered: '', lastChanged: '', source: 'rdap', fetchedAt: now, queryAddress: n.start })
    }
    await store.commit({ networks })
  }
  const loadMs = performance.now() - tLoad
  await store.close()
  const tOpen = performance.now()
  store = await NetworkStore.open({ dataDir })
  const openMs = performance.now() - tOpen
  const networks = store.counts().networks

  const next = prng(42)
  const N = 5_000_000
  const addrs = new Uint32Array(N)
  for (let i = 0; i < N; i++) addrs[i] = next()
  let hits = 0
  const t = performance.now()
  for (let i = 0; i < N; i++) if (store.isCovered(addrs[i])) hits++
  const checksPerSec = N / ((performance.now() - t) / 1000)

  // baseline: one LevelDB seek per check (last network starting at or before the address), on the
  // same database opened directly once the store has let go of it
  await store.close()
  const db = new Level<Buffer, Buffer>(dataDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const SEEKS = 20_000
  const t2 = performance.now()
  let seekHits = 0
  for (let i = 0; i < SEEKS; i++) {
    const it = db.iterator({ lte: networkKey(addrs[i], 0xffffffff), gte: networkKey(0, 0), reverse: true, limit: 1 })
    const e = await it.next()
    await it.close()
    if (e != null) seekHits++
  }
  const seeksPerSec = SEEKS / ((performance.now() - t2) / 1000)
  await db.close()
  return {
    world_networks: networks,
    load_networks_per_s: round(networks / (loadMs / 1000), 0),
    open_rebuild_ms: round(openMs, 0),
    covered_checks_per_s: round(checksPerSec, 0),
    covered_share_of_random_addresses: round(hits / N, 4),
    leveldb_seeks_per_s: round(seeksPerSec, 0),
    in_memory_vs_leveldb_seek: round(checksPerSec / seeksPerSec, 0),
    _seek_hits: seekHits
  }
}

async function benchCrawl (dir: string, sampleLimit: number, budgetSpec: string): Promise<Record<string, unknown>> {
  const budgets = parseBudgets(budgetSpec)
  log(`crawl: simulator with budget ${budgetSpec}, node on the first ${sampleLimit} sample addresses…`)
  const sim = await startSimulator({ budgetPerSecond: budgets })
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

  const { lowerBoundS, slowest, networkAnswers, distinct, bans, rateLimited } = simTotals(stats, budgets)
  const perRegistry: Record<string, unknown> = {}
  const crawlS = (crawlEnd - crawlStart) / 1000
  for (const id of REGISTRY_IDS) {
    const r = stats.registries[id]
    perRegistry[id] = { ...r, budget_per_s: round(budgets[id], 3), budget_used: round(r.queries / (budgets[id] * crawlS), 3) }
  }
  return {
    sample_limit: sampleLimit,
    budget: budgetSpec,
    networks_found: networks,
    lookups: counters.lookups,
    registry_requests: counters.requests,
    lookups_per_network: round(counters.lookups / networks, 4),
    registry_side_answers_per_distinct_network: round(networkAnswers / distinct, 4),
    requests_per_network: round(counters.requests / networks, 4),
    bans,
    rate_limited: rateLimited,
    crawl_s: round(crawlS, 2),
    process_wall_s: round(wallMs / 1000, 2),
    lower_bound_s: round(lowerBoundS, 2),
    slowest_registry: slowest,
    crawl_over_lower_bound: round(crawlS / lowerBoundS, 3),
    registries: perRegistry
  }
}

async function benchMesh (peers: number): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./bench-mesh.ts', import.meta.url)), '--json', '--peers', String(peers)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  if (code !== 0) throw new Error(`bench-mesh exited ${String(code)}`)
  return JSON.parse(out)
}

/** each target of the performance table: the figure, the target, met or not */
function targets (r: any): Array<Record<string, unknown>> {
  const t: Array<Record<string, unknown>> = []
  const add = (measure: string, figure: unknown, target: string, met: boolean | null): void => { t.push({ measure, figure: figure ?? null, target, met: figure == null ? null : met }) }
  const f = r.fleet_crawl
  add('lookups ÷ distinct networks, fleet crawl', f?.lookups_per_network, '≤ 1.03', f?.lookups_per_network <= 1.03)
  add('crawl wall time ÷ rate-budget lower bound, fleet crawl', f?.crawl_over_lower_bound, '≤ 1.15', f?.crawl_over_lower_bound <= 1.15)
  if (f?.registries != null) {
    for (const [id, reg] of Object.entries(f.registries as Record<string, any>)) {
      add(`share of the global budget used while work is queued: ${id}`, reg.used_while_queued, '≥ 0.90, never > 1.00 (no 429s)', reg.used_while_queued != null && reg.used_while_queued >= 0.9 && reg.rate_limited === 0)
    }
  }
  add('`whoismesh --help` start ÷ `node -e \'\'` (median of 5)', r.startup?.help_ratio, '≤ 3', r.startup?.help_ratio <= 3)
  add('`whoismesh dump` on an empty, stopped store ÷ `node -e \'\'`', r.startup?.dump_ratio, '≤ 4', r.startup?.dump_ratio <= 4)
  add('4.7M sample generation, ms', r.sample?.generate_ms, '< 1000', r.sample?.generate_ms < 1000)
  add('covered checks/s, full world loaded', r.covered_checks?.covered_checks_per_s, '≥ 5,000,000', r.covered_checks?.covered_checks_per_s >= 5e6)
  const light = r.mesh?.latency?.flushed_each_light_load?.to_last_peer_ms?.p99
  add(`gossip to all of ${String(r.mesh?.membership?.peers ?? args['gossip-nodes'])} processes, p99 ms (light load)`, light, '< 1000', light < 1000)
  const timer = r.mesh?.latency?.default_flush_timer?.to_last_peer_ms?.p99
  add(`gossip to all of ${String(r.mesh?.membership?.peers ?? args['gossip-nodes'])} processes, p99 ms (record every 20 ms, default batching)`, timer, '< 1000', timer < 1000)
  const sync = r.mesh?.late_joiner_sync?.full_sync?.seconds
  add('late joiner: full-world sync, s (bench-sync)', sync, '< 15', sync < 15)
  const nodeSync = r.world_nodes?.joiner?.sync_from_spawn_s
  add('late joiner: full-world sync through `node start`, s from spawn', nodeSync, '< 15', nodeSync < 15)
  const rss = Math.max(r.world_nodes?.joiner?.memory_holding_world?.hwm_mb ?? NaN, r.world_nodes?.full_node?.memory_after_serving_sync?.hwm_mb ?? NaN)
  add('peak RSS (VmHWM) per node holding the full world, MB', Number.isNaN(rss) ? null : rss, '< 300', rss < 300)
  const steady = Math.max(r.world_nodes?.joiner?.memory_holding_world_60s_later?.rss_mb ?? NaN, r.world_nodes?.full_node?.memory_60s_later?.rss_mb ?? NaN)
  add('RSS per node holding the full world, a minute after the sync (steady state), MB', Number.isNaN(steady) ? null : steady, '< 300', steady < 300)
  const full = r.full_sample_crawl
  if (full != null) add('full sample, 5 nodes: crawl s / lookups ÷ networks', full.error ?? `${String(full.crawl_s)} s / ${String(full.lookups_per_network)}`, 'completes', full.error == null)
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
  result.covered_checks = await benchCoveredChecks(dir)
  if (args['skip-crawl'] !== true) await step('crawl', async () => await benchCrawl(dir, Number(args['sample-limit']), args.budget))
  if (fleetSample > 0) await step('fleet_crawl', async () => await benchFleetCrawl({ dir, nodes: fleetNodes, sampleLimit: fleetSample, budget: fleetBudget, timeoutMs: 900_000 }))
  if (args['skip-world-nodes'] !== true) {
    const worldNetworks = (result.covered_checks as { world_networks: number }).world_networks
    await step('world_nodes', async () => await benchWorldNodes({ dir, worldStoreDir: join(dir, 'world-store'), worldNetworks, timeoutMs: 180_000 }))
  }
  if (args['skip-mesh'] !== true) await step('mesh', async () => await benchMesh(Number(args['gossip-nodes'])))
  if (args['full-sample'] === true) await step('full_sample_crawl', async () => await benchFleetCrawl({ dir, nodes: fleetNodes, sampleLimit: 4_706_768, budget: args['full-budget'], timeoutMs: Number(args['full-timeout-s']) * 1000 }))
  const exactSample = Number(args['exact-sample'])
  if (exactSample > 0) await step('exact', async () => await benchExact({ dir: join(dir, 'exact'), sampleLimit: exactSample, fleetSampleLimit: exactSample, fleetNodes, budget: args.budget, timeoutMs: 900_000 }))
  result.targets = targets(result)
  const json = JSON.stringify(result, null, 2)
  process.stdout.write(json + '\n')
  await writeFile(args.out, json + '\n')
  log(`written to ${args.out}`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
