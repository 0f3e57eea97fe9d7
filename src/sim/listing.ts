/**
 * The simulator's answers to "which networks lie inside this one?" — the more-specific queries the
 * real services offer (docs/registries.md, section C), with their formats and limits:
 *
 * - RIPE NCC, APNIC, AFRINIC WHOIS: `-m <range|prefix>` (first level more specific) and `-M` (all
 *   levels), excluding the exact match, any other flags beside them (`-r`, `-T inetnum`). One
 *   "% Information related to '<range>'" group per inetnum, no referenced objects, no result cap
 *   (RIPE-NCC/whois MatchOperationValidator refuses only 0/0: "%ERROR:112: unsupported query").
 *   None: "%ERROR:101: no entries found".
 * - ARIN and RIPE NCC RDAP: `/ips/rirSearch1/rdap-down/<prefix>` (RFC 9910): the immediate
 *   children in `ipSearchResults`, at most RDAP_SEARCH_MAX_RESULTS of them, then a "result set
 *   truncated" notice; 404 when there are none. RIPE's documented cap is 100
 *   (`rdap.search.max.results`, RIPE-NCC/whois README.RDAP.md); ARIN's is not published, and the
 *   simulator uses the same. APNIC, LACNIC and AFRINIC RDAP do not offer it (501).
 * Every such query is one request against the registry's budget, like a lookup.
 */
import type { RegistryId } from '../registry/interface.js'
import { formatIPv4, prefixRange, tryParseIPv4 } from '../util/ipv4.js'
import { rdapNetworkBody } from './rdap-format.js'
import type { SimNetwork } from './records.js'
import { rpslFrame, rpslInetnumLines, type RpslRegistry } from './whois-format.js'

/** RDAP RIR-search results per answer before the set is truncated (RIPE's documented default). */
export const RDAP_SEARCH_MAX_RESULTS = 100

/** The registries whose RDAP offers RIR search (rdap-down). */
export const RDAP_SEARCH_REGISTRIES: ReadonlySet<RegistryId> = new Set(['arin', 'ripe'])

export interface ListingQuery {
  start: number
  end: number
  /** `-M`: all levels; `-m`: first level */
  allLevels: boolean
}

/** An RPSL `-m`/`-M` query line's range key, or undefined when the line is no such query. */
export function parseRpslListingQuery (line: string): ListingQuery | undefined {
  const tokens = line.trim().split(/\s+/).filter(t => t !== '')
  const flags = tokens.filter(t => t.startsWith('-'))
  const allLevels = flags.some(f => /^-[a-zA-Z]*M/.test(f) || f === '--all-more')
  const first = flags.some(f => /^-[a-zA-Z]*m/.test(f) || f === '--one-more')
  if (!allLevels && !first) return undefined
  const text = tokens.slice(-3).join(' ')
  const range = /^([0-9.]{7,15}) - ([0-9.]{7,15})$/.exec(text)
  if (range != null) {
    const start = tryParseIPv4(range[1])
    const end = tryParseIPv4(range[2])
    if (start === undefined || end === undefined || start > end) return undefined
    return { start, end, allLevels }
  }
  const prefix = /^([0-9.]{7,15})\/(\d{1,2})$/.exec(tokens[tokens.length - 1] ?? '')
  if (prefix == null) return undefined
  const base = tryParseIPv4(prefix[1])
  const len = Number(prefix[2])
  if (base === undefined || len > 32) return undefined
  return { ...prefixRange(base, len), allLevels }
}

/** The networks a listing query returns: first level, or (for -M) every level below, in address order. */
export function listedNetworks (children: (s: number, e: number) => SimNetwork[], q: ListingQuery): SimNetwork[] {
  const first = children(q.start, q.end)
  if (!q.allLevels) return first
  const out: SimNetwork[] = []
  const walk = (nets: SimNetwork[]): void => {
    for (const n of nets) {
      out.push(n)
      walk(children(n.start, n.end))
    }
  }
  walk(first)
  return out
}

/** An RPSL `-m`/`-M` answer: one group per inetnum, or "no entries found". */
export function rpslListingAnswer (reg: RpslRegistry, nets: SimNetwork[], notFound: string): string {
  if (nets.length === 0) return notFound
  const { banner, footer } = rpslFrame(reg)
  const groups = nets.map(n => {
    const lines = rpslInetnumLines(n)
    return `% Information related to '${formatIPv4(n.start)} - ${formatIPv4(n.end)}'\n\n${lines.join('\n')}\n`
  })
  return [banner, ...groups, footer].join('\n')
}

/** The RDAP RIR-search path's prefix: `/ips/rirSearch1/rdap-down/a.b.c.d/len` → [start, end]. */
export const RDAP_DOWN_PATH = /^\/ips\/rirSearch1\/rdap-down\/([0-9.]{7,15})\/(\d{1,2})\/?$/

export function parseRdapDownPath (path: string): { start: number, end: number } | undefined {
  const m = RDAP_DOWN_PATH.exec(path)
  if (m == null) return undefined
  const base = tryParseIPv4(m[1])
  const len = Number(m[2])
  if (base === undefined || len > 32) return undefined
  return prefixRange(base, len)
}

/** An RDAP RIR-search answer body: the networks (capped), `rirSearch1` conformance, a notice when cut. */
export function rdapSearchBody (registry: RegistryId, nets: SimNetwork[], base: string, requestUrl: string): Record<string, unknown> {
  const shown = nets.slice(0, RDAP_SEARCH_MAX_RESULTS)
  const results = shown.map(n => {
    const { rdapConformance: _c, notices: _n, ...net } = rdapNetworkBody(n, base, requestUrl)
    return net
  })
  const body: Record<string, unknown> = {
    rdapConformance: ['rdap_level_0', 'nro_rdap_profile_0', 'cidr0', 'rirSearch1', 'ips'],
    ipSearchResults: results
  }
  if (nets.length > shown.length) {
    body.notices = [{
      title: 'Result set truncated',
      type: 'result set truncated due to excessive load',
      description: [`The result set has been limited to ${RDAP_SEARCH_MAX_RESULTS} results.`]
    }]
  }
  return body
}
