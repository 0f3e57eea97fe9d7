/**
 * The store's two digests (digest.ts): identities, which independent crawls of one world share
 * however they fetched it, and versions (the stored records byte for byte), which range
 * fingerprints and sync compare. Both follow replacements by the pick rule, survive a reopen, and
 * are the same for a store whose values were written before the version hash (value format 2).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Level } from 'level'
import { NetworkStore, repairStore } from '../../src/store/index.js'
import { canonicalNegative, canonicalNetwork, encodeRecord, encodeValue, isLeaf, type NegativeRecord, type NetworkRecord } from '../../src/record/index.js'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { negativeHash, networkHash, versionHash } from '../../src/store/digest.js'
import { metaKey, negativeKey, networkKey } from '../../src/store/keys.js'
import { VALUE_FORMAT, unframeValue, versionOf } from '../../src/store/value-format.js'
import { ip, neg, net, tempDir } from './helpers/records.js'

const ALL: [number, number] = [0, 0xffffffff]

const RECORDS: NetworkRecord[] = [
  net('1.0.0.0', '1.0.0.255'), net('1.0.1.0', '1.0.1.255', { registry: 'apnic' }), net('4.0.0.0', '4.255.255.255', { registry: 'arin', type: 'Direct Allocation' }),
  net('4.4.4.0', '4.4.4.127', { registry: 'arin', type: 'Reassigned' }), net('193.0.0.0', '193.0.0.255')
]
const NEGATIVES: NegativeRecord[] = [neg('1.0.0.77'), neg('6.6.6.6')]

/** the same networks and negatives fetched later, from another address, over WHOIS */
const refetched = (r: NetworkRecord): NetworkRecord => ({ ...r, fetchedAt: r.fetchedAt + 3_600_000, queryAddress: r.end, source: 'whois' })

async function withStores (n: number, fn: (stores: NetworkStore[], dirs: string[]) => Promise<void>): Promise<void> {
  const dirs = await Promise.all(Array.from({ length: n }, async () => await tempDir()))
  const stores: NetworkStore[] = []
  try {
    for (const d of dirs) stores.push(await NetworkStore.open({ dataDir: d.dir }))
    await fn(stores, dirs.map(d => d.dir))
  } finally {
    for (const s of stores) await s.close()
    for (const d of dirs) await d.cleanup()
  }
}

/** what a store's memory says about its set: both digests, and range fingerprints */
function digests (s: NetworkStore): unknown {
  return {
    identity: s.digest(),
    by8: s.digestBySlashEight(),
    whole: s.fingerprintRange(...ALL),
    of1: s.fingerprintRange(ip('1.0.0.0'), ip('1.255.255.255')),
    cut: s.fingerprintRange(ip('1.0.0.50'), ip('4.4.4.0'))
  }
}

test('copies that differ only in fetch metadata share the identity digest and differ in range fingerprints', async () => {
  await withStores(2, async ([a, b]) => {
    await a.commit({ networks: RECORDS, negatives: NEGATIVES })
    await b.commit({ networks: RECORDS.map((r, i) => i === 3 ? refetched(r) : r), negatives: NEGATIVES })
    assert.equal(a.digest(), b.digest(), 'the identity digest ignores fetch metadata')
    assert.deepEqual(a.digestBySlashEight(), b.digestBySlashEight())
    assert.notEqual(a.fingerprintRange(...ALL).fingerprint, b.fingerprintRange(...ALL).fingerprint, 'the range fingerprint sees the stored bytes')
    assert.notEqual(a.fingerprintRange(ip('4.0.0.0'), ip('4.255.255.255')).fingerprint, b.fingerprintRange(ip('4.0.0.0'), ip('4.255.255.255')).fingerprint, 'in the /8 of the differing copy')
    assert.deepEqual(a.fingerprintRange(ip('1.0.0.0'), ip('1.255.255.255')), b.fingerprintRange(ip('1.0.0.0'), ip('1.255.255.255')), 'and nowhere else')
    const versions = async (s: NetworkStore): Promise<string[]> => { const out: string[] = []; for await (const x of s.items(ip('4.0.0.0'), ip('4.255.255.255'))) out.push(x.version.toString('hex')); return out }
    assert.deepEqual(await versions(a), RECORDS.slice(2, 4).map(r => versionHash(encodeRecord(canonicalNetwork(r))).toString('hex')), 'items() yields each record with the hash of its bytes')
    assert.notDeepEqual(await versions(a), await versions(b))
  })
})

