/** `whoismesh lookup <ip>`: the most specific stored network for an address and its parents. */
import type { NetworkRecord } from '../record/index.js'
import { formatIPv4 } from '../util/ipv4.js'
import { registryForAddress, specialBlockOf } from '../registry/iana.js'
import { toDumpRow, type DumpRow } from './dump.js'

export interface LookupSource {
  containing: (address: number) => Promise<NetworkRecord[]>
  hasNegative: (address: number) => boolean
}

export interface LookupReport {
  address: string
  /** 'network' when a stored network contains it; else why there is none */
  status: 'network' | 'unallocated' | 'special-purpose' | 'unknown'
  /** most specific first; the first one is the answer, the rest its parents */
  networks: DumpRow[]
  special?: string
}

export async function lookupReport (store: LookupSource, address: number): Promise<LookupReport> {
  const networks = (await store.containing(address)).map(toDumpRow)
  const base = { address: formatIPv4(address), networks }
  if (networks.length > 0) return { ...base, status: 'network' }
  if (registryForAddress(address) == null) {
    return { ...base, status: 'special-purpose', special: specialBlockOf(address)?.name ?? 'reserved by IANA' }
  }
  return { ...base, status: store.hasNegative(address) ? 'unallocated' : 'unknown' }
}

export function formatLookup (r: LookupReport): string {
  if (r.status === 'special-purpose') return `${r.address}: special-purpose address space (${r.special ?? ''}), never queried\n`
  if (r.status === 'unallocated') return `${r.address}: the registry answered that it is not allocated\n`
  if (r.status === 'unknown') return `${r.address}: no stored network contains it (not crawled yet)\n`
  const lines: string[] = []
  r.networks.forEach((n, i) => {
    lines.push(`${i === 0 ? r.address + ' is in' : '  inside'} ${n.cidr} (${n.start_address} - ${n.end_address})`)
    lines.push(`    registry ${n.registry}  handle ${n.handle}  name ${n.name}`)
    lines.push(`    org ${n.org === '' ? '-' : n.org}  country ${n.country === '' ? '-' : n.country}  type ${n.type === '' ? '-' : n.type}`)
    lines.push(`    source ${n.source}, fetched ${n.fetched_at} for ${n.query_address}`)
  })
  return lines.join('\n') + '\n'
}
