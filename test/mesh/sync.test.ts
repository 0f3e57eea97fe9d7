/**
 * Sync between real libp2p nodes on 127.0.0.1 with real LevelDB stores in temp dirs: convergence,
 * O(differences) traffic, rejection of invalid records, and survival of malformed frames.
 */
import '../../src/util/polyfill.js'
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import type { MeshLibp2p } from '../../src/mesh/libp2p.js'
import { checkNegativeRecord, checkNetworkRecord } from '../../src/mesh/validation.js'
import { SyncService, SyncProtocolError, SYNC_PROTOCOL, type SyncReport } from '../../src/mesh/sync/index.js'
import { QuestionCode, SYNC_VERSION, decodeFrame, encodeFrame, networkToTuple } from '../../src/mesh/sync/protocol.js'
import { NetworkStore } from '../../src/store/index.js'
import { encodeValue, type NegativeRecord, type NetworkRecord } from '../../src/record/index.js'
import { createMeshMetrics, Registry } from '../../src/metrics/index.js'
import { neg, net, rng } from '../store/helpers/records.js'
import { addr, closeSyncPeers, onCleanup, startLibp2p, startPeer, waitFor } from './helpers/sync-peers.js'

/** /8s where a synthetic network passes validation (not reserved, not special-purpose) */
const OCTETS = Array.from({ length: 224 }, (_, o) => o).filter(o => checkNetworkRecord(net(o * 2 ** 24 + 65536, o * 2 ** 24 + 65791)).result === 'accept')

/** `count` distinct valid networks (mostly /24s, some /20s and /16s) spread over many /8s */
function syntheticNetworks (count: number, seed: number, fetchedAt = 1_700_000_000_000): NetworkRecord[] {
  const random = rng(seed)
  const seen = new Set<string>()
  const out: NetworkRecord[] = []
  while (out.length < count) {
    const o = OCTETS[Math.floor(random() * OCTETS.length)]
    const size = random() < 0.9 ? 8 : random() < 0.8 ? 12 : 16
    const start = o * 2 ** 24 + Math.floor(random() * 2 ** (24 - size)) * 2 ** size
    const end = start + 2 ** size - 1
    const key = `${start}-${end}`
    if (seen.has(key)) continue
    const r = net(start, end, { registry: 'ripe', fetchedAt: fetchedAt + Math.floor(random() * 1e6), queryAddress: start + 1 })
    if (checkNetworkRecord(r).result !== 'accept') continue
    seen.add(key)
    out.push(r)
  }
  return out
}

function syntheticNegatives (count: number, seed: number): NegativeRecord[] {
  const random = rng(seed)
  const seen = new Set<number>()
  const out: NegativeRecord[] = []
  while (out.length < count) {
    const a = OCTETS[Math.floor(random() * OCTETS.length)] * 2 ** 24 + Math.floor(random() * 2 ** 24)
    if (seen.has(a)) continue
    const r = neg(a, { fetchedAt: 1_700_000_000_000 + Math.floor(random() * 1e6) })
    if (checkNegativeRecord(r).result !== 'accept') continue
    seen.add(a)
    out.push(r)
  }
  return out
}

async function load (store: NetworkStore, networks: NetworkRecord[], negatives: NegativeRecord[] = []): Promise<void> {
  for (let i = 0; i < networks.length; i += 5000) await store.commit({ networks: networks.slice(i, i + 5000) })
  for (let i = 0; i < negatives.length; i += 5000) await store.commit({ negatives: negatives.slice(i, i + 5000) })
}

/** every stored record, encoded, in key order */
async function dump (store: NetworkStore): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const r of store.networks()) parts.push(encodeValue(r))
  parts.push(Buffer.from('--negatives--'))
  for await (const r of store.negatives()) parts.push(encodeValue(r))
  return Buffer.concat(parts)
}

after(closeSyncPeers)

const transferred = (r: SyncReport): number => r.networksReceived + r.negativesReceived + r.networksSent + r.negativesSent

