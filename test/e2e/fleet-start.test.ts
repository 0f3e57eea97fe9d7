/**
 * A fresh fleet gets going: two nodes (real sockets, real LevelDB in temp dirs, the simulator
 * enforcing one global budget per registry), the second bootstrapped to the first, both told to
 * crawl at once — as an operator starts a small fleet. Measured in heartbeats, not seconds.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator, type Simulator } from '../../src/sim/index.js'
import { parseBudgets } from '../../src/registry/budget.js'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { defaultNodeOptions, type NodeOptions } from '../../src/node/options.js'
import { WhoismeshNode } from '../../src/node/node.js'
import { createLogger } from '../../src/util/logger.js'

const H = 1000
const BUDGET = 'all=50'

interface Started { node: WhoismeshNode, logs: Array<Record<string, any>>, heard: number[] }

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}) })

async function open (dir: string, sim: Simulator, name: string, bootstrap: string[]): Promise<Started> {
  const logs: Array<Record<string, any>> = []
  const logger = createLogger({ format: 'json', level: 'info', write: line => { logs.push({ ...JSON.parse(line), at: performance.now() }) } })
  const opts: NodeOptions = {
    ...defaultNodeOptions,
    dataDir: join(dir, name),
    endpoints: sim.endpoints,
    budgets: parseBudgets(BUDGET),
    sampleLimit: 3000,
    mesh: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, heartbeatIntervalMs: H }
  }
  const node = await WhoismeshNode.open(opts, logger)
  cleanups.push(async () => { await node.close() })
  // when each heartbeat of the other node arrived
  const heard: number[] = []
  node.mesh.on('heartbeat', () => { heard.push(performance.now()) })
  return { node, logs, heard }
}

async function until (what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

const at = (s: Started, msg: string, match: (l: Record<string, any>) => boolean = () => true): number | undefined => s.logs.find(l => l.msg === msg && match(l))?.at
const heardBeforeStartOf = (s: Started, started: number): number => s.heard.filter(t => t < started).length
const taken = (s: Started): number | undefined => at(s, 'budget share', l => l.registry === 'arin' && l.run === 'established')

test('a fresh two-node fleet crawls within a few heartbeats of forming: the bootstrap does not sit idle, the joiner takes its share three heartbeats after it starts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-fleet-start-'))
  cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
  const sim = await startSimulator({ budgetPerSecond: BUDGET })
  cleanups.push(async () => { await sim.close() })
  const a = await open(dir, sim, 'a', [])
  const b = await open(dir, sim, 'b', a.node.mesh.listenAddrs())
  const ac = new AbortController()
  const crawls = [a, b].map(async s => await s.node.crawl(ac.signal))
  cleanups.push(async () => { ac.abort(); await Promise.allSettled(crawls) })

  await until('both nodes to take a share of ARIN', () => taken(a) !== undefined && taken(b) !== undefined, 120_000)
  ac.abort()
  await Promise.all(crawls)

  const aStarted = at(a, 'crawl started')!
  const bStarted = at(b, 'crawl started')!
  console.log(`fleet start (H = ${H} ms): bootstrap crawling after ${heardBeforeStartOf(a, aStarted)} of the joiner's heartbeats, its ARIN share ${Math.round(taken(a)! - aStarted)} ms later; joiner's share ${((taken(b)! - bStarted) / H).toFixed(2)} heartbeats after it started`)
  // the bootstrap starts once the membership has been still for two heartbeats and it has caught
  // up with its joiner: a few of the joiner's heartbeats, not the ~30 s of its periodic sync round
  const heardBeforeStart = heardBeforeStartOf(a, aStarted)
  assert.ok(a.heard.length > 0 && a.heard[0] < aStarted, 'the bootstrap started crawling before it heard the joiner: nothing measured')
  assert.ok(heardBeforeStart <= 8, `the bootstrap heard ${heardBeforeStart} of the joiner's heartbeats before it started crawling`)
  // the bootstrap (the fleet's first node: a hold of one heartbeat) takes its share as soon as the
  // joiner acknowledges it
  assert.ok(taken(a)! - aStarted <= 3 * H, `the bootstrap took its ARIN share ${Math.round(taken(a)! - aStarted)} ms after it started crawling`)
  // the joiner: every peer acknowledges it, so its hold is three heartbeats, not six
  const joinerHold = (taken(b)! - bStarted) / H
  assert.ok(joinerHold >= 3 - 0.1, `the joiner took its share after ${joinerHold.toFixed(2)} heartbeats, before its hold ended`)
  assert.ok(joinerHold <= 5, `the joiner took its ARIN share ${joinerHold.toFixed(2)} heartbeats after it started crawling`)
  // and both shares together stayed within the budget: the simulator refused nothing
  const stats = sim.stats().registries
  for (const id of REGISTRY_IDS) assert.equal(stats[id].rate_limited, 0, `${id}: the fleet went over the global budget`)
  assert.ok(stats.arin.queries > 0)
})
