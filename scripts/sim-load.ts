/**
 * Load check of the registry simulator: RDAP requests and WHOIS queries per second it serves on
 * this machine (no budget), and its memory. Usage: node --import tsx scripts/sim-load.ts
 */
import { startSimulator } from '../src/sim/index.js'
import { request, Agent } from 'undici'
import { connect } from 'node:net'
import { formatIPv4 } from '../src/util/ipv4.js'
const t0 = performance.now()
const sim = await startSimulator({ budgetPerSecond: 'all=1000000' })
console.log('start ms', Math.round(performance.now() - t0), 'rss MiB', Math.round(process.memoryUsage().rss / 2 ** 20), 'heap MiB', Math.round(process.memoryUsage().heapUsed / 2 ** 20))
const agent = new Agent({ connections: 64 })
const w = sim.world
let i = 0
const t1 = performance.now()
const N = 20000
await Promise.all(Array.from({ length: 64 }, async () => {
  while (i < N) {
    const k = (i++ * 7919) % w.count
    const r = await request(`${sim.endpoints.arin.rdapBaseUrl}ip/${formatIPv4(w.start[k])}`, { dispatcher: agent })
    await r.body.text()
  }
}))
console.log('rdap req/s', Math.round(N / ((performance.now() - t1) / 1000)))
let j = 0
const t2 = performance.now()
const M = 5000
await Promise.all(Array.from({ length: 32 }, async () => {
  while (j < M) {
    j++
    await new Promise<void>(res => { const s = connect(sim.endpoints.ripe.whoisPort, '127.0.0.1', () => s.write('-r 62.239.237.1\r\n')); s.on('data', () => {}); s.on('end', () => { s.destroy(); res() }); s.on('error', () => res()) })
  }
}))
console.log('whois q/s', Math.round(M / ((performance.now() - t2) / 1000)))
console.log(JSON.stringify(sim.stats().registries.arin), 'rss MiB', Math.round(process.memoryUsage().rss / 2 ** 20))
await agent.close()
await sim.close()
