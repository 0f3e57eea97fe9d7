/**
 * What the crawl does after a failed lookup, per address: how often it is asked again and after
 * how long, and when it is given up on.
 *
 * - Transient failures (timeouts, resets, server errors) get `maxTransientAttempts` attempts and
 *   malformed answers `maxMalformedAttempts`, counted apart; the retries wait `retryBaseMs`,
 *   doubling per attempt up to `retryMaxMs`.
 * - An address given up on is recorded as failed. With `failedRetryMs`, it is asked again after a
 *   cool-down (doubling each round up to `failedRetryMaxMs`, at most `failedRetryRounds` rounds in
 *   this run), with its full attempts; otherwise at the next start.
 *
 * The policy keeps the counts and decides; the crawl loop queues the retries and writes the failures.
 */
import { backoffMs } from '../util/backoff.js'
import type { RetryPolicyOptions } from './interface.js'

/** The next step for an address whose lookup failed. */
export type RetryDecision =
  | { retry: true, delayMs: number, attempt: number, lastError: string }
  | { retry: false, attempts: number, lastError: string }

interface Attempts { transient: number, malformed: number, lastError: string }

export class RetryPolicy {
  private readonly opts: RetryPolicyOptions
  private readonly attempts = new Map<number, Attempts>()
  /** addresses given up on (in this process: a later run() of the same crawler keeps them) and not answered or reopened since */
  private readonly failedNow = new Set<number>()
  /** given up on without a cool-down (a dispute: crawl/contradiction.ts), until answered or taken again */
  private readonly disputed = new Set<number>()
  /** rounds of cool-down retries each given-up address has had in this run */
  private readonly failedRounds = new Map<number, number>()

  constructor (opts: RetryPolicyOptions) {
    this.opts = opts
  }

  /**
   * A lookup of `address` failed with a TransientLookupError or MalformedResponseError (`err`):
   * retry after a delay, or give up (then call giveUp).
   */
  onFailure (address: number, err: { name: string, kind?: unknown, message: string }): RetryDecision {
    const a = this.attempts.get(address) ?? { transient: 0, malformed: 0, lastError: '' }
    const malformed = err.name === 'MalformedResponseError'
    if (malformed) a.malformed++
    else a.transient++
    a.lastError = `${err.name}${err.kind != null ? `(${String(err.kind)})` : ''}: ${String(err.message)}`
    this.attempts.set(address, a)
    const attemptsUsed = malformed ? a.malformed : a.transient
    const maxAttempts = malformed ? this.opts.maxMalformedAttempts : this.opts.maxTransientAttempts
    if (attemptsUsed < maxAttempts) {
      return { retry: true, delayMs: backoffMs({ baseMs: this.opts.retryBaseMs, maxMs: this.opts.retryMaxMs }, attemptsUsed), attempt: attemptsUsed, lastError: a.lastError }
    }
    return { retry: false, attempts: a.transient + a.malformed, lastError: a.lastError }
  }

  /**
   * `address` is given up on: recorded as failed in this run. Returns the cool-down after which
   * it is asked again with its full attempts, or undefined (not in this run; always so without
   * `coolDown`: asking again would not change the answer, e.g. a contradiction).
   */
  giveUp (address: number, coolDown = true): number | undefined {
    this.attempts.delete(address)
    this.failedNow.add(address)
    if (!coolDown) { this.disputed.add(address); return undefined }
    const { failedRetryMs, failedRetryMaxMs, failedRetryRounds } = this.opts
    const round = (this.failedRounds.get(address) ?? 0) + 1
    if (!(failedRetryMs > 0 && round <= failedRetryRounds)) return undefined
    this.failedRounds.set(address, round)
    return backoffMs({ baseMs: failedRetryMs, maxMs: failedRetryMaxMs }, round)
  }

  /** `address` was answered (a network): whether a failure was recorded for it, to be cleared. */
  answered (address: number): boolean {
    const hadFailure = this.attempts.has(address) || this.failedNow.has(address)
    this.attempts.delete(address)
    this.failedNow.delete(address)
    this.disputed.delete(address)
    return hadFailure
  }

  /** `address` was answered "not found": whether a failure was recorded in this run, to be cleared. */
  notFound (address: number): boolean {
    const hadFailure = this.failedNow.delete(address)
    this.attempts.delete(address)
    this.disputed.delete(address)
    return hadFailure
  }

  /** Forgets the attempts of `address` (resolved meanwhile: by this node, a peer, another address). */
  forget (address: number): void {
    this.attempts.delete(address)
  }

  /**
   * The addresses given up on without a cool-down (disputes) that `within` accepts and that are
   * still unresolved: no longer counted given up, to be asked again (the dispute may be over).
   */
  takeDisputed (isResolved: (address: number) => boolean, within: (address: number) => boolean = () => true): number[] {
    const again: number[] = []
    for (const a of this.disputed) {
      if (!within(a)) continue
      this.disputed.delete(a)
      if (!this.failedNow.delete(a) || isResolved(a)) continue
      this.failedRounds.delete(a)
      again.push(a)
    }
    return again
  }

  /** These addresses are to be asked again (reopened): no longer given up on, with fresh attempts. */
  release (addresses: Iterable<number>): void {
    for (const a of addresses) {
      this.failedNow.delete(a)
      this.disputed.delete(a)
      this.failedRounds.delete(a)
      this.attempts.delete(a)
    }
  }

  /** the addresses given up on and not answered or reopened since */
  givenUp (): Iterable<number> {
    return this.failedNow
  }

  /** whether `address` was given up on in this run and not answered since */
  isGivenUp (address: number): boolean {
    return this.failedNow.has(address)
  }

  /** Addresses given up on in this run that are still unresolved. */
  failedCount (isResolved: (address: number) => boolean): number {
    let failed = 0
    for (const a of this.failedNow) if (!isResolved(a)) failed++
    return failed
  }
}
