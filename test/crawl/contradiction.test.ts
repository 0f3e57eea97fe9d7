/**
 * A registry answer that loses the pick rule to a peer's copy saying otherwise (crawl/contradiction.ts):
 * the crawl reports the contradiction with the copy's author, gives the address up with it as the
 * reason, and ends — on the owner and on the nodes waiting for it; a listing marks the registry's
 * answer rather than such a copy; what counts as saying otherwise. Real LevelDB in a temp dir, the
 * nested simulator on loopback, its ground truth to pick the addresses.
 */
import { test, type TestContext } from 'node:test'
import { once } from 'node:events'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CanonicalFailure, NetworkRecord } from '../../src/record/index.js'
import { NetworkStore } from '../../src/store/index.js'
import { sampleSlice } from '../../src/sample/index.js'
import { startSimulator } from '../../src/sim/index.js'
import { registryForAddress } from '../../src/registry/iana.js'
import { parseIPv4 } from '../../src/util/ipv4.js'
import { contradicts, type Contradiction } from '../../src/crawl/contradiction.js'
import { inProcessTruth } from '../helpers/exact.js'
import { limitersAt, simCrawler, type LogLine } from '../helpers/sim-crawler.js'
import { neg, net } from '../store/helpers/records.js'

const PEER = '12D3KooWPeerWhoseCopyLosesNothing123456789abcdefgh'
const OWNER = '12D3KooWTheAskingNodeXYZ987654321abcdefghijkmnpqrs'

interface Truth { start: string, end: string, handle: string, leaf: boolean, registry: string }

/** The simulator and an open store in a temp dir, closed after the test; `truth` is the simulator's ground truth. */
async function setting (t: TestContext): Promise<{ store: NetworkStore, truth: (a: number) => Truth | undefined, crawl: (sample: number[], o?: Partial<Parameters<typeof simCrawler>[3]>) => Promise<{ crawler: ReturnType<typeof simCrawler>['crawler'], logs: LogLine[] }> }> {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-contradiction-'))
  const sim = await startSimulator({ budgetPerSecond: 'all=2000' })
  const store = await NetworkStore.open({ dataDir: join(dir, 'store') })
  const clients: Array<{ close: () => Promise<void> }> = []
  t.after(async () => {
    for (const c of clients) await c.close()
    await store.close()
    await sim.close()
    await rm(dir, { recursive: true, force: true })
  })
  const truth = inProcessTruth(sim.nested!) as (a: number) => Truth | undefined
  return {
    store,
    truth,
    crawl: async (sample, o = {}) => {
      const { crawler, client, logs } = simCrawler(sim.endpoints, store, sample, { limiters: limitersAt(1000), timeoutMs: 5000, ...o })
      clients.push(client)
      return { crawler, logs }
    }
  }
}

/** A copy of the network the registry answers `a` with, fetched "earlier" by PEER, `over` replacing fields. */
function copyOf (truth: (a: number) => Truth | undefined, a: number, over: Partial<NetworkRecord>): NetworkRecord {
  const tr = truth(a)!
  return net(parseIPv4(tr.start), parseIPv4(tr.end), { handle: tr.handle, fetchedAt: 1_600_000_000_000, queryAddress: a, author: PEER, ...over })
}

/** the first of the first 2,000 sample addresses RIPE answers with a leaf */
const ripeLeafAddress = (truth: (a: number) => Truth | undefined): number => sampleSlice(2000).find(a => truth(a)?.leaf === true && truth(a)?.registry === 'ripe')!

async function failuresOf (store: NetworkStore): Promise<CanonicalFailure[]> {
  const out: CanonicalFailure[] = []
  for await (const f of store.failures()) out.push(f)
  return out
}

test('a copy differs from an answer in what the registry says, not in how it was fetched', () => {
  const answer = net('193.0.0.0', '193.0.255.255', { type: 'ALLOCATED PA' })
  const fetchedOtherwise: NetworkRecord = { ...answer, fetchedAt: 1, queryAddress: 7, source: 'whois', listedSample: 100, author: PEER, lastChanged: '' }
  assert.equal(contradicts(answer, fetchedOtherwise), false)
  // the type word as WHOIS writes it
  assert.equal(contradicts(answer, { ...answer, type: 'Allocated  pa' }), false)
  for (const field of ['handle', 'name', 'org', 'country', 'type'] as const) assert.equal(contradicts(answer, { ...answer, [field]: 'OTHER' }), true, field)
  assert.equal(contradicts(answer, { ...answer, registry: 'arin' }), true)
})

