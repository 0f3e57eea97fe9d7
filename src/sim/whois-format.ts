/**
 * WHOIS (port 43) answers in each RIR's format, modelled on the real answers in
 * test/fixtures/registry-responses/:
 * - ARIN: `n + <ip>` → banner, NetRange / CIDR (comma-separated list) / NetName / NetHandle /
 *   Parent / NetType / Organization … block, then the OrgName block; referrals as ARIN lists
 *   other RIRs' space: NetType "Allocated to RIPE NCC" / "Transferred to AfriNIC" with a
 *   `ReferralServer: whois://<host>:<port>` naming the simulator's server of that RIR.
 * - RIPE, APNIC, AFRINIC: RPSL inetnum + organisation objects under each one's banner; other
 *   RIRs' space is a NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK / IANA-NETBLOCK / IANA-BLK placeholder
 *   whose remarks name the owning RIR and its WHOIS server (real host name, and the simulator's
 *   host:port).
 * - LACNIC: CRLF lines, `inetnum: 200.57.128/19` (abbreviated CIDR), owner / ownerid / country,
 *   dates as YYYYMMDD, no network name.
 */
import { REGISTRY_NAMES, type RegistryEndpoints, type RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import { abbreviatedCidr, RIR_ORGS, type SimNetwork } from './records.js'
import { cidrBlocks } from './world.js'

const REAL_WHOIS_HOST: Record<RegistryId, string> = {
  arin: 'whois.arin.net',
  ripe: 'whois.ripe.net',
  apnic: 'whois.apnic.net',
  lacnic: 'whois.lacnic.net',
  afrinic: 'whois.afrinic.net'
}

/** ARIN's spelling of the other RIRs in NetType lines. */
const ARIN_RIR_NAMES: Record<RegistryId, string> = {
  arin: 'ARIN', ripe: 'RIPE NCC', apnic: 'APNIC', lacnic: 'LACNIC', afrinic: 'AfriNIC'
}

/** Where each RIR sits (the country of its own organisation record). */
const RIR_SEAT: Record<RegistryId, string> = { arin: 'US', ripe: 'NL', apnic: 'AU', lacnic: 'UY', afrinic: 'MU' }

const RPSL_SOURCE: Record<'ripe' | 'apnic' | 'afrinic', string> = { ripe: 'RIPE', apnic: 'APNIC', afrinic: 'AFRINIC' }

/** Pads "key:" to the value column, as the servers do. */
function line (key: string, value: string, width = 16): string {
  const k = `${key}:`
  return value === '' ? `${k.padEnd(width)}` : `${k.padEnd(width)}${value}`
}

function range (start: number, end: number): string {
  return `${formatIPv4(start)} - ${formatIPv4(end)}`
}

function cidrList (start: number, end: number): string[] {
  const flat = cidrBlocks(start, end)
  const out: string[] = []
  for (let p = 0; p < flat.length; p += 2) out.push(`${formatIPv4(flat[p])}/${32 - Math.log2(flat[p + 1] - flat[p] + 1)}`)
  return out
}

function yyyymmdd (date: string): string {
  return date.replaceAll('-', '')
}

// ---------------------------------------------------------------------------------------------
// ARIN

const ARIN_BANNER = [
  '#',
  '# ARIN WHOIS data and services are subject to the Terms of Use',
  '# available at: https://www.arin.net/resources/registry/whois/tou/',
  '#',
  '# If you see inaccuracies in the results, please report at',
  '# https://www.arin.net/resources/registry/whois/inaccuracy_reporting/',
  '#',
  '# Copyright 1997-2025, American Registry for Internet Numbers, Ltd.',
  '#',
  ''
].join('\n')

function arinWrap (body: string): string {
  return `\n${ARIN_BANNER}\n\n${body}\n\n${ARIN_BANNER}\n`
}

function arinOrgBlock (name: string, id: string, country: string, rdapBase: string): string {
  return [
    line('OrgName', name),
    line('OrgId', id),
    line('Address', 'Simulated Street 1'),
    line('City', 'Simulated City'),
    line('StateProv', ''),
    line('PostalCode', ''),
    line('Country', country),
    line('RegDate', '1997-12-22'),
    line('Updated', '2024-01-09'),
    line('Ref', `${rdapBase}entity/${id}`)
  ].join('\n')
}

export function arinNetworkAnswer (n: SimNetwork, rdapBase: string): string {
  return arinWrap(arinNetAndOrg(n, rdapBase))
}

/**
 * ARIN's answer to `n + <ip>` when several networks contain the address (the nested world): each
 * in its own `# start` … `# end` block with its organization, from the allocation down to the
 * most specific one.
 */
export function arinChainAnswer (chain: SimNetwork[], rdapBase: string): string {
  if (chain.length === 1) return arinNetworkAnswer(chain[0], rdapBase)
  return arinWrap(chain.map(n => `# start\n\n${arinNetAndOrg(n, rdapBase)}\n# end\n`).join('\n\n'))
}

function arinNetAndOrg (n: SimNetwork, rdapBase: string): string {
  const parent = n.parentHandle === '' ? '()' : `${n.parentName ?? `NET${n.start >>> 24}`} (${n.parentHandle})`
  const net = [
    line('NetRange', range(n.start, n.end)),
    line('CIDR', n.cidrs.join(', ')),
    line('NetName', n.name),
    line('NetHandle', n.handle),
    line('Parent', parent),
    line('NetType', n.whoisType),
    line('OriginAS', n.asn > 0 ? `AS${n.asn}` : ''),
    line('Organization', `${n.org} (${n.orgHandle})`),
    line('RegDate', n.registered),
    line('Updated', n.lastChanged),
    line('Ref', `${rdapBase}ip/${formatIPv4(n.start)}`)
  ].join('\n')
  return `${net}\n\n\n${arinOrgBlock(n.org, n.orgHandle, n.country, rdapBase)}\n`
}

export function arinReferralAnswer (to: RegistryId, transferred: boolean, blockStart: number, blockEnd: number, endpoints: RegistryEndpoints): string {
  const rdapBase = endpoints.arin.rdapBaseUrl
  const who = ARIN_RIR_NAMES[to]
  const org = RIR_ORGS[to]
  const orgId = to.toUpperCase()
  const server = `${endpoints[to].whoisHost}:${endpoints[to].whoisPort}`
  const net = [
    line('NetRange', range(blockStart, blockEnd)),
    line('CIDR', cidrList(blockStart, blockEnd).join(', ')),
    line('NetName', transferred ? `${orgId}-${formatIPv4(blockStart).replaceAll('.', '-')}` : `${orgId}-${blockStart >>> 24}`),
    line('NetHandle', `NET-${formatIPv4(blockStart).replaceAll('.', '-')}-${transferred ? 1 : 0}`),
    line('Parent', transferred ? `NET${blockStart >>> 24} (NET-${blockStart >>> 24}-0-0-0-0)` : '()'),
    line('NetType', `${transferred ? 'Transferred' : 'Allocated'} to ${who}`),
    line('OriginAS', ''),
    line('Organization', `${org.name} (${orgId})`),
    line('RegDate', '2005-02-21'),
    line('Updated', '2005-02-21'),
    line('Comment', `This IP address range is under ${who} responsibility.`),
    line('Comment', `Please check the WHOIS server located at ${REAL_WHOIS_HOST[to]}`),
    line('Comment', `(in this simulation: whois://${server}).`),
    line('Ref', `${rdapBase}ip/${formatIPv4(blockStart)}`),
    '',
    line('ResourceLink', `${endpoints[to].rdapBaseUrl}`, 15),
    line('ResourceLink', server, 15)
  ].join('\n')
  const orgBlock = `${arinOrgBlock(org.name, orgId, RIR_SEAT[to], rdapBase)}\n\n${line('ReferralServer', `whois://${server}`, 17)}`
  return arinWrap(`${net}\n\n\n${orgBlock}\n`)
}

export function arinNotFoundAnswer (query: string): string {
  return arinWrap(`No match found for ${query}.\n`)
}

export function arinRateLimitedAnswer (retryAfterSeconds: number): string {
  return arinWrap(`# Query rate limit exceeded. Retry after ${retryAfterSeconds} seconds.\n`)
}

export function arinBannedAnswer (retryAfterSeconds: number): string {
  return arinWrap(`# Access has been temporarily denied: your address exceeded the query rate limit repeatedly.\n# Retry after ${retryAfterSeconds} seconds.\n`)
}

// ---------------------------------------------------------------------------------------------
// RPSL: RIPE, APNIC, AFRINIC

export type RpslRegistry = 'ripe' | 'apnic' | 'afrinic'

function rpslBanner (reg: RpslRegistry): string {
  switch (reg) {
    case 'ripe': return [
      '% This is the RIPE Database query service.',
      '% The objects are in RPSL format.',
      '%',
      '% The RIPE Database is subject to Terms and Conditions.',
      '% See https://docs.db.ripe.net/terms-conditions.html',
      '',
      '% Note: this output has been filtered.',
      '%       To receive output for a database update, use the "-B" flag.',
      ''
    ].join('\n')
    case 'apnic': return [
      '% [whois.apnic.net]',
      '% Whois data copyright terms    http://www.apnic.net/db/dbcopyright.html',
      ''
    ].join('\n')
    case 'afrinic': return [
      '% This is the AfriNIC Whois server.',
      '% The AFRINIC whois database is subject to  the following terms of Use. See https://afrinic.net/whois/terms',
      '',
      '% Note: this output has been filtered.',
      '%       To receive output for a database update, use the "-B" flag.',
      ''
    ].join('\n')
  }
}

function rpslFooter (reg: RpslRegistry): string {
  switch (reg) {
    case 'ripe': return '% This query was served by the RIPE Database Query Service version 1.114 (SIM)\n\n'
    case 'apnic': return '% This query was served by the APNIC Whois Service version 1.88.25 (WHOIS-SIM)\n\n'
    case 'afrinic': return '\n'
  }
}

function rpslDate (date: string): string {
  return `${date}T10:15:30Z`
}

function nicSuffix (reg: RpslRegistry): string {
  return reg === 'apnic' ? 'AP' : RPSL_SOURCE[reg]
}

/** The inetnum object of `n` as its RPSL registry prints it (without the objects it references). */
export function rpslInetnumLines (n: SimNetwork): string[] {
  const reg = n.registry as RpslRegistry
  const source = RPSL_SOURCE[reg]
  const filtered = reg === 'apnic' ? source : `${source} # Filtered`
  const contact = `${n.orgHandle.replace(/^ORG-/, '').replace(/-(RIPE|AP|AFRINIC)$/, '')}-${nicSuffix(reg)}`
  const inetnum = [
    line('inetnum', range(n.start, n.end)),
    line('netname', n.name),
    line('descr', n.org),
    line('country', n.country === 'EU' ? 'EU # Country is really world wide' : n.country),
    line('org', n.orgHandle),
    line('admin-c', contact),
    line('tech-c', contact),
    line('status', n.whoisType),
    line('mnt-by', `${source}-HM-MNT`)
  ]
  if (reg !== 'afrinic') {
    inetnum.push(line('created', rpslDate(n.registered)))
    inetnum.push(line('last-modified', rpslDate(n.lastChanged)))
  }
  inetnum.push(line('source', filtered))
  if (reg === 'afrinic' && n.parentHandle !== '') inetnum.push(line('parent', n.parentHandle))
  return inetnum
}

/** The RPSL banner and footer lines every answer of `reg` opens and closes with. */
export function rpslFrame (reg: RpslRegistry): { banner: string, footer: string } {
  return { banner: rpslBanner(reg), footer: rpslFooter(reg) }
}

export function rpslNetworkAnswer (n: SimNetwork): string {
  const reg = n.registry as RpslRegistry
  const source = RPSL_SOURCE[reg]
  const key = range(n.start, n.end)
  const inetnum = rpslInetnumLines(n)
  const filtered = reg === 'apnic' ? source : `${source} # Filtered`
  const organisation = [
    line('organisation', n.orgHandle),
    line('org-name', n.org),
    line('org-type', n.gap ? 'RIR' : 'LIR'),
    line('country', n.country === 'EU' ? 'NL' : n.country),
    line('address', 'Simulated Street 1'),
    line('mnt-ref', `${source}-HM-MNT`),
    line('mnt-by', `${source}-HM-MNT`),
    line('source', filtered)
  ]
  const abuse = reg === 'apnic'
    ? `% Abuse contact for '${key}' is 'abuse@example.net'`
    : `% No abuse contact registered for ${key}`
  return [
    rpslBanner(reg),
    `% Information related to '${key}'`,
    '',
    abuse,
    '',
    inetnum.join('\n'),
    '',
    organisation.join('\n'),
    '',
    rpslFooter(reg)
  ].join('\n')
}

const RPSL_PLACEHOLDER_NAME: Record<RpslRegistry, (octet: number) => string> = {
  ripe: () => 'NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK',
  apnic: octet => `IANA-NETBLOCK-${octet}`,
  afrinic: () => 'IANA-BLK'
}

export function rpslReferralAnswer (reg: RpslRegistry, to: RegistryId, blockStart: number, blockEnd: number, endpoints: RegistryEndpoints): string {
  const key = range(blockStart, blockEnd)
  const source = RPSL_SOURCE[reg]
  const server = `${endpoints[to].whoisHost}:${endpoints[to].whoisPort}`
  const obj = [
    line('inetnum', key),
    line('netname', RPSL_PLACEHOLDER_NAME[reg](blockStart >>> 24)),
    line('descr', `IPv4 address block not managed by the ${REGISTRY_NAMES[reg]}`),
    line('remarks', '------------------------------------------------------'),
    line('remarks', `This address space is managed by ${REGISTRY_NAMES[to]}.`),
    line('remarks', `For registration information, query its WHOIS server ${REAL_WHOIS_HOST[to]}`),
    line('remarks', `(in this simulation: whois://${server})`),
    line('remarks', '------------------------------------------------------'),
    line('country', 'EU # Country is really world wide'),
    line('admin-c', `IANA1-${nicSuffix(reg)}`),
    line('tech-c', `IANA1-${nicSuffix(reg)}`),
    line('status', 'ALLOCATED UNSPECIFIED'),
    line('mnt-by', reg === 'ripe' ? 'RIPE-NCC-HM-MNT' : `${source}-HM-MNT`),
    line('source', reg === 'apnic' ? source : `${source} # Filtered`)
  ]
  return [
    rpslBanner(reg),
    `% Information related to '${key}'`,
    '',
    obj.join('\n'),
    '',
    rpslFooter(reg)
  ].join('\n')
}

export function rpslNotFoundAnswer (reg: RpslRegistry): string {
  return `${rpslBanner(reg)}%ERROR:101: no entries found\n%\n% No entries found in source ${RPSL_SOURCE[reg]}.\n\n${rpslFooter(reg)}`
}

export function rpslRateLimitedAnswer (reg: RpslRegistry, retryAfterSeconds: number): string {
  return `${rpslBanner(reg)}%ERROR:202: query rate limit exceeded\n%\n% Queries from your address exceeded the rate limit of this service.\n% Retry after ${retryAfterSeconds} seconds.\n\n${rpslFooter(reg)}`
}

export function rpslBannedAnswer (reg: RpslRegistry, client: string, retryAfterSeconds: number): string {
  return `${rpslBanner(reg)}%ERROR:201: access denied for ${client}\n%\n% Sorry, access from your host has been temporarily denied\n% because of repeated excessive querying.\n% Retry after ${retryAfterSeconds} seconds.\n\n${rpslFooter(reg)}`
}

export function rpslBadQueryAnswer (reg: RpslRegistry, message: string): string {
  return `${rpslBanner(reg)}%ERROR:${message}\n\n${rpslFooter(reg)}`
}

// ---------------------------------------------------------------------------------------------
// LACNIC

function lacnicWrap (body: string, now: Date): string {
  const stamp = now.toISOString().replace('T', ' ').slice(0, 19)
  const head = [
    '',
    '% Joint Whois - whois.lacnic.net',
    '%  This server accepts single ASN, IPv4 or IPv6 queries',
    ' ',
    '% LACNIC resource: whois.lacnic.net',
    '',
    '',
    '% Copyright LACNIC lacnic.net',
    '%  The data below is provided for information purposes',
    '%  and to assist persons in obtaining information about or',
    '%  related to AS and IP numbers registrations',
    '%  By submitting a whois query, you agree to use this data',
    '%  only for lawful purposes.',
    `%  ${stamp} (UTC +00:00)`,
    ''
  ]
  const tail = [
    '% whois.lacnic.net accepts only direct match queries.',
    '% Types of queries are: POCs, ownerid, CIDR blocks, IP',
    '% and AS numbers.',
    ''
  ]
  return [...head, body, ...tail].join('\r\n')
}

function lacnicLine (key: string, value: string): string {
  return line(key, value, 13)
}

export function lacnicNetworkAnswer (n: SimNetwork, now = new Date()): string {
  const [base, len] = n.blocks[0]
  const cidr = abbreviatedCidr(base, len)
  const contact = `${n.orgHandle.split('-')[1] ?? 'SIM'}`.slice(0, 6)
  const obj = [
    lacnicLine('inetnum', cidr),
    lacnicLine('status', n.whoisType),
    lacnicLine('aut-num', n.asn > 0 ? `AS${n.asn}` : 'N/A'),
    lacnicLine('owner', n.org),
    lacnicLine('ownerid', n.orgHandle),
    ...(n.inetnumUp !== undefined ? [lacnicLine('inetnum-up', n.inetnumUp)] : []),
    lacnicLine('responsible', 'Simulated Responsible'),
    lacnicLine('address', 'Simulated Street, 1, -'),
    lacnicLine('country', n.country),
    lacnicLine('owner-c', contact),
    lacnicLine('tech-c', contact),
    lacnicLine('abuse-c', contact),
    lacnicLine('inetrev', cidr),
    lacnicLine('created', yyyymmdd(n.registered)),
    lacnicLine('changed', yyyymmdd(n.lastChanged)),
    ''
  ]
  return lacnicWrap(obj.join('\r\n'), now)
}

export function lacnicReferralAnswer (to: RegistryId, address: number, blockStart: number, blockEnd: number, endpoints: RegistryEndpoints, now = new Date()): string {
  // the CIDR block of the referred range that holds the address (LACNIC writes only CIDRs)
  const flat = cidrBlocks(blockStart, blockEnd)
  let base = blockStart
  let len = 32
  for (let p = 0; p < flat.length; p += 2) {
    if (address >= flat[p] && address <= flat[p + 1]) { base = flat[p]; len = 32 - Math.log2(flat[p + 1] - flat[p] + 1); break }
  }
  const server = `${endpoints[to].whoisHost}:${endpoints[to].whoisPort}`
  const obj = [
    `% ${REGISTRY_NAMES[to]} resource: ${REAL_WHOIS_HOST[to]}`,
    '',
    lacnicLine('inetnum', abbreviatedCidr(base, len)),
    lacnicLine('status', 'ALLOCATED UNSPECIFIED'),
    lacnicLine('owner', RIR_ORGS[to].name),
    lacnicLine('descr', 'IPv4 address block not managed by LACNIC'),
    lacnicLine('remarks', `Managed by ${REGISTRY_NAMES[to]}: query ${REAL_WHOIS_HOST[to]}`),
    lacnicLine('remarks', `(in this simulation: whois://${server})`),
    ''
  ]
  return lacnicWrap(obj.join('\r\n'), now)
}

export function lacnicNotFoundAnswer (query: string, now = new Date()): string {
  return lacnicWrap(`% No match found for ${query}\r\n`, now)
}

export function lacnicRateLimitedAnswer (retryAfterSeconds: number, now = new Date()): string {
  return lacnicWrap(`% Query rate limit exceeded. Try again in ${retryAfterSeconds} seconds.\r\n`, now)
}

export function lacnicBannedAnswer (retryAfterSeconds: number, now = new Date()): string {
  return lacnicWrap(`% Access denied: your address has been banned for exceeding the query rate limit.\r\n% Try again in ${retryAfterSeconds} seconds.\r\n`, now)
}
