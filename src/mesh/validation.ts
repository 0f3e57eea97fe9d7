/**
 * The one validation choke point for everything peers send: gossip messages on both topics and
 * records arriving by sync. Decode, schema, bounds; the answer is accept (with the decoded value),
 * ignore (harmless but useless: e.g. a heartbeat from ourselves, an old version) or reject (the
 * sender misbehaves: gossipsub lowers its score). Every outcome is counted by the caller.
 */
import { LISTED_QUERY_ADDRESS, canonicalNegative, isLeaf, canonicalNetwork, type CanonicalNegative, type CanonicalNetwork } from '../record/index.js'
import { DUMP_REGISTRY_IDS, REGISTRY_IDS, isRegistryId } from '../registry/interface.js'
import { slashEightOf, specialBlockOf } from '../registry/iana.js'
import { rangeToCidrs } from '../util/ipv4.js'
import { decodeMessage, type Heartbeat, type ValidRecords } from './messages.js'
import { parseTopic, TOPIC_VERSIONS } from './topics.js'
import type { Implausible, PlausibilityCheck } from './plausibility.js'

export const VALIDATION_LIMITS = {
  /** largest message accepted on any topic, bytes */
  maxMessageBytes: 1024 * 1024,
  /** records (networks + negatives) per nets message */
  maxBatchRecords: 5000,
  /** largest network a registry registers: a /8 */
  maxNetworkSize: 2 ** 24,
  /** handle, name, org, type, parent handle, dates */
  maxStringLength: 256,
  maxCidrs: 32,
  maxListenAddrs: 16,
  /** peers named in a heartbeat's `counting` list */
  maxCountedPeers: 1024,
  /** records stamped this far in the future are rejected, ms */
  maxClockSkewMs: 24 * 3600 * 1000
}

/** The earliest fetch time accepted (whoismesh did not exist before). */
const EARLIEST_FETCH = Date.UTC(2020, 0, 1)

/**
 * Why a message was ignored or rejected: a fixed set, so it can be a metrics label
 * (`whoismesh_gossip_refused_messages_total{reason}`). The human-readable detail goes to logs only.
 */
export const VALIDATION_REASONS = [
  // ignore: harmless, but not for us
  'unknown-topic', 'unsupported-version',
  // reject: the message as a whole
  'too-large', 'decode', 'not-an-object', 'batch-shape', 'batch-too-large',
  // reject: a record (one bad record rejects its whole batch)
  'record-schema', 'network-too-large', 'reserved-space', 'special-space', 'string-too-long', 'bad-country',
  'too-many-cidrs', 'bad-cidrs', 'query-outside', 'bad-fetch-time', 'listed-leaf', 'author-mismatch',
  // reject: a message from a peer the operator distrusts (`whoismesh distrust`)
  'distrusted',
  // a sender over its message rate (gossip-rates.ts): rejected from the sender, ignored from a relay
  'over-rate',
  // reject: a heartbeat
  'heartbeat-schema', 'sender-mismatch'
] as const
export type ValidationReason = typeof VALIDATION_REASONS[number]

export type Validation<T> =
  | { result: 'accept', value: T }
  | { result: 'ignore' | 'reject', reason: ValidationReason, detail: string }

/** Not before whoismesh existed, not more than the allowed clock skew in the future. */
const fetchTimeOk = (t: number, now: number): boolean => t >= EARLIEST_FETCH && t <= now + VALIDATION_LIMITS.maxClockSkewMs

const reject = (reason: ValidationReason, detail: string): { result: 'reject', reason: ValidationReason, detail: string } => ({ result: 'reject', reason, detail })
const ignore = (reason: ValidationReason, detail: string): { result: 'ignore', reason: ValidationReason, detail: string } => ({ result: 'ignore', reason, detail })
const accept = <T>(value: T): { result: 'accept', value: T } => ({ result: 'accept', value })

