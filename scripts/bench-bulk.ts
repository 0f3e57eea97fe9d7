/**
 * The bulk-data benchmark of issue 15, on the simulator's NESTED world at its real shape
 * (leaf density 1: RIPE NCC's dump 4.2 million objects):
 * 1. the simulated dumps: build time and size per registry;
 * 2. the import of RIPE NCC's dump in a child process (`whoismesh import`, the real path): objects
 *    per second and the process's peak RSS (its own getrusage maxRSS, printed at exit);
 * 3. two crawls of the first --sample addresses by one `whoismesh node start`, each against a fresh
 *    simulator: crawl only (`--bulk off`) and with the dumps (`--bulk auto`): requests per registry
 *    (the simulator's counters), the exact-answer rate (all, and in the dumps' space) judged
 *    against ground truth, wall time, and the whole-sample estimate at the real default budgets
 *    per registry, scaled from each run's requests.
 *
 *   npm run build && node --import tsx scripts/bench-bulk.ts [--sample 200000] [--budget all=300]
 *     [--leaf-density 1] [--skip-crawl]
 *   npm run bench -- --bulk-sample 200000   (the same, as a step of scripts/bench.ts)
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { startSimulator, writeRegistriesFile } from '../src/sim/index.js'
import { DEFAULT_BUDGETS, parseBudgets } from '../src/registry/budget.js'
import { REGISTRY_IDS, type RegistryId } from '../src/registry/interface.js'
import { SAMPLE_SIZE, sampleSlice } from '../src/sample/index.js'
import { BIN } from '../test/helpers/cli.js'
import { startNode, killAll } from '../test/helpers/fleet.js'
import { describeJudgement, inProcessTruth, judgeExact } from '../test/helpers/exact.js'

const DUMPED: readonly RegistryId[] = ['ripe', 'apnic', 'afrinic']
const round = (x: number, d = 2): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`bench-bulk: ${s}\n`) }

/** Runs `whoismesh import`, reporting its wall time and peak RSS (maxRSS, via a preload). */
async function timedImport (data: string, files: string[]): Promise<{ seconds: number, peakRssMb: number, stdout: string }> {
  const preload = 'data:text/javascript,process.on("exit",()=>process.stderr.write("MAXRSS "+process.resourceUsage().maxRSS+"\\n"))'
  const t0 = performance.now()
  const child = spawn(process.execPath, ['--import', preload, BIN, 'import', '--data', data, ...files], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  if (code !== 0) throw new Error(`whoismesh import exited ${String(code)}: ${err}`)
  const kb = Number(/MAXRSS (\d+)/.exec(err)?.[1] ?? NaN)
  return { seconds: (performance.now() - t0) / 1000, peakRssMb: round(kb / 1024, 1), stdout: out.trim() }
}

async function crawl (o: { dir: string, name: string, sample: number, budget: string, density: number, bulk: 'off' | 'auto' }): Promise<Record<string, unknown>> {
  const sim = await startSimulator({ budgetPerSecond: o.budget, leafDensity: o.density })
  const registries = join(o.dir, `${o.name}-registries.json`)
  await writeRegistriesFile(sim, registries)
  const node = startNode({ dir: o.dir, name: o.name, registries, sampleLimit: o.sample, exitWhenDone: true, extraArgs: ['--bulk', o.bulk, '--status-interval', '10'] })
  try {
    const t0 = performance.now()
    const r = await node.exited
    const seconds = (performance.now() - t0) / 1000
    if (r.code !== 0) throw new Error(`node exited ${String(r.code)}: ${node.stderrTail.slice(-1500)}`)
    const s = sim.stats().registries
    const requests = Object.fromEntries(REGISTRY_IDS.map(id => [id, s[id].queries])) as Record<RegistryId, number>
    const j = await judgeExact(node.data, sampleSlice(o.sample), inProcessTruth(sim.nested!))
    const dumpedJudged = DUMPED.reduce((n, id) => n + j.byRegistry[id].judged, 0)
    const dumpedExact = DUMPED.reduce((n, id) => n + j.byRegistry[id].exact, 0)
    // the whole sample at the real default budgets: each registry's requests scaled to the
    // 4,706,768 addresses, at its budget; the crawl takes as long as its slowest registry
    const scale = SAMPLE_SIZE / o.sample
    const estimateDays = Object.fromEntries(REGISTRY_IDS.map(id => [id, round(requests[id] * scale / DEFAULT_BUDGETS[id] / 86_400, 2)]))
    const imported = node.logs.filter(l => l.msg === 'bulk data: imported').map(l => ({ registry: l.registry, networks: l.networks, seconds: l.seconds }))
    return {
      bulk: o.bulk,
      wall_seconds: round(seconds, 1),
      imported,
      requests,
      requests_to_dumped_registries: DUMPED.reduce((n, id) => n + requests[id], 0),
      exact_answer_rate: round(j.rate, 5),
      exact_in_dumped_space: dumpedJudged === 0 ? null : round(dumpedExact / dumpedJudged, 5),
      judged_in_dumped_space: dumpedJudged,
      judgement: describeJudgement(j),
      whole_sample_estimate_days_at_default_budgets: estimateDays
    }
  } finally {
    await killAll([node])
    await sim.close()
  }
}

export interface BulkBenchOptions {
  dir: string
  /** sample addresses of the two crawls; 0 = no crawl */
  sample: number
  budget: string
  /** the nested world's leaf density (1: the real registries' shape) */
  density: number
}

/** The three measures of the file's header; resolves with them as one object. */
export async function benchBulk (o: BulkBenchOptions): Promise<Record<string, unknown>> {
  parseBudgets(o.budget)
  await mkdir(o.dir, { recursive: true })
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    load_average_at_start: loadavg().map(x => round(x)),
    command: `node --import tsx scripts/bench-bulk.ts --sample ${o.sample} --budget ${o.budget} --leaf-density ${o.density}`
  }
  log(`building the simulated dumps (leaf density ${o.density})…`)
  const sim = await startSimulator({ budgetPerSecond: o.budget, leafDensity: o.density })
  try {
    const dumps: Record<string, unknown> = {}
    const paths: Record<string, Record<string, string>> = {}
    for (const id of DUMPED) {
      const t0 = performance.now()
      paths[id] = await sim.dumps.build(id as 'ripe')
      const sizes = Object.fromEntries(await Promise.all(Object.entries(paths[id]).map(async ([n, p]) => [n, (await stat(p)).size])))
      dumps[id] = { build_seconds: round((performance.now() - t0) / 1000, 1), bytes: sizes }
    }
    result.dumps = dumps
    log('importing RIPE NCC\'s dump in a child process…')
    const imp = await timedImport(join(o.dir, 'import'), Object.values(paths.ripe))
    const objects = Number(/from ([\d,]+) objects/.exec(imp.stdout)?.[1].replaceAll(',', '') ?? NaN)
    const networks = Number(/ripe: ([\d,]+) networks/.exec(imp.stdout)?.[1].replaceAll(',', '') ?? NaN)
    result.import_ripe = { objects, networks, seconds: round(imp.seconds, 1), objects_per_second: Math.round(objects / imp.seconds), peak_rss_mb: imp.peakRssMb, line: imp.stdout }
    log(JSON.stringify(result.import_ripe))
  } finally {
    await sim.close()
  }
  if (o.sample > 0) {
    log(`crawl only, ${o.sample} addresses…`)
    const off = await crawl({ dir: o.dir, name: 'crawl-only', sample: o.sample, budget: o.budget, density: o.density, bulk: 'off' })
    log(JSON.stringify(off))
    log(`with the dumps, ${o.sample} addresses…`)
    const on = await crawl({ dir: o.dir, name: 'with-dumps', sample: o.sample, budget: o.budget, density: o.density, bulk: 'auto' })
    log(JSON.stringify(on))
    const ratio = (on.requests_to_dumped_registries as number) / Math.max(1, off.requests_to_dumped_registries as number)
    result.crawl = { sample: o.sample, crawl_only: off, with_dumps: on, dumped_registries_requests_ratio: round(ratio, 5) }
  }
  return result
}

async function main (): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      sample: { type: 'string', default: '200000' },
      budget: { type: 'string', default: 'all=300' },
      'leaf-density': { type: 'string', default: '1' },
      'skip-crawl': { type: 'boolean', default: false }
    }
  })
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-bench-bulk-'))
  try {
    const result = await benchBulk({ dir, sample: args['skip-crawl'] ? 0 : Number(args.sample), budget: args.budget, density: Number(args['leaf-density']) })
    process.stdout.write(JSON.stringify(result, null, 2) + '\n')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch(err => { process.stderr.write(`bench-bulk: ${String(err?.stack ?? err)}\n`); process.exit(1) })
}
