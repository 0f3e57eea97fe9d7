/**
 * The exact-answer benchmark of issue 12: one node and a fleet (real `whoismesh node start`
 * processes, scripts/bench-fleet.ts) crawl the first N sample addresses against the NESTED world,
 * and the judge of test/helpers/exact.ts compares each node's most specific stored network with
 * the simulator's ground truth (for judges only: no crawler code reads it).
 *
 * Reports per run: the exact-answer rate, coarse answers (a container whose truth is a more
 * specific network), other wrong answers, lookups, lookups ÷ distinct networks found; and for
 * comparison the distinct truth networks the sample touches and the lookups a per-address tool
 * would pay (= every resolved sample address asked once).
 *
 *   npm run build && node --import tsx scripts/bench-exact.ts [--sample 20000] [--nodes 5]
 *     [--budget all=300] [--skip-fleet] [--fleet-sample N]
 *   npm run bench -- --exact-sample 20000   (the same, as a step of scripts/bench.ts)
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir, cpus } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { buildWorld, defaultSimulatorOptions, NestedWorld, truthFor } from '../src/sim/index.js'
import { sampleSlice } from '../src/sample/index.js'
import { REGISTRY_IDS, type RegistryId } from '../src/registry/interface.js'
import { benchFleetCrawl } from './bench-fleet.js'
import { inProcessTruth, judgeExact, type ExactJudgement } from '../test/helpers/exact.js'

const round = (x: number, d = 4): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`bench-exact: ${s}\n`) }

export interface ExactBenchOptions {
  dir: string
  /** sample addresses of the single-node run */
  sampleLimit: number
  /** sample addresses of the fleet run; 0 = no fleet run */
  fleetSampleLimit: number
  fleetNodes: number
  budget: string
  /** bound on each crawl */
  timeoutMs: number
  /** the rules to run, each on the same sample (default both: exact, then covered) */
  rules?: Array<'exact' | 'covered'>
}

/** What the sample asks of the world: distinct truth networks per registry, and reserved addresses. */
function sampleTruth (nested: NestedWorld, limit: number): { addresses: number, reserved: number, truth_networks: number, truth_leaves: number, by_registry: Record<RegistryId, number> } {
  const seen = new Set<string>()
  const byRegistry = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
  let reserved = 0
  let leaves = 0
  const sample = sampleSlice(limit)
  for (const a of sample) {
    const t = truthFor(nested, a)
    if (t === undefined) { reserved++; continue }
    const key = `${t.registry} ${t.start} ${t.end}`
    if (seen.has(key)) continue
    seen.add(key)
    byRegistry[t.registry]++
    if (t.leaf) leaves++
  }
  return { addresses: sample.length, reserved, truth_networks: seen.size, truth_leaves: leaves, by_registry: byRegistry }
}

function summarize (j: ExactJudgement, crawl: Record<string, any>, touched: number): Record<string, unknown> {
  const lookups = crawl.lookups as number
  const perAddress = j.judged + j.negatives
  return {
    exact_answer_rate: round(j.rate),
    judged: j.judged,
    exact: j.exact,
    coarse: j.coarse,
    coarse_truth_is_leaf: j.coarseLeafTruth,
    other_wrong: j.other,
    outside_every_network: j.outside,
    negatives: j.negatives,
    reserved_excluded: j.reserved,
    lookups,
    listings: crawl.listings,
    registry_queries: crawl.registry_queries,
    networks_found: crawl.networks_found,
    lookups_per_network_found: crawl.lookups_per_network,
    truth_networks_touched: touched,
    networks_found_per_truth_network: round((crawl.networks_found as number) / touched),
    lookups_if_every_address_asked: perAddress,
    lookups_per_every_address_asked: round(lookups / perAddress),
    crawl_s: crawl.crawl_s,
    lower_bound_s: crawl.lower_bound_s,
    crawl_over_lower_bound: crawl.crawl_over_lower_bound,
    identical_digests: crawl.identical_digests,
    by_registry: Object.fromEntries(REGISTRY_IDS.map(id => {
      const r = j.byRegistry[id]
      return [id, { judged: r.judged, exact: r.exact, coarse: r.coarse, rate: r.judged === 0 ? null : round(r.exact / r.judged), queries: crawl.registries?.[id]?.queries, distinct_networks_served: crawl.registries?.[id]?.distinct_networks }]
    })),
    examples_coarse: j.examples.coarse.slice(0, 3),
    examples_other: j.examples.other.slice(0, 3)
  }
}

