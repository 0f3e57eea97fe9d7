/**
 * The export benchmark of issue 16: `whoismesh dump --format mmdb` and `--format parquet` of the
 * index a node holds once the whole sample is crawled in the simulator's nested world
 * (scripts/bench-index.ts buildReachedIndex: every network the sample's answers reach, written
 * from the world), run as the real command (dist/: `npm run build` first):
 * 1. the index: written into --index-dir (kept), or measured as it is when one is there already;
 * 2. each export (and the JSONL dump, for comparison): wall seconds, file size, peak RSS of the
 *    process (its getrusage maxRSS, printed at exit by a preload), the writer's own figures;
 * 3. agreement on --addresses random IPv4 addresses (default 10,000): Debian's `mmdblookup` on the
 *    MMDB file against the store's lookup report (what `whoismesh lookup` prints: the first network,
 *    field for field); the `maxmind` npm reader likewise; DuckDB's range join on the Parquet file
 *    (the most specific network holding each address: its handle and range).
 * Prints one JSON object with the date, the machine, the load average and the command.
 *
 *   npm run build && node --import tsx scripts/bench-export.ts [--index-dir DIR] [--sample-limit N]
 *     [--addresses 10000] [--out FILE]
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { cpus, loadavg, totalmem, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { writeFile } from 'node:fs/promises'
import maxmind from 'maxmind'
import { DuckDBInstance } from '@duckdb/node-api'
import { buildWorld, defaultSimulatorOptions, NestedWorld } from '../src/sim/index.js'
import { SAMPLE_SIZE, prng, sampleSlice } from '../src/sample/index.js'
import { NetworkStore } from '../src/store/index.js'
import { lookupReport } from '../src/report/lookup.js'
import type { DumpRow } from '../src/report/dump.js'
import { formatIPv4 } from '../src/util/ipv4.js'
import { BIN } from '../test/helpers/cli.js'
import { hasMmdblookup, mmdblookup } from '../test/helpers/mmdblookup.js'
import { buildReachedIndex } from './bench-index.js'

const round = (x: number, d = 2): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`bench-export: ${s}\n`) }

/** `whoismesh dump --format F --out FILE --data DIR`: wall time, peak RSS, and its summary line. */
async function timedDump (data: string, format: string, out: string): Promise<Record<string, unknown>> {
  const preload = 'data:text/javascript,process.on("exit",()=>process.stderr.write("MAXRSS "+process.resourceUsage().maxRSS+"\\n"))'
  const t0 = performance.now()
  const child = spawn(process.execPath, ['--import', preload, BIN, 'dump', '--data', data, '--format', format, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  const seconds = (performance.now() - t0) / 1000
  if (code !== 0) throw new Error(`whoismesh dump --format ${format} exited ${String(code)}: ${err}`)
  const summary = JSON.parse(err.split('\n').find(l => l.startsWith('{')) ?? '{}')
  const kb = Number(/MAXRSS (\d+)/.exec(err)?.[1] ?? NaN)
  const { format: _, out: __, seconds: ___, ...rest } = summary
  return { seconds: round(seconds, 1), mb: round((await stat(out)).size / 2 ** 20, 1), peak_rss_mb: round(kb / 1024, 0), ...rest }
}

/** `fn` over `items`, `limit` at a time, in order. */
async function mapLimit<T, R> (items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }))
  return out
}

const withoutNulls = (row: DumpRow | undefined): Record<string, unknown> | null =>
  row === undefined ? null : Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null))

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

interface Agreement { checked: number, agree: number, mismatches: number, examples: string[], seconds: number }

function agreement (addresses: number[], got: unknown[], want: unknown[], seconds: number): Agreement {
  const examples: string[] = []
  let agree = 0
  addresses.forEach((a, i) => {
    if (same(got[i], want[i])) agree++
    else if (examples.length < 5) examples.push(`${formatIPv4(a)}: got ${JSON.stringify(got[i])?.slice(0, 200)}, lookup ${JSON.stringify(want[i])?.slice(0, 200)}`)
  })
  return { checked: addresses.length, agree, mismatches: addresses.length - agree, examples, seconds: round(seconds, 1) }
}

