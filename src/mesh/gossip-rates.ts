/**
 * Per-sender gossip rates. A valid message costs little to check, so nothing stopped a key holder
 * from sending thousands a second (2,000 valid messages were accepted and relayed at no cost to
 * it). Each signed sender gets a token bucket per topic: `perSecond` messages a second, up to
 * `burst` at once. An honest node stays far below both: it publishes its records in batches at
 * most every flush interval (250 ms) or per 2,000 records, and a heartbeat per interval plus at
 * most three announcements. Over the rate, a message is refused (validation.ts 'over-rate'):
 * rejected when its sender sent it itself (gossipsub lowers that peer's score), ignored when an
 * honest peer relays it (that peer judged it against its own bucket a moment earlier).
 *
 * Buckets of senders not heard for `forgetAfterMs` are dropped, so the table holds the senders of
 * the last minutes. Only key holders reach it, but a key holder can mint peer ids: the rate bounds
 * what one identity sends, and gossipsub's score of the connection they arrive on (a reject costs
 * the peer that sent it) bounds a key holder that floods under many names.
 */
export type GossipKind = 'nets' | 'metrics'

export interface GossipRatesOptions {
  perSecond: Record<GossipKind, number>
  burst: Record<GossipKind, number>
  /** @default 600_000 */
  forgetAfterMs: number
}

export const defaultGossipRatesOptions: GossipRatesOptions = {
  perSecond: { nets: 20, metrics: 5 },
  burst: { nets: 200, metrics: 20 },
  forgetAfterMs: 600_000
}

interface Bucket { tokens: number, at: number }

export class GossipRates {
  private readonly buckets = new Map<string, Bucket>()
  private lastSweep: number

  constructor (private readonly opts: GossipRatesOptions = defaultGossipRatesOptions, private readonly now: () => number = () => performance.now()) {
    this.lastSweep = now()
  }

  /** Takes a token for a message of `kind` from `sender`; false when the sender is over its rate. */
  take (kind: GossipKind, sender: string): boolean {
    const now = this.now()
    if (now - this.lastSweep > this.opts.forgetAfterMs) this.sweep(now)
    const key = `${kind} ${sender}`
    const burst = this.opts.burst[kind]
    const b = this.buckets.get(key) ?? { tokens: burst, at: now }
    b.tokens = Math.min(burst, b.tokens + (now - b.at) / 1000 * this.opts.perSecond[kind])
    b.at = now
    this.buckets.set(key, b)
    if (b.tokens < 1) return false
    b.tokens--
    return true
  }

  /** senders (per topic) with a bucket */
  get size (): number { return this.buckets.size }

  private sweep (now: number): void {
    this.lastSweep = now
    for (const [k, b] of this.buckets) if (now - b.at > this.opts.forgetAfterMs) this.buckets.delete(k)
  }
}
