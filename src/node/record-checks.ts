/**
 * A node's records and its peers' against its delegation files (mesh/plausibility.ts): what its
 * crawl may publish whole, what it says of its peers' records it drops, and of its own answers
 * its peers will drop.
 */
import type { DelegationTable } from '../registry/delegations.js'
import type { NetworkRecord } from '../record/index.js'
import { checkNetworkRecord } from '../mesh/validation.js'
import { DelegationPlausibility, type Implausible } from '../mesh/plausibility.js'
import type { MeshMetrics } from '../metrics/index.js'
import type { Logger } from '../util/logger.js'

export class RecordChecks {
  /** the checks, once the node has delegation files (undefined without: nothing is checked) */
  plausibility: DelegationPlausibility | undefined
  /** warnIfImplausible says it at most once a minute, with how many since the last time */
  private ownSaidAt = -Infinity
  private ownSince = 0

  constructor (private readonly modules: { logger: Logger, metrics: Pick<MeshMetrics, 'implausibleRecordsTotal'> }) {}

  setTable (table: DelegationTable | undefined): void {
    this.plausibility = table === undefined ? undefined : new DelegationPlausibility(table)
  }

  /**
   * Whether peers take `r` as this node would send it: it passes their validation and, by this
   * node's delegation files, their plausibility checks whole (a listing they would strip is not
   * made: crawl/listing.ts then notes the addresses instead).
   */
  shareable (r: NetworkRecord): boolean {
    const p = this.judge(r)
    return p === undefined || (p !== 'invalid' && 'network' in p && p.unlisted === undefined)
  }

  /** `r` as its peers' validation and plausibility checks take it: 'invalid', or their verdict (undefined: no files) */
  private judge (r: NetworkRecord): ReturnType<DelegationPlausibility['network']> | 'invalid' | undefined {
    const v = checkNetworkRecord(r)
    return v.result !== 'accept' ? 'invalid' : this.plausibility?.network(v.value)
  }

  /**
   * Registry answers of this node's that its own delegation files contradict: its peers, holding
   * the same files, drop them, so the replicas will differ there. Said, so the operator can look
   * (the files are stale, or the registry answers across its delegations).
   */
  warnIfImplausible (networks: readonly NetworkRecord[]): void {
    if (this.plausibility === undefined) return
    for (const r of networks) {
      const p = this.judge(r)
      if (p === undefined || p === 'invalid' || !('dropped' in p)) continue
      this.ownSince++
      if (performance.now() - this.ownSaidAt < 60_000) continue
      this.modules.logger.warn('a registry answer disagrees with the delegation files: peers with the same files drop it', { reason: p.dropped.reason, detail: p.dropped.detail, answers: this.ownSince })
      this.ownSaidAt = performance.now()
      this.ownSince = 0
    }
  }

  /** Records from a peer that the delegation files say no registry gave: counted and logged. */
  onImplausible (records: Implausible[], from: string): void {
    const reasons: Record<string, number> = {}
    for (const r of records) {
      reasons[r.reason] = (reasons[r.reason] ?? 0) + 1
      this.modules.metrics.implausibleRecordsTotal.inc({ reason: r.reason })
    }
    const authors = [...new Set(records.map(r => r.author ?? 'unknown'))]
    this.modules.logger.warn('dropped records from a peer that disagree with the delegation files', { from, records: records.length, reasons, authors: authors.slice(0, 5), example: records[0].detail })
  }
}
