/**
 * An answer a listing gave can be taken back after the crawl ended: a replica that got a listed
 * container before the child holding an address (a sync sends records in address order) answered
 * the address with the container, and the child's arrival reopens it. So does a record the pick
 * rule puts in place of one that answered an address, when the winner does not answer it (a
 * peer's copy of a leaf with an earlier fetch time and a container's type; an 'answered' note in
 * place of a "no network" one where no network is stored). The crawler says so ('reopened',
 * reopenedSinceRun) and its next run asks the address. Real LevelDB in a temp dir,
 * the registry simulator on loopback.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetworkStore } from '../../src/store/index.js'
import { registryForAddress } from '../../src/registry/iana.js'
import { SAMPLE_SIZE, sampleSlice } from '../../src/sample/index.js'
import { startSimulator } from '../../src/sim/index.js'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { limitersAt, simCrawler } from '../helpers/sim-crawler.js'
import { neg, net } from '../store/helpers/records.js'

test('a listed answer taken back after the crawl ended is crawled by the next run', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-reopen-'))
  const sim = await startSimulator({ budgetPerSecond: 'all=2000' })
  t.after(async () => { await sim.close(); await rm(dir, { recursive: true, force: true }) })
  const requests = (): number => REGISTRY_IDS.reduce((n, id) => n + sim.stats().registries[id].queries, 0)
  const address = sampleSlice(1000).find(a => registryForAddress(a) === 'ripe') as number
  const slash8 = (address & 0xff000000) >>> 0
  const slash16 = (address & 0xffff0000) >>> 0
  const store = await NetworkStore.open({ dataDir: join(dir, 'store') })
  try {
    // this replica holds the allocation, listed for the whole sample, but not yet the child under the address
    await store.commit({ networks: [net(slash8, slash8 + 0xffffff, { type: 'ALLOCATED PA', queryAddress: slash8 + 1, listedSample: SAMPLE_SIZE, listedAt: 1_700_000_000_000 })] })
    assert.equal(store.isExact(address), true)
    const { crawler, client } = simCrawler(sim.endpoints, store, [address], { limiters: limitersAt(1000), timeoutMs: 5000 })
    try {
      const before = requests()
      const first = await crawler.run()
      assert.deepEqual([first.done, first.sampleResolved, requests() - before], [true, 1, 0], 'answered by the listing: nothing to ask')

      const reopened: number[] = []
      crawler.on('reopened', n => reopened.push(n))
      await store.commit({ networks: [net(slash16, slash16 + 0xffff, { type: 'SUB-ALLOCATED PA', queryAddress: 0 })] })
      assert.deepEqual(reopened, [1], 'the child reopens the address')
      assert.equal(crawler.reopenedSinceRun, 1)
      assert.equal(crawler.status().sampleResolved, 0)

      const second = await crawler.run()
      assert.deepEqual([second.done, second.sampleResolved], [true, 1])
      assert.ok(requests() - before >= 1, 'the address was asked')
      assert.equal(crawler.reopenedSinceRun, 0)
      assert.equal(store.isExact(address), true, 'answered by the registry now')
    } finally {
      await client.close()
    }
  } finally {
    await store.close()
  }
})

test('a record the pick rule puts in place of the one that answered an address reopens it when it does not answer it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-reopen-'))
  const sim = await startSimulator({ budgetPerSecond: 'all=2000' })
  t.after(async () => { await sim.close(); await rm(dir, { recursive: true, force: true }) })
  const [leafAddress, noteAddress] = sampleSlice(1000).filter(a => registryForAddress(a) === 'ripe')
  const block = (leafAddress & 0xffffff00) >>> 0
  const store = await NetworkStore.open({ dataDir: join(dir, 'store') })
  try {
    // a leaf answers one address, a "no network" note the other
    await store.commit({
      networks: [net(block, block + 0xff, { type: 'ASSIGNED PA', queryAddress: leafAddress })],
      negatives: [neg(noteAddress, { registry: 'ripe', reason: 'not-found' })]
    })
    assert.deepEqual([store.isExact(leafAddress), store.isExact(noteAddress)], [true, true])
    const { crawler, client } = simCrawler(sim.endpoints, store, [leafAddress, noteAddress], { limiters: limitersAt(1000), timeoutMs: 5000 })
    try {
      const first = await crawler.run()
      assert.deepEqual([first.done, first.sampleResolved], [true, 2], 'both answered: nothing to ask')

      const reopened: number[] = []
      crawler.on('reopened', n => reopened.push(n))
      // copies with an earlier fetch time win the pick rule; neither answers its address
      const r = await store.commit({
        networks: [net(block, block + 0xff, { type: 'ALLOCATED PA', queryAddress: leafAddress, fetchedAt: 1_600_000_000_000 })],
        negatives: [neg(noteAddress, { registry: 'ripe', reason: 'answered', fetchedAt: 1_600_000_000_000 })]
      })
      assert.deepEqual([r.networks.changed, r.negatives.changed], [1, 1], 'both replaced')
      assert.deepEqual([store.isExact(leafAddress), store.isExact(noteAddress)], [false, false])
      assert.deepEqual(reopened, [2], 'both addresses reopened')
      assert.equal(crawler.status().sampleResolved, 0)

      const second = await crawler.run()
      assert.deepEqual([second.done, second.sampleResolved], [true, 2], 'the next run asked both')
      assert.equal(crawler.reopenedSinceRun, 0)
    } finally {
      await client.close()
    }
  } finally {
    await store.close()
  }
})