test('a peer\'s copy that says otherwise than the registry is reported with its author and its address given up on', async (t) => {
  const { store, truth, crawl } = await setting(t)
  const lied = ripeLeafAddress(truth)
  // the peer's copy of that leaf: a container, with another name
  await store.commit({ networks: [copyOf(truth, lied, { name: 'LIAR', type: 'ALLOCATED PA' })] })
  assert.equal(store.isExact(lied), false)
  const { crawler, logs } = await crawl([lied])
  const seen: Contradiction[] = []
  crawler.on('contradicted', c => seen.push(c))
  const status = await crawler.run()
  assert.deepEqual([status.done, status.sampleResolved, status.sampleFailed], [true, 0, 1], 'ended, the address given up on')
  assert.equal(seen.length, 1)
  assert.deepEqual([seen[0].address, seen[0].author, seen[0].stored.name, seen[0].stored.type], [lied, PEER, 'LIAR', 'ALLOCATED PA'])
  assert.notEqual(seen[0].answered.name, 'LIAR')
  const failures = await failuresOf(store)
  assert.equal(failures.length, 1)
  assert.match(failures[0].reason, new RegExp(`^contradicted: .*by ${PEER}`))
  assert.ok(logs.some(l => l.level === 'warn' && String(l.msg).includes('contradicts') && l.author === PEER), 'a warning names the author')
  // the peer's copy stands (the pick rule is the same on every replica): the operator's call
  assert.equal((await store.network(seen[0].stored.start, seen[0].stored.end))?.name, 'LIAR')
})

test('a node that does not own an address gives it up when its owner\'s answer loses to a copy saying otherwise, and its run ends', async (t) => {
  const { store, truth, crawl } = await setting(t)
  const address = ripeLeafAddress(truth)
  const real = copyOf(truth, address, { type: 'ASSIGNED PA', fetchedAt: 1_700_000_000_000, author: OWNER })
  await store.commit({ networks: [{ ...real, name: 'LIAR', type: 'ALLOCATED PA', fetchedAt: 1_600_000_000_000, author: PEER }] })
  const { crawler, logs } = await crawl([address], { ownership: { isMine: () => false } })
  const started = once(crawler, 'started')
  const run = crawler.run()
  await started
  // the owner's answer arrives (gossip) and loses to the copy
  const r = await store.commit({ networks: [real] })
  assert.equal(r.contested.length, 1)
  const status = await run
  assert.deepEqual([status.done, status.sampleResolved, status.sampleFailed], [true, 0, 1], 'ended, the address given up on')
  const failures = await failuresOf(store)
  assert.equal(failures.length, 1)
  assert.match(failures[0].reason, new RegExp(`^contested: .*by ${PEER}.*contradicted by ${OWNER}`))
  assert.ok(logs.some(l => l.level === 'warn' && l.kept === PEER && l.lost === OWNER), 'a warning names both authors')
  // the dispute ends when a record replaces the copy (here a listed copy of the owner's answer,
  // which wins the pick rule): the address is answered, not given up on any more
  await store.commit({ networks: [{ ...real, listedSample: 1000, listedAt: real.fetchedAt }] })
  assert.deepEqual([crawler.status().sampleResolved, crawler.status().sampleFailed], [1, 0])
  assert.deepEqual(await failuresOf(store), [], 'the failure is cleared')
  await store.distrust([PEER])
  crawler.reopenGivenUp()
  assert.equal(crawler.reopenedSinceRun, 0, 'nothing left to ask')
})

