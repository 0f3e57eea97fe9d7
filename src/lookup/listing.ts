/**
 * Listing a container's children: the one question the registries let a client ask that answers
 * for a whole container at once (docs/registries.md, section C). It costs one request against the
 * registry's budget and tells which networks lie directly inside the container — so every sample
 * address in its empty space is answered by the container itself, without a lookup of its own.
 *
 * - RIPE NCC, APNIC, AFRINIC (RIPE-derived WHOIS): `-r -m -T inetnum <start> - <end>`: "first
 *   level more specific" inetnums, excluding the exact match (RIPE-NCC/whois QueryFlag.java), with
 *   no result cap; `-r` keeps personal objects (and their daily quota) out. An answer without
 *   children is `%ERROR:101: no entries found`. `-M` (all levels) is not used: on a large
 *   allocation it returns every assignment below it, megabytes in one answer.
 * - ARIN: RDAP RIR search (RFC 9910) `/ips/rirSearch1/rdap-down/<prefix>`: the immediate children,
 *   as RDAP network objects in `ipSearchResults`; 404 when there are none. A truncated result set
 *   carries a notice (RFC 9083 §4.3 notice types "result set truncated due to …"): what came is
 *   kept, but the list is not complete. The key is a prefix, so a container that is not one CIDR
 *   block is not listed.
 * - LACNIC (and NIC.br): nothing documented; not listed.
 */
