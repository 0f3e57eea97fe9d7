/**
 * Publishing: batches the records this node found into nets messages (flushed every
 * `flushIntervalMs`, or at once when `maxBatchRecords` are queued; split below `maxBatchBytes`) and
 * publishes heartbeats. Records are canonical by the time they are queued, so a message is
 * spliced from their remembered encodings (messages.ts) rather than encoded again.
 */
import { canonicalNegative, canonicalNetwork, type CanonicalNegative, type CanonicalNetwork, type NegativeRecord, type NetworkRecord } from '../record/index.js'
import type { Logger } from '../util/logger.js'
import type { MeshCounts, MeshOptions } from './interface.js'
import { encodeMessage, encodeNetsMessage, type Heartbeat } from './messages.js'
import { currentTopic } from './topics.js'

export type PublisherOptions = Pick<MeshOptions, 'flushIntervalMs' | 'maxBatchRecords' | 'maxBatchBytes'>

export interface PublisherModules {
  /** publishes on a gossip topic (the libp2p node's pubsub) */
  publish: (topic: string, data: Uint8Array) => Promise<unknown>
  logger: Logger
  /** the mesh's counters (published, publishedRecords) */
  counts: MeshCounts
}

const NETS = currentTopic('nets')
const METRICS = currentTopic('metrics')

export class Publisher {
  private pendingNetworks: CanonicalNetwork[] = []
  private pendingNegatives: CanonicalNegative[] = []
  private flushTimer: ReturnType<typeof setTimeout> | undefined
  private stopped = false

  constructor (private readonly opts: PublisherOptions, private readonly modules: PublisherModules) {}

  /** Queues records for the next nets batch (canonicalised here unless they already are). */
  publishRecords (networks: readonly NetworkRecord[], negatives: readonly NegativeRecord[] = []): void {
    if (this.stopped) return
    for (const r of networks) this.pendingNetworks.push(canonicalNetwork(r))
    for (const r of negatives) this.pendingNegatives.push(canonicalNegative(r))
    if (this.pendingNetworks.length + this.pendingNegatives.length >= this.opts.maxBatchRecords) { void this.flush(); return }
    this.flushTimer ??= setTimeout(() => { void this.flush() }, this.opts.flushIntervalMs)
  }

  /** Publishes what is queued, in messages under the size caps. */
  async flush (): Promise<void> {
    if (this.flushTimer != null) { clearTimeout(this.flushTimer); this.flushTimer = undefined }
    const { counts, logger } = this.modules
    while (this.pendingNetworks.length + this.pendingNegatives.length > 0) {
      let n = Math.min(this.opts.maxBatchRecords, this.pendingNetworks.length + this.pendingNegatives.length)
      let data: Uint8Array
      let nets: CanonicalNetwork[]
      let negs: CanonicalNegative[]
      for (;;) {
        nets = this.pendingNetworks.slice(0, n)
        negs = this.pendingNegatives.slice(0, Math.max(0, n - nets.length))
        data = encodeNetsMessage(nets, negs)
        if (data.byteLength <= this.opts.maxBatchBytes || n === 1) break
        n = Math.ceil(n / 2)
      }
      this.pendingNetworks.splice(0, nets.length)
      this.pendingNegatives.splice(0, negs.length)
      try {
        await this.modules.publish(NETS, data)
        counts.published++
        counts.publishedRecords += nets.length + negs.length
      } catch (err: any) {
        logger.warn('publishing records failed; peers will get them by sync', { records: nets.length + negs.length, error: String(err?.message ?? err) })
      }
    }
  }

  /** Publishes a heartbeat; a failure (nobody subscribed yet) is only logged at debug. */
  async publishHeartbeat (hb: Heartbeat): Promise<void> {
    try {
      await this.modules.publish(METRICS, encodeMessage(hb))
    } catch (err: any) {
      this.modules.logger.debug('heartbeat not published', { error: String(err?.message ?? err) })
    }
  }

  /** Drops the flush timer; records queued after this are not published. */
  stop (): void {
    this.stopped = true
    if (this.flushTimer != null) { clearTimeout(this.flushTimer); this.flushTimer = undefined }
  }
}
