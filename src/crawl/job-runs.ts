/**
 * The lookups a dispatcher runs besides the sample's addresses, once it has reserved their slot:
 * a listing of a container's children (crawl/listing.ts) and an audit of a peer's record
 * (crawl/audits.ts). Both count against the registry's in-flight limit and are aborted with the
 * crawl.
 */
import type { NetworkRecord } from '../record/index.js'
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { unreachableKind } from '../lookup/errors.js'
import { formatIPv4 } from '../util/ipv4.js'
import { judgeAudit, type AuditAnswer, type AuditJob, type Audits } from './audits.js'
import { toPublish } from './crawl-writer.js'
import { runListing, type ListingJob, type ListingPlan } from './listing.js'
import type { AcceptedRecords, CrawlCounters, CrawlerModules, CrawlStore } from './interface.js'
import type { RegistryQueue } from './registry-queue.js'

type Batch = Parameters<CrawlStore['commit']>[0]
type Committed = Awaited<ReturnType<CrawlStore['commit']>>

/** What the crawler gives a job: its parts, and what a job reports back. */
export interface JobRunContext {
  modules: CrawlerModules
  counters: CrawlCounters
  /** the lookups in flight, aborted when the crawl stops */
  controllers: Set<AbortController>
  /** wakes the dispatchers */
  wake: () => void
  /** writes as this node (crawl-writer.ts); undefined when the store refused */
  commit: (batch: Batch) => Promise<Committed | undefined>
  accepted: (records: AcceptedRecords) => void
  rateLimited: (registry: RegistryId, pauseMs: number) => void
  /** an address lookup started */
  lookup: (registry: RegistryId) => void
  enqueueListing: (job: ListingJob) => void
}

/**
 * A controller for one job's requests. During a run the crawler aborts `ctx.controllers` when
 * its signal does; between runs (`listen`) nothing else would, so it listens to `signal` itself.
 */
function controller (ctx: JobRunContext, signal?: AbortSignal, listen = false): AbortController {
  const ac = new AbortController()
  ctx.controllers.add(ac)
  if (signal?.aborted === true) ac.abort()
  else if (listen) signal?.addEventListener('abort', () => ac.abort(), { once: true, signal: ac.signal })
  return ac
}

/** Lists one container (crawl/listing.ts). */
export async function listOne (ctx: JobRunContext, plan: ListingPlan, q: RegistryQueue, job: ListingJob, signal?: AbortSignal): Promise<void> {
  const { lister, gate, logger, store, client } = ctx.modules
  if (lister === undefined) return
  q.inFlight++
  // a probe (listing-parts.ts) is an address lookup
  const counted = job.probe === undefined ? 'listings' : 'lookups'
  ctx.counters[counted]++
  if (job.probe !== undefined) ctx.lookup(job.registry)
  const ac = controller(ctx, signal)
  try {
    await runListing({
      plan,
      lister,
      gate,
      logger,
      stored: async j => await store.network(j.start, j.end),
      commit: ctx.commit,
      enqueue: ctx.enqueueListing,
      retryFirst: again => { ctx.counters[counted]--; q.listings.unshift(again) },
      accepted: ctx.accepted,
      rateLimited: (registry, pauseMs) => { ctx.counters.rateLimited++; ctx.rateLimited(registry, pauseMs) },
      lookup: async (address, registry, s) => {
        const res = await client.lookup(address, registry, s)
        return { start: res.network.start, end: res.network.end, registry: res.registry }
      }
    }, job, ac.signal)
  } finally {
    ctx.controllers.delete(ac)
    q.inFlight--
    ctx.wake()
  }
}

/**
 * Asks the registry about the address of a peer's record (crawl/audits.ts) and gives `audits` the
 * verdict. The answer is stored as this node's and published, like any answer (a copy it
 * contradicts then shows as a dispute on every replica). An audit that gets no answer (the
 * registry unreachable, rate-limited, failing) is inconclusive: it is not asked again.
 */
