/**
 * The per-registry gate every registry request passes: the registry's rate limiter, and the
 * back-off when the registry refuses us for our rate (a 429, "Query rate limit exceeded", a ban).
 *
 * - The crawl's dispatcher takes a slot for each lookup it starts (`reserve`) and marks the
 *   lookup's first request as paid (`beginLookup`); the registry client calls `acquire` before
 *   every request it sends — the first passes at once, each redirect hop and WHOIS fallback waits
 *   for a slot of the registry it goes to — and `noteRequest` after each.
 * - A refusal pauses the registry's limiter for its Retry-After, or for a back-off that doubles
 *   while refusals repeat (the 429 streak) up to `rateLimitBackoffMaxMs`; an answer ends the streak.
 * - A registry that cannot be reached at all waits its own back-off (reachability.ts), which
 *   `delayMs` honours as it honours the limiter's pause; meanwhile only the lookup started to
 *   probe it (begun while it was unreachable) may send it anything: every other request to it —
 *   the WHOIS fallback or redirect hop of a lookup already in flight — fails at once, unsent.
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { backoffMs } from '../util/backoff.js'
import type { RegistryGateOptions, RegistryProgress } from './interface.js'
import type { RateLimiter } from './rate-limiter.js'
import { Reachability } from './reachability.js'
import type { UnreachableKind } from '../lookup/errors.js'

export interface RegistryGateModules {
  /** one limiter per registry (their rates are this node's budget shares, set by the node) */
  limiters: Record<RegistryId, RateLimiter>
}

/** A value per registry, all `v`. */
function perRegistry<T> (v: T): Record<RegistryId, T> {
  return Object.fromEntries(REGISTRY_IDS.map(id => [id, v])) as Record<RegistryId, T>
}

export class RegistryGate {
  readonly opts: RegistryGateOptions
  private readonly limiters: Record<RegistryId, RateLimiter>
  private readonly rateLimitStreak = perRegistry(0)
  /**
   * When (performance.now()) each registry's last rate-limit answer arrived. Answers to lookups
   * that were already in flight then belong to the same refusal and do not escalate the back-off:
   * with N lookups in flight, one burst of N 429s would otherwise double the pause N times.
   * What counts is when a lookup's last request left (see `lastSentAt`): a WHOIS fallback or a
   * redirect hop that waited out the pause and is refused again is a new refusal, and escalates.
   * Likewise only an answer to a request sent after the last refusal ends the streak: one sent
   * before it says nothing about whether the registry lifted its limit.
   */
  private readonly rateLimitedAt = perRegistry(-Infinity)
  /** per lookup (its signal): the registry whose slot the dispatcher took for its first request */
  private readonly prepaid = new WeakMap<AbortSignal, RegistryId>()
  /** per lookup (its signal): the unreachable registry it was started to probe */
  private readonly probes = new WeakMap<AbortSignal, RegistryId>()
  /** per lookup (its signal): when its latest request was let through (performance.now()) */
  private readonly lastSentAt = new WeakMap<AbortSignal, number>()
  /**
   * redirect hops waiting for a slot, per registry: while it waits, a hop is work for that
   * registry (the node's demand for it, so its share there is not the floor when its own queue
   * for it is empty)
   */
  private readonly hopsWaiting = perRegistry(0)
  /** requests sent, per registry */
  private readonly requests = perRegistry(0)

  /** which registries can be reached at all (reachability.ts): the crawl listens to its events */
  readonly reachability: Reachability

  constructor (opts: RegistryGateOptions, modules: RegistryGateModules) {
    this.opts = opts
    this.limiters = modules.limiters
    this.reachability = new Reachability(opts)
  }

  /**
   * Milliseconds until `registry`'s next free slot (0 if now), counting those already waiting,
   * or until an unreachable registry's back-off ends, whichever is later.
   */
  delayMs (registry: RegistryId): number {
    return Math.max(this.limiters[registry].delayMs(), this.reachability.waitMs(registry))
  }

  /**
   * Takes `registry`'s next free slot for a lookup about to start (the dispatcher's wait).
   * Resolves false when the registry became unreachable while it waited: the slot is dropped, and
   * the lookup waits for the registry's probe like the others.
   */
  async reserve (registry: RegistryId, signal?: AbortSignal): Promise<boolean> {
    const probing = this.reachability.isUnreachable(registry)
    await this.limiters[registry].acquire(signal)
    return probing || !this.reachability.isUnreachable(registry)
  }

