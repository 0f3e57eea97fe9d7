/**
 * An inetnum object of an RIR's database dump (src/bulk/rpsl-dump.ts) as the project's network
 * fields: the same ParsedNetwork, field for field, that the crawler's WHOIS parser gives for the
 * same inetnum in a port-43 answer (whois-parser's inetnumFields does the work), so a network
 * read from a dump and one looked up compare equal. A dump has no answer around the inetnum: the
 * organisation its "org:" names is found in the organisation names read beforehand from the
 * registry's organisation objects (`organisationEntry`, keyed by upper-case handle, since RPSL
 * handles are case-insensitive). The CIDR list is left out: a snapshot keeps the range. Placeholder objects (IANA-BLK, NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK, "not
 * managed by …", ALLOCATED UNSPECIFIED, the whole 0/0: whois-parser's isPlaceholder rules) say only
 * that the space is not the registry's and are no network, nor is anything but an IPv4 inetnum.
 */
import type { ParsedNetwork } from '../record/index.js'
import type { DumpRegistry } from '../registry/interface.js'
import { attr, attrs, objectClass, parseRangeText, stripRpslComment, type TextObject } from '../lookup/parse-util.js'
import { inetnumFields as fieldsOfInetnum, isPlaceholder } from '../lookup/whois-parser.js'

export type { DumpRegistry } from '../registry/interface.js'

/** The attributes whois-parser's inetnumFields and isPlaceholder read: what an import keeps of an inetnum. */
export const INETNUM_ATTRIBUTES: ReadonlySet<string> = new Set(['inetnum', 'netname', 'descr', 'owner', 'org', 'parent', 'inetnum-up', 'changed', 'country', 'status', 'created', 'last-modified'])

/** The attributes organisationEntry reads. */
export const ORGANISATION_ATTRIBUTES: ReadonlySet<string> = new Set(['organisation', 'org-name'])

/**
 * The network an inetnum object describes, without its CIDR list (a snapshot keeps the range),
 * or undefined when it is none: another class, a range that does not parse, or a placeholder.
 *
 * @param orgNames org-name by upper-case organisation handle (from `organisationEntry`)
 */
export function inetnumFields (o: TextObject, orgNames: ReadonlyMap<string, string>, registry: DumpRegistry): Omit<ParsedNetwork, 'cidrs'> | undefined {
  if (objectClass(o) !== 'inetnum') return undefined
  const range = parseRangeText(attr(o, 'inetnum'))
  if (range === undefined || range.start > range.end) return undefined
  if (isPlaceholder(o, stripRpslComment(attr(o, 'netname')), attrs(o, 'descr'), range.start, range.end)) return undefined
  // a dump holds no answer around the inetnum: its organisation is the one read from the dump
  return fieldsOfInetnum(o, registry, range, handle => orgNames.get(handle) ?? '', () => false)
}

/** [upper-case handle, org-name] of an organisation object; undefined for other classes or without either. */
export function organisationEntry (o: TextObject): [handle: string, name: string] | undefined {
  if (objectClass(o) !== 'organisation') return undefined
  const handle = stripRpslComment(attr(o, 'organisation')).toUpperCase()
  // the name as the WHOIS parser takes it from an answer's organisation object
  const name = attr(o, 'org-name')
  if (handle === '' || name === '') return undefined
  return [handle, name]
}
