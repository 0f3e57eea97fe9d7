/**
 * Parses WHOIS port-43 answers of the five RIRs (and NIC.br, which answers for part of LACNIC)
 * into a WhoisAnswer. The format is recognised from the text, not from `registry`:
 *
 * - ARIN: "NetRange: a - b" blocks, each followed by its OrgName/CustName block, POCs and maybe a
 *   "ReferralServer:". An answer may hold several networks (one per "# start" … "# end" when
 *   several match): the most specific one that contains the query wins (on a tie, the later, which
 *   ARIN prints after its parent). A network ARIN lists for another RIR (NetType "Allocated to
 *   RIPE NCC", "Transferred to AfriNIC", …) or whose ReferralServer is another RIR's WHOIS is a
 *   referral to that RIR. A ReferralServer to an rwhois server (an ISP's own, for its customers)
 *   is not: ARIN stays the registry of record for the network it returned.
 * - RIPE, APNIC, AFRINIC: RPSL objects separated by blank lines; "inetnum: a - b". APNIC also
 *   shows NIR objects (KRNIC, TWNIC) mirrored alongside its own: again the most specific inetnum
 *   containing the query wins (on a tie, the first, APNIC's own). The org is the org-name of the
 *   organisation the inetnum's "org:" names, else the first "descr:" line.
 * - LACNIC and NIC.br: "inetnum: 200.57.128/19" (abbreviated CIDR), "owner:" is the org, dates
 *   as YYYYMMDD, no network name; the parent is "inetnum-up:" (a CIDR). NIC.br prints no "status:",
 *   and an answer of NIC.br's without "country:" is Brazil's (BR).
 * - The network's `type` is the registry's own word: ARIN "NetType:", RPSL and LACNIC "status:"
 *   (record/classify.ts makes a leaf or a container of it).
 * - Placeholder blocks (IANA-BLK, NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK, APNIC's IANA-NETBLOCK-n /
 *   ERX-NETBLOCK, "not managed by the RIPE NCC", "ALLOCATED UNSPECIFIED", the whole 0/0) say only
 *   that the space is not this registry's, so they are never a network. They become a referral:
 *   to the one other RIR whose WHOIS host the block names, or, when it names several (RIPE's
 *   list of all RIRs) or none, a referral without a target, for the caller to route by the IANA
 *   table.
 * - An IANA answer (source: IANA, "refer:") is a referral to the server it names.
 * - Text holding a whole client referral chain ("# whois.arin.net" … "# whois.afrinic.net"
 *   section headers, as the Linux whois client prints) is read from its last section only: the
 *   last server is the authoritative one.
 * - Bans and rate limits are read from comment and free-text lines only, never from object
 *   attributes (whois-notices.ts, with each registry's and NIC.br's wordings): "%ERROR:201: access
 *   denied", "% Permission denied." → banned; "%ERROR:306: connections exceeded", "Query rate
 *   limit exceeded", … → rate-limited, with retryAfterMs when the text gives a time. An answer
 *   with no network whose status line says the query was refused or limited, in any wording, is
 *   one too.
 * - "%ERROR:101: no entries found", "No match found for …", "No match for …" → not-found.
 * - Anything else — no network, a range that does not parse, no network containing the query — is
 *   a MalformedResponseError, never a guess.
 * - An answer cut short is a TransientLookupError('truncated'), never a network with fields
 *   missing: WHOIS has no length, so it shows as text ending inside an object or a line, an
 *   answer with its server's opening lines but not its closing ones (FRAMES), an ARIN network
 *   without the organization/customer block it names, or an RPSL inetnum without the
 *   organisation it names in an answer without the "This query was served by" footer.
 */
import type { RegistryId } from '../registry/interface.js'
import { formatIPv4, parseCidr, rangeToCidrs } from '../util/ipv4.js'
import { MalformedResponseError, TransientLookupError } from './errors.js'
import type { ParsedNetwork } from '../record/index.js'
import type { WhoisAnswer } from './interface.js'
import { knownRefusal, notFoundAnswer, refusalNotice } from './whois-notices.js'
import {
  attr, attrs, consistentCidrs, formatRange, hasAttr, normaliseCountry, normaliseDate, objectClass,
  parseRangeText, parseServerRef, parseWhoisText, registryOfName, registryOfWhoisHost, splitLines,
  stripRpslComment, type TextObject
} from './parse-util.js'

