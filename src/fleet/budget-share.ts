/**
 * This node's share of each registry's fleet-wide rate budget.
 *
 * Each registry has ONE budget G (requests/s) for the whole fleet. Every node runs this rule on
 * its own view of the others' heartbeats (each heartbeat carries the sender's queued work per
 * registry, its "demand"); nobody coordinates. For registry r, at an update at time t:
 *
 * 1. Counted demanders n: this node if it has work queued for r, plus every other peer from which
 *    a heartbeat with work queued for r arrived within the last W = recentWindowMs (distinct ids).
 *    A peer that goes silent keeps being counted for W after its last such heartbeat, whether it
 *    crashed or sits on the other side of a partition, so nobody speeds up at once when a peer
 *    disappears. Two exceptions, both for peers known to have stopped sending to r: a peer that
 *    said goodbye (forget(), a clean stop after its crawl ended), and a peer still heard whose
 *    heartbeats have shown no work for r for longer than demandGapMs + 2 × silenceMs (its run for
 *    r has ended, so should work reappear it starts again from the floor and the join hold). (Counting distinct ids over the window is never less than "the largest count
 *    seen within the window", and unlike it stays correct when one peer vanishes while another
 *    appears.) A peer with no work for r is not counted: it holds no share of r.
 *
 * 2. This node is *established* for r once, at an update, it has had work for r for at least
 *    J = joinHoldMs, and every peer it has heard from within W has been heard continuously (no
 *    silence longer than S = silenceMs at any update) for at least J, and is not silent now —
 *    except peers silent for longer than presumedGoneAfterMs, taken for gone.
 *    Every such peer must also say, in its latest heartbeat, that it counts this node for r (its
 *    `counting` list, the peers it counts as demanders, with `countingMask`, the registries each
 *    is counted for): an acknowledgement that holds however late heartbeats arrive (slow or
 *    resetting links), where J alone assumes they arrive within a heartbeat. A heartbeat without
 *    the mask (an older node) counts the listed peers for every registry.
 *    J is the time for the others to count it: its heartbeat goes out (≤ 1 heartbeat), arrives
 *    (≤ 1 heartbeat), the others update (≤ 1 heartbeat), plus S + 1 heartbeat for heartbeats lost
 *    in a cut too short to be noticed as silence. A peer that was silent may have missed this
 *    node's demand, hence the continuity condition; it also covers a node that has just started
 *    and has heard nobody yet. Established lasts while the work lasts: a queue empty at updates
 *    for at most demandGapMs does not end it; a longer gap does, and the hold starts again.
 *
 *    When every peer heard within W acknowledges this node for r (each one's latest heartbeat
 *    carries a `counting` list that counts it for r; at least one peer heard), the hold is J_a = ackedHoldMs (3 heartbeats)
 *    instead of J, with the same continuity condition over J_a. The S + 1 heartbeat of J were for
 *    heartbeats lost unnoticed; an acknowledgement cannot be lost unnoticed: it is in the peer's
 *    latest heartbeat or it is not. What J_a still covers:
 *    - peers this node has not heard at all (no acknowledgement to ask for). Take X established
 *      through J_a and Y established (through J_a or J) without counting each other. If X heard
 *      Y, Y counts X (X's condition), so Y heard X, and X says whether it counts Y — Y is only
 *      established if X does. So neither has heard the other. Each node heartbeats from its first
 *      update (birth b), so X's reach Y by b_X + 2H and Y's reach X by b_Y + 2H: neither heard at
 *      e_X ≥ b_X + J_a and e_Y ≥ b_Y + J_a means e_X < b_Y + 2H and e_Y < b_X + 2H, which needs
 *      J_a < 2H. J_a = 3H rules it out.
 *    - a stale acknowledgement: a peer P that counted this node during an earlier run may have
 *      dropped it (step 1) just before the current run started, and its heartbeats saying so may
 *      not have arrived yet. P counts this node again once the run's first heartbeat with work
 *      has gone out (≤ 1 heartbeat), arrived (≤ 1) and P has updated (≤ 1): within 3 heartbeats of
 *      the run's start, which J_a waits for.
 *    A heartbeat is published as soon as a node's demand appears or the peers it counts change,
 *    and a peer's heartbeat is applied when it brings news (FleetBudget), so acknowledgements
 *    usually arrive within a round trip; the timings above are the worst case the rule allows.
 *
 * 3. rate(r) = G × safety / n                        when established,
 *    rate(r) = G × (1 − safety) / max(maxPeers, L)   otherwise (the floor),
 *    L = peers heard from within W, this node included.
 *
 * Why the sum of the rates of the nodes sending to r stays ≤ G: every established sender counts
 * every other established sender (by the time one is established, all have counted it, and they
 * remember it for W), so established senders take at most G × safety together; senders that are
 * not established take the floor, and a fleet of at most maxPeers nodes takes at most
 * G × (1 − safety) that way. A node with nothing queued sends nothing, whatever its rate; it
 * keeps the floor (never 0) so work that appears between two updates can start at once.
 *
 * Assumptions (test/fleet/budget-share-simulation.test.ts checks the bound step by step under them):
 * - every node calls update() at least once per heartbeat interval H (2000 ms by default) and
 *   publishes in its heartbeats the demand it passed to its latest update();
 * - a heartbeat reaches every connected peer within one heartbeat interval;
 * - the defaults below are derived from H = 2000 ms: S = 2H, J = 3H + S + H, J_a = 3H;
 *   budgetShareTimings(H) scales them;
 * - at most maxPeers nodes;
 * - partitions last at most min(W − 5H − demandGapMs, presumedGoneAfterMs − 4H) (16 s with the
 *   defaults), split nodes that had heard each other, and are apart by enough for the healed
 *   nodes to hear each other again (2H) before the next one. Partitions up to W − 5H − demandGapMs
 *   (76 s) keep the bound too: a node whose work for r *starts* during one (it took over the other
 *   side's addresses) is not established while a peer within W last said it does not count it for
 *   r, heard or not (a peer without the `countingMask` only vouches through J, so a fleet of
 *   older nodes lacks this guard). A partition longer than W looks like a
 *   departure to both sides: each divides G among its own nodes only, and together they may
 *   exceed it (the registry's 429s then pause them) until the partition heals (and J after).
 *   Likewise a node that starts cut off from part of the fleet knows nobody there: it cannot
 *   count them and they cannot count it until the cut heals.
 *
 * This departs from a simpler sketch ("a newcomer divides by count + 1"): with n established
 * nodes at G·s/n each, a newcomer at G·s/(n + 2) already exceeds G. Newcomers, and nodes whose
 * work for a registry just appeared, take only from the safety margin until everyone counts them.
 *
 * Back-offs: onRateLimited() records this node's own 429s, notePeerBackoff() the back-offs peers
 * report, per peer; pausedUntil() combines both, peerPausedUntil() the peers' alone — of the peers
 * given as live only: a peer's back-off ends with the peer (forget() drops it) — and ownBackoffs()
 * lists this node's own, to put in its heartbeat. Deadlines are wall-clock ms, so hosts' clock skew
 * shortens or lengthens a peer's back-off by that much; maxPeerBackoffMs caps what a peer can ask.
 *
 * Wiring: after each update() call limiter.setRate(rate) per registry, and hold it for what
 * peerPausedUntil() of the live peers has in the future (fleet-budget.ts). RateLimiter.setRate() rescales a slot planned at the old rate,
 * so a request sent at the floor (ARIN: 10 × 0.02 / 64 ≈ 0.003/s) does not hold the next one for
 * minutes once the rate rises.
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import type { Budgets } from '../registry/budget.js'
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from './interface.js'
import { BudgetShareError } from './errors.js'

export type Demand = Partial<Record<RegistryId, number>>

export interface PeerDemand {
  /** the peer's id (a libp2p peer id string) */
  id: string
  /** work the peer has queued per registry, from its latest heartbeat; missing or ≤ 0 = none */
  demand: Demand
  /** when (this node's clock, ms) the peer's latest heartbeat arrived */
  lastSeenMs: number
  /**
   * whether the peer's latest heartbeat says it counts this node among the demanders (its
   * `counting` list): true/false for every registry, or per registry (its `countingMask`);
   * undefined when the peer does not say (then only the hold J vouches for it)
   */
  countsMe?: boolean | Partial<Record<RegistryId, boolean>>
}

