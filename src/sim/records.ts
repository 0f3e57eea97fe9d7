/**
 * How the owning registry describes a world network: handle, name, organisation, country, type,
 * parent and dates, in that registry's style. RDAP and WHOIS answers are both rendered from this
 * one record, so a network reads the same whichever protocol the crawler used.
 */
import type { RegistryId } from '../registry/interface.js'
import type { NetworkIdentity } from '../record/index.js'
import { slashEightOf } from '../registry/iana.js'
import { formatIPv4 } from '../util/ipv4.js'
import { cidrBlocks, mix32, type World } from './world.js'

/** One network as its owning registry describes it. */
export interface SimNetwork extends NetworkIdentity {
  index: number
  /** an allocated-but-unassigned block between dataset ranges */
  gap: boolean
  /** the RIR whose /8 holds it (differs from `registry` for transferred networks) */
  administeredBy: RegistryId
  asn: number
  /** [base, prefixLength] of the CIDR blocks covering it, ascending */
  blocks: Array<[number, number]>
  /** CIDR texts, ascending */
  cidrs: string[]
  /** allocation type as RDAP writes it (upper case, LACNIC lower case) */
  type: string
  /** allocation type as the WHOIS server writes it (ARIN "Direct Allocation", …) */
  whoisType: string
  parentHandle: string
  /** registrant organisation's handle (ARIN OrgId, RPSL organisation, LACNIC ownerid) */
  orgHandle: string
  /** YYYY-MM-DD */
  registered: string
  lastChanged: string
  /** nested world: an assignment that policy does not subdivide (a leaf of the registry's tree) */
  leaf?: boolean
  /** nested world: the parent's network name (ARIN's `Parent: NAME (HANDLE)`) */
  parentName?: string
  /** nested world: LACNIC's `inetnum-up:` (the parent CIDR) below an allocation */
  inetnumUp?: string
}

/** The registries themselves, as organisations (the holders of unassigned blocks). */
export const RIR_ORGS: Record<RegistryId, { name: string, handle: string, country: string }> = {
  arin: { name: 'American Registry for Internet Numbers', handle: 'ARIN', country: 'US' },
  ripe: { name: 'RIPE Network Coordination Centre', handle: 'ORG-NCC1-RIPE', country: 'EU' },
  apnic: { name: 'Asia Pacific Network Information Centre', handle: 'ORG-APNIC1-AP', country: 'AP' },
  lacnic: { name: 'Latin American and Caribbean IP address Regional Registry', handle: 'UY-LACN-LACNIC', country: 'ZZ' },
  afrinic: { name: 'African Network Information Center', handle: 'ORG-AFNC1-AFRINIC', country: 'ZZ' }
}

/**
 * Names of unassigned (gap) blocks, per registry: a parent allocation record of the registry's
 * own, not a placeholder such as IANA-BLK (which parsers read as "not this registry's space").
 * LACNIC records have no name.
 */
export const GAP_NAMES: Record<RegistryId, string> = {
  arin: 'ARIN-UNASSIGNED',
  ripe: 'RIPE-NCC-UNASSIGNED',
  apnic: 'APNIC-UNASSIGNED',
  lacnic: '',
  afrinic: 'AFRINIC-UNASSIGNED'
}

const STOP_WORDS = new Set(['THE', 'OF', 'AND', 'LLC', 'INC', 'CO', 'LTD', 'DE', 'LA', 'EL', 'PT', 'PP', 'OOO', 'TOO', 'AS', 'SA', 'NV', 'BV', 'AB', 'AG'])

/** Organisation names as registries print them: single spaces, no surrounding blanks. */
export function cleanOrgName (org: string): string {
  return org.replace(/[\s\u00ad]+/g, ' ').trim()
}

/** the words of organisation names seen last (a dump describes millions of networks of far fewer holders) */
const TOKENS = new Map<string, string[]>()

