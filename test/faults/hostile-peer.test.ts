/**
 * Scenario 5 — a hostile peer. Three honest `whoismesh node start` processes crawl a small sample
 * against the simulator, in a private mesh (swarm key). A hostile peer that HOLDS the fleet key —
 * an in-test libp2p node built with the project's own createMeshLibp2p, speaking gossipsub
 * directly (not through the Mesh class) — dials them and publishes malformed msgpack, oversized
 * batches, absurd networks, heartbeats in other peers' names and a bounded flood, and sends
 * garbage on the sync protocol. The key lets anyone mint peer ids, so the catalogue is sent from a
 * few identities, each staying under the graylist threshold so that every message is validated
 * and can be counted exactly; the flood then comes from the first identity.
 *
 * Pass: every catalogue message is rejected and counted on every honest node (Prometheus
 * counters rise by exactly what was sent); every hostile identity's gossipsub score drops below 0
 * and the flooding one is graylisted (the flood's remainder is dropped unread); garbage sync
 * sessions are aborted and counted; the honest nodes finish the crawl with identical digests and
 * dumps holding no hostile record, see only each other as live peers, and none crashes.
 */
import '../../src/util/polyfill.js'
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { byteStream, lpStream } from '@libp2p/utils'
import { GOSSIP_SCORE_THRESHOLDS, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { encodeMessage, type Heartbeat } from '../../src/mesh/messages.js'
import { VALIDATION_LIMITS } from '../../src/mesh/validation.js'
import { SYNC_PROTOCOL, SYNC_VERSION, encodeFrame, networkToTuple } from '../../src/mesh/sync/protocol.js'
import type { NetworkRecord } from '../../src/record/index.js'
import { parseIPv4 } from '../../src/util/ipv4.js'
import { prng } from '../../src/util/prng.js'
import { runCli, waitFor } from '../helpers/cli.js'
import { waitForLog, killAll, type FleetNode } from '../helpers/fleet.js'
import { recordFigures } from './report.js'
import { keyHolder, keyedSetting, publishToAll, scrape, series, startHonestFleet, NETS, METRICS, type HonestNode, type KeyedSetting } from './key-holder.js'
import { net } from '../store/helpers/records.js'

const SAMPLE_LIMIT = 1500
const BUDGET = 'all=100'
/** the flood: at most this many messages, in at most FLOOD_MS */
const FLOOD_MESSAGES = 2000
const FLOOD_MS = 20_000
/** messages one identity sends in the catalogue: 8 rejects score −64, above the graylist threshold (−80) */
const PER_IDENTITY = 8
/** every hostile record carries this in its handle, name and org */
const MARK = 'HOSTILE'

let setting: KeyedSetting
let swarmKey: Uint8Array
const honest: HonestNode[] = []
const hostiles: MeshLibp2p[] = []

before(async () => {
  setting = await keyedSetting('whoismesh-hostile-', BUDGET)
  swarmKey = setting.swarmKey
})

after(async () => {
  for (const h of hostiles) await Promise.resolve(h.stop()).catch(() => {})
  await killAll(honest)
  await setting?.sim.close()
  if (setting !== undefined) await rm(setting.dir, { recursive: true, force: true })
})

// ------------------------------------------------------------------ honest side

interface Counts { netsReject: number, metricsReject: number, ignore: number, rejectsByReason: Record<string, number>, syncMalformed: number, syncInvalid: number, scoreMin: number, penalised: number, graylisted: number, livePeers: number }

async function counts (n: { metricsPort: number }): Promise<Counts> {
  const t = await scrape(n.metricsPort)
  return {
    netsReject: series(t, 'whoismesh_gossip_messages_total{topic="nets",outcome="reject"}'),
    metricsReject: series(t, 'whoismesh_gossip_messages_total{topic="metrics",outcome="reject"}'),
    ignore: series(t, 'whoismesh_gossip_messages_total{topic="nets",outcome="ignore"}') + series(t, 'whoismesh_gossip_messages_total{topic="metrics",outcome="ignore"}'),
    rejectsByReason: rejectsByReason(t),
    syncMalformed: series(t, 'whoismesh_sync_sessions_total{outcome="malformed-frame"}'),
    syncInvalid: series(t, 'whoismesh_sync_sessions_total{outcome="invalid-records"}'),
    scoreMin: series(t, 'whoismesh_gossip_peer_score_min'),
    penalised: series(t, 'whoismesh_gossip_penalised_peers'),
    graylisted: series(t, 'whoismesh_gossip_graylisted_peers'),
    livePeers: series(t, 'whoismesh_live_peers')
  }
}

/** whoismesh_gossip_refused_messages_total{outcome="reject"} summed over topics, by reason code */
function rejectsByReason (text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = /^whoismesh_gossip_refused_messages_total\{(.*)\} (\S+)$/.exec(line)
    if (m == null || !m[1].includes('outcome="reject"')) continue
    const reason = /reason="([^"]*)"/.exec(m[1])?.[1] ?? '?'
    out[reason] = (out[reason] ?? 0) + Number(m[2])
  }
  return out
}

