/**
 * Fleet benchmarks for scripts/bench.ts, with real `whoismesh node start` processes on 127.0.0.1
 * (test/helpers/fleet.ts) and the registry simulator in this process (the setup of
 * test/e2e/mesh.test.ts).
 *
 * benchFleetCrawl: N nodes (one bootstrap, the others given its address) crawl the first
 *   `sampleLimit` sample addresses with --exit-when-done. Reports lookups ÷ distinct networks, crawl
 *   wall time ÷ the rate-budget lower bound (max over registries of distinct networks ÷ budget), and
 *   per registry the share of the global budget the fleet used while it had work queued for that
 *   registry: the simulator's query counter is read once a second, each node's queue from its
 *   `progress` log line (`--status-interval 1`). Where the time above the bound went is split for
 *   the bottleneck registry into: before its first query, redirect hops it answered, budget left
 *   unused while work was queued, and the tail after its queues ran dry.
 *
 * benchWorldNodes: a node opened on a store holding the full simulated world, and an empty node
 *   bootstrapped to it that syncs the world (a late joiner through the real node); VmRSS/VmHWM of
 *   both from /proc/<pid>/status once the joiner holds every network.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { startSimulator, writeRegistriesFile, type Simulator, type SimulatorModules, type WorldKind } from '../src/sim/index.js'
import type { SimStats } from '../src/sim/metrics.js'
import { REGISTRY_IDS, type RegistryId } from '../src/registry/interface.js'
import { parseBudgets } from '../src/registry/budget.js'
import { startNode, waitForLog, killAll, type FleetNode } from '../test/helpers/fleet.js'

const round = (x: number, d = 3): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`bench-fleet: ${s}\n`) }
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** one simulator poll: time (ms, performance.now) and cumulative queries per registry */
interface Tick { t: number, queries: Record<RegistryId, number>, queued: Record<RegistryId, boolean>, plannedShare: Record<RegistryId, number> }

/** how long the world nodes run on after the sync before their steady-state memory is read */
const IDLE_AFTER_SYNC_S = 60

/** VmRSS and VmHWM of a process, in MB */
/**
 * The simulator's counters summed over registries, and two rate-budget lower bounds of a crawl:
 * - lowerBoundS: for the slowest registry, its distinct networks ÷ its budget (one request per
 *   network: the least any crawl can send, reached by the covered rule in the flat world);
 * - requestBoundS: for the slowest registry, the requests it answered (rate-limit answers not
 *   counted) ÷ its budget: the least time the requests this crawl chose to send can take. Under
 *   the exact rule in the nested world a container is answered once per address asked inside it
 *   and listings are requests too, so this is the bound its wall time is measured against; how
 *   many requests it chose is measured apart (÷ the covered rule's).
 */
export function simTotals (stats: SimStats, budgets: Record<RegistryId, number>): { lowerBoundS: number, slowest: RegistryId, requestBoundS: number, requestSlowest: RegistryId, networkAnswers: number, distinct: number, bans: number, rateLimited: number } {
  const t = { lowerBoundS: 0, slowest: 'arin' as RegistryId, requestBoundS: 0, requestSlowest: 'arin' as RegistryId, networkAnswers: 0, distinct: 0, bans: 0, rateLimited: 0 }
  for (const id of REGISTRY_IDS) {
    const r = stats.registries[id]
    const bound = r.distinct_networks / budgets[id]
    if (bound > t.lowerBoundS) { t.lowerBoundS = bound; t.slowest = id }
    const requestBound = (r.queries - r.rate_limited) / budgets[id]
    if (requestBound > t.requestBoundS) { t.requestBoundS = requestBound; t.requestSlowest = id }
    t.networkAnswers += r.network_answers
    t.distinct += r.distinct_networks
    t.bans += r.bans
    t.rateLimited += r.rate_limited
  }
  return t
}

/**
 * VmRSS and VmHWM of a process, and VmRSS split (Linux /proc/<pid>/status): `anon_mb` is the
 * process's own memory (heap, buffers, LevelDB's caches); `file_mb` pages of mapped files — LevelDB
 * maps its table files, so every page a scan has read counts in VmRSS, although the kernel drops
 * those clean pages whenever it needs the memory.
 */