/** Checks one network record from a peer: accepted in canonical form, or rejected with the reason. */
export function checkNetworkRecord (v: unknown, now = Date.now()): Validation<CanonicalNetwork> {
  let r: CanonicalNetwork
  try {
    r = canonicalNetwork(v)
  } catch (err) {
    return reject('record-schema', (err as Error).message)
  }
  const L = VALIDATION_LIMITS
  if (r.end - r.start + 1 > L.maxNetworkSize) return reject('network-too-large', `network ${r.start}-${r.end} is larger than a /8`)
  for (const a of [r.start, r.end]) {
    if (slashEightOf(a).status === 'RESERVED') return reject('reserved-space', `network touches reserved /8 ${a >>> 24}`)
  }
  const special = specialBlockOf(r.start)
  if (special != null && r.end <= special.end) return reject('special-space', `network lies inside special-purpose space ${special.cidr}`)
  for (const s of [r.handle, r.name, r.org, r.type, r.parentHandle, r.registered, r.lastChanged]) {
    if (s.length > L.maxStringLength) return reject('string-too-long', 'string field too long')
  }
  if (r.country !== '' && !/^[A-Z]{2}$/.test(r.country)) return reject('bad-country', `bad country "${r.country.slice(0, 8)}"`)
  if (r.cidrs.length > L.maxCidrs) return reject('too-many-cidrs', 'too many cidrs')
  // registries list the blocks in their own order: compare as sets
  const given = [...r.cidrs].sort()
  const expected = rangeToCidrs(r.start, r.end).sort()
  if (given.length !== expected.length || given.some((c, i) => c !== expected[i])) return reject('bad-cidrs', 'cidrs do not cover the range')
  // 0.0.0.0 (never a queried address): the network came from a listing of its parent's children (crawl/listing.ts)
  if (r.queryAddress !== LISTED_QUERY_ADDRESS && (r.queryAddress < r.start || r.queryAddress > r.end)) return reject('query-outside', 'query address outside the network')
  if (!fetchTimeOk(r.fetchedAt, now)) return reject('bad-fetch-time', 'fetch time out of bounds')
  if (r.listedAt !== undefined && !fetchTimeOk(r.listedAt, now)) return reject('bad-fetch-time', 'listing time out of bounds')
  // a listing vouches for the addresses of a container's empty space: a leaf has none (record/classify.ts)
  if (r.listedSample !== undefined && isLeaf(r.registry, r.type)) return reject('listed-leaf', `a leaf (${r.type.slice(0, 40)}) carries a listing`)
  return accept(r)
}

/** Checks one negative record from a peer: accepted in canonical form, or rejected with the reason. */
export function checkNegativeRecord (v: unknown, now = Date.now()): Validation<CanonicalNegative> {
  let r: CanonicalNegative
  try {
    r = canonicalNegative(v)
  } catch (err) {
    return reject('record-schema', (err as Error).message)
  }
  if (slashEightOf(r.address).status === 'RESERVED') return reject('reserved-space', 'negative for reserved space')
  if (specialBlockOf(r.address) != null) return reject('special-space', 'negative for special-purpose space')
  if (!fetchTimeOk(r.fetchedAt, now)) return reject('bad-fetch-time', 'fetch time out of bounds')
  return accept(r)
}

/** A batch of records that passed: those to store, and those dropped as implausible (plausibility.ts). */
export interface CheckedRecords extends ValidRecords {
  implausible: Implausible[]
}

/**
 * Checks a batch of records (a nets message, or a sync reply). One bad record rejects the whole
 * batch: honest peers never send one. `sender`: the signed author of a nets message, which every
 * record in it must name as its author (a node gossips only what it found itself); a sync reply
 * relays other nodes' records, so it is not checked there. `plausible`: the checks against this
 * node's delegation files (plausibility.ts); a record that fails them is dropped on its own (the
 * files of two nodes can differ, so an honest peer may send one), and listed in `implausible`.
 */
