/**
 * The format of a stored network or negative value: a small header before the record's msgpack
 * body (record/codec.ts), so that open can rebuild the in-memory indexes and digests without
 * decoding or hashing any record:
 *
 *   byte 0      value format (3; 1 and 2 are still read)
 *   byte 1      bits 0–5: registry, as its index in REGISTRY_IDS (that order is persisted: append only)
 *               bit 6: a network listed completely (NetworkRecord.listedSample; schema 4, schema.ts):
 *               open decodes these bodies only, for their sample size
 *               bit 7: a network: it is a leaf (record/classify.ts); a negative: its reason is
 *               'answered' (its address's answer is a stored network, record/interface.ts)
 *   bytes 2–33  the item's identity hash (digest.ts), derived from the body
 *   bytes 34–65 the item's version hash: sha256 of the body (digest.ts)
 *   bytes 66–   msgpack body: the canonical record
 *
 * Older formats are read as they were: format 2 lacks the version hash (bytes 34– are the body),
 * which is computed from the body where it is needed (`versionOf`: once per item at open, and by
 * sync's reads) until the value is rewritten — by a commit that replaces the record, or by
 * `whoismesh repair`, which rewrites every header (repair.ts). Format 1 (before leaves and
 * containers) also had the registry index alone in byte 1: its networks read as containers — the
 * conservative answer — and are marked unclassified until repair. A store holding format 3 values
 * has schema version 3 (schema.ts), which older versions refuse to open or repair.
 *
 * The header is derived data written in the same put as the body; peers never send it (they send
 * records, and the receiver hashes and classifies them itself). Failure and meta values are plain
 * msgpack.
 */
import { isLeaf, encodeRecord, type CanonicalNegative, type CanonicalNetwork } from '../record/index.js'
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { HASH_BYTES, negativeHash, networkHash, versionHash } from './digest.js'

export const VALUE_FORMAT = 3
/** the format before the version hash: still read */
export const VALUE_FORMAT_V2 = 2
/** the format before the leaf bit: still read */
export const VALUE_FORMAT_V1 = 1
export const HEADER_BYTES = 2 + 2 * HASH_BYTES
/** header size of formats 1 and 2 */
const OLD_HEADER_BYTES = 2 + HASH_BYTES
const LEAF_BIT = 0x80
const LISTED_BIT = 0x40
const REGISTRY_BITS = 0x3f

const REGISTRY_INDEX = new Map<RegistryId, number>(REGISTRY_IDS.map((r, i) => [r, i]))

/** The registry byte of a header: the registry's index in REGISTRY_IDS. */
export function registryIndexOf (r: RegistryId): number {
  return REGISTRY_INDEX.get(r) as number
}

/** The hashes of a record as a commit computed them already (else they are computed here). */
export interface ItemHashes {
  identity: Uint8Array
  version: Uint8Array
}

/** The stored value of a canonical network (body and hashes as computed already, or from the record). */
export function networkValue (r: CanonicalNetwork, body: Uint8Array = encodeRecord(r), hashes?: ItemHashes): Buffer {
  return frameValue(registryIndexOf(r.registry), hashes?.identity ?? networkHash(r), body, isLeaf(r.registry, r.type), hashes?.version, r.listedSample !== undefined)
}

/** The stored value of a canonical negative. */
export function negativeValue (r: CanonicalNegative, body: Uint8Array = encodeRecord(r), hashes?: ItemHashes): Buffer {
  return frameValue(registryIndexOf(r.registry), hashes?.identity ?? negativeHash(r), body, r.reason === 'answered', hashes?.version)
}

/** header + body, see the top of this file */
export function frameValue (registryIndex: number, identity: Uint8Array, body: Uint8Array, leaf = false, version: Uint8Array = versionHash(body), listed = false): Buffer {
  if (!Number.isInteger(registryIndex) || registryIndex < 0 || registryIndex > REGISTRY_BITS) throw new RangeError(`registry index ${registryIndex} does not fit the header`)
  const v = Buffer.allocUnsafe(HEADER_BYTES + body.length)
  v[0] = VALUE_FORMAT
  v[1] = registryIndex | (leaf ? LEAF_BIT : 0) | (listed ? LISTED_BIT : 0)
  v.set(identity.subarray(0, HASH_BYTES), 2)
  v.set(version.subarray(0, HASH_BYTES), 2 + HASH_BYTES)
  v.set(body, HEADER_BYTES)
  return v
}