test('a node waiting for an owner stops waiting when a copy saying otherwise replaces the owner\'s answer (the dispute seen the other way round)', async (t) => {
  const { store, truth, crawl } = await setting(t)
  const address = ripeLeafAddress(truth)
  const real = copyOf(truth, address, { type: 'ASSIGNED PA', fetchedAt: 1_700_000_000_000, author: OWNER })
  const { crawler } = await crawl([address], { ownership: { isMine: () => false } })
  const started = once(crawler, 'started')
  const run = crawler.run()
  await started
  // the owner's answer arrives first and answers the address; then the liar's earlier copy replaces it
  await store.commit({ networks: [real] })
  const r = await store.commit({ networks: [{ ...real, name: 'LIAR', type: 'ALLOCATED PA', fetchedAt: 1_600_000_000_000, author: PEER }] })
  assert.deepEqual(r.contested.map(c => [c.record.author, c.keptAuthor, c.replaced]), [[OWNER, PEER, true]])
  const status = await Promise.race([run, new Promise<undefined>(resolve => setTimeout(() => resolve(undefined), 10_000).unref())])
  assert.ok(status !== undefined, 'the run still waits for the owner')
  assert.deepEqual([status.done, status.sampleResolved, status.sampleFailed], [true, 0, 1])
})

test('distrusting the author of a copy that contradicted the registry asks the address given up on again', async (t) => {
  const { store, truth, crawl } = await setting(t)
  const lied = ripeLeafAddress(truth)
  await store.commit({ networks: [copyOf(truth, lied, { name: 'LIAR', type: 'ALLOCATED PA' })] })
  const { crawler } = await crawl([lied])
  assert.equal((await crawler.run()).sampleFailed, 1)
  await store.distrust([PEER])
  crawler.reopenGivenUp()
  assert.equal(crawler.reopenedSinceRun, 1)
  const again = await crawler.run()
  assert.deepEqual([again.done, again.sampleResolved, again.sampleFailed], [true, 1, 0], 'the registry\'s answer stands now')
  assert.deepEqual(await failuresOf(store), [], 'the failure is cleared')
})

/** sample addresses of `slice` that RIPE answers with one container, at least `n` of them */
function inOneContainer (truth: (a: number) => Truth | undefined, slice: Uint32Array, n: number): number[] {
  const byContainer = new Map<string, number[]>()
  for (const a of slice) {
    const c = truth(a)
    if (c?.leaf !== false || c.registry !== 'ripe') continue
    byContainer.set(c.start, [...(byContainer.get(c.start) ?? []), a])
  }
  return [...byContainer.values()].find(list => list.length >= n)!
}

test('a dispute about a container gives up none of the other addresses inside it: they are asked and answered', async (t) => {
  const { store, truth, crawl } = await setting(t)
  const inside = inOneContainer(truth, sampleSlice(20_000), 2)
  await store.commit({ networks: [copyOf(truth, inside[0], { name: 'LIAR', type: 'ALLOCATED PA' })] })
  const { crawler, logs } = await crawl(inside)
  const status = await crawler.run()
  assert.deepEqual([status.done, status.sampleResolved, status.sampleFailed], [true, inside.length, 0], 'each address answered (the container\'s own ones by a note)')
  assert.ok(logs.some(l => String(l.msg).startsWith('the registry contradicts')), 'the contradiction is still said')
})

test('a listing marks the registry\'s answer, not a stored copy that contradicts it: the listed answer replaces the copy', async (t) => {
  const { store, truth, crawl } = await setting(t)
  // sample addresses RIPE answers with one container (listable there), enough of them to list it;
  // the sample is a slice (a complete listing marks its container only then: crawl/listing.ts)
  const slice = sampleSlice(20_000)
  const inside = inOneContainer(truth, slice, 3)
  const copy = copyOf(truth, inside[0], { name: 'LIAR', type: 'ALLOCATED PA' })
  await store.commit({ networks: [copy] })
  // the rest of the slice is answered already (notes), so only the container's addresses are asked
  const asked = new Set(inside)
  await store.commit({ negatives: [...slice].filter(a => !asked.has(a) && registryForAddress(a) != null).map(a => neg(a, { registry: registryForAddress(a)!, fetchedAt: 1_700_000_000_000 })) })
  const { crawler } = await crawl([...slice], { listing: true })
  const status = await crawler.run()
  assert.deepEqual([status.done, status.sampleResolved], [true, slice.length], 'answered exactly')
  const kept = await store.network(copy.start, copy.end)
  assert.notEqual(kept?.name, 'LIAR', 'the listed registry answer replaced the copy')
  assert.ok((kept?.listedSample ?? 0) > 0)
  assert.notEqual(kept?.author, PEER)
})
