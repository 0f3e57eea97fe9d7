/**
 * The format of a stored network or negative value: a small header before the record's msgpack
 * body (record/codec.ts), so that open can rebuild the in-memory indexes and digests without
 * decoding or hashing any record:
 *
 *   byte 0      value format (1)
 *   byte 1      registry, as its index in REGISTRY_IDS (that order is persisted: append only)
 *   bytes 2–33  the item's identity hash (digest.ts), derived from the body
 *   bytes 34–   msgpack body: the canonical record
 *
 * The header is derived data written in the same put as the body; peers never send it (they send
 * records, and the receiver hashes them itself). Failure and meta values are plain msgpack.
 */
import { HASH_BYTES } from './digest.js'

export const VALUE_FORMAT = 1
export const HEADER_BYTES = 2 + HASH_BYTES

/** header + body, see the top of this file */
export function frameValue (registryIndex: number, hash: Uint8Array, body: Uint8Array): Buffer {
  const v = Buffer.allocUnsafe(HEADER_BYTES + body.length)
  v[0] = VALUE_FORMAT
  v[1] = registryIndex
  v.set(hash.subarray(0, HASH_BYTES), 2)
  v.set(body, HEADER_BYTES)
  return v
}

export interface Framed {
  registryIndex: number
  hash: Buffer
  body: Buffer
}

/** splits a framed value; undefined when it is not one this version wrote */
export function unframeValue (v: Buffer, registryCount: number): Framed | undefined {
  if (v.length <= HEADER_BYTES || v[0] !== VALUE_FORMAT || v[1] >= registryCount) return undefined
  return { registryIndex: v[1], hash: v.subarray(2, HEADER_BYTES), body: v.subarray(HEADER_BYTES) }
}
