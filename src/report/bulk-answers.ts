/**
 * Where `lookup -` (bulk-lookup.ts) takes its answers from, by the rules of `lookup <ip>`
 * (lookupReport, src/report/lookup.ts), for the first network only: the network the most specific
 * (answerRange's rule); the status, and the exactness of an address without a network, by the
 * same function (answerStatus). A network's exactness: by answerStatus from a running node's
 * store; from the table's flags, the network's class and query address and a listing's slice in
 * TableAnswers (the table holds what isExact would say, segment by segment).
 *
 * TableAnswers: a stopped node's answer table (store/answer-table.ts), one binary search per
 * address, each network's part of a line made the first time an address is answered with it.
 * LiveAnswers: a running node's open store (its route `POST /v1/lookup-bulk`), through the reads
 * of the WHOIS service's bulk mode (StoreReads.answersOf): the table is not built there, since the
 * crawl changes the store while it answers, and its dumps answer only the addresses routed to
 * their registry (BulkLayer.setRouting), which the table does not model.
 */
import { isLeaf, type NetworkRecord } from '../record/index.js'
import { inSampleSlice } from '../sample/index.js'
import { EXACT, NO_NETWORK, type NetworkStore } from '../store/index.js'
import { AnswerMemo } from '../store/answer-memo.js'
import { answerStatus, type LookupReport } from './lookup.js'
import type { PreparedAnswers } from './bulk-cache.js'
import { STATUS_INVALID, STATUS_NETWORK, STATUS_UNALLOCATED, STATUS_UNKNOWN, type AnswerBatch, type BatchAnswerSource } from './bulk-lookup.js'

/** makes a network's part of a line (LineWriter.fragment) */
export type Fragment = (r: NetworkRecord) => Buffer

const STATUS_OF = { network: STATUS_NETWORK, unallocated: STATUS_UNALLOCATED, unknown: STATUS_UNKNOWN } as const

/** Sets address i's answer from answerStatus's; `ref`: where its network's part of the line is (AnswerBatch.ref) */
function setAnswer (batch: AnswerBatch, i: number, s: Pick<LookupReport, 'status' | 'exact' | 'special'>, ref = 0): void {
  if (s.status === 'special-purpose') {
    batch.setSpecial(i, s.special ?? 'reserved by IANA')
    return
  }
  batch.status[i] = STATUS_OF[s.status]
  batch.exact[i] = s.exact ? 1 : 0
  batch.ref[i] = ref
}

/** what answerStatus asks of a store, for an address without a network, as the table says it */
const WITH_NOTE = { hasNegative: () => true, isExact: () => false }
const WITHOUT_NOTE = { hasNegative: () => false, isExact: () => false }

/** Answers from a stopped node's answer table (prepared: bulk-cache.ts). */
export class TableAnswers implements BatchAnswerSource {
  /**
   * the networks' parts of lines, once asked for: a crawled network's at its id (a view of the
   * prepared lines), an imported one's at a slot after them (`dumped`)
   */
  private readonly parts: Array<Buffer | undefined>
  /** by a dump row's global id: its slot in `parts`, its class and query address */
  private readonly dumped = new Map<number, { slot: number, leaf: boolean, queryAddress: number }>()
  /** networks an address was answered with */
  networks = 0

  /** `dumpRecord`: the record of a dump row's global id (store/answer-scan.ts) */
  constructor (private readonly prepared: PreparedAnswers, private readonly dumpRecord: (id: number) => NetworkRecord, private readonly fragment: Fragment) {
    this.parts = new Array(prepared.table.crawledCount)
  }

  answer (batch: AnswerBatch): void {
    const t = this.prepared.table
    const { leaf, query } = this.prepared
    const parts = this.parts
    const crawled = t.crawledCount
    const { address, status, exact, ref } = batch
    batch.parts = parts
    for (let i = 0; i < batch.n; i++) {
      if (status[i] === STATUS_INVALID) continue
      const a = address[i]
      const seg = t.find(a)
      const net = t.net(seg)
      const flags = t.flags(seg)
      if (net < 0) {
        setAnswer(batch, i, answerStatus((flags & NO_NETWORK) !== 0 ? WITH_NOTE : WITHOUT_NOTE, a, undefined))
        continue
      }
      const listed = t.listed(seg)
      status[i] = STATUS_NETWORK
      if (net < crawled) {
        if (parts[net] === undefined) this.crawledPart(net)
        ref[i] = net
        exact[i] = (flags & EXACT) !== 0 || leaf[net] === 1 || query[net] === a || (listed > 0 && inSampleSlice(a, listed)) ? 1 : 0
      } else {
        const d = this.dumped.get(net) ?? this.dumpPart(net)
        ref[i] = d.slot
        exact[i] = (flags & EXACT) !== 0 || d.leaf || d.queryAddress === a || (listed > 0 && inSampleSlice(a, listed)) ? 1 : 0
      }
    }
  }

  private crawledPart (net: number): void {
    const p = this.prepared
    p.need(net)
    this.parts[net] = p.lines().subarray(p.offset[net], p.offset[net] + p.length[net])
    this.networks++
  }

  private dumpPart (net: number): { slot: number, leaf: boolean, queryAddress: number } {
    this.networks++
    const r = this.dumpRecord(net)
    const d = { slot: this.parts.push(this.fragment(r)) - 1, leaf: isLeaf(r.registry, r.type), queryAddress: r.queryAddress }
    this.dumped.set(net, d)
    return d
  }
}

/** a running node's request keeps at most this many networks' parts of lines: past it, its memo starts over */
const LIVE_MEMO_MAX = 200_000

/**
 * Answers from a running node's store: each address's network as the WHOIS service's bulk mode
 * finds it (StoreReads.answersOf — answerRange's rule, the crawled networks read in one go, each
 * network's part of a line made once and made again when a commit replaced the record), its
 * status by answerStatus (report/lookup.ts).
 */
export class LiveAnswers implements BatchAnswerSource {
  private memo: AnswerMemo<Buffer>

  constructor (private readonly store: NetworkStore, private readonly fragment: Fragment) {
    this.memo = new AnswerMemo(fragment)
  }

  async answer (batch: AnswerBatch): Promise<void> {
    if (this.memo.size > LIVE_MEMO_MAX) this.memo = new AnswerMemo(this.fragment)
    const at: number[] = []
    const addresses: number[] = []
    for (let i = 0; i < batch.n; i++) {
      if (batch.status[i] === STATUS_INVALID) continue
      at.push(i)
      addresses.push(batch.address[i])
    }
    const entries = await this.store.answersOf(addresses, this.memo)
    // this batch's networks' parts of lines, one per line
    const parts: Buffer[] = []
    batch.parts = parts
    for (let k = 0; k < at.length; k++) {
      const entry = entries[k]
      setAnswer(batch, at[k], answerStatus(this.store, addresses[k], entry), entry === undefined ? 0 : parts.push(entry.value) - 1)
    }
  }
}