  /**
   * A lookup starts with the slot `reserve` took at `registry`: its first request passes
   * `acquire` at once. `signal` is the lookup's own, which the registry client passes on.
   */
  beginLookup (registry: RegistryId, signal: AbortSignal): void {
    this.prepaid.set(signal, registry)
    this.lastSentAt.set(signal, performance.now())
    if (this.reachability.isUnreachable(registry)) this.probes.set(signal, registry)
  }

  /**
   * The rate-limit gate the registry client calls before every request it sends. The first
   * request of a lookup was paid for by the dispatcher (see beginLookup) and passes at once.
   * @throws TransientLookupError of the outage's kind, unsent: `registry` is unreachable and this
   *   lookup is not its probe
   */
  async acquire (registry: RegistryId, signal?: AbortSignal): Promise<void> {
    if (signal != null && this.prepaid.get(signal) === registry) {
      this.prepaid.delete(signal)
      return
    }
    const notAsked = (): boolean => this.reachability.isUnreachable(registry) && (signal == null || this.probes.get(signal) !== registry)
    if (notAsked()) throw this.reachability.notAsked(registry)
    // a redirect hop or a fallback: while it waits it is work for that registry (see hopsWaiting)
    this.hopsWaiting[registry]++
    try {
      await this.limiters[registry].acquire(signal)
    } finally {
      this.hopsWaiting[registry]--
    }
    // it may have become unreachable while this request waited for its slot
    if (notAsked()) throw this.reachability.notAsked(registry)
    if (signal != null) this.lastSentAt.set(signal, performance.now())
  }

  /** Counts a request the registry client sent (its onRequest hook). */
  noteRequest (registry: RegistryId): void {
    this.requests[registry]++
  }

  /** Requests sent so far, all registries. */
  get requestsSent (): number {
    return REGISTRY_IDS.reduce((n, id) => n + this.requests[id], 0)
  }

  /**
   * `registry` answered the lookup of `signal`: the 429 streak ends if its last request left
   * after the last refusal.
   */
  noteAnswer (registry: RegistryId, signal: AbortSignal): void {
    if (this.lastSentAt.get(signal)! >= this.rateLimitedAt[registry]) this.rateLimitStreak[registry] = 0
    this.reachability.noteReached(registry)
  }

  /** `registry` answered something other than a network (not found, malformed, …): it is reachable. */
  noteReached (registry: RegistryId): void {
    this.reachability.noteReached(registry)
  }

  /**
   * The lookup of `signal` failed at `registry` without reaching it (lookup/errors.ts
   * unreachableKind). Returns whether the registry is unreachable now (reachability.ts).
   */
  noteUnreachable (registry: RegistryId, signal: AbortSignal, kind: UnreachableKind, detail: string): boolean {
    return this.reachability.noteFailure(registry, kind, detail, this.lastSentAt.get(signal) ?? performance.now())
  }

  /**
   * `registry` refused the lookup of `signal` for our rate: pauses the registry's limiter for
   * `retryAfterMs` or the streak's back-off, whichever is longer, and returns that pause.
   */
  noteRateLimited (registry: RegistryId, signal: AbortSignal, retryAfterMs = 0): number {
    const sentAt = this.lastSentAt.get(signal) ?? performance.now()
    // a request sent before the previous refusal arrived is part of that refusal
    const sameRefusal = sentAt < this.rateLimitedAt[registry]
    if (!sameRefusal) this.rateLimitedAt[registry] = performance.now()
    const streak = sameRefusal ? Math.max(1, this.rateLimitStreak[registry]) : ++this.rateLimitStreak[registry]
    const backoff = backoffMs({ baseMs: this.opts.rateLimitBackoffBaseMs, maxMs: this.opts.rateLimitBackoffMaxMs }, streak)
    const pauseMs = Math.max(retryAfterMs, backoff)
    this.limiters[registry].pauseFor(pauseMs)
    // a refusal is an answer
    this.reachability.noteReached(registry)
    return pauseMs
  }

  /** The gate's part of a registry's progress. */
  progress (registry: RegistryId): Pick<RegistryProgress, 'hopsWaiting' | 'budgetPerSecond' | 'pausedForMs' | 'unreachableForMs'> {
    const lim = this.limiters[registry]
    return {
      hopsWaiting: this.hopsWaiting[registry],
      budgetPerSecond: lim.ratePerSecond,
      pausedForMs: Math.round(Math.max(lim.pausedForMs(), this.reachability.waitMs(registry))),
      unreachableForMs: Math.round(this.reachability.downForMs(registry))
    }
  }

  /** Requests sent to `registry` so far. */
  requestsTo (registry: RegistryId): number {
    return this.requests[registry]
  }
}