function tokens (org: string): string[] {
  let words = TOKENS.get(org)
  if (words === undefined) {
    words = org.normalize('NFKD').toUpperCase().match(/[A-Z0-9]+/g) ?? []
    if (TOKENS.size >= 100_000) TOKENS.clear()
    TOKENS.set(org, words)
  }
  return words
}

/** Network name from the organisation: its first significant word + "-NET" ("GOOGLE-NET"). */
export function networkName (org: string, asn: number): string {
  const words = tokens(org)
  const word = words.find(w => !STOP_WORDS.has(w) && w.length >= 2) ?? words[0]
  return `${(word ?? `AS${asn}`).slice(0, 20)}-NET`
}

function initials (org: string, max: number): string {
  const words = tokens(org).filter(w => !STOP_WORDS.has(w))
  const s = words.map(w => w[0]).join('').slice(0, max)
  return s === '' ? 'X' : s
}

/** Registrant organisation handle in the registry's style; deterministic per organisation. */
export function orgHandleFor (registry: RegistryId, org: string, orgIndex: number, country: string): string {
  const n = orgIndex % 997 + 1
  switch (registry) {
    case 'arin': return `${(tokens(org).join('').slice(0, 6) || 'ORG')}-${n}`
    case 'ripe': return `ORG-${initials(org, 3)}${n}-RIPE`
    case 'apnic': return `ORG-${initials(org, 3)}${n}-AP`
    case 'afrinic': return `ORG-${initials(org, 3)}${n}-AFRINIC`
    case 'lacnic': return `${country === '' || country === 'ZZ' ? 'UY' : country}-${initials(org, 4)}${n}-LACNIC`
  }
}

function prefixLength (size: number): number {
  return 32 - Math.log2(size)
}

/** "200.57.128/19": LACNIC's CIDR with trailing zero octets left out (at least one octet kept). */
export function abbreviatedCidr (base: number, len: number): string {
  const octets = formatIPv4(base).split('.')
  const keep = Math.max(1, Math.ceil(len / 8))
  while (octets.length > keep && octets[octets.length - 1] === '0') octets.pop()
  return `${octets.join('.')}/${len}`
}

const DAY_MS = 86_400_000
const EPOCH_START = Date.UTC(1993, 0, 1)
const EPOCH_END = Date.UTC(2025, 5, 30)

/** YYYY-MM-DD of each day drawn so far (about 12,000 days: formatting a Date was the dumps' largest cost) */
const DAY_TEXT = new Map<number, string>()

function dateOf (ms: number): string {
  let text = DAY_TEXT.get(ms)
  if (text === undefined) {
    text = new Date(ms).toISOString().slice(0, 10)
    DAY_TEXT.set(ms, text)
  }
  return text
}

/** Registration and last-change dates (YYYY-MM-DD) drawn from a hash, 1993 … mid-2025. */
export function datesOf (h: number): { registered: string, lastChanged: string } {
  const span = EPOCH_END - EPOCH_START
  const regMs = EPOCH_START + Math.floor((h / 2 ** 32) * (span / DAY_MS)) * DAY_MS
  const chgMs = regMs + Math.floor((mix32(h) / 2 ** 32) * ((EPOCH_END - regMs) / DAY_MS)) * DAY_MS
  return { registered: dateOf(regMs), lastChanged: dateOf(chgMs) }
}

/** The CIDR blocks covering [start, end] as [base, prefixLength] pairs and as texts, ascending. */
export function blocksOf (start: number, end: number): { blocks: Array<[number, number]>, cidrs: string[] } {
  const flat = cidrBlocks(start, end)
  const blocks: Array<[number, number]> = []
  for (let p = 0; p < flat.length; p += 2) blocks.push([flat[p], prefixLength(flat[p + 1] - flat[p] + 1)])
  return { blocks, cidrs: blocks.map(([b, l]) => `${formatIPv4(b)}/${l}`) }
}

/** ARIN-style dotted handle part: 74.125.0.0 → "74-125-0-0". */
export function dashed (address: number): string {
  return formatIPv4(address).replaceAll('.', '-')
}

