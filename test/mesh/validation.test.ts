import { test } from 'node:test'
import assert from 'node:assert/strict'
import { validateGossip, VALIDATION_LIMITS, type ValidationReason } from '../../src/mesh/validation.js'
import { encodeMessage, type Heartbeat } from '../../src/mesh/messages.js'
import { parseTopic, stringifyTopic, currentTopic, TOPIC_KINDS, type TopicKind } from '../../src/mesh/topics.js'
import { parseIPv4, rangeToCidrs } from '../../src/util/ipv4.js'
import type { NetworkRecord } from '../../src/record/index.js'
import { GossipRates } from '../../src/mesh/gossip-rates.js'

const NETS = currentTopic('nets')
const METRICS = currentTopic('metrics')
const NOW = Date.UTC(2026, 10, 27)
/** the signed sender of the nets messages below, and the author of their records */
const SENDER = '12D3KooWSenderPeerAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'

function network (cidrStart: string, cidrEnd: string, over: Partial<NetworkRecord> = {}): NetworkRecord {
  const start = parseIPv4(cidrStart)
  const end = parseIPv4(cidrEnd)
  return { start, end, registry: 'arin', handle: 'NET-8-8-8-0-1', name: 'LVLT-GOGL-8-8-8', org: 'Google LLC', country: 'US', cidrs: start <= end ? rangeToCidrs(start, end) : [], type: 'ALLOCATION', parentHandle: '', registered: '', lastChanged: '', source: 'rdap', fetchedAt: NOW - 1000, queryAddress: start, author: SENDER, ...over }
}

function heartbeat (peerId: string): Heartbeat {
  return {
    peerId, seq: 1, sentAt: NOW, version: '0.1.0', light: false, listen: ['/ip4/127.0.0.1/tcp/4001/p2p/' + peerId],
    counters: { lookups: 3 }, demand: { arin: 1, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 },
    rates: { arin: 2, ripe: 2, apnic: 2, lacnic: 0.1, afrinic: 1 }, backoff: {},
    index: { networks: 1, negatives: 0, digest: 'ab'.repeat(32) }, sample: { total: 10, resolved: 5 }
  }
}

test('topics round-trip through stringify and parse for every kind', () => {
  const table: Record<TopicKind, string> = { nets: '/whoismesh/nets/2', metrics: '/whoismesh/metrics/1' }
  for (const kind of TOPIC_KINDS) {
    assert.equal(currentTopic(kind), table[kind], kind)
    assert.deepEqual(parseTopic(table[kind]), { kind, version: kind === 'nets' ? 2 : 1 }, kind)
    assert.equal(stringifyTopic(parseTopic(table[kind])!), table[kind], kind)
  }
  assert.equal(parseTopic('/whoismesh/bogus/1'), undefined)
  assert.equal(parseTopic('/other/nets/1'), undefined)
})

test('a well-formed batch of networks and negatives is accepted', () => {
  const listed = network('8.0.0.0', '8.255.255.255', { type: 'DIRECT ALLOCATION', registry: 'arin', queryAddress: parseIPv4('8.8.8.8'), listedSample: 5000, listedAt: NOW })
  const msg = { networks: [network('8.8.8.0', '8.8.8.255'), listed], negatives: [{ address: parseIPv4('8.20.0.1'), registry: 'arin', reason: 'not-found', fetchedAt: NOW, author: SENDER }] }
  const v = validateGossip(NETS, encodeMessage(msg as any), SENDER, NOW)
  assert.equal(v.result, 'accept', JSON.stringify(v))
})