export async function processMemory (pid: number): Promise<{ rss_mb: number, hwm_mb: number, anon_mb: number, file_mb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string): number => Number(/^\S+:\s+(\d+)/.exec(status.split('\n').find(l => l.startsWith(field + ':')) ?? '')?.[1] ?? NaN)
  return { rss_mb: round(kb('VmRSS') / 1024, 1), hwm_mb: round(kb('VmHWM') / 1024, 1), anon_mb: round(kb('RssAnon') / 1024, 1), file_mb: round(kb('RssFile') / 1024, 1) }
}

/** user + system CPU seconds of a process so far (/proc/<pid>/stat, clock ticks of 10 ms) */
async function cpuSeconds (pid: number): Promise<number | undefined> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch { return undefined }
}

/** A line on stderr every 30 s of a long run: queries/s per registry over the last 30 s, each node's progress. */
function logProgress (ticks: Tick[], nodes: FleetNode[], t0: number): void {
  const k = ticks[ticks.length - 1]
  const a = ticks[ticks.length - 30]
  const dt = (k.t - a.t) / 1000
  const rates = REGISTRY_IDS.map(id => `${id} ${Math.round((k.queries[id] - a.queries[id]) / dt)}`).join(', ')
  const per = nodes.map(n => { const p = lastProgress(n); return p == null ? '-' : `${String(p.resolved)}/${String(p.total)} ${String(p.networks)}n` }).join(' | ')
  log(`${Math.round((k.t - t0) / 1000)} s: queries/s ${rates}; nodes resolved/total networks: ${per}`)
}

/** the node's latest progress log line, if any */
function lastProgress (n: FleetNode): Record<string, any> | undefined {
  for (let i = n.logs.length - 1; i >= 0; i--) if (n.logs[i].msg === 'progress') return n.logs[i]
  return undefined
}

export interface FleetCrawlOptions {
  dir: string
  nodes: number
  sampleLimit: number
  budget: string
  /** bound on the whole crawl */
  timeoutMs: number
  heartbeatMs?: number
  /** node flags for every node process, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR'] */
  nodeFlags?: string[]
  /** the simulator's world (default: the simulator's default) and a world already built for it */
  world?: WorldKind
  simModules?: SimulatorModules
  /** the nodes' --resolve rule (default: the node's default, exact) */
  resolve?: 'exact' | 'covered'
}

