/**
 * The WHOIS service's bulk answers from memory (store/answer-memo.ts, store/memo-reads.ts) say
 * what a single `lookup` says of every address: crawled networks nested and overlapping, an
 * imported dump's rows smaller, equal to and the same as crawled ones, 'answered' notes, the holes
 * a distrust leaves, a record replaced after its cells were made; and the warm-up makes every
 * network's cells even when a distrust rebuilds the index under it. On real stores in temp dirs.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { NetworkStore } from '../../src/store/index.js'
import { AnswerMemo } from '../../src/store/answer-memo.js'
import { lookupReport } from '../../src/report/lookup.js'
import { storeAnswerSource } from '../../src/serve/index.js'
import { startWhoisService } from '../../src/serve/whois/server.js'
import { connect } from 'node:net'
import { once } from 'node:events'
import { bulkCellsOf, bulkLine, firstBulkLine, type BulkCells } from '../../src/serve/whois/format.js'
import { importDump, localDumpFile } from '../../src/bulk/import.js'
import { formatIPv4 } from '../../src/util/ipv4.js'
import { ip, neg, net, tempDir, withStore } from '../store/helpers/records.js'

const LIAR = '12D3KooWLiarPeer22222222222222222222222222222222222'
const inetnum = (s: string, e: string, name: string, status = 'ASSIGNED PA'): string => `inetnum: ${s} - ${e}\nnetname: ${name}\ncountry: NL\nstatus: ${status}\nsource: RIPE\n`

/** the addresses whose bulk line (terse and verbose) differs from bulkLine(lookupReport(…)) */
async function differences (store: NetworkStore, memo: AnswerMemo<BulkCells>, addresses: number[]): Promise<string[]> {
  const answers = await storeAnswerSource(store).firstMany(addresses, memo)
  const bad: string[] = []
  for (const [i, a] of addresses.entries()) {
    for (const verbose of [false, true]) {
      const got = firstBulkLine(a, answers[i], verbose)
      const want = bulkLine(await lookupReport(store, a), verbose)
      if (got !== want) bad.push(`${formatIPv4(a)}${verbose ? ' (verbose)' : ''}: ${got.trim()} ≠ ${want.trim()}`)
    }
  }
  return bad
}

