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

export interface AnswerSource {
  /** the answer for one address: report/lookup.ts's LookupReport (networks most specific first) */
  lookup: (address: number) => Promise<LookupReport>
  /** the answers for many addresses, in their order (bulk mode: each network read once) */
  lookupMany: (addresses: readonly number[]) => Promise<LookupReport[]>
  /** what the replica holds, read when an answer is written (cheap: from memory) */
  replica: () => ReplicaInfo
}

export interface ReplicaInfo {
  /** the serving node's peer id, when a node serves (none for a stopped data directory) */
  peerId?: string
  /** networks held (crawled and imported) */
  networks: number
  /** the registries' database dumps imported (src/bulk), with when each was taken (ms) */
  dumps: Array<{ registry: RegistryId, takenAt: number, serial: number | null }>
}