import type { ParsedNetwork } from '../record/index.js'
import type { RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import { MalformedResponseError, RateLimitedError, TransientLookupError } from './errors.js'
import { attr, objectClass, parseRangeText, parseWhoisText } from './parse-util.js'
import { parseRdapNetwork } from './rdap-parser.js'
import { inetnumNetwork } from './whois-parser.js'
import { knownRefusal, notFoundAnswer, refusalNotice } from './whois-notices.js'

/** How a registry's container children are listed, or undefined where no service exists. */
export type ListingMethod = 'whois-first-level' | 'rdap-down'

export function listingMethod (registry: RegistryId): ListingMethod | undefined {
  switch (registry) {
    case 'ripe':
    case 'apnic':
    case 'afrinic': return 'whois-first-level'
    case 'arin': return 'rdap-down'
    case 'lacnic': return undefined
  }
}

/** The container to list: its range, and (for RDAP) the prefix that names it. */
export interface ListedContainer {
  start: number
  end: number
}

/** What a listing said. */
export interface ChildListing {
  /** the networks directly inside the container (as the registry describes them), in address order */
  children: ParsedNetwork[]
  /** false when the registry cut the list short: the container's empty space is not known */
  complete: boolean
  source: 'rdap' | 'whois'
}

/** The prefix length when [start, end] is exactly one CIDR block, else undefined. */
export function prefixLengthOf (start: number, end: number): number | undefined {
  const size = end - start + 1
  if (size <= 0 || !Number.isInteger(Math.log2(size)) || start % size !== 0) return undefined
  return 32 - Math.log2(size)
}

/**
 * Whether the registry names what it lists by one prefix and cuts long answers (RDAP `rdap-down`):
 * there a container that is no single CIDR block, or whose listing was cut, is listed by blocks
 * (crawl/listing-parts.ts).
 */
export function listsByPrefix (registry: RegistryId): boolean {
  return listingMethod(registry) === 'rdap-down'
}

/** Whether the registry's listing service can name this container. */
export function canList (registry: RegistryId, c: ListedContainer): boolean {
  const method = listingMethod(registry)
  if (method === undefined) return false
  return method !== 'rdap-down' || prefixLengthOf(c.start, c.end) !== undefined
}

/** The RPSL WHOIS query line for the first-level children of [start, end]. */
export function rpslListingQuery (c: ListedContainer): string {
  return `-r -m -T inetnum ${formatIPv4(c.start)} - ${formatIPv4(c.end)}`
}

/** The RDAP RIR-search path (after the base URL) for the immediate children of a CIDR container. */
export function rdapDownPath (c: ListedContainer): string {
  const len = prefixLengthOf(c.start, c.end)
  if (len === undefined) throw new RangeError(`${formatIPv4(c.start)} - ${formatIPv4(c.end)} is not one CIDR block`)
  return `ips/rirSearch1/rdap-down/${formatIPv4(c.start)}/${len}`
}

/** Keeps the children strictly inside the container, in address order, dropping overlaps a server should not send. */
function inside (c: ListedContainer, nets: ParsedNetwork[], registry: RegistryId, bytes: number, what: string): ParsedNetwork[] {
  const kids = nets.filter(n => !(n.start === c.start && n.end === c.end)).sort((a, b) => a.start - b.start || b.end - a.end)
  for (const n of kids) {
    if (n.start < c.start || n.end > c.end) {
      throw new MalformedResponseError(registry, `${what}: ${formatIPv4(n.start)} - ${formatIPv4(n.end)} is not inside the listed ${formatIPv4(c.start)} - ${formatIPv4(c.end)}`, bytes)
    }
  }
  // first level only: a network inside an earlier one of the list is not a direct child
  const direct: ParsedNetwork[] = []
  for (const n of kids) {
    const last = direct[direct.length - 1]
    if (last !== undefined && n.start <= last.end) continue
    direct.push(n)
  }
  return direct
}

/**
 * Parses an RPSL `-m` answer: every inetnum in it, or none (`no entries found`).
 * @throws RateLimitedError a rate-limit or ban notice
 * @throws TransientLookupError('truncated') the answer does not end cleanly
 * @throws MalformedResponseError neither inetnums nor a not-found notice
 */
export function parseRpslListing (text: string, registry: RegistryId, c: ListedContainer): ChildListing {
  const bytes = Buffer.byteLength(text, 'utf8')
  const { objects, messages, endsCleanly } = parseWhoisText(text)
  const inetnumsFound = objects.some(o => objectClass(o) === 'inetnum')
  // a known refusal anywhere; any refusal wording in an answer without networks or "no entries"
  const limited = knownRefusal(messages, objects) ?? (inetnumsFound || notFoundAnswer(messages) !== undefined ? undefined : refusalNotice(messages, objects))
  if (limited?.kind === 'rate-limited' || limited?.kind === 'banned') {
    throw new RateLimitedError(registry, `whois listing: ${limited.message}`, limited.retryAfterMs, limited.kind === 'banned')
  }
  if (!endsCleanly) throw new TransientLookupError(registry, 'truncated', `whois listing cut short (${bytes} bytes)`)
  const inetnums = objects.filter(o => objectClass(o) === 'inetnum')
  if (inetnums.length === 0) {
    if (notFoundAnswer(messages) !== undefined) return { children: [], complete: true, source: 'whois' }
    throw new MalformedResponseError(registry, 'whois listing: neither inetnums nor "no entries found"', bytes)
  }
  const nets = inetnums.map(o => {
    const range = parseRangeText(attr(o, 'inetnum'))
    if (range === undefined || range.start > range.end) throw new MalformedResponseError(registry, `whois listing: unreadable inetnum "${attr(o, 'inetnum')}"`, bytes)
    return inetnumNetwork(o, objects, messages, registry, range)
  })
  return { children: inside(c, nets, registry, bytes, 'whois listing'), complete: true, source: 'whois' }
}

const TRUNCATED_NOTICE = /\btruncated\b/i

/**
 * Parses an RDAP RIR-search answer (`ipSearchResults`). A notice whose title or type says the
 * result set was truncated makes the listing incomplete.
 * @throws MalformedResponseError not a search result, or a network in it unreadable
 */
export function parseRdapListing (body: unknown, registry: RegistryId, c: ListedContainer, bytes: number): ChildListing {
  const results = (body as { ipSearchResults?: unknown })?.ipSearchResults
  if (!Array.isArray(results)) throw new MalformedResponseError(registry, 'RDAP search: no ipSearchResults array', bytes)
  const notices = (body as { notices?: unknown }).notices
  const truncated = Array.isArray(notices) && notices.some(n => {
    const o = n as { title?: unknown, type?: unknown }
    return (typeof o?.title === 'string' && TRUNCATED_NOTICE.test(o.title)) || (typeof o?.type === 'string' && TRUNCATED_NOTICE.test(o.type))
  })
  const nets = results.map(r => parseRdapNetwork(r, registry, -1, bytes))
  return { children: inside(c, nets, registry, bytes, 'RDAP search'), complete: !truncated, source: 'rdap' }
}
