/**
 * A crawling node serves with what its event loop has to spare: before each lookup (a WHOIS
 * query, a bulk batch, an RDAP query) the services wait while the loop was busier than
 * `maxBusy` of the time over the last `windowMs` (Node's event-loop utilization, which counts the
 * crawl's work and the services' alike). The crawl never waits, so it keeps the share of the loop
 * it needs and its answers are not queued behind the services'; the services take the rest. A
 * lookup waits at most `maxWaitMs`, so that a client is answered, slowly, even when the crawl
 * keeps the loop busy. `whoismesh serve` (nothing else to do) serves without one.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks'

export interface ServePaceOptions {
  /** the event loop's busy share above which lookups wait @default 0.6 */
  maxBusy: number
  /** over how long the busy share is measured, ms @default 100 */
  windowMs: number
  /** the longest a lookup waits, ms @default 1000 */
  maxWaitMs: number
}

export const SERVE_PACE_DEFAULTS: ServePaceOptions = { maxBusy: 0.6, windowMs: 100, maxWaitMs: 1000 }

export class ServePace {
  private readonly o: ServePaceOptions
  private mark: EventLoopUtilization = performance.eventLoopUtilization()
  private markedAt = performance.now()
  private busy = 0
  /** lookups that waited, and for how long in all (ms) */
  waits = 0
  waitedMs = 0

  constructor (opts: Partial<ServePaceOptions> = {}) {
    this.o = { ...SERVE_PACE_DEFAULTS, ...opts }
  }

  /** Resolves when a lookup may go: at once while the loop has time to spare. */
  async turn (): Promise<void> {
    const t0 = performance.now()
    let waited = false
    while (this.measure() > this.o.maxBusy && performance.now() - t0 < this.o.maxWaitMs) {
      waited = true
      await new Promise(resolve => setTimeout(resolve, this.o.windowMs / 4))
    }
    if (waited) {
      this.waits++
      this.waitedMs += performance.now() - t0
    }
  }

  /** the busy share over the last window (measured again once a window has passed) */
  private measure (): number {
    const now = performance.now()
    if (now - this.markedAt >= this.o.windowMs) {
      const next = performance.eventLoopUtilization()
      this.busy = performance.eventLoopUtilization(next, this.mark).utilization
      this.mark = next
      this.markedAt = now
    }
    return this.busy
  }
}

/** A crawling node's pace for `--serve-share` (ServePaceOptions.maxBusy; the default when undefined); none at 1 or more. */
export function paceFor (share?: number): ServePace | undefined {
  if (share !== undefined && share >= 1) return undefined
  return new ServePace(share === undefined ? {} : { maxBusy: share })
}
