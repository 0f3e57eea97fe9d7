/**
 * A failure record never outlives an answer for its address (failure-plan.ts), in whichever order
 * the failure and the answer reach the store: the crawl gives up on an address while a network that
 * covers it arrives from another lookup, from gossip or from sync.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Level } from 'level'
import { NetworkStore } from '../../src/store/index.js'
import { encodeValue, type FailureRecord } from '../../src/record/index.js'
import { failureKey } from '../../src/store/keys.js'
import { ip, neg, net, tempDir, withStore } from './helpers/records.js'

const failure = (address: number): FailureRecord => ({ address, registry: 'ripe', reason: 'TransientLookupError: timeout', attempts: 4, at: 1 })

async function failuresOf (store: NetworkStore): Promise<number[]> {
  const out: number[] = []
  for await (const f of store.failures()) out.push(f.address)
  return out
}

test('a failure that comes after the answer for its address is not written (the crawl gave up while another lookup or a peer resolved it)', async () => {
  await withStore(async (store, dir) => {
    const a = ip('62.40.1.1')
    const b = ip('45.1.2.3')
    const open = ip('8.8.8.8')
    // the answers arrive first: a network found through another address, a negative
    await store.commit({ networks: [net('62.40.0.0', '62.40.255.255', { queryAddress: ip('62.40.9.1') })] })
    await store.commit({ negatives: [neg(b)] })
    // then the crawl's give-ups, committed later
    const res = await store.commit({ failures: [failure(a), failure(b), failure(open)] })
    assert.equal(res.failures.written, 1, 'only the failure of the address nothing resolves is written')
    assert.equal(store.hasFailure(a), false)
    assert.equal(store.hasFailure(b), false)
    assert.deepEqual(await failuresOf(store), [open])
    assert.equal(store.counts().failures, 1)
    await store.close()
    const again = await NetworkStore.open({ dataDir: dir })
    try { assert.deepEqual(await failuresOf(again), [open], 'and not on disk') } finally { await again.close() }
  })
})

test('a failure and the answer for its address in one commit leave no failure', async () => {
  await withStore(async store => {
    const a = ip('62.40.1.1')
    const res = await store.commit({ networks: [net('62.40.0.0', '62.40.255.255')], failures: [failure(a), failure(ip('62.41.0.1'))] })
    assert.equal(res.failures.written, 1)
    assert.deepEqual(await failuresOf(store), [ip('62.41.0.1')])
  })
})

test('a later commit that stores an answer clears the failure, and one left beside a stored answer by an earlier version is deleted at open', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const a = ip('62.40.1.1')
    const network = net('62.40.0.0', '62.40.255.255')
    let store = await NetworkStore.open({ dataDir: dir })
    await store.commit({ failures: [failure(a)] })
    await store.commit({ networks: [network] })
    assert.equal(store.hasFailure(a), false, 'cleared by the commit that stored the network')
    await store.close()
    // a store left by an earlier version with a failure beside the answer: open deletes it
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.open()
    await db.put(failureKey(a), encodeValue(failure(a)))
    await db.close()
    store = await NetworkStore.open({ dataDir: dir })
    try {
      assert.equal(store.hasFailure(a), false, 'open drops a failure whose address is resolved')
      assert.deepEqual(await failuresOf(store), [])
    } finally { await store.close() }
  } finally { await cleanup() }
})
