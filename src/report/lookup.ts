/**
 * `whoismesh lookup <ip>`: the most specific stored network for an address and its parents.
 *
 * Registries are trees: a registry answers an address with the most specific network holding it,
 * and a container (an allocation, a sub-allocation: record/classify.ts) may hold more specific
 * networks that nobody has looked up yet. So the answer says whether it is known to be exact:
 * `exact` is true when the most specific stored network is a leaf, or when it is the network the
 * registry gave for this very address (its `query_address`, or an 'answered' note written when the
 * address was asked), or a sample address inside a container listed completely for a sample that
 * holds it (NetworkRecord.listedSample); false when it is a container found through another
 * address — a more specific network may exist, and the answer may be coarse.
 * A registry's "not allocated" for this address, and special-purpose space, are exact too.
 *
 * The crawl asks only about the sample's addresses (src/sample). For an address outside it the
 * registry was never asked: the answer is the most specific network known to contain it (exact
 * only when that network is a leaf), and with none the address is not "not crawled yet" but
 * never to be crawled. `in_sample` says which.
 */
import type { NetworkRecord } from '../record/index.js'
import { formatIPv4 } from '../util/ipv4.js'
import { registryForAddress, specialBlockOf } from '../registry/iana.js'
import { toDumpRow, type DumpRow } from './dump.js'
import { isSampleAddress } from '../sample/index.js'

export interface LookupSource {
  containing: (address: number) => Promise<NetworkRecord[]>
  hasNegative: (address: number) => boolean
  /** leaf, or a note of the address's own (store.isExact) */
  isExact: (address: number) => boolean
}

export interface LookupReport {
  address: string
  /** 'network' when a stored network contains it; else why there is none */
  status: 'network' | 'unallocated' | 'special-purpose' | 'unknown'
  /**
   * whether the answer is known to be the registry's own for this address (see the top of this
   * file); false: possibly coarse (a container found through another address), or nothing known
   */
  exact: boolean
  /** whether the address is one of the sample's, the only ones the crawl asks the registries about */
  in_sample: boolean
  /** most specific first; the first one is the answer, the rest its parents; each with `leaf` */
  networks: DumpRow[]
  special?: string
}

export async function lookupReport (store: LookupSource, address: number): Promise<LookupReport> {
  return reportOf(store, address, await store.containing(address))
}

function reportOf (store: LookupSource, address: number, records: NetworkRecord[]): LookupReport {
  const networks = records.map(toDumpRow)
  const base = { address: formatIPv4(address), in_sample: isSampleAddress(address), networks }
  const first = networks.length > 0 ? { leaf: networks[0].leaf, queryAddress: records[0].queryAddress } : undefined
  return { ...base, ...answerStatus(store, address, first) }
}

/**
 * The status and exactness of an address's answer (see the top of this file), from its answer
 * network's class and query address (`first`; undefined: no network holds it) — what a bulk
 * answer that needs the first network only asks (the WHOIS service's bulk mode).
 */
export function answerStatus (store: Pick<LookupSource, 'hasNegative' | 'isExact'>, address: number, first: { leaf: boolean, queryAddress: number } | undefined): Pick<LookupReport, 'status' | 'exact' | 'special'> {
  if (first !== undefined) return { status: 'network', exact: first.leaf || first.queryAddress === address || store.isExact(address) }
  if (registryForAddress(address) == null) return { status: 'special-purpose', exact: true, special: specialBlockOf(address)?.name ?? 'reserved by IANA' }
  const unallocated = store.hasNegative(address)
  return { status: unallocated ? 'unallocated' : 'unknown', exact: unallocated }
}

/** What the text output says after the answer when it may be coarse. */
export const POSSIBLY_COARSE = '(container: a more specific network may exist)'

/** What the text output says of an address outside the sample (see the top of this file). */
export const NOT_IN_SAMPLE = 'is not a sample address (the crawl asks the registries only about the sample: third octet 0, 12, …, 252 and fourth octet 1, 65, 129 or 193; `whoismesh sample`)'

export function formatLookup (r: LookupReport): string {
  if (r.status === 'special-purpose') return `${r.address}: special-purpose address space (${r.special ?? ''}), never queried\n`
  if (r.status === 'unallocated') return `${r.address}: the registry answered that it is not allocated\n`
  if (r.status === 'unknown') {
    return r.in_sample
      ? `${r.address}: no stored network contains it (not crawled yet)\n`
      : `${r.address} ${NOT_IN_SAMPLE}, and no stored network contains it\n`
  }
  const lines: string[] = []
  r.networks.forEach((n, i) => {
    const head = `${i === 0 ? r.address + ' is in' : '  inside'} ${n.cidr} (${n.start_address} - ${n.end_address})`
    lines.push(i === 0 && !r.exact ? `${head} ${POSSIBLY_COARSE}` : head)
    lines.push(`    registry ${n.registry}  handle ${n.handle}  name ${n.name}`)
    lines.push(`    org ${n.org === '' ? '-' : n.org}  country ${n.country === '' ? '-' : n.country}  type ${n.type === '' ? '-' : n.type} (${n.leaf ? 'leaf' : 'container'})`)
    lines.push(n.source === 'bulk'
      ? `    source bulk: the registry's database dump taken ${n.fetched_at}`
      : `    source ${n.source}, fetched ${n.fetched_at} for ${n.query_address}`)
  })
  if (!r.in_sample) lines.push(`${r.address} ${NOT_IN_SAMPLE}: the answer is the most specific network known to contain it`)
  return lines.join('\n') + '\n'
}
