/**
 * RDAP service benchmark (issue 16: "RDAP queries/s over loopback, 16 concurrent clients — report,
 * with p99 latency"). Prints one JSON object: date, machine, load average, command, the store, and
 * queries/s with latency percentiles.
 *
 *   node --import tsx scripts/bench-rdap.ts [--sample 500000] [--seconds 15] [--clients 16] [--data DIR]
 *
 * The store: the index a node holds once it has crawled the first --sample addresses of the sample
 * in the simulator's default (nested) world, written straight from the world by
 * scripts/bench-index.ts's buildReachedIndex (every network the answers reach, the 'answered'
 * notes, listed containers) into a real LevelDB in a temp dir; or a stopped data directory given
 * with --data (e.g. the whole-sample index `npm run bench -- --index-dir DIR` keeps).
 *
 * The service runs in this process, as in a node, on 127.0.0.1; the clients run in a child process
 * (so they do not share the service's event loop): an undici Pool of --clients connections, each
 * with one query in flight at a time (keep-alive), for --seconds after a 2 s warm-up, asking for
 * the sample's addresses in shuffled order (--miss-share of them replaced by random addresses,
 * mostly outside any stored network: 404s). Latency is from sending a request to the end of its
 * body, as a client sees it.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { benchMachine } from './bench-machine.js'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { buildWorld, defaultSimulatorOptions, NestedWorld } from '../src/sim/index.js'
import { NetworkStore } from '../src/store/index.js'
import { sampleSlice, prng } from '../src/sample/index.js'
import { storeAnswerSource } from '../src/serve/source.js'
import { startRdapServer } from '../src/serve/rdap/index.js'
import { formatIPv4 } from '../src/util/ipv4.js'
import { buildReachedIndex } from './bench-index.js'

const { values: args } = parseArgs({
  options: {
    sample: { type: 'string', default: '500000' },
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '16' },
    'miss-share': { type: 'string', default: '0.1' },
    data: { type: 'string' },
    phase: { type: 'string', default: 'main' },
    url: { type: 'string' },
    addresses: { type: 'string' }
  }
})
const round = (x: number, d = 3): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`bench-rdap: ${s}\n`) }
const WARMUP_S = 2
/** the most queries a client sends, whatever the time: a bound on the loop */
const MAX_QUERIES_PER_CLIENT = 5_000_000

if (args.phase === 'load') {
  process.stdout.write(JSON.stringify(await load(args.url!, args.addresses!, Number(args.clients), Number(args.seconds))) + '\n')
} else {
  await main()
}

async function main (): Promise<void> {
  const sampleSize = Number(args.sample)
  const seconds = Number(args.seconds)
  const clients = Number(args.clients)
  const missShare = Number(args['miss-share'])
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-bench-rdap-'))
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    command: `node --import tsx scripts/bench-rdap.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { ...benchMachine(), platform: `${process.platform} ${process.arch}` },
    loadavg_before: loadavg().map(x => round(x, 2))
  }
  try {
    let dataDir = args.data
    if (dataDir === undefined) {
      dataDir = join(dir, 'data')
      log(`building the world and the index of the first ${sampleSize} sample addresses…`)
      const nested = new NestedWorld(await buildWorld({ transferRate: defaultSimulatorOptions.transferRate }), defaultSimulatorOptions.worldSeed)
      const built = await buildReachedIndex(dataDir, nested, sampleSlice(sampleSize))
      result.index = { sample: sampleSize, ...built }
      log(`index: ${built.networks} networks, ${built.notes} notes in ${built.build_s} s`)
    }
    const store = await NetworkStore.open({ dataDir })
    try {
      const counts = store.counts()
      result.store = { data: args.data ?? 'built (temp dir)', networks: counts.networks, notes: counts.negatives }
      // the queries: sample addresses in shuffled order, a share replaced by random addresses
      const sample = sampleSlice(Math.min(sampleSize, 1_000_000))
      const next = prng(7)
      const queries = new Uint32Array(Math.min(sample.length, 200_000))
      for (let i = 0; i < queries.length; i++) queries[i] = next() / 2 ** 32 < missShare ? next() : sample[i]
      const file = join(dir, 'queries.bin')
      await writeFile(file, Buffer.from(queries.buffer, queries.byteOffset, queries.byteLength))

      const source = storeAnswerSource(store)
      // in-process lookups alone, for comparison: what the service adds is HTTP and JSON
      const t = performance.now()
      const N = Math.min(20_000, queries.length)
      for (let i = 0; i < N; i++) await source.lookup(queries[i])
      result.lookups_in_process_per_s = round(N / ((performance.now() - t) / 1000), 0)

      const srv = await startRdapServer({ host: '127.0.0.1', port: 0, maxConnections: Math.max(512, clients * 2) }, { source })
      try {
        log(`service on ${srv.url}; ${clients} clients for ${seconds} s after a ${WARMUP_S} s warm-up…`)
        result.rdap = await runLoad(srv.url, file, clients, seconds)
      } finally {
        await srv.close()
      }
    } finally {
      await store.close()
    }
  } finally {
    result.loadavg_after = loadavg().map(x => round(x, 2))
    await rm(dir, { recursive: true, force: true })
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
}

/** The load phase in a child process; resolves with its JSON. */
async function runLoad (url: string, file: string, clients: number, seconds: number): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--phase', 'load', '--url', url, '--addresses', file, '--clients', String(clients), '--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', d => { out += d })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  if (code !== 0) throw new Error(`load phase exited with ${String(code)}`)
  return JSON.parse(out)
}

async function load (url: string, file: string, clients: number, seconds: number): Promise<Record<string, unknown>> {
  const bytes = await readFile(file)
  const queries = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
  const paths = Array.from(queries, a => `/ip/${formatIPv4(a)}`)
  const pool = new Pool(url, { connections: clients, pipelining: 1 })
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  let bodyBytes = 0
  let errors = 0
  let cursor = 0
  const t0 = performance.now()
  const measureFrom = t0 + WARMUP_S * 1000
  const end = measureFrom + seconds * 1000
  const client = async (): Promise<void> => {
    for (let n = 0; n < MAX_QUERIES_PER_CLIENT; n++) {
      const start = performance.now()
      if (start >= end) return
      const path = paths[cursor++ % paths.length]
      try {
        const res = await pool.request({ path, method: 'GET', headers: { accept: 'application/rdap+json' } })
        const body = await res.body.arrayBuffer()
        const done = performance.now()
        if (start >= measureFrom && done <= end) {
          latencies.push(done - start)
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
          bodyBytes += body.byteLength
        }
      } catch {
        errors++
      }
    }
  }
  await Promise.all(Array.from({ length: clients }, client))
  await pool.close()
  latencies.sort((a, b) => a - b)
  const pct = (p: number): number => round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN, 3)
  return {
    clients,
    seconds,
    queries: latencies.length,
    queries_per_s: round(latencies.length / seconds, 0),
    latency_ms: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: round(latencies[latencies.length - 1] ?? NaN, 3) },
    statuses,
    mean_body_bytes: round(bodyBytes / Math.max(1, latencies.length), 0),
    errors
  }
}
