/**
 * The records a sync peer sends (session.ts): each frame's tuples turned back into records,
 * validated as gossip is (mesh/validation.ts: one bad record fails the session), then committed in
 * the background, at most `maxPendingCommits` at once, in the order received.
 *
 * Listed networks (NetworkRecord.listedSample) are held back and committed when the session ends
 * (`drain`): a listing vouches for its children, which the peer sends later, in address order;
 * committed first, it would answer the addresses inside those children with the container until
 * they arrive, and a crawl running meanwhile would take that answer or ask again.
 */
import type { CanonicalNegative, CanonicalNetwork, NetworkRecord, NegativeRecord } from '../../record/index.js'
import type { NetworkStore } from '../../store/index.js'
import type { Logger } from '../../util/logger.js'
import { validateRecords } from '../validation.js'
import { SyncProtocolError } from './errors.js'
import type { SyncModules, SyncReport } from './interface.js'
import { tupleToNegative, tupleToNetwork } from './protocol.js'

export interface ReceivedRecordsModules {
  store: NetworkStore
  maxPendingCommits: number
  /** networks per commit of the held-back listed ones (a frame's worth: maxRecordsPerFrame) */
  commitBatch: number
  metrics: SyncModules['metrics']
  onAccepted: SyncModules['onAccepted']
  plausible: SyncModules['plausible']
  onImplausible: SyncModules['onImplausible']
  log: Logger
}

export class ReceivedRecords {
  private readonly commits = new Set<Promise<void>>()
  private commitError: unknown
  private held: CanonicalNetwork[] = []

  /** @param report the session's report: received and accepted counts are added to it */
  constructor (private readonly report: SyncReport, private readonly m: ReceivedRecordsModules) {}

  /** Validates one frame's records and commits them (listed networks: at `drain`). */
  async receive (nTuples: unknown[], xTuples: unknown[]): Promise<void> {
    const networks: Array<Record<string, unknown>> = []
    for (const t of nTuples) {
      const r = tupleToNetwork(t)
      if (r === undefined) throw new SyncProtocolError('invalid-records', 'a network is not an array of 16 or 18 fields')
      networks.push(r)
    }
    const negatives: Array<Record<string, unknown>> = []
    for (const t of xTuples) {
      const r = tupleToNegative(t)
      if (r === undefined) throw new SyncProtocolError('invalid-records', 'a negative is not a 5-field array')
      negatives.push(r)
    }
    const v = validateRecords(networks, negatives, Date.now(), undefined, this.m.plausible?.())
    if (v.result !== 'accept') throw new SyncProtocolError('invalid-records', `invalid records (${v.reason}): ${v.detail}`)
    if (v.value.implausible.length > 0) this.m.onImplausible?.(v.value.implausible, this.report.peer)
    this.report.networksReceived += v.value.networks.length
    this.report.negativesReceived += v.value.negatives.length
    this.m.metrics?.syncRecordsReceivedTotal.inc(v.value.networks.length + v.value.negatives.length)
    const unlisted = v.value.networks.filter(n => n.listedSample === undefined)
    if (unlisted.length < v.value.networks.length) this.held.push(...v.value.networks.filter(n => n.listedSample !== undefined))
    await this.commit(unlisted, v.value.negatives)
  }

  /**
   * Commits the listed networks held back, after everything else, and waits for every commit. In
   * batches of a frame's size: one commit of them all (105,976 on the full sample's index) built
   * one LevelDB batch and one IndexedEvent of that size, and the joiner's heap kept the ~300 MB it
   * grew to (docs/scaling.md).
   */
  async drain (): Promise<void> {
    await this.settled()
    const held = this.held.splice(0)
    for (let i = 0; i < held.length; i += this.m.commitBatch) await this.commit(held.slice(i, i + this.m.commitBatch), [])
    await this.settled()
  }

  /** Waits for the commits under way, failed or not (the session failed: the store must be quiescent). */
  async settle (): Promise<void> {
    await Promise.allSettled([...this.commits])
  }

  /** Throws the error of a commit that failed (the session cannot go on). */
  throwIfFailed (): void {
    if (this.commitError !== undefined) throw this.commitError
  }

  private async settled (): Promise<void> {
    while (this.commits.size > 0) await Promise.all([...this.commits])
    this.throwIfFailed()
  }

  private async commit (networks: Array<CanonicalNetwork | NetworkRecord>, negatives: Array<CanonicalNegative | NegativeRecord>): Promise<void> {
    while (this.commits.size >= this.m.maxPendingCommits) await Promise.race(this.commits)
    this.throwIfFailed()
    const p: Promise<void> = this.m.store.commit({ networks, negatives }).then(res => {
      this.report.networksAccepted += res.accepted.networks.length
      this.report.negativesAccepted += res.accepted.negatives.length
      if (res.accepted.networks.length + res.accepted.negatives.length > 0 && this.m.onAccepted !== undefined) {
        try {
          this.m.onAccepted(res.accepted)
        } catch (err) {
          this.m.log.warn('sync onAccepted callback failed', { error: (err as Error).message })
        }
      }
    }, err => { this.commitError ??= err }).finally(() => { this.commits.delete(p) })
    this.commits.add(p)
  }
}
