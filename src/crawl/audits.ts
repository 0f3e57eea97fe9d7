/**
 * Audits: a small share of this node's lookups asks the registries again about records its peers
 * sent, so a key holder that mixes lies into honest work is caught without the operator.
 *
 * - What is audited: a uniform sample (reservoir) of the networks and notes each peer authored,
 *   as they arrive (gossip or sync), up to `perAuthor` per peer; each is asked about once.
 * - How often: every lookup of the crawl earns `share` of an audit (default 1%: one audit per
 *   hundred lookups); an audit takes a slot of its registry's budget like any lookup. While a peer
 *   the registries contradicted has records left to audit, lookups earn `suspectBoost` times as
 *   much, and those records go first. Once the crawl is done (`idle`), time earns audits instead
 *   (the node's auditWhileIdle), and records that arrive then go first: a finished fleet receives
 *   few, and those are the ones worth asking about.
 * - The verdict (judge): the registry's answer for the audited address against what the record
 *   says. A network is contradicted when the registry answers that address with the same range
 *   but another handle, name, org, country or type (only handle, name and class when one was
 *   fetched by RDAP and the other by WHOIS, which write the others differently); with no network;
 *   with a network not inside the record's range; or, for a leaf (which has no children), with
 *   any other range. A "not found" is contradicted by any network; an 'answered' note (a
 *   container is the answer there) by a leaf. A container answered by a network inside it says
 *   nothing either way.
 * - A contradiction is a strike against the record's author; strikes count distinct records. A
 *   registry that changed a network after the peer fetched it would strike an honest peer: an
 *   answer whose last-changed date is later than the record's fetch time is inconclusive, and an
 *   author is suspected (audited first, and more) only while its strikes are at least
 *   `minStrikeRate` of its audits, and distrusted ('distrust' event: the node runs what `whoismesh
 *   distrust` runs) once it has `distrustAfter` strikes while suspected. A registry answer of the
 *   crawl that loses to a copy saying otherwise (crawl/contradiction.ts) is logged and counted but
 *   is no strike: two honest nodes fetching one network at different times meet that way too.
 */
import { EventEmitter } from 'node:events'
import { isLeaf, LISTED_QUERY_ADDRESS, type NegativeReason, type NetworkRecord } from '../record/index.js'
import type { RegistryId } from '../registry/interface.js'
import { contradicts, type Said } from './contradiction.js'
import { defaultAuditOptions, type AcceptedRecords, type AuditOptions } from './interface.js'

/** One record to ask the registry about again. */
export interface AuditJob {
  author: string
  registry: RegistryId
  /** the address to ask */
  address: number
  /** a network: its range, whether it is a leaf, what it says, and how it was fetched; a note: its reason */
  network?: { start: number, end: number, leaf: boolean, said: Said, source: NetworkRecord['source'] }
  note?: NegativeReason
  /** when the record says it was fetched (a claim of its author's) */
  fetchedAt: number
}

/** The registry's answer to an audit: its most specific network at the address, or none. */
export type AuditAnswer = { network: Pick<NetworkRecord, 'start' | 'end' | 'registry' | 'handle' | 'name' | 'org' | 'country' | 'type' | 'source' | 'lastChanged' | 'registered'> } | { notFound: true }

/**
 * How far back a record's claimed fetch time may excuse a difference by a later change at the
 * registry (judgeAudit): the fetch time is its author's claim, and an earlier one also wins the
 * pick rule, so a liar backdating its copies would otherwise excuse every forgery of a network
 * changed since.
 */
export const EXCUSE_WINDOW_MS = 30 * 86_400_000

/**
 * A registry date as ms since epoch: a date alone ('2026-11-20', as ARIN's and LACNIC's WHOIS
 * write it) counts as the end of that day, a time without a zone as UTC; NaN when unreadable.
 */
export function registryDateMs (s: string): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return Date.parse(`${s}T23:59:59.999Z`)
  if (/^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(s)) return Date.parse(`${s}Z`)
  return s === '' ? NaN : Date.parse(s)
}

export type AuditVerdict = 'agreed' | 'contradicted' | 'inconclusive'

/** records offered while the node is idle kept to audit first (Audits.fresh) */
const FRESH_MAX = 10_000

