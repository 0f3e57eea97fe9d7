/**
 * An answer that did not stand. The registry answered an address with a network, the crawl
 * committed the answer, and the store still does not count the address resolved: the pick rule
 * (store/pick.ts) kept another record under the network's key — a copy with an earlier fetch time,
 * which wins on every replica alike. When that copy is not what the registry has just said (another
 * handle, name, org, country or type), the registry contradicts the peer that authored it
 * (NetworkRecord.author). The crawl then says so (the 'contradicted' event, a warning naming the
 * peer) and gives the address up with the contradiction as its reason: asking again would get the
 * same answer and lose again, and dropping it silently left it open with nothing queued, so the
 * crawl never ended. It is not asked again after the cool-down of other failures (the answer would
 * lose again): `whoismesh distrust` of that peer drops its copy and reopens the address.
 * An answer left open for another reason is given up on too, never dropped silently.
 */
import { normaliseStatusWord, type FailureRecord, type NetworkRecord } from '../record/index.js'
import type { RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import { registryForAddress } from '../registry/iana.js'
import type { Logger } from '../util/logger.js'
import type { CrawlCounters, CrawlStore } from './interface.js'
import type { RetryPolicy } from './retry-policy.js'
import type { ContestedRange } from '../store/interface.js'
import { giveUp, type LookupFailureContext } from './lookup-failure.js'
import type { RegistryQueue } from './registry-queue.js'

/** What the registry answered and what the store kept instead. */
export interface Contradiction {
  address: number
  registry: RegistryId
  /** the peer that authored the stored copy; undefined when it names none (an older record) */
  author: string | undefined
  stored: Pick<NetworkRecord, 'start' | 'end' | 'handle' | 'name' | 'org' | 'country' | 'type'>
  answered: Pick<NetworkRecord, 'start' | 'end' | 'handle' | 'name' | 'org' | 'country' | 'type'>
}

/**
 * whether `stored` says something else than the registry's `answer` about the same range (fetch
 * metadata aside; the type word as RDAP and WHOIS write it: "DIRECT ALLOCATION", "Direct Allocation")
 */
export function contradicts (answer: Said, stored: Said): boolean {
  return answer.registry !== stored.registry || answer.handle !== stored.handle || answer.name !== stored.name ||
    answer.org !== stored.org || answer.country !== stored.country || normaliseStatusWord(answer.type) !== normaliseStatusWord(stored.type)
}

/** What a record says about its network (its range aside). */
export type Said = Pick<NetworkRecord, 'registry' | 'handle' | 'name' | 'org' | 'country' | 'type'>

function summary (r: NetworkRecord): Contradiction['stored'] {
  return { start: r.start, end: r.end, handle: r.handle, name: r.name, org: r.org, country: r.country, type: r.type }
}

/**
 * After the commit of `answer` (the registry's answer for `address`; `kept`: the stored copy it
 * lost to, when the commit reported it contested). A stored copy that contradicts the answer is
 * reported (returned, and logged) even where the address is answered anyway (an 'answered' note
 * stands under any container); an
 * address the store still leaves open is given up on with the reason, so the run can end (a later
 * commit that resolves it clears the failure).
 */
export async function checkAnswerStood (
  ctx: LookupFailureContext & { store: Pick<CrawlStore, 'isResolved'> }, q: RegistryQueue, address: number, answer: NetworkRecord, kept: NetworkRecord | undefined
): Promise<Contradiction | undefined> {
  const { store, modules: { logger } } = ctx
  const open = !store.isResolved(address)
  if (kept === undefined && !open) return undefined
  const stored = kept
  const where = `${formatIPv4(answer.start)} - ${formatIPv4(answer.end)}`
  if (stored === undefined || !contradicts(answer, stored)) {
    // not left open silently either (e.g. inside a hole a distrust left: store/memory-index.ts)
    if (open) await giveUp(ctx, q, address, 1, `answered with ${where} (${answer.handle}), but the stored records leave the address open`)
    return undefined
  }
  const c: Contradiction = { address, registry: answer.registry, author: stored.author, stored: summary(stored), answered: summary(answer) }
  const by = stored.author ?? 'an unnamed peer'
  logger.warn(`the registry contradicts a stored record: every replica keeps the earlier copy${open ? ', so this address is given up on' : ''}`, {
    address: formatIPv4(address), registry: answer.registry, range: where, author: by, stored: `${stored.handle} ${stored.name} (${stored.type})`, answered: `${answer.handle} ${answer.name} (${answer.type})`
  })
  if (open && !ctx.retry.isGivenUp(address)) {
    await giveUp(ctx, q, address, 1, `contradicted: ${answer.registry} answers ${where} as ${answer.handle} ${answer.name} (${answer.type}); the stored copy by ${by} says ${stored.handle} ${stored.name} (${stored.type})`, false)
  }
  return c
}

/** What giveUpContested touches: the crawler's parts. */
export interface ContestedContext {
  logger: Logger
  retry: Pick<RetryPolicy, 'isGivenUp' | 'giveUp'>
  counters: Pick<CrawlCounters, 'failed'>
  /** writes the failures; the crawl's commit */
  commit: (batch: { failures: FailureRecord[] }) => Promise<unknown>
  /** the foreign lists drop these addresses, given up on, and the dispatchers look again (none between runs) */
  settled: (addresses: number[]) => void
}

/**
 * Two authors disagree about a range (store Contested: a record lost the pick rule to a stored
 * copy saying otherwise). The sample addresses it leaves open are given up on in this run, on
 * every node alike, whoever owns them: the owner's registry answer would lose again, and the other
 * nodes would wait for it forever. The failures name both authors; distrusting either asks the
 * addresses again (Crawler.reopenGivenUp).
 */
export async function giveUpContested (ctx: ContestedContext, addresses: number[], c: ContestedRange): Promise<void> {
  const fresh = addresses.filter(a => !ctx.retry.isGivenUp(a))
  if (fresh.length === 0) return
  for (const a of fresh) ctx.retry.giveUp(a, false)
  ctx.counters.failed += fresh.length
  const where = c.start === c.end ? formatIPv4(c.start) : `${formatIPv4(c.start)} - ${formatIPv4(c.end)}`
  const authors = { lost: c.author ?? 'an unnamed peer', kept: c.keptAuthor ?? 'an unnamed peer' }
  ctx.logger.warn('two peers say different things about a network or address: the sample addresses it leaves open are given up on until one of them is distrusted', { range: where, kept: authors.kept, lost: authors.lost, addresses: fresh.length })
  ctx.settled(fresh)
  const at = Date.now()
  const reason = `contested: ${where} as stored (by ${authors.kept}) is contradicted by ${authors.lost}`
  await ctx.commit({ failures: fresh.map(address => ({ address, registry: registryForAddress(address) ?? 'arin', reason, attempts: 0, at })) })
}