/**
 * Parses one WHOIS answer.
 *
 * @param registry the registry whose server answered (becomes the network's `registry`)
 * @param queryAddress the queried address; the network must contain it. -1 (or NaN) when
 *   unknown: the most specific network in the answer is taken.
 * @throws MalformedResponseError when the text is neither a network, a referral, a not-found nor
 *   a rate-limit answer
 * @throws TransientLookupError('truncated') when the answer was cut short
 */
export function parseWhoisAnswer (text: string, registry: RegistryId, queryAddress: number): WhoisAnswer {
  const bytes = Buffer.byteLength(text, 'utf8')
  const fail = (reason: string): never => { throw new MalformedResponseError(registry, `WHOIS: ${reason}`, bytes) }
  const query = knownAddress(queryAddress) ? queryAddress : undefined

  const { objects, messages, endsCleanly } = parseWhoisText(lastServerSection(text))
  const cutShort: Fail = reason => { throw new TransientLookupError(registry, 'truncated', `WHOIS answer cut short (${bytes} bytes): ${reason}`) }

  const refused = knownRefusal(messages, objects)
  if (refused !== undefined) return refused

  // objects up to the last "source: IANA" belong to an IANA answer printed before the RIR's
  const ianaEnd = lastIndexWhere(objects, o => stripRpslComment(attr(o, 'source')).toUpperCase() === 'IANA')
  const own = objects.slice(ianaEnd + 1)

  // a network or a referral is taken only from a whole answer; the check comes after the ranges
  // are read, so that garbage stays a MalformedResponseError
  const whole = (): void => {
    if (!endsCleanly) cutShort('it ends inside an object or a line')
    const frame = openFrame(messages)
    if (frame !== undefined) cutShort(`${frame}'s header without its closing lines`)
  }

  const arin = arinGroups(own)
  if (arin.length > 0) return arinAnswer(arin, registry, query, fail, whole, cutShort)

  const inetnums = own.filter(o => objectClass(o) === 'inetnum')
  if (inetnums.length > 0) return inetnumAnswer(inetnums, own, messages, registry, query, fail, whole, cutShort)

  if (ianaEnd >= 0) {
    const iana = objects.slice(0, ianaEnd + 1)
    const ref = iana.map(o => attr(o, 'refer') || attr(o, 'whois')).find(v => v !== '')
    const server = ref !== undefined ? parseServerRef(ref) : undefined
    if (server !== undefined) {
      whole()
      return referral(registryOfWhoisHost(server.host), server.host, server.port)
    }
  }

  const notFound = notFoundAnswer(messages)
  if (notFound !== undefined) return notFound

  // a refusal in a wording tier 1 does not know is still a refusal, not a malformed answer
  const notice = refusalNotice(messages, objects)
  if (notice !== undefined) return notice

  return fail(objects.length === 0 ? 'no objects in the answer' : 'no network (NetRange / inetnum) in the answer')
}

type Fail = (reason: string) => never

/**
 * The comment lines a registry's server opens and closes every answer with (as the real servers
 * do; AFRINIC ends with blank lines only). An answer cut at an object boundary ends cleanly but
 * lacks the closing lines — and may lack a more specific network that came later. ARIN prints
 * the same terms-of-use block before and after the objects.
 */
const FRAMES: Array<{ server: string, head: RegExp, foot: RegExp }> = [
  { server: 'ARIN', head: /^ARIN WHOIS data and services are subject to the Terms of Use/i, foot: /^ARIN WHOIS data and services are subject to the Terms of Use/i },
  { server: 'RIPE NCC', head: /^This is the RIPE Database query service/i, foot: /^This query was served by the RIPE Database/i },
  { server: 'APNIC', head: /^\[whois\.apnic\.net\]$/i, foot: /^This query was served by the APNIC Whois Service/i },
  { server: 'LACNIC', head: /^Joint Whois - whois\.lacnic\.net/i, foot: /^whois\.lacnic\.net accepts only direct match queries/i },
  { server: 'NIC.br', head: /^Copyright \(c\) Nic\.br/i, foot: /^whois\.registro\.br accepts only direct match queries/i }
]

/** The server whose opening lines the messages hold without its closing ones, if any. */
function openFrame (messages: string[]): string | undefined {
  for (const f of FRAMES) {
    const heads = messages.findIndex(m => f.head.test(m))
    if (heads < 0) continue
    if (!messages.some((m, i) => i > heads && f.foot.test(m))) return f.server
  }
  return undefined
}

function knownAddress (n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff
}

/** A referral with only the fields the answer gave (no `undefined` members). */
function referral (registry?: RegistryId, host?: string, port?: number): WhoisAnswer {
  return {
    kind: 'referral',
    ...(registry !== undefined ? { registry } : {}),
    ...(host !== undefined ? { host } : {}),
    ...(port !== undefined ? { port } : {})
  }
}