describe('bulk answers from memory', () => {
  it('say what lookup says: nested, overlapping and imported networks, notes, holes, a replaced record', async () => {
    const { dir, cleanup } = await tempDir()
    const data = join(dir, 'data')
    await mkdir(join(dir, 'dump'))
    const file = join(dir, 'dump', 'ripe.db.inetnum')
    await writeFile(file, [
      inetnum('193.0.0.0', '193.0.255.255', 'RIPE-ALLOC', 'ALLOCATED PA'),
      inetnum('193.0.0.0', '193.0.0.255', 'SAME-AS-CRAWLED'),
      inetnum('193.0.1.0', '193.0.1.127', 'SMALLER-THAN-CRAWLED'),
      inetnum('193.0.2.0', '193.0.2.255', 'EQUAL-SIZE-OVERLAPPING'),
      ''].join('\n'))
    await importDump(data, 'ripe', [await localDumpFile(file)], { serial: 1 })
    const store = await NetworkStore.open({ dataDir: data })
    try {
      await store.commit({
        networks: [
          net('193.0.0.0', '193.0.0.255', { name: 'CRAWLED-SAME' }),
          net('193.0.1.0', '193.0.1.255', { name: 'CRAWLED-BIGGER' }),
          net('193.0.2.128', '193.0.3.127', { name: 'CRAWLED-EQUAL-SIZE' }),
          net('10.0.0.0', '10.0.0.99', { name: 'OVERLAP-A', type: 'ALLOCATED PA', queryAddress: ip('10.0.0.5') }),
          net('10.0.0.50', '10.0.0.149', { name: 'OVERLAP-B', type: 'ALLOCATED PA' }),
          net('62.0.0.0', '62.0.255.255', { name: 'PARENT', type: 'ALLOCATED PA', queryAddress: ip('62.0.9.9') }),
          net('62.0.1.0', '62.0.1.255', { name: 'LIAR-CHILD', author: LIAR, queryAddress: ip('62.0.1.7') })
        ],
        negatives: [neg('62.0.5.5', { registry: 'ripe', reason: 'answered' }), neg('62.0.1.9', { registry: 'ripe', reason: 'answered' })]
      })
      const addresses = ['193.0.0.1', '193.0.1.5', '193.0.1.200', '193.0.2.200', '193.0.3.5', '193.0.9.9', '10.0.0.5', '10.0.0.60', '10.0.0.120',
        '62.0.1.7', '62.0.1.9', '62.0.5.5', '62.0.9.9', '62.0.7.7', '8.8.8.8', '127.0.0.1'].map(ip)
      const memo = new AnswerMemo(bulkCellsOf)
      assert.deepEqual(await store.warmAnswers(memo), { made: 7, complete: true })
      assert.deepEqual(await differences(store, memo, addresses), [])
      // the liar's network goes, a hole stays where it was
      await store.distrust([LIAR])
      assert.deepEqual(await differences(store, memo, addresses), [])
      // an earlier observation replaces a record whose cells were made (store/pick.ts)
      await store.commit({ networks: [net('10.0.0.0', '10.0.0.99', { name: 'OVERLAP-A-EARLIER', type: 'ALLOCATED PA', fetchedAt: 1_600_000_000_000 })] })
      const bad = await differences(store, memo, addresses)
      assert.deepEqual(bad, [])
      assert.match((await storeAnswerSource(store).firstMany([ip('10.0.0.5')], memo))[0].network!.value.text, /OVERLAP-A-EARLIER/)
    } finally {
      await store.close()
      await cleanup()
    }
  })

  it('makes every network\'s cells when a distrust rebuilds the index during the warm-up', async () => {
    await withStore(async store => {
      const networks = Array.from({ length: 20_000 }, (_, i) => {
        const s = ((20 << 24) >>> 0) + i * 256
        return net(s, s + 255, i === 0 ? { author: LIAR } : {})
      })
      await store.commit({ networks })
      const memo = new AnswerMemo(bulkCellsOf)
      // the scan's first batch, then it waits until the distrust has rebuilt the index
      const db = (store as any).db
      const scanBatches = db.scanBatches.bind(db)
      let distrusted!: () => void
      const rebuilt = new Promise<void>(resolve => { distrusted = resolve })
      db.scanBatches = async function * (...args: unknown[]) {
        // this scan only: the distrust scans the store too
        db.scanBatches = scanBatches
        let first = true
        for await (const batch of scanBatches(...args)) {
          yield batch
          if (first) { first = false; await rebuilt }
        }
      }
      const warming = store.warmAnswers(memo)
      await store.distrust([LIAR])
      distrusted()
      const done = await warming
      assert.equal(done.complete, true)
      assert.equal(memo.size, networks.length - 1)
      // every one answered from memory: no read
      const getMany = db.getMany.bind(db)
      let reads = 0
      db.getMany = async (keys: Buffer[]) => { reads += keys.length; return await getMany(keys) }
      try {
        const addresses = networks.slice(1).map(n => n.start + 1)
        const answers = await storeAnswerSource(store).firstMany(addresses, memo)
        assert.equal(reads, 0)
        assert.ok(answers.every(a => a.status === 'network' && a.network !== undefined))
      } finally {
        db.getMany = getMany
      }
    })
  })

  it('a service warms again after a distrust emptied its cells, and then reads no record', async () => {
    await withStore(async store => {
      const s = await startWhoisService({ port: 0 }, { source: storeAnswerSource(store) })
      const db = (store as any).db
      const getMany = db.getMany.bind(db)
      let reads = 0
      db.getMany = async (keys: Buffer[]) => { reads += keys.length; return await getMany(keys) }
      const bulk = async (addresses: number[]): Promise<string[]> => {
        const socket = connect(s.port, '127.0.0.1')
        socket.setEncoding('utf8')
        let got = ''
        socket.on('data', (d: string) => { got += d })
        await once(socket, 'connect')
        socket.end(`begin\n${addresses.map(formatIPv4).join('\n')}\nend\n`)
        await once(socket, 'close')
        return got.split('\r\n').filter(l => l !== '').slice(2)
      }
      try {
        const networks = Array.from({ length: 2_000 }, (_, i) => {
          const start = ((30 << 24) >>> 0) + i * 256
          return net(start, start + 255, i === 0 ? { author: LIAR } : {})
        })
        await store.commit({ networks })
        const addresses = networks.slice(1).map(n => n.start + 1)
        assert.deepEqual(await s.warm(), { made: networks.length, complete: true })
        reads = 0
        assert.equal((await bulk(addresses)).length, addresses.length)
        assert.equal(reads, 0)
        await store.distrust([LIAR])
        // the first bulk connection after it finds the memo of the old index: made as needed
        assert.equal((await bulk(addresses.slice(0, 10))).length, 10)
        assert.ok(reads > 0)
        // the next one warms the memo again
        assert.equal((await bulk(addresses.slice(0, 10))).length, 10)
        assert.deepEqual(await s.warm(), { made: networks.length - 1, complete: true })
        reads = 0
        assert.ok((await bulk(addresses)).every(l => / \| (exact|coarse) \| /.test(l)))
        assert.equal(reads, 0)
      } finally {
        db.getMany = getMany
        await s.close()
      }
    })
  })
})
