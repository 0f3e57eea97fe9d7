/**
 * What the port-43 service (server.ts) writes: for one query, an RPSL-style block per network —
 * the answer first, then the networks it lies in — under comment lines saying that this is a
 * replica and not the registry, which registry gave the network and when; for bulk mode, one
 * pipe-separated line per address in the order asked, in the convention Team Cymru's bulk
 * port-43 service made familiar (`begin` / `verbose` / addresses / `end`; a header line, columns
 * separated by " | ", `NA` where there is nothing: https://team-cymru.com/ip-asn-mapping).
 *
 * RPSL-style: "key:" padded to column 16 as the RIPE Database prints (RFC 2622 §2, an attribute per
 * line); '%' lines are comments, as RIPE, APNIC and AFRINIC print theirs.
 */
import { toDumpRow, type DumpRow } from '../../report/dump.js'
import { NOT_IN_SAMPLE, POSSIBLY_COARSE, type LookupReport } from '../../report/lookup.js'
import type { NetworkRecord } from '../../record/index.js'
import { formatIPv4 } from '../../util/ipv4.js'
import { REAL_REGISTRY_ENDPOINTS } from '../../registry/endpoints.js'
import { REGISTRY_NAMES, isRegistryId } from '../../registry/interface.js'
import type { FirstAnswer, ReplicaInfo } from '../interface.js'

const CRLF = '\r\n'

/** How a comment line of this service starts. */
export const COMMENT = '% '

/** The lines every answer starts with: what answers, and that it is a replica. */
export function bannerLines (replica: ReplicaInfo): string[] {
  const who = replica.peerId !== undefined ? `whoismesh node ${replica.peerId}` : 'whoismesh (a stopped node\'s data directory)'
  const lines = [
    `This is ${who}: a replica of the Regional Internet Registries' networks, not a registry.`,
    `It holds ${replica.networks.toLocaleString('en-US')} networks; each says below which registry gave it and when.`
  ]
  for (const d of replica.dumps) lines.push(`Imported: ${REGISTRY_NAMES[d.registry]}'s database dump taken ${iso(d.takenAt)}${d.serial !== null ? ` (serial ${d.serial})` : ''}.`)
  return lines
}

/** The answer to one query (an address), as the text a `whois` client prints. */
export function formatAnswer (r: LookupReport, replica: ReplicaInfo, now: number): string {
  const out: string[] = bannerLines(replica).map(l => COMMENT + l)
  out.push('')
  if (r.status === 'special-purpose') {
    out.push(`${COMMENT}No match: ${r.address} is special-purpose address space (${r.special ?? 'reserved by IANA'}), allocated to no registry.`)
  } else if (r.status === 'unallocated') {
    out.push(`${COMMENT}No match: the registry answered that ${r.address} is not allocated.`)
  } else if (r.status === 'unknown') {
    out.push(r.in_sample
      ? `${COMMENT}No match: no network containing ${r.address} is known yet (not crawled yet).`
      : `${COMMENT}No match: ${r.address} ${NOT_IN_SAMPLE}, and no known network contains it.`)
  } else {
    const [answer, ...parents] = r.networks
    out.push(`${COMMENT}The most specific network known for ${r.address}${r.exact ? ' (the registry\'s own answer for it)' : ` ${POSSIBLY_COARSE}`}:`)
    out.push(...provenance(answer, now), '', ...networkBlock(answer, r.exact), '')
    for (const p of parents) out.push(`${COMMENT}It lies inside:`, ...networkBlock(p, undefined), '')
    if (!r.in_sample) out.push(`${COMMENT}${r.address} ${NOT_IN_SAMPLE}: the answer is the most specific network known to contain it.`, '')
  }
  return out.join(CRLF).replace(/(\r\n)*$/, '') + CRLF
}

/** Comment lines saying where a network came from and how old it is. */
function provenance (n: DumpRow, now: number): string[] {
  const name = isRegistryId(n.registry) ? REGISTRY_NAMES[n.registry] : n.registry
  const fetched = Date.parse(n.fetched_at)
  const age = Number.isFinite(fetched) ? ` (${formatAge(now - fetched)} ago)` : ''
  const lines = [n.source === 'bulk'
    ? `${COMMENT}From ${name}'s database dump taken ${n.fetched_at}${age}.`
    : `${COMMENT}Fetched from ${name} over ${n.source.toUpperCase()} at ${n.fetched_at}${age}.`]
  if (isRegistryId(n.registry)) lines.push(`${COMMENT}The registry's own answer: whois -h ${REAL_REGISTRY_ENDPOINTS[n.registry].whoisHost} ${n.start_address}`)
  return lines
}

/** A network as RPSL-style attribute lines. `exact` is printed for the answer only. */
export function networkBlock (n: DumpRow, exact: boolean | undefined): string[] {
  const a: Array<[string, string]> = [
    ['inetnum', `${n.start_address} - ${n.end_address}`],
    ['cidr', n.cidr],
    ['netname', n.name],
    ['handle', n.handle],
    ['org-name', n.org],
    ['country', n.country],
    ['status', n.type],
    ['leaf', n.leaf ? 'yes' : 'no (a container: more specific networks may lie inside)'],
    ...(exact !== undefined ? [['exact', exact ? 'yes' : 'no'] as [string, string]] : []),
    ['parent', n.parent_handle],
    ['registry', n.registry],
    ['registered', n.registered],
    ['last-modified', n.last_changed],
    ['fetched-at', n.fetched_at],
    ['source', n.source]
  ]
  return a.filter(([, v]) => v !== '').map(([k, v]) => `${`${k}:`.padEnd(16)}${oneLine(v)}`)
}