export async function benchFleetCrawl (o: FleetCrawlOptions): Promise<Record<string, unknown>> {
  const budgets = parseBudgets(o.budget)
  log(`fleet crawl: ${o.nodes} nodes, ${o.sampleLimit} sample addresses, budget ${o.budget}…`)
  const sim: Simulator = await startSimulator({ budgetPerSecond: budgets, ...(o.world != null ? { world: o.world } : {}) }, o.simModules)
  const registries = join(o.dir, `fleet-${o.sampleLimit}-registries.json`)
  await writeRegistriesFile(sim, registries)
  const nodes: FleetNode[] = []
  const ticks: Tick[] = []
  let polling = true
  try {
    const common = { dir: o.dir, registries, sampleLimit: o.sampleLimit, exitWhenDone: true, heartbeatMs: o.heartbeatMs ?? 1000, extraArgs: ['--status-interval', '1', ...(o.resolve != null ? ['--resolve', o.resolve] : [])],
      spawnProcess: o.nodeFlags == null ? undefined : (cmd: string, argv: string[]) => spawn(cmd, [...o.nodeFlags!, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] }) }
    const t0 = performance.now()
    const boot = startNode({ ...common, name: `fleet-${o.sampleLimit}-n0` })
    nodes.push(boot)
    await waitForLog(boot, 'node ready', 60_000)
    for (let i = 1; i < o.nodes; i++) nodes.push(startNode({ ...common, name: `fleet-${o.sampleLimit}-n${i}`, bootstrap: [boot.listen![0]] }))

    const crawlStartedAt = new Map<FleetNode, number>()
    const completedAt = new Map<FleetNode, number>()
    /** CPU seconds per node at its last poll (a process's counters vanish when it exits) */
    const nodeCpu = new Map<FleetNode, number>()
    const ownCpu0 = process.cpuUsage()
    const poller = (async () => {
      while (polling) {
        const now = performance.now()
        const s = sim.stats().registries
        const queued = {} as Record<RegistryId, boolean>
        const plannedShare = {} as Record<RegistryId, number>
        for (const n of nodes) {
          if (!crawlStartedAt.has(n) && n.logs.some(l => l.msg === 'crawl started')) crawlStartedAt.set(n, now)
          if (!completedAt.has(n) && n.logs.some(l => l.msg === 'crawl complete' || l.msg === 'crawl finished with addresses given up on')) completedAt.set(n, now)
        }
        for (const id of REGISTRY_IDS) {
          queued[id] = false
          plannedShare[id] = 0
          for (const n of nodes) {
            if (completedAt.has(n) || n.child.exitCode != null) continue
            const p = lastProgress(n)
            if (p == null) continue
            if ((p.remaining?.[id] ?? 0) > 0) queued[id] = true
            plannedShare[id] += p.budgetShare?.[id] ?? 0
          }
        }
        for (const n of nodes) { const c = n.child.exitCode == null ? await cpuSeconds(n.child.pid!) : undefined; if (c !== undefined) nodeCpu.set(n, c) }
        ticks.push({ t: now, queries: Object.fromEntries(REGISTRY_IDS.map(id => [id, s[id].queries])) as Record<RegistryId, number>, queued, plannedShare })
        if (ticks.length % 30 === 0) logProgress(ticks, nodes, t0)
        await sleep(1000)
      }
    })()

    const deadline = setTimeout(() => { log('fleet crawl: timeout, killing the nodes'); void killAll(nodes) }, o.timeoutMs)
    const exits = await Promise.all(nodes.map(async n => await n.exited))
    clearTimeout(deadline)
    const tEnd = performance.now()
    polling = false
    await poller
    const own = process.cpuUsage(ownCpu0)
    exits.forEach((r, i) => { if (r.code !== 0) throw new Error(`${nodes[i].name} exited ${String(r.code ?? r.signal)}: ${nodes[i].stderrTail.slice(-1500)}`) })

    const complete = nodes.map(n => n.logs.find(l => l.msg === 'crawl complete')!)
    const networks = complete[0].networks as number
    const digests = new Set(complete.map(c => c.digest))
    const lookupsPerNode = complete.map(c => c.lookups as number)
    const lookups = lookupsPerNode.reduce((a, b) => a + b, 0)
    const firstStartLog = Math.min(...nodes.map(n => Date.parse(n.logs.find(l => l.msg === 'crawl started')!.time)))
    const lastCompleteLog = Math.max(...complete.map(c => Date.parse(c.time)))
    const crawlS = (lastCompleteLog - firstStartLog) / 1000
    const stats = sim.stats()

    const { lowerBoundS, slowest, requestBoundS, requestSlowest, networkAnswers, distinct, bans, rateLimited } = simTotals(stats, budgets)
    const perRegistry: Record<string, unknown> = {}
    for (const id of REGISTRY_IDS) {
      const r = stats.registries[id]
      perRegistry[id] = { queries: r.queries, listings: r.listings, network_answers: r.network_answers, leaf_answers: r.leaf_answers, distinct_leaves: r.distinct_leaves, distinct_networks: r.distinct_networks, redirects: r.redirects, rate_limited: r.rate_limited, bans: r.bans, budget_per_s: budgets[id], ...budgetUse(ticks, id, budgets[id]) }
    }
    // where the bottleneck registry's time went, in seconds (the registry of the request bound)
    const bn = requestSlowest
    const sl = perRegistry[bn] as ReturnType<typeof budgetUse> & { redirects: number }
    const firstQueryT = ticks.find(k => k.queries[bn] > 0)?.t ?? ticks[0].t
    const firstStartT = Math.min(...[...crawlStartedAt.values()])
    const b = budgets[bn]
    const timeline = ticks.map((k, i) => i === 0 ? null : [round((k.t - t0) / 1000, 1), round((k.queries[bn] - ticks[i - 1].queries[bn]) / ((k.t - ticks[i - 1].t) / 1000), 0), round(k.plannedShare[bn], 0), k.queued[bn] ? 1 : 0]).filter(x => x != null)
    return {
      command_flags: `--fleet-sample ${o.sampleLimit} --fleet-budget ${o.budget} --fleet-nodes ${o.nodes}`,
      nodes: o.nodes,
      data_dirs: nodes.map(n => n.data),
      sample_limit: o.sampleLimit,
      budget: o.budget,
      heartbeat_ms: common.heartbeatMs,
      networks_found: networks,
      identical_digests: digests.size === 1,
      lookups,
      listings: complete.reduce((a, c) => a + ((c.listings as number | undefined) ?? 0), 0),
      registry_queries: REGISTRY_IDS.reduce((a, id) => a + stats.registries[id].queries, 0),
      lookups_per_node: lookupsPerNode,
      lookups_per_network: round(lookups / networks, 4),
      // how stable the fleet's view of itself was: membership changes each node logged after its
      // crawl started, and the fewest live peers it counted then (lookups repeat when it flaps)
      membership_changes_while_crawling: nodes.map(n => { const t = Date.parse(n.logs.find(l => l.msg === 'crawl started')!.time); return n.logs.filter(l => l.msg === 'membership changed' && Date.parse(l.time) >= t).length }),
      fewest_live_peers_while_crawling: nodes.map(n => { const t = Date.parse(n.logs.find(l => l.msg === 'crawl started')!.time); return Math.min(o.nodes, ...n.logs.filter(l => l.msg === 'membership changed' && Date.parse(l.time) >= t).map(l => l.livePeers as number)) }),
      registry_side_answers_per_distinct_network: round(networkAnswers / distinct, 4),
      bans,
      rate_limited: rateLimited,
      crawl_s: round(crawlS, 2),
      from_first_process_s: round((tEnd - t0) / 1000, 2),
      lower_bound_s: round(lowerBoundS, 2),
      slowest_registry: slowest,
      crawl_over_lower_bound: round(crawlS / lowerBoundS, 3),
      request_bound_s: round(requestBoundS, 2),
      request_bound_registry: requestSlowest,
      crawl_over_request_bound: round(crawlS / requestBoundS, 3),
      cpu_s: {
        note: 'CPU seconds over the run (nodes: up to their last 1 s poll); the machine has 2 cores, so 2 × wall is all there is',
        wall_s: round((tEnd - t0) / 1000, 1),
        nodes: nodes.map(n => round(nodeCpu.get(n) ?? NaN, 1)),
        bench_process_with_simulator: round((own.user + own.system) / 1e6, 1),
        ms_per_lookup_all_nodes: round([...nodeCpu.values()].reduce((a, b) => a + b, 0) * 1000 / lookups, 2)
      },
      bottleneck_breakdown_s: {
        registry: bn,
        request_bound: round(requestBoundS, 1),
        before_first_query: round((firstQueryT - firstStartT) / 1000, 1),
        redirect_hops: round(sl.redirects / b, 1),
        budget_unused_while_queued: round(sl.queued_s - sl.queries_while_queued / b, 1),
        tail_after_queue_empty: round((tEnd - (sl.queued_until_t ?? tEnd)) / 1000, 1),
        note: 'crawl ≈ before_first_query + queued_s + tail; queued_s ≈ requests answered ÷ budget + unused'
      },
      bottleneck_timeline: { columns: ['s since first process', 'queries/s', 'planned fleet share/s', 'queued'], rows: timeline },
      registries: perRegistry
    }
  } finally {
    polling = false
    await killAll(nodes)
    await sim.close()
  }
}

