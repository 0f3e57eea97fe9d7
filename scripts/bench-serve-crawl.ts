/**
 * Does a node keep crawling at the same pace while it answers WHOIS and RDAP clients? (issue 16:
 * "a served node keeps crawling at the same pace while it answers"). Prints one JSON object:
 * date, machine, load average, command, and per window the crawl's requests/s and what the
 * services answered.
 *
 *   npm run build && node --import tsx scripts/bench-serve-crawl.ts [--budget SPEC] [--window 20] [--pairs 2] [--index-sample 100000] [--sample 300000] [--whois-rate 0] [--rdap-rate 0] [--serve-share F]
 *
 * The simulator runs in this process (nested world; --budget per registry, the registries' real
 * budgets unless given). One `whoismesh node start --serve-whois --serve-rdap` process starts on
 * the index a node holds once it has crawled the first --index-sample sample addresses
 * (scripts/bench-index.ts buildReachedIndex) and crawls on up to --sample (more than it can do in
 * the run). After --window seconds (its services' warm-up is not waited for), windows of
 * --window seconds alternate: quiet (nobody asks the services), then loaded (a child process asks
 * the port-43 bulk mode for addresses of the index's sample, 10,000 a connection, and 8 RDAP
 * clients keep a query each in flight — as fast as answered, or paced by --whois-rate
 * addresses/s and --rdap-rate queries/s). A loaded window is timed from the load's first query
 * to its last answer. The crawl's pace in a window is the simulator's queries received in it per
 * second (every registry together); the services' is what the load read, with the share of bulk
 * lines that found a network.
 */
import { connect } from 'node:net'
import { spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { benchMachine } from './bench-machine.js'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { REGISTRY_IDS } from '../src/registry/interface.js'
import { prng, sampleSlice } from '../src/sample/index.js'
import { formatIPv4 } from '../src/util/ipv4.js'
import { buildWorld, defaultSimulatorOptions, NestedWorld } from '../src/sim/index.js'
import { buildReachedIndex } from './bench-index.js'
import { join } from 'node:path'
import type { FleetFixture, FleetNode } from '../test/helpers/fleet.js'

const { values: args } = parseArgs({
  options: {
    budget: { type: 'string', default: 'arin=10,ripe=10,apnic=10,lacnic=10/min,afrinic=1' },
    window: { type: 'string', default: '20' },
    pairs: { type: 'string', default: '2' },
    sample: { type: 'string', default: '300000' },
    'index-sample': { type: 'string', default: '100000' },
    phase: { type: 'string', default: 'main' },
    whois: { type: 'string' },
    rdap: { type: 'string' },
    seconds: { type: 'string' },
    'whois-rate': { type: 'string', default: '0' },
    'rdap-rate': { type: 'string', default: '0' },
    'serve-share': { type: 'string' }
  }
})
const round = (x: number, d = 1): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`bench-serve-crawl: ${s}\n`) }

if (args.phase === 'load') {
  process.stdout.write(JSON.stringify(await load(Number(args.whois), Number(args.rdap), Number(args.seconds), Number(args['index-sample']), Number(args['whois-rate']), Number(args['rdap-rate']))) + '\n')
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(await benchServeCrawl({ budget: args.budget!, window: Number(args.window), pairs: Number(args.pairs), sample: Number(args.sample), indexSample: Number(args['index-sample']), whoisRate: Number(args['whois-rate']), rdapRate: Number(args['rdap-rate']), ...(args['serve-share'] !== undefined ? { serveShare: Number(args['serve-share']) } : {}) }), null, 2) + '\n')
}

export interface ServeCrawlOptions {
  budget: string
  window: number
  pairs: number
  sample: number
  /** the node starts with the index of this many sample addresses, and the load asks for them */
  indexSample: number
  /** the load's pace: bulk-mode addresses/s and RDAP queries/s (0: as fast as answered) */
  whoisRate: number
  rdapRate: number
  /** the node's --serve-share (its default when undefined) */
  serveShare?: number
}

