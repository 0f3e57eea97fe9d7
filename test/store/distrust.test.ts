/**
 * Distrust (store/distrust.ts): every record a distrusted peer authored is deleted, the in-memory
 * indexes and digests follow (as if the records had never been stored), listeners hear the deleted
 * ranges as reopened, later commits drop the peer's records whoever brings them, and the list
 * survives a reopen. Records of other authors, and records without one, stay. Real LevelDB.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NetworkStore } from '../../src/store/index.js'
import { ip, neg, net, tempDir } from './helpers/records.js'
import { sampleSlice } from '../../src/sample/index.js'

const HONEST = '12D3KooWHonestPeer1111111111111111111111111111111'
const LIAR = '12D3KooWLiarPeer22222222222222222222222222222222222'

const honestNets = [net('62.1.0.0', '62.1.0.255', { author: HONEST }), net('62.2.0.0', '62.2.0.255')]
const liarNets = [net('41.0.0.0', '41.255.255.255', { registry: 'afrinic', type: 'ALLOCATED PA', author: LIAR }), net('62.3.0.0', '62.3.0.255', { author: LIAR })]
const honestNegs = [neg('8.20.0.1', { author: HONEST })]
const liarNegs = [neg('8.20.0.2', { author: LIAR }), neg('8.20.0.3', { author: LIAR })]

test('distrusting a peer deletes what it authored, leaves the index as if it never had, and refuses its records from then on', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    // the index without the liar, for comparison
    const clean = await NetworkStore.open({ dataDir: `${dir}/clean` })
    await clean.commit({ networks: honestNets, negatives: honestNegs })
    const want = { digest: clean.digest(), fp: clean.fingerprintRange(0, 0xffffffff), counts: clean.counts(), covered: clean.addressesCovered() }
    await clean.close()

    let store = await NetworkStore.open({ dataDir: `${dir}/node` })
    await store.commit({ networks: [...honestNets, ...liarNets], negatives: [...honestNegs, ...liarNegs] })
    assert.equal(store.isCovered(ip('41.1.2.3')), true)
    const heard: Array<Array<[number, number]>> = []
    store.onIndexed(e => heard.push(e.reopened))

    const res = await store.distrust([LIAR])
    assert.deepEqual(res, { distrusted: [LIAR], droppedNetworks: 2, droppedNegatives: 2 })
    assert.deepEqual({ digest: store.digest(), fp: store.fingerprintRange(0, 0xffffffff), counts: store.counts(), covered: store.addressesCovered() }, want)
    assert.equal(store.isCovered(ip('41.1.2.3')), false, 'the liar\'s /8 covers nothing any more')
    assert.equal(store.isResolved(ip('8.20.0.2')), false, 'the liar\'s "not found" resolves nothing any more')
    assert.deepEqual(heard, [[[ip('41.0.0.0'), ip('41.255.255.255')], [ip('62.3.0.0'), ip('62.3.0.255')], [ip('8.20.0.2'), ip('8.20.0.2')], [ip('8.20.0.3'), ip('8.20.0.3')]]])

    // brought again (an honest peer's sync still holding them): dropped, nothing written
    const again = await store.commit({ networks: liarNets, negatives: liarNegs })
    assert.deepEqual([again.networks, again.negatives], [{ added: 0, changed: 0, unchanged: 0 }, { added: 0, changed: 0, unchanged: 0 }])
    assert.equal(store.digest(), want.digest)

    // the list outlives a restart
    await store.close()
    store = await NetworkStore.open({ dataDir: `${dir}/node` })
    assert.deepEqual(store.distrusted(), [LIAR])
    assert.equal(store.isDistrusted(LIAR), true)
    assert.equal((await store.commit({ networks: liarNets })).networks.added, 0)

    // trusted again: its records are taken again (none come back by themselves)
    const undone = await store.distrust([LIAR], true)
    assert.deepEqual(undone, { distrusted: [], droppedNetworks: 0, droppedNegatives: 0 })
    assert.equal(store.digest(), want.digest)
    assert.equal((await store.commit({ networks: liarNets })).networks.added, 2)
    await store.close()
  } finally {
    await cleanup()
  }
})

test('an honest note that an address\'s answer is a stored container answers nothing inside a container the peer authored once it is dropped, until the real one is stored again', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const store = await NetworkStore.open({ dataDir: dir })
    // the liar's copy of a real container, fetched "earlier", took the real one's place under the pick rule
    const real = net('62.10.0.0', '62.10.255.255', { type: 'ALLOCATED PA', author: HONEST, fetchedAt: 2_000 })
    await store.commit({ networks: [real], negatives: [neg('62.10.1.1', { registry: 'ripe', reason: 'answered', author: HONEST }), neg('62.1.0.9', { registry: 'ripe', reason: 'answered', author: HONEST })] })
    await store.commit({ networks: [{ ...real, name: 'LIAR', author: LIAR, fetchedAt: 1_000 }, honestNets[0]] })
    assert.equal(store.isExact(ip('62.10.1.1')), true)
    const res = await store.distrust([LIAR])
    assert.deepEqual([res.droppedNetworks, res.droppedNegatives], [1, 0], 'honest notes stay')
    assert.equal(store.isExact(ip('62.10.1.1')), false, 'a note whose container is gone answers nothing')
    assert.equal(store.isExact(ip('62.1.0.9')), true, 'a note outside what the liar authored still answers')
    await store.commit({ networks: [{ ...real, fetchedAt: 3_000 }] })
    assert.equal(store.isExact(ip('62.10.1.1')), true, 'the real container, asked again, fills the hole')
    // a forged range larger than the real networks in it: their own answers stand once it is gone
    const liar2 = '12D3KooWSecondLiar3333333333333333333333333333333333'
    await store.commit({ networks: [net('63.0.0.0', '63.255.255.255', { type: 'ASSIGNED PA', author: liar2 }), net('63.5.0.0', '63.5.255.255', { type: 'ALLOCATED PA', author: HONEST })], negatives: [neg('63.5.1.1', { registry: 'ripe', reason: 'answered', author: HONEST })] })
    assert.equal(store.isExact(ip('63.9.1.1')), true, 'the forged leaf answers while it stands')
    assert.equal((await store.distrust([liar2])).droppedNetworks, 1)
    assert.equal(store.isExact(ip('63.5.1.1')), true, 'a note about a real container inside the forged range still answers')
    assert.equal(store.isExact(ip('63.9.1.1')), false, 'the forged range answers nothing')
    await store.close()
  } finally {
    await cleanup()
  }
})

test('a listing made while the peer\'s copy stood in place of a real child answers nothing inside it once the copy is dropped, until the child is stored again', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const N = 3000
    const a = [...sampleSlice(N)].find(x => x >>> 24 === 62) ?? sampleSlice(N)[0]
    const c8 = (a & 0xff000000) >>> 0
    const c24 = (a & 0xffffff00) >>> 0
    const container = net(c8, c8 + 0xffffff, { type: 'ALLOCATED PA', author: HONEST, listedSample: N, listedAt: 5_000 })
    const child = net(c24, c24 + 255, { type: 'SUB-ALLOCATED PA', author: HONEST, fetchedAt: 2_000 })
    let store = await NetworkStore.open({ dataDir: dir })
    await store.commit({ networks: [container, { ...child, name: 'LIAR', author: LIAR, fetchedAt: 1_000 }] })
    await store.distrust([LIAR])
    assert.equal(store.isExact(a), false, 'the container\'s listing does not vouch for the address of the dropped child')
    await store.close()
    store = await NetworkStore.open({ dataDir: dir })
    assert.equal(store.isExact(a), false, 'the hole outlives a restart')
    // the real child, asked again and listed: the hole is filled
    await store.commit({ networks: [{ ...child, listedSample: N, listedAt: 6_000 }] })
    assert.equal(store.isExact(a), true)
    await store.close()
  } finally {
    await cleanup()
  }
})

test('distrust refuses a malformed peer id and changes nothing', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const store = await NetworkStore.open({ dataDir: dir })
    await store.commit({ networks: honestNets })
    await assert.rejects(store.distrust(['not a peer id']), { name: 'InvalidRecordError' })
    assert.deepEqual(store.distrusted(), [])
    assert.equal(store.counts().networks, 2)
    await store.close()
  } finally {
    await cleanup()
  }
})
