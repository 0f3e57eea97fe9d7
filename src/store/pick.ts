/**
 * The pick rule: which of two different records for the same key is kept.
 *
 * Networks (key [start, end]): the one with the earliest `fetchedAt`; on a tie the smaller
 * `queryAddress`; on a tie the one whose canonical msgpack encoding is smaller byte-wise.
 * Negatives (key address): the earliest `fetchedAt`; on a tie the smaller encoding.
 *
 * It is a total order on distinct encodings, so `keep(a, keep(b, c))` is the minimum of the three
 * whatever the arrival order: replicas that receive the same records in any order end with the same
 * record under every key, byte for byte. A consequence: a later re-fetch of a network never replaces
 * the first one seen — the record states when the network was first observed.
 */
import type { NegativeRecord, NetworkRecord } from '../record/index.js'

export interface Encoded<T> {
  record: T
  bytes: Buffer
}

/** negative when `a` is kept over `b`, positive when `b` is, 0 when they are the same bytes */
export function compareNetworks (a: Encoded<NetworkRecord>, b: Encoded<NetworkRecord>): number {
  return (a.record.fetchedAt - b.record.fetchedAt) ||
    (a.record.queryAddress - b.record.queryAddress) ||
    Buffer.compare(a.bytes, b.bytes)
}

export function compareNegatives (a: Encoded<NegativeRecord>, b: Encoded<NegativeRecord>): number {
  return (a.record.fetchedAt - b.record.fetchedAt) || Buffer.compare(a.bytes, b.bytes)
}