/** Bulk mode's columns, terse and verbose. */
export const BULK_COLUMNS = ['IP', 'Status', 'Network', 'Registry', 'CC', 'Org'] as const
export const BULK_VERBOSE_COLUMNS = [...BULK_COLUMNS, 'Range', 'Handle', 'Name', 'Type', 'Leaf', 'Fetched', 'Source'] as const

/** The line bulk mode starts its answer with, and the column header after it. */
export function bulkHeader (verbose: boolean, now: number): string {
  const columns = verbose ? BULK_VERBOSE_COLUMNS : BULK_COLUMNS
  return `Bulk mode; whoismesh replica [${iso(now)}]${CRLF}${columns.join(' | ')}${CRLF}`
}

/**
 * One bulk line for an answer. Status: `exact` (the registry's own answer for the address),
 * `coarse` (a container found through another address), `unallocated`, `special-purpose`,
 * `unknown` (not crawled, or outside the sample with nothing known).
 */
export function bulkLine (r: LookupReport, verbose: boolean): string {
  const n: DumpRow | undefined = r.networks[0]
  return lineOf(r.address, r, n === undefined ? undefined : (verbose ? [...terseCellList(n), ...extraCellList(n)] : terseCellList(n)).join(' | '), verbose)
}

/**
 * bulkLine of a bulk answer (AnswerSource.firstMany), its network's cells made once per network
 * (`bulkCellsOf`, kept in an AnswerMemo)
 */
export function firstBulkLine (address: number, a: FirstAnswer<BulkCells>, verbose: boolean): string {
  const cells = a.network?.value
  return lineOf(formatIPv4(address), a, cells === undefined ? undefined : verbose ? cells.text : cells.text.slice(0, cells.terse), verbose)
}

function lineOf (address: string, a: Pick<LookupReport, 'status' | 'exact'>, cells: string | undefined, verbose: boolean): string {
  const status = a.status === 'network' ? (a.exact ? 'exact' : 'coarse') : a.status
  return `${address} | ${status} | ${cells ?? (verbose ? NO_NETWORK_VERBOSE : NO_NETWORK)}${CRLF}`
}

const NO_NETWORK = Array(BULK_COLUMNS.length - 2).fill('NA').join(' | ')
const NO_NETWORK_VERBOSE = Array(BULK_VERBOSE_COLUMNS.length - 2).fill('NA').join(' | ')

/** A network's cells of bulk lines: the verbose ones, of which the terse are the first `terse` characters. */
export interface BulkCells {
  text: string
  terse: number
}

/** A record's BulkCells (made once per network: AnswerMemo). */
export function bulkCellsOf (r: NetworkRecord): BulkCells {
  const n = toDumpRow(r)
  const terse = terseCellList(n)
  // one join: a flat string, not a concatenation of parts (kept for every network: it counts)
  return { text: [...terse, ...extraCellList(n)].join(' | '), terse: terse.join(' | ').length }
}

function terseCellList (n: DumpRow): string[] {
  return [n.cidr, n.registry, n.country, n.org].map(bulkCell)
}

function extraCellList (n: DumpRow): string[] {
  return [`${n.start_address} - ${n.end_address}`, n.handle, n.name, n.type, String(n.leaf), n.fetched_at, n.source].map(bulkCell)
}

/** A bulk line for an input line that is no address: its text (cut, cleaned) and why. */
export function bulkErrorLine (text: string, why: string, verbose: boolean): string {
  const cells = [bulkCell(text.slice(0, 64)), 'error', 'NA', 'NA', 'NA', bulkCell(why)]
  if (verbose) cells.push('NA', 'NA', 'NA', 'NA', 'NA', 'NA', 'NA')
  return cells.join(' | ') + CRLF
}

function bulkCell (v: string | undefined): string {
  if (v === undefined || v === '') return 'NA'
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029|]/.test(v) ? oneLine(v).replaceAll('|', '/') : v
}

/** No control characters, C1 and Unicode line separators included (a line break in a value would start a line a client misreads). */
function oneLine (v: string): string {
  // eslint-disable-next-line no-control-regex
  return v.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
}

function iso (ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** "3d 4h", "2h 5m", "40s". */
export function formatAge (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

/** What a query that is no address gets. */
export const USAGE_LINES = [
  'Queries: an IPv4 address (a.b.c.d) answers with its most specific network and the networks it lies in.',
  'Bulk mode: send "begin", optionally "verbose", then one address per line, then "end":',
  `one line per address, in order, columns ${BULK_COLUMNS.join(' | ')} (verbose adds ${BULK_VERBOSE_COLUMNS.slice(BULK_COLUMNS.length).join(', ')}).`,
  'Example: printf \'begin\\n8.8.8.8\\n1.1.1.1\\nend\\n\' | nc HOST PORT'
]
