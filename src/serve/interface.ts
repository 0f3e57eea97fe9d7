/**
 * What the services that answer people's tools from a node's replica (the port-43 WHOIS service,
 * the RDAP service) read: one address's answer, as `whoismesh lookup` gives it (report/lookup.ts:
 * the most specific network and its parents, whether it is known to be exact, or why there is
 * none), and what the replica is, for the line every answer carries saying it is a replica and
 * how old. A running node serves from its own store; `whoismesh serve` from a stopped data
 * directory's (serve/source.ts makes one of a NetworkStore).
 */
import type { LookupReport } from '../report/lookup.js'
import type { RegistryId } from '../registry/interface.js'
import type { AnswerMemo, MemoEntry } from '../store/answer-memo.js'

export interface AnswerSource {
  /** the answer for one address: report/lookup.ts's LookupReport (networks most specific first) */
  lookup: (address: number) => Promise<LookupReport>
  /**
   * Bulk mode's answers, in the addresses' order: each one's status and exactness (as `lookup`
   * says them) and the entry `memo` keeps of its answer network — made once per network while the
   * network is unchanged, so that an address costs no read once its network was met.
   */
  firstMany: <T>(addresses: readonly number[], memo: AnswerMemo<T>) => Promise<Array<FirstAnswer<T>>>
  /**
   * makes `memo`'s entry of every network held, by one scan in the background (until `signal`
   * aborts); resolves with how many, and whether every one was
   */
  warm: <T>(memo: AnswerMemo<T>, signal?: AbortSignal) => Promise<{ made: number, complete: boolean }>
  /** what the replica holds, read when an answer is written (cheap: from memory) */
  replica: () => ReplicaInfo
}

export interface FirstAnswer<T> extends Pick<LookupReport, 'status' | 'exact' | 'special'> {
  /** the answer network's entry (status 'network') */
  network?: MemoEntry<T>
}

export interface ReplicaInfo {
  /** the serving node's peer id, when a node serves (none for a stopped data directory) */
  peerId?: string
  /** networks held (crawled and imported) */
  networks: number
  /** the registries' database dumps imported (src/bulk), with when each was taken (ms) */
  dumps: Array<{ registry: RegistryId, takenAt: number, serial: number | null }>
}