test('replacements by the pick rule leave both digests as in a store that only ever held the winners, also after a reopen', async () => {
  await withStores(2, async ([a, b], [dirA]) => {
    // a first holds later fetches, one of them of a renamed network (another identity) and a negative of another registry
    const renamed = { ...refetched(RECORDS[4]), name: 'RENAMED-LATER' }
    await a.commit({ networks: [...RECORDS.slice(0, 3).map(refetched), RECORDS[3], renamed], negatives: [{ ...NEGATIVES[0], registry: 'ripe', fetchedAt: NEGATIVES[0].fetchedAt + 1 }, NEGATIVES[1]] })
    const res = await a.commit({ networks: RECORDS, negatives: NEGATIVES })
    assert.deepEqual([res.networks.changed, res.negatives.changed], [4, 1], 'the earlier fetches replace the later ones')
    await b.commit({ networks: RECORDS, negatives: NEGATIVES })
    assert.deepEqual(digests(a), digests(b))
    await a.close()
    const reopened = await NetworkStore.open({ dataDir: dirA })
    try {
      assert.deepEqual(digests(reopened), digests(b), 'rebuilt from the value headers')
    } finally { await reopened.close() }
  })
})

/**
 * A store as whoismesh wrote it before the version hash: schema 2, value format 2 (byte 0 = 2,
 * byte 1 = registry index | leaf bit, 32 bytes of identity hash, the msgpack record).
 */
async function writeFormatTwoStore (dir: string, networks: NetworkRecord[], negatives: NegativeRecord[]): Promise<void> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const v2 = (registry: string, leaf: boolean, hash: Buffer, body: Buffer): Buffer => Buffer.concat([Buffer.of(2, REGISTRY_IDS.indexOf(registry as any) | (leaf ? 0x80 : 0)), hash, body])
  const ops: Array<{ type: 'put', key: Buffer, value: Buffer }> = [{ type: 'put', key: metaKey('store.schemaVersion'), value: encodeValue(2) }]
  for (const r of networks.map(x => canonicalNetwork(x))) ops.push({ type: 'put', key: networkKey(r.start, r.end), value: v2(r.registry, isLeaf(r.registry, r.type), networkHash(r), encodeRecord(r)) })
  for (const n of negatives.map(x => canonicalNegative(x))) ops.push({ type: 'put', key: negativeKey(n.address), value: v2(n.registry, false, negativeHash(n), encodeRecord(n)) })
  await db.batch(ops)
  await db.close()
}

async function formats (dir: string): Promise<number[]> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const out: number[] = []
  for await (const [k, v] of db.iterator()) if (k[0] === 0x6e || k[0] === 0x78) out.push(v[0])
  await db.close()
  return out
}

test('a store written before the version hash (format 2) has the digests of one written now, in memory, after a replacement and after repair', async () => {
  await withStores(1, async ([fresh]) => {
    await fresh.commit({ networks: RECORDS, negatives: NEGATIVES })
    const { dir, cleanup } = await tempDir()
    try {
      await writeFormatTwoStore(dir, [RECORDS[0], refetched(RECORDS[1]), ...RECORDS.slice(2)], NEGATIVES)
      let old = await NetworkStore.open({ dataDir: dir })
      try {
        // the replacement subtracts the old header's identity and the version computed from its body
        await old.commit({ networks: [RECORDS[1]] })
        assert.deepEqual(digests(old), digests(fresh), 'the digests of a store written now')
      } finally { await old.close() }
      assert.deepEqual((await formats(dir)).sort(), [2, 2, 2, 2, 2, 2, VALUE_FORMAT], 'only the replaced record is rewritten')
      old = await NetworkStore.open({ dataDir: dir })
      try { assert.deepEqual(digests(old), digests(fresh), 'after a reopen') } finally { await old.close() }
      const report = await repairStore({ dataDir: dir })
      assert.equal(report.reframed, 6, 'repair gives the six format 2 values their version hash')
      assert.deepEqual(await formats(dir), Array(7).fill(VALUE_FORMAT))
      old = await NetworkStore.open({ dataDir: dir })
      try { assert.deepEqual(digests(old), digests(fresh), 'after repair') } finally { await old.close() }
    } finally { await cleanup() }
  })
})

test('a format 2 header has no version hash: versionOf hashes its body', () => {
  const r = canonicalNetwork(RECORDS[0])
  const body = encodeRecord(r)
  const old = Buffer.concat([Buffer.of(2, 0), networkHash(r), body])
  const f = unframeValue(old, REGISTRY_IDS.length)
  assert.ok(f !== undefined)
  assert.equal(f.version, undefined, 'a format 2 header has no version hash')
  assert.deepEqual(versionOf(f), versionHash(body))
  assert.deepEqual(f.identity, networkHash(r))
})