export function validateRecords (networks: unknown, negatives: unknown, now = Date.now(), sender?: string, plausible?: PlausibilityCheck): Validation<CheckedRecords> {
  if (!Array.isArray(networks) || !Array.isArray(negatives)) return reject('batch-shape', 'networks and negatives must be arrays')
  if (networks.length + negatives.length > VALIDATION_LIMITS.maxBatchRecords) return reject('batch-too-large', `batch of ${networks.length + negatives.length} records exceeds ${VALIDATION_LIMITS.maxBatchRecords}`)
  const out: CheckedRecords = { networks: [], negatives: [], implausible: [] }
  for (const n of networks) {
    const v = checkNetworkRecord(n, now)
    if (v.result !== 'accept') return v
    if (sender !== undefined && v.value.author !== sender) return reject('author-mismatch', 'a network\'s author is not the message\'s sender')
    const p = plausible?.network(v.value) ?? { network: v.value }
    if ('dropped' in p) { out.implausible.push(p.dropped); continue }
    if (p.unlisted !== undefined) out.implausible.push(p.unlisted)
    out.networks.push(p.network)
  }
  for (const n of negatives) {
    const v = checkNegativeRecord(n, now)
    if (v.result !== 'accept') return v
    if (sender !== undefined && v.value.author !== sender) return reject('author-mismatch', 'a negative\'s author is not the message\'s sender')
    const dropped = plausible?.negative(v.value)
    if (dropped !== undefined) { out.implausible.push(dropped); continue }
    out.negatives.push(v.value)
  }
  return accept(out)
}

function isCountMap (v: unknown, keys: readonly string[] | undefined, max = 64): v is Record<string, number> {
  if (v == null || typeof v !== 'object' || Array.isArray(v)) return false
  const entries = Object.entries(v)
  if (entries.length > max) return false
  return entries.every(([k, n]) => (keys == null || keys.includes(k)) && k.length <= 64 && typeof n === 'number' && Number.isFinite(n) && n >= 0)
}

export function validateHeartbeat (v: unknown, from: string | undefined, now = Date.now()): Validation<Heartbeat> {
  if (v == null || typeof v !== 'object' || Array.isArray(v)) return reject('not-an-object', 'heartbeat is not an object')
  const h = v as Record<string, any>
  if (typeof h.peerId !== 'string' || h.peerId.length > 128) return reject('heartbeat-schema', 'bad peerId')
  if (from !== undefined && h.peerId !== from) return reject('sender-mismatch', 'heartbeat peerId differs from the signed sender')
  if (!Number.isSafeInteger(h.seq) || h.seq < 0) return reject('heartbeat-schema', 'bad seq')
  if (!Number.isSafeInteger(h.sentAt) || h.sentAt > now + VALIDATION_LIMITS.maxClockSkewMs) return reject('heartbeat-schema', 'bad sentAt')
  if (typeof h.version !== 'string' || h.version.length > 32) return reject('heartbeat-schema', 'bad version')
  if (typeof h.light !== 'boolean') return reject('heartbeat-schema', 'bad light flag')
  if (!Array.isArray(h.listen) || h.listen.length > VALIDATION_LIMITS.maxListenAddrs || !h.listen.every((a: unknown) => typeof a === 'string' && a.length <= 256 && a.startsWith('/'))) return reject('heartbeat-schema', 'bad listen addresses')
  if (!isCountMap(h.counters, undefined)) return reject('heartbeat-schema', 'bad counters')
  if (!isCountMap(h.demand, REGISTRY_IDS)) return reject('heartbeat-schema', 'bad demand')
  if (!isCountMap(h.rates, REGISTRY_IDS)) return reject('heartbeat-schema', 'bad rates')
  if (!isCountMap(h.backoff, REGISTRY_IDS) || !Object.keys(h.backoff).every(isRegistryId)) return reject('heartbeat-schema', 'bad backoff')
  const idx = h.index
  if (idx == null || typeof idx !== 'object' || !Number.isSafeInteger(idx.networks) || !Number.isSafeInteger(idx.negatives) || typeof idx.digest !== 'string' || !/^[0-9a-f]{64}$/.test(idx.digest)) return reject('heartbeat-schema', 'bad index summary')
  const s = h.sample
  if (s == null || typeof s !== 'object' || !Number.isSafeInteger(s.total) || !Number.isSafeInteger(s.resolved)) return reject('heartbeat-schema', 'bad sample summary')
  if (h.leaving !== undefined && typeof h.leaving !== 'boolean') return reject('heartbeat-schema', 'bad leaving flag')
  if (h.counting !== undefined && (!Array.isArray(h.counting) || h.counting.length > VALIDATION_LIMITS.maxCountedPeers || !h.counting.every((id: unknown) => typeof id === 'string' && id.length <= 128))) return reject('heartbeat-schema', 'bad counting list')
  if (h.countingMask !== undefined && (!Array.isArray(h.counting) || !Array.isArray(h.countingMask) || h.countingMask.length !== h.counting.length || !h.countingMask.every((m: unknown) => Number.isInteger(m) && (m as number) >= 0 && (m as number) < 2 ** REGISTRY_IDS.length))) return reject('heartbeat-schema', 'bad counting mask')
  if (h.bulk !== undefined && (!isCountMap(h.bulk, DUMP_REGISTRY_IDS) || !Object.values(h.bulk).every(n => Number.isSafeInteger(n)))) return reject('heartbeat-schema', 'bad bulk serials')
  return accept({
    peerId: h.peerId,
    seq: h.seq,
    sentAt: h.sentAt,
    version: h.version,
    light: h.light,
    listen: h.listen,
    counters: h.counters,
    demand: h.demand,
    rates: h.rates,
    backoff: h.backoff,
    index: { networks: idx.networks, negatives: idx.negatives, digest: idx.digest },
    sample: { total: s.total, resolved: s.resolved },
    ...(h.leaving === true ? { leaving: true } : {}),
    ...(h.counting !== undefined ? { counting: h.counting } : {}),
    ...(h.countingMask !== undefined ? { countingMask: h.countingMask } : {}),
    ...(h.bulk !== undefined && Object.keys(h.bulk).length > 0 ? { bulk: h.bulk } : {})
  })
}

