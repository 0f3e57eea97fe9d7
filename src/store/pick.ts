/**
 * The pick rule: which of two different records for the same key is kept.
 *
 * Networks (key [start, end]): the one listed for the larger sample (`listedSample`, absent = 0:
 * a listing adds to what the record says); then the earliest `fetchedAt`; on a tie the smaller
 * `queryAddress`; on a tie the one whose canonical msgpack encoding is smaller byte-wise.
 * Negatives (key address): the earliest `fetchedAt`; on a tie the smaller encoding.
 *
 * It is a total order on distinct encodings, so `keep(a, keep(b, c))` is the minimum of the three
 * whatever the arrival order: replicas that receive the same records in any order end with the same
 * record under every key, byte for byte. A consequence: a later re-fetch of a network never replaces
 * the first one seen — the record states when the network was first observed (a listing marks the
 * record it has, keeping its `fetchedAt`, unless that record says otherwise than the registry's
 * answer the listing came from: then the answer is marked, and wins: crawl/listing.ts).
 */
import { encodeRecord, type Canonical, type NegativeRecord, type NetworkRecord } from '../record/index.js'
import { StoreCorruptError } from './errors.js'
import type { UpsertCounts } from './interface.js'
import type { Framed } from './value-format.js'

export interface Encoded<T> {
  record: T
  bytes: Buffer
}

/** negative when `a` is kept over `b`, positive when `b` is, 0 when they are the same bytes */
export function compareNetworks (a: Encoded<NetworkRecord>, b: Encoded<NetworkRecord>): number {
  return ((b.record.listedSample ?? 0) - (a.record.listedSample ?? 0)) ||
    (a.record.fetchedAt - b.record.fetchedAt) ||
    (a.record.queryAddress - b.record.queryAddress) ||
    Buffer.compare(a.bytes, b.bytes)
}

export function compareNegatives (a: Encoded<NegativeRecord>, b: Encoded<NegativeRecord>): number {
  return (a.record.fetchedAt - b.record.fetchedAt) || Buffer.compare(a.bytes, b.bytes)
}

/** Keeps, per key, the record the pick rule prefers among those in one commit. */
export function foldByKey<T extends Canonical<object>> (
  records: T[], keyOf: (r: T) => Buffer, compare: (a: Encoded<T>, b: Encoded<T>) => number, counts: UpsertCounts
): Array<Encoded<T> & { key: Buffer }> {
  const byKey = new Map<string, Encoded<T> & { key: Buffer }>()
  for (const record of records) {
    const key = keyOf(record)
    const cand = { record, bytes: encodeRecord(record), key }
    const id = key.toString('latin1')
    const prev = byKey.get(id)
    if (prev === undefined) byKey.set(id, cand)
    else {
      counts.unchanged++ // the loser of the two never reaches the store
      if (compare(cand, prev) < 0) byKey.set(id, cand)
    }
  }
  return [...byKey.values()]
}

/**
 * What a commit does with one winner of foldByKey, given what is stored under its key, and the
 * stored record (decoded once, here) when there is one.
 */
export function decide<T> (
  cand: Encoded<T>, stored: Framed | undefined, decodeStored: (b: Buffer) => T,
  compare: (a: Encoded<T>, b: Encoded<T>) => number, counts: UpsertCounts, dataDir: string
): { verdict: 'add' } | { verdict: 'replace' | 'keep-stored', stored: T } {
  if (stored === undefined) { counts.added++; return { verdict: 'add' } }
  if (stored.body.equals(cand.bytes)) { counts.unchanged++; return { verdict: 'keep-stored', stored: cand.record } }
  let record: T
  try {
    record = decodeStored(stored.body)
  } catch (err) {
    throw new StoreCorruptError(dataDir, `undecodable stored value: ${(err as Error).message}`, { cause: err })
  }
  if (compare(cand, { record, bytes: stored.body }) < 0) { counts.changed++; return { verdict: 'replace', stored: record } }
  counts.unchanged++
  return { verdict: 'keep-stored', stored: record }
}