test('hostile or broken nets messages are rejected with a reason code', () => {
  const cases: Array<[string, Uint8Array, ValidationReason]> = [
    ['malformed msgpack', Uint8Array.from([0xc1, 0xff, 0x00, 0x12]), 'decode'],
    ['not an object', encodeMessage(42 as any), 'not-an-object'],
    ['the whole IPv4 space', encodeMessage({ networks: [network('0.0.0.0', '255.255.255.255')], negatives: [] }), 'network-too-large'],
    ['a network in private space', encodeMessage({ networks: [network('10.0.0.0', '10.0.0.255')], negatives: [] }), 'reserved-space'],
    ['a network inside special-purpose space', encodeMessage({ networks: [network('192.0.2.0', '192.0.2.255')], negatives: [] }), 'special-space'],
    ['start after end', encodeMessage({ networks: [network('8.8.8.255', '8.8.8.0')], negatives: [] }), 'record-schema'],
    ['cidrs not matching the range', encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255', { cidrs: ['8.8.0.0/16'] })], negatives: [] }), 'bad-cidrs'],
    ['a query address outside the network', encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255', { queryAddress: 1 })], negatives: [] }), 'query-outside'],
    ['an unknown registry', encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255', { registry: 'iana' as any })], negatives: [] }), 'record-schema'],
    ['an absurdly long name', encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255', { name: 'x'.repeat(5000) })], negatives: [] }), 'string-too-long'],
    ['a fetch time in the future', encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255', { fetchedAt: NOW + 10 * 86400_000 })], negatives: [] }), 'bad-fetch-time'],
    ['a listing time in the future', encodeMessage({ networks: [network('8.0.0.0', '8.255.255.255', { type: 'DIRECT ALLOCATION', registry: 'arin', queryAddress: parseIPv4('8.8.8.8'), listedSample: 5000, listedAt: NOW + 10 * 86400_000 })], negatives: [] }), 'bad-fetch-time'],
    ['a leaf carrying a listing', encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255', { type: 'REASSIGNMENT', registry: 'arin', listedSample: 5000, listedAt: NOW })], negatives: [] }), 'listed-leaf'],
    ['a negative in reserved space', encodeMessage({ networks: [], negatives: [{ address: parseIPv4('240.0.0.1'), registry: 'arin', reason: 'not-found', fetchedAt: NOW, author: SENDER }] }), 'reserved-space'],
    ['a network another peer authored', encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255', { author: '12D3KooWAnotherPeerBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' })], negatives: [] }), 'author-mismatch'],
    ['a network without an author', encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255', { author: undefined })], negatives: [] }), 'author-mismatch'],
    ['a negative another peer authored', encodeMessage({ networks: [], negatives: [{ address: parseIPv4('8.20.0.1'), registry: 'arin', reason: 'not-found', fetchedAt: NOW, author: '12D3KooWAnotherPeerBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }] }), 'author-mismatch'],
    ['an author that is no peer id', encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255', { author: 'root@localhost' })], negatives: [] }), 'record-schema'],
    ['an oversized batch of networks', encodeMessage({ networks: Array.from({ length: VALIDATION_LIMITS.maxBatchRecords + 1 }, (_, i) => network('8.8.8.0', '8.8.8.255', { queryAddress: parseIPv4('8.8.8.0') + (i % 256) })), negatives: [] }), 'too-large'],
    ['a batch of more records than allowed, under the byte limit', encodeMessage({ networks: [], negatives: Array.from({ length: VALIDATION_LIMITS.maxBatchRecords + 1 }, (_, i) => ({ address: parseIPv4('8.20.0.0') + i, registry: 'arin', reason: 'not-found', fetchedAt: NOW })) }), 'batch-too-large'],
    ['more bytes than allowed', new Uint8Array(VALIDATION_LIMITS.maxMessageBytes + 1), 'too-large']
  ]
  for (const [what, data, reason] of cases) {
    const v = validateGossip(NETS, data, SENDER, NOW)
    assert.deepEqual(v.result === 'accept' ? 'accept' : [v.result, v.reason], ['reject', reason], `${what}: ${JSON.stringify(v).slice(0, 200)}`)
  }
})

test('a heartbeat\'s dumps name only registries that publish dumps, with integer serials', () => {
  const v = (bulk: unknown): ReturnType<typeof validateGossip> => validateGossip(METRICS, encodeMessage({ ...heartbeat('12D3KooWA'), bulk } as Heartbeat), '12D3KooWA', NOW)
  const ok = v({ ripe: 40024301, afrinic: 0 })
  assert.equal(ok.result, 'accept')
  assert.deepEqual(ok.result === 'accept' && ok.value.kind === 'metrics' && ok.value.message.bulk, { ripe: 40024301, afrinic: 0 })
  for (const bad of [{ arin: 1 }, { ripe: -1 }, { ripe: 1.5 }, { ripe: '1' }, [1], 'ripe']) {
    const r = v(bad)
    assert.deepEqual(r.result !== 'accept' && [r.result, r.reason], ['reject', 'heartbeat-schema'], JSON.stringify(bad))
  }
  // none held: no field at all
  const none = v({})
  assert.equal(none.result, 'accept')
  assert.equal(none.result === 'accept' && none.value.kind === 'metrics' && 'bulk' in none.value.message, false)
})

test('a heartbeat is accepted only from the peer it names', () => {
  assert.equal(validateGossip(METRICS, encodeMessage(heartbeat('12D3KooWA')), '12D3KooWA', NOW).result, 'accept')
  const forged = validateGossip(METRICS, encodeMessage(heartbeat('12D3KooWA')), '12D3KooWB', NOW)
  assert.deepEqual(forged.result !== 'accept' && [forged.result, forged.reason], ['reject', 'sender-mismatch'])
  const bad = { ...heartbeat('12D3KooWA'), demand: { arin: -1 } }
  const v = validateGossip(METRICS, encodeMessage(bad as any), '12D3KooWA', NOW)
  assert.deepEqual(v.result !== 'accept' && [v.result, v.reason], ['reject', 'heartbeat-schema'])
})

test('messages on unknown topics or versions are ignored, not rejected', () => {
  const newer = validateGossip('/whoismesh/nets/3', encodeMessage({ networks: [], negatives: [] }), 'p', NOW)
  assert.deepEqual(newer.result !== 'accept' && [newer.result, newer.reason], ['ignore', 'unsupported-version'])
  const other = validateGossip('/something/else', new Uint8Array(1), 'p', NOW)
  assert.deepEqual(other.result !== 'accept' && [other.result, other.reason], ['ignore', 'unknown-topic'])
})

test('every message of a distrusted sender is rejected, whatever it holds', () => {
  const distrusted = (id: string): boolean => id === SENDER
  const good = encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255')], negatives: [] })
  assert.equal(validateGossip(NETS, good, SENDER, NOW, { distrusted: () => false }).result, 'accept')
  for (const [topic, data] of [[NETS, good], [METRICS, encodeMessage(heartbeat(SENDER))]] as const) {
    const v = validateGossip(topic, data, SENDER, NOW, { distrusted })
    assert.deepEqual(v.result !== 'accept' && [v.result, v.reason], ['reject', 'distrusted'], topic)
  }
})

test('a sender over its message rate is refused: rejected when it sent the message itself, ignored when a peer relays it; its rate refills with time', () => {
  const clock = { t: 0 }
  const rates = new GossipRates({ perSecond: { nets: 2, metrics: 1 }, burst: { nets: 3, metrics: 1 }, forgetAfterMs: 60_000 }, () => clock.t)
  const withinRate = (kind: 'nets' | 'metrics', id: string): boolean => rates.take(kind, id)
  const good = encodeMessage({ networks: [network('8.8.8.0', '8.8.8.255')], negatives: [] })
  const results = Array.from({ length: 5 }, () => validateGossip(NETS, good, SENDER, NOW, { withinRate, relay: SENDER }))
  assert.deepEqual(results.map(r => r.result), ['accept', 'accept', 'accept', 'reject', 'reject'], 'a burst of 3, then refused')
  assert.deepEqual(results[3].result !== 'accept' && results[3].reason, 'over-rate')
  const relayed = validateGossip(NETS, good, SENDER, NOW, { withinRate, relay: '12D3KooWRelay' })
  assert.deepEqual(relayed.result !== 'accept' && [relayed.result, relayed.reason], ['ignore', 'over-rate'], 'an honest relay is not blamed')
  // topics and senders have their own buckets
  assert.equal(validateGossip(METRICS, encodeMessage(heartbeat(SENDER)), SENDER, NOW, { withinRate }).result, 'accept')
  assert.equal(validateGossip(METRICS, encodeMessage(heartbeat('12D3KooWOther')), '12D3KooWOther', NOW, { withinRate }).result, 'accept')
  clock.t += 1000
  assert.deepEqual([0, 1, 2].map(() => validateGossip(NETS, good, SENDER, NOW, { withinRate }).result), ['accept', 'accept', 'reject'], 'two a second')
  clock.t += 120_000
  rates.take('nets', SENDER)
  assert.equal(rates.size, 1, 'senders (per topic) not heard for forgetAfterMs are forgotten')
})
