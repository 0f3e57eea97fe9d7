/**
 * The crawl's one way to the store. Everything the crawl writes is stamped with this node as its
 * author (its own registry answers and listings, also where it rewrites a stored record: a listing
 * marks a container another node found, and the listing is this node's claim). A write the store
 * refuses (disk full, I/O error, corruption) stops the crawl: `fatal` holds the error, `onFatal`
 * aborts the lookups in flight, and every later write is skipped; what was committed before stays,
 * and the address of the failed write is still unresolved and is asked again next run.
 */
import type { NegativeRecord, NetworkRecord } from '../record/index.js'
import type { Logger } from '../util/logger.js'
import type { CommitResult } from '../store/interface.js'
import type { AcceptedRecords, CrawlStore } from './interface.js'

type Batch = Parameters<CrawlStore['commit']>[0]
type Committed = Awaited<ReturnType<CrawlStore['commit']>>

export class CrawlWriter {
  /** the error of the write the store refused; the crawl stops and run() throws it */
  fatal: Error | undefined
  /** called once, at the first refused write (set by run) */
  onFatal: (() => void) | undefined

  /** writes started outside a lookup (crawl/contradiction.ts giveUpContested), awaited before a run ends */
  private readonly writes = new Set<Promise<unknown>>()

  constructor (private readonly store: Pick<CrawlStore, 'commit'>, private readonly author: string | undefined, private readonly logger: Logger) {}

  /** Keeps `write` until it settles (idle() waits for it); it never rejects the caller. */
  track (write: Promise<unknown>): void {
    const kept = write.catch(() => {}).finally(() => this.writes.delete(kept))
    this.writes.add(kept)
  }

  /** Resolves once every tracked write has settled: a run ends after the writes its work started. */
  async idle (): Promise<void> {
    await Promise.all([...this.writes])
  }

  /** Writes `batch` as this node's; undefined when the store refused it, or an earlier write. */
  async commit (batch: Batch): Promise<Committed | undefined> {
    if (this.fatal != null) return undefined
    try {
      return await this.store.commit(authored(batch, this.author))
    } catch (err: any) {
      if (this.fatal == null) {
        this.fatal = err instanceof Error ? err : new Error(String(err))
        this.logger.error('the store refused a write; stopping the crawl', { error: String(err?.message ?? err) })
        this.onFatal?.()
      }
      return undefined
    }
  }
}

/** The batch with `author` as the author of every record in it. */
function authored<T extends { networks?: NetworkRecord[], negatives?: NegativeRecord[] }> (batch: T, author: string | undefined): T {
  if (author === undefined) return batch
  return {
    ...batch,
    networks: batch.networks?.map(r => r.author === author ? r : { ...r, author }),
    negatives: batch.negatives?.map(r => r.author === author ? r : { ...r, author })
  }
}

/**
 * What a commit of this node's answers gives its peers: the records it wrote, and its answers that
 * lost to a stored copy saying otherwise (store Contested), so the peers see the dispute
 * (crawl/contradiction.ts giveUpContested) instead of waiting for an answer this node cannot store.
 */
export function toPublish (committed: Pick<CommitResult, 'accepted' | 'contested'>): AcceptedRecords {
  if (committed.contested.every(c => c.replaced === true)) return committed.accepted
  const networks = [...committed.accepted.networks]
  const negatives = [...committed.accepted.negatives]
  for (const c of committed.contested) {
    // a stored record this commit replaced is another peer's, published by it already
    if (c.replaced === true) continue
    if (c.kind === 'network') networks.push(c.record)
    else negatives.push(c.record)
  }
  return { networks, negatives }
}
