/**
 * Turns an RDAP `ip network` object (RFC 9083 §5.4, with the cidr0 extension) into a
 * ParsedNetwork. Same rules for all five RIRs; the quirks seen in real answers:
 *
 * - RIPE (old format): `startAddress` / `endAddress` as "62.239.237.0/32", and no
 *   `objectClassName` at all. The "/32" is dropped; a body without `objectClassName` is accepted
 *   when it has both addresses.
 * - ARIN (old format): zero-padded octets "074.125.000.000" (parseIPv4 accepts them).
 * - ARIN has no `country`; the network's country is then the registrant's, read from its vCard
 *   address (`cc` parameter, the country component, or the last line of the `label`), so RDAP
 *   and WHOIS (whose Country: is the org's) agree.
 * - RIPE lists maintainers as "registrant" entities without a vCard; AFRINIC's org entity has its
 *   own handle as `fn`. Neither is a name: the org then falls back to the first description
 *   remark, which is what the WHOIS parser takes from `descr:`.
 * - LACNIC's old server echoed the queried address as the whole network (start = end = the
 *   query, handle = the bare address). That is not the registry's network: such a body is
 *   rejected as malformed rather than stored as a /32.
 * - LACNIC writes several roles in one string ("technical, abuse").
 */
import type { RegistryId } from '../registry/interface.js'
import { formatIPv4, parseIPv4, rangeToCidrs, tryParseIPv4 } from '../util/ipv4.js'
import { MalformedResponseError } from './errors.js'
import type { ParsedNetwork } from '../record/index.js'
import { consistentCidrs, countryCodeFromName, normaliseCountry } from './parse-util.js'

type Json = Record<string, unknown>

/** The fields of an RDAP error response (RFC 9083 §6), or undefined if `body` is not one. */
export interface RdapErrorInfo {
  errorCode?: number
  title: string
  description: string[]
}

/**
 * Reads an RDAP error body ({ errorCode, title, description }). Undefined when the body is not
 * an error object (for instance because it is an `ip network`).
 */
export function rdapErrorInfo (body: unknown): RdapErrorInfo | undefined {
  if (!isObject(body) || typeof body.objectClassName === 'string') return undefined
  const code = typeof body.errorCode === 'number' && Number.isInteger(body.errorCode) ? body.errorCode : undefined
  const title = typeof body.title === 'string' ? body.title : ''
  const description = Array.isArray(body.description) ? body.description.filter((d): d is string => typeof d === 'string') : []
  if (code === undefined && title === '' && description.length === 0) return undefined
  return { errorCode: code, title, description }
}

/**
 * Parses an RDAP `ip network` body.
 *
 * @param queryAddress the address that was asked for; the network must contain it. Pass -1 (or
 *   NaN) when unknown to skip that check.
 * @param rawBytes size of the raw body, for the MalformedResponseError
 * @throws MalformedResponseError when the body is not an IPv4 network object, has no usable
 *   range, start > end, or the range does not contain `queryAddress`
 */