/** One crawl (1 node or a fleet) of the nested world, judged on every node. */
async function run (o: ExactBenchOptions, nested: NestedWorld, nodes: number, sampleLimit: number, touched: number, resolve: 'exact' | 'covered'): Promise<Record<string, unknown>> {
  const dir = join(o.dir, `exact-${resolve}-${nodes}n-${sampleLimit}`)
  await mkdir(dir, { recursive: true })
  const crawl = await benchFleetCrawl({ dir, nodes, sampleLimit, budget: o.budget, timeoutMs: o.timeoutMs, world: 'nested', simModules: { nested }, resolve })
  const sample = sampleSlice(sampleLimit)
  const truth = inProcessTruth(nested)
  const judgements: ExactJudgement[] = []
  for (const data of crawl.data_dirs as string[]) judgements.push(await judgeExact(data, sample, truth))
  const rates = judgements.map(j => round(j.rate))
  log(`${resolve}: ${nodes} node(s), ${sampleLimit} addresses: exact ${judgements[0].exact}/${judgements[0].judged}, coarse ${judgements[0].coarse}, lookups ${String(crawl.lookups)}`)
  return { rule: resolve, nodes, sample_limit: sampleLimit, budget: o.budget, ...summarize(judgements[0], crawl, touched), exact_answer_rate_per_node: rates }
}

export async function benchExact (o: ExactBenchOptions): Promise<Record<string, unknown>> {
  log('building the nested world…')
  const world = await buildWorld({ transferRate: defaultSimulatorOptions.transferRate })
  const nested = new NestedWorld(world, defaultSimulatorOptions.worldSeed)
  const out: Record<string, unknown> = {
    world: 'nested',
    world_seed: defaultSimulatorOptions.worldSeed,
    rules: 'exact: the registry\'s own answer known for each address (containers listed where the registry allows); covered: the 2016 rule, skip an address inside any known network'
  }
  const single = sampleTruth(nested, o.sampleLimit)
  out.sample = single
  const fleetTruth = o.fleetSampleLimit === o.sampleLimit ? single : sampleTruth(nested, o.fleetSampleLimit)
  if (o.fleetSampleLimit > 0 && fleetTruth !== single) out.fleet_sample = fleetTruth
  for (const rule of o.rules ?? ['exact', 'covered'] as const) {
    const r: Record<string, unknown> = {}
    r.single_node = await run(o, nested, 1, o.sampleLimit, single.truth_networks, rule)
    if (o.fleetSampleLimit > 0) {
      try {
        r.fleet = await run(o, nested, o.fleetNodes, o.fleetSampleLimit, fleetTruth.truth_networks, rule)
      } catch (err: any) {
        r.fleet = { error: String(err?.message ?? err).slice(0, 2000) }
      }
    }
    out[rule] = r
  }
  // the cost of exactness: the exact rule's registry queries ÷ the covered rule's, same sample
  const e = out.exact as Record<string, any> | undefined
  const c = out.covered as Record<string, any> | undefined
  if (e !== undefined && c !== undefined) {
    const ratio = (x: Record<string, any> | undefined, y: Record<string, any> | undefined): Record<string, unknown> | null => {
      if (x?.registry_queries == null || y?.registry_queries == null) return null
      return {
        queries: round(x.registry_queries / y.registry_queries, 3),
        lookups: round(x.lookups / y.lookups, 3),
        by_registry: Object.fromEntries(REGISTRY_IDS.map(id => [id, round(x.by_registry[id].queries / Math.max(1, y.by_registry[id].queries), 3)]))
      }
    }
    out.exact_over_covered = { single_node: ratio(e.single_node, c.single_node), fleet: ratio(e.fleet, c.fleet) }
  }
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: args } = parseArgs({
    options: {
      sample: { type: 'string', default: '20000' },
      'fleet-sample': { type: 'string' },
      nodes: { type: 'string', default: '5' },
      budget: { type: 'string', default: 'all=300' },
      'skip-fleet': { type: 'boolean', default: false },
      'timeout-s': { type: 'string', default: '900' },
      rules: { type: 'string', default: 'exact,covered' }
    }
  })
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-bench-exact-'))
  try {
    const sampleLimit = Number(args.sample)
    const t0 = performance.now()
    const result = await benchExact({
      dir,
      sampleLimit,
      fleetSampleLimit: args['skip-fleet'] === true ? 0 : Number(args['fleet-sample'] ?? sampleLimit),
      fleetNodes: Number(args.nodes),
      budget: args.budget,
      timeoutMs: Number(args['timeout-s']) * 1000,
      rules: args.rules.split(',').map(r => r.trim()).filter(r => r === 'exact' || r === 'covered') as Array<'exact' | 'covered'>
    })
    const header = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
      command: `node --import tsx scripts/bench-exact.ts ${process.argv.slice(2).join(' ')}`.trim(),
      wall_s: round((performance.now() - t0) / 1000, 1)
    }
    process.stdout.write(JSON.stringify({ ...header, ...result }, null, 2) + '\n')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