/**
 * Share of the budget used in the seconds the fleet had work queued for `id`: Σ queries ÷
 * (budget × Σ seconds), over consecutive polls both showing work queued; the highest 1 s and 5 s
 * window shares; and the highest sum of the nodes' planned shares ÷ budget.
 */
function budgetUse (ticks: Tick[], id: RegistryId, budget: number): { used_while_queued: number | null, queued_s: number, queries_while_queued: number, max_1s_window: number | null, max_5s_window: number | null, max_planned_share: number, queued_until_t: number | undefined } {
  let seconds = 0
  let queries = 0
  let max1 = 0
  let max5 = 0
  let maxPlanned = 0
  let until: number | undefined
  for (let i = 1; i < ticks.length; i++) {
    const a = ticks[i - 1]
    const k = ticks[i]
    if (!(a.queued[id] && k.queued[id])) continue
    until = k.t
    const dt = (k.t - a.t) / 1000
    const dq = k.queries[id] - a.queries[id]
    seconds += dt
    queries += dq
    max1 = Math.max(max1, dq / (budget * dt))
    maxPlanned = Math.max(maxPlanned, k.plannedShare[id] / budget)
    const j = i - 5
    if (j >= 0 && ticks.slice(j, i + 1).every(x => x.queued[id])) max5 = Math.max(max5, (k.queries[id] - ticks[j].queries[id]) / (budget * (k.t - ticks[j].t) / 1000))
  }
  return {
    used_while_queued: seconds > 0 ? round(queries / (budget * seconds), 3) : null,
    queued_s: round(seconds, 1),
    queries_while_queued: queries,
    max_1s_window: seconds > 0 ? round(max1, 3) : null,
    max_5s_window: max5 > 0 ? round(max5, 3) : null,
    max_planned_share: round(maxPlanned, 3),
    queued_until_t: until
  }
}

