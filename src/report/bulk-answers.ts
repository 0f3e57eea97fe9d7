/**
 * Where `lookup -` (bulk-lookup.ts) takes its answers from, by the rules of `lookup <ip>`
 * (lookupReport, src/report/lookup.ts), for the first network only:
 * - status `network` when a network holds the address (the most specific: answerRange), `exact`
 *   when it is a leaf, or the registry's answer for this very address (its query address), or
 *   when the store's exactness rule says so (isExact);
 * - else `special-purpose` (exact) in IANA's special-purpose and reserved space, `unallocated`
 *   (exact) where a note says no network holds it, `unknown` (not exact) otherwise.
 *
 * TableAnswers: a stopped node's answer table (store/answer-table.ts), one binary search per
 * address, each network's part of a line made the first time an address is answered with it.
 * LiveAnswers: a running node's open store (its route `POST /v1/lookup-bulk`), asked address by
 * address from its in-memory indexes: the table is not built there, since the crawl changes the
 * store while it answers, and its dumps answer only the addresses routed to their registry
 * (BulkLayer.setRouting), which the table does not model.
 */
import type { NetworkRecord } from '../record/index.js'
import { registryForAddress, specialBlockOf } from '../registry/iana.js'
import { inSampleSlice } from '../sample/index.js'
import { formatIPv4 } from '../util/ipv4.js'
import type { NetworkRange, NetworkStore } from '../store/index.js'
import { EXACT, NO_NETWORK } from '../store/index.js'
import { netInfo, type NetInfo, type PreparedAnswers } from './bulk-cache.js'
import type { Snapshot } from '../bulk/snapshot.js'
import { STATUS_INVALID, STATUS_NETWORK, STATUS_SPECIAL, STATUS_UNALLOCATED, STATUS_UNKNOWN, type AnswerBatch, type BatchAnswerSource } from './bulk-lookup.js'

/** makes a network's part of a line (LineWriter.fragment) */
export type Fragment = (r: NetworkRecord) => Buffer

const infoOf = netInfo

/** lookupReport without a network: special-purpose and reserved space first, then a "no network" note */
function answerWithout (batch: AnswerBatch, i: number, address: number, noNetworkNote: boolean): void {
  if (registryForAddress(address) === undefined) {
    batch.status[i] = STATUS_SPECIAL
    batch.exact[i] = 1
    batch.special[i] = specialBlockOf(address)?.name ?? 'reserved by IANA'
  } else {
    batch.status[i] = noNetworkNote ? STATUS_UNALLOCATED : STATUS_UNKNOWN
    batch.exact[i] = noNetworkNote ? 1 : 0
  }
}

/** Answers from a stopped node's answer table (prepared: bulk-cache.ts). */
export class TableAnswers implements BatchAnswerSource {
  /** crawled networks' parts of lines, by id, once asked for */
  private readonly fragments: Array<Buffer | undefined>
  private readonly dumped = new Map<number, NetInfo>()
  /** networks an address was answered with */
  networks = 0

  /** `dumpRecord`: the record of a dump row's global id (store/answer-scan.ts) */
  constructor (private readonly prepared: PreparedAnswers, private readonly dumpRecord: (id: number) => NetworkRecord, private readonly fragment: Fragment) {
    this.fragments = new Array(prepared.table.crawledCount)
  }

