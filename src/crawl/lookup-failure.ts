/**
 * A failed lookup, classed by what the crawl does about it (crawl/crawler.ts calls
 * handleLookupError; the error classes are src/lookup/errors.ts).
 */
import type { RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import { unreachableKind } from '../lookup/errors.js'
import { AbortedError } from './rate-limiter.js'
import type { RegistryQueue, RegistryQueues } from './registry-queue.js'
import type { RetryPolicy } from './retry-policy.js'
import type { WakeUp } from './wake-up.js'
import { toPublish } from './crawl-writer.js'
import type { AcceptedRecords, CrawlCounters, CrawlerModules, CrawlStore } from './interface.js'

/** What a failed lookup may touch: the crawler's parts, lent by the crawler. */
export interface LookupFailureContext {
  modules: Pick<CrawlerModules, 'logger' | 'gate'>
  counters: CrawlCounters
  retry: RetryPolicy
  queues: RegistryQueues
  wakeUp: WakeUp
  /** the crawl is stopping for a store failure: nothing more is written */
  stopping: () => boolean
  /** commits with the crawl's counters; undefined when the store refused it (the crawl stops) */
  commit: (batch: Omit<Parameters<CrawlStore['commit']>[0], 'meta'>) => Promise<Awaited<ReturnType<CrawlStore['commit']>> | undefined>
  accepted: (records: AcceptedRecords) => void
  rateLimited: (event: { registry: RegistryId, pauseMs: number }) => void
}

/**
 * What a failed lookup of `address` at `q` does, by what the error says the crawl should do:
 * nothing (shutting down), wait for an unreachable registry, note "not allocated", back off for a
 * refusal for our rate, retry a transient failure later, or give up on the address.
 * @param lookup the failed lookup's own signal (the gate knows when its last request left)
 */
export async function handleLookupError (ctx: LookupFailureContext, q: RegistryQueue, address: number, err: any, lookup: AbortSignal, signal?: AbortSignal): Promise<void> {
  const { logger, gate } = ctx.modules
  const id = q.id
  const ip = formatIPv4(address)
  if (err instanceof AbortedError || signal?.aborted === true || ctx.stopping()) {
    // shutting down: the address stays unresolved and is asked again next run
    ctx.counters.lookups--
    return
  }
  const reg: RegistryId = err?.registry ?? id
  const kind = unreachableKind(err)
  if (kind !== undefined && gate.noteUnreachable(reg, lookup, kind, String(err.message))) {
    // not the address's fault: it waits for the registry without spending an attempt
    ctx.counters.lookups--
    // a hop's registry: the address waits in that registry's queue, to be its probe there
    ctx.queues.byId[reg].retryFirst(address)
    ctx.wakeUp.wake()
    logger.debug('registry unreachable; the address waits for it', { address: ip, registry: reg, kind, waitMs: Math.round(gate.reachability.waitMs(reg)) })
    return
  }
  if (kind === undefined && err?.name !== 'RateLimitedError') gate.noteReached(reg)
  switch (err?.name) {
    case 'NotFoundError': {
      ctx.counters.unallocated++
      const res = await ctx.commit({
        negatives: [{ address, registry: err.registry ?? id, reason: 'not-found', fetchedAt: Date.now() }],
        clearFailures: ctx.retry.notFound(address) ? [address] : undefined
      })
      if (res == null) return
      // a stored note saying otherwise keeps the address open: the commit's contested range gave
      // it up (crawl/contradiction.ts), and the peers see the dispute
      ctx.accepted(toPublish(res))
      return
    }
    case 'RateLimitedError': {
      ctx.counters.rateLimited++
      ctx.counters.lookups-- // not an answer: the address goes back to the front of the queue
      const pauseMs = gate.noteRateLimited(reg, lookup, err.retryAfterMs)
      ctx.rateLimited({ registry: reg, pauseMs })
      logger.warn('registry rate-limited us; backing off', { registry: reg, pauseMs, banned: err.banned === true, address: ip })
      q.retryFirst(address)
      return
    }
    case 'TransientLookupError':
    case 'MalformedResponseError': {
      const next = ctx.retry.onFailure(address, err)
      if (next.retry) {
        ctx.counters.retries++
        q.retryAt(address, performance.now() + next.delayMs)
        ctx.wakeUp.after(next.delayMs)
        logger.debug('lookup failed; will retry', { address: ip, registry: id, attempt: next.attempt, delayMs: next.delayMs, error: next.lastError })
        return
      }
      await giveUp(ctx, q, address, next.attempts, next.lastError)
      return
    }
    default: {
      const reason = `${String(err?.name ?? 'Error')}: ${String(err?.message ?? err)}`
      if (err?.name !== 'TooManyRedirectsError') logger.error('unexpected lookup error', { address: ip, registry: id, error: reason })
      await giveUp(ctx, q, address, 1, reason)
    }
  }
}

/**
 * Records the address as failed, with the reason; the retry policy says whether it is asked
 * again in this run after a cool-down (see CrawlerOptions.failedRetryMs; never without `coolDown`).
 */
export async function giveUp (ctx: LookupFailureContext, q: RegistryQueue, address: number, attempts: number, reason: string, coolDown = true): Promise<void> {
  ctx.counters.failed++
  const retryInMs = ctx.retry.giveUp(address, coolDown)
  ctx.modules.logger.warn('giving up on address', { address: formatIPv4(address), registry: q.id, attempts, reason, ...(retryInMs !== undefined ? { retryInMs } : {}) })
  await ctx.commit({ failures: [{ address, registry: q.id, reason, attempts, at: Date.now() }] })
  if (retryInMs !== undefined && !ctx.stopping()) {
    q.retryAt(address, performance.now() + retryInMs)
    ctx.wakeUp.after(retryInMs)
  }
}
