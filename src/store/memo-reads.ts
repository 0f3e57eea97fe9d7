/**
 * The store's reads for an AnswerMemo (answer-memo.ts): a bulk service's answers from memory.
 * `answersOf` gives each address its answer network's entry — the network `lookup` answers with
 * (StoreReads.answerRange: the most specific crawled network, or an imported dump's row when it is
 * smaller), read from disk only when the memo does not hold it at its current version;
 * `warmAnswers` makes every stored network's entry by one scan. Both read the store through a
 * MemoView (StoreReads.memoView): its index is replaced whole by a distrust.
 */
import { canonicalNetwork, decodeValue } from '../record/index.js'
import type { BulkHit, BulkLayer } from '../bulk/layer.js'
import type { AnswerMemo, MemoEntry } from './answer-memo.js'
import { StoreCorruptError } from './errors.js'
import { networkBounds, networkKey } from './keys.js'
import type { LevelStore } from './level-db.js'
import type { MemoryIndex } from './memory-index.js'
import { versionOf } from './value-format.js'

/** What these reads see of a store, live. */
export interface MemoView {
  readonly memory: MemoryIndex
  readonly bulk: BulkLayer
  readonly closed: boolean
  readonly db: LevelStore
  readonly dataDir: string
}

/** warmAnswers: the longest the event loop is held between yields, ms */
const WARM_SLICE_MS = 4
/** warmAnswers: scans started over after distrusts rebuilt the index, at most */
const WARM_PASSES = 3

/**
 * For each address, the entry `memo` keeps of its answer network — answerRange's, the first of
 * `containing` (what `lookup` answers with) — or undefined where no network holds it. A network
 * not kept yet, or replaced since it was, is read (the crawled ones in one read) and kept when the
 * value read is the version the index holds now.
 */
export async function answersOf<T> (store: MemoView, addresses: readonly number[], memo: AnswerMemo<T>): Promise<Array<MemoEntry<T> | undefined>> {
  const index = store.memory
  const networks = index.networks
  memo.useIndex(index)
  const out: Array<MemoEntry<T> | undefined> = new Array(addresses.length).fill(undefined)
  /** crawled networks to read: id → the positions they answer */
  const toRead = new Map<number, number[]>()
  const dumpsToRead = new Map<string, { hit: BulkHit, at: number[] }>()
  for (let i = 0; i < addresses.length; i++) {
    const a = addresses[i]
    const id = networks.mostSpecific(a)
    const hit = store.bulk.mostSpecific(a)
    // the rule of answerRange: the crawled network unless the dump's row is smaller
    if (hit !== undefined && (id < 0 || networks.end(id) - networks.start(id) > hit.snapshot.end(hit.row) - hit.snapshot.start(hit.row))) {
      const key = `${hit.snapshot.header.registry}:${hit.row}`
      const kept = memo.getDumped(key)
      if (kept !== undefined) out[i] = kept
      else dumpsToRead.get(key)?.at.push(i) ?? dumpsToRead.set(key, { hit, at: [i] })
      continue
    }
    if (id < 0) continue
    const [ta, tb] = networks.versionTag(id)
    const kept = memo.get(id, ta, tb)
    if (kept !== undefined) out[i] = kept
    else toRead.get(id)?.push(i) ?? toRead.set(id, [i])
  }
  if (toRead.size > 0) {
    const ids = [...toRead.keys()]
    const values = await store.db.getMany(ids.map(id => networkKey(networks.start(id), networks.end(id))))
    ids.forEach((id, k) => {
      const v = values[k]
      if (v === undefined) throw new StoreCorruptError(store.dataDir, `network ${networks.start(id)}-${networks.end(id)} is indexed but missing on disk`)
      const e = keepAnswer(store, memo, index, id, v)
      for (const i of toRead.get(id)!) out[i] = e
    })
  }
  for (const [key, { hit, at }] of dumpsToRead) {
    const e = memo.setDumped(key, await store.bulk.record(hit))
    for (const i of at) out[i] = e
  }
  return out
}

/**
 * Makes `memo`'s entry of every stored network, by one scan (a few µs a network), yielding to the
 * event loop every few milliseconds; starts over on the new index when a distrust rebuilds it (up
 * to WARM_PASSES times). Stops when the store closes or `signal` aborts. `pause` is awaited
 * between slices too (a crawling node's ServePace). Resolves with the networks made and whether
 * every one was.
 */
export async function warmAnswers<T> (store: MemoView, memo: AnswerMemo<T>, signal?: AbortSignal, pause?: () => Promise<void>): Promise<{ made: number, complete: boolean }> {
  let made = 0
  for (let pass = 1; ; pass++) {
    const index = store.memory
    memo.useIndex(index)
    const outcome = await warmPass(store, memo, index, () => { made++ }, signal, pause)
    if (outcome !== 'index rebuilt' || pass >= WARM_PASSES) return { made, complete: outcome === 'done' }
  }
}

async function warmPass<T> (store: MemoView, memo: AnswerMemo<T>, index: MemoryIndex, onMade: () => void, signal?: AbortSignal, pause?: () => Promise<void>): Promise<'done' | 'stopped' | 'index rebuilt'> {
  let since = performance.now()
  try {
    for await (const entries of store.db.scanBatches(networkBounds())) {
      for (const [k, v] of entries) {
        if (store.closed || signal?.aborted === true) return 'stopped'
        if (store.memory !== index) return 'index rebuilt'
        const id = index.networks.find(k.readUInt32BE(1), k.readUInt32BE(5))
        if (id >= 0) {
          keepAnswer(store, memo, index, id, v)
          onMade()
        }
        // a crawling node's event loop is not held for longer than this
        if (performance.now() - since > WARM_SLICE_MS) {
          await new Promise(resolve => setImmediate(resolve))
          await pause?.()
          since = performance.now()
        }
      }
    }
    return 'done'
  } catch (err) {
    // the store closed under the scan: nothing to finish
    if (store.closed) return 'stopped'
    throw err
  }
}

/** the entry of a network's stored value; kept when it is the version the index holds */
function keepAnswer<T> (store: MemoView, memo: AnswerMemo<T>, index: MemoryIndex, id: number, v: Buffer): MemoEntry<T> {
  const f = store.db.unframe(v)
  const r = store.db.decodeStored(f.body, b => canonicalNetwork(decodeValue(b), 'stored network'))
  const version = versionOf(f)
  const [ta, tb] = index === store.memory ? index.networks.versionTag(id) : [-1, -1]
  const current = version.readUInt32BE(0) === ta && version.readUInt32BE(4) === tb
  return memo.set(current ? index : undefined, id, ta, tb, r)
}