interface AuditEvents {
  /** an audit ended with a verdict */
  audited: [job: AuditJob, verdict: AuditVerdict]
  /** `author` reached `distrustAfter` strikes */
  distrust: [author: string, strikes: number]
}

/**
 * The verdict of the registry's `answer` on the record `job` audits, at `now`. A difference the
 * registry dates after the record's fetch (its answer last changed, or registered, later) proves
 * nothing — unless the record claims a fetch older than EXCUSE_WINDOW_MS.
 */
export function judgeAudit (job: AuditJob, answer: AuditAnswer, now = Date.now()): AuditVerdict {
  const excused = (date: string): boolean => {
    const at = registryDateMs(date)
    return Number.isFinite(at) && at > job.fetchedAt && job.fetchedAt >= now - EXCUSE_WINDOW_MS
  }
  const n = job.network
  if (n !== undefined) {
    if ('notFound' in answer) return 'contradicted'
    const a = answer.network
    const verdict = a.start === n.start && a.end === n.end
      ? (saysOtherwise(a, n) ? 'contradicted' : 'agreed')
      : (n.leaf || a.start < n.start || a.end > n.end ? 'contradicted' : 'inconclusive')
    return verdict === 'contradicted' && excused(a.lastChanged) ? 'inconclusive' : verdict
  }
  if ('notFound' in answer) return job.note === 'not-found' ? 'agreed' : job.note === 'answered' ? 'contradicted' : 'inconclusive'
  const a = answer.network
  // a network registered after the note was fetched: the note was true then
  if (job.note === 'not-found') return excused(a.registered) ? 'inconclusive' : 'contradicted'
  if (job.note === 'answered') return !isLeaf(a.registry, a.type) ? 'agreed' : excused(a.registered) ? 'inconclusive' : 'contradicted'
  return 'inconclusive'
}

/**
 * Whether the registry's answer `a` for the same range says otherwise than the record. Fetched
 * the same way, every field counts (contradicts); fetched the other way (RDAP against WHOIS, or a
 * listing's RPSL; `source` is the author's claim, so it excuses little), the type word only as
 * leaf or container (a status WHOIS may leave out) and the org without case, spaces or
 * punctuation; handle, name and country as they are.
 */
function saysOtherwise (a: Extract<AuditAnswer, { network: unknown }>['network'], n: NonNullable<AuditJob['network']>): boolean {
  if (a.source === n.source) return contradicts(a, n.said)
  const plain = (s: string): string => s.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '')
  if (a.registry !== n.said.registry || a.handle !== n.said.handle || a.name !== n.said.name || a.country !== n.said.country || plain(a.org) !== plain(n.said.org)) return true
  return n.said.type !== '' && a.type !== '' && isLeaf(a.registry, a.type) !== n.leaf
}

interface Pool {
  jobs: AuditJob[]
  /** how many of `jobs` are for each registry */
  waiting: Map<RegistryId, number>
  /** records offered, for the reservoir */
  seen: number
  /** keys of the distinct records contradicted */
  strikes: Set<string>
  audits: number
  distrusted: boolean
  /** when a record of it was last offered (Audits.offers): the pool least recently offered to goes first */
  lastOffer: number
}

export class Audits extends EventEmitter<AuditEvents> {
  private readonly opts: AuditOptions
  private readonly pools = new Map<string, Pool>()
  private credit = 0
  /** records offered so far (orders the pools by their last offer) */
  private offers = 0
  /**
   * Records that arrived since the node's crawl was done (`idle`), audited before the reservoirs:
   * a fleet whose crawl is done receives few records (a run over reopened addresses brings some),
   * and those few are the ones worth asking about. At most FRESH_MAX, the oldest dropped first.
   */
  private fresh: AuditJob[] = []
  /** set by the node once its crawl is done (records offered from then on are `fresh`) */
  idle = false

  /**
   * @param self this node's peer id (its own records are not audited)
   * @param random which records are audited must not be predictable by the peers: Math.random unless a test gives its own
   */
  constructor (opts: Partial<AuditOptions>, private readonly self: string | undefined, private readonly random: () => number = Math.random) {
    super()
    this.opts = { ...defaultAuditOptions, ...opts }
  }