export interface BudgetShareOptions {
  /** the fleet's global budget per registry, requests per second, as given to every node */
  budgets: Budgets
  /** share of each budget established nodes divide among themselves; the rest is left to nodes starting up. 0 < safety < 1 (default 0.98) */
  safety: number
  /** a silent peer counts as demanding for this long after its last heartbeat with work queued (default 90000 = 45 heartbeats: what a crash costs, and the partitions ridden out) */
  recentWindowMs: number
  /** how long a node must have work, and hear every peer without silence, before taking a full share (default 12000 = 6 heartbeats of 2000 ms; see the header) */
  joinHoldMs: number
  /**
   * the hold when every peer heard within the window acknowledges this node for the registry
   * (default 6000 = 3 heartbeats: see the header; never longer than joinHoldMs)
   */
  ackedHoldMs: number
  /** a peer not heard from for longer than this at an update is silent: it may have missed our heartbeats (default 4000 = 2 heartbeats) */
  silenceMs: number
  /** a queue found empty at updates for at most this long keeps this node established (default 4000) */
  demandGapMs: number
  /**
   * a peer silent for longer than this is taken for gone: it no longer holds this node back from
   * taking a full share (it is still counted as demanding for recentWindowMs). A partition seen
   * from inside lasts up to 4 heartbeats longer than it is, so this bounds the partitions the
   * rule rides out to presumedGoneAfterMs − 4 heartbeats (default 24000: 16 s partitions)
   */
  presumedGoneAfterMs: number
  /** the most nodes the fleet may have; the floor rate is sized for this many starting at once (default 64) */
  maxPeers: number
  /** a back-off reported by a peer is honoured for at most this long from when we hear it (default 300000, LACNIC's ban period) */
  maxPeerBackoffMs: number
}

