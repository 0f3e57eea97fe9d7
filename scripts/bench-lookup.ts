/**
 * `whoismesh lookup -` end to end (issue 16's target: ≥ 1M addresses/s for 1M addresses, one
 * process): the built command as a child process, its standard input a file of uniformly random
 * IPv4 addresses (the project's prng, seed 42), its answers piped into `wc -lc`, which counts
 * them. Against the full sample's index in the simulator's nested world
 * (scripts/bench-index.ts buildReachedIndex: 380,372 networks, 105,976 of them listed, 898,840
 * notes — what a node holds once the whole sample is crawled), written once into --index-dir
 * (about 6–8 minutes) and reused when it is there.
 *
 * Runs: first without `lookup -`'s cache (the store scanned, the table built, every network's
 * line made and cached: what the first `lookup -` after a write pays), then `--runs` rounds with
 * it, then once with empty input (the fixed cost: start, open, cache read). Each reports the wall
 * time from spawn to exit and `--stats`'s split of it. Each round also times two references on
 * the same input, so that the command is judged against what the machine allows at that moment:
 * the command's own answers (written to a file once) through `cat` into the same `wc -lc` —
 * moving the output alone, a floor — and scripts/lookup-floor.c, the same work in C on one thread
 * (when `cc` is there; not a floor: it waits for the pipe while it writes).
 *
 *   npm run build && node --import tsx scripts/bench-lookup.ts [--index-dir DIR] [--addresses N] [--runs 3] [--format jsonl|csv] [--out FILE]
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { buildWorld, defaultSimulatorOptions, NestedWorld } from '../src/sim/index.js'
import { sampleSlice, prng } from '../src/sample/index.js'
import { NetworkStore, openAnswers } from '../src/store/index.js'
import { cachePath } from '../src/report/bulk-cache.js'
import { formatIPv4 } from '../src/util/ipv4.js'
import { BIN } from '../test/helpers/cli.js'
import { buildReachedIndex } from './bench-index.js'

const round = (x: number, d = 1): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`[bench-lookup] ${s}\n`) }

export interface LookupRun {
  wall_ms: number
  addresses: number
  addresses_per_s: number
  output_lines: number
  output_mb: number
  /** `lookup -`'s --stats line */
  stats: Record<string, unknown>
}

/** One command's run with `input` as its standard input and its output piped into `wc -lc`. */
interface PipedRun {
  wall_ms: number
  output_lines: number
  output_bytes: number
  stderr: string
}

/**
 * Runs `argv` with `input` as its standard input, its output piped into `wc -lc` (a reader that
 * costs next to nothing: this process reading and counting 500 MB would be the slower side of
 * the pipe) — through bash, so that the pipe is a pipe as in a user's shell: a child process's
 * 'pipe' here is a socket pair, whose larger buffer made the same work up to 1.4× faster
 * (scripts/lookup-floor.c: 0.58 s against 0.82 s, 2026-12-07). Wall time from spawn until both
 * exited; the command's exit code (pipefail).
 */
