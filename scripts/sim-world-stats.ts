/**
 * Prints the simulator world's numbers: networks, ranges, gap blocks, transfers, build time and
 * memory, and how many distinct networks the seed sample (or its first N addresses) hits.
 * Usage: node --import tsx scripts/sim-world-stats.ts [sampleLimit]
 */
import { buildWorld } from '../src/sim/world.js'
import { sampleSlice } from '../src/sample/index.js'

const limit = process.argv[2] != null ? Number(process.argv[2]) : undefined
const heapBefore = process.memoryUsage()
const world = await buildWorld()
const heapAfter = process.memoryUsage()
console.log(JSON.stringify(world.counts, null, 2))
console.log(`typed arrays: ${(world.byteSize() / 2 ** 20).toFixed(1)} MiB, orgs: ${world.orgs.length}`)
console.log(`rss +${((heapAfter.rss - heapBefore.rss) / 2 ** 20).toFixed(0)} MiB, heapUsed ${(heapAfter.heapUsed / 2 ** 20).toFixed(0)} MiB`)

const sample = sampleSlice(limit)
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
