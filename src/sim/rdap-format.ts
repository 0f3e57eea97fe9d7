/**
 * RDAP bodies in each RIR's flavour (RFC 9083 `ip network` objects), modelled on the real answers
 * in test/fixtures/registry-responses/: ARIN (no `country`; the registrant's vCard address
 * carries it; cidr0; NET- handles), RIPE / APNIC / AFRINIC (handle = the inetnum range text,
 * `parentHandle` a range, description remarks), LACNIC (handle = the CIDR, no name, lower-case
 * type). Error bodies are RFC 9083 §6 objects.
 */
import type { RegistryEndpoints, RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import type { SimNetwork } from './records.js'

export const RDAP_CONTENT_TYPE = 'application/rdap+json'

const CONFORMANCE: Record<RegistryId, string[]> = {
  arin: ['nro_rdap_profile_0', 'rdap_level_0', 'cidr0', 'arin_originas0'],
  ripe: ['cidr0', 'rdap_level_0', 'nro_rdap_profile_0', 'redacted'],
  apnic: ['history_version_0', 'nro_rdap_profile_0', 'cidr0', 'rdap_level_0'],
  lacnic: ['rdap_level_0', 'lacnic_level_0', 'cidr0'],
  afrinic: ['rdap_level_0', 'cidr0']
}

const PORT43: Record<RegistryId, string> = {
  arin: 'whois.arin.net',
  ripe: 'whois.ripe.net',
  apnic: 'whois.apnic.net',
  lacnic: 'whois.lacnic.net',
  afrinic: 'whois.afrinic.net'
}

function notices (registry: RegistryId, requestUrl: string): unknown[] {
  const about = (title: string, description: string[], href: string): unknown => ({
    title, description, links: [{ value: requestUrl, rel: 'terms-of-service', type: 'text/html', href }]
  })
  switch (registry) {
    case 'arin': return [
      { title: 'Terms of Service', description: ['By using the ARIN RDAP/Whois service, you are agreeing to the RDAP/Whois Terms of Use'], links: [{ value: requestUrl, rel: 'terms-of-service', type: 'text/html', href: 'https://www.arin.net/resources/registry/whois/tou/' }] },
      { title: 'Whois Inaccuracy Reporting', description: ['If you see inaccuracies in the results, please visit: '], links: [{ value: requestUrl, rel: 'inaccuracy-report', type: 'text/html', href: 'https://www.arin.net/resources/registry/whois/inaccuracy_reporting/' }] },
      { title: 'Copyright Notice', description: ['Copyright 1997-2025, American Registry for Internet Numbers, Ltd.'] }
    ]
    case 'ripe': return [
      { title: 'Filtered', description: ['This output has been filtered.'] },
      { title: 'Source', description: ['Objects returned came from source', 'RIPE'] },
      about('Terms and Conditions', ['This is the RIPE Database query service. The objects are in RDAP format.'], 'https://apps.db.ripe.net/docs/HTML-Terms-And-Conditions')
    ]
    case 'apnic': return [
      { title: 'Source', description: ['Objects returned came from source', 'APNIC'] },
      about('Terms and Conditions', ['This is the APNIC WHOIS Database query service. The objects are in RDAP format.'], 'http://www.apnic.net/db/dbcopyright.html')
    ]
    case 'lacnic': return [
      about('Terms and Conditions', ['This is the LACNIC RDAP service. Objects are in RDAP format.'], 'http://www.lacnic.net/web/lacnic/registration-data-access-protocol')
    ]
    case 'afrinic': return [
      about('ABOUT', ['This is the AfriNIC RDAP server.'], 'https://afrinic.net/whois/terms')
    ]
  }
}

let regionNames: Intl.DisplayNames | undefined

/** "US" → "United States" (English, from the ICU data Node ships). */
export function countryName (cc: string): string {
  regionNames ??= new Intl.DisplayNames(['en'], { type: 'region' })
  try { return regionNames.of(cc) ?? cc } catch { return cc }
}

function timestamp (registry: RegistryId, date: string): string {
  // ARIN writes local time with an offset, the others UTC
  return registry === 'arin' ? `${date}T10:15:30-04:00` : `${date}T10:15:30Z`
}

function registrant (n: SimNetwork, base: string, requestUrl: string): unknown {
  const adrParams: Record<string, string> = { label: `${n.org}\n${countryName(n.country).toUpperCase()}` }
  if (n.country !== '') adrParams.cc = n.country
  return {
    objectClassName: 'entity',
    handle: n.orgHandle,
    vcardArray: ['vcard', [
      ['version', {}, 'text', '4.0'],
      ['fn', {}, 'text', n.org],
      ['kind', {}, 'text', 'org'],
      ['adr', adrParams, 'text', ['', '', '', '', '', '', '']]
    ]],
    roles: ['registrant'],
    links: [{ value: requestUrl, rel: 'self', type: RDAP_CONTENT_TYPE, href: `${base}entity/${encodeURIComponent(n.orgHandle)}` }],
    port43: PORT43[n.registry]
  }
}

/** The `ip network` object for `n` as registry `n.registry` serves it at `base` (ends with "/"). */
export function rdapNetworkBody (n: SimNetwork, base: string, requestUrl: string): Record<string, unknown> {
  const reg = n.registry
  const selfHref = reg === 'lacnic' ? `${base}ip/${n.handle}` : `${base}ip/${formatIPv4(n.start)}`
  const body: Record<string, unknown> = {
    rdapConformance: CONFORMANCE[reg],
    notices: notices(reg, requestUrl),
    objectClassName: 'ip network',
    handle: n.handle,
    startAddress: formatIPv4(n.start),
    endAddress: formatIPv4(n.end),
    ipVersion: 'v4'
  }
  if (n.name !== '') body.name = n.name
  body.type = n.type
  if (reg !== 'arin') body.country = n.country
  if (n.parentHandle !== '') body.parentHandle = n.parentHandle
  body.cidr0_cidrs = n.blocks.map(([b, len]) => ({ v4prefix: formatIPv4(b), length: len }))
  body.status = ['active']
  if (reg === 'arin' && n.asn > 0) body.arin_originas0_originautnums = [n.asn]
  if (reg === 'ripe' || reg === 'apnic' || reg === 'afrinic') {
    body.remarks = [reg === 'apnic' ? { title: 'description', description: [n.org] } : { description: [n.org] }]
  }
  body.entities = [registrant(n, base, requestUrl)]
  const events = [{ eventAction: 'last changed', eventDate: timestamp(reg, n.lastChanged) }]
  // RIPE and APNIC publish only the last change
  if (reg === 'arin' || reg === 'lacnic' || reg === 'afrinic') events.unshift({ eventAction: 'registration', eventDate: timestamp(reg, n.registered) })
  body.events = events
  body.links = [{ value: requestUrl, rel: 'self', type: RDAP_CONTENT_TYPE, href: selfHref }]
  if (reg === 'afrinic') body.lang = 'en'
  body.port43 = PORT43[reg]
  return body
}

/** RFC 9083 §6 error body. */
export function rdapErrorBody (registry: RegistryId, errorCode: number, title: string, description: string[]): Record<string, unknown> {
  return { rdapConformance: CONFORMANCE[registry], errorCode, title, description, notices: notices(registry, '') }
}

export function rdapNotFoundBody (registry: RegistryId, address: string): Record<string, unknown> {
  return rdapErrorBody(registry, 404, 'Not Found', [`No network found for ${address}: the address is special-purpose or reserved space.`])
}

export function rdapRateLimitedBody (registry: RegistryId, budgetPerSecond: number, retryAfterSeconds: number): Record<string, unknown> {
  return rdapErrorBody(registry, 429, 'Too Many Requests', [
    `Query rate limit exceeded: this service answers ${+budgetPerSecond.toFixed(3)} queries per second in all.`,
    `Retry after ${retryAfterSeconds} seconds.`
  ])
}

export function rdapBannedBody (registry: RegistryId, retryAfterSeconds: number): Record<string, unknown> {
  return rdapErrorBody(registry, 429, 'Too Many Requests', [
    'Your address has been banned for repeatedly exceeding the query rate limit.',
    `Retry after ${retryAfterSeconds} seconds.`
  ])
}

export function rdapBadRequestBody (registry: RegistryId, what: string): Record<string, unknown> {
  return rdapErrorBody(registry, 400, 'Bad Request', [what])
}

/** Where a redirect for `address` to registry `to` points. */
export function rdapRedirectLocation (endpoints: RegistryEndpoints, to: RegistryId, address: number): string {
  return `${endpoints[to].rdapBaseUrl}ip/${formatIPv4(address)}`
}
