/**
 * How fast a fresh fleet gets going (issue 13 item 6): the simulator in this process, a first
 * `whoismesh node start` and, as soon as it is ready, a second one bootstrapped to it, both with
 * --exit-when-done and the default 2 s heartbeat, as an operator starts a small fleet.
 *
 *   npm run build && node --import tsx scripts/bench-fleet-start.ts [--sample 5000] [--budget all=50] [--delegations auto|off] [--runs 1]
 *
 * Prints one JSON line per run, times in seconds from the first node's spawn: when the second
 * joined (the first's 'membership changed' to 2 live peers), when each started crawling, when each
 * first ran at its established ARIN share (its progress line, every second), when each was done,
 * the wall time, and the rate-budget lower bound (the most requests any registry got ÷ its budget).
 * Uses test/helpers/fleet.ts and so the `dist/` of the tree it runs in: run it from a `git archive`
 * of an older commit to measure that one.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startSimulator, writeRegistriesFile } from '../src/sim/index.js'
import { parseBudgets } from '../src/registry/budget.js'
import { REGISTRY_IDS } from '../src/registry/interface.js'
import { startNode, waitForLog, killAll, type FleetNode } from '../test/helpers/fleet.js'

const { values: args } = parseArgs({
  options: {
    sample: { type: 'string', default: '5000' },
    budget: { type: 'string', default: 'all=50' },
    delegations: { type: 'string', default: 'auto' },
    runs: { type: 'string', default: '1' }
  }
})

const s1 = (ms: number | undefined): number | null => ms === undefined ? null : Number((ms / 1000).toFixed(1))

async function run (): Promise<Record<string, unknown>> {
  const budgets = parseBudgets(args.budget)
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-fleet-start-'))
  const sim = await startSimulator({ budgetPerSecond: budgets })
  const registries = join(dir, 'registries.json')
  await writeRegistriesFile(sim, registries)
  const nodes: FleetNode[] = []
  try {
    const common = {
      dir, registries, sampleLimit: Number(args.sample), exitWhenDone: true, heartbeatMs: 2000,
      extraArgs: ['--status-interval', '1', '--budget', args.budget, '--delegations', args.delegations]
    }
    const t0 = Date.now()
    const a = startNode({ ...common, name: 'a' })
    nodes.push(a)
    await waitForLog(a, 'node ready', 60_000)
    const b = startNode({ ...common, name: 'b', bootstrap: [a.listen![0]] })
    nodes.push(b)
    const exits = await Promise.all(nodes.map(async n => await n.exited))
    const wallMs = Date.now() - t0
    const at = (n: FleetNode, f: (l: Record<string, any>) => boolean): number | undefined => {
      const l = n.logs.find(f)
      return l === undefined ? undefined : Date.parse(l.time) - t0
    }
    const share = (n: FleetNode): number | undefined => at(n, l => l.msg === 'progress' && l.budgetShare?.arin >= budgets.arin * 0.98 / 2 - 0.1)
    const stats = sim.stats().registries
    const lowerBoundMs = Math.max(...REGISTRY_IDS.map(id => stats[id].queries / budgets[id])) * 1000
    return {
      joined: s1(at(a, l => l.msg === 'membership changed' && l.livePeers === 2)),
      started: nodes.map(n => s1(at(n, l => l.msg === 'crawl started'))),
      arinShare: nodes.map(n => s1(share(n))),
      done: nodes.map(n => s1(at(n, l => l.msg === 'crawl complete'))),
      exitCodes: exits.map(e => e.code),
      wall: s1(wallMs),
      lowerBound: s1(lowerBoundMs),
      wallOverBound: Number((wallMs / lowerBoundMs).toFixed(2)),
      arinQueries: stats.arin.queries,
      rateLimited: REGISTRY_IDS.reduce((s, id) => s + stats[id].rate_limited, 0)
    }
  } finally {
    await killAll(nodes)
    await sim.close()
    await rm(dir, { recursive: true, force: true })
  }
}

for (let i = 0; i < Number(args.runs); i++) console.log(JSON.stringify(await run()))
