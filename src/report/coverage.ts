/**
 * `whoismesh coverage`: what a node's store holds, against the IPv4 space and the sample.
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { registryForAddress, slashEights, SPECIAL_PURPOSE_BLOCKS } from '../registry/iana.js'
import { sampleSlice } from '../sample/index.js'

/** The parts of the store a coverage report reads (NetworkStore provides them). */
export interface CoverageSource {
  isExact: (address: number) => boolean
  isCovered: (address: number) => boolean
  counts: () => { networks: number, negatives: number, failures: number }
  noteCounts: () => { noNetwork: number, answered: number }
  classCounts: () => { leaves: number, containers: number, unclassified: number, listed: number }
  addressesCovered: () => number
  registryStats: () => Record<RegistryId, { networks: number, addressesCovered: number }>
  digest: () => string
  getMeta: (key: string) => Promise<unknown>
  /** the registry whose imported dump answers the address (src/bulk), or undefined */
  bulkAnswerRegistry?: (address: number) => RegistryId | undefined
  /** the imported dumps' headers */
  bulkHeaders?: () => Array<{ registry: RegistryId, serial: number | null, takenAt: number, networks: number }>
}

/** One registry's imported dump, in the report. */
export interface BulkCoverage {
  registry: RegistryId
  serial: number | null
  /** when the registry took the dump (ISO 8601) */
  taken_at: string
  age_days: number
  networks: number
  /** sample addresses this dump answers (exactly, with no lookup) */
  sample_answered: number
}

export interface CoverageReport {
  networks: number
  /** networks that are leaves: assignments policy does not subdivide (record/classify.ts) */
  leaf_networks: number
  /** networks that are containers (allocations, sub-allocations, legacy, unknown words), which may hold more specific networks */
  container_networks: number
  /** of the containers, networks stored before leaves and containers existed: `whoismesh repair` classifies them */
  unclassified_networks: number
  /** of the containers, those whose children were listed completely for a sample (NetworkRecord.listedSample) */
  listed_networks: number
  /** addresses recorded as unallocated / not found */
  negatives: number
  /** addresses whose registry answer is a stored container, noted by the node that asked it (or listed it, for a sample that is no sampleSlice) */
  answered_addresses: number
  /** addresses given up on after retries */
  failures: number
  addresses_covered: number
  /** addresses_covered as a percentage of the allocatable IPv4 space */
  percent_ipv4: number
  /** allocated + legacy /8s, less the special-purpose blocks inside them (~3.7 billion) */
  allocatable_addresses: number
  sample_total: number
  /** sample_exact + sample_coarse: sample addresses with any answer */
  sample_resolved: number
  /**
   * sample addresses whose registry answer is known exactly: inside a leaf, noted unallocated or
   * answered by a stored container, in a listed container and none of its children, or in
   * special-purpose space
   */
  sample_exact: number
  /** sample addresses only inside a container nobody asked about them: the answer may be more specific */
  sample_coarse: number
  sample_reserved: number
  lookups: number
  /** container listings (one request each: crawl/listing.ts) */
  listings: number
  /** audits of peers' records (a lookup each, not in `lookups`: crawl/audits.ts) */
  audits: number
  requests: number
  digest: string
  /** crawled networks per registry (the imported dumps' are in `bulk`) */
  registries: Record<RegistryId, { networks: number, addresses_covered: number, percent_ipv4: number }>
  /** the registries' imported dumps (src/bulk): not in `networks` nor the digest */
  bulk: BulkCoverage[]
  /** sample addresses answered by an imported dump (counted in sample_exact too) */
  sample_bulk: number
}

let allocatable: number | undefined

/** Size of the allocatable IPv4 space: ALLOCATED and LEGACY /8s less special-purpose blocks in them. */
export function allocatableAddresses (): number {
  if (allocatable != null) return allocatable
  let n = 0
  for (const s of slashEights()) if (s.status !== 'RESERVED') n += 2 ** 24
  for (const b of SPECIAL_PURPOSE_BLOCKS) {
    for (let octet = b.start >>> 24; octet <= b.end >>> 24; octet++) {
      if (slashEights()[octet].status === 'RESERVED') continue
      const lo = Math.max(b.start, octet * 2 ** 24)
      const hi = Math.min(b.end, (octet + 1) * 2 ** 24 - 1)
      n -= hi - lo + 1
    }
  }
  allocatable = n
  return n
}

const round = (x: number, digits = 4): number => Number(x.toFixed(digits))

