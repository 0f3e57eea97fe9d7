/**
 * The store's leaf bit (value-format.ts, interval-index.ts): set at commit from the record's
 * registry and type, read back from the value header at open, changed when the pick rule replaces
 * a record, and rebuilt by repair. A store written before the bit (value format 1, schema 1) still
 * opens and reads the same records, its networks as unclassified containers, until repair
 * classifies them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Level } from 'level'
import { NetworkStore, StoreOpenError, repairStore } from '../../src/store/index.js'
import { canonicalNegative, canonicalNetwork, decodeValue, encodeRecord, encodeValue, type NetworkRecord } from '../../src/record/index.js'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { negativeHash, networkHash } from '../../src/store/digest.js'
import { metaKey, negativeKey, networkKey } from '../../src/store/keys.js'
import { HEADER_BYTES, VALUE_FORMAT, frameValue, unframeValue } from '../../src/store/value-format.js'
import { STORE_SCHEMA_VERSION } from '../../src/store/schema.js'
import { ip, neg, net, tempDir } from './helpers/records.js'

/** a mix of leaves and containers, nested the way registries nest them */
const RECORDS: NetworkRecord[] = [
  net('8.0.0.0', '8.127.255.255', { registry: 'arin', type: 'Direct Allocation' }),
  net('8.8.8.0', '8.8.8.255', { registry: 'arin', type: 'Reassigned', parentHandle: 'H-1' }),
  net('193.0.0.0', '193.0.255.255', { registry: 'ripe', type: 'ALLOCATED PA' }),
  net('193.0.4.0', '193.0.4.255', { registry: 'ripe', type: 'ASSIGNED PA' }),
  net('200.57.128.0', '200.57.159.255', { registry: 'lacnic', type: 'allocated' }),
  net('200.57.130.0', '200.57.130.7', { registry: 'lacnic', type: 'reassigned' }),
  net('1.1.1.0', '1.1.1.255', { registry: 'apnic', type: 'ASSIGNED PORTABLE' }),
  net('41.0.0.0', '41.0.255.255', { registry: 'afrinic', type: '' })
]
const LEAVES = ['8.8.8.0', '193.0.4.0', '200.57.130.0', '1.1.1.0']
const isExpectedLeaf = (r: NetworkRecord): boolean => LEAVES.some(a => ip(a) === r.start)

/** the class of every record's range as the store's memory answers it */
function classes (store: NetworkStore): Record<string, boolean | undefined> {
  return Object.fromEntries(RECORDS.map(r => [r.handle, store.containingRanges(r.start).find(x => x.start === r.start && x.end === r.end)?.leaf]))
}
const expected = Object.fromEntries(RECORDS.map(r => [r.handle, isExpectedLeaf(r)]))

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir()
  try { await fn(dir) } finally { await cleanup() }
}

/**
 * A store as whoismesh wrote it before leaves and containers: schema version 1 and value format 1
 * (byte 0 = 1, byte 1 = the registry index, 32 bytes of identity hash, the msgpack record).
 */
async function writeFormatOneStore (dir: string, records: NetworkRecord[]): Promise<void> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const v1 = (registry: string, hash: Buffer, body: Buffer): Buffer => Buffer.concat([Buffer.of(1, REGISTRY_IDS.indexOf(registry as any)), hash, body])
  const ops: Array<{ type: 'put', key: Buffer, value: Buffer }> = [{ type: 'put', key: metaKey('store.schemaVersion'), value: encodeValue(1) }]
  for (const r of records.map(x => canonicalNetwork(x))) ops.push({ type: 'put', key: networkKey(r.start, r.end), value: v1(r.registry, networkHash(r), encodeRecord(r)) })
  const n = canonicalNegative(neg('45.1.2.3'))
  ops.push({ type: 'put', key: negativeKey(n.address), value: v1(n.registry, negativeHash(n), encodeRecord(n)) })
  await db.batch(ops)
  await db.close()
}

async function headers (dir: string): Promise<Buffer[]> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const out: Buffer[] = []
  for await (const [k, v] of db.iterator()) if (k[0] === 0x6e) out.push(v.subarray(0, 2))
  await db.close()
  return out
}

