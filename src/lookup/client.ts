/**
 * The registry client: finds the network covering one address by asking registries over RDAP and
 * WHOIS, following redirects and referrals itself so that every request — the first query, each
 * hop, each fallback — passes the rate-limit gate of the registry it goes to.
 *
 * Rules:
 * 1. The first protocol (RDAP by default) is asked at `firstRegistry`.
 * 2. An RDAP redirect is followed to the registry that `registryOfRdapUrl` finds for the Location
 *    (the Location is requested as given). A Location of no configured registry is a
 *    MalformedResponseError of the redirecting registry (so rule 4 applies: WHOIS is asked there).
 *    A WHOIS referral is followed to: its `registry` when the parser named one; else the configured
 *    registry whose WHOIS host:port it names (port 43 when it names none; a host alone is enough
 *    when only one registry has that host); else the registry whose real WHOIS host it names
 *    (e.g. "whois.ripe.net"), at that registry's *configured* endpoint. A referral to any other
 *    server is a MalformedResponseError.
 * 3. A lookup follows at most `maxHops` redirects and referrals in all, so it sends at most
 *    `maxHops + protocols.length` requests. One more hop, or an RDAP redirect to a URL already
 *    requested, or a WHOIS referral to a registry already asked over WHOIS, is a
 *    TooManyRedirectsError.
 * 4. When a protocol fails with TransientLookupError or MalformedResponseError, the next protocol is
 *    asked at the registry that failed (the one being asked, after any hops), from rule 2 on.
 *    NotFoundError, RateLimitedError and TooManyRedirectsError end the lookup at once: a registry's
 *    RDAP and WHOIS share its budget, and "not found" is an answer.
 * 5. When the fallback fails too, the lookup throws the fallback's error if it is an answer
 *    (NotFoundError, RateLimitedError, TooManyRedirectsError: more informative than the failure it
 *    replaced), and otherwise the first protocol's error (the preferred protocol's diagnosis; the
 *    fallback's error is kept as its `cause` when the first has none) — unless the first did not
 *    reach the registry at all (errors.ts unreachableKind) and the fallback did: then the
 *    fallback's, so that a registry counts as unreachable only when no protocol reached it.
 * 6. An abort of the caller's signal rejects with the signal's reason, not a lookup error.
 */