test('two nodes with disjoint, overlapping and conflicting records hold identical indexes after one sync', async () => {
  const metrics = createMeshMetrics(new Registry())
  const [a, b] = await Promise.all([startPeer({}, metrics), startPeer()])
  const pool = syntheticNetworks(5000, 1)
  const negatives = syntheticNegatives(900, 2)
  // a: 0–3499, b: 1500–4999 (2000 shared); negatives 0–599 / 300–899
  const conflictA = net(pool[0].start, pool[0].end, { ...pool[0], name: 'FIRST-SEEN', fetchedAt: 1_650_000_000_000 })
  const conflictB = net(pool[0].start, pool[0].end, { ...pool[0], name: 'RENAMED', fetchedAt: 1_750_000_000_000 })
  await load(a.store, [conflictA, ...pool.slice(1, 3500)], negatives.slice(0, 600))
  await load(b.store, [conflictB, ...pool.slice(1500)], negatives.slice(300))
  assert.notEqual(a.store.digest(), b.store.digest())

  const report = await a.sync.syncWith(addr(b))

  assert.equal(report.converged, true, 'the report says converged')
  assert.equal(a.store.digest(), b.store.digest(), 'digests are equal')
  assert.deepEqual(a.store.counts(), { networks: 5000, negatives: 900, failures: 0 })
  assert.deepEqual(b.store.counts(), { networks: 5000, negatives: 900, failures: 0 })
  assert.ok((await dump(a.store)).equals(await dump(b.store)), 'networks() and negatives() dumps are byte-identical')
  const kept = await b.store.mostSpecific(pool[0].start)
  assert.equal(kept?.name, 'FIRST-SEEN', 'the pick rule keeps the earliest fetch on both sides')
  assert.equal(report.networksReceived, 1500, 'a received b\'s 1500 networks it lacked')
  assert.ok(report.networksSent >= 1500 && report.networksSent <= 1501, `a sent its 1500 networks b lacked (+ the conflict), sent ${report.networksSent}`)
  assert.equal(report.negativesReceived, 300)
  assert.equal(report.negativesSent, 300)
  assert.ok(a.accepted >= 1500 && b.accepted >= 1800, 'onAccepted saw the records each side took')
  assert.equal((await metrics.syncSessionsTotal.get()).values.find(v => v.labels.outcome === 'ok')?.value, 1, 'the session is counted as ok')
  assert.equal((await metrics.syncRecordsReceivedTotal.get()).values[0].value, 1800, 'received records are counted')

  const again = await b.sync.syncWith(addr(a))
  assert.equal(transferred(again), 0, 'a second sync, the other way round, transfers nothing')
  assert.equal(again.converged, true)
})

test('copies of one network or negative that differ only in fetch metadata are exchanged both ways: after one sync both dumps are byte-identical', async () => {
  const [a, b] = await Promise.all([startPeer(), startPeer()])
  const shared = syntheticNetworks(5000, 8)
  const sharedNegatives = syntheticNegatives(500, 9)
  // each side holds the earlier fetch (the pick rule's winner) of some records and the later of others
  const refetch = (r: NetworkRecord, dt: number): NetworkRecord => ({ ...r, fetchedAt: r.fetchedAt + dt, queryAddress: r.end, source: 'whois' })
  const aWins = shared.slice(0, 3).map(r => [r, refetch(r, 60_000)])
  const bWins = shared.slice(3, 6).map(r => [refetch(r, 90_000), r])
  const negA = sharedNegatives[0]
  const negB = { ...negA, fetchedAt: negA.fetchedAt + 5_000 }
  await load(a.store, [...aWins.map(([w]) => w), ...bWins.map(([l]) => l), ...shared.slice(6)], [negB, ...sharedNegatives.slice(1)])
  await load(b.store, [...aWins.map(([, l]) => l), ...bWins.map(([, w]) => w), ...shared.slice(6)], [negA, ...sharedNegatives.slice(1)])
  // b restarts before the sync: its copies come from its headers on disk, not from this process
  await b.sync.stop()
  await b.store.close()
  b.store = await NetworkStore.open({ dataDir: b.store.dataDir })
  b.sync = new SyncService({}, { libp2p: b.libp2p, store: b.store })
  await b.sync.start()
  onCleanup(async () => { await b.sync.stop(); await b.store.close() })
  assert.equal(a.store.digest(), b.store.digest(), 'the identities agree: only fetch metadata differs')
  assert.equal((await dump(a.store)).equals(await dump(b.store)), false, 'the dumps differ before the sync')

  const report = await a.sync.syncWith(addr(b))

  assert.equal(report.converged, true)
  assert.ok((await dump(a.store)).equals(await dump(b.store)), 'networks() and negatives() dumps are byte-identical')
  for (const [winner] of aWins) assert.equal((await b.store.mostSpecific(winner.start))?.fetchedAt, winner.fetchedAt, `b took a's earlier fetch of ${winner.handle}`)
  for (const [, winner] of bWins) assert.equal((await a.store.mostSpecific(winner.start))?.fetchedAt, winner.fetchedAt, `a took b's earlier fetch of ${winner.handle}`)
  assert.equal(report.networksAccepted, 3, 'a replaced its three later fetches')
  assert.equal(report.negativesAccepted, 1, 'a replaced its later negative')
  assert.ok(report.networksSent + report.networksReceived < 200, `only the differing copies travel, not ${report.networksSent + report.networksReceived}`)
  const again = await b.sync.syncWith(addr(a))
  assert.equal(transferred(again), 0, 'a second sync transfers nothing')
})