export function parseRdapNetwork (body: unknown, registry: RegistryId, queryAddress: number, rawBytes: number): ParsedNetwork {
  const fail = (reason: string): never => { throw new MalformedResponseError(registry, `RDAP: ${reason}`, rawBytes) }

  if (!isObject(body)) fail('body is not a JSON object')
  const net = body as Json
  const err = rdapErrorInfo(net)
  if (err !== undefined && net.startAddress === undefined) {
    fail(`error response${err.errorCode !== undefined ? ` ${err.errorCode}` : ''}: ${[err.title, ...err.description].filter(s => s !== '').join(' ')}`)
  }
  const cls = net.objectClassName
  if (cls !== undefined && cls !== 'ip network') fail(`objectClassName is ${JSON.stringify(cls)}, not "ip network"`)
  if (net.ipVersion !== undefined && net.ipVersion !== 'v4') fail(`ipVersion is ${JSON.stringify(net.ipVersion)}, not "v4"`)

  const cidr0 = readCidr0(net.cidr0_cidrs)
  if (cidr0 === 'invalid') fail('cidr0_cidrs is not a list of IPv4 prefixes')
  let start = rdapAddress(net.startAddress)
  let end = rdapAddress(net.endAddress)
  if (start === 'invalid' || end === 'invalid') fail(`unusable range ${JSON.stringify(net.startAddress)} - ${JSON.stringify(net.endAddress)}`)
  if (start === undefined || end === undefined) {
    // no addresses: only a cidr0 list that forms one contiguous range will do (and only with an object class)
    if (cls !== 'ip network' || cidr0 === undefined || cidr0.length === 0) fail('no startAddress/endAddress')
    const blocks = (cidr0 as Cidr0Block[]).map(b => ({ start: b.base, end: b.base + 2 ** (32 - b.prefixLength) - 1 })).sort((a, b) => a.start - b.start)
    for (let i = 1; i < blocks.length; i++) if (blocks[i].start !== blocks[i - 1].end + 1) fail('no startAddress/endAddress and cidr0_cidrs is not one range')
    start = blocks[0].start
    end = blocks[blocks.length - 1].end
  }
  const s = start as number
  const e = end as number
  if (s > e) fail(`start ${formatIPv4(s)} is after end ${formatIPv4(e)}`)
  if (knownAddress(queryAddress) && (queryAddress < s || queryAddress > e)) {
    fail(`network ${formatIPv4(s)} - ${formatIPv4(e)} does not contain the queried ${formatIPv4(queryAddress)}`)
  }

  const handle = str(net.handle)
  if (s === e && tryParseIPv4(handle) === s) {
    fail(`the server echoed the queried address ${handle} instead of a registry network`)
  }

  const cidrs = (cidr0 !== undefined ? consistentCidrs(cidr0 as Cidr0Block[], s, e) : undefined) ?? rangeToCidrs(s, e)
  const entities = collectEntities(net.entities)
  const registrant = pickRegistrant(entities)
  let org = registrant?.name ?? ''
  if (org === '') org = pickOrgEntity(entities) ?? ''
  if (org === '') org = firstDescription(net.remarks)
  let country = normaliseCountry(str(net.country))
  if (country === '' && registrant !== undefined) country = vcardCountry(registrant.vcard)

  return {
    start: s,
    end: e,
    registry,
    handle,
    name: str(net.name),
    org,
    country,
    cidrs,
    type: str(net.type),
    parentHandle: str(net.parentHandle),
    registered: eventDate(net.events, 'registration'),
    lastChanged: eventDate(net.events, 'last changed')
  }
}

function isObject (v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function knownAddress (n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff
}

function str (v: unknown): string {
  return typeof v === 'string' ? v.trim() : ''
}

/** "1.2.3.4", "074.125.000.000", "62.239.237.0/32" → number; absent → undefined; else 'invalid'. */
function rdapAddress (v: unknown): number | undefined | 'invalid' {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') return 'invalid'
  const text = v.trim().replace(/\/32$/, '')
  return tryParseIPv4(text) ?? 'invalid'
}

interface Cidr0Block { base: number, prefixLength: number }

function readCidr0 (v: unknown): Cidr0Block[] | undefined | 'invalid' {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v)) return 'invalid'
  const out: Cidr0Block[] = []
  for (const item of v) {
    if (!isObject(item)) return 'invalid'
    if (item.v6prefix !== undefined) return 'invalid'
    const len = typeof item.length === 'number' ? item.length : Number(item.length)
    if (typeof item.v4prefix !== 'string' || !Number.isInteger(len) || len < 0 || len > 32) return 'invalid'
    let base: number
    try { base = parseIPv4(item.v4prefix) } catch { return 'invalid' }
    out.push({ base, prefixLength: len })
  }
  return out
}

interface EntityInfo {
  handle: string
  roles: string[]
  kind: string
  fn: string
  orgProp: string
  vcard: unknown[][]
  depth: number
}

/** All entities, breadth first: the network's own first, then the ones nested in them. */
function collectEntities (v: unknown): EntityInfo[] {
  const out: EntityInfo[] = []
  let level: unknown[] = Array.isArray(v) ? v : []
  for (let depth = 0; level.length > 0 && depth < 4; depth++) {
    const next: unknown[] = []
    for (const e of level) {
      if (!isObject(e)) continue
      const roles = (Array.isArray(e.roles) ? e.roles : [])
        .filter((r): r is string => typeof r === 'string')
        .flatMap(r => r.split(/[,\s]+/))
        .map(r => r.toLowerCase())
        .filter(r => r !== '')
      const vcard = vcardProps(e.vcardArray)
      out.push({
        handle: str(e.handle),
        roles,
        kind: vcardText(vcard, 'kind').toLowerCase(),
        fn: vcardText(vcard, 'fn'),
        orgProp: vcardText(vcard, 'org'),
        vcard,
        depth
      })
      if (Array.isArray(e.entities)) next.push(...e.entities)
    }
    level = next
  }
  return out
}