  answer (batch: AnswerBatch): void {
    const t = this.prepared.table
    const { leaf, query } = this.prepared
    const crawled = t.crawledCount
    const { address, status, exact } = batch
    for (let i = 0; i < batch.n; i++) {
      if (status[i] === STATUS_INVALID) continue
      const a = address[i]
      const seg = t.find(a)
      const net = t.net(seg)
      const flags = t.flags(seg)
      if (net < 0) {
        answerWithout(batch, i, a, (flags & NO_NETWORK) !== 0)
        continue
      }
      const listed = t.listed(seg)
      status[i] = STATUS_NETWORK
      if (net < crawled) {
        batch.network[i] = this.fragments[net] ?? this.crawledFragment(net)
        exact[i] = (flags & EXACT) !== 0 || leaf[net] === 1 || query[net] === a || (listed > 0 && inSampleSlice(a, listed)) ? 1 : 0
      } else {
        const info = this.dumped.get(net) ?? this.dumpInfo(net)
        batch.network[i] = info.fragment
        exact[i] = (flags & EXACT) !== 0 || info.leaf || info.queryAddress === a || (listed > 0 && inSampleSlice(a, listed)) ? 1 : 0
      }
    }
  }

  private crawledFragment (net: number): Buffer {
    this.networks++
    return (this.fragments[net] = this.prepared.fragment(net))
  }

  private dumpInfo (net: number): NetInfo {
    this.networks++
    const info = infoOf(this.dumpRecord(net), this.fragment)
    this.dumped.set(net, info)
    return info
  }
}

/** at most this many networks' parts of lines are kept by a running node between batches */
const LIVE_CACHE_MAX = 200_000

/** Answers from a running node's store, address by address. */
export class LiveAnswers implements BatchAnswerSource {
  /** crawled networks by start, then end */
  private crawled = new Map<number, Map<number, NetInfo>>()
  private dumped = new Map<Snapshot, Map<number, NetInfo>>()
  private cached = 0

  constructor (private readonly store: NetworkStore, private readonly fragment: Fragment) {}

  async answer (batch: AnswerBatch): Promise<void> {
    if (this.cached > LIVE_CACHE_MAX) {
      this.crawled = new Map()
      this.dumped = new Map()
      this.cached = 0
    }
    const store = this.store
    const ranges: Array<NetworkRange | undefined> = new Array(batch.n)
    // the crawled networks not made yet, read from disk in one go
    const missing: NetworkRange[] = []
    const asked = new Set<string>()
    for (let i = 0; i < batch.n; i++) {
      if (batch.status[i] === STATUS_INVALID) continue
      const r = ranges[i] = store.answerRange(batch.address[i])
      if (r === undefined || !store.holdsRange(r.start, r.end) || this.crawled.get(r.start)?.has(r.end) === true) continue
      const key = `${r.start}:${r.end}`
      if (!asked.has(key)) { asked.add(key); missing.push(r) }
    }
    const records = await store.networksAt(missing)
    records.forEach(r => this.keep(this.crawled, r.start, r.end, infoOf(r, this.fragment)))
    for (let i = 0; i < batch.n; i++) {
      if (batch.status[i] === STATUS_INVALID) continue
      const a = batch.address[i]
      const r = ranges[i]
      if (r === undefined) {
        answerWithout(batch, i, a, store.hasNegative(a))
        continue
      }
      const info = this.crawled.get(r.start)?.get(r.end) ?? this.dumpInfo(a)
      batch.status[i] = STATUS_NETWORK
      batch.network[i] = info.fragment
      batch.exact[i] = info.leaf || info.queryAddress === a || store.isExact(a) ? 1 : 0
    }
  }

  /** the imported network answering `a` (no crawled network is as specific) */
  private dumpInfo (a: number): NetInfo {
    const hit = this.store.bulkLayer.mostSpecific(a)
    if (hit === undefined) throw new Error(`no network answers ${formatIPv4(a)} any more`)
    const made = this.dumped.get(hit.snapshot)?.get(hit.row)
    if (made !== undefined) return made
    const info = infoOf(hit.snapshot.recordSync(hit.row), this.fragment)
    this.keep(this.dumped, hit.snapshot, hit.row, info)
    return info
  }

  private keep<K> (map: Map<K, Map<number, NetInfo>>, k: K, k2: number, info: NetInfo): void {
    let inner = map.get(k)
    if (inner === undefined) map.set(k, inner = new Map())
    inner.set(k2, info)
    this.cached++
  }
}
