/**
 * Which live peers count as crawlers, i.e. own a share of the sample (ownership.ts): those whose
 * work shows. A heartbeat is a claim — a key holder can send a full crawler's heartbeats and never
 * crawl, and the blocks it owns would stay unasked for as long as it keeps sending them. So a peer
 * keeps its share only while, within the last `stallMs`, a record it authored arrived here (gossip
 * or sync: NetworkRecord.author) or this node saw it own no open sample address. A peer that owns
 * open addresses and shows neither loses its share to the others (they take its blocks as if it
 * had left); its next record brings it back. A newly seen peer has `stallMs` to show work (it
 * settles and catches up first).
 *
 * The judgement is each node's own, from its own replica; the replicas receive the same records at
 * about the same time, so the nodes move a stalled peer's blocks at about the same moment. An
 * honest node can stall too (a registry that does not answer for longer than `stallMs`): its
 * blocks are then asked by the others too, which costs duplicate lookups until its next record,
 * not coverage. Budget shares are not taken away (fleet-budget.ts): a node that sends requests
 * without getting answers still spends the registry's budget.
 */
export interface ProgressWatchOptions {
  /**
   * how long a peer that owns open sample addresses may go without a record of its own arriving
   * before its share goes to the others, ms
   * @default 120_000
   */
  stallMs: number
}

export const defaultProgressWatchOptions: ProgressWatchOptions = {
  stallMs: 120_000
}

export interface ProgressWatchModules {
  /**
   * the open sample addresses each peer owns under the current ownership, by peer id (absent:
   * none); undefined while this node cannot tell (its crawl has not counted the sample yet)
   */
  openByOwner: () => ReadonlyMap<string, number> | undefined
  now?: () => number
}

export class ProgressWatch {
  private readonly lastProgress = new Map<string, number>()
  private readonly stalled = new Set<string>()
  private readonly now: () => number

  constructor (private readonly opts: ProgressWatchOptions, private readonly modules: ProgressWatchModules) {
    if (!(opts.stallMs > 0)) throw new RangeError(`stallMs must be positive, got ${opts.stallMs}`)
    this.now = modules.now ?? Date.now
  }

  /** Records these peers authored arrived (the stalled among them are crawlers again at the next check). */
  onAuthored (authors: Iterable<string | undefined>): void {
    const now = this.now()
    for (const a of authors) if (a !== undefined && this.lastProgress.has(a)) this.lastProgress.set(a, now)
  }

  /** The peers whose share of the sample went to the others (none while their work shows). */
  get stalledPeers (): ReadonlySet<string> {
    return this.stalled
  }

  /** `live` (live full peers) without the stalled ones; `self` always stays. */
  crawlers (live: readonly string[], self: string): string[] {
    return live.filter(id => id === self || !this.stalled.has(id))
  }

  /**
   * Judges every live peer again: returns the peers that stalled and those that showed work again
   * since the last check (both empty: the crawlers are unchanged).
   */
  check (live: readonly string[], self: string): { stalled: string[], resumed: string[] } {
    const now = this.now()
    const open = this.modules.openByOwner()
    const out = { stalled: [] as string[], resumed: [] as string[] }
    const liveSet = new Set(live)
    for (const id of [...this.lastProgress.keys()]) {
      if (liveSet.has(id)) continue
      // gone: it owns nothing anyway; seen again, it starts afresh
      this.lastProgress.delete(id)
      this.stalled.delete(id)
    }
    for (const id of live) {
      if (id === self) continue
      const last = this.lastProgress.get(id)
      // newly seen (its grace starts), not judgeable yet, or a crawler with nothing open: no stall
      // (a stalled peer owns nothing: only a record of its own brings it back)
      if (last === undefined || open === undefined || (!this.stalled.has(id) && (open.get(id) ?? 0) === 0)) {
        this.lastProgress.set(id, now)
        continue
      }
      const stalledNow = now - last > this.opts.stallMs
      if (stalledNow && !this.stalled.has(id)) { this.stalled.add(id); out.stalled.push(id) }
      if (!stalledNow && this.stalled.has(id)) { this.stalled.delete(id); out.resumed.push(id) }
    }
    return out
  }
}
