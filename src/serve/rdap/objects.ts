/**
 * The RDAP JSON this service answers with (RFC 9083): an `ip network` object (§5.4) for one
 * network of the replica, error bodies (§6) and the help body (§7), each with the notice saying
 * that the data is a whoismesh replica's, which registry gave it, and when.
 *
 * rdapConformance (§4.1) names `rdap_level_0`, `cidr0` (the RIRs' CIDR extension, NRO RDAP CIDR
 * "nro-rdap-cidr": `cidr0_cidrs`, a list of `{ v4prefix, length }`, because a registry's range
 * need not be one block) and `whoismesh`, the prefix of this service's own member
 * `whoismesh_replica` (§2.1: members a server adds are named with a short identifier, an
 * underscore and a name; §4.1 lists that identifier). It says how the record was fetched and
 * whether the answer is exact (report/lookup.ts), for programs; the notice and the remarks say the
 * same for people. `whoismesh` is not in IANA's RDAP Extensions registry: a client ignores what it
 * does not know (§2.1).
 */
import type { DumpRow } from '../../report/dump.js'
import { REGISTRY_NAMES, type RegistryEndpoints, type RegistryId } from '../../registry/interface.js'
import type { ReplicaInfo } from '../interface.js'

/** The media type of every RDAP body (registered by RFC 9083 §10.1; RFC 7480 §4.1: what clients accept). */
export const RDAP_CONTENT_TYPE = 'application/rdap+json'

/** RFC 9083 §4.1: what every answer of this service conforms to. */
export const RDAP_CONFORMANCE = ['rdap_level_0', 'cidr0', 'whoismesh'] as const

export type RdapBody = Record<string, unknown>

/** What an `ip network` object is written with besides the network itself. */
export interface NetworkContext {
  /** the URL the client asked (the `value` of links, RFC 9083 §4.2) */
  requestUrl: string
  /** this service's base URL, ends with "/" (for the `self` link) */
  baseUrl: string
  /** each registry's RDAP base (the `related` link) and WHOIS host (`port43`, §4.7) */
  endpoints: RegistryEndpoints
  replica: ReplicaInfo
  /** known to be the registry's own answer for what was asked (report/lookup.ts) */
  exact: boolean
  /** whether the address asked (a prefix's first address) is one of the sample's */
  inSample: boolean
  /** ms since epoch, for the age the notice gives */
  now: number
}

interface Cidr { base: string, length: number }

/** "8.0.0.0/9, 8.128.0.0/10" (a DumpRow's `cidr`) → blocks */
export function cidrsOf (row: DumpRow): Cidr[] {
  return row.cidr.split(',').map(s => s.trim()).filter(s => s !== '').map(s => {
    const [base, len] = s.split('/')
    return { base, length: Number(len) }
  })
}

/** The path of a network under an RDAP base: `ip/<prefix>/<len>` for one block, else `ip/<start>` (as ARIN links a range). */
export function networkPath (row: DumpRow): string {
  const cidrs = cidrsOf(row)
  return cidrs.length === 1 ? `ip/${cidrs[0].base}/${cidrs[0].length}` : `ip/${row.start_address}`
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i

/** An RFC 3339 date-time (RFC 9083 §4.5 eventDate) from a stored date, or undefined when there is none. */
export function eventDate (stored: string): string | undefined {
  const s = stored.trim()
  if (s === '') return undefined
  if (RFC3339.test(s)) return s
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return `${s}T00:00:00Z`
  const t = Date.parse(s)
  return Number.isNaN(t) ? undefined : new Date(t).toISOString()
}

/** "3 days", "5 hours", "12 minutes", "under a minute" */
export function ageText (ms: number): string {
  const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`
  if (ms < 60_000) return 'under a minute'
  if (ms < 3_600_000) return plural(Math.floor(ms / 60_000), 'minute')
  if (ms < 2 * 86_400_000) return plural(Math.floor(ms / 3_600_000), 'hour')
  return plural(Math.floor(ms / 86_400_000), 'day')
}

const REPLICA_LINE = 'This answer comes from a whoismesh replica of the registries\' data, not from the registry itself.'

function replicaLine (replica: ReplicaInfo): string {
  const served = replica.peerId !== undefined ? `, served by node ${replica.peerId}` : ''
  return `The replica holds ${replica.networks} networks${served}.`
}

/** Where the record came from, and when, for people (the notice) — see NetworkRecord.source and queryAddress. */
export function provenanceLine (row: DumpRow, replica: ReplicaInfo, now: number): string {
  const registry = REGISTRY_NAMES[row.registry as RegistryId] ?? row.registry
  const age = ageText(Math.max(0, now - Date.parse(row.fetched_at)))
  if (row.source === 'bulk') {
    const dump = replica.dumps.find(d => d.registry === row.registry)
    const serial = dump?.serial != null ? ` (serial ${dump.serial})` : ''
    return `From ${registry}'s database dump taken ${row.fetched_at}${serial}, ${age} ago, imported into the replica; no query was made.`
  }
  const over = row.source === 'whois' ? 'WHOIS' : 'RDAP'
  const how = row.query_address === '0.0.0.0' ? 'listing the networks inside its parent' : `asked about ${row.query_address}`
  return `${registry} gave this network over ${over} on ${row.fetched_at}, ${age} ago (${how}).`
}