/**
 * A node on `worldStoreDir` (the full world), then an empty node bootstrapped to it: the joiner's
 * full sync through the real node, and both processes' memory once it holds every network.
 */
export async function benchWorldNodes (o: { dir: string, worldStoreDir: string, worldNetworks: number, timeoutMs: number }): Promise<Record<string, unknown>> {
  log(`world nodes: a node on the store ${o.worldStoreDir} (${o.worldNetworks} records), and an empty node that syncs it…`)
  const sim = await startSimulator({})
  const registries = join(o.dir, 'world-registries.json')
  await writeRegistriesFile(sim, registries)
  const nodes: FleetNode[] = []
  try {
    const common = { dir: o.dir, registries, sampleLimit: 20_000 }
    const t0 = performance.now()
    // startNode puts the data dir at dir/name: the world store's own directory
    const full = startNode({ ...common, dir: join(o.worldStoreDir, '..'), name: o.worldStoreDir.split('/').at(-1)! })
    nodes.push(full)
    const ready = await waitForLog(full, 'node ready', o.timeoutMs)
    const openS = (performance.now() - t0) / 1000
    await waitForLog(full, 'crawl complete', o.timeoutMs).catch(() => undefined)
    const fullMem = await processMemory(full.child.pid!)

    const t1 = performance.now()
    const joiner = startNode({ ...common, name: 'world-joiner', bootstrap: [full.listen![0]] })
    nodes.push(joiner)
    await waitForLog(joiner, 'node ready', o.timeoutMs)
    const readyS = (performance.now() - t1) / 1000
    const joinerEmptyMem = await processMemory(joiner.child.pid!) // the fixed part: sync has barely begun
    const deadline = Date.now() + o.timeoutMs
    let received = 0
    let syncedAt = 0
    while (Date.now() < deadline) {
      received = joiner.logs.filter(l => l.msg === 'synced with peer').reduce((s, l) => Math.max(s, l.received as number), 0) // one sync may be logged by both sides' paths
      if (received >= o.worldNetworks) { syncedAt = performance.now(); break }
      if (joiner.child.exitCode != null) throw new Error(`joiner exited: ${joiner.stderrTail.slice(-1500)}`)
      await sleep(100)
    }
    const syncLog = joiner.logs.filter(l => l.msg === 'synced with peer')
    await sleep(2000) // let GC and the store settle before reading RSS
    const joinerMem = await processMemory(joiner.child.pid!)
    const fullMemAfter = await processMemory(full.child.pid!)
    const complete = await waitForLog(joiner, 'crawl complete', 30_000).catch(() => undefined)
    // V8 gives the heap the sync grew back only once the process has been quiet for a while (its
    // memory reducer): the steady state a node holding the world runs at
    await sleep(IDLE_AFTER_SYNC_S * 1000)
    const joinerIdleMem = await processMemory(joiner.child.pid!)
    const fullIdleMem = await processMemory(full.child.pid!)
    return {
      world_networks: o.worldNetworks,
      full_node: { open_and_ready_s: round(openS, 1), networks: ready.networks, memory_after_open: fullMem, memory_after_serving_sync: fullMemAfter, [`memory_${IDLE_AFTER_SYNC_S}s_later`]: fullIdleMem },
      joiner: {
        process_ready_s: round(readyS, 1),
        synced: received >= o.worldNetworks,
        networks_received: received,
        sync_from_spawn_s: syncedAt > 0 ? round((syncedAt - t1) / 1000, 1) : null,
        sync_ms_logged: syncLog.map(l => l.ms),
        // (one session may be logged more than once, as for `received` above)
        sync_mb_received: syncLog.length === 0 ? null : round(syncLog.reduce((a, l) => Math.max(a, (l.bytesReceived as number | undefined) ?? 0), 0) / 1e6, 1),
        memory_at_ready_nearly_empty: joinerEmptyMem,
        memory_holding_world: joinerMem,
        [`memory_holding_world_${IDLE_AFTER_SYNC_S}s_later`]: joinerIdleMem,
        lookups_after_sync: complete?.lookups ?? null
      }
    }
  } finally {
    for (const n of nodes) if (n.child.exitCode == null) n.child.kill('SIGTERM')
    await Promise.race([Promise.all(nodes.map(async n => await n.exited)), sleep(10_000)])
    await killAll(nodes)
    await sim.close()
  }
}