export async function benchExport (o: { dir: string, indexDir?: string, sampleLimit: number, addresses: number }): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {}
  const data = o.indexDir ?? join(o.dir, 'index')
  if (existsSync(join(data, 'CURRENT'))) {
    log(`exporting the index already in ${data}`)
    result.index = { reused: data }
  } else {
    log(`writing the index the first ${o.sampleLimit} sample addresses reach in the nested world into ${data}…`)
    const world = new NestedWorld(await buildWorld({ transferRate: defaultSimulatorOptions.transferRate }), defaultSimulatorOptions.worldSeed)
    result.index = await buildReachedIndex(data, world, sampleSlice(o.sampleLimit))
  }
  const files = { mmdb: join(o.dir, 'networks.mmdb'), parquet: join(o.dir, 'networks.parquet'), jsonl: join(o.dir, 'networks.jsonl') }
  for (const format of ['mmdb', 'parquet', 'jsonl'] as const) {
    const load = round(loadavg()[0], 1)
    log(`dump --format ${format}…`)
    result[format] = { ...await timedDump(data, format, files[format]), loadavg_1m_before_after: [load, round(loadavg()[0], 1)] }
    log(JSON.stringify(result[format]))
  }
  await rm(files.jsonl, { force: true })

  // what lookup answers for random addresses, from the store (the exports' processes are done)
  const next = prng(20_260_316)
  const addresses = Array.from({ length: o.addresses }, () => next())
  log(`lookup reports for ${addresses.length} random addresses…`)
  const tOpen = performance.now()
  const store = await NetworkStore.open({ dataDir: data })
  const openS = (performance.now() - tOpen) / 1000
  let lookups: DumpRow[][]
  try {
    lookups = await mapLimit(addresses, 8, async a => (await lookupReport(store, a)).networks)
  } finally {
    await store.close()
  }
  const want = lookups.map(n => withoutNulls(n[0]))
  const checks: Record<string, unknown> = { addresses: addresses.length, with_a_network: want.filter(w => w !== null).length, store_open_s: round(openS, 1) }

  if (hasMmdblookup()) {
    log('mmdblookup…')
    const t = performance.now()
    const got = await mapLimit(addresses, 2, async a => (await mmdblookup(files.mmdb, formatIPv4(a))).record)
    checks.mmdblookup = agreement(addresses, got, want, (performance.now() - t) / 1000)
  } else {
    checks.mmdblookup = 'not installed (apt-get install mmdb-bin)'
  }
  log('maxmind npm reader…')
  const t1 = performance.now()
  const reader = await maxmind.open<Record<string, unknown>>(files.mmdb)
  checks.maxmind_npm = agreement(addresses, addresses.map(a => reader.get(formatIPv4(a))), want, (performance.now() - t1) / 1000)

  log('DuckDB range join…')
  const t2 = performance.now()
  const duck = await (await DuckDBInstance.create(':memory:')).connect()
  try {
    await duck.run(`CREATE TABLE addrs AS SELECT unnest([${addresses.join(',')}]::BIGINT[]) AS ip`)
    const rows = (await duck.runAndReadAll(`
      SELECT a.ip, arg_min(n.handle || ' ' || n.start_address || ' ' || n.end_address, (n.end_int - n.start_int, n.source = 'bulk', n.start_int)) AS answer
      FROM addrs a LEFT JOIN read_parquet('${files.parquet}') n ON a.ip BETWEEN n.start_int AND n.end_int
      GROUP BY a.ip`)).getRowObjectsJson()
    const byIp = new Map(rows.map(r => [Number(r.ip), r.answer as string | null]))
    const wantKey = lookups.map(n => n[0] === undefined ? null : `${n[0].handle} ${n[0].start_address} ${n[0].end_address}`)
    checks.duckdb_range_join = agreement(addresses, addresses.map(a => byIp.get(a) ?? null), wantKey, (performance.now() - t2) / 1000)
  } finally {
    duck.closeSync()
  }
  result.agreement = checks
  return result
}

async function main (): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      'index-dir': { type: 'string' },
      'sample-limit': { type: 'string', default: String(SAMPLE_SIZE) },
      addresses: { type: 'string', default: '10000' },
      out: { type: 'string' }
    }
  })
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-bench-export-'))
  try {
    const result: Record<string, unknown> = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memory_gb: round(totalmem() / 2 ** 30, 0), node: process.version },
      loadavg_1m_before: round(loadavg()[0], 1),
      command: `node --import tsx scripts/bench-export.ts ${process.argv.slice(2).join(' ')}`.trim()
    }
    Object.assign(result, await benchExport({ dir, indexDir: args['index-dir'], sampleLimit: Number(args['sample-limit']), addresses: Number(args.addresses) }))
    result.loadavg_1m_after = round(loadavg()[0], 1)
    const text = JSON.stringify(result, null, 2) + '\n'
    process.stdout.write(text)
    if (args.out != null) await writeFile(args.out, text)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch(err => { process.stderr.write(`bench-export: ${String(err?.stack ?? err)}\n`); process.exit(1) })
}
