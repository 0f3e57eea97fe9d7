/**
 * Exact resolution in the store (issue 12): `isExact` (inside a leaf, or a note of the address's
 * own), the 'answered' note beside "no network here", and the two resolve rules of `isResolved`.
 * Real LevelDB in a temp dir; the notes' kind survives a reopen (the header bit, value-format.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NetworkStore } from '../../src/store/index.js'
import { ip, neg, net, tempDir } from './helpers/records.js'

const ALLOCATION = net('193.0.0.0', '193.0.255.255', { type: 'ALLOCATED PA' })
const ASSIGNMENT = net('193.0.4.0', '193.0.4.255', { type: 'ASSIGNED PA' })
const SUB = net('193.0.128.0', '193.0.191.255', { type: 'SUB-ALLOCATED PA' })

test('a leaf answers every address inside it; a container only the addresses noted as answered by it', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    let store = await NetworkStore.open({ dataDir: dir, resolve: 'exact' })
    await store.commit({
      networks: [ALLOCATION, ASSIGNMENT, SUB],
      negatives: [neg('193.0.9.9', { registry: 'ripe', reason: 'answered' }), neg('193.0.130.1', { registry: 'ripe', reason: 'answered' }), neg('45.1.2.3')]
    })
    const check = (s: NetworkStore, label: string): void => {
      assert.equal(s.isExact(ip('193.0.4.77')), true, `${label}: inside the assignment`)
      assert.equal(s.isExact(ip('193.0.9.9')), true, `${label}: noted as answered by the allocation`)
      assert.equal(s.isExact(ip('193.0.9.10')), false, `${label}: in the allocation's space, not asked: may be in a network not found yet`)
      assert.equal(s.isExact(ip('193.0.130.1')), true, `${label}: noted inside the sub-allocation`)
      assert.equal(s.isExact(ip('193.0.130.2')), false, `${label}: inside the sub-allocation, not asked`)
      assert.equal(s.isExact(ip('45.1.2.3')), true, `${label}: unallocated is an exact answer`)
      assert.equal(s.isCovered(ip('193.0.9.10')), true, label)
      // "unallocated" is only the not-found note, never the answered one
      assert.equal(s.hasNegative(ip('45.1.2.3')), true, label)
      assert.equal(s.hasNegative(ip('193.0.9.9')), false, label)
      assert.equal(s.hasAnsweredNote(ip('193.0.9.9')), true, label)
      assert.deepEqual(s.noteCounts(), { noNetwork: 1, answered: 2 }, label)
      assert.deepEqual(s.counts(), { networks: 3, negatives: 3, failures: 0 }, label)
    }
    check(store, 'after commit')
    // the exact rule
    assert.equal(store.isResolved(ip('193.0.9.10')), false)
    assert.equal(store.isResolved(ip('193.0.4.1')), true)
    await store.close()

    store = await NetworkStore.open({ dataDir: dir })
    check(store, 'after reopen')
    await store.close()

    // the covered rule: anything inside a stored network is resolved
    store = await NetworkStore.open({ dataDir: dir, resolve: 'covered' })
    assert.equal(store.isResolved(ip('193.0.9.10')), true)
    assert.equal(store.isResolved(ip('193.1.0.0')), false)
    assert.equal(store.isExact(ip('193.0.9.10')), false, 'isExact does not depend on the rule')
    await store.close()
  } finally {
    await cleanup()
  }
})

test('a note replaced by the pick rule changes kind; an unknown rule is refused', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const store = await NetworkStore.open({ dataDir: dir })
    await store.commit({ networks: [ALLOCATION], negatives: [neg('193.0.9.9', { registry: 'ripe', reason: 'answered', fetchedAt: 2_000 })] })
    assert.equal(store.hasAnsweredNote(ip('193.0.9.9')), true)
    // an earlier note wins the pick rule (first observed): the address was unallocated then
    await store.commit({ negatives: [neg('193.0.9.9', { registry: 'ripe', reason: 'not-found', fetchedAt: 1_000 })] })
    assert.equal(store.hasAnsweredNote(ip('193.0.9.9')), false)
    assert.equal(store.hasNegative(ip('193.0.9.9')), true)
    assert.deepEqual(store.noteCounts(), { noNetwork: 1, answered: 0 })
    await store.close()
    await assert.rejects(NetworkStore.open({ dataDir: dir, resolve: 'nearly' as any }), /resolve/)
  } finally {
    await cleanup()
  }
})

test('a leaf whose record the pick rule replaces by a container\'s answers nothing more, as after a reopen; a leaf inside it still answers', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const leaf = net('193.0.0.0', '193.0.255.255', { type: 'ASSIGNED PA', fetchedAt: 2_000 })
    const inner = net('193.0.4.0', '193.0.4.255', { type: 'ASSIGNED PA' })
    let store = await NetworkStore.open({ dataDir: dir })
    await store.commit({ networks: [leaf, inner] })
    assert.equal(store.isExact(ip('193.0.9.9')), true, 'inside the leaf')
    // a copy with an earlier fetch time and a container's type wins the pick rule
    const r = await store.commit({ networks: [{ ...leaf, type: 'ALLOCATED PA', fetchedAt: 1_000 }] })
    assert.equal(r.networks.changed, 1)
    const check = (s: NetworkStore, label: string): void => {
      assert.equal(s.isExact(ip('193.0.9.9')), false, `${label}: the container answers nothing by itself`)
      assert.equal(s.isExact(ip('193.0.4.9')), true, `${label}: the leaf inside it does`)
      assert.deepEqual(s.classCounts().leaves, 1, label)
    }
    check(store, 'after the replace')
    await store.close()
    store = await NetworkStore.open({ dataDir: dir })
    check(store, 'after reopen')
    await store.close()
  } finally {
    await cleanup()
  }
})
