/**
 * The format of a stored network or negative value: a small header before the record's msgpack
 * body (record/codec.ts), so that open can rebuild the in-memory indexes and digests without
 * decoding or hashing any record:
 *
 *   byte 0      value format (2; 1 is still read)
 *   byte 1      bits 0–6: registry, as its index in REGISTRY_IDS (that order is persisted: append only)
 *               bit 7: a network: it is a leaf (record/classify.ts); a negative: its reason is
 *               'answered' (its address's answer is a stored network, record/interface.ts)
 *   bytes 2–33  the item's identity hash (digest.ts), derived from the body
 *   bytes 34–   msgpack body: the canonical record
 *
 * Format 1 (before leaves and containers) had the registry index alone in byte 1. Its values are
 * read as they were, their networks as containers — the conservative answer — and marked
 * unclassified until `whoismesh repair` rewrites their headers (repair.ts). A store holding format 2
 * values has schema version 2 (schema.ts), which older versions refuse to open or repair.
 *
 * The header is derived data written in the same put as the body; peers never send it (they send
 * records, and the receiver hashes and classifies them itself). Failure and meta values are plain
 * msgpack.
 */
import { isLeaf, encodeRecord, type CanonicalNegative, type CanonicalNetwork } from '../record/index.js'
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { HASH_BYTES, negativeHash, networkHash } from './digest.js'

export const VALUE_FORMAT = 2
/** the format before the leaf bit: still read */
export const VALUE_FORMAT_V1 = 1
export const HEADER_BYTES = 2 + HASH_BYTES
const LEAF_BIT = 0x80
const REGISTRY_BITS = 0x7f

const REGISTRY_INDEX = new Map<RegistryId, number>(REGISTRY_IDS.map((r, i) => [r, i]))

/** The registry byte of a header: the registry's index in REGISTRY_IDS. */
export function registryIndexOf (r: RegistryId): number {
  return REGISTRY_INDEX.get(r) as number
}

/** The stored value of a canonical network (hash and body as computed already, or from the record). */
export function networkValue (r: CanonicalNetwork, hash: Uint8Array = networkHash(r), body: Uint8Array = encodeRecord(r)): Buffer {
  return frameValue(registryIndexOf(r.registry), hash, body, isLeaf(r.registry, r.type))
}

/** The stored value of a canonical negative. */
export function negativeValue (r: CanonicalNegative, hash: Uint8Array = negativeHash(r), body: Uint8Array = encodeRecord(r)): Buffer {
  return frameValue(registryIndexOf(r.registry), hash, body, r.reason === 'answered')
}

/** header + body, see the top of this file */
export function frameValue (registryIndex: number, hash: Uint8Array, body: Uint8Array, leaf = false): Buffer {
  if (!Number.isInteger(registryIndex) || registryIndex < 0 || registryIndex > REGISTRY_BITS) throw new RangeError(`registry index ${registryIndex} does not fit the header`)
  const v = Buffer.allocUnsafe(HEADER_BYTES + body.length)
  v[0] = VALUE_FORMAT
  v[1] = registryIndex | (leaf ? LEAF_BIT : 0)
  v.set(hash.subarray(0, HASH_BYTES), 2)
  v.set(body, HEADER_BYTES)
  return v
}

export interface Framed {
  registryIndex: number
  /** the header's bit 7: a network's leaf bit, a negative's 'answered' bit; false for a format 1 value */
  leaf: boolean
  /** false for a format 1 value, whose header predates the leaf bit */
  classified: boolean
  hash: Buffer
  body: Buffer
}

/** splits a framed value; undefined when it is not one this version reads */
export function unframeValue (v: Buffer, registryCount: number): Framed | undefined {
  if (v.length <= HEADER_BYTES) return undefined
  const hash = v.subarray(2, HEADER_BYTES)
  const body = v.subarray(HEADER_BYTES)
  if (v[0] === VALUE_FORMAT) {
    const registryIndex = v[1] & REGISTRY_BITS
    if (registryIndex >= registryCount) return undefined
    return { registryIndex, leaf: (v[1] & LEAF_BIT) !== 0, classified: true, hash, body }
  }
  if (v[0] === VALUE_FORMAT_V1) {
    if (v[1] >= registryCount) return undefined
    return { registryIndex: v[1], leaf: false, classified: false, hash, body }
  }
  return undefined
}
