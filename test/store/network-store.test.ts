import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Level } from 'level'
import { NetworkStore, StoreClosedError } from '../../src/store/index.js'
import { InvalidRecordError, type NegativeRecord, type NetworkRecord } from '../../src/record/index.js'
import { ip, neg, net, rng, tempDir, withStore } from './helpers/records.js'
import { metaKey } from '../../src/store/keys.js'
import { GENERATION_META_KEY } from '../../src/store/level-db.js'

/**
 * every key/value of a closed store's LevelDB, hex, in key order — but the generation token
 * (level-db.ts), which every write batch changes: this store's own bookkeeping, like a node's crawl
 * counters, not something replicas agree on
 */
async function dump (dir: string): Promise<string[]> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const out: string[] = []
  const generation = metaKey(GENERATION_META_KEY)
  for await (const [k, v] of db.iterator()) if (!k.equals(generation)) out.push(`${k.toString('hex')}=${v.toString('hex')}`)
  await db.close()
  return out
}

async function collect<T> (it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

test('committing the same network twice stores it once and reports the repeat as unchanged', async () => {
  await withStore(async (store) => {
    const r = net('1.2.3.0', '1.2.3.255')
    const first = await store.commit({ networks: [r] })
    assert.deepEqual(first.networks, { added: 1, changed: 0, unchanged: 0 })
    assert.equal(first.accepted.networks.length, 1)
    const digest = store.digest()
    const second = await store.commit({ networks: [{ ...r }] })
    assert.deepEqual(second.networks, { added: 0, changed: 0, unchanged: 1 })
    assert.equal(second.accepted.networks.length, 0)
    assert.equal(store.counts().networks, 1)
    assert.equal(store.digest(), digest)
    assert.equal(store.addressesCovered(), 256)
  })
})

test('field order and extra fields of an incoming record do not change what is stored', async () => {
  await withStore(async (store) => {
    const r = net('1.2.3.0', '1.2.3.255')
    await store.commit({ networks: [r] })
    const reordered = Object.fromEntries(Object.entries(r).reverse()) as unknown as NetworkRecord
    const res = await store.commit({ networks: [{ ...reordered, extra: 'ignored' } as NetworkRecord] })
    assert.deepEqual(res.networks, { added: 0, changed: 0, unchanged: 1 })
    assert.deepEqual(await store.mostSpecific(ip('1.2.3.4')), r)
  })
})

test('the pick rule keeps the earliest fetchedAt, then the smaller queryAddress, then the smaller encoding', async () => {
  await withStore(async (store) => {
    const base = net('5.0.0.0', '5.0.0.255')
    await store.commit({ networks: [{ ...base, fetchedAt: 2000, name: 'LATE' }] })
    let res = await store.commit({ networks: [{ ...base, fetchedAt: 1000, name: 'EARLY' }] })
    assert.deepEqual(res.networks, { added: 0, changed: 1, unchanged: 0 })
    res = await store.commit({ networks: [{ ...base, fetchedAt: 3000, name: 'LATER' }] })
    assert.deepEqual(res.networks, { added: 0, changed: 0, unchanged: 1 })
    assert.equal((await store.mostSpecific(ip('5.0.0.1')))?.name, 'EARLY')

    await store.commit({ networks: [{ ...base, fetchedAt: 1000, queryAddress: ip('5.0.0.9'), name: 'Q9' }] })
    assert.equal((await store.mostSpecific(ip('5.0.0.1')))?.name, 'EARLY', 'same fetchedAt, larger queryAddress loses')
    await store.commit({ networks: [{ ...base, fetchedAt: 1000, queryAddress: ip('4.255.255.255'), name: 'B' }] })
    await store.commit({ networks: [{ ...base, fetchedAt: 1000, queryAddress: ip('4.255.255.255'), name: 'A' }] })
    assert.equal((await store.mostSpecific(ip('5.0.0.1')))?.name, 'A', 'full tie: smaller encoding ("A" < "B") wins')
  })
})

function conflictingRecords (): { networks: NetworkRecord[], negatives: NegativeRecord[] } {
  const networks: NetworkRecord[] = []
  const negatives: NegativeRecord[] = []
  const random = rng(7)
  for (let i = 0; i < 40; i++) {
    const start = ip('20.0.0.0') + i * 4096
    const end = start + (i % 3 === 0 ? 4095 : 255)
    for (let v = 0; v < 4; v++) {
      networks.push(net(start, end, {
        fetchedAt: 1000 + Math.floor(random() * 3),
        queryAddress: start + Math.floor(random() * 2),
        name: `N${i}-${v}`,
        registry: v % 2 === 0 ? 'ripe' : 'arin',
        source: v % 2 === 0 ? 'rdap' : 'whois'
      }))
    }
    negatives.push(neg(start + 70000, { fetchedAt: 1000 + (i % 2), reason: 'not-found' }))
    negatives.push(neg(start + 70000, { fetchedAt: 1000, reason: i % 2 === 0 ? 'reserved' : 'not-found', registry: 'lacnic' }))
  }
  return { networks, negatives }
}

function shuffle<T> (xs: T[], seed: number): T[] {
  const out = [...xs]
  const random = rng(seed)
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

test('stores that receive the same records in different orders end byte-identical', async () => {
  const { networks, negatives } = conflictingRecords()
  const dumps: string[][] = []
  const digests: string[] = []
  for (const [k, order] of ['one-by-one', 'reversed', 'shuffled-batches', 'single-batch'].entries()) {
    const { dir, cleanup } = await tempDir()
    try {
      const store = await NetworkStore.open({ dataDir: dir })
      if (order === 'one-by-one') {
        for (const r of networks) await store.commit({ networks: [r] })
        for (const r of negatives) await store.commit({ negatives: [r] })
      } else if (order === 'reversed') {
        for (const r of [...negatives].reverse()) await store.commit({ negatives: [r] })
        for (const r of [...networks].reverse()) await store.commit({ networks: [r] })
      } else if (order === 'shuffled-batches') {
        const nets = shuffle(networks, 11 + k)
        const negs = shuffle(negatives, 13 + k)
        for (let i = 0; i < nets.length; i += 7) await store.commit({ networks: nets.slice(i, i + 7), negatives: negs.slice(i / 2, i / 2 + 4) })
      } else {
        await store.commit({ networks: shuffle(networks, 99), negatives: shuffle(negatives, 98) })
      }
      digests.push(store.digest())
      assert.equal(store.counts().networks, 40, order)
      assert.equal(store.counts().negatives, 40, order)
      await store.close()
      dumps.push(await dump(dir))
    } finally {
      await cleanup()
    }
  }
  for (let i = 1; i < dumps.length; i++) {
    assert.deepEqual(dumps[i], dumps[0], `order ${i} differs from order 0`)
    assert.equal(digests[i], digests[0], `digest of order ${i}`)
  }
})

test('the digest ignores fetchedAt, queryAddress and source, so two crawls of the same networks agree', async () => {
  const records = [net('1.0.0.0', '1.0.0.255'), net('2.0.0.0', '2.255.255.255', { registry: 'ripe' }), net('2.1.0.0', '2.1.255.255')]
  const negatives = [neg('3.0.0.1')]
  await withStore(async (a) => {
    await withStore(async (b) => {
      await a.commit({ networks: records, negatives })
      await b.commit({
        networks: records.map((r, i) => ({ ...r, fetchedAt: 5_000_000 + i, queryAddress: r.end, source: 'whois' as const, type: 'OTHER', registered: '' })).reverse(),
        negatives: negatives.map(n => ({ ...n, fetchedAt: 1 }))
      })
      assert.equal(a.digest(), b.digest())
      assert.deepEqual(a.digestBySlashEight(), b.digestBySlashEight())
    })
  })
})

test('the digest changes when a network name changes, only in that /8, and tracks a replacement by the pick rule', async () => {
  const records = [net('1.0.0.0', '1.0.0.255'), net('9.0.0.0', '9.0.0.255')]
  await withStore(async (a) => {
    await withStore(async (b) => {
      await a.commit({ networks: records })
      await b.commit({ networks: [records[0], { ...records[1], name: 'RENAMED', fetchedAt: records[1].fetchedAt + 1 }] })
      assert.notEqual(a.digest(), b.digest())
      const da = a.digestBySlashEight()
      const db = b.digestBySlashEight()
      assert.equal(da.length, 256)
      for (let o = 0; o < 256; o++) {
        if (o === 9) assert.notEqual(da[o], db[o], '/8 9 holds the renamed network')
        else assert.equal(da[o], db[o], `/8 ${o} is untouched`)
      }
      // b now receives the earlier-fetched original: the pick rule swaps it in and the digest follows
      const res = await b.commit({ networks: [records[1]] })
      assert.equal(res.networks.changed, 1)
      assert.equal(b.digest(), a.digest())
      assert.deepEqual(b.digestBySlashEight(), a.digestBySlashEight())
      assert.deepEqual(b.fingerprintRange(ip('9.0.0.0'), ip('9.255.255.255')), a.fingerprintRange(ip('9.0.0.0'), ip('9.255.255.255')), 'and so does the range fingerprint')
    })
  })
})

test('a replacement that changes the registry moves the network between registry statistics', async () => {
  await withStore(async (store) => {
    await store.commit({ networks: [net('7.0.0.0', '7.0.0.255', { registry: 'ripe', fetchedAt: 20 })] })
    assert.equal(store.registryStats().ripe.networks, 1)
    await store.commit({ networks: [net('7.0.0.0', '7.0.0.255', { registry: 'arin', fetchedAt: 10 })] })
    const stats = store.registryStats()
    assert.deepEqual(stats.ripe, { networks: 0, addressesCovered: 0 })
    assert.deepEqual(stats.arin, { networks: 1, addressesCovered: 256 })
    assert.equal(store.mostSpecificRange(ip('7.0.0.1'))?.registry, 'arin')
  })
})

test('coverage queries handle nested, overlapping and adjacent networks and the edge addresses 0 and 255.255.255.255', async () => {
  await withStore(async (store) => {
    await store.commit({
      networks: [
        net('0.0.0.0', '0.0.0.255'),
        net('255.255.255.0', '255.255.255.255'),
        net('10.0.0.0', '10.255.255.255', { registry: 'arin' }),
        net('10.1.0.0', '10.1.255.255'),
        net('10.1.2.0', '10.1.2.255'),
        net('20.0.0.0', '20.0.0.255'),
        net('20.0.1.0', '20.0.1.255'),
        net('30.0.0.0', '30.0.0.200'),
        net('30.0.0.100', '30.0.1.50')
      ],
      negatives: [neg('40.0.0.1'), neg('10.1.2.3', { reason: 'reserved' }), neg('255.255.255.255')]
    })
    const covered: Array<[string, boolean]> = [
      ['0.0.0.0', true], ['0.0.0.255', true], ['0.0.1.0', false],
      ['255.255.254.255', false], ['255.255.255.0', true], ['255.255.255.255', true],
      ['9.255.255.255', false], ['10.0.0.0', true], ['10.255.255.255', true], ['11.0.0.0', false],
      ['20.0.0.255', true], ['20.0.1.0', true], ['20.0.2.0', false],
      ['30.0.0.150', true], ['30.0.1.50', true], ['30.0.1.51', false], ['40.0.0.1', false]
    ]
    for (const [a, want] of covered) assert.equal(store.isCovered(ip(a)), want, `isCovered(${a})`)
    assert.equal(store.isResolved(ip('40.0.0.1')), true, 'a negative resolves an uncovered address')
    assert.equal(store.isResolved(ip('40.0.0.2')), false)
    assert.equal(store.isResolved(ip('10.1.2.3')), true)
    assert.equal(store.counts().negatives, 3, 'a negative inside a network is still stored')
    assert.equal(store.addressesCovered(), 256 + 256 + 2 ** 24 + 512 + (ip('30.0.1.50') - ip('30.0.0.0') + 1))

    const name = (a: string): string | undefined => { const r = store.mostSpecificRange(ip(a)); return r === undefined ? undefined : `${r.start}-${r.end}` }
    assert.equal(name('10.1.2.3'), `${ip('10.1.2.0')}-${ip('10.1.2.255')}`)
    assert.equal(name('10.1.3.3'), `${ip('10.1.0.0')}-${ip('10.1.255.255')}`)
    assert.equal(name('10.2.0.0'), `${ip('10.0.0.0')}-${ip('10.255.255.255')}`)
    assert.equal(name('11.0.0.0'), undefined)
    assert.equal(name('0.0.0.0'), `0-${ip('0.0.0.255')}`)
    assert.equal(name('255.255.255.255'), `${ip('255.255.255.0')}-${0xffffffff}`)
    assert.deepEqual((await store.containing(ip('10.1.2.3'))).map(r => r.start), [ip('10.1.2.0'), ip('10.1.0.0'), ip('10.0.0.0')])
    assert.deepEqual(store.containingRanges(ip('30.0.0.150')).map(r => r.start), [ip('30.0.0.0'), ip('30.0.0.100')], 'same-size overlap: lower start first')
    assert.equal((await store.mostSpecific(ip('10.1.2.3')))?.name, net('10.1.2.0', '10.1.2.255').name)
    assert.equal(await store.mostSpecific(ip('11.0.0.0')), undefined)
    assert.deepEqual(store.registryStats().arin, { networks: 1, addressesCovered: 2 ** 24 })
  })
})

test('in-memory answers match a brute-force check on random nested networks inserted in random order', async () => {
  const random = rng(42)
  const records: NetworkRecord[] = []
  const seen = new Set<string>()
  while (records.length < 600) {
    const len = [8, 12, 14, 16, 20, 22, 24, 26, 28, 30, 32][Math.floor(random() * 11)]
    const size = 2 ** (32 - len)
    const start = Math.floor(Math.floor(random() * 0x10000) * 0x10000 * 0.05 / size) * size // cluster into 0.0.0.0–12.x
    const k = `${start}-${start + size - 1}`
    if (seen.has(k)) continue
    seen.add(k)
    records.push(net(start, start + size - 1, { registry: (['arin', 'ripe', 'apnic'] as const)[records.length % 3] }))
  }
  records.push(net(ip('12.0.0.7'), ip('12.3.0.6')), net(ip('12.2.255.250'), ip('12.2.255.255'))) // unaligned, straddling /16s
  await withStore(async (store) => {
    for (const r of records) await store.commit({ networks: [r] })
    const probes: number[] = [0, 0xffffffff]
    for (const r of records) probes.push(r.start, r.end, r.start - 1, r.end + 1, r.start + Math.floor((r.end - r.start) / 2))
    for (let i = 0; i < 2000; i++) probes.push(Math.floor(random() * ip('13.0.0.0')))
    for (const a of probes.filter(a => a >= 0 && a <= 0xffffffff)) {
      const holders = records.filter(r => r.start <= a && a <= r.end)
        .sort((x, y) => (x.end - x.start) - (y.end - y.start) || x.start - y.start)
      assert.equal(store.isCovered(a), holders.length > 0, `isCovered(${a})`)
      assert.deepEqual(store.containingRanges(a).map(r => [r.start, r.end]), holders.map(r => [r.start, r.end]), `containing(${a})`)
    }
    // union size and per-registry union size
    const union = (rs: NetworkRecord[]): number => {
      let total = 0
      let reach = -1
      for (const r of [...rs].sort((x, y) => x.start - y.start)) {
        if (r.start > reach) { total += r.end - r.start + 1; reach = r.end } else if (r.end > reach) { total += r.end - reach; reach = r.end }
      }
      return total
    }
    assert.equal(store.addressesCovered(), union(records))
    const stats = store.registryStats()
    for (const reg of ['arin', 'ripe', 'apnic'] as const) {
      const mine = records.filter(r => r.registry === reg)
      assert.deepEqual(stats[reg], { networks: mine.length, addressesCovered: union(mine) }, reg)
    }
  })
})

test('a range fingerprint equals the whole-space fingerprint of a store holding only that range\'s records', async () => {
  const records = [
    net('1.0.0.0', '1.0.0.255'), net('1.0.1.0', '1.0.1.255'), net('1.2.0.0', '1.3.255.255'),
    net('4.0.0.0', '4.255.255.255'), net('4.4.4.0', '4.4.4.127'), net('200.1.0.0', '200.1.0.255')
  ]
  const negatives = [neg('1.0.0.77'), neg('6.6.6.6')]
  await withStore(async (all) => {
    await all.commit({ networks: records, negatives })
    assert.equal(all.fingerprintRange(0, 0xffffffff).count, 8)
    // whole /8s (summed per /8), a range cutting /16 buckets at both ends, and one inside a /16
    const ranges: Array<[number, number]> = [0, 1, 4, 6, 200, 255].map(o => [o * 2 ** 24, (o + 1) * 2 ** 24 - 1])
    ranges.push([ip('1.0.0.50'), ip('4.4.4.0')], [ip('4.4.0.0'), ip('4.4.255.255')], [ip('1.0.0.0'), ip('1.0.0.77')])
    for (const [from, to] of ranges) {
      const inside = records.filter(r => r.start >= from && r.start <= to)
      const insideNeg = negatives.filter(n => n.address >= from && n.address <= to)
      await withStore(async (part) => {
        await part.commit({ networks: inside, negatives: insideNeg })
        assert.deepEqual(all.fingerprintRange(from, to), part.fingerprintRange(0, 0xffffffff), `range ${from}-${to}`)
        assert.equal(part.fingerprintRange(0, 0xffffffff).count, inside.length + insideNeg.length, `range ${from}-${to}`)
      })
    }
    assert.equal(all.fingerprintRange(ip('100.0.0.0'), ip('100.0.0.0')).count, 0)
  })
})

test('iterators return records in key order with registry, since and start filters; failures can be cleared', async () => {
  await withStore(async (store) => {
    await store.commit({
      networks: [net('9.0.0.0', '9.0.0.255', { fetchedAt: 50 }), net('1.0.0.0', '1.0.255.255', { registry: 'apnic', fetchedAt: 10 }), net('1.0.0.0', '1.0.0.255', { fetchedAt: 30 })],
      negatives: [neg('8.8.8.8'), neg('0.0.0.1')],
      failures: [{ address: ip('7.7.7.7'), registry: 'arin', reason: 'TransientLookupError: timeout', attempts: 5, at: 99 }, { address: ip('3.3.3.3'), registry: 'ripe', reason: 'x', attempts: 1, at: 1 }],
      meta: { 'crawl.counters': { lookups: 3 } }
    })
    const all = await collect(store.networks())
    assert.deepEqual(all.map(r => [r.start, r.end]), [[ip('1.0.0.0'), ip('1.0.0.255')], [ip('1.0.0.0'), ip('1.0.255.255')], [ip('9.0.0.0'), ip('9.0.0.255')]])
    assert.deepEqual((await collect(store.networks({ registry: 'apnic' }))).map(r => r.end), [ip('1.0.255.255')])
    assert.deepEqual((await collect(store.networks({ since: 30 }))).map(r => r.fetchedAt), [30, 50])
    assert.deepEqual((await collect(store.networks({ from: ip('2.0.0.0') }))).map(r => r.start), [ip('9.0.0.0')])
    assert.deepEqual((await collect(store.negatives())).map(n => n.address), [1, ip('8.8.8.8')])
    assert.deepEqual((await collect(store.failures())).map(f => f.address), [ip('3.3.3.3'), ip('7.7.7.7')])
    assert.deepEqual(await store.getMeta('crawl.counters'), { lookups: 3 })
    assert.equal(await store.getMeta('nope'), undefined)

    const res = await store.commit({ clearFailures: [ip('7.7.7.7'), ip('4.4.4.4')], meta: { 'crawl.counters': undefined } })
    assert.deepEqual(res.failures, { written: 0, cleared: 1 })
    assert.deepEqual((await collect(store.failures())).map(f => f.address), [ip('3.3.3.3')])
    assert.equal(store.counts().failures, 1)
    assert.equal(store.hasFailure(ip('7.7.7.7')), false)
    assert.equal(await store.getMeta('crawl.counters'), undefined)
  })
})

test('reopening a closed store restores records, indexes, digests, failures and meta', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    let store = await NetworkStore.open({ dataDir: dir })
    await store.commit({
      networks: [net('1.0.0.0', '1.0.0.255'), net('10.0.0.0', '10.255.255.255', { registry: 'arin' }), net('10.9.0.0', '10.9.0.255')],
      negatives: [neg('50.0.0.1')],
      failures: [{ address: ip('60.0.0.1'), registry: 'afrinic', reason: 'timeout', attempts: 3, at: 5 }],
      meta: { counters: { lookups: 12, requests: 40 } }
    })
    const before = {
      counts: store.counts(), digest: store.digest(), by8: store.digestBySlashEight(), covered: store.addressesCovered(),
      stats: store.registryStats(), records: await collect(store.networks()), negatives: await collect(store.negatives()),
      failures: await collect(store.failures())
    }
    await store.close()
    await assert.rejects(store.commit({ networks: [net('2.0.0.0', '2.0.0.255')] }), StoreClosedError)
    store = await NetworkStore.open({ dataDir: dir })
    try {
      assert.deepEqual({
        counts: store.counts(), digest: store.digest(), by8: store.digestBySlashEight(), covered: store.addressesCovered(),
        stats: store.registryStats(), records: await collect(store.networks()), negatives: await collect(store.negatives()),
        failures: await collect(store.failures())
      }, before)
      assert.equal(store.isResolved(ip('50.0.0.1')), true)
      assert.equal(store.mostSpecificRange(ip('10.9.0.3'))?.start, ip('10.9.0.0'))
      assert.deepEqual(await store.getMeta('counters'), { lookups: 12, requests: 40 })
    } finally {
      await store.close()
    }
  } finally {
    await cleanup()
  }
})

