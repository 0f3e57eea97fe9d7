/**
 * Prints the simulator world's numbers: networks, ranges, gap blocks, transfers, build time and
 * memory, and how many distinct networks the seed sample (or its first N addresses) hits. With
 * `--world nested`, also the nested world's: its allocations' build time, the memory a simulator
 * holds for it, and every network of the tree counted by enumeration, per registry and level.
 * Usage: node --import tsx scripts/sim-world-stats.ts [sampleLimit] [--world flat|nested] [--seed N]
 */
import { buildWorld } from '../src/sim/world.js'
import { NestedWorld } from '../src/sim/nested.js'
import { sampleSlice } from '../src/sample/index.js'
import { defaultSimulatorOptions } from '../src/sim/options.js'

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name)
  if (i < 0) return undefined
  const v = args[i + 1]
  args.splice(i, 2)
  return v
}
const kind = flag('--world') ?? 'flat'
const seed = Number(flag('--seed') ?? defaultSimulatorOptions.worldSeed)
const limit = args[0] != null ? Number(args[0]) : undefined
const mib = (n: number): string => (n / 2 ** 20).toFixed(0)

const rss0 = process.memoryUsage().rss
const t0 = performance.now()
const world = await buildWorld()
const heapAfter = process.memoryUsage()
console.log(JSON.stringify(world.counts, null, 2))
console.log(`typed arrays: ${(world.byteSize() / 2 ** 20).toFixed(1)} MiB, orgs: ${world.orgs.length}`)
console.log(`rss +${mib(heapAfter.rss - rss0)} MiB, heapUsed ${mib(heapAfter.heapUsed)} MiB`)

const sample = sampleSlice(limit)
if (kind === 'flat') {
  const hit = new Uint8Array(world.count)
  let notFound = 0
  for (const a of sample) {
    const i = world.find(a)
    if (i < 0) notFound++
    else hit[i] = 1
  }
  let ranges = 0
  let gaps = 0
  for (let i = 0; i < world.count; i++) if (hit[i] === 1) { if (world.isGap(i)) gaps++; else ranges++ }
  console.log(`sample ${sample.length}: ${ranges} ranges + ${gaps} gap blocks = ${ranges + gaps} networks, ${notFound} addresses in no network`)
} else if (kind === 'nested') {
  const nested = new NestedWorld(world, seed)
  const ready = performance.now()
  const rssReady = process.memoryUsage().rss
  console.log(`nested: ${nested.count} allocations ${JSON.stringify(nested.counts.byRegistry)} in ${nested.counts.buildMs} ms; ` +
    `flat + nested world ready in ${Math.round(ready - t0)} ms, rss ${mib(rssReady)} MiB`)

  // the sample's answers: distinct most specific networks, and how many are leaves / how deep
  const t1 = performance.now()
  const hit = new Set<string>()
  let notFound = 0
  let leafAnswers = 0
  const depthCount: number[] = []
  for (const a of sample) {
    const chain = nested.chainAt(a)
    if (chain === undefined) { notFound++; continue }
    const n = chain[chain.length - 1]
    hit.add(`${n.start}/${n.depth}`)
    if (!n.container) leafAnswers++
    depthCount[n.depth] = (depthCount[n.depth] ?? 0) + 1
  }
  console.log(`sample ${sample.length}: ${hit.size} distinct most specific networks, ${leafAnswers} answers are leaves, ` +
    `answer depth ${JSON.stringify(depthCount)}, ${notFound} in no network (${Math.round(performance.now() - t1)} ms, ` +
    `${Math.round(sample.length / ((performance.now() - t1) / 1000))} lookups/s)`)

  // every network of the tree
  const t2 = performance.now()
  const by: Record<string, Record<string, number>> = {}
  let total = 0
  let maxDepth = 0
  nested.forEachNetwork(n => {
    const r = nested.ownerOf(n.alloc)
    const row = (by[r] ??= { allocation: 0, range: 0, sub: 0, leaf: 0, total: 0 })
    row[n.level]++
    row.total++
    total++
    if (n.depth > maxDepth) maxDepth = n.depth
  })
  console.log(`enumerated ${total} networks in ${Math.round(performance.now() - t2)} ms, deepest level ${maxDepth}`)
  for (const [r, row] of Object.entries(by)) console.log(`  ${r.padEnd(8)} ${JSON.stringify(row)}`)
  console.log(`rss after enumeration ${mib(process.memoryUsage().rss)} MiB`)
} else {
  throw new Error(`--world: flat or nested, got ${kind}`)
}