/** RFC 9083 §5.1 entity with role `registrant` (§10.2.4), its name in a jCard (RFC 7095) `fn`. */
function registrant (org: string): RdapBody {
  return {
    objectClassName: 'entity',
    roles: ['registrant'],
    vcardArray: ['vcard', [
      ['version', {}, 'text', '4.0'],
      ['fn', {}, 'text', org],
      ['kind', {}, 'text', 'org']
    ]]
  }
}

/** RFC 9083 §5.4 `ip network` object for `row`, a whole response (with rdapConformance and notices). */
export function ipNetworkObject (row: DumpRow, ctx: NetworkContext): RdapBody {
  const registryId = row.registry as RegistryId
  const endpoint = ctx.endpoints[registryId]
  const path = networkPath(row)
  const body: RdapBody = {
    rdapConformance: [...RDAP_CONFORMANCE],
    notices: [{
      title: 'whoismesh replica',
      description: [REPLICA_LINE, provenanceLine(row, ctx.replica, ctx.now), replicaLine(ctx.replica)],
      ...(endpoint !== undefined ? { links: [{ value: ctx.requestUrl, rel: 'related', type: RDAP_CONTENT_TYPE, href: endpoint.rdapBaseUrl + path }] } : {})
    }],
    objectClassName: 'ip network'
  }
  if (row.handle !== '') body.handle = row.handle
  body.startAddress = row.start_address
  body.endAddress = row.end_address
  body.ipVersion = 'v4'
  if (row.name !== '') body.name = row.name
  if (row.type !== '') body.type = row.type
  if (row.country !== '') body.country = row.country
  if (row.parent_handle !== '') body.parentHandle = row.parent_handle
  body.cidr0_cidrs = cidrsOf(row).map(c => ({ v4prefix: c.base, length: c.length }))
  // RFC 9083 §4.6 / §10.2.2: a registered network the registry answers with is "active"
  body.status = ['active']
  if (row.org !== '') body.entities = [registrant(row.org)]
  const events: RdapBody[] = []
  const registered = eventDate(row.registered)
  if (registered !== undefined) events.push({ eventAction: 'registration', eventDate: registered })
  const changed = eventDate(row.last_changed)
  if (changed !== undefined) events.push({ eventAction: 'last changed', eventDate: changed })
  if (events.length > 0) body.events = events
  // RFC 9083 §4.2: `value` is the context (what was asked), `href` the target
  const links: RdapBody[] = [{ value: ctx.requestUrl, rel: 'self', type: RDAP_CONTENT_TYPE, href: ctx.baseUrl + path }]
  if (endpoint !== undefined) {
    links.push({ value: ctx.requestUrl, rel: 'related', type: RDAP_CONTENT_TYPE, href: endpoint.rdapBaseUrl + path, title: `${REGISTRY_NAMES[registryId]}'s own RDAP answer for this network` })
  }
  body.links = links
  // RFC 9083 §4.3: remarks are about the object, notices about the service
  const remarks: RdapBody[] = [{
    title: row.leaf ? 'leaf network' : 'container network',
    description: [row.leaf
      ? 'A leaf: a network the registry\'s policy does not subdivide (an assignment).'
      : 'A container (an allocation or sub-allocation): it may hold more specific networks.']
  }]
  if (!ctx.exact) {
    remarks.push({
      title: 'possibly coarse',
      description: ['The replica does not know this to be the registry\'s own answer for what was asked: a more specific network may exist that the replica has not seen.']
    })
  }
  body.remarks = remarks
  // RFC 9083 §4.7: the WHOIS server where the object may be found: the registry's
  if (endpoint !== undefined) body.port43 = endpoint.whoisHost
  body.whoismesh_replica = {
    registry: row.registry,
    source: row.source,
    fetchedAt: row.fetched_at,
    queryAddress: row.query_address,
    leaf: row.leaf,
    exact: ctx.exact,
    inSample: ctx.inSample,
    author: row.author,
    ...(ctx.replica.peerId !== undefined ? { servedBy: ctx.replica.peerId } : {})
  }
  return body
}

/** RFC 9083 §6 error body, with rdapConformance and the replica notice. */
export function errorBody (errorCode: number, title: string, description: string[]): RdapBody {
  return {
    rdapConformance: [...RDAP_CONFORMANCE],
    notices: [{ title: 'whoismesh replica', description: [REPLICA_LINE] }],
    errorCode,
    title,
    description
  }
}

/** RFC 9083 §7: the answer to `/help`. */
export function helpBody (replica: ReplicaInfo, baseUrl: string): RdapBody {
  const dumps = replica.dumps.map(d => `${REGISTRY_NAMES[d.registry]}'s database dump taken ${new Date(d.takenAt).toISOString()}${d.serial != null ? ` (serial ${d.serial})` : ''}`)
  return {
    rdapConformance: [...RDAP_CONFORMANCE],
    notices: [{
      title: 'whoismesh RDAP service',
      description: [
        REPLICA_LINE,
        replicaLine(replica),
        ...(dumps.length > 0 ? [`Imported: ${dumps.join('; ')}.`] : []),
        `Queries: ${baseUrl}ip/<IPv4 address> and ${baseUrl}ip/<CIDR prefix>/<CIDR length> (RFC 9082 §3.1.1); IPv4 only.`,
        'Each answer links ("related") to the registry\'s own RDAP answer.'
      ]
    }]
  }
}