test('a container\'s listing travels with it: the listed copy replaces the earlier, unlisted one on the other side', async () => {
  const [a, b] = await Promise.all([startPeer(), startPeer()])
  const shared = syntheticNetworks(200, 12)
  const container = { ...shared[0], type: 'ALLOCATED PA' }
  const listed = { ...container, fetchedAt: container.fetchedAt + 60_000, listedSample: 4000, listedAt: container.fetchedAt + 60_000 }
  await load(a.store, [listed, ...shared.slice(1)])
  await load(b.store, [container, ...shared.slice(1)])
  assert.deepEqual([a.store.classCounts().listed, b.store.classCounts().listed], [1, 0])

  const report = await a.sync.syncWith(addr(b))

  assert.equal(report.converged, true)
  assert.equal(report.networksSent, 1, 'the listed copy, and nothing else')
  assert.deepEqual([a.store.classCounts().listed, b.store.classCounts().listed], [1, 1])
  const got = await b.store.mostSpecific(container.start)
  assert.deepEqual([got?.listedSample, got?.listedAt, got?.fetchedAt], [4000, listed.listedAt, listed.fetchedAt])
  assert.ok((await dump(a.store)).equals(await dump(b.store)), 'byte-identical')
})

test('a receiver commits a listed container after the children sent in the same session, so no answer the listing gave is taken back', async () => {
  const [a, b] = await Promise.all([startPeer(), startPeer()])
  const shared = syntheticNetworks(300, 13)
  // a /16 allocation listed, and a sub-allocation inside it that the sync sends after it (address order)
  const base = shared.find(n => n.end - n.start === 255)!.start & 0xffff0000
  const container = net(base >>> 0, (base >>> 0) + 0xffff, { type: 'ALLOCATED PA', queryAddress: (base >>> 0) + 1, listedSample: 4000, listedAt: 1_700_000_100_000 })
  const child = net((base >>> 0) + 0x8000, (base >>> 0) + 0x80ff, { type: 'SUB-ALLOCATED PA', queryAddress: 0 })
  await load(a.store, [container, child, ...shared.filter(n => n.start < container.start || n.end > container.end)])
  const reopened: Array<[number, number]> = []
  b.store.onIndexed(e => reopened.push(...e.reopened))

  const report = await b.sync.syncWith(addr(a))

  assert.equal(report.converged, true)
  assert.deepEqual(reopened, [], 'the child was committed before its listed parent')
  assert.equal((await b.store.network(container.start, container.end))?.listedSample, 4000)
  assert.ok((await b.store.network(child.start, child.end)) !== undefined)
})

test('a receiver commits the listed containers it held back a frame\'s worth at a time, not in one batch', async () => {
  const [a, b] = await Promise.all([startPeer(), startPeer({ maxRecordsPerFrame: 100 })])
  const listed = syntheticNetworks(450, 14).map(n => ({ ...n, type: 'ALLOCATED PA', listedSample: 4000, listedAt: n.fetchedAt }))
  await load(a.store, listed)
  const commits: number[] = []
  b.store.onIndexed(e => commits.push(e.ranges.length))

  const report = await b.sync.syncWith(addr(a))

  assert.equal(report.converged, true)
  assert.equal(b.store.classCounts().listed, 450)
  assert.equal(commits.reduce((s, n) => s + n, 0), 450)
  assert.ok(Math.max(...commits) <= 100, `commits of ${commits.join(', ')} networks`)
})

