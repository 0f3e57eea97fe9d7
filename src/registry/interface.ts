/** The five Regional Internet Registries, by the short ids used everywhere in whoismesh. */
export const REGISTRY_IDS = ['arin', 'ripe', 'apnic', 'lacnic', 'afrinic'] as const
export type RegistryId = typeof REGISTRY_IDS[number]

export function isRegistryId (s: string): s is RegistryId {
  return (REGISTRY_IDS as readonly string[]).includes(s)
}

/** The registries that publish their whole database as RPSL dumps every day (src/bulk reads them). */
export const DUMP_REGISTRY_IDS = ['ripe', 'apnic', 'afrinic'] as const
export type DumpRegistry = typeof DUMP_REGISTRY_IDS[number]

/** Human names as the registries write them. */
export const REGISTRY_NAMES: Record<RegistryId, string> = {
  arin: 'ARIN',
  ripe: 'RIPE NCC',
  apnic: 'APNIC',
  lacnic: 'LACNIC',
  afrinic: 'AFRINIC'
}

/** Where a registry answers: its RDAP base URL (ends with "/") and its WHOIS host and port. */
export interface RegistryEndpoint {
  rdapBaseUrl: string
  whoisHost: string
  whoisPort: number
}

export type RegistryEndpoints = Record<RegistryId, RegistryEndpoint>

/** IANA status of a /8. RESERVED space is never queried. */
export type SlashEightStatus = 'ALLOCATED' | 'LEGACY' | 'RESERVED'

export interface SlashEight {
  /** first octet, 0–255 */
  octet: number
  status: SlashEightStatus
  designation: string
  /** the RIR whose WHOIS/RDAP serves this /8 (for LEGACY space: the one that administers it); undefined for RESERVED */
  registry?: RegistryId
  whois?: string
  rdap?: string
}