test('a header keeps the registry and the leaf bit apart, and a format 1 header reads as an unclassified container', () => {
  const hash = Buffer.alloc(32, 7)
  const body = Buffer.from([0x90])
  for (let r = 0; r < REGISTRY_IDS.length; r++) {
    for (const leaf of [false, true]) {
      const f = unframeValue(frameValue(r, hash, body, leaf), REGISTRY_IDS.length)
      assert.deepEqual(f && { r: f.registryIndex, leaf: f.leaf, classified: f.classified }, { r, leaf, classified: true }, `registry ${r}, leaf ${String(leaf)}`)
    }
    const old = Buffer.concat([Buffer.of(1, r), hash, body])
    assert.deepEqual(unframeValue(old, REGISTRY_IDS.length)?.leaf, false)
    assert.deepEqual(unframeValue(old, REGISTRY_IDS.length)?.classified, false)
  }
  assert.equal(unframeValue(Buffer.concat([Buffer.of(1, 0x85), hash, body]), REGISTRY_IDS.length), undefined, 'format 1 had no leaf bit')
  assert.equal(unframeValue(Buffer.concat([Buffer.of(VALUE_FORMAT + 1, 0), hash, hash, body]), REGISTRY_IDS.length), undefined, 'an unknown format')
  assert.equal(unframeValue(frameValue(0, hash, body).subarray(0, HEADER_BYTES), REGISTRY_IDS.length), undefined, 'no body')
  assert.throws(() => frameValue(128, hash, body), RangeError)
})

test('the leaf bit is set at commit, survives a reopen, and the class counts add up', async () => {
  await withDir(async dir => {
    let store = await NetworkStore.open({ dataDir: dir })
    try {
      await store.commit({ networks: RECORDS })
      assert.deepEqual(classes(store), expected)
      assert.deepEqual(store.classCounts(), { leaves: 4, containers: 4, unclassified: 0, listed: 0 })
      assert.equal(store.mostSpecificRange(ip('8.8.8.8'))?.leaf, true)
      assert.equal(store.mostSpecificRange(ip('8.8.9.1'))?.leaf, false, 'outside the leaf: its container')
    } finally { await store.close() }
    assert.deepEqual((await headers(dir)).map(h => h[0]), RECORDS.map(() => VALUE_FORMAT), `every value is written in format ${VALUE_FORMAT}`)
    store = await NetworkStore.open({ dataDir: dir })
    try {
      assert.deepEqual(classes(store), expected, 'after reopen, from the headers alone')
      assert.deepEqual(store.classCounts(), { leaves: 4, containers: 4, unclassified: 0, listed: 0 })
    } finally { await store.close() }
  })
})

test('when the pick rule replaces a record the class follows the kept record, in memory and after reopen', async () => {
  await withDir(async dir => {
    const later = net('62.0.0.0', '62.0.0.255', { registry: 'ripe', type: 'ALLOCATED PA', fetchedAt: 2_000 })
    const earlier = { ...later, type: 'ASSIGNED PA', fetchedAt: 1_000 }
    let store = await NetworkStore.open({ dataDir: dir })
    try {
      await store.commit({ networks: [later] })
      assert.equal(store.mostSpecificRange(later.start)?.leaf, false)
      const res = await store.commit({ networks: [earlier] })
      assert.deepEqual(res.networks, { added: 0, changed: 1, unchanged: 0 }, 'the earlier fetch wins')
      assert.equal(store.mostSpecificRange(later.start)?.leaf, true)
      assert.deepEqual(store.classCounts(), { leaves: 1, containers: 0, unclassified: 0, listed: 0 })
      const res2 = await store.commit({ networks: [later] })
      assert.deepEqual(res2.networks, { added: 0, changed: 0, unchanged: 1 }, 'the later fetch loses: the class stays')
    } finally { await store.close() }
    store = await NetworkStore.open({ dataDir: dir })
    try {
      assert.equal(store.mostSpecificRange(later.start)?.leaf, true)
    } finally { await store.close() }
  })
})

