/**
 * Listing in parts (src/crawl/listing-parts.ts) against the registry simulator's nested world, on
 * loopback, into a real LevelDB: ARIN lists by prefix and cuts answers at 100 networks, so a
 * range that is no single CIDR block, and a sub-allocation with more than 100 children, are
 * listed by blocks — and every sample address inside them still gets the registry's own answer
 * (judged against the simulator's ground truth), for fewer requests than the same crawl listing
 * whole containers only. Then, by hand, what a block's answer proves and what it does not.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetworkStore } from '../../src/store/index.js'
import { buildWorld, defaultSimulatorOptions, NestedWorld, startSimulator } from '../../src/sim/index.js'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { formatIPv4, parseIPv4, rangeToBlocks } from '../../src/util/ipv4.js'
import { ListingPlan, type SampleRanges } from '../../src/crawl/listing.js'
import type { ParsedNetwork } from '../../src/record/index.js'
import { limitersAt, simCrawler, type LogLine } from '../helpers/sim-crawler.js'
import { describeJudgement, inProcessTruth, judgeExact, type ExactJudgement } from '../helpers/exact.js'

/** `n` addresses spread evenly over [start, end] */
function spread (start: string, end: string, n: number): number[] {
  const s = parseIPv4(start)
  const size = parseIPv4(end) - s + 1
  return Array.from({ length: n }, (_, k) => s + Math.floor((k + 0.5) * size / n))
}

/** One crawl of `sample` with listings made as `listing` says; its requests, judgement and log. */
async function crawl (dir: string, nested: NestedWorld, sample: number[], listing: true | 'whole'): Promise<{ requests: number, j: ExactJudgement, logs: LogLine[] }> {
  const sim = await startSimulator({ budgetPerSecond: 'all=2000', world: 'nested' }, { nested })
  const store = await NetworkStore.open({ dataDir: join(dir, String(listing)) })
  try {
    const { crawler, client, logs } = simCrawler(sim.endpoints, store, sample, { limiters: limitersAt(1000), timeoutMs: 5000, listing })
    let lookups = 0
    crawler.on('lookup', () => { lookups++ })
    try {
      const status = await crawler.run()
      assert.deepEqual([status.done, status.sampleResolved], [true, sample.length])
      assert.equal(lookups, status.counters.lookups, 'a \'lookup\' event for every lookup, a probe\'s included (whoismesh_lookups_total)')
    } finally {
      await client.close()
    }
    const requests = REGISTRY_IDS.reduce((n, id) => n + sim.stats().registries[id].queries, 0)
    return { requests, j: await judgeExact(store, sample, inProcessTruth(nested)), logs }
  } finally {
    await store.close()
    await sim.close()
  }
}

test('an ARIN range that is no CIDR block, and a container whose listing is cut, are listed by blocks: every answer exact, fewer requests', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-parts-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const nested = new NestedWorld(await buildWorld({ transferRate: defaultSimulatorOptions.transferRate }), defaultSimulatorOptions.worldSeed)
  // in the default world: a range of 6 CIDR blocks with 49 children (14% of it), a /17 sub-allocation with 329 children
  const uneven = ['74.8.218.0', '74.8.252.255'] as const
  const cut = ['28.172.128.0', '28.172.255.255'] as const
  assert.equal(rangeToBlocks(parseIPv4(uneven[0]), parseIPv4(uneven[1])).length, 6)
  const sample = [...spread(...uneven, 80), ...spread(...cut, 80)]

  const parts = await crawl(dir, nested, sample, true)
  const whole = await crawl(dir, nested, sample, 'whole')

  for (const { j } of [parts, whole]) {
    assert.equal(j.judged, sample.length)
    assert.equal(j.exact, j.judged, describeJudgement(j))
  }
  const listed = parts.logs.filter(l => l.msg === 'container listed' && l.part !== undefined)
  assert.ok(listed.some(l => String(l.container).startsWith(uneven[0])), 'the uneven range was listed by blocks')
  assert.ok(listed.some(l => String(l.container).startsWith(cut[0])), 'the cut container was listed by halves')
  assert.ok(parts.logs.some(l => l.msg === 'container edge probed' && (l.answered as number) > 0), 'a probe answered addresses near an inner edge')
  assert.ok(!whole.logs.some(l => l.part !== undefined || l.msg === 'container edge probed'))
  assert.ok(parts.requests < whole.requests / 2, `${parts.requests} requests in parts, ${whole.requests} without`)
})

// ---------------------------------------------------------------- what a block's answer proves, by hand

