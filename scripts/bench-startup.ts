/**
 * Start time of the `whoismesh` command as ratios to a bare `node -e ''`, measured in the same
 * run (rounds interleaved, so a loaded machine weighs on all three alike), median of `runs`:
 *   - `whoismesh --help`
 *   - `whoismesh dump` on an empty, stopped store
 * Run on its own, or as the `startup` step of `npm run bench`:
 *
 *   npm run build && node --import tsx scripts/bench-startup.ts [--runs 5] [--bin path/to/bin.js]
 *
 * --bin measures another entry point, e.g. an older checkout's src/cli/bin.js (TypeScript through
 * tsx) against this one's dist/cli/bin.js.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { NetworkStore } from '../src/store/index.js'
import { BIN } from '../test/helpers/cli.js'

export interface StartupOptions {
  /** rounds; the median is reported (default 5) */
  runs?: number
  /** the command's entry point (default: the built dist/cli/bin.js) */
  bin?: string
  /** where the empty store is made (default: a temp directory, removed afterwards) */
  dir?: string
}

export interface StartupResult {
  bin: string
  runs: number
  node_ms: number
  help_ms: number
  dump_ms: number
  help_ratio: number
  dump_ratio: number
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** wall time of one process, ms; throws when it fails */
function time (args: string[]): number {
  const t = performance.now()
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 })
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${String(r.status ?? r.signal)}: ${r.stderr.toString().slice(0, 500)}`)
  return ms
}

export async function benchStartup (o: StartupOptions = {}): Promise<StartupResult> {
  const runs = o.runs ?? 5
  const bin = o.bin ?? BIN
  const dir = await mkdtemp(join(o.dir ?? tmpdir(), 'whoismesh-startup-'))
  try {
    const data = join(dir, 'data')
    await (await NetworkStore.open({ dataDir: data })).close()
    const node: number[] = []
    const help: number[] = []
    const dump: number[] = []
    time([bin, '--help']) // warm the file system cache
    for (let i = 0; i < runs; i++) {
      node.push(time(['-e', '']))
      help.push(time([bin, '--help']))
      dump.push(time([bin, 'dump', '--data', data]))
    }
    const round = (x: number, d: number): number => Number(x.toFixed(d))
    const n = median(node)
    return {
      bin,
      runs,
      node_ms: round(n, 0),
      help_ms: round(median(help), 0),
      dump_ms: round(median(dump), 0),
      help_ratio: round(median(help) / n, 2),
      dump_ratio: round(median(dump) / n, 2)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, bin: { type: 'string' } } })
  const r = await benchStartup({ runs: Number(values.runs), bin: values.bin !== undefined ? resolve(values.bin) : undefined })
  process.stdout.write(`${r.bin}, median of ${r.runs}:\n` +
    `  whoismesh --help       ÷ node -e '': ${r.help_ratio}  (${r.help_ms} ms / ${r.node_ms} ms)\n` +
    `  whoismesh dump (empty) ÷ node -e '': ${r.dump_ratio}  (${r.dump_ms} ms / ${r.node_ms} ms)\n`)
}