test('a store written before leaves and containers opens, reads the same records and digest, and repair classifies it', async () => {
  await withDir(async dir => {
    const old = `${dir}/old`
    const fresh = `${dir}/fresh`
    await writeFormatOneStore(old, RECORDS)
    const ref = await NetworkStore.open({ dataDir: fresh })
    await ref.commit({ networks: RECORDS, negatives: [neg('45.1.2.3')] })
    const want = { digest: ref.digest(), records: await collect(ref.networks()), negatives: await collect(ref.negatives()) }
    await ref.close()

    let store = await NetworkStore.open({ dataDir: old })
    try {
      assert.equal(store.digest(), want.digest, 'the same digest as a store written today')
      assert.deepEqual(await collect(store.networks()), want.records, 'the same records')
      assert.deepEqual(await collect(store.negatives()), want.negatives)
      assert.deepEqual(await store.mostSpecific(ip('8.8.8.8')), want.records.find(r => r.start === ip('8.8.8.0')))
      assert.deepEqual(classes(store), Object.fromEntries(RECORDS.map(r => [r.handle, false])), 'every network an (unclassified) container')
      assert.deepEqual(store.classCounts(), { leaves: 0, containers: 8, unclassified: 8, listed: 0 })
    } finally { await store.close() }
    assert.equal(await schemaOf(old), 1, 'reading it leaves it as the older version wrote it')

    store = await NetworkStore.open({ dataDir: old })
    try {
      // a commit that replaces one of them classifies it
      await store.commit({ networks: [{ ...RECORDS[1], fetchedAt: RECORDS[1].fetchedAt - 1 }] })
      assert.equal(store.mostSpecificRange(ip('8.8.8.8'))?.leaf, true)
      assert.deepEqual(store.classCounts(), { leaves: 1, containers: 7, unclassified: 7, listed: 0 })
    } finally { await store.close() }
    assert.equal(await schemaOf(old), STORE_SCHEMA_VERSION, 'its first write marks the store as the version that writes leaf bits')

    const report = await repairStore({ dataDir: old })
    assert.equal(report.dropped, 0)
    assert.equal(report.reframed, 8, `7 network headers and the negative's rewritten in format ${VALUE_FORMAT}`)
    store = await NetworkStore.open({ dataDir: old })
    try {
      assert.deepEqual(classes(store), expected, 'repair set every leaf bit')
      assert.deepEqual(store.classCounts(), { leaves: 4, containers: 4, unclassified: 0, listed: 0 })
      assert.equal(store.digest(), report.digest)
    } finally { await store.close() }
    assert.equal((await repairStore({ dataDir: old })).reframed, 0, 'a second repair has nothing to rewrite')
  })
})

test('repair of a store written today rewrites no header and keeps every leaf bit', async () => {
  await withDir(async dir => {
    const store = await NetworkStore.open({ dataDir: dir })
    await store.commit({ networks: RECORDS })
    const digest = store.digest()
    await store.close()
    const before = await headers(dir)
    const report = await repairStore({ dataDir: dir })
    assert.deepEqual({ dropped: report.dropped, reframed: report.reframed, digest: report.digest }, { dropped: 0, reframed: 0, digest })
    assert.deepEqual(await headers(dir), before)
  })
})

test('a header whose leaf bit disagrees with its record is rewritten by repair', async () => {
  await withDir(async dir => {
    const store = await NetworkStore.open({ dataDir: dir })
    await store.commit({ networks: RECORDS })
    await store.close()
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.open()
    const leaf = canonicalNetwork(RECORDS[1])
    const key = networkKey(leaf.start, leaf.end)
    const v = await db.get(key) as Buffer
    assert.equal(v[1] & 0x80, 0x80)
    v[1] &= 0x7f
    await db.put(key, v)
    await db.close()
    const wrong = await NetworkStore.open({ dataDir: dir })
    assert.equal(wrong.mostSpecificRange(leaf.start)?.leaf, false, 'open trusts the header')
    await wrong.close()
    assert.equal((await repairStore({ dataDir: dir })).reframed, 1)
    const fixed = await NetworkStore.open({ dataDir: dir })
    try { assert.deepEqual(classes(fixed), expected) } finally { await fixed.close() }
  })
})

test('a store of a newer schema version is refused, naming the versions this one reads', async () => {
  await withDir(async dir => {
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.open()
    await db.put(metaKey('store.schemaVersion'), encodeValue(STORE_SCHEMA_VERSION + 1))
    await db.close()
    await assert.rejects(NetworkStore.open({ dataDir: dir }), (e: unknown) => e instanceof StoreOpenError && /schema version 5, this whoismesh reads versions 1, 2, 3 and 4/.test(e.message))
  })
})

async function schemaOf (dir: string): Promise<unknown> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  try { return decodeValue(await db.get(metaKey('store.schemaVersion')) as Buffer) } finally { await db.close() }
}

async function collect<T> (it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}
