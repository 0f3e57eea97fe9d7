/**
 * A container listed completely (NetworkRecord.listedSample, crawl/listing.ts): the store answers
 * as exact every address of sampleSlice(n) whose most specific stored network is that container,
 * and nothing else; the listed record wins the pick rule; the mark survives a reopen (the header's
 * listed bit, value-format.ts); a network never listed encodes as it did before the fields existed.
 * Real LevelDB in a temp dir.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NetworkStore } from '../../src/store/index.js'
import { canonicalNetwork, encodeRecord, encodeValue } from '../../src/record/index.js'
import { SAMPLE_SIZE, isSampleAddress, sampleRank, sampleSlice, shuffledSample } from '../../src/sample/index.js'
import { formatIPv4 } from '../../src/util/ipv4.js'
import { net, tempDir } from './helpers/records.js'

const N = 3000
const slice = [...sampleSlice(N)].sort((a, b) => a - b)
// a /8 holding several addresses of the slice
const start = (slice[N >> 1] & 0xff000000) >>> 0
const end = start + 0xffffff
const inSlice = slice.filter(a => a >= start && a <= end)
// a sample address inside it beyond the slice
const beyond = shuffledSample().subarray(N).find(a => a >= start && a <= end) as number

const CONTAINER = net(start, end, { type: 'ALLOCATED PA', fetchedAt: 1_000, queryAddress: inSlice[0] })
const listed = (n: number, at = 2_000, over = {}): ReturnType<typeof net> => ({ ...CONTAINER, listedSample: n, listedAt: at, ...over })
// a sub-allocation holding the second slice address (never listed), a leaf holding the third
const SUB = net((inSlice[1] & 0xffffff00) >>> 0, ((inSlice[1] & 0xffffff00) >>> 0) + 255, { type: 'SUB-ALLOCATED PA' })
const LEAF = net((inSlice[2] & 0xffffff00) >>> 0, ((inSlice[2] & 0xffffff00) >>> 0) + 255, { type: 'ASSIGNED PA' })

test('a listed container answers the slice addresses in none of its stored children, and no other address', async () => {
  assert.ok(inSlice.length >= 4 && beyond !== undefined, 'the fixture has slice addresses in the container and one beyond the slice')
  const { dir, cleanup } = await tempDir()
  try {
    let store = await NetworkStore.open({ dataDir: dir })
    await store.commit({ networks: [CONTAINER, SUB, LEAF] })
    assert.equal(store.isExact(inSlice[3]), false, 'not listed yet: the address may lie in a child nobody found')
    const digest = store.digest()
    const r = await store.commit({ networks: [listed(N)] })
    assert.deepEqual(r.networks, { added: 0, changed: 1, unchanged: 0 }, 'the listed record replaces the first one seen')
    assert.equal(store.digest(), digest, 'a listing changes no identity: the network is the same')

    const check = (s: NetworkStore, label: string): void => {
      for (const a of inSlice.slice(3)) assert.equal(s.isExact(a), true, `${label}: ${formatIPv4(a)} (slice rank ${sampleRank(a)}) is answered by the container`)
      assert.equal(s.isExact(inSlice[1]), false, `${label}: inside a sub-allocation never listed`)
      assert.equal(s.isExact(inSlice[2]), true, `${label}: inside a leaf`)
      assert.equal(s.isExact(beyond), false, `${label}: a sample address beyond the slice the listing was made for`)
      const outside = inSlice[3] + 1
      assert.equal(isSampleAddress(outside), false)
      assert.equal(s.isExact(outside), false, `${label}: not a sample address: its child may not be stored`)
      assert.equal(s.isResolved(inSlice[3]), true, label)
    }
    check(store, 'after commit')
    // an unlisted record, however early, does not replace a listed one; a larger listing does
    assert.deepEqual((await store.commit({ networks: [{ ...CONTAINER, fetchedAt: 500 }] })).networks, { added: 0, changed: 0, unchanged: 1 })
    assert.deepEqual((await store.commit({ networks: [listed(N - 1, 1_500)] })).networks, { added: 0, changed: 0, unchanged: 1 }, 'a smaller listing loses')
    await store.close()

    store = await NetworkStore.open({ dataDir: dir })
    check(store, 'after reopen')
    assert.deepEqual(store.classCounts(), { leaves: 1, containers: 2, unclassified: 0, listed: 1 }, 'counted from the header bit at open')
    assert.equal((await store.mostSpecific(inSlice[3]))?.listedSample, N)
    await store.commit({ networks: [listed(SAMPLE_SIZE, 3_000)] })
    assert.equal(store.isExact(beyond), true, 'listed for the whole sample: every sample address')
    await store.close()
  } finally {
    await cleanup()
  }
})

test('the listing fields are both or neither, a sample size in 1…SAMPLE_SIZE, and absent from a network never listed', () => {
  const plain = canonicalNetwork(CONTAINER)
  assert.equal('listedSample' in plain, false)
  const { fetchedAt, queryAddress, source, ...identity } = CONTAINER
  const before = encodeValue({ ...identity, source, fetchedAt, queryAddress })
  assert.deepEqual(encodeRecord(plain), before, 'the bytes a network had before the fields existed')
  assert.equal(canonicalNetwork(listed(7)).listedSample, 7)
  for (const bad of [{ listedSample: 0 }, { listedSample: SAMPLE_SIZE + 1 }, { listedSample: 1.5 }, { listedSample: 5, listedAt: undefined }, { listedSample: undefined, listedAt: 5 }]) {
    assert.throws(() => canonicalNetwork({ ...CONTAINER, listedAt: 1, ...bad }), /listed(Sample|At)/, JSON.stringify(bad))
  }
  // a leaf carrying a listing is the mesh's to refuse (mesh/validation.ts 'listed-leaf'), not the
  // record's: a word classify.ts counts a container today may become a leaf word later
  assert.equal(canonicalNetwork(listed(7, 1, { type: 'ASSIGNED PA' })).listedSample, 7)
})