function vcardProps (v: unknown): unknown[][] {
  if (!Array.isArray(v) || v[0] !== 'vcard' || !Array.isArray(v[1])) return []
  return v[1].filter((p): p is unknown[] => Array.isArray(p) && typeof p[0] === 'string')
}

function vcardProp (props: unknown[][], name: string): unknown[] | undefined {
  return props.find(p => (p[0] as string).toLowerCase() === name)
}

/** A text property's value; structured values (org units) give their first non-empty part. */
function vcardText (props: unknown[][], name: string): string {
  const value = vcardProp(props, name)?.[3]
  if (typeof value === 'string') return value.trim()
  if (Array.isArray(value)) {
    const first = value.find((x): x is string => typeof x === 'string' && x.trim() !== '')
    return first?.trim() ?? ''
  }
  return ''
}

/** A name that names something: not empty and not just the entity's own handle. */
function usableName (name: string, handle: string): boolean {
  return name !== '' && name.toLowerCase() !== handle.toLowerCase()
}

function entityName (e: EntityInfo): string {
  const ordered = e.kind === 'org' ? [e.fn, e.orgProp] : [e.orgProp, e.fn]
  return ordered.find(n => usableName(n, e.handle)) ?? ''
}

/** The registrant: top-level before nested, an organisation before a person. */
function pickRegistrant (entities: EntityInfo[]): (EntityInfo & { name: string }) | undefined {
  const regs = entities
    .filter(e => e.roles.includes('registrant'))
    .map(e => ({ ...e, name: entityName(e) }))
    .filter(e => e.name !== '')
  regs.sort((a, b) => (a.depth - b.depth) || (Number(b.kind === 'org') - Number(a.kind === 'org')))
  return regs[0]
}

/** Failing a registrant, any entity whose vCard says it is an organisation. */
function pickOrgEntity (entities: EntityInfo[]): string | undefined {
  for (const e of entities) {
    if (e.kind !== 'org') continue
    const name = entityName(e)
    if (name !== '') return name
  }
  return undefined
}

/** First line of the first remark that is the object's description (untitled, or titled so). */
function firstDescription (v: unknown): string {
  if (!Array.isArray(v)) return ''
  for (const r of v) {
    if (!isObject(r)) continue
    const title = str(r.title).toLowerCase()
    if (title !== '' && title !== 'description') continue
    if (!Array.isArray(r.description)) continue
    const line = r.description.find((d): d is string => typeof d === 'string' && d.trim() !== '')
    if (line !== undefined) return line.trim()
  }
  return ''
}

/** Country of a vCard address: the `cc` parameter, the country component, or the label's last line. */
function vcardCountry (props: unknown[][]): string {
  const adr = vcardProp(props, 'adr')
  if (adr === undefined) return ''
  const params = isObject(adr[1]) ? adr[1] : {}
  const cc = typeof params.cc === 'string' ? normaliseCountry(params.cc) : ''
  if (cc !== '') return cc
  if (Array.isArray(adr[3]) && typeof adr[3][6] === 'string' && adr[3][6].trim() !== '') {
    const c = countryCodeFromName(adr[3][6])
    if (c !== '') return c
  }
  if (typeof params.label === 'string') {
    const lines = params.label.split(/\r?\n/).map(l => l.trim()).filter(l => l !== '')
    // a bare two-letter last line could be a state ("MA"); only a full country name counts here
    const last = lines[lines.length - 1]
    if (lines.length > 1 && last.length > 2) return countryCodeFromName(last)
  }
  return ''
}

function eventDate (v: unknown, action: string): string {
  if (!Array.isArray(v)) return ''
  for (const ev of v) {
    if (isObject(ev) && str(ev.eventAction).toLowerCase() === action && typeof ev.eventDate === 'string') return ev.eventDate.trim()
  }
  return ''
}