async function allCounts (): Promise<Counts[]> {
  return await Promise.all(honest.map(async n => await counts(n)))
}

function assertAlive (when: string): void {
  for (const n of honest) {
    assert.ok(n.child.exitCode == null && n.child.signalCode == null, `${n.name} is not running ${when}: ${n.stderrTail.slice(-1500)}`)
    assert.ok(!n.stderrTail.includes('internal error'), `${n.name} reported an internal error ${when}`)
  }
}

// ------------------------------------------------------------------ hostile side

/** A new hostile identity holding the fleet key, connected to every honest node and subscribed. */
async function hostileIdentity (): Promise<MeshLibp2p> {
  const l = await keyHolder(swarmKey, honest)
  hostiles.push(l)
  return l
}

/** a message as bytes, or records the sending identity signs as their author when it publishes them */
interface Injection { kind: string, topic: string, data?: Uint8Array, records?: { networks: object[], negatives: object[] } }

const sent: Record<string, number> = {}

/**
 * Publishes through gossipsub; every message must go out to all three honest nodes. Records are
 * authored by the sender (what validation checks last): each is refused for what is wrong with it.
 */
async function publish (l: MeshLibp2p, m: Injection): Promise<void> {
  const author = l.peerId.toString()
  const data = m.data ?? encodeMessage({ networks: m.records!.networks.map(r => ({ author, ...r })), negatives: m.records!.negatives.map(r => ({ author, ...r })) } as any)
  await publishToAll(l, m.topic, data, honest, m.kind)
  sent[m.kind] = (sent[m.kind] ?? 0) + 1
}

const rand = prng(0x5eed)
function randomBytes (n: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = rand() & 0xff
  return b
}

/** A plausible network record in allocated space, marked as hostile; `over` makes it absurd. */
function rec (start: string | number, end: string | number, over: Partial<NetworkRecord> = {}): NetworkRecord {
  const s = typeof start === 'number' ? start : parseIPv4(start)
  const e = typeof end === 'number' ? end : parseIPv4(end)
  // start > end is one of the absurdities: build it the right way round, then swap
  const r = net(Math.min(s, e), Math.max(s, e))
  return {
    ...r,
    start: s,
    end: e,
    handle: `${MARK}-${s}`,
    name: MARK,
    org: `${MARK} Org`,
    cidrs: s <= e ? r.cidrs : ['1.2.3.0/24'],
    fetchedAt: Date.now() - 60_000,
    queryAddress: Math.min(s, e),
    ...over
  }
}

const nets = (kind: string, networks: object[], negatives: object[] = []): Injection =>
  ({ kind, topic: NETS, records: { networks, negatives } })

/** plausible networks in RIPE space: valid alone, to be sent only next to an invalid one */
function plausible (count: number): NetworkRecord[] {
  const base = parseIPv4('185.0.0.0')
  return Array.from({ length: count }, (_, i) => rec(base + i * 256, base + i * 256 + 255))
}

function spoofedHeartbeat (peerId: string): Injection {
  const hb: Heartbeat = {
    peerId,
    seq: 1_000_000,
    sentAt: Date.now(),
    version: '0.1.0',
    light: false,
    listen: ['/ip4/127.0.0.1/tcp/1'],
    counters: {},
    demand: { arin: 1e6, ripe: 1e6, apnic: 1e6, lacnic: 1e6, afrinic: 1e6 },
    rates: { arin: 0, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 },
    // a forged back-off would pause the whole fleet's crawl if it were believed
    backoff: { arin: Date.now() + 3_600_000, ripe: Date.now() + 3_600_000 },
    index: { networks: 0, negatives: 0, digest: '0'.repeat(64) },
    sample: { total: 1, resolved: 1 }
  }
  return { kind: 'heartbeat claiming another peer\'s id', topic: METRICS, data: encodeMessage(hb) }
}

