/**
 * Canonicalisation: checks a value field by field and rebuilds it as a record with the canonical
 * field order and nothing else (InvalidRecordError names the bad field). The result is frozen and
 * remembered, so asking again — the store committing what validation or the store itself already
 * rebuilt — returns it at once: a record is canonicalised once per hop.
 */
import { isRegistryId, type RegistryId } from '../registry/interface.js'
import { InvalidRecordError } from './errors.js'
import {
  NEGATIVE_REASONS, type CanonicalFailure, type CanonicalNegative, type CanonicalNetwork, type NegativeReason
} from './interface.js'
import { recordWork } from './metrics.js'
import { SAMPLE_SIZE } from '../sample/index.js'

type Kind = 'network' | 'negative' | 'failure'

/** the records this module built, by kind (frozen: nobody can make them non-canonical afterwards) */
const built: Record<Kind, WeakSet<object>> = { network: new WeakSet(), negative: new WeakSet(), failure: new WeakSet() }

/** Whether `v` is a record of that kind that canonicalNetwork / canonicalNegative / canonicalFailure built. */
export function isCanonical (v: unknown, kind: Kind): boolean {
  return typeof v === 'object' && v !== null && built[kind].has(v)
}

function seal<T extends object> (kind: Kind, r: T): T {
  recordWork.canonicalised++
  built[kind].add(Object.freeze(r))
  return r
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
export function canonicalNetwork (v: unknown, field = 'network'): CanonicalNetwork {
  if (isCanonical(v, 'network')) return v as CanonicalNetwork
  const r = obj(v, field)
  const start = u32(r.start, `${field}.start`)
  const end = u32(r.end, `${field}.end`)
  if (start > end) throw new InvalidRecordError(`${field}.end`, `end ${end} is before start ${start}`)
  if (!Array.isArray(r.cidrs)) throw new InvalidRecordError(`${field}.cidrs`, 'expected an array of strings')
  const cidrs = Object.freeze(r.cidrs.map((c, i) => str(c, `${field}.cidrs[${i}]`))) as string[]
  if (r.source !== 'rdap' && r.source !== 'whois') throw new InvalidRecordError(`${field}.source`, `expected "rdap" or "whois", got ${String(r.source)}`)
  return seal('network', {
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
    queryAddress: u32(r.queryAddress, `${field}.queryAddress`),
    ...listed(r, field),
    ...author(r, field)
  }) as CanonicalNetwork
}

/**
 * A network's listing fields (NetworkRecord.listedSample): both or neither, and none at all in the
 * canonical form of a network never listed, so its bytes are those it had before the fields existed.
 */
function listed (r: Record<string, unknown>, field: string): { listedSample?: number, listedAt?: number } {
  if (r.listedSample === undefined && r.listedAt === undefined) return {}
  const n = r.listedSample
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > SAMPLE_SIZE) throw new InvalidRecordError(`${field}.listedSample`, `expected a sample size 1…${SAMPLE_SIZE}, got ${String(n)}`)
  return { listedSample: n, listedAt: time(r.listedAt, `${field}.listedAt`) }
}

/** A libp2p peer id as text: base58btc, as long as an Ed25519 or RSA key's id may be. */
export function isPeerIdText (v: unknown): v is string {
  return typeof v === 'string' && v.length >= 8 && v.length <= 128 && /^[1-9A-HJ-NP-Za-km-z]+$/.test(v)
}

/** A record's provenance (NetworkRecord.author): absent from the canonical form when not given. */
function author (r: Record<string, unknown>, field: string): { author?: string } {
  if (r.author === undefined) return {}
  if (!isPeerIdText(r.author)) throw new InvalidRecordError(`${field}.author`, `expected a peer id, got ${String(r.author).slice(0, 64)}`)
  return { author: r.author }
}

export function canonicalNegative (v: unknown, field = 'negative'): CanonicalNegative {
  if (isCanonical(v, 'negative')) return v as CanonicalNegative
  const r = obj(v, field)
  if (!NEGATIVE_REASONS.includes(r.reason as NegativeReason)) throw new InvalidRecordError(`${field}.reason`, `expected one of ${NEGATIVE_REASONS.join(', ')}, got ${String(r.reason)}`)
  return seal('negative', {
    address: u32(r.address, `${field}.address`),
    registry: registry(r.registry, `${field}.registry`),
    reason: r.reason as NegativeReason,
    fetchedAt: time(r.fetchedAt, `${field}.fetchedAt`),
    ...author(r, field)
  }) as CanonicalNegative
}

export function canonicalFailure (v: unknown, field = 'failure'): CanonicalFailure {
  if (isCanonical(v, 'failure')) return v as CanonicalFailure
  const r = obj(v, field)
  const attempts = r.attempts
  if (typeof attempts !== 'number' || !Number.isSafeInteger(attempts) || attempts < 0) throw new InvalidRecordError(`${field}.attempts`, `expected a non-negative integer, got ${String(attempts)}`)
  return seal('failure', {
    address: u32(r.address, `${field}.address`),
    registry: registry(r.registry, `${field}.registry`),
    reason: str(r.reason, `${field}.reason`),
    attempts,
    at: time(r.at, `${field}.at`)
  }) as CanonicalFailure
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