function lastIndexWhere<T> (items: T[], pred: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (pred(items[i])) return i
  return -1
}

const SERVER_HEADER = /^#\s*(r?whois(?:\.[a-z0-9-]+)+)(?::\d+)?\s*$/i

/** The text after the last "# whois.xxx" header a client printed, or the whole text if none. */
function lastServerSection (text: string): string {
  const lines = splitLines(text)
  const last = lastIndexWhere(lines, l => SERVER_HEADER.test(l))
  return last < 0 ? text : lines.slice(last + 1).join('\n')
}

// ---------------------------------------------------------------------------------------------
// ARIN

interface ArinGroup {
  net: TextObject
  /** the blocks after it up to the next network: its org/customer, POCs, ReferralServer */
  others: TextObject[]
}

function arinGroups (objects: TextObject[]): ArinGroup[] {
  const groups: ArinGroup[] = []
  for (const o of objects) {
    if (hasAttr(o, 'netrange')) groups.push({ net: o, others: [] })
    else if (groups.length > 0) groups[groups.length - 1].others.push(o)
  }
  return groups
}

const OTHER_RIR_NETTYPE = /\b(?:allocated|transferred)\s+to\s+(ripe(?:\s+ncc)?|apnic|lacnic|afrinic|arin)\b/i

function arinAnswer (groups: ArinGroup[], registry: RegistryId, query: number | undefined, fail: Fail, whole: () => void, cutShort: Fail): WhoisAnswer {
  const nets = groups.map(g => {
    const text = attr(g.net, 'netrange')
    const range = parseRangeText(text)
    if (range === undefined || range.prefixLength !== undefined) return fail(`unreadable NetRange "${text}"`)
    if (range.start > range.end) return fail(`NetRange "${text}" starts after it ends`)
    return { ...g, start: range.start, end: range.end }
  })
  const containing = query === undefined ? nets : nets.filter(n => n.start <= query && query <= n.end)
  whole()
  if (containing.length === 0) return fail(`no network in the answer contains ${formatIPv4(query ?? 0)}`)
  // most specific; on a tie the later one (ARIN prints a reassignment after its parent)
  const best = containing.reduce((a, b) => (b.end - b.start <= a.end - a.start ? b : a))
  const { net, others, start, end } = best

  const referral = arinReferral(net, others, registry)
  if (referral !== undefined) return referral

  const orgLine = attr(net, 'organization') || attr(net, 'customer')
  const orgLineMatch = /^(.*?)\s*\(([^()]+)\)\s*$/.exec(orgLine)
  const orgId = orgLineMatch?.[2] ?? ''
  const orgObjects = others.filter(o => hasAttr(o, 'orgname') || hasAttr(o, 'custname'))
  const orgObject = orgObjects.find(o => orgId !== '' && attr(o, 'orgid') === orgId) ?? orgObjects[0]
  // ARIN prints the network's organization or customer block after it (where its country is)
  if (orgLine !== '' && orgObject === undefined) cutShort(`no block for ${orgLine} after the network`)
  const org = orgObject !== undefined
    ? (attr(orgObject, 'orgname') || attr(orgObject, 'custname'))
    : (orgLineMatch?.[1] ?? orgLine)

  const blocks: Array<{ base: number, prefixLength: number }> = []
  for (const c of attr(net, 'cidr').split(/[,\s]+/).filter(s => s !== '')) {
    try {
      const p = parseCidr(c)
      blocks.push({ base: p.start, prefixLength: p.prefixLength })
    } catch { /* a CIDR that does not parse: computed below instead */ }
  }
  const parent = /\(([^()]*)\)\s*$/.exec(attr(net, 'parent'))

  const network: ParsedNetwork = {
    start,
    end,
    registry,
    handle: attr(net, 'nethandle'),
    name: attr(net, 'netname'),
    org: org.trim(),
    country: orgObject !== undefined ? normaliseCountry(attr(orgObject, 'country')) : '',
    cidrs: consistentCidrs(blocks, start, end) ?? rangeToCidrs(start, end),
    type: attr(net, 'nettype'),
    parentHandle: parent?.[1].trim() ?? '',
    registered: normaliseDate(attr(net, 'regdate')),
    lastChanged: normaliseDate(attr(net, 'updated'))
  }
  return { kind: 'network', network }
}