type Timings = Pick<BudgetShareOptions, 'recentWindowMs' | 'joinHoldMs' | 'ackedHoldMs' | 'silenceMs' | 'demandGapMs' | 'presumedGoneAfterMs'>

/**
 * The timings for heartbeats `heartbeatIntervalMs` (H) apart, as the header derives them:
 * W = 45H (90 s by default: what a crash costs, and the partitions ridden out), J = 6H, J_a = 3H,
 * S = 2H, the demand gap 2H, presumed gone after 12H.
 */
export function budgetShareTimings (heartbeatIntervalMs: number): Timings {
  const H = heartbeatIntervalMs
  return { recentWindowMs: 45 * H, joinHoldMs: 6 * H, ackedHoldMs: 3 * H, silenceMs: 2 * H, demandGapMs: 2 * H, presumedGoneAfterMs: 12 * H }
}

export const defaultBudgetShareOptions: Omit<BudgetShareOptions, 'budgets'> = {
  safety: 0.98,
  ...budgetShareTimings(DEFAULT_HEARTBEAT_INTERVAL_MS),
  maxPeers: 64,
  maxPeerBackoffMs: 300_000
}

export interface BudgetShareModules {
  /** clock in ms; wall-clock by default, since peers' back-off deadlines cross hosts */
  now?: () => number
}

/** How this node's rate for one registry was reached, for logs and status. */
export interface RegistryShare {
  ratePerSecond: number
  /** demanders counted (this node included if it has work) */
  demandingPeers: number
  /** peers heard from within the window, this node included */
  livePeers: number
  established: boolean
  /**
   * this node's current run for the registry (work now, or within the demand gap): none, still
   * in its hold, or established (kept through a gap, when `established` above is false)
   */
  run: 'none' | 'holding' | 'established'
  /** since when this node has had work for the registry (undefined: none) */
  demandSinceMs: number | undefined
}