import { REAL_REGISTRY_ENDPOINTS, registryOfRdapUrl } from '../registry/endpoints.js'
import { REGISTRY_IDS, type RegistryEndpoints, type RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import { MalformedResponseError, NotFoundError, RateLimitedError, TooManyRedirectsError, TransientLookupError, unreachableKind } from './errors.js'
import type { ParsedNetwork } from '../record/index.js'
import type { WhoisAnswer } from './interface.js'
import { RdapClient, rdapIpUrl, type RdapReply } from './rdap-client.js'
import { WhoisClient, type WhoisReply } from './whois-client.js'
import {
  canList, listingMethod, listsByPrefix, parseRdapListing, parseRpslListing, rdapDownPath, rpslListingQuery, type ChildListing, type ListedContainer
} from './listing.js'
import { VERSION } from '../version.js'

export type LookupProtocol = 'rdap' | 'whois'

export interface RegistryClientOptions {
  /** where each registry answers (the real RIRs, or a simulator's ports) */
  endpoints: RegistryEndpoints
  /** product token of the User-Agent; @default `whoismesh/${VERSION}` (package.json's version) */
  userAgent?: string
  /** operator contact (mail address or URL) added to the User-Agent; @default '' (none) */
  contact?: string
  /** one request in all (connect + answer); @default 15000 */
  timeoutMs?: number
  /** TCP/TLS connect; @default 5000 */
  connectTimeoutMs?: number
  /** longest silence while waiting for or reading an answer; @default 10000 */
  idleTimeoutMs?: number
  /** largest answer read; @default 2 MiB */
  maxResponseBytes?: number
  /** redirects + referrals followed per lookup; @default 4 */
  maxHops?: number
  /** protocols in the order they are tried; @default ['rdap', 'whois'] */
  protocols?: LookupProtocol[]
}

export const registryClientDefaults = {
  userAgent: `whoismesh/${VERSION}`,
  contact: '',
  timeoutMs: 15_000,
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
  maxResponseBytes: 2 * 1024 * 1024,
  maxHops: 4,
  protocols: ['rdap', 'whois'] as LookupProtocol[]
} satisfies Required<Omit<RegistryClientOptions, 'endpoints'>>

export type RequestOutcome = 'network' | 'listing' | 'redirect' | 'not-found' | 'rate-limited' | 'error'

/** One request sent to a registry. */
export interface RegistryRequestEvent {
  registry: RegistryId
  protocol: LookupProtocol
  /** 'redirect' covers RDAP redirects and WHOIS referrals; 'error' every other failure */
  outcome: RequestOutcome
  /** from sending the request (after the gate let it through) to the end of the answer */
  durationMs: number
  /** the error's `name` when outcome is 'rate-limited' or 'error' */
  error?: string
}

/** The rate-limit gate every request passes (src/crawl/registry-gate.ts RegistryGate is one). */
export interface RequestGate {
  /** resolves when one request may be sent to `registry` */
  acquire: (registry: RegistryId, signal?: AbortSignal) => Promise<void>
  /** told of every request sent, after its answer */
  noteRequest?: (registry: RegistryId) => void
}

export interface RegistryClientModules {
  gate: RequestGate
  /** told of every request sent, after its answer */
  onRequest?: (event: RegistryRequestEvent) => void
}

export interface LookupResult {
  /** `network.registry` is the registry that answered */
  network: ParsedNetwork
  /** the registry that answered */
  registry: RegistryId
  source: LookupProtocol
  /** the registries asked, in order (a registry asked twice in a row, e.g. RDAP then WHOIS, once) */
  hops: RegistryId[]
  /** requests sent (each passed the gate) */
  requests: number
}

interface LookupState {
  address: number
  hops: RegistryId[]
  requests: number
  hopsFollowed: number
  signal?: AbortSignal
}

type Resolved = Required<Omit<RegistryClientOptions, 'endpoints'>> & { endpoints: RegistryEndpoints }

/** Fills defaults and checks every field; errors name the field. */
export function resolveRegistryClientOptions (opts: RegistryClientOptions): Resolved {
  const o: Resolved = { ...registryClientDefaults, ...withoutUndefined(opts) }
  const fail = (field: string, msg: string): never => { throw new RangeError(`RegistryClientOptions.${field} ${msg}`) }
  for (const field of ['timeoutMs', 'connectTimeoutMs', 'idleTimeoutMs', 'maxResponseBytes'] as const) {
    if (!Number.isFinite(o[field]) || o[field] <= 0) fail(field, `must be a positive number, got ${String(o[field])}`)
  }
  if (!Number.isInteger(o.maxHops) || o.maxHops < 0) fail('maxHops', `must be a non-negative integer, got ${String(o.maxHops)}`)
  if (!Array.isArray(o.protocols) || o.protocols.length === 0 || o.protocols.some(p => p !== 'rdap' && p !== 'whois') ||
    new Set(o.protocols).size !== o.protocols.length) {
    fail('protocols', `must list 'rdap' and/or 'whois' once each, got ${JSON.stringify(o.protocols)}`)
  }
  for (const id of REGISTRY_IDS) {
    if (o.endpoints?.[id] == null) fail(`endpoints.${id}`, 'is missing')
  }
  return o
}

function withoutUndefined<T extends object> (o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** The User-Agent: the product token, then the operator contact in parentheses when there is one. */
export function formatUserAgent (userAgent: string, contact: string): string {
  return contact.trim() === '' ? userAgent : `${userAgent} (+${contact.trim()})`
}

export class RegistryClient {
  readonly opts: Resolved
  private readonly rdap: RdapClient
  private readonly whois: WhoisClient

  constructor (opts: RegistryClientOptions, private readonly modules: RegistryClientModules) {
    this.opts = resolveRegistryClientOptions(opts)
    const { timeoutMs, connectTimeoutMs, idleTimeoutMs, maxResponseBytes } = this.opts
    this.rdap = new RdapClient({ userAgent: formatUserAgent(this.opts.userAgent, this.opts.contact), timeoutMs, connectTimeoutMs, idleTimeoutMs, maxResponseBytes })
    this.whois = new WhoisClient({ timeoutMs, connectTimeoutMs, idleTimeoutMs, maxResponseBytes })
  }

  /** The network covering `address`, starting at `firstRegistry` (see the rules at the top). */
  async lookup (address: number, firstRegistry: RegistryId, signal?: AbortSignal): Promise<LookupResult> {
    const state: LookupState = { address, hops: [], requests: 0, hopsFollowed: 0, signal }
    let registry = firstRegistry
    const failures: Array<TransientLookupError | MalformedResponseError> = []
    for (const protocol of this.opts.protocols) {
      try {
        const { network, registry: answered } = protocol === 'rdap'
          ? await this.viaRdap(registry, state)
          : await this.viaWhois(registry, state)
        return { network: { ...network, registry: answered }, registry: answered, source: protocol, hops: state.hops, requests: state.requests }
      } catch (err) {
        if (!(err instanceof TransientLookupError || err instanceof MalformedResponseError)) throw err
        failures.push(err)
        registry = err.registry
      }
    }
    // rule 5: the first protocol's diagnosis, unless only a later protocol reached the registry
    const first = failures[0]
    const thrown = (unreachableKind(first) !== undefined ? failures.find(e => unreachableKind(e) === undefined) : undefined) ?? first
    const other = failures.find(e => e !== thrown)
    if (other !== undefined && thrown.cause === undefined) thrown.cause = other
    throw thrown
  }

  /** Whether `registry` names what it lists by one prefix (lookup/listing.ts). */
  listsByPrefix (registry: RegistryId): boolean {
    return listsByPrefix(registry)
  }

  /** Whether `registry` can list this container's children (lookup/listing.ts). */
  canList (registry: RegistryId, container: ListedContainer): boolean {
    return canList(registry, container)
  }

  /**
   * The networks directly inside a container of `registry` (lookup/listing.ts says how each
   * registry is asked): one request, through the gate; a registry's "none" is an empty, complete
   * listing. Nothing is redirected or retried here.
   * @throws RangeError the registry has no listing service for this container (see canList)
   * @throws RateLimitedError, TransientLookupError, MalformedResponseError as a lookup's request
   */
  async listChildren (container: ListedContainer, registry: RegistryId, signal?: AbortSignal): Promise<ChildListing> {
    if (!canList(registry, container)) throw new RangeError(`${registry} has no listing service for ${formatIPv4(container.start)} - ${formatIPv4(container.end)}`)
    const state: LookupState = { address: container.start, hops: [], requests: 0, hopsFollowed: 0, signal }
    const ep = this.opts.endpoints[registry]
    const listed = (): RequestOutcome => 'listing'
    if (listingMethod(registry) === 'whois-first-level') {
      return await this.send(registry, 'whois', state, async () => {
        const text = await this.whois.queryLine(registry, ep.whoisHost, ep.whoisPort, rpslListingQuery(container), signal)
        return parseRpslListing(text, registry, container)
      }, listed)
    }
    const url = `${ep.rdapBaseUrl.replace(/\/+$/, '')}/${rdapDownPath(container)}`
    try {
      return await this.send(registry, 'rdap', state, async () => await this.rdap.search(registry, url, (body, bytes) => parseRdapListing(body, registry, container, bytes), signal), listed)
    } catch (err) {
      if (err instanceof NotFoundError) return { children: [], complete: true, source: 'rdap' }
      throw err
    }
  }

  /** Closes idle HTTP connections. */
  async close (): Promise<void> {
    await this.rdap.close()
  }

  private async viaRdap (registry: RegistryId, state: LookupState): Promise<{ network: ParsedNetwork, registry: RegistryId }> {
    const { endpoints } = this.opts
    let url = rdapIpUrl(endpoints[registry].rdapBaseUrl, state.address)
    const requested = new Set<string>()
    for (;;) {
      requested.add(url)
      const current: RegistryId = registry
      const target = url
      const reply = await this.send(current, 'rdap', state, async () => await this.rdap.get(current, target, state.address, state.signal), rdapOutcome)
      if (reply.kind === 'network') return { network: reply.network, registry }
      const next = registryOfRdapUrl(reply.location, endpoints)
      if (next === undefined) {
        throw new MalformedResponseError(registry, `rdap ${url}: redirect to ${reply.location}, which is no configured registry`, 0)
      }
      if (requested.has(reply.location)) {
        throw new TooManyRedirectsError(registry, `rdap redirect loop for ${formatIPv4(state.address)}: ${url} → ${reply.location}, already requested`)
      }
      this.countHop(registry, state, `rdap ${url} → ${reply.location}`)
      registry = next
      url = reply.location
    }
  }

  private async viaWhois (registry: RegistryId, state: LookupState): Promise<{ network: ParsedNetwork, registry: RegistryId }> {
    const asked = new Set<RegistryId>()
    for (;;) {
      asked.add(registry)
      const current: RegistryId = registry
      const { whoisHost: host, whoisPort: port } = this.opts.endpoints[current]
      const reply = await this.send(current, 'whois', state, async () => await this.whois.query(current, host, port, state.address, state.signal), whoisOutcome)
      const answer = reply.answer
      switch (answer.kind) {
        case 'network':
          return { network: answer.network, registry: current }
        case 'not-found':
          throw new NotFoundError(current, `whois ${host}:${port}: ${answer.message}`)
        case 'referral': {
          const next = this.referralTarget(answer)
          const to = answer.registry ?? `${answer.host ?? '?'}${answer.port !== undefined ? `:${answer.port}` : ''}`
          if (next === undefined) {
            throw new MalformedResponseError(current, `whois ${host}:${port}: referral to ${to}, which is no configured registry`, reply.bytes)
          }
          if (asked.has(next)) {
            throw new TooManyRedirectsError(current, `whois referral loop for ${formatIPv4(state.address)}: ${current} → ${next}, already asked`)
          }
          this.countHop(current, state, `whois ${current} → ${to}`)
          registry = next
          break
        }
        default:
          // rate-limited / banned answers are thrown by WhoisClient; nothing else exists
          throw new MalformedResponseError(current, `whois ${host}:${port}: unexpected answer kind ${(answer as WhoisAnswer).kind}`, reply.bytes)
      }
    }
  }

  /** Which registry a WHOIS referral means (rule 2), or undefined. */
  referralTarget (answer: { registry?: RegistryId, host?: string, port?: number }): RegistryId | undefined {
    if (answer.registry !== undefined) return answer.registry
    if (answer.host === undefined) return undefined
    const host = answer.host.trim().toLowerCase().replace(/^\[|\]$/g, '')
    const { endpoints } = this.opts
    const sameHost = REGISTRY_IDS.filter(id => endpoints[id].whoisHost.toLowerCase() === host)
    const port = answer.port ?? 43
    const exact = sameHost.find(id => endpoints[id].whoisPort === port)
    if (exact !== undefined) return exact
    if (answer.port === undefined && sameHost.length === 1) return sameHost[0]
    return REGISTRY_IDS.find(id => REAL_REGISTRY_ENDPOINTS[id].whoisHost === host && port === REAL_REGISTRY_ENDPOINTS[id].whoisPort)
  }

  private countHop (from: RegistryId, state: LookupState, what: string): void {
    if (state.hopsFollowed >= this.opts.maxHops) {
      throw new TooManyRedirectsError(from, `more than ${this.opts.maxHops} redirects/referrals for ${formatIPv4(state.address)} (next: ${what})`)
    }
    state.hopsFollowed++
  }

  /** Passes the gate, sends, counts and reports one request. */
  private async send<T>(registry: RegistryId, protocol: LookupProtocol, state: LookupState, fn: () => Promise<T>, outcomeOf: (r: T) => RequestOutcome): Promise<T> {
    await this.modules.gate.acquire(registry, state.signal)
    state.signal?.throwIfAborted()
    state.requests++
    if (state.hops[state.hops.length - 1] !== registry) state.hops.push(registry)
    const t0 = performance.now()
    const report = (outcome: RequestOutcome, error?: string): void => {
      this.modules.gate.noteRequest?.(registry)
      this.modules.onRequest?.({ registry, protocol, outcome, durationMs: performance.now() - t0, ...(error !== undefined ? { error } : {}) })
    }
    let result: T
    try {
      result = await fn()
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error'
      report(err instanceof NotFoundError ? 'not-found' : err instanceof RateLimitedError ? 'rate-limited' : 'error', err instanceof NotFoundError ? undefined : name)
      throw err
    }
    report(outcomeOf(result))
    return result
  }
}

function rdapOutcome (r: RdapReply): RequestOutcome {
  return r.kind === 'network' ? 'network' : 'redirect'
}

function whoisOutcome (r: WhoisReply): RequestOutcome {
  switch (r.answer.kind) {
    case 'network': return 'network'
    case 'referral': return 'redirect'
    case 'not-found': return 'not-found'
    default: return 'error'
  }
}
