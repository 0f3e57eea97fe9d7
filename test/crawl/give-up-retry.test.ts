/**
 * Addresses given up on during a registry outage are asked again after a cool-down while the
 * crawl runs, so a running crawl finishes once the registry recovers. Real pieces: the registry
 * simulator on loopback (its fault plan changed at run time), the registry client, a LevelDB
 * store in a temp dir.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultCrawlerOptions } from '../../src/crawl/interface.js'
import { NetworkStore } from '../../src/store/index.js'
import { parseIPv4 } from '../../src/util/ipv4.js'
import { startSimulator, type Simulator } from '../../src/sim/index.js'
import { limitersAt, simCrawler } from '../helpers/sim-crawler.js'

let sim: Simulator
let dir: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-giveup-'))
  sim = await startSimulator({ budgetPerSecond: 'all=1000' })
})

after(async () => {
  await sim?.close()
  await rm(dir, { recursive: true, force: true })
})

/** A crawler over the simulator; `logs` collects its structured log lines. */
function makeCrawler (store: NetworkStore, sample: number[], opts: Partial<typeof defaultCrawlerOptions>, ratePerSecond = 500): ReturnType<typeof simCrawler> {
  return simCrawler(sim.endpoints, store, sample, { limiters: limitersAt(ratePerSecond), timeoutMs: 2000, opts: { retryBaseMs: 20, ...opts } })
}

// RIPE NCC and ARIN addresses of the simulated world
const RIPE = ['62.239.237.1', '193.0.0.65', '80.1.0.1'].map(parseIPv4)
const ARIN = ['8.8.8.1'].map(parseIPv4)

test('a running crawl asks a given-up address again after a cool-down and finishes once the registry recovers', async () => {
  const store = await NetworkStore.open({ dataDir: join(dir, 'recover') })
  try {
    sim.reset(true)
    sim.setFaults({ rate: 1, kinds: ['malformed'], registries: ['ripe'] })
    const { crawler, client, logs } = makeCrawler(store, [...RIPE, ...ARIN], { failedRetryMs: 400, failedRetryRounds: Infinity })
    // recover RIPE once every RIPE address has been given up on, and stored as a failure
    let recoveredAt = 0
    const watch = setInterval(() => {
      const given = new Set(logs.filter(l => l.msg === 'giving up on address').map(l => l.address))
      if (recoveredAt === 0 && given.size === RIPE.length && store.counts().failures === RIPE.length) {
        sim.setFaults({ rate: 0 })
        recoveredAt = performance.now()
      }
    }, 20)
    const status = await crawler.run().finally(() => clearInterval(watch))
    await client.close()
    assert.ok(recoveredAt > 0, 'RIPE addresses were never all given up on and stored as failures')
    assert.equal(status.done, true)
    assert.equal(status.sampleResolved, RIPE.length + ARIN.length, 'every address resolved after the recovery')
    assert.equal(store.counts().failures, 0, 'the failures were cleared by the answers')
    const giveUps = logs.filter(l => l.msg === 'giving up on address')
    for (const g of giveUps) {
      assert.match(String(g.reason), /^MalformedResponseError/, `reason of ${String(g.address)}`)
      assert.equal(typeof g.retryInMs, 'number', `cool-down of ${String(g.address)}`)
    }
    // a second round for the same address waits twice as long
    const rounds = new Map<unknown, number[]>()
    for (const g of giveUps) rounds.set(g.address, [...(rounds.get(g.address) ?? []), g.retryInMs as number])
    for (const [a, delays] of rounds) for (let i = 1; i < delays.length; i++) assert.equal(delays[i], 2 * delays[i - 1], `cool-downs of ${String(a)}: ${delays.join(', ')}`)
    assert.ok(sim.stats().faults.malformed >= 2 * 2 * RIPE.length, 'RDAP and WHOIS both failed, twice per address')
  } finally {
    sim.setFaults({ rate: 0 })
    await store.close()
  }
})

test('without a cool-down the crawl ends with the given-up addresses recorded, and a bounded number of rounds ends it too', async () => {
  for (const [name, opts] of [['next-start', { failedRetryMs: 0 }], ['one-round', { failedRetryMs: 50, failedRetryRounds: 1 }]] as const) {
    const store = await NetworkStore.open({ dataDir: join(dir, name) })
    try {
      sim.reset(true)
      sim.setFaults({ rate: 1, kinds: ['malformed'], registries: ['ripe'] })
      const { crawler, client, logs } = makeCrawler(store, [RIPE[0], ARIN[0]], opts)
      const status = await crawler.run()
      await client.close()
      assert.equal(status.done, true, name)
      assert.equal(status.sampleFailed, 1, name)
      assert.equal(store.hasFailure(RIPE[0]), true, name)
      const failures = []
      for await (const f of store.failures()) failures.push(f)
      assert.equal(failures.length, 1, name)
      assert.match(failures[0].reason, /^MalformedResponseError/, name)
      const giveUps = logs.filter(l => l.msg === 'giving up on address').length
      assert.equal(giveUps, name === 'one-round' ? 2 : 1, `${name}: give-ups`)
    } finally {
      sim.setFaults({ rate: 0 })
      await store.close()
    }
  }
})

test('a burst of rate-limit answers to lookups already in flight doubles the back-off once, not once per answer', async () => {
  const store = await NetworkStore.open({ dataDir: join(dir, 'storm') })
  try {
    sim.reset(true)
    // four ARIN addresses in different /16s: four lookups in flight together
    const sample = ['8.8.8.1', '8.9.0.1', '8.10.0.1', '8.11.0.1'].map(parseIPv4)
    sim.storm({ mode: 'rate-limit', ms: 2500, registries: ['arin'], retryAfterSeconds: 1 })
    const t0 = performance.now()
    // a rate high enough that all four leave before the first answer can come back
    const { crawler, client, logs } = makeCrawler(store, sample, { rateLimitBackoffBaseMs: 1000, blockPrefixLength: 16 }, 1_000_000)
    const status = await crawler.run()
    await client.close()
    const pauses = logs.filter(l => l.msg === 'registry rate-limited us; backing off').map(l => l.pauseMs as number)
    assert.equal(status.done, true)
    assert.equal(status.sampleResolved, sample.length)
    assert.ok(pauses.length >= 4, `${pauses.length} rate-limit answers`)
    // the first burst: each of the four in flight answered 429; the pause is the first step
    assert.deepEqual(pauses.slice(0, 4), [1000, 1000, 1000, 1000], `pauses ${pauses.join(', ')}`)
    // each later probe escalates once: 2 s, then 4 s … and never past the storm by much
    assert.ok(Math.max(...pauses) <= 4000, `pauses ${pauses.join(', ')}`)
    assert.ok(performance.now() - t0 < 2500 + 4000 + 2000, `took ${Math.round(performance.now() - t0)} ms`)
    assert.equal(sim.stats().storm_refusals.arin, pauses.length)
  } finally {
    await store.close()
  }
})
