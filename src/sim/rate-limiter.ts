/**
 * A registry's query budget, the way registries enforce it: ONE token bucket for all clients and
 * both protocols (refilled at `budgetPerSecond`, about one second deep), plus bans for clients
 * that keep querying over budget. A banned client is refused everything until the ban ends;
 * refused queries take no token.
 */

export interface RegistryGateOptions {
  budgetPerSecond: number
  burstSeconds: number
  banAfterOverBudget: number
  banWindowMs: number
  banMs: number
}

export type Admission =
  | { kind: 'ok' }
  /** over budget: retry after this many whole seconds (≥ 1) */
  | { kind: 'rate-limited', retryAfterSeconds: number }
  /** banned (`started`: by this very query) until retryAfterSeconds from now */
  | { kind: 'banned', retryAfterSeconds: number, started: boolean }

interface ClientState {
  /** times (ms) of recent over-budget queries, oldest first */
  overBudget: number[]
  bannedUntil: number
}

/** Clients remembered at most; beyond it, those not banned are forgotten (abuse from many addresses). */
const MAX_CLIENTS = 10_000

export class RegistryGate {
  private tokens: number
  private last: number
  private readonly capacity: number
  private readonly clients = new Map<string, ClientState>()
  bansStarted = 0

  constructor (private readonly opts: RegistryGateOptions, private readonly now: () => number = () => performance.now()) {
    this.capacity = Math.max(1, opts.budgetPerSecond * opts.burstSeconds)
    this.tokens = this.capacity
    this.last = now()
  }

  /** Decides one query from `client` (its remote address). */
  admit (client: string): Admission {
    const now = this.now()
    const state = this.clients.get(client)
    if (state !== undefined && state.bannedUntil > now) {
      return { kind: 'banned', retryAfterSeconds: Math.max(1, Math.ceil((state.bannedUntil - now) / 1000)), started: false }
    }
    this.refill(now)
    if (this.tokens >= 1) {
      this.tokens -= 1
      return { kind: 'ok' }
    }
    const s = state ?? this.remember(client)
    const { banWindowMs, banAfterOverBudget, banMs } = this.opts
    s.overBudget.push(now)
    while (s.overBudget.length > 0 && s.overBudget[0] <= now - banWindowMs) s.overBudget.shift()
    if (s.overBudget.length > banAfterOverBudget) {
      s.overBudget = []
      s.bannedUntil = now + banMs
      this.bansStarted++
      return { kind: 'banned', retryAfterSeconds: Math.max(1, Math.ceil(banMs / 1000)), started: true }
    }
    const waitMs = (1 - this.tokens) / this.opts.budgetPerSecond * 1000
    return { kind: 'rate-limited', retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) }
  }

  /** Clients banned right now. */
  bannedCount (): number {
    const now = this.now()
    let n = 0
    for (const s of this.clients.values()) if (s.bannedUntil > now) n++
    return n
  }

  /** Full bucket, no bans, no history. */
  reset (): void {
    this.clients.clear()
    this.tokens = this.capacity
    this.last = this.now()
  }

  private refill (now: number): void {
    const elapsed = now - this.last
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + elapsed / 1000 * this.opts.budgetPerSecond)
      this.last = now
    }
  }

  private remember (client: string): ClientState {
    if (this.clients.size >= MAX_CLIENTS) {
      const now = this.now()
      for (const [k, s] of this.clients) if (s.bannedUntil <= now) this.clients.delete(k)
    }
    const s: ClientState = { overBudget: [], bannedUntil: 0 }
    this.clients.set(client, s)
    return s
  }
}