function catalogue (): Injection[][] {
  const whole = encodeMessage({ networks: plausible(3), negatives: [] })
  const malformed: Injection[] = [
    { kind: 'random bytes', topic: NETS, data: randomBytes(64) },
    { kind: 'random bytes', topic: NETS, data: randomBytes(4096) },
    { kind: 'truncated msgpack', topic: NETS, data: whole.subarray(0, Math.floor(whole.length / 2)) },
    { kind: 'truncated msgpack', topic: NETS, data: whole.subarray(0, whole.length - 1) },
    { kind: 'truncated msgpack', topic: NETS, data: Uint8Array.of(0xde, 0xff, 0xff) }, // map16 of 65,535 entries, none there
    { kind: 'msgpack of the wrong shape', topic: NETS, data: encodeMessage('hello' as any) },
    { kind: 'random bytes', topic: METRICS, data: randomBytes(300) }
  ]
  const oversized: Injection[] = [
    nets('oversized batch', plausible(VALIDATION_LIMITS.maxBatchRecords + 1)),
    { kind: 'oversized message', topic: NETS, data: randomBytes(VALIDATION_LIMITS.maxMessageBytes + 1) },
    // gossipsub takes RPCs up to 4 MiB: this one passes its framing and must be refused by size
    { kind: 'oversized message', topic: NETS, data: randomBytes(4 * 1024 * 1024 - 16 * 1024) },
    ...honest.map(n => spoofedHeartbeat(n.peerId!))
  ]
  const future = Date.now() + 7 * 24 * 3600 * 1000
  const absurd: Injection[] = [
    nets('absurd network', [rec(0, 0xffffffff)]), // 0.0.0.0/0
    nets('absurd network', [rec('10.0.0.0', '10.255.255.255')]),
    nets('absurd network', [rec('240.0.0.0', '255.255.255.255')]),
    nets('absurd network', [rec('240.0.0.0', '240.255.255.255')]),
    nets('absurd network', [rec('185.1.0.255', '185.1.0.0')]), // start > end
    nets('absurd network', [rec('185.2.0.0', '185.2.0.255', { cidrs: ['185.2.0.0/16'] })]),
    nets('absurd network', [rec('185.3.0.0', '185.3.0.255', { name: 'x'.repeat(VALIDATION_LIMITS.maxStringLength + 1) })]),
    nets('absurd network', [rec('185.4.0.0', '185.4.0.255', { registry: 'iana' as any })])
  ]
  const more: Injection[] = [
    nets('absurd network', [rec('185.5.0.0', '185.5.0.255', { fetchedAt: future })]),
    nets('absurd network', [rec('192.0.2.0', '192.0.2.255')]), // TEST-NET-1, special-purpose
    nets('absurd network', [rec('185.6.0.0', '185.6.0.255', { queryAddress: parseIPv4('8.8.8.8') })]),
    nets('absurd negative', [], [{ address: parseIPv4('192.168.1.1'), registry: 'arin', reason: 'not-found', fetchedAt: Date.now() }]),
    nets('absurd negative', [], [{ address: parseIPv4('185.7.0.1'), registry: 'ripe', reason: 'not-found', fetchedAt: future }]),
    // one bad record rejects the whole batch: none of the 100 plausible ones may be stored
    nets('plausible batch with one absurd record', [...plausible(100), rec('127.0.0.0', '127.255.255.255')])
  ]
  return [malformed, oversized, absurd, more]
}

/** small absurd messages for the flood, cycled */
function floodMessage (i: number): Injection {
  switch (i % 4) {
    case 0: return { kind: 'flood', topic: NETS, data: randomBytes(32 + (i % 200)) }
    case 1: return { ...nets('flood', [rec('10.0.0.0', '10.0.255.255', { handle: `${MARK}-${i}` })]), kind: 'flood' }
    case 2: return { ...nets('flood', [rec('185.8.0.0', '185.8.0.255', { fetchedAt: Date.now() + 30 * 24 * 3600 * 1000 })]), kind: 'flood' }
    default: return { ...spoofedHeartbeat(honest[i % honest.length].peerId!), kind: 'flood' }
  }
}