test('an empty node copies 50k networks from a full one; later syncs cost only the differences', async () => {
  const [full, empty] = await Promise.all([startPeer(), startPeer()])
  const networks = syntheticNetworks(50_000, 3)
  await load(full.store, networks)

  const first = await empty.sync.syncWith(addr(full))
  assert.equal(first.converged, true)
  assert.equal(first.networksReceived, 50_000)
  assert.equal(empty.store.digest(), full.store.digest())
  assert.deepEqual(empty.store.counts(), full.store.counts())

  const second = await empty.sync.syncWith(addr(full))
  assert.equal(transferred(second), 0, 'the second run transfers no record')
  assert.equal(second.rounds, 1, 'one round: the whole-space fingerprints match')
  assert.ok(second.bytesReceived + second.bytesSent < 1024, `the second run exchanges a few bytes, not ${second.bytesReceived + second.bytesSent}`)

  // ten new networks on each side: each side receives exactly the other's ten
  const fresh = syntheticNetworks(50_020, 3).slice(50_000)
  await full.store.commit({ networks: fresh.slice(0, 10) })
  await empty.store.commit({ networks: fresh.slice(10) })
  const third = await empty.sync.syncWith(addr(full))
  assert.equal(third.converged, true)
  assert.equal(third.networksReceived, 10)
  assert.equal(third.networksSent, 10)
  assert.ok(third.bytesReceived + third.bytesSent < 200_000, `20 differences in 50k cost ${third.bytesReceived + third.bytesSent} bytes`)
  assert.equal(empty.store.digest(), full.store.digest())
})

/** a node that answers sync sessions with the given records, whatever it is asked */
async function startLiar (records: unknown[][]): Promise<MeshLibp2p> {
  const libp2p = await startLibp2p()
  await libp2p.handle(SYNC_PROTOCOL, async (stream: Stream) => {
    const lp = lpStream(stream)
    try {
      for (;;) {
        const f = decodeFrame((await lp.read()).subarray(), 5000)
        if (f.end === true) break
      }
      await lp.write(encodeFrame({ v: SYNC_VERSION, tb: 8 * 1024 * 1024, n: records, end: true }))
      await lp.read() // the initiator's err frame, or its close
    } catch {}
    stream.abort(new Error('done'))
  })
  return libp2p
}

test('a peer answering with invalid records is rejected and nothing it sent is stored', async () => {
  const good = syntheticNetworks(10, 4)
  const cases: Array<[string, unknown[]]> = [
    ['start after end', networkToTuple({ ...good[0], start: good[0].end + 1, end: good[0].end })],
    ['a network in 10/8', networkToTuple(net('10.1.0.0', '10.1.0.255'))],
    ['not a record', [1, 2, 3]]
  ]
  const victim = await startPeer()
  for (const [label, bad] of cases) {
    const liar = await startLiar([...good.slice(1).map(networkToTuple), bad])
    await assert.rejects(victim.sync.syncWith(liar.getMultiaddrs()[0]), (err: unknown) => {
      assert.ok(err instanceof SyncProtocolError, `${label}: ${String(err)}`)
      assert.equal(err.reason, 'invalid-records', label)
      return true
    })
    assert.deepEqual(victim.store.counts(), { networks: 0, negatives: 0, failures: 0 }, `${label}: nothing stored`)
  }
  assert.equal(victim.sync.stats.aborted['invalid-records'], cases.length, 'every rejection is counted')
})