  /** Keeps records peers authored to audit (this node's own, and records naming no author, are not). */
  offer (records: AcceptedRecords): void {
    if (this.opts.share <= 0) return
    for (const r of records.networks) {
      if (r.author === undefined || r.author === this.self) continue
      this.keep(r.author, {
        author: r.author,
        registry: r.registry,
        address: r.queryAddress === LISTED_QUERY_ADDRESS ? r.start : r.queryAddress,
        network: { start: r.start, end: r.end, leaf: isLeaf(r.registry, r.type), said: { registry: r.registry, handle: r.handle, name: r.name, org: r.org, country: r.country, type: r.type }, source: r.source },
        fetchedAt: r.fetchedAt
      })
    }
    for (const r of records.negatives) {
      if (r.author === undefined || r.author === this.self || r.reason === 'reserved') continue
      this.keep(r.author, { author: r.author, registry: r.registry, address: r.address, note: r.reason, fetchedAt: r.fetchedAt })
    }
  }

  /**
   * `lookups` lookups of the crawl were made (or, between runs, this many could have been at
   * the node's share of the budgets): they earn `share` of an audit each.
   */
  earn (lookups = 1): void {
    if (this.opts.share <= 0) return
    this.credit = Math.min(this.credit + lookups * this.opts.share * (this.suspect() !== undefined ? this.opts.suspectBoost : 1), 10)
  }

  /** An audit for `registry` when one is earned and a record of that registry waits; it is removed. */
  take (registry: RegistryId): AuditJob | undefined {
    if (this.credit < 1 - 1e-9) return undefined
    const suspect = this.suspect(registry)
    let job: AuditJob | undefined
    if (suspect === undefined) {
      const k = this.randomIndexOf(this.fresh, registry)
      if (k >= 0) job = this.fresh.splice(k, 1)[0]
    }
    if (job === undefined) {
      const pool = suspect ?? this.pickPool(registry)
      const k = pool === undefined ? -1 : this.randomIndexOf(pool.jobs, registry)
      if (pool === undefined || k < 0) return undefined
      job = pool.jobs[k]
      // order does not matter: the last takes its place
      pool.jobs[k] = pool.jobs[pool.jobs.length - 1]
      pool.jobs.pop()
      pool.waiting.set(registry, (pool.waiting.get(registry) ?? 1) - 1)
    }
    this.credit -= 1
    const p = this.pools.get(job.author)
    if (p !== undefined) p.audits++
    return job
  }


  /** The verdict of an audit this node ran: a contradiction is a strike against the record's author. */
  verdict (job: AuditJob, verdict: AuditVerdict): void {
    this.emit('audited', job, verdict)
    if (verdict === 'contradicted') this.strike(job.author, job.network !== undefined ? `${job.network.start}-${job.network.end}` : `note ${job.address}`)
  }

  /** The registries contradicted a record `author` published (`key`: which record); distinct records count. */
  strike (author: string, key: string): void {
    // this node's own record: the registry changed between two of its own lookups
    if (author === this.self) return
    const pool = this.pool(author)
    if (pool === undefined || pool.distrusted) return
    pool.strikes.add(key)
    if (this.opts.distrustAfter > 0 && pool.strikes.size >= this.opts.distrustAfter && this.suspected(pool)) {
      pool.distrusted = true
      pool.jobs = []
      pool.waiting.clear()
      this.fresh = this.fresh.filter(j => j.author !== author)
      this.emit('distrust', author, pool.strikes.size)
    }
  }

  /** A job take() gave that could not run (no slot for it): it waits again, its credit back. */
  untake (job: AuditJob): void {
    this.credit += 1
    const p = this.pools.get(job.author)
    if (p === undefined || p.distrusted) return
    p.audits--
    p.jobs.push(job)
    p.waiting.set(job.registry, (p.waiting.get(job.registry) ?? 0) + 1)
  }

  /** The operator distrusted `author` (`whoismesh distrust`): its records are not audited any more. */
  distrusted (author: string): void {
    const p = this.pools.get(author)
    if (p === undefined) return
    p.distrusted = true
    p.jobs = []
    p.waiting.clear()
    this.fresh = this.fresh.filter(j => j.author !== author)
  }