interface PeerState {
  countsMe?: boolean | Partial<Record<RegistryId, boolean>>
  lastSeenMs: number
  /** start of the current stretch of hearing this peer without silence */
  heardSinceMs: number
  silent: boolean
}

interface SelfRun {
  /** first update of the current stretch of work for the registry */
  sinceMs: number
  /** latest update that found work */
  lastMs: number
  established: boolean
}

export class BudgetShare {
  readonly opts: BudgetShareOptions
  private readonly now: () => number
  private readonly peersSeen = new Map<string, PeerState>()
  /** registry → peer id → when its latest heartbeat with work for the registry arrived */
  private readonly demanding: Record<RegistryId, Map<string, number>>
  private readonly runs: Partial<Record<RegistryId, SelfRun>> = {}
  private readonly shares: Record<RegistryId, RegistryShare>
  private readonly ownBackoff: Partial<Record<RegistryId, number>> = {}
  /** peer id → registry → until when it asked the fleet to back off */
  private readonly peerBackoff = new Map<string, Partial<Record<RegistryId, number>>>()

  constructor (opts: Partial<BudgetShareOptions> & Pick<BudgetShareOptions, 'budgets'>, modules: BudgetShareModules = {}) {
    this.opts = { ...defaultBudgetShareOptions, ...opts }
    validate(this.opts)
    this.now = modules.now ?? Date.now
    this.demanding = Object.fromEntries(REGISTRY_IDS.map(id => [id, new Map()])) as Record<RegistryId, Map<string, number>>
    this.shares = Object.fromEntries(REGISTRY_IDS.map(id => [id, {
      ratePerSecond: this.floor(id, 1), demandingPeers: 0, livePeers: 1, established: false, run: 'none', demandSinceMs: undefined
    }])) as Record<RegistryId, RegistryShare>
  }

  /** Peers this node counts as demanders of some registry, for its heartbeat (`counting`). */
  countedPeers (): string[] {
    return this.counted().counting
  }

  /**
   * The same, with the registries each is counted for (`countingMask`: bit i for
   * REGISTRY_IDS[i]), for the heartbeat.
   */
  counted (): { counting: string[], countingMask: number[] } {
    const masks = new Map<string, number>()
    REGISTRY_IDS.forEach((id, i) => { for (const peer of this.demanding[id].keys()) masks.set(peer, (masks.get(peer) ?? 0) | (1 << i)) })
    const counting = [...masks.keys()].sort()
    return { counting, countingMask: counting.map(p => masks.get(p)!) }
  }

  /**
   * A peer said goodbye after it stopped sending requests (a clean stop): it no longer holds a
   * share of any registry and does not hold this node back from taking a full one.
   */
  forget (peerId: string): void {
    this.peersSeen.delete(peerId)
    this.peerBackoff.delete(peerId)
    for (const id of REGISTRY_IDS) this.demanding[id].delete(peerId)
  }

  private floor (registry: RegistryId, livePeers: number): number {
    return this.opts.budgets[registry] * (1 - this.opts.safety) / Math.max(this.opts.maxPeers, livePeers)
  }

