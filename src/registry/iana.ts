/**
 * The IANA /8 table and the special-purpose blocks inside allocated space: which registry to ask
 * first for an address, and which addresses must never be asked about at all.
 */
import ianaTable from './data/iana-slash-eights.json' with { type: 'json' }
import type { RegistryId, SlashEight, SlashEightStatus } from './interface.js'
import { parseCidr } from '../util/ipv4.js'

/** Date of the IANA registry the table was generated from (scripts/gen-iana-table.ts). */
export const IANA_TABLE_DATE: string = ianaTable.date

type Row = [number, SlashEightStatus, string, RegistryId | null, string | null, string | null]

const TABLE: SlashEight[] = (ianaTable.slashEights as Row[]).map(([octet, status, designation, registry, whois, rdap]) => ({
  octet, status, designation, registry: registry ?? undefined, whois: whois ?? undefined, rdap: rdap ?? undefined
}))

/** The IANA record of the /8 holding `address`. */
export function slashEightOf (address: number): SlashEight {
  return TABLE[address >>> 24]
}

/** All 256 /8 records, in order. */
export function slashEights (): readonly SlashEight[] {
  return TABLE
}

/**
 * Special-purpose blocks (RFC 6890 and successors) that lie in otherwise allocated or legacy
 * /8s, plus the private and reserved /8s. Registries answer "not found" for these; whoismesh
 * never queries them.
 */
export const SPECIAL_PURPOSE_BLOCKS: ReadonlyArray<{ cidr: string, start: number, end: number, name: string }> = [
  ['0.0.0.0/8', 'This network'],
  ['10.0.0.0/8', 'Private-Use'],
  ['100.64.0.0/10', 'Shared Address Space'],
  ['127.0.0.0/8', 'Loopback'],
  ['169.254.0.0/16', 'Link Local'],
  ['172.16.0.0/12', 'Private-Use'],
  ['192.0.0.0/24', 'IETF Protocol Assignments'],
  ['192.0.2.0/24', 'Documentation (TEST-NET-1)'],
  ['192.88.99.0/24', 'Deprecated 6to4 Relay Anycast'],
  ['192.168.0.0/16', 'Private-Use'],
  ['198.18.0.0/15', 'Benchmarking'],
  ['198.51.100.0/24', 'Documentation (TEST-NET-2)'],
  ['203.0.113.0/24', 'Documentation (TEST-NET-3)'],
  ['224.0.0.0/4', 'Multicast'],
  ['240.0.0.0/4', 'Reserved']
].map(([cidr, name]) => ({ cidr, name, ...parseCidr(cidr) }))

/** The special-purpose block containing `address`, if any. */
export function specialBlockOf (address: number): { cidr: string, start: number, end: number, name: string } | undefined {
  for (const b of SPECIAL_PURPOSE_BLOCKS) {
    if (address >= b.start && address <= b.end) return b
  }
  return undefined
}

/**
 * The registry to ask first about `address`: the RIR of its /8 (for legacy space, the RIR that
 * administers it; transfers are then followed by redirect/referral). Undefined for reserved and
 * special-purpose space, which is never queried.
 */
export function registryForAddress (address: number): RegistryId | undefined {
  const rec = TABLE[address >>> 24]
  if (rec.status === 'RESERVED') return undefined
  const registry = overrides.get(address >>> 24) ?? rec.registry
  if (registry == null) return undefined
  if (specialBlockOf(address) != null) return undefined
  return registry
}

const overrides = new Map<number, RegistryId>()

/**
 * Routes /8s by a newer source (IANA's RDAP bootstrap file) than the built-in table. Reserved
 * /8s stay unqueried whatever it says. Returns how many /8s changed registry.
 */
export function applyRoutingOverrides (byOctet: ReadonlyMap<number, RegistryId>): number {
  let changed = 0
  for (const [octet, registry] of byOctet) {
    const rec = TABLE[octet]
    if (rec == null || rec.status === 'RESERVED') continue
    if ((overrides.get(octet) ?? rec.registry) !== registry) changed++
    overrides.set(octet, registry)
  }
  return changed
}