export interface Framed {
  /** the header's format (VALUE_FORMAT, or an older one still read) */
  format: number
  registryIndex: number
  /** the header's bit 7: a network's leaf bit, a negative's 'answered' bit; false for a format 1 value */
  leaf: boolean
  /** false for a format 1 value, whose header predates the leaf bit */
  classified: boolean
  /** the header's bit 6: a network whose record carries `listedSample` */
  listed: boolean
  identity: Buffer
  /** the header's version hash; undefined for a format 1 or 2 value (see `versionOf`) */
  version: Buffer | undefined
  body: Buffer
}

/** splits a framed value; undefined when it is not one this version reads */
export function unframeValue (v: Buffer, registryCount: number): Framed | undefined {
  const format = v[0]
  if (format === VALUE_FORMAT) {
    if (v.length <= HEADER_BYTES) return undefined
    const registryIndex = v[1] & REGISTRY_BITS
    if (registryIndex >= registryCount) return undefined
    return {
      format,
      registryIndex,
      leaf: (v[1] & LEAF_BIT) !== 0,
      classified: true,
      listed: (v[1] & LISTED_BIT) !== 0,
      identity: v.subarray(2, 2 + HASH_BYTES),
      version: v.subarray(2 + HASH_BYTES, HEADER_BYTES),
      body: v.subarray(HEADER_BYTES)
    }
  }
  if (format !== VALUE_FORMAT_V2 && format !== VALUE_FORMAT_V1) return undefined
  if (v.length <= OLD_HEADER_BYTES) return undefined
  const identity = v.subarray(2, OLD_HEADER_BYTES)
  const body = v.subarray(OLD_HEADER_BYTES)
  if (format === VALUE_FORMAT_V2) {
    const registryIndex = v[1] & REGISTRY_BITS
    if (registryIndex >= registryCount) return undefined
    return { format, registryIndex, leaf: (v[1] & LEAF_BIT) !== 0, classified: true, listed: false, identity, version: undefined, body }
  }
  if (v[1] >= registryCount) return undefined
  return { format, registryIndex: v[1], leaf: false, classified: false, listed: false, identity, version: undefined, body }
}

/** peekFrame's bits beside the body's offset (its low 8 bits) */
export const PEEK_BIT7 = 0x100
export const PEEK_CLASSIFIED = 0x200
export const PEEK_LISTED = 0x400

/**
 * What unframeValue reads of a value's header — where the body begins (the low 8 bits), and
 * PEEK_BIT7 (`leaf`), PEEK_CLASSIFIED, PEEK_LISTED — packed in a number, without slicing the
 * value; -1 when unframeValue would refuse it. For passes over every stored value.
 */
export function peekFrame (v: Uint8Array, registryCount: number): number {
  const format = v[0]
  if (format === VALUE_FORMAT) {
    if (v.length <= HEADER_BYTES || (v[1] & REGISTRY_BITS) >= registryCount) return -1
    return HEADER_BYTES | PEEK_CLASSIFIED | ((v[1] & LEAF_BIT) !== 0 ? PEEK_BIT7 : 0) | ((v[1] & LISTED_BIT) !== 0 ? PEEK_LISTED : 0)
  }
  if (v.length <= OLD_HEADER_BYTES) return -1
  if (format === VALUE_FORMAT_V2) {
    if ((v[1] & REGISTRY_BITS) >= registryCount) return -1
    return OLD_HEADER_BYTES | PEEK_CLASSIFIED | ((v[1] & LEAF_BIT) !== 0 ? PEEK_BIT7 : 0)
  }
  if (format !== VALUE_FORMAT_V1 || v[1] >= registryCount) return -1
  return OLD_HEADER_BYTES
}

/** the version hash of a framed value: from its header, or (an older format) computed from its body */
export function versionOf (f: Framed): Buffer {
  return f.version ?? versionHash(f.body)
}
