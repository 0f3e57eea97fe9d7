/**
 * WHOIS service benchmark (issue 16: "port-43 bulk mode over loopback, 100k addresses in one
 * connection ≥ 100k addresses/s"). Prints one JSON object: date, machine, load average, command,
 * the store, and addresses/s of bulk mode end to end.
 *
 *   node --import tsx scripts/bench-whois.ts [--sample 500000] [--addresses 100000] [--rounds 3] [--data DIR] [--no-warm]
 *
 * The service is warmed first (its bulk cells of every network made by one scan:
 * WhoisServiceOptions.warm, WhoisService.warm) and the rounds start once it is, timing its steady
 * state; --no-warm times it making them as addresses need them.
 *
 * The store: the index a node holds once it has crawled the first --sample addresses of the sample
 * in the simulator's nested world (scripts/bench-index.ts's buildReachedIndex, as bench-rdap.ts
 * builds it), or a stopped data directory given with --data. The service runs in this process, as
 * in a node; the client in a child process: one connection, `begin`, --addresses lines (sample
 * addresses in shuffled order, --miss-share of them random addresses), `end`, timed from the first
 * byte sent to the last line read, each answer line counted. --rounds runs it again with other
 * addresses (seeded by the round; with --no-warm the first round meets a cold service, the later
 * ones one that made the cells of the networks met before); each round is reported.
 */
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { benchMachine } from './bench-machine.js'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { buildWorld, defaultSimulatorOptions, NestedWorld } from '../src/sim/index.js'
import { NetworkStore } from '../src/store/index.js'
import { sampleSlice, prng } from '../src/sample/index.js'
import { storeAnswerSource } from '../src/serve/source.js'
import { startWhoisService } from '../src/serve/whois/server.js'
import { formatIPv4 } from '../src/util/ipv4.js'
import { buildReachedIndex } from './bench-index.js'

const { values: args } = parseArgs({
  options: {
    sample: { type: 'string', default: '500000' },
    addresses: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    'miss-share': { type: 'string', default: '0.1' },
    'no-warm': { type: 'boolean', default: false },
    data: { type: 'string' },
    phase: { type: 'string', default: 'main' },
    port: { type: 'string' },
    file: { type: 'string' }
  }
})
const round = (x: number, d = 3): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`bench-whois: ${s}\n`) }
/** a round that takes longer than this is cut off: a bound on the run */
const ROUND_TIMEOUT_MS = 300_000

if (args.phase === 'client') {
  process.stdout.write(JSON.stringify(await client(Number(args.port), args.file!)) + '\n')
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(await benchWhois({ sample: Number(args.sample), addresses: Number(args.addresses), rounds: Number(args.rounds), missShare: Number(args['miss-share']), data: args.data, warm: args['no-warm'] !== true }), null, 2) + '\n')
}

export interface WhoisBenchOptions { sample: number, addresses: number, rounds: number, missShare: number, data?: string, warm: boolean }

export async function benchWhois (o: WhoisBenchOptions): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-bench-whois-'))
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    command: `node --import tsx scripts/bench-whois.ts --sample ${o.sample} --addresses ${o.addresses} --rounds ${o.rounds}${o.data !== undefined ? ` --data ${o.data}` : ''}${o.warm ? '' : ' --no-warm'}`,
    machine: benchMachine(),
    loadavg_before: loadavg().map(x => round(x, 2))
  }
  try {
    let dataDir = o.data
    if (dataDir === undefined) {
      dataDir = join(dir, 'data')
      log(`building the world and the index of the first ${o.sample} sample addresses…`)
      const nested = new NestedWorld(await buildWorld({ transferRate: defaultSimulatorOptions.transferRate }), defaultSimulatorOptions.worldSeed)
      const built = await buildReachedIndex(dataDir, nested, sampleSlice(o.sample))
      result.index = { sample: o.sample, ...built }
    }
    const store = await NetworkStore.open({ dataDir })
    try {
      result.store = { data: o.data ?? 'built (temp dir)', networks: store.counts().networks, notes: store.counts().negatives }
      const sample = sampleSlice(Math.min(o.sample, 1_000_000))
      // each round its own addresses (seed 11, 12, …): a later round finds the service warm, not
      // its own answers of the round before
      const inputFile = async (r: number): Promise<string> => {
        const next = prng(11 + r)
        const lines: string[] = ['begin']
        for (let i = 0; i < o.addresses; i++) lines.push(formatIPv4(next() / 2 ** 32 < o.missShare ? next() : sample[Math.floor(next() / 2 ** 32 * sample.length)]))
        lines.push('end', '')
        const file = join(dir, `input-${r}.txt`)
        await writeFile(file, lines.join('\n'))
        return file
      }
      const t0 = performance.now()
      const service = await startWhoisService({ port: 0, maxLinesPerConnection: o.addresses + 1, warm: o.warm }, { source: storeAnswerSource(store) })
      try {
        if (o.warm) {
          // bulk mode would start the warm-up itself and answer while it runs; the rounds measure
          // the service warm (its steady state)
          const { made: networks } = await service.warm()
          result.warm_up = { networks, seconds: round((performance.now() - t0) / 1000), rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20) }
          log(`warmed: ${JSON.stringify(result.warm_up)}`)
        }
        const rounds: unknown[] = []
        for (let r = 0; r < o.rounds; r++) {
          const got = await runClient(service.port, await inputFile(r))
          log(`round ${r + 1}: ${JSON.stringify(got)}`)
          rounds.push(got)
        }
        result.bulk_mode = rounds
      } finally {
        await service.close()
      }
    } finally {
      await store.close()
    }
  } finally {
    result.loadavg_after = loadavg().map(x => round(x, 2))
    await rm(dir, { recursive: true, force: true })
  }
  return result
}

/** The client in a child process (not sharing the service's event loop); resolves with its JSON. */
async function runClient (port: number, file: string): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--phase', 'client', '--port', String(port), '--file', file], { stdio: ['ignore', 'pipe', 'inherit'], timeout: ROUND_TIMEOUT_MS })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', d => { out += d })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  if (code !== 0) throw new Error(`the client exited with ${String(code)}`)
  return JSON.parse(out)
}

async function client (port: number, file: string): Promise<Record<string, unknown>> {
  const input = await readFile(file)
  const addresses = input.toString('latin1').split('\n').length - 3
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  let lines = 0
  let bytes = 0
  const t0 = performance.now()
  socket.on('data', (d: Buffer) => {
    bytes += d.length
    for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++
  })
  socket.end(input)
  await new Promise<void>((resolve, reject) => { socket.once('close', () => resolve()); socket.once('error', reject) })
  const seconds = (performance.now() - t0) / 1000
  // the answer: a header line, the column line, one line per address
  if (lines !== addresses + 2) throw new Error(`${lines} lines for ${addresses} addresses`)
  return { addresses, seconds: round(seconds), addresses_per_s: Math.round(addresses / seconds), answer_bytes: bytes }
}