test('a responder survives malformed frames and invalid records, counts them, and then serves a correct session', async () => {
  const server = await startPeer()
  const networks = syntheticNetworks(2000, 5)
  await load(server.store, networks)
  const client = await startLibp2p()

  const garbage: Array<[string, (s: Stream) => Promise<void>, string]> = [
    ['bytes that are not msgpack', async s => { await lpStream(s).write(Uint8Array.from([0xc1, 0xc1, 0xc1, 0xff])) }, 'malformed-frame'],
    ['a msgpack array instead of a map', async s => { await lpStream(s).write(encodeValue([1, 2, 3])) }, 'malformed-frame'],
    ['a length prefix beyond maxFrameBytes', async s => { s.send(Uint8Array.from([0xff, 0xff, 0xff, 0x7f])) }, 'malformed-frame'],
    ['a question with from > to', async s => { await lpStream(s).write(encodeValue({ v: SYNC_VERSION, q: [[2, 10, 5]], end: true })) }, 'malformed-frame'],
    ['an unsupported version', async s => { await lpStream(s).write(encodeValue({ v: 99, end: true })) }, 'protocol-violation'],
    ['invalid records pushed by an initiator', async s => { await lpStream(s).write(encodeFrame({ v: SYNC_VERSION, n: [networkToTuple(net('127.0.0.0', '127.0.0.255'))], end: true })) }, 'invalid-records']
  ]
  for (const [label, send, reason] of garbage) {
    const before = server.sync.stats.aborted[reason] ?? 0
    const stream = await client.dialProtocol(addr(server), SYNC_PROTOCOL)
    await send(stream)
    await waitFor(`${label} to be counted as ${reason}`, () => (server.sync.stats.aborted[reason] ?? 0) === before + 1)
    stream.abort(new Error('test done'))
  }
  assert.equal(server.store.counts().networks, 2000, 'nothing was stored from the garbage')

  const honest = await startPeer()
  const report = await honest.sync.syncWith(addr(server))
  assert.equal(report.converged, true)
  assert.equal(report.networksReceived, 2000)
  assert.equal(honest.store.digest(), server.store.digest())
})

