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
  source: 'rdap' | 'whois'
  /** ms since epoch */
  fetchedAt: number
  /** the address whose lookup found it */
  queryAddress: number
}

/** Outcome of parsing a WHOIS port-43 answer. */
export type WhoisAnswer =
  | { kind: 'network', network: ParsedNetwork }
  /** the answer points elsewhere ("ReferralServer: whois://whois.ripe.net", "Transferred to AfriNIC", ResourceLink) */
  | { kind: 'referral', registry?: RegistryId, host?: string, port?: number }
  | { kind: 'not-found', message: string }
  | { kind: 'rate-limited', retryAfterMs?: number, message: string }
  | { kind: 'banned', retryAfterMs?: number, message: string }
