/**
 * The sample tally follows the store's indexing: after commits from anywhere (networks large and
 * small, negatives, records already known) its counts equal a pass over the sample, for any
 * ownership. A real LevelDB store in a temp dir.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetworkStore } from '../../src/store/index.js'
import { SampleTally } from '../../src/crawl/sample-tally.js'
import { Ownership } from '../../src/fleet/ownership.js'
import { sampleSlice } from '../../src/sample/index.js'
import { registryForAddress } from '../../src/registry/iana.js'
import { net, neg } from '../store/helpers/records.js'
import { STATUS_VOCABULARY } from '../../src/record/classify.js'

const dirs: string[] = []
after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

/** The counts by a pass over the sample, as the crawler counted before the tally. */
function brute (sample: Uint32Array, store: NetworkStore, isMine: (a: number) => boolean): { total: number, resolved: number, sliceTotal: number, sliceResolved: number } {
  let resolved = 0
  let sliceTotal = 0
  let sliceResolved = 0
  for (const a of sample) {
    if (registryForAddress(a) == null) { resolved++; continue }
    const done = store.isResolved(a)
    if (done) resolved++
    if (isMine(a)) { sliceTotal++; if (done) sliceResolved++ }
  }
  return { total: sample.length, resolved, sliceTotal, sliceResolved }
}

test('the tally equals a pass over the sample after every commit, for every ownership', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-tally-'))
  dirs.push(dir)
  const store = await NetworkStore.open({ dataDir: dir })
  try {
    const sample = sampleSlice(60_000)
    // something known before the tally is built
    await store.commit({ networks: [net('8.0.0.0', '8.255.255.255', { registry: 'arin' })] })
    const tally = new SampleTally(sample, store, a => registryForAddress(a) == null)
    const own = new Ownership({ prefixLength: 12 })
    own.setPeers(['peer-a', 'peer-b', 'peer-c'], 'peer-b')
    const everyone = (): boolean => true
    const mine = (a: number): boolean => own.isMine(a)
    assert.deepEqual(tally.counts(everyone), brute(sample, store, everyone))

    // deterministic pseudo-random commits: /24s around sample addresses, a few /12s, negatives,
    // and records committed twice
    let x = 12345
    const rand = (): number => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x }
    for (let round = 0; round < 40; round++) {
      const networks = []
      const negatives = []
      for (let i = 0; i < 50; i++) {
        const a = sample[rand() % sample.length]
        if (registryForAddress(a) == null) continue
        const bits = i % 17 === 0 ? 12 : 24
        const start = a - (a % 2 ** (32 - bits))
        const end = start + 2 ** (32 - bits) - 1
        if (registryForAddress(start) !== registryForAddress(end)) continue
        // under the exact rule a leaf resolves the sample addresses inside it, a container none
        const registry = registryForAddress(a)!
        const words = STATUS_VOCABULARY[registry]
        networks.push(net(start, end, { registry, type: i % 3 === 0 ? words.container[0] : words.leaf[0] }))
      }
      for (let i = 0; i < 10; i++) {
        const a = sample[rand() % sample.length]
        if (registryForAddress(a) != null) negatives.push(neg(a, { registry: registryForAddress(a)! }))
      }
      await store.commit({ networks, negatives })
      if (round % 3 === 0) await store.commit({ networks: networks.slice(0, 5) }) // already known: no event, no change
      if (round % 10 === 9) {
        assert.deepEqual(tally.counts(everyone), brute(sample, store, everyone), `round ${round}`)
        assert.deepEqual(tally.counts(mine), brute(sample, store, mine), `round ${round}, one peer of three`)
      }
    }
    const c = tally.counts(everyone)
    assert.ok(c.resolved > 2_000 && c.resolved < c.total, `the commits resolved ${c.resolved} of ${c.total}: the test should leave both kinds`)
    // membership changes: the slice follows at once
    own.setPeers(['peer-b'], 'peer-b')
    assert.deepEqual(tally.counts(mine), brute(sample, store, mine))
  } finally {
    await store.close()
  }
})

test('a container arriving inside a listed one takes back what the listing answered: the tally reopens those addresses and says which', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-tally-'))
  dirs.push(dir)
  const store = await NetworkStore.open({ dataDir: dir })
  try {
    const N = 20_000
    const sample = sampleSlice(N)
    const sorted = [...sample].sort((a, b) => a - b)
    // a /8 allocation holding slice addresses, and a /16 sub-allocation inside it holding some of them
    const inside = sorted.filter(a => registryForAddress(a) === 'ripe' && (a >>> 24) === (sorted.find(b => registryForAddress(b) === 'ripe')! >>> 24))
    const base = (inside[0] & 0xff000000) >>> 0
    const sub = (inside[0] & 0xffff0000) >>> 0
    const inSub = inside.filter(a => a >= sub && a <= sub + 0xffff)
    assert.ok(inSub.length >= 1 && inside.length > inSub.length, 'the fixture has slice addresses inside and outside the sub-allocation')
    const reopened: number[][] = []
    const tally = new SampleTally(sample, store, a => registryForAddress(a) == null, a => reopened.push(a))
    const before = tally.counts(() => true).resolved
    // the listed allocation arrives first (as a sync sends it: in address order), its child later
    await store.commit({ networks: [net(base, base + 0xffffff, { type: 'ALLOCATED PA', listedSample: N, listedAt: 1 })] })
    assert.equal(tally.counts(() => true).resolved, before + inside.length, 'every slice address in the allocation is answered by it')
    assert.deepEqual(reopened, [])
    await store.commit({ networks: [net(sub, sub + 0xffff, { type: 'SUB-ALLOCATED PA' })] })
    assert.deepEqual(reopened, [inSub], 'the addresses inside the sub-allocation are open again, in address order')
    assert.equal(tally.counts(() => true).resolved, before + inside.length - inSub.length)
    assert.deepEqual(tally.counts(() => true), brute(sample, store, () => true))
    // a leaf arriving inside the listed allocation takes nothing back
    const leafAt = inside.find(a => a < sub || a > sub + 0xffff)! & 0xffffff00
    await store.commit({ networks: [net(leafAt >>> 0, (leafAt >>> 0) + 255, { type: 'ASSIGNED PA' })] })
    assert.equal(reopened.length, 1)
    assert.deepEqual(tally.counts(() => true), brute(sample, store, () => true))
  } finally {
    await store.close()
  }
})