/** Sends garbage to one honest node's sync protocol: three sessions, each must be aborted. */
async function syncGarbage (l: MeshLibp2p, n: FleetNode): Promise<void> {
  const addr = multiaddr(n.listen![0])
  // 1. a hello, then a frame header announcing 64 MiB (the limit is 4 MiB) and some of it
  const s1 = await l.dialProtocol(addr, SYNC_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  await lpStream(s1).write(encodeFrame({ v: SYNC_VERSION, tb: 1 << 20, fb: 1 << 20 }), { signal: AbortSignal.timeout(10_000) })
  await byteStream(s1).write(Uint8Array.of(0x80, 0x80, 0x80, 0x20, ...randomBytes(1000)), { signal: AbortSignal.timeout(10_000) })
  await s1.close().catch(() => {})
  // 2. a well-framed frame that is not msgpack
  const s2 = await l.dialProtocol(addr, SYNC_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  await lpStream(s2).write(Uint8Array.of(0xc1, ...randomBytes(500)), { signal: AbortSignal.timeout(10_000) })
  await s2.close().catch(() => {})
  // 3. a proper hello carrying an absurd network
  const s3 = await l.dialProtocol(addr, SYNC_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  const frame = encodeFrame({ v: SYNC_VERSION, tb: 1 << 20, fb: 1 << 20, n: [networkToTuple(rec('10.0.0.0', '10.255.255.255'))], end: true })
  await lpStream(s3).write(frame, { signal: AbortSignal.timeout(10_000) })
  await s3.close().catch(() => {})
}

// ------------------------------------------------------------------ the scenario

test('a hostile key holder\'s malformed, oversized, absurd, spoofed and flooded messages are all rejected and counted, its score falls until it is graylisted, and the honest fleet finishes its crawl untouched', async () => {
  const t0 = Date.now()
  await startHonestFleet(setting, { budget: BUDGET, sampleLimit: SAMPLE_LIMIT }, honest)

  // --- the catalogue: each identity sends at most PER_IDENTITY messages, every one validated
  const groups = catalogue()
  const crawlDoneBeforeAttack = honest.filter(n => n.logs.some(l => l.msg === 'crawl complete')).length
  const base = await allCounts()
  const ids: MeshLibp2p[] = []
  let expectNets = 0
  let expectMetrics = 0
  for (const [g, group] of groups.entries()) {
    assert.ok(group.length <= PER_IDENTITY, `catalogue group ${g} has ${group.length} messages`)
    const l = await hostileIdentity()
    ids.push(l)
    for (const m of group) await publish(l, m)
    expectNets += group.filter(m => m.topic === NETS).length
    expectMetrics += group.filter(m => m.topic === METRICS).length
    await waitFor(async () => (await allCounts()).every((c, i) => c.netsReject - base[i].netsReject >= expectNets && c.metricsReject - base[i].metricsReject >= expectMetrics),
      30_000, `catalogue group ${g}: ${expectNets} nets and ${expectMetrics} metrics rejects on every honest node`)
  }
  const afterCatalogue = await allCounts()
  for (const [i, c] of afterCatalogue.entries()) {
    assert.equal(c.netsReject - base[i].netsReject, expectNets, `${honest[i].name}: nets rejects`)
    assert.equal(c.metricsReject - base[i].metricsReject, expectMetrics, `${honest[i].name}: metrics rejects`)
    assert.equal(c.ignore - base[i].ignore, 0, `${honest[i].name}: a hostile message was ignored instead of rejected`)
    // each reject is counted once more by its reason code
    const delta = (r: string): number => (c.rejectsByReason[r] ?? 0) - (base[i].rejectsByReason[r] ?? 0)
    const reasons = Object.keys(c.rejectsByReason)
    assert.equal(reasons.reduce((n, r) => n + delta(r), 0), expectNets + expectMetrics, `${honest[i].name}: rejects by reason`)
    for (const r of ['decode', 'too-large', 'sender-mismatch', 'record-schema', 'bad-cidrs', 'string-too-long']) {
      assert.ok(delta(r) > 0, `${honest[i].name}: no reject counted with reason ${r} (${JSON.stringify(c.rejectsByReason)})`)
    }
  }
  // every identity is penalised on every honest node (the node logs it and exports it)
  for (const n of honest) {
    for (const l of ids) {
      const id = l.peerId.toString()
      await waitFor(() => n.logs.some(e => e.msg === 'gossip peer penalised' && e.peer === id), 10_000, `${n.name} to penalise ${id}`)
    }
  }
  await waitFor(async () => (await allCounts()).every(c => c.penalised >= ids.length && c.scoreMin < 0), 10_000, 'the penalised-peers gauges')
  const scoreAfterCatalogue = Math.min(...(await allCounts()).map(c => c.scoreMin))
  assertAlive('after the catalogue')

  // --- sync garbage, from the first identity, to every honest node
  for (const n of honest) await syncGarbage(ids[0], n)
  await waitFor(async () => (await allCounts()).every((c, i) => c.syncMalformed - base[i].syncMalformed >= 2 && c.syncInvalid - base[i].syncInvalid >= 1),
    20_000, 'every honest node to abort and count the garbage sync sessions').catch(err => {
    throw new Error(`${String(err.message)}; sync aborts logged: ${JSON.stringify(honest.map(n => n.logs.filter(l => l.msg === 'sync session aborted').map(l => `${String(l.reason)}: ${String(l.error)}`)))}`)
  })
  const afterSync = await allCounts()
  for (const [i, c] of afterSync.entries()) {
    assert.equal(c.syncMalformed - base[i].syncMalformed, 2, `${honest[i].name}: malformed sync sessions`)
    assert.equal(c.syncInvalid - base[i].syncInvalid, 1, `${honest[i].name}: sync sessions with invalid records`)
  }

  // --- the flood, from the first identity (already penalised): bounded in count and time
  const flooder = ids[0]
  const floodStart = Date.now()
  let flood = 0
  while (flood < FLOOD_MESSAGES && Date.now() - floodStart < FLOOD_MS) {
    const batch = Math.min(20, FLOOD_MESSAGES - flood)
    await Promise.all(Array.from({ length: batch }, async (_, k) => { await publish(flooder, floodMessage(flood + k)) }))
    flood += batch
    await new Promise(resolve => setTimeout(resolve, 180))
  }
  const floodSeconds = (Date.now() - floodStart) / 1000
  const flooderId = flooder.peerId.toString()
  for (const n of honest) {
    await waitFor(() => n.logs.some(e => e.msg === 'gossip peer graylisted: its messages are dropped unread' && e.peer === flooderId), 15_000, `${n.name} to graylist the flooder`)
  }
  await waitFor(async () => (await allCounts()).every(c => c.graylisted >= 1 && c.scoreMin < GOSSIP_SCORE_THRESHOLDS.graylistThreshold), 10_000, 'the graylisted-peers gauges')
  const afterFlood = await allCounts()
  const floodCounted = afterFlood.map((c, i) => (c.netsReject + c.metricsReject) - (afterSync[i].netsReject + afterSync[i].metricsReject))
  for (const [i, counted] of floodCounted.entries()) {
    // the flooder is validated until its score crosses the graylist threshold (plus gossipsub's
    // one-second score cache), then dropped unread: counted, but far fewer than sent
    assert.ok(counted >= 1 && counted <= flood, `${honest[i].name} counted ${counted} of ${flood} flood messages`)
    assert.equal(afterFlood[i].ignore - base[i].ignore, 0, `${honest[i].name}: flood messages ignored instead of rejected`)
  }
  assertAlive('after the flood')

  // --- the honest fleet is untouched: it finishes, agrees, stores nothing hostile, trusts no impostor
  await Promise.all(honest.map(async n => await waitForLog(n, 'crawl complete', 90_000)))
  const covs = await Promise.all(honest.map(async n => {
    const r = await runCli(['coverage', '--json', '--data', n.data])
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout)
  }))
  assert.equal(new Set(covs.map(c => c.digest)).size, 1, `digests differ: ${covs.map((c, i) => `${honest[i].name}:${String(c.networks)}:${String(c.digest).slice(0, 8)}`).join(' ')}`)
  for (const [i, c] of covs.entries()) assert.equal(c.sample_resolved, SAMPLE_LIMIT, `${honest[i].name} resolved ${String(c.sample_resolved)}`)
  for (const [i, n] of honest.entries()) {
    const counted = series(await scrape(n.metricsPort), 'whoismesh_lookups_total')
    assert.ok(counted >= (covs[i].lookups as number) && counted > 0, `${n.name}: whoismesh_lookups_total ${counted}, ${String(covs[i].lookups)} lookups`)
  }
  const dumps = await Promise.all(honest.map(async n => await runCli(['dump', '--data', n.data])))
  let hostileAccepted = 0
  for (const [i, d] of dumps.entries()) {
    assert.equal(d.code, 0, d.stderr)
    assert.ok(d.stdout === dumps[0].stdout, `${honest[i].name}'s dump differs from ${honest[0].name}'s`)
    const lines = d.stdout.split('\n').filter(s => s !== '')
    assert.equal(lines.length, covs[i].networks, `${honest[i].name}: dump lines vs networks`)
    hostileAccepted += lines.filter(s => s.includes(MARK)).length
  }
  assert.equal(hostileAccepted, 0, 'a hostile record reached an honest index')
  const final = await allCounts()
  for (const [i, c] of final.entries()) assert.equal(c.livePeers, 2, `${honest[i].name} counts ${c.livePeers} live peers: a spoofed heartbeat was believed`)
  for (const n of honest) assert.ok(!n.logs.some(l => l.level === 'error'), `${n.name} logged an error: ${JSON.stringify(n.logs.find(l => l.level === 'error'))}`)
  assertAlive('at the end')

  const catalogueSent = expectNets + expectMetrics
  await recordFigures({
    scenario: '5-hostile-peer',
    title: 'A hostile peer holding the swarm key',
    injected: `from ${ids.length} peer ids minted with the fleet key, over gossipsub directly: malformed msgpack, oversized batches and messages (up to ~4 MiB), absurd networks and negatives, heartbeats in other peers' names, a batch of 100 plausible records with one absurd one; then a flood of ${flood} messages in ${floodSeconds.toFixed(1)} s; garbage frames on ${SYNC_PROTOCOL}. Into 3 honest nodes crawling ${SAMPLE_LIMIT} addresses (${BUDGET})`,
    checked: 'every catalogue message rejected and counted on every honest node (whoismesh_gossip_messages_total), no ignore; every hostile identity penalised (score < 0), the flooder graylisted (score < -80); garbage sync sessions aborted and counted; the honest nodes finish with identical digests and dumps, no hostile record stored, 2 live peers each, no crash',
    figures: {
      'honest nodes': honest.length,
      ...Object.fromEntries(Object.entries(sent).filter(([k]) => k !== 'flood').map(([k, v]) => [`sent: ${k}`, v])),
      'catalogue messages sent': catalogueSent,
      'catalogue rejects counted per node (min)': Math.min(...afterCatalogue.map((c, i) => c.netsReject + c.metricsReject - base[i].netsReject - base[i].metricsReject)),
      'flood messages sent': flood,
      'flood s': Number(floodSeconds.toFixed(1)),
      'flood rejects counted per node (min..max)': `${Math.min(...floodCounted)}..${Math.max(...floodCounted)}`,
      'flood dropped unread after graylisting (min per node)': flood - Math.max(...floodCounted),
      'garbage sync sessions aborted per node': 3,
      'lowest score after the catalogue': Number(scoreAfterCatalogue.toFixed(1)),
      'lowest score after the flood': Number(Math.min(...afterFlood.map(c => c.scoreMin)).toFixed(1)),
      'graylist threshold': GOSSIP_SCORE_THRESHOLDS.graylistThreshold,
      'honest nodes done before the attack': crawlDoneBeforeAttack,
      'networks per honest node': covs[0].networks,
      'honest records lost': Math.max(...covs.map(c => c.networks as number)) - Math.min(...covs.map(c => c.networks as number)),
      'hostile records accepted': hostileAccepted,
      crashes: honest.filter(n => n.child.exitCode != null || n.child.signalCode != null).length,
      'wall s': Number(((Date.now() - t0) / 1000).toFixed(1))
    }
  })
  for (const n of honest) n.child.kill('SIGTERM')
  await Promise.all(honest.map(async n => await n.exited))
})