export async function auditOne (ctx: JobRunContext, audits: Audits, q: Pick<RegistryQueue, 'id' | 'inFlight'>, job: AuditJob, signal?: AbortSignal, betweenRuns = false): Promise<void> {
  const { gate, client, logger } = ctx.modules
  q.inFlight++
  ctx.counters.audits++
  const ac = controller(ctx, signal, betweenRuns)
  gate.beginLookup(q.id, ac.signal)
  let answer: AuditAnswer | undefined
  try {
    try {
      const res = await client.lookup(job.address, q.id, ac.signal)
      gate.noteAnswer(res.registry, ac.signal)
      for (const hop of res.hops) gate.noteReached(hop)
      const record: NetworkRecord = { ...res.network, source: res.source, fetchedAt: Date.now(), queryAddress: job.address }
      answer = { network: record }
      const committed = await ctx.commit({ networks: [record] })
      if (committed != null) ctx.accepted(toPublish(committed))
    } catch (err: any) {
      const reg: RegistryId = err?.registry ?? q.id
      const kind = unreachableKind(err)
      if (err?.name === 'NotFoundError') {
        gate.noteReached(reg)
        answer = { notFound: true }
        const committed = await ctx.commit({ negatives: [{ address: job.address, registry: reg, reason: 'not-found', fetchedAt: Date.now() }] })
        if (committed != null) ctx.accepted(toPublish(committed))
      } else if (err?.name === 'RateLimitedError') {
        ctx.counters.rateLimited++
        const pauseMs = gate.noteRateLimited(reg, ac.signal, err.retryAfterMs)
        ctx.rateLimited(reg, pauseMs)
        // the registry's pause holds the crawl's lookups too: said as a lookup's 429 is (lookup-failure.ts)
        logger.warn('registry rate-limited us; backing off', { registry: reg, pauseMs, banned: err.banned === true, address: formatIPv4(job.address), audit: true })
      } else if (kind !== undefined) {
        gate.noteUnreachable(reg, ac.signal, kind, String(err.message))
      } else if (err?.name !== 'AbortedError' && signal?.aborted !== true) {
        logger.debug('an audit got no answer', { address: formatIPv4(job.address), registry: q.id, error: String(err?.message ?? err) })
      }
    }
    const verdict = answer === undefined ? 'inconclusive' : judgeAudit(job, answer)
    if (verdict === 'contradicted' && answer !== undefined) {
      const said = job.network !== undefined ? `${formatIPv4(job.network.start)} - ${formatIPv4(job.network.end)} ${job.network.said.handle} ${job.network.said.name} (${job.network.said.type})` : `"${String(job.note)}"`
      const answered = 'notFound' in answer ? 'not found' : `${formatIPv4(answer.network.start)} - ${formatIPv4(answer.network.end)} ${answer.network.handle} ${answer.network.name} (${answer.network.type})`
      logger.warn('an audit: the registry contradicts a record a peer published', { author: job.author, address: formatIPv4(job.address), registry: q.id, said, answered })
    }
    audits.verdict(job, verdict)
  } finally {
    ctx.controllers.delete(ac)
    // done: this also drops its listener on `signal`, if any
    ac.abort()
    q.inFlight--
    ctx.wake()
  }
}

/**
 * Between crawl runs: one audit for each registry that has one earned (Audits.take), each in a
 * slot of its registry's limiter, the slots waited for side by side. Resolves, when they have
 * ended, with how many ran (a job whose registry gave no slot, e.g. unreachable, waits again and
 * is not counted: a caller looping while audits run does not spin on it).
 */
export async function auditRound (ctx: JobRunContext, audits: Audits, signal?: AbortSignal): Promise<number> {
  const runs: Array<Promise<boolean>> = []
  for (const id of REGISTRY_IDS) {
    const job = audits.take(id)
    if (job === undefined) continue
    runs.push((async () => {
      if (await ctx.modules.gate.reserve(id, signal).catch(() => false) !== true) { audits.untake(job); return false }
      await auditOne(ctx, audits, { id, inFlight: 0 }, job, signal, true)
      return true
    })())
  }
  return (await Promise.all(runs)).filter(ran => ran).length
}
