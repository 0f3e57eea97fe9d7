/**
 * A per-registry rate limiter: GCRA (generic cell rate algorithm) with a pause for back-off.
 *
 * `acquire()` reserves the next send slot synchronously and resolves when that slot comes, so
 * requests leave at most `ratePerSecond` per second with at most `burst` back to back. Waiters
 * are served in call order. `pauseFor()` holds every slot for a while (this node's Retry-After,
 * bans): it only ever extends. `holdFor()` is a second hold that its owner may also shorten or
 * lift (the fleet's back-offs, which end with the peer that reported them: fleet/fleet-budget.ts).
 */

/** setTimeout's longest delay (2^31 − 1 ms); a longer one fires at once, in a loop */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface RateLimiterOptions {
  /** requests per second; may change at run time with setRate() */
  ratePerSecond: number
  /** requests that may leave back to back after an idle period (default 1: strict spacing) */
  burst?: number
  /**
   * How late a request may be and still have the next one spaced from its planned slot rather
   * than from now, so timer lateness (a few ms) does not cost throughput. Capped at one interval,
   * which keeps any two requests at least interval − tolerance apart (default 25); a request later
   * than that restarts the schedule from now (no catching up).
   */
  maxLatenessToleranceMs?: number
}

export class AbortedError extends Error {
  override readonly name = 'AbortError'
}

interface Waiter {
  resolve: () => void
  reject: (err: Error) => void
  signal?: AbortSignal
  onAbort?: () => void
}

export class RateLimiter {
  private intervalMs: number
  private readonly burst: number
  private readonly maxToleranceMs: number
  /** theoretical arrival time of the next request (ms on the limiter's clock) */
  private tat = -Infinity
  private pausedUntil = -Infinity
  private heldUntil = -Infinity
  private granted = 0
  private readonly waiters: Waiter[] = []
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor (opts: RateLimiterOptions, private readonly now: () => number = () => performance.now()) {
    this.intervalMs = RateLimiter.interval(opts.ratePerSecond)
    this.burst = Math.max(1, Math.floor(opts.burst ?? 1))
    this.maxToleranceMs = Math.max(0, opts.maxLatenessToleranceMs ?? 25)
  }

  private static interval (rate: number): number {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number, got ${rate}`)
    return 1000 / rate
  }

  get ratePerSecond (): number { return 1000 / this.intervalMs }

  /** Requests granted so far. */
  get grantedCount (): number { return this.granted }

  /** Requests waiting for a slot. */
  get waiting (): number { return this.waiters.length }

  /**
   * Changes the rate. A slot planned at the old rate is rescaled to the new one: after a rise
   * from a tiny rate, the next request must not wait out the old, long interval.
   */
  setRate (ratePerSecond: number): void {
    const interval = RateLimiter.interval(ratePerSecond)
    const now = this.now()
    if (this.tat > now) this.tat = now + (this.tat - now) * interval / this.intervalMs
    this.intervalMs = interval
    this.reschedule()
  }

  /** Earliest time (limiter clock) the next request may leave. */
  private nextSlot (): number {
    return Math.max(this.tat - (this.burst - 1) * this.intervalMs, this.pausedUntil, this.heldUntil)
  }

  /** Milliseconds until a new request could leave (0 if now), counting those already waiting. */
  delayMs (): number {
    const t = this.now()
    return Math.max(0, this.nextSlot() + this.waiters.length * this.intervalMs - t)
  }

  /** Waits for the next free slot (first come, first served) and takes it. */
  acquire (signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(new AbortedError('aborted'))
    if (this.waiters.length === 0 && this.nextSlot() <= this.now()) {
      this.take()
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal }
      if (signal != null) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w)
          if (i >= 0) this.waiters.splice(i, 1)
          reject(new AbortedError('aborted'))
          this.reschedule()
        }
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      this.waiters.push(w)
      this.reschedule()
    })
  }

  /**
   * Takes a slot now. A request up to `tolerance` late keeps the schedule (the next slot is one
   * interval after this one's planned slot); one later than that, or after an idle spell, starts
   * a new schedule from now — so a stall or an idle period never lets requests catch up in a burst.
   */
  private take (): void {
    const t = this.now()
    const tolerance = Math.min(this.intervalMs, this.maxToleranceMs)
    const late = t - this.tat
    this.tat = (late <= tolerance ? this.tat : t) + this.intervalMs
    this.granted++
  }

  private reschedule (): void {
    if (this.timer != null) { clearTimeout(this.timer); this.timer = undefined }
    if (this.waiters.length === 0) return
    const wait = this.nextSlot() - this.now()
    if (wait > 0) {
      this.timer = setTimeout(() => { this.timer = undefined; this.pump() }, Math.min(MAX_TIMER_MS, Math.ceil(wait)))
      return
    }
    this.pump()
  }

  private pump (): void {
    while (this.waiters.length > 0 && this.nextSlot() <= this.now()) {
      const w = this.waiters.shift()!
      if (w.onAbort != null) w.signal?.removeEventListener('abort', w.onAbort)
      this.take()
      w.resolve()
    }
    if (this.waiters.length > 0) this.reschedule()
  }

  /** Holds every request, waiting or new, for `ms` from now (extends a pause, never shortens it). */
  pauseFor (ms: number): void {
    if (Number.isNaN(ms)) return
    const until = this.now() + ms
    if (until > this.pausedUntil) this.pausedUntil = until
    this.reschedule()
  }

  /** Holds every request for `ms` from now, replacing the previous hold (0 or less lifts it). */
  holdFor (ms: number): void {
    this.heldUntil = ms > 0 ? this.now() + ms : -Infinity
    this.reschedule()
  }

  /** Remaining pause or hold in ms (0 when neither). */
  pausedForMs (): number {
    return Math.max(0, Math.max(this.pausedUntil, this.heldUntil) - this.now())
  }

  /** Rejects every waiter (shutdown). */
  close (): void {
    if (this.timer != null) clearTimeout(this.timer)
    for (const w of this.waiters.splice(0)) {
      if (w.onAbort != null) w.signal?.removeEventListener('abort', w.onAbort)
      w.reject(new AbortedError('rate limiter closed'))
    }
  }
}

/** setTimeout as a promise that rejects with AbortedError when `signal` aborts. */
export function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) { reject(new AbortedError('aborted')); return }
    const onAbort = (): void => { clearTimeout(timer); reject(new AbortedError('aborted')) }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