export async function coverageReport (store: CoverageSource, opts: { sampleLimit?: number, countersKey: string }): Promise<CoverageReport> {
  const sample = sampleSlice(opts.sampleLimit)
  let exact = 0
  let coarse = 0
  let reserved = 0
  let bulk = 0
  const bulkHeaders = store.bulkHeaders?.() ?? []
  const bulkBy = new Map<RegistryId, number>()
  const byDump = bulkHeaders.length > 0 && store.bulkAnswerRegistry !== undefined ? (a: number) => store.bulkAnswerRegistry!(a) : undefined
  for (const a of sample) {
    if (registryForAddress(a) == null) { reserved++; exact++; continue }
    const reg = byDump?.(a)
    if (reg !== undefined) {
      bulk++
      bulkBy.set(reg, (bulkBy.get(reg) ?? 0) + 1)
    }
    if (store.isExact(a)) exact++
    else if (store.isCovered(a)) coarse++
  }
  const counters = (await store.getMeta(opts.countersKey) ?? {}) as { lookups?: number, listings?: number, audits?: number, requests?: number }
  const counts = store.counts()
  const classes = store.classCounts()
  const covered = store.addressesCovered()
  const total = allocatableAddresses()
  const registries = {} as CoverageReport['registries']
  const stats = store.registryStats()
  for (const id of REGISTRY_IDS) {
    const s = stats[id]
    registries[id] = { networks: s.networks, addresses_covered: s.addressesCovered, percent_ipv4: round(100 * s.addressesCovered / total) }
  }
  return {
    networks: counts.networks,
    leaf_networks: classes.leaves,
    container_networks: classes.containers,
    unclassified_networks: classes.unclassified,
    listed_networks: classes.listed,
    negatives: store.noteCounts().noNetwork,
    answered_addresses: store.noteCounts().answered,
    failures: counts.failures,
    addresses_covered: covered,
    percent_ipv4: round(100 * covered / total),
    allocatable_addresses: total,
    sample_total: sample.length,
    sample_resolved: exact + coarse,
    sample_exact: exact,
    sample_coarse: coarse,
    sample_reserved: reserved,
    lookups: counters.lookups ?? 0,
    listings: counters.listings ?? 0,
    audits: counters.audits ?? 0,
    requests: counters.requests ?? 0,
    digest: store.digest(),
    registries,
    bulk: bulkHeaders.map(h => ({
      registry: h.registry,
      serial: h.serial,
      taken_at: new Date(h.takenAt).toISOString(),
      age_days: round((Date.now() - h.takenAt) / 86_400_000, 2),
      networks: h.networks,
      sample_answered: bulkBy.get(h.registry) ?? 0
    })),
    sample_bulk: bulk
  }
}

/** The report as a few human lines. */
export function formatCoverage (r: CoverageReport): string {
  const pct = (a: number, b: number): string => b === 0 ? '0.0%' : `${(100 * a / b).toFixed(1)}%`
  const lines = [
    `networks          ${r.networks.toLocaleString('en-US')}`,
    `leaf / container  ${r.leaf_networks.toLocaleString('en-US')} leaves, ${r.container_networks.toLocaleString('en-US')} containers (${r.listed_networks.toLocaleString('en-US')} listed completely; any other may hold networks not known yet)` +
      (r.unclassified_networks > 0 ? ` (${r.unclassified_networks.toLocaleString('en-US')} stored before leaves and containers, counted as containers: \`whoismesh repair\` classifies them)` : ''),
    `addresses covered ${r.addresses_covered.toLocaleString('en-US')} (${r.percent_ipv4.toFixed(2)}% of ${r.allocatable_addresses.toLocaleString('en-US')} allocatable IPv4 addresses)`,
    `sample resolved   ${r.sample_resolved.toLocaleString('en-US')} of ${r.sample_total.toLocaleString('en-US')} (${pct(r.sample_resolved, r.sample_total)}; ${r.sample_reserved.toLocaleString('en-US')} in special-purpose space)`,
    `  exact           ${r.sample_exact.toLocaleString('en-US')} (${pct(r.sample_exact, r.sample_total)}: the registry's own answer for the address is stored)`,
    `  coarse          ${r.sample_coarse.toLocaleString('en-US')} (only inside a container: a more specific network may exist)`,
    `unallocated       ${r.negatives.toLocaleString('en-US')} addresses`,
    `answered          ${r.answered_addresses.toLocaleString('en-US')} addresses answered by a container (noted when asked)`,
    `failed            ${r.failures.toLocaleString('en-US')} addresses`,
    `lookups           ${r.lookups.toLocaleString('en-US')} (${r.networks === 0 ? '-' : (r.lookups / r.networks).toFixed(3)} per network), ${r.listings.toLocaleString('en-US')} container listings, ${r.audits.toLocaleString('en-US')} audits, ${r.requests.toLocaleString('en-US')} registry requests`,
    `digest            ${r.digest}`,
    ...r.bulk.map(b => `bulk data         ${b.registry}: ${b.networks.toLocaleString('en-US')} networks from its dump (serial ${b.serial ?? 'unknown'}, taken ${b.taken_at.slice(0, 10)}, ${b.age_days.toFixed(1)} days old), answering ${b.sample_answered.toLocaleString('en-US')} sample addresses`),
    '',
    'registry   networks   addresses covered   % of allocatable'
  ]
  for (const id of REGISTRY_IDS) {
    const s = r.registries[id]
    lines.push(`${id.padEnd(9)} ${s.networks.toLocaleString('en-US').padStart(9)} ${s.addresses_covered.toLocaleString('en-US').padStart(19)} ${s.percent_ipv4.toFixed(2).padStart(18)}`)
  }
  return lines.join('\n') + '\n'
}