/** A network ARIN only lists for another RIR: NetType "Transferred to AfriNIC", or a ReferralServer that is another RIR's WHOIS. */
function arinReferral (net: TextObject, others: TextObject[], registry: RegistryId): WhoisAnswer | undefined {
  const servers = [net, ...others]
    .flatMap(o => attrs(o, 'referralserver'))
    .map(parseServerRef)
    .filter((s): s is NonNullable<typeof s> => s !== undefined && s.scheme === 'whois')
  const typed = OTHER_RIR_NETTYPE.exec(attr(net, 'nettype'))
  let target = typed != null ? registryOfName(typed[1]) : undefined
  if (target === undefined) {
    target = servers.map(s => registryOfWhoisHost(s.host)).find(r => r !== undefined && r !== registry)
  }
  if (target === undefined || target === registry) return undefined
  const server = servers.find(s => registryOfWhoisHost(s.host) === target)
  return referral(target, server?.host, server?.port)
}

// ---------------------------------------------------------------------------------------------
// RPSL (RIPE, APNIC, AFRINIC) and LACNIC / NIC.br

const PLACEHOLDER_NETNAME = /^(?:IANA-BLK|IANA-BLOCK|IANA-NETBLOCK-\d+|IANA-RSVD|ERX-NETBLOCK|NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK)$/i
const PLACEHOLDER_DESCR = /\bnot (?:fully )?(?:managed|allocated|administered) (?:by|to) (?:the )?(?:RIPE|APNIC|AFRINIC|LACNIC|ARIN)\b/i
const SERVED_BY = /^This query was served by\b/i
const RIR_WHOIS_HOST = /\bwhois\.(arin|ripe|apnic|lacnic|afrinic)\.net\b/gi

function inetnumAnswer (inetnums: TextObject[], objects: TextObject[], messages: string[], registry: RegistryId, query: number | undefined, fail: Fail, whole: () => void, cutShort: Fail): WhoisAnswer {
  const nets = inetnums.map(o => {
    const text = attr(o, 'inetnum')
    const range = parseRangeText(text)
    if (range === undefined) return fail(`unreadable inetnum "${text}"`)
    if (range.start > range.end) return fail(`inetnum "${text}" starts after it ends`)
    return { obj: o, ...range }
  })
  const containing = query === undefined ? nets : nets.filter(n => n.start <= query && query <= n.end)
  whole()
  if (containing.length === 0) return fail(`no inetnum in the answer contains ${formatIPv4(query ?? 0)}`)
  // most specific; on a tie the first (the registry's own object before mirrored NIR data)
  const best = containing.reduce((a, b) => (b.end - b.start < a.end - a.start ? b : a))
  const { obj, start, end, prefixLength } = best

  const netname = stripRpslComment(attr(obj, 'netname'))
  const descrs = attrs(obj, 'descr')
  if (isPlaceholder(obj, netname, descrs, start, end)) return placeholderReferral(obj, registry)

  const orgRef = stripRpslComment(attr(obj, 'org')).toUpperCase()
  const orgName = orgRef === '' ? '' : organisationName(orgRef, objects)
  // the organisation an inetnum names follows it, unless the server leaves referenced objects out
  // (then the answer still ends with its "This query was served by" line, which RIPE and APNIC print)
  if (orgName === '' && stripRpslComment(attr(obj, 'org')) !== '' && !messages.some(m => SERVED_BY.test(m))) {
    cutShort(`no organisation ${stripRpslComment(attr(obj, 'org'))} after the inetnum`)
  }
  const network = inetnumNetwork(obj, objects, messages, registry, { start, end, prefixLength })
  return { kind: 'network', network }
}

/**
 * The network an RPSL or LACNIC inetnum object describes (its range already read): the org is the
 * "owner:", else the org-name of the organisation object in `objects` it names, else its first
 * "descr:".
 */
export function inetnumNetwork (obj: TextObject, objects: TextObject[], messages: string[], registry: RegistryId, range: { start: number, end: number, prefixLength?: number }): ParsedNetwork {
  const fields = inetnumFields(obj, registry, range, ref => organisationName(ref, objects), () => isNicBrAnswer(messages, objects))
  const { start, end, prefixLength } = range
  return { ...fields, cidrs: prefixLength !== undefined ? [`${formatIPv4(start)}/${prefixLength}`] : rangeToCidrs(start, end) }
}

/**
 * inetnumNetwork's rules without the CIDR list (a bulk import keeps only the range), the org's
 * name found by `orgName` (the upper-case handle "org:" names → its org-name, '' when unknown) and
 * whether the answer is NIC.br's asked only when the inetnum has no country.
 */