  /**
   * Takes the others' latest heartbeats (`peers`, without this node) and this node's queued work,
   * and returns this node's rate per registry (requests/s, always > 0). Call it at least once per
   * heartbeat interval, and publish `selfDemand` in the next heartbeat.
   */
  update (peers: readonly PeerDemand[], selfDemand: Demand, nowMs: number = this.now()): Record<RegistryId, number> {
    const { recentWindowMs: windowMs, silenceMs, joinHoldMs, demandGapMs, presumedGoneAfterMs, safety, budgets } = this.opts
    const ackedHoldMs = Math.min(this.opts.ackedHoldMs, joinHoldMs)
    for (const p of peers) {
      const seen = Math.min(p.lastSeenMs, nowMs)
      if (!(nowMs - seen <= windowMs)) continue
      const st = this.peersSeen.get(p.id)
      if (st === undefined) this.peersSeen.set(p.id, { lastSeenMs: seen, heardSinceMs: seen, silent: false, countsMe: p.countsMe })
      else if (seen > st.lastSeenMs) {
        if (st.silent) { st.heardSinceMs = seen; st.silent = false }
        st.lastSeenMs = seen
        st.countsMe = p.countsMe
      }
      for (const id of REGISTRY_IDS) {
        if (!((p.demand[id] ?? 0) > 0)) continue
        const m = this.demanding[id]
        if ((m.get(p.id) ?? -Infinity) < seen) m.set(p.id, seen)
      }
    }
    // forget what is older than the window; note who is silent now. `heardFor` is the shortest
    // stretch over which a peer not presumed gone has been heard without silence (0: one is silent)
    let heardFor = Infinity
    const acknowledged = Object.fromEntries(REGISTRY_IDS.map(id => [id, true])) as Record<RegistryId, boolean>
    // every peer heard within W says that it counts this node for r (not merely: none says it does not)
    // (a node that has heard nobody yet has nobody to vouch for it: it holds the full J)
    const countedByAll = Object.fromEntries(REGISTRY_IDS.map(id => [id, this.peersSeen.size > 0])) as Record<RegistryId, boolean>
    for (const [id, st] of this.peersSeen) {
      if (nowMs - st.lastSeenMs > windowMs) { this.peersSeen.delete(id); if (this.peersSeen.size === 0) for (const r of REGISTRY_IDS) countedByAll[r] = false; continue }
      const silentFor = nowMs - st.lastSeenMs
      if (silentFor > silenceMs) st.silent = true
      // a peer presumed gone no longer has to be heard; but its last word must still have been
      // that it counts this node for r: one that went silent before this node's work for r began
      // (a crash, or the far side of a partition) never counted it, and may be sending at a share
      // that leaves no room for it
      for (const r of REGISTRY_IDS) {
        const says = typeof st.countsMe === 'object' ? st.countsMe[r] : st.countsMe
        if (says === false) acknowledged[r] = false
        if (says !== true) countedByAll[r] = false
      }
      if (silentFor > presumedGoneAfterMs) continue
      heardFor = Math.min(heardFor, st.silent ? 0 : nowMs - st.heardSinceMs)
    }
    for (const id of REGISTRY_IDS) {
      for (const [peer, at] of this.demanding[id]) {
        const heard = this.peersSeen.get(peer)?.lastSeenMs ?? -Infinity
        // silent for W, or heard lately with no work long enough that its run for r has ended
        if (nowMs - at > windowMs || heard - at > demandGapMs + 2 * silenceMs) this.demanding[id].delete(peer)
      }
    }
    const livePeers = this.peersSeen.size + 1
    const out = {} as Record<RegistryId, number>
    for (const id of REGISTRY_IDS) {
      const has = (selfDemand[id] ?? 0) > 0
      let run = this.runs[id]
      if (has) {
        if (run === undefined || nowMs - run.lastMs > demandGapMs) run = this.runs[id] = { sinceMs: nowMs, lastMs: nowMs, established: false }
        run.lastMs = nowMs
        const hold = countedByAll[id] ? ackedHoldMs : joinHoldMs
        if (!run.established && nowMs - run.sinceMs >= hold && heardFor >= hold && acknowledged[id]) run.established = true
      } else if (run !== undefined && nowMs - run.lastMs > demandGapMs) {
        run = undefined
        delete this.runs[id]
      }
      const demandingPeers = this.demanding[id].size + (has ? 1 : 0)
      const established = has && run?.established === true
      const rate = established ? budgets[id] * safety / demandingPeers : this.floor(id, livePeers)
      this.shares[id] = { ratePerSecond: rate, demandingPeers, livePeers, established, run: run === undefined ? 'none' : run.established ? 'established' : 'holding', demandSinceMs: has ? run?.sinceMs : undefined }
      out[id] = rate
    }
    return out
  }

  /** The rates of the latest update (the floor before the first). */
  rates (): Record<RegistryId, number> {
    return Object.fromEntries(REGISTRY_IDS.map(id => [id, this.shares[id].ratePerSecond])) as Record<RegistryId, number>
  }