export type InboundMessage =
  | { kind: 'nets', message: CheckedRecords }
  | { kind: 'metrics', message: Heartbeat }

/** What validateGossip knows of the peers beyond the message. */
export interface GossipPeers {
  /** whether the operator distrusts a peer (`whoismesh distrust`): its messages are rejected */
  distrusted?: (peerId: string) => boolean
  /** takes a token of the sender's rate for a message of this topic (GossipRates.take); false: over it */
  withinRate?: (kind: 'nets' | 'metrics', peerId: string) => boolean
  /** the peer the message came from (gossipsub's propagation source), when not its sender */
  relay?: string
  /** the checks against this node's delegation files, once it has them (plausibility.ts) */
  plausible?: PlausibilityCheck
}

/**
 * Validates a gossip message: topic, sender, rate, size, decoding, schema and bounds.
 * @param from the signed sender's peer id
 */
export function validateGossip (topic: string, data: Uint8Array, from: string | undefined, now = Date.now(), peers: GossipPeers = {}): Validation<InboundMessage> {
  const t = parseTopic(topic)
  if (t == null) return ignore('unknown-topic', `unknown topic ${topic.slice(0, 64)}`)
  if (t.version !== TOPIC_VERSIONS[t.kind]) return ignore('unsupported-version', `unsupported ${t.kind} version ${t.version}`)
  if (from !== undefined && peers.distrusted?.(from) === true) return reject('distrusted', 'the sender is distrusted by this node\'s operator')
  if (from !== undefined && peers.withinRate?.(t.kind, from) === false) {
    const detail = `the sender sends more ${t.kind} messages than its rate`
    return peers.relay === undefined || peers.relay === from ? reject('over-rate', detail) : ignore('over-rate', detail)
  }
  if (data.byteLength > VALIDATION_LIMITS.maxMessageBytes) return reject('too-large', `message of ${data.byteLength} bytes exceeds ${VALIDATION_LIMITS.maxMessageBytes}`)
  let decoded: unknown
  try {
    decoded = decodeMessage(data)
  } catch {
    return reject('decode', 'not valid msgpack')
  }
  if (t.kind === 'nets') {
    if (decoded == null || typeof decoded !== 'object') return reject('not-an-object', 'nets message is not an object')
    const m = decoded as Record<string, unknown>
    // an unsigned message has no author to check against: a record's author must still be given
    const v = validateRecords(m.networks, m.negatives, now, from ?? '', peers.plausible)
    return v.result === 'accept' ? accept({ kind: 'nets', message: v.value }) : v
  }
  const v = validateHeartbeat(decoded, from, now)
  return v.result === 'accept' ? accept({ kind: 'metrics', message: v.value }) : v
}
