/**
 * The records the crawl finds and the mesh replicates: what a registry says about a network, a
 * negative answer for an address, and a local failure note. Addresses are uint32, ranges inclusive.
 */
import type { RegistryId } from '../registry/interface.js'

/**
 * What a network *is*, as a registry describes it. Addresses are uint32, `end` inclusive.
 * Empty string where the registry gave no value. These fields (and only these) enter digests.
 */
export interface NetworkIdentity {
  start: number
  end: number
  /** the registry that is authoritative for it (the one that finally answered) */
  registry: RegistryId
  /** registry handle, e.g. "NET-74-125-0-0-1", "62.239.237.0 - 62.239.237.255" (RIPE inetnum key) */
  handle: string
  /** network name (ARIN NetName, RIPE netname, RDAP `name`) */
  name: string
  /** registrant / organisation name */
  org: string
  /** ISO 3166 alpha-2 country code, upper case */
  country: string
}

/** A network parsed from one registry answer. */
export interface ParsedNetwork extends NetworkIdentity {
  /** the CIDR blocks exactly covering [start, end] (from the answer when given, else computed) */
  cidrs: string[]
  /** allocation type as the registry says it ("ASSIGNED PA", "DIRECT ALLOCATION", …) */
  type: string
  parentHandle: string
  /** ISO 8601 dates from RDAP events / WHOIS "created"/"RegDate", '' if absent */
  registered: string
  lastChanged: string
}

/** A network as stored: the parsed answer plus how it was fetched (not part of digests). */
export interface NetworkRecord extends ParsedNetwork {
  /**
   * how it was fetched; 'bulk': read from the registry's database dump (src/bulk) — such records
   * live in the data directory's snapshots, never in the index or on the wire (canonicalNetwork
   * refuses them), so a peer cannot pass a record off as bulk data
   */
  source: 'rdap' | 'whois' | 'bulk'
  /** ms since epoch */
  fetchedAt: number
  /** the address whose lookup found it; LISTED_QUERY_ADDRESS (0.0.0.0) when a listing of its parent's children did */
  queryAddress: number
  /**
   * A container whose children were listed completely (crawl/listing.ts): every child holding an
   * address among the first `listedSample` addresses of the shuffled sample (sampleSlice) is
   * stored too, so such an address whose most specific stored network is this one is answered by
   * it exactly. Absent when it was never listed (and then absent from the encoding, which keeps
   * the bytes of records written before listings existed). 1…SAMPLE_SIZE.
   */
  listedSample?: number
  /** ms since epoch of that listing; present exactly when `listedSample` is */
  listedAt?: number
  /**
   * Provenance: the peer id (base58) of the node that published this version of the record — the
   * node whose registry answer (or listing) it is. Gossip checks it against the message's signed
   * sender; `whoismesh distrust` drops every record a peer authored. Absent on records written
   * before provenance existed (and then absent from the encoding).
   */
  author?: string
}

/**
 * Why an address has a note of its own:
 * - `not-found`: the registry answered "no such network" (unallocated);
 * - `reserved`: reserved space, never asked;
 * - `answered`: the registry's answer for this very address is known and stored — a container
 *   (allocation, sub-allocation) with no more specific network at the address. Written by the node
 *   that asked the address (a complete listing of the container's children says the same for every
 *   sample address at once: NetworkRecord.listedSample). It makes the address exactly resolved
 *   although the network is no leaf.
 */
/** `queryAddress` of a network found by listing its parent's children (crawl/listing.ts): 0.0.0.0, never asked */
export const LISTED_QUERY_ADDRESS = 0

export type NegativeReason = 'not-found' | 'reserved' | 'answered'
export const NEGATIVE_REASONS: readonly NegativeReason[] = ['not-found', 'reserved', 'answered']

/**
 * A note on one address: the registry answered "no such network", it is reserved space, or its
 * answer is a stored container (`reason`). A fact, replicated.
 */
export interface NegativeRecord {
  address: number
  registry: RegistryId
  reason: NegativeReason
  /** ms since epoch */
  fetchedAt: number
  /** provenance, as NetworkRecord.author */
  author?: string
}

/** An address this node gave up on after retries. Local bookkeeping: not replicated, not in digests. */
export interface FailureRecord {
  address: number
  registry: RegistryId
  /** why the last attempt failed, e.g. "TransientLookupError: timeout" */
  reason: string
  attempts: number
  /** ms since epoch of the last attempt */
  at: number
}

declare const canonicalBrand: unique symbol

/**
 * A record rebuilt by canonical.ts: every field checked, canonical field order, no extra fields,
 * frozen. Its msgpack encoding is the same bytes on every node, and checking it again is free
 * (`canonicalNetwork(r) === r`), so it is rebuilt once per hop, not once per function it crosses.
 */
export type Canonical<T> = T & { readonly [canonicalBrand]: true }
export type CanonicalNetwork = Canonical<NetworkRecord>
export type CanonicalNegative = Canonical<NegativeRecord>
export type CanonicalFailure = Canonical<FailureRecord>
