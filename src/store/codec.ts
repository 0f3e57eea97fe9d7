/**
 * Value encoding: msgpack through one Packr with fixed options (plain maps, no shared record
 * structures, no bundled strings), so the same record always encodes to the same bytes on every
 * node. Records are first rebuilt into a canonical object with a fixed field order, so the
 * caller's key order or extra fields never change the bytes. The same functions validate what
 * enters the store (InvalidRecordError names the bad field).
 *
 * Network and negative values carry a small header before the msgpack body, so that open can
 * rebuild the in-memory indexes and digests without decoding or hashing any record:
 *
 *   byte 0      value format (1)
 *   byte 1      registry, as its index in REGISTRY_IDS (that order is persisted: append only)
 *   bytes 2–33  the item's identity hash (digest.ts), derived from the body
 *   bytes 34–   msgpack body: the canonical record
 *
 * The header is derived data written in the same put as the body; peers never send it (they send
 * records, and the receiver hashes them itself). Failure and meta values are plain msgpack.
 */
import { Packr } from 'msgpackr'
import type { NetworkRecord } from '../lookup/interface.js'
import { isRegistryId, type RegistryId } from '../registry/interface.js'
import { HASH_BYTES } from './digest.js'
import { InvalidRecordError } from './errors.js'
import { NEGATIVE_REASONS, type FailureRecord, type NegativeReason, type NegativeRecord } from './interface.js'

const packr = new Packr({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  variableMapSize: true,
  mapsAsObjects: true,
  encodeUndefinedAsNil: false,
  int64AsType: 'number'
})

/** msgpack-encodes a JSON-able value. The returned buffer is owned by the caller. */
export function encodeValue (value: unknown): Buffer {
  return Buffer.from(packr.pack(value))
}

export function decodeValue (bytes: Uint8Array): unknown {
  return packr.unpack(bytes)
}

const isU32 = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff
const isTime = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

function u32 (v: unknown, field: string): number {
  if (!isU32(v)) throw new InvalidRecordError(field, `expected an IPv4 address as an integer 0…4294967295, got ${String(v)}`)
  return v
}

function time (v: unknown, field: string): number {
  if (!isTime(v)) throw new InvalidRecordError(field, `expected ms since epoch as a non-negative integer, got ${String(v)}`)
  return v
}

function str (v: unknown, field: string): string {
  if (typeof v !== 'string') throw new InvalidRecordError(field, `expected a string, got ${typeof v}`)
  return v
}

function registry (v: unknown, field: string): RegistryId {
  if (typeof v !== 'string' || !isRegistryId(v)) throw new InvalidRecordError(field, `unknown registry ${String(v)}`)
  return v
}

function obj (v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidRecordError(field, 'expected an object')
  return v as Record<string, unknown>
}

/** Validates and rebuilds a network record with the canonical field order. */
export function canonicalNetwork (v: unknown, field = 'network'): NetworkRecord {
  const r = obj(v, field)
  const start = u32(r.start, `${field}.start`)
  const end = u32(r.end, `${field}.end`)
  if (start > end) throw new InvalidRecordError(`${field}.end`, `end ${end} is before start ${start}`)
  if (!Array.isArray(r.cidrs)) throw new InvalidRecordError(`${field}.cidrs`, 'expected an array of strings')
  const cidrs = r.cidrs.map((c, i) => str(c, `${field}.cidrs[${i}]`))
  if (r.source !== 'rdap' && r.source !== 'whois') throw new InvalidRecordError(`${field}.source`, `expected "rdap" or "whois", got ${String(r.source)}`)
  return {
    start,
    end,
    registry: registry(r.registry, `${field}.registry`),
    handle: str(r.handle, `${field}.handle`),
    name: str(r.name, `${field}.name`),
    org: str(r.org, `${field}.org`),
    country: str(r.country, `${field}.country`),
    cidrs,
    type: str(r.type, `${field}.type`),
    parentHandle: str(r.parentHandle, `${field}.parentHandle`),
    registered: str(r.registered, `${field}.registered`),
    lastChanged: str(r.lastChanged, `${field}.lastChanged`),
    source: r.source,
    fetchedAt: time(r.fetchedAt, `${field}.fetchedAt`),
    queryAddress: u32(r.queryAddress, `${field}.queryAddress`)
  }
}

export function canonicalNegative (v: unknown, field = 'negative'): NegativeRecord {
  const r = obj(v, field)
  if (!NEGATIVE_REASONS.includes(r.reason as NegativeReason)) throw new InvalidRecordError(`${field}.reason`, `expected one of ${NEGATIVE_REASONS.join(', ')}, got ${String(r.reason)}`)
  return {
    address: u32(r.address, `${field}.address`),
    registry: registry(r.registry, `${field}.registry`),
    reason: r.reason as NegativeReason,
    fetchedAt: time(r.fetchedAt, `${field}.fetchedAt`)
  }
}

export function canonicalFailure (v: unknown, field = 'failure'): FailureRecord {
  const r = obj(v, field)
  const attempts = r.attempts
  if (typeof attempts !== 'number' || !Number.isSafeInteger(attempts) || attempts < 0) throw new InvalidRecordError(`${field}.attempts`, `expected a non-negative integer, got ${String(attempts)}`)
  return {
    address: u32(r.address, `${field}.address`),
    registry: registry(r.registry, `${field}.registry`),
    reason: str(r.reason, `${field}.reason`),
    attempts,
    at: time(r.at, `${field}.at`)
  }
}

export function checkAddress (v: unknown, field: string): number {
  return u32(v, field)
}

/** Rejects values that would not survive a msgpack round trip as JSON (functions, symbols, bigint, undefined inside). */
export function checkJsonable (v: unknown, field: string): void {
  try {
    const s = JSON.stringify(v)
    if (s === undefined) throw new Error('not JSON-able')
    if (JSON.stringify(JSON.parse(s)) !== s) throw new Error('does not round-trip')
  } catch (err) {
    throw new InvalidRecordError(field, `expected a JSON-able value (${(err as Error).message})`)
  }
}

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