export function inetnumFields (obj: TextObject, registry: RegistryId, range: { start: number, end: number, prefixLength?: number }, orgName: (handle: string) => string, isNicBr: () => boolean): Omit<ParsedNetwork, 'cidrs'> {
  const { start, end, prefixLength } = range
  // the first value of each attribute (as attr() takes it), the first non-empty "descr:", the latest "changed:"
  let owner, org, parentAttr, inetnumUp, country, status, netname, created, lastModified: string | undefined
  let descr = ''
  let changed = ''
  for (const a of obj.attrs) {
    switch (a.key) {
      case 'netname': netname ??= a.value; break
      case 'owner': owner ??= a.value; break
      case 'org': org ??= a.value; break
      case 'descr': if (descr === '') descr = a.value; break
      case 'parent': parentAttr ??= a.value; break
      case 'inetnum-up': inetnumUp ??= a.value; break
      case 'country': country ??= a.value; break
      case 'status': status ??= a.value; break
      case 'created': created ??= a.value; break
      case 'last-modified': lastModified ??= a.value; break
      case 'changed': { const d = normaliseDate(a.value); if (d > changed) changed = d; break }
    }
  }
  const parent = parentAttr || inetnumUp || ''
  const orgRef = stripRpslComment(org ?? '').toUpperCase()
  // RPSL has no parent attribute (AFRINIC and some mirrors print "parent:"); LACNIC and NIC.br
  // name the parent block by its CIDR in "inetnum-up:", written as they write handles
  const parentRange = parent === '' ? undefined : parseRangeText(parent)
  return {
    start,
    end,
    registry,
    handle: prefixLength !== undefined ? `${formatIPv4(start)}/${prefixLength}` : formatRange(start, end),
    name: stripRpslComment(netname ?? ''),
    org: owner || (orgRef === '' ? '' : orgName(orgRef)) || descr,
    // NIC.br holds Brazil's space only, and does not always print "country:"
    country: normaliseCountry(country ?? '') || (isNicBr() ? 'BR' : ''),
    type: stripRpslComment(status ?? ''),
    parentHandle: parentRange === undefined
      ? parent
      : parentRange.prefixLength !== undefined ? `${formatIPv4(parentRange.start)}/${parentRange.prefixLength}` : formatRange(parentRange.start, parentRange.end),
    registered: normaliseDate(created ?? ''),
    lastChanged: normaliseDate(lastModified ?? '') || changed
  }
}

/**
 * Whether the answer is NIC.br's (whois.registro.br, or relayed by LACNIC's Joint Whois): its
 * copyright or query-syntax lines name it, or it holds NIC.br's contact objects ("nic-hdl-br:").
 */
function isNicBrAnswer (messages: string[], objects: TextObject[]): boolean {
  return messages.some(m => /\bnic\.br\b|\bregistro\.br\b|\bBrazilian resource\b/i.test(m)) || objects.some(o => hasAttr(o, 'nic-hdl-br'))
}

/** org-name of the organisation object with this (upper-case) handle in the answer, '' if none. */
function organisationName (ref: string, objects: TextObject[]): string {
  const o = objects.find(x => objectClass(x) === 'organisation' && stripRpslComment(attr(x, 'organisation')).toUpperCase() === ref)
  return o !== undefined ? attr(o, 'org-name') : ''
}

/**
 * Whether an RPSL inetnum is a registry's placeholder for space that is not its own (IANA-BLK,
 * NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK, "not managed by …", ALLOCATED UNSPECIFIED, the whole 0/0)
 * rather than a network. `netname` comment-stripped, `descrs` its "descr:" values.
 */
export function isPlaceholder (obj: TextObject, netname: string, descrs: string[], start: number, end: number): boolean {
  if (start === 0 && end === 0xffffffff) return true
  if (PLACEHOLDER_NETNAME.test(netname)) return true
  if (stripRpslComment(attr(obj, 'status')).toUpperCase() === 'ALLOCATED UNSPECIFIED') return true
  return descrs.some(d => PLACEHOLDER_DESCR.test(d))
}

function placeholderReferral (obj: TextObject, registry: RegistryId): WhoisAnswer {
  const text = obj.attrs.map(a => a.value).join('\n')
  const named = new Map<RegistryId, string>()
  for (const m of text.matchAll(RIR_WHOIS_HOST)) {
    const host = m[0].toLowerCase()
    const r = registryOfWhoisHost(host)
    if (r !== undefined && r !== registry) named.set(r, host)
  }
  if (named.size !== 1) return referral()
  const [[target, host]] = [...named]
  return referral(target, host)
}