export async function benchServeCrawl (o: ServeCrawlOptions): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    command: `node --import tsx scripts/bench-serve-crawl.ts --budget ${o.budget} --window ${o.window} --pairs ${o.pairs} --index-sample ${o.indexSample} --sample ${o.sample} --whois-rate ${o.whoisRate} --rdap-rate ${o.rdapRate}${o.serveShare !== undefined ? ` --serve-share ${o.serveShare}` : ''}`,
    machine: benchMachine(),
    loadavg_before: loadavg().map(x => round(x, 2))
  }
  // not at the top: the load process (this file too) needs neither a build nor the fleet helpers
  const { closeFleetFixture, openFleetFixture, startNode, waitForLog } = await import('../test/helpers/fleet.js')
  let fixture: FleetFixture | undefined
  const nodes: FleetNode[] = []
  try {
    fixture = await openFleetFixture('whoismesh-bench-serve-crawl-', { budgetPerSecond: o.budget })
    const sim = fixture.sim
    log(`building the index of the first ${o.indexSample} sample addresses…`)
    const nested = new NestedWorld(await buildWorld({ transferRate: defaultSimulatorOptions.transferRate }), defaultSimulatorOptions.worldSeed)
    result.index = { sample: o.indexSample, ...await buildReachedIndex(join(fixture.dir, 'served'), nested, sampleSlice(o.indexSample)) }
    const node = startNode({ dir: fixture.dir, name: 'served', registries: fixture.registries, sampleLimit: o.sample, extraArgs: ['--serve-whois', '127.0.0.1:0', '--serve-rdap', '127.0.0.1:0', ...(o.serveShare !== undefined ? ['--serve-share', String(o.serveShare)] : [])] })
    nodes.push(node)
    const ready = await waitForLog(node, 'node ready', 300_000)
    const queries = (): number => { const s = sim.stats().registries; return REGISTRY_IDS.reduce((n, id) => n + s[id].queries, 0) }
    await sleep(o.window * 1000)
    const windows: Array<Record<string, unknown>> = []
    for (let p = 0; p < o.pairs; p++) {
      for (const loaded of [false, true]) {
        let q0 = queries()
        let t0 = performance.now()
        let q1: number
        let t1: number
        let served: Record<string, number> | undefined
        if (loaded) {
          const got = await runLoad(ready.serving.whois, ready.serving.rdap, o, () => { q0 = queries(); t0 = performance.now() }, queries)
          served = got.read
          q1 = got.queriesAtEnd
          t1 = got.endedAt
        } else {
          await sleep(o.window * 1000)
          q1 = queries()
          t1 = performance.now()
        }
        const seconds = (t1 - t0) / 1000
        const w = { loaded, seconds: round(seconds), crawl_requests_per_s: round((q1 - q0) / seconds), ...(served !== undefined ? { served } : {}), loadavg_1m: round(loadavg()[0], 2) }
        log(JSON.stringify(w))
        windows.push(w)
      }
    }
    const mean = (loaded: boolean): number => { const ws = windows.filter(w => w.loaded === loaded); return ws.reduce((n, w) => n + (w.crawl_requests_per_s as number), 0) / ws.length }
    result.windows = windows
    result.crawl_requests_per_s = { quiet: round(mean(false)), loaded: round(mean(true)), loaded_over_quiet: round(mean(true) / mean(false), 3) }
    result.service_log = node.logs.filter(l => String(l.msg).startsWith('whois service') || String(l.msg).startsWith('rdap')).slice(0, 10)
  } finally {
    result.loadavg_after = loadavg().map(x => round(x, 2))
    await closeFleetFixture(fixture ?? {}, nodes)
  }
  return result
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/**
 * The load process, for a window: `started` when it sends its first query; resolves with what it
 * read, and the simulator's query count and the time when it had its last answer (its first line
 * of output).
 */