test('a responder asked for the same records again and again ends the session once it has sent as many as its index holds', async () => {
  const server = await startPeer()
  await load(server.store, syntheticNetworks(2000, 6))
  const client = await startLibp2p()
  const stream = await client.dialProtocol(addr(server), SYNC_PROTOCOL)
  const lp = lpStream(stream)
  const before = server.sync.stats.aborted['protocol-violation'] ?? 0
  // one small frame: "send all" of the whole space, 100 times (3,000 would be 6,000,000 records)
  await lp.write(encodeValue({ v: SYNC_VERSION, q: Array.from({ length: 100 }, () => [QuestionCode.All, 0, 0xffffffff]), end: true }))
  let received = 0
  try {
    // read its turns, and give it ours, until it ends the session (bounded: 100 turns)
    for (let turn = 0; turn < 100; turn++) {
      for (;;) {
        const f = decodeFrame((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray(), 100_000)
        received += f.n?.length ?? 0
        if (f.end === true) break
      }
      await lp.write(encodeValue({ v: SYNC_VERSION, end: true }))
    }
  } catch { /* the responder ended the session */ }
  stream.abort(new Error('test done'))
  await waitFor('the session to be counted as a protocol violation', () => (server.sync.stats.aborted['protocol-violation'] ?? 0) === before + 1)
  assert.ok(received >= 2000 && received <= 2000 + 1000, `received ${received} records of an index of 2,000`)
})

test('a responder serving its maximum of sessions refuses another with "busy"', async () => {
  const server = await startPeer({ maxConcurrentSessions: 1 })
  const client = await startLibp2p()
  // hold one session open: send the first turn and never read the answer
  const held = await client.dialProtocol(addr(server), SYNC_PROTOCOL)
  await lpStream(held).write(encodeFrame({ v: SYNC_VERSION, tb: 1 << 20, q: [{ kind: 'all', from: 0, to: 0xffffffff }], end: true }))
  const other = await startPeer()
  await waitFor('the first session to start', () => server.sync.stats.sessionsServed === 1)
  await assert.rejects(other.sync.syncWith(addr(server)), (err: Error) => err.name === 'SyncRemoteError' && (err as any).reason === 'busy')
  assert.equal(server.sync.stats.refusedBusy, 1)
  held.abort(new Error('test done'))
})

test('a peer that stops answering times the session out instead of hanging it', async () => {
  const client = await startPeer({ ioTimeoutMs: 300 })
  const silent = await startLibp2p()
  let opened = 0
  await silent.handle(SYNC_PROTOCOL, (stream: Stream) => {
    opened++
    stream.addEventListener('message', () => {}) // read and never answer
  })
  await assert.rejects(client.sync.syncWith(silent.getMultiaddrs()[0]), (err: Error) => err.name === 'SyncTimeoutError')
  assert.equal(opened, 1)
  assert.equal(client.sync.stats.aborted.timeout, 1)
})

test('peers with different limits converge over many small turns (frame and turn budgets, deep splits)', async () => {
  const small = { maxFrameBytes: 64 * 1024, maxTurnBytes: 128 * 1024, maxRecordsPerFrame: 100, leafItems: 8, fanout: 4 }
  const [a, b] = await Promise.all([startPeer(small), startPeer()])
  const pool = syntheticNetworks(24_000, 6)
  const negatives = syntheticNegatives(4000, 7)
  await load(a.store, pool.slice(0, 18_000), negatives.slice(0, 2500))
  await load(b.store, pool.slice(6000), negatives.slice(1500))

  const report = await a.sync.syncWith(addr(b))
  assert.equal(report.converged, true)
  assert.equal(a.store.digest(), b.store.digest())
  assert.deepEqual(a.store.counts(), { networks: 24_000, negatives: 4000, failures: 0 })
  assert.equal(report.networksAccepted, 6000, 'a took the 6000 networks it lacked')
  assert.equal(report.negativesAccepted, 1500)
  // where one side holds ≤ leafItems of a range, the other sends all of its own: a little overlap
  assert.ok(report.networksReceived < 6000 * 1.05 && report.networksSent < 6000 * 1.05, `near the 6000 differences each way: ${report.networksReceived}/${report.networksSent}`)
  assert.ok(report.rounds > 10, `many turns under a 128 KiB budget, got ${report.rounds}`)
  assert.ok((await dump(a.store)).equals(await dump(b.store)), 'dumps are byte-identical')
})

test('a node syncs with one peer at a time: two peers holding the same index send it once, not twice', async () => {
  const world = syntheticNetworks(20_000, 71)
  const [a, b, joiner] = await Promise.all([startPeer(), startPeer(), startPeer()])
  await Promise.all([load(a.store, world), load(b.store, world)])
  const [ra, rb] = await Promise.all([joiner.sync.syncWith(addr(a)), joiner.sync.syncWith(addr(b))])
  assert.equal(ra.networksReceived + rb.networksReceived, world.length, `received ${ra.networksReceived} + ${rb.networksReceived}`)
  assert.ok(ra.converged && rb.converged)
  assert.equal(joiner.store.digest(), a.store.digest())
})

test('a call for a peer already syncing with this node shares that session; others are refused "busy" meanwhile', async () => {
  const world = syntheticNetworks(20_000, 72)
  // small frames and turns: the joiner's pull takes hundreds of round trips
  const [full, other, joiner] = await Promise.all([startPeer(), startPeer(), startPeer({ maxRecordsPerFrame: 20, maxFrameBytes: 65_536, maxTurnBytes: 65_536 })])
  await load(full.store, world)
  const pulling = joiner.sync.syncWith(addr(full))
  await waitFor('the joiner\'s session to start', () => full.sync.stats.sessionsServed === 1)
  // the full node's own call for the joiner (its periodic round) shares the joiner's session
  const shared = full.sync.syncWith(joiner.libp2p.peerId)
  // while the joiner pulls, another peer's session is refused
  await assert.rejects(other.sync.syncWith(addr(joiner)), (err: Error) => err.name === 'SyncRemoteError' && (err as any).reason === 'busy')
  assert.equal(joiner.sync.stats.refusedBusy, 1)
  assert.ok(joiner.store.counts().networks < world.length, 'the refusal came while the joiner was pulling')
  assert.equal((await shared).networksSent, world.length, 'the report of the session the joiner started')
  assert.equal(full.sync.stats.sessionsInitiated, 0, 'no second session')
  assert.equal((await pulling).networksReceived, world.length)
  // once it is done, the other peer's session goes through
  const after = await other.sync.syncWith(addr(joiner))
  assert.equal(after.networksReceived, world.length)
})

test('two nodes that start syncing with each other at the same moment run one session between them', async () => {
  const [x, y] = await Promise.all([startPeer(), startPeer()])
  await Promise.all([load(x.store, syntheticNetworks(10_000, 73)), load(y.store, syntheticNetworks(10_000, 74))])
  const results = await Promise.allSettled([x.sync.syncWith(addr(y)), y.sync.syncWith(addr(x))])
  const ok = results.filter(r => r.status === 'fulfilled')
  for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as any).reason, 'busy', String(r.reason))
  assert.ok(ok.length >= 1)
  assert.equal(x.sync.stats.sessionsCompleted + y.sync.stats.sessionsCompleted, 2, 'one session, seen from both sides')
  assert.equal(x.store.digest(), y.store.digest())
})