/**
 * The parent handle of a registry's top-level network: its /8 object in that registry's style, or
 * none (the RIPE-style root) for an unassigned block or a whole /8, which have no parent of their own.
 */
export function slashEightParentHandle (registry: RegistryId, start: number, top: boolean): string {
  const octet = start >>> 24
  switch (registry) {
    case 'arin': return top ? '' : `NET-${octet}-0-0-0-0`
    case 'lacnic': return top ? '' : `${octet}.0.0.0/8`
    default: return top ? '0.0.0.0 - 255.255.255.255' : `${octet}.0.0.0 - ${octet}.255.255.255`
  }
}

/** The owning registry's description of network i. */
export function describeNetwork (world: World, i: number): SimNetwork {
  const start = world.start[i]
  const end = world.end[i]
  const registry = world.ownerOf(i)
  const administeredBy = world.administratorOf(i)
  const gap = world.isGap(i)
  const { blocks, cidrs } = blocksOf(start, end)
  const wholeSlashEight = start % 2 ** 24 === 0 && end === start + 2 ** 24 - 1
  const parentHandle = slashEightParentHandle(registry, start, gap || wholeSlashEight)
  const h = mix32(start ^ 0x0da7e5)
  const { registered, lastChanged } = datesOf(h)
  const size = end - start + 1

  const rir = RIR_ORGS[registry]
  const org = gap ? rir.name : (cleanOrgName(world.orgNameOf(i)) || `AS${world.asn[i]}`)
  const country = gap ? rir.country : world.countryCodeOf(i)
  const orgHandle = gap ? rir.handle : orgHandleFor(registry, org, world.org[i], country)
  // LACNIC's WHOIS has no network name, so its RDAP gives none either
  const name = registry === 'lacnic' ? '' : gap ? GAP_NAMES[registry] : networkName(org, world.asn[i])
  const legacy = slashEightOf(start).status === 'LEGACY'

  let handle: string
  let type: string
  let whoisType: string
  switch (registry) {
    case 'arin':
      handle = `NET-${dashed(start)}-${gap ? 0 : 1}`
      if (gap) { type = 'ALLOCATED TO ARIN'; whoisType = 'Allocated to ARIN' } else if (size >= 2 ** 16 || (h & 3) === 0) {
        type = 'DIRECT ALLOCATION'; whoisType = 'Direct Allocation'
      } else if ((h & 3) === 1) {
        type = 'REALLOCATION'; whoisType = 'Reallocated'
      } else {
        type = 'REASSIGNMENT'; whoisType = 'Reassigned'
      }
      break
    case 'lacnic':
      // single CIDR by construction (the world splits LACNIC's networks into blocks)
      handle = `${formatIPv4(start)}/${blocks[0][1]}`
      type = gap ? 'reserved' : size >= 2 ** 16 ? 'allocated' : 'assigned'
      whoisType = type
      break
    default: {
      handle = `${formatIPv4(start)} - ${formatIPv4(end)}`
      if (gap) type = registry === 'apnic' ? 'ALLOCATED PORTABLE' : 'ALLOCATED PA'
      else if (registry === 'ripe' && legacy) type = 'LEGACY'
      else if (registry === 'apnic') type = size >= 2 ** 16 ? 'ALLOCATED PORTABLE' : 'ASSIGNED NON-PORTABLE'
      else type = size >= 2 ** 16 ? 'ALLOCATED PA' : 'ASSIGNED PA'
      whoisType = type
    }
  }
  return {
    index: i,
    start,
    end,
    registry,
    handle,
    name,
    org,
    country,
    gap,
    administeredBy,
    asn: world.asn[i],
    blocks,
    cidrs,
    type,
    whoisType,
    parentHandle,
    orgHandle,
    registered,
    lastChanged
  }
}

/** The identity fields (what the crawler stores and digests) of a described network. */
export function identityOf (n: SimNetwork): NetworkIdentity {
  return { start: n.start, end: n.end, registry: n.registry, handle: n.handle, name: n.name, org: n.org, country: n.country }
}