async function runLoad (whoisPort: number, rdapPort: number, o: ServeCrawlOptions, started: () => void, queries: () => number): Promise<{ read: Record<string, number>, queriesAtEnd: number, endedAt: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--phase', 'load', '--whois', String(whoisPort), '--rdap', String(rdapPort), '--seconds', String(o.window), '--index-sample', String(o.indexSample), '--whois-rate', String(o.whoisRate), '--rdap-rate', String(o.rdapRate)], { stdio: ['ignore', 'pipe', 'pipe'], timeout: (o.window + 120) * 1000 })
  let out = ''
  let ended: { queriesAtEnd: number, endedAt: number } | undefined
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d
    if (ended === undefined && out.includes('\n')) ended = { queriesAtEnd: queries(), endedAt: performance.now() }
  })
  // the load says on standard error when its first query goes out
  child.stderr.setEncoding('utf8').on('data', (d: string) => { if (d.includes('started')) started(); else process.stderr.write(d) })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  if (code !== 0 || ended === undefined) throw new Error(`the load process exited with ${String(code)}`)
  return { read: JSON.parse(out), ...ended }
}

/**
 * For `seconds`: bulk-mode connections one after the other (10,000 of the index's sample
 * addresses each, or a tenth of `whoisRate` every 100 ms), and 8 RDAP clients with a query each in flight (together at
 * most `rdapRate` a second); 0 = as fast as answered.
 */
async function load (whoisPort: number, rdapPort: number, seconds: number, indexSample: number, whoisRate: number, rdapRate: number): Promise<Record<string, number>> {
  const addresses = sampleSlice(indexSample)
  const next = prng(5)
  const pick = (): string => formatIPv4(addresses[Math.floor(next() / 2 ** 32 * addresses.length)])
  process.stderr.write('started\n')
  const t0 = performance.now()
  const until = t0 + seconds * 1000
  /** waits until `done` things are due at `rate` a second */
  const pace = async (done: number, rate: number): Promise<void> => {
    const due = t0 + done / rate * 1000
    if (rate > 0 && due > performance.now()) await new Promise(resolve => setTimeout(resolve, due - performance.now()))
  }
  let bulkLines = 0
  /** lines that found a network */
  let bulkAnswered = 0
  let bulkSent = 0
  let rdapAnswers = 0
  const bulk = async (): Promise<void> => {
    const size = whoisRate > 0 ? Math.max(1, Math.round(whoisRate / 10)) : 10_000
    while (performance.now() < until) {
      await pace(bulkSent, whoisRate)
      const text = ['begin', ...Array.from({ length: size }, pick), 'end', ''].join('\n')
      bulkSent += size
      const socket = connect(whoisPort, '127.0.0.1')
      socket.setEncoding('latin1')
      let partial = ''
      socket.on('data', (d: string) => {
        const lines = (partial + d).split('\n')
        partial = lines.pop() ?? ''
        for (const l of lines) {
          bulkLines++
          if (l.includes(' | exact | ') || l.includes(' | coarse | ')) bulkAnswered++
        }
      })
      socket.end(text)
      await new Promise<void>((resolve, reject) => { socket.once('close', () => resolve()); socket.once('error', reject) })
    }
  }
  const pool = new Pool(`http://127.0.0.1:${rdapPort}`, { connections: 8, pipelining: 1 })
  let rdapSent = 0
  let rdapRefused = 0
  const rdap = async (): Promise<void> => {
    while (performance.now() < until) {
      await pace(rdapSent++, rdapRate)
      const res = await pool.request({ path: `/ip/${pick()}`, method: 'GET' })
      await res.body.dump()
      if (res.statusCode === 429) rdapRefused++
      else rdapAnswers++
    }
  }
  await Promise.all([bulk(), ...Array.from({ length: 8 }, rdap)])
  const s = (performance.now() - t0) / 1000
  await pool.close()
  return { whois_bulk_lines_per_s: Math.round(bulkLines / s), whois_bulk_network_share: Number((bulkAnswered / Math.max(1, bulkLines)).toFixed(3)), rdap_answers_per_s: Math.round(rdapAnswers / s), rdap_refused_per_s: Math.round(rdapRefused / s) }
}