  /** How the latest update reached its rate for `registry`. */
  share (registry: RegistryId): RegistryShare {
    return { ...this.shares[registry] }
  }

  /** Records a rate-limit answer from `registry` to this node: hold requests for `retryAfterMs`. */
  onRateLimited (registry: RegistryId, retryAfterMs: number, nowMs: number = this.now()): void {
    if (!(retryAfterMs > 0)) return
    const until = nowMs + retryAfterMs
    if (until > (this.ownBackoff[registry] ?? -Infinity)) this.ownBackoff[registry] = until
  }

  /**
   * Records a back-off peer `peerId` reported for `registry` (its deadline, ms on the wall clock),
   * honoured for at most maxPeerBackoffMs from now, and only while that peer is given as live.
   */
  notePeerBackoff (peerId: string, registry: RegistryId, untilMs: number, nowMs: number = this.now()): void {
    if (!Number.isFinite(untilMs)) return
    const until = Math.min(untilMs, nowMs + this.opts.maxPeerBackoffMs)
    const own = this.peerBackoff.get(peerId) ?? {}
    if (until > (own[registry] ?? -Infinity)) own[registry] = until
    this.peerBackoff.set(peerId, own)
  }

  /** Until when (ms, this clock) no request should go to `registry`: the later of our own and the (live) peers' back-offs. At or before now: not paused. */
  pausedUntil (registry: RegistryId, live?: ReadonlySet<string>): number {
    return Math.max(this.ownBackoff[registry] ?? 0, this.peerPausedUntil(registry, live))
  }

  /** The latest back-off for `registry` of the peers in `live` (all peers heard when not given); 0 when none. */
  peerPausedUntil (registry: RegistryId, live?: ReadonlySet<string>): number {
    const now = this.now()
    let until = 0
    for (const [peerId, b] of this.peerBackoff) {
      // over for every registry: forgotten (peer ids are cheap to mint; what they ask must not pile up)
      if (REGISTRY_IDS.every(id => (b[id] ?? 0) <= now)) { this.peerBackoff.delete(peerId); continue }
      if (live !== undefined && !live.has(peerId)) continue
      until = Math.max(until, b[registry] ?? 0)
    }
    return until
  }

  /** This node's own back-offs still running, to report in its heartbeat. */
  ownBackoffs (nowMs: number = this.now()): Partial<Record<RegistryId, number>> {
    const out: Partial<Record<RegistryId, number>> = {}
    for (const id of REGISTRY_IDS) {
      const until = this.ownBackoff[id]
      if (until !== undefined && until > nowMs) out[id] = until
    }
    return out
  }
}

function validate (o: BudgetShareOptions): void {
  for (const id of REGISTRY_IDS) {
    const b = o.budgets?.[id]
    if (typeof b !== 'number' || !(b > 0) || !Number.isFinite(b)) throw new BudgetShareError(`budgets.${id} must be a positive number of requests per second, got ${String(b)}`)
  }
  if (!(o.safety > 0 && o.safety < 1)) throw new BudgetShareError(`safety must be between 0 and 1 (exclusive), got ${o.safety}`)
  for (const k of ['recentWindowMs', 'joinHoldMs', 'silenceMs', 'demandGapMs', 'presumedGoneAfterMs', 'maxPeerBackoffMs'] as const) {
    if (!(o[k] >= 0) || !Number.isFinite(o[k])) throw new BudgetShareError(`${k} must be a non-negative number of milliseconds, got ${o[k]}`)
  }
  if (!(o.ackedHoldMs >= 0) || !Number.isFinite(o.ackedHoldMs)) throw new BudgetShareError(`ackedHoldMs must be a non-negative number of milliseconds, got ${o.ackedHoldMs}`)
  if (!(o.joinHoldMs < o.recentWindowMs)) throw new BudgetShareError(`joinHoldMs (${o.joinHoldMs}) must be shorter than recentWindowMs (${o.recentWindowMs})`)
  if (!Number.isInteger(o.maxPeers) || o.maxPeers < 1) throw new BudgetShareError(`maxPeers must be a positive integer, got ${o.maxPeers}`)
}
