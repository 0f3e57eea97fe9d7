/**
 * `npm run demo`: the registry simulator and a fleet of whoismesh nodes, each a separate process
 * on loopback, crawl a sample subset together; a cluster summary refreshes while they work and the
 * coverage report closes the run.
 *
 *   npm run demo [-- --nodes 5 --sample-limit 20000 --budget all=200 --dir ./demo]
 */
import '../src/util/polyfill.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, mkdir } from 'node:fs/promises'
import { createWriteStream, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Mesh } from '../src/mesh/mesh.js'
import type { Heartbeat } from '../src/mesh/messages.js'
import { formatTable, HeardNodes } from '../src/cli/commands/metrics.js'
import { REGISTRY_IDS, type RegistryId } from '../src/registry/interface.js'
import { silentLogger } from '../src/util/logger.js'
import { BIN } from '../test/helpers/cli.js'

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5' },
    'sample-limit': { type: 'string', default: '20000' },
    budget: { type: 'string', default: 'all=200' },
    dir: { type: 'string' }
  }
})
const N = Math.max(1, Math.min(20, Number(args.nodes)))
const dir = args.dir != null ? resolve(args.dir) : await mkdtemp(join(tmpdir(), 'whoismesh-demo-'))
await mkdir(dir, { recursive: true })
const children: ChildProcess[] = []
const cleanup = (): void => { for (const c of children) if (c.exitCode == null) c.kill('SIGTERM') }
process.on('exit', cleanup)
process.on('SIGINT', () => { cleanup(); process.exit(130) })

const say = (s: string): void => { process.stdout.write(s + '\n') }
say(`whoismesh demo: ${N} nodes, ${args['sample-limit']} sample addresses, simulator budget ${args.budget}; files in ${dir}`)

// 1. the simulator
const registries = join(dir, 'registries.json')
const sim = spawn(process.execPath, [BIN, 'sim', '--budget', args.budget, '--registries-out', registries], { stdio: ['ignore', 'pipe', 'pipe'] })
children.push(sim)
let simStats = ''
sim.stdout!.setEncoding('utf8').on('data', (d: string) => { simStats += d })
sim.stderr!.pipe(createWriteStream(join(dir, 'sim.log')))
for (let i = 0; i < 300 && !existsSync(registries); i++) await new Promise(resolve => setTimeout(resolve, 100))
if (!existsSync(registries)) throw new Error(`the simulator did not start; see ${join(dir, 'sim.log')}`)
say('simulator listening')

// 2. the fleet
interface DemoNode { name: string, child: ChildProcess, done: Promise<number | null> }
function startNode (i: number, bootstrap?: string): DemoNode {
  const name = `node${i}`
  const child = spawn(process.execPath, [
    BIN, 'node', 'start', '--data', join(dir, name), '--registries', registries, '--sample-limit', args['sample-limit'],
    '--listen', '/ip4/127.0.0.1/tcp/0', '--log-format', 'json', '--exit-when-done',
    ...(bootstrap != null ? ['--bootstrap', bootstrap] : [])
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  children.push(child)
  child.stderr!.pipe(createWriteStream(join(dir, `${name}.log`)))
  const done = new Promise<number | null>(resolve => child.on('close', code => resolve(code)))
  return { name, child, done }
}
const first = startNode(0)
const bootAddr = await waitForReady(first)
const fleet = [first]
for (let i = 1; i < N; i++) fleet.push(startNode(i, bootAddr))
say(`bootstrap ${bootAddr}`)

async function waitForReady (n: DemoNode): Promise<string> {
  const file = join(dir, `${n.name}.log`)
  for (let i = 0; i < 600; i++) {
    const text = existsSync(file) ? await readFile(file, 'utf8') : ''
    const m = /"msg":"node ready".*?"listen":\["([^"]+)"/.exec(text)
    if (m != null) return m[1]
    if (n.child.exitCode != null) throw new Error(`${n.name} exited; see ${file}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`${n.name} did not start; see ${file}`)
}

// 3. watch the fleet as a light peer
const zero = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
const watcher = new Mesh({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [bootAddr], light: true }, {
  privateKey: await generateKeyPair('Ed25519'),
  logger: silentLogger,
  heartbeat: () => ({ version: 'demo', counters: {}, demand: zero, rates: zero, backoff: {}, index: { networks: 0, negatives: 0, digest: '0'.repeat(64) }, sample: { total: 0, resolved: 0 } })
})
await watcher.start()
const heard = new HeardNodes()
const latest = heard.latest
watcher.on('heartbeat', (hb: Heartbeat) => { if (!hb.light) heard.record(hb) })
const tty = process.stdout.isTTY
const timer = setInterval(() => {
  const table = formatTable(latest, watcher.opts.heartbeatIntervalMs)
  process.stdout.write(tty ? '\x1b[2J\x1b[H' + table : table + '\n')
}, 2000)

const codes = await Promise.all(fleet.map(async n => await n.done))
clearInterval(timer)
await watcher.stop()
say(`\nall nodes finished (exit codes ${codes.join(', ')})`)

// 4. the result
const cov = spawn(process.execPath, [BIN, 'coverage', '--data', join(dir, 'node0')], { stdio: ['ignore', 'inherit', 'inherit'] })
await new Promise(resolve => cov.on('close', resolve))
sim.kill('SIGTERM')
await new Promise(resolve => sim.on('close', resolve))
try {
  const s = JSON.parse(simStats.trim().split('\n').pop() ?? '{}')
  say('\nregistry   queries  network answers  distinct networks  rate-limited  bans')
  for (const id of REGISTRY_IDS) {
    const r = s.registries[id]
    say(`${id.padEnd(9)} ${String(r.queries).padStart(8)} ${String(r.network_answers).padStart(16)} ${String(r.distinct_networks).padStart(18)} ${String(r.rate_limited).padStart(13)} ${String(r.bans).padStart(5)}`)
  }
} catch {
  say('(no simulator statistics)')
}
say(`\nnode data directories and logs are in ${dir}; e.g. npx whoismesh dump --data ${join(dir, 'node1')} | head`)
process.exit(codes.every(c => c === 0) ? 0 : 1)