  /** The operator trusts `author` again (`whoismesh distrust --undo`): it starts afresh. */
  forgive (author: string): void {
    this.pools.delete(author)
  }

  /** Audits run and strikes counted, per author (for status and tests). */
  stats (): Record<string, { audits: number, strikes: number, waiting: number }> {
    return Object.fromEntries([...this.pools].map(([a, p]) => [a, { audits: p.audits, strikes: p.strikes.size, waiting: p.jobs.length + this.fresh.filter(j => j.author === a).length }]))
  }

  /**
   * The author's pool, made if needed: when `maxAuthors` are kept, the one without strikes that
   * was offered a record least recently makes room (authors come and go; identities can be
   * minted). Undefined only when every kept author has strikes.
   */
  private pool (author: string): Pool | undefined {
    let p = this.pools.get(author)
    if (p !== undefined) return p
    if (this.pools.size >= this.opts.maxAuthors) {
      // the least recently offered without strikes; else the least recently offered not suspected
      // (identities minted to be struck once each must not shut new authors out)
      let oldest: [string, Pool] | undefined
      for (const e of this.pools) if (e[1].strikes.size === 0 && (oldest === undefined || e[1].lastOffer < oldest[1].lastOffer)) oldest = e
      if (oldest === undefined) for (const e of this.pools) if (!e[1].distrusted && !this.suspected(e[1]) && (oldest === undefined || e[1].lastOffer < oldest[1].lastOffer)) oldest = e
      if (oldest === undefined) return undefined
      this.pools.delete(oldest[0])
      this.fresh = this.fresh.filter(j => j.author !== oldest![0])
    }
    p = { jobs: [], waiting: new Map(), seen: 0, strikes: new Set(), audits: 0, distrusted: false, lastOffer: this.offers }
    this.pools.set(author, p)
    return p
  }

  /** The index of a job for `registry` in `jobs`, chosen at random; -1 when there is none. */
  private randomIndexOf (jobs: readonly AuditJob[], registry: RegistryId): number {
    const mine: number[] = []
    jobs.forEach((j, i) => { if (j.registry === registry) mine.push(i) })
    return mine.length === 0 ? -1 : mine[Math.floor(this.random() * mine.length)]
  }


  private keep (author: string, job: AuditJob): void {
    const p = this.pool(author)
    if (p === undefined || p.distrusted) return
    p.lastOffer = ++this.offers
    if (this.idle) {
      this.fresh.push(job)
      if (this.fresh.length > FRESH_MAX) this.fresh.splice(0, this.fresh.length - FRESH_MAX)
      return
    }
    p.seen++
    const add = (r: RegistryId, n: number): void => { p.waiting.set(r, (p.waiting.get(r) ?? 0) + n) }
    if (p.jobs.length < this.opts.perAuthor) { p.jobs.push(job); add(job.registry, 1); return }
    // reservoir sampling: every record offered stays with the same chance
    const k = Math.floor(this.random() * p.seen)
    if (k >= p.jobs.length) return
    add(p.jobs[k].registry, -1)
    p.jobs[k] = job
    add(job.registry, 1)
  }

  /** A peer with strikes and records left to audit (for `registry`, when given). */
  private suspect (registry?: RegistryId): Pool | undefined {
    for (const p of this.pools.values()) {
      if (this.suspected(p) && !p.distrusted && (registry === undefined ? p.jobs.length : p.waiting.get(registry) ?? 0) > 0) return p
    }
    return undefined
  }

  /** Whether the registries contradicted this author's records more often than they change (minStrikeRate). */
  private suspected (p: Pool): boolean {
    return p.strikes.size > 0 && p.strikes.size >= this.opts.minStrikeRate * p.audits
  }

  /** An author chosen in proportion to its records waiting for `registry`. */
  private pickPool (registry: RegistryId): Pool | undefined {
    let total = 0
    const counts: Array<[Pool, number]> = []
    for (const p of this.pools.values()) {
      const n = p.waiting.get(registry) ?? 0
      if (n > 0) { counts.push([p, n]); total += n }
    }
    let x = this.random() * total
    for (const [p, n] of counts) {
      if (x < n) return p
      x -= n
    }
    return undefined
  }
}