async function runPiped (argv: string[], input: string): Promise<PipedRun> {
  const t0 = performance.now()
  const child = spawn('bash', ['-c', 'set -o pipefail; "$@" < "$WHOISMESH_BENCH_INPUT" | wc -lc', 'bash', ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WHOISMESH_BENCH_INPUT: input }
  })
  let stderr = ''
  let counted = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  child.stdout.setEncoding('utf8').on('data', (s: string) => { counted += s })
  const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)))
  const wall = performance.now() - t0
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${String(code)}: ${stderr.slice(0, 2000)}`)
  const [lines, bytes] = counted.trim().split(/\s+/).map(Number)
  return { wall_ms: round(wall), output_lines: lines, output_bytes: bytes, stderr }
}

/** One `whoismesh lookup -` with `input` as its standard input, its output piped into `wc -lc`. */
export async function runBulkLookup (dataDir: string, input: string, format: string): Promise<LookupRun> {
  const run = await runPiped([process.execPath, BIN, 'lookup', '-', '--data', dataDir, '--format', format, '--stats'], input)
  const stats = JSON.parse(run.stderr.split('\n').find(l => l.startsWith('{')) ?? '{}') as Record<string, unknown>
  const addresses = Number(stats.addresses ?? 0)
  return { wall_ms: run.wall_ms, addresses, addresses_per_s: Math.round(addresses / (run.wall_ms / 1000)), output_lines: run.output_lines, output_mb: round(run.output_bytes / 1e6), stats }
}

const medianOf = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** The command's answers to `input`, into the file `to`. */
async function writeAnswers (dataDir: string, input: string, format: string, to: string): Promise<void> {
  const [inFh, outFh] = [await open(input, 'r'), await open(to, 'w')]
  try {
    const child = spawn(process.execPath, [BIN, 'lookup', '-', '--data', dataDir, '--format', format], { stdio: [inFh.fd, outFh.fd, 'inherit'] })
    const code = await new Promise<number | null>(resolve => child.on('exit', c => resolve(c)))
    if (code !== 0) throw new Error(`whoismesh lookup - exited ${String(code)}`)
  } finally {
    await inFh.close()
    await outFh.close()
  }
}

/** scripts/lookup-floor.c built into `dir` with the machine's `cc`: its path, or why not. */
function compileFloor (dir: string): string | { skipped: string } {
  const bin = join(dir, 'lookup-floor')
  const r = spawnSync('cc', ['-O2', '-o', bin, fileURLToPath(new URL('./lookup-floor.c', import.meta.url))], { encoding: 'utf8' })
  if (r.error !== undefined) return { skipped: `no C compiler: ${r.error.message}` }
  if (r.status !== 0) return { skipped: `cc failed: ${r.stderr.slice(0, 500)}` }
  return bin
}

/** Writes `n` uniformly random IPv4 addresses, one per line. */
async function writeAddresses (path: string, n: number, seed: number): Promise<void> {
  const next = prng(seed)
  const lines: string[] = []
  for (let i = 0; i < n; i++) lines.push(formatIPv4(next()))
  await writeFile(path, lines.join('\n') + '\n')
}

/** The full sample's reached index in `dir`: written when missing; given a generation token when it predates them. */
async function ensureIndex (dir: string): Promise<Record<string, unknown>> {
  if (!existsSync(join(dir, 'CURRENT'))) {
    log(`writing the full sample's reached index into ${dir} (several minutes)…`)
    const nested = new NestedWorld(await buildWorld({ transferRate: defaultSimulatorOptions.transferRate }), defaultSimulatorOptions.worldSeed)
    return { written: await buildReachedIndex(dir, nested, sampleSlice()) }
  }
  const a = await openAnswers(dir)
  const stamped = a.stamp !== undefined
  await a.close()
  if (!stamped) {
    // an index written before the generation token: one write gives it one (lookup -'s cache needs it)
    log(`opening ${dir} once to give it a generation token…`)
    const store = await NetworkStore.open({ dataDir: dir })
    await store.commit({ meta: { 'bench.lookup': Date.now() } })
    await store.close()
  }
  return { reused: dir }
}