test('an invalid record rejects the whole commit with the bad field named and writes nothing', async () => {
  await withStore(async (store) => {
    const good = net('1.0.0.0', '1.0.0.255')
    const cases: Array<[unknown, string]> = [
      [{ networks: [good, { ...good, start: 2, end: 1 }] }, 'networks[1].end'],
      [{ networks: [{ ...good, registry: 'iana' }] }, 'networks[0].registry'],
      [{ networks: [{ ...good, end: 2 ** 32 }] }, 'networks[0].end'],
      [{ networks: [{ ...good, name: undefined }] }, 'networks[0].name'],
      [{ negatives: [{ ...neg('1.1.1.1'), reason: 'gone' }] }, 'negatives[0].reason'],
      [{ clearFailures: [-1] }, 'clearFailures[0]'],
      [{ meta: { 'store.schemaVersion': 2 } }, 'meta.store.schemaVersion']
    ]
    for (const [input, field] of cases) {
      await assert.rejects(store.commit(input as never), (err: unknown) => err instanceof InvalidRecordError && err.field === field, field)
    }
    assert.deepEqual(store.counts(), { networks: 0, negatives: 0, failures: 0 })
  })
})

test('a failure record is dropped by the commit that resolves its address through another one (network or negative)', async () => {
  const { dir, cleanup } = await tempDir()
  const store = await NetworkStore.open({ dataDir: dir })
  try {
    const a = ip('62.40.1.1')
    const b = ip('62.41.0.1')
    const other = ip('8.8.8.8')
    await store.commit({ failures: [a, b, other].map(address => ({ address, registry: 'ripe' as const, reason: 'TransientLookupError: timeout', attempts: 4, at: 1 })) })
    assert.equal(store.counts().failures, 3)
    // a network found through another address of it (say by a peer, gossiped) covers a
    const res = await store.commit({ networks: [net('62.40.0.0', '62.40.255.255', { queryAddress: ip('62.40.9.1') })] })
    assert.equal(res.failures.cleared, 1)
    assert.equal(store.hasFailure(a), false)
    // a negative for b resolves b
    await store.commit({ negatives: [neg(b, { registry: 'ripe' })] })
    assert.equal(store.hasFailure(b), false)
    assert.equal(store.hasFailure(other), true, 'an address nothing resolved keeps its failure')
  } finally {
    await store.close()
  }
  const again = await NetworkStore.open({ dataDir: dir })
  try {
    assert.equal(again.counts().failures, 1, 'the drop is stored, not only in memory')
  } finally {
    await again.close()
    await cleanup()
  }
})
