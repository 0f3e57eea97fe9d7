/**
 * How long the address ownership (src/fleet/ownership.ts) takes to rebuild for 5 and 50 peers,
 * and to take in one join or leave at 50 (the median of 7 runs each), as JSON. Moved here from a
 * test, where any time bound is either loose or flaky on a loaded machine.
 *
 *   node --import tsx scripts/bench-ownership.ts
 */
import { cpus, loadavg } from 'node:os'
import { Ownership } from '../src/fleet/ownership.js'
import { prngFloat } from '../src/util/prng.js'

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
function peerIds (n: number, seed: number): string[] {
  const rnd = prngFloat(seed)
  return Array.from({ length: n }, () => '12D3KooW' + Array.from({ length: 44 }, () => BASE58[Math.floor(rnd() * 58)]).join(''))
}
const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]

const ms: Record<string, number> = {}
for (const n of [5, 50]) {
  const runs: number[] = []
  for (let r = 0; r < 7; r++) {
    const ids = peerIds(n, 100 + r)
    const o = new Ownership()
    const t0 = performance.now()
    o.setPeers(ids, ids[0])
    runs.push(performance.now() - t0)
  }
  ms[`rebuild_${n}_peers`] = median(runs)
}
const ids = peerIds(51, 200)
const o = new Ownership()
o.setPeers(ids.slice(0, 50), ids[0])
const inc: number[] = []
for (let r = 0; r < 7; r++) {
  const t0 = performance.now()
  o.setPeers(r % 2 === 0 ? ids : ids.slice(0, 50), ids[0])
  inc.push(performance.now() - t0)
}
ms.join_or_leave_at_50 = median(inc)
console.log(JSON.stringify({
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg_1m: loadavg()[0] },
  command: 'node --import tsx scripts/bench-ownership.ts',
  median_ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Number(v.toFixed(2))]))
}, null, 2))