export async function benchLookup (o: { indexDir: string, addresses: number, runs: number, format: string, workDir: string }): Promise<Record<string, unknown>> {
  const index = await ensureIndex(o.indexDir)
  const input = join(o.workDir, 'addresses.txt')
  await writeAddresses(input, o.addresses, 42)
  const empty = join(o.workDir, 'empty.txt')
  await writeFile(empty, '')
  const loadBefore = loadavg().map(x => round(x, 2))
  await rm(cachePath(o.indexDir, o.format as 'jsonl'), { force: true })
  log('without the cache…')
  const cold = await runBulkLookup(o.indexDir, input, o.format)
  // the references, measured in the same rounds as the command: the same answers (written once to a
  // file) through the same pipe into wc, and the C loop of scripts/lookup-floor.c over the cache
  const answers = join(o.workDir, `answers.${o.format}`)
  await writeAnswers(o.indexDir, input, o.format, answers)
  const floorBin = compileFloor(o.workDir)
  const warm: LookupRun[] = []
  const pipe: number[] = []
  const c: number[] = []
  for (let i = 0; i < o.runs; i++) {
    log(`with the cache, round ${i + 1}…`)
    warm.push(await runBulkLookup(o.indexDir, input, o.format))
    pipe.push((await runPiped(['cat', answers], empty)).wall_ms)
    if (typeof floorBin === 'string') {
      const run = await runPiped([floorBin, cachePath(o.indexDir, o.format as 'jsonl'), o.format], input)
      if (run.output_lines !== cold.output_lines) throw new Error(`lookup-floor wrote ${run.output_lines} lines, the command ${cold.output_lines}`)
      c.push(run.wall_ms)
    }
  }
  const fixed = await runBulkLookup(o.indexDir, empty, o.format)
  const median = [...warm].sort((a, b) => a.wall_ms - b.wall_ms)[Math.floor(warm.length / 2)]
  for (const r of [cold, ...warm]) if (r.output_lines !== o.addresses + (o.format === 'csv' ? 1 : 0)) throw new Error(`${r.output_lines} output lines for ${o.addresses} addresses`)
  const perS = (ms: number): number => Math.round(o.addresses / (ms / 1000))
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    loadavg_before: loadBefore,
    loadavg_after: loadavg().map(x => round(x, 2)),
    command: `whoismesh lookup - --data ${o.indexDir} --format ${o.format} --stats < addresses.txt (${o.addresses.toLocaleString('en-US')} uniformly random IPv4 addresses, prng seed 42), output piped into wc -lc`,
    index,
    target: '≥ 1,000,000 addresses/s end to end (spawn to exit), one process',
    without_cache: cold,
    with_cache: warm,
    with_cache_median: { wall_ms: median.wall_ms, addresses_per_s: median.addresses_per_s },
    empty_input_with_cache_ms: fixed.wall_ms,
    table_build_ms: { scan: cold.stats.scan_ms, build: cold.stats.build_ms, format_lines: cold.stats.format_ms, cache_write: cold.stats.cache_write_ms, cache_read: median.stats.cache_read_ms },
    references: {
      pipe_only: { what: `cat of the command's own ${round(median.output_mb)} MB of answers into wc -lc: moving the output alone`, wall_ms: pipe, median_ms: medianOf(pipe), addresses_per_s: perS(medianOf(pipe)) },
      c_loop: typeof floorBin === 'string'
        ? { what: 'scripts/lookup-floor.c: the same answers from the same cache, the most direct way, in C on one thread', wall_ms: c, median_ms: medianOf(c), addresses_per_s: perS(medianOf(c)) }
        : { skipped: floorBin.skipped },
      command_over_pipe_only: round(median.wall_ms / medianOf(pipe), 2),
      command_over_c_loop: c.length > 0 ? round(median.wall_ms / medianOf(c), 2) : null
    },
    met_with_cache: median.addresses_per_s >= 1_000_000,
    met_without_cache: cold.addresses_per_s >= 1_000_000
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values: args } = parseArgs({
    options: {
      'index-dir': { type: 'string' },
      addresses: { type: 'string', default: '1000000' },
      runs: { type: 'string', default: '3' },
      format: { type: 'string', default: 'jsonl' },
      out: { type: 'string' }
    }
  })
  const work = await mkdtemp(join(tmpdir(), 'whoismesh-bench-lookup-'))
  try {
    const result = await benchLookup({
      indexDir: resolve(args['index-dir'] ?? join(work, 'index')),
      addresses: Number(args.addresses),
      runs: Number(args.runs),
      format: args.format ?? 'jsonl',
      workDir: work
    })
    const text = JSON.stringify(result, null, 2) + '\n'
    if (args.out !== undefined) await writeFile(args.out, text)
    process.stdout.write(text)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