const C = { start: parseIPv4('10.0.0.0'), end: parseIPv4('10.0.2.255'), registry: 'arin' as const, handle: 'NET-C', name: 'C', org: 'O', country: 'US', cidrs: ['10.0.0.0/23', '10.0.2.0/24'], type: 'DIRECT ALLOCATION', parentHandle: '', registered: '', lastChanged: '', source: 'rdap' as const, fetchedAt: 1, queryAddress: parseIPv4('10.0.0.10') }
const SAMPLE = ['10.0.0.10', '10.0.0.200', '10.0.1.50', '10.0.1.250', '10.0.2.5', '10.0.2.100'].map(parseIPv4)
const kid = (start: string, end: string, parentHandle = 'NET-C'): ParsedNetwork => ({ ...C, start: parseIPv4(start), end: parseIPv4(end), handle: `K-${start}`, cidrs: [], type: 'REASSIGNED', parentHandle })

/** a plan over SAMPLE where C is the most specific stored network of every address, except those in `stored` */
function planFor (stored: Array<{ start: number, end: number }> = []): ListingPlan {
  const sample: SampleRanges = { forEachIn: (s, e, fn) => { for (const a of SAMPLE) if (a >= s && a <= e && fn(a) === false) return } }
  const mostSpecific = (a: number): { start: number, end: number } => stored.find(r => r.start <= a && a <= r.end) ?? C
  return new ListingPlan(sample, () => false, () => false, { listsByPrefix: () => true, mostSpecific })
}
const listing = (children: ParsedNetwork[]): { children: ParsedNetwork[], complete: boolean, source: 'rdap' } => ({ children, complete: true, source: 'rdap' })
const addresses = (notes: Array<{ address: number }>): string[] => notes.map(n => formatIPv4(n.address))

test('a block\'s answer: the addresses between its children and its outer edge are the container\'s; those near an inner edge wait for a probe answered by the container', () => {
  const plan = planFor()
  const [low, high] = plan.consider(C)
  assert.deepEqual([low.part, high.part].map(p => p === undefined ? p : `${formatIPv4(p.start)}-${formatIPv4(p.end)}`), ['10.0.0.0-10.0.1.255', '10.0.2.0-10.0.2.255'])
  const r = plan.resolve(low, listing([kid('10.0.0.100', '10.0.0.150'), kid('10.0.1.0', '10.0.1.127')]), 5)
  assert.deepEqual(addresses(r.notes), ['10.0.0.10', '10.0.0.200'], 'before the first child at the outer edge, and between children')
  assert.deepEqual(r.next.map(j => j.probe === undefined ? undefined : formatIPv4(j.probe)), ['10.0.1.255'], '10.0.1.250 waits for the inner edge')
  assert.deepEqual(addresses(plan.probed(r.next[0], C, 6)), ['10.0.1.250'], 'no child crosses the edge: the container answers it')

  // an empty answer after the registry's part answers proved themselves: probes at its inner edge
  const empty = plan.resolve(high, listing([]), 5)
  assert.deepEqual(empty.notes, [])
  assert.deepEqual(empty.next.map(j => formatIPv4(j.probe ?? 0)), ['10.0.2.0'])
  const crossing = { start: parseIPv4('10.0.1.200'), end: parseIPv4('10.0.2.63'), registry: 'arin' as const }
  assert.deepEqual(plan.probed(empty.next[0], crossing, 6), [], 'a child crosses the edge: its addresses are asked one by one')
})

test('a block\'s answer proves nothing when a child names another parent, when a stored network inside it is missing, or when it is empty before the registry\'s parts proved themselves', () => {
  const other = planFor()
  const [low] = other.consider(C)
  assert.deepEqual(other.resolve(low, listing([kid('10.0.0.100', '10.0.0.150', 'NET-INNER')]), 5), { networks: [], notes: [], next: [] })
  const fresh = planFor()
  const [low2, high] = fresh.consider(C)
  assert.deepEqual(fresh.resolve(high, listing([]), 5).next, [], 'an empty answer first: nothing believed')
  const probes = fresh.resolve(low2, listing([kid('10.0.0.100', '10.0.0.150'), kid('10.0.1.0', '10.0.1.127')]), 5).next.map(j => formatIPv4(j.probe ?? 0))
  assert.deepEqual(probes, ['10.0.1.255', '10.0.2.0'], 'once an answer named children, the empty one waits for its probe too')
  const missing = planFor([{ start: parseIPv4('10.0.0.192'), end: parseIPv4('10.0.0.255') }])
  const [part] = missing.consider(C)
  const r = missing.resolve(part, listing([kid('10.0.0.100', '10.0.0.150')]), 5)
  assert.deepEqual([r.notes, r.next], [[], []], 'a stored network the answer does not hold: the answer is not the container\'s children')
})
