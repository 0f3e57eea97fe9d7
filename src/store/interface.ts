import type { CanonicalNegative, CanonicalNetwork, FailureRecord, NegativeRecord, NetworkRecord } from '../record/index.js'
import type { RegistryId } from '../registry/interface.js'

/** Everything one `commit` writes, in a single LevelDB batch. */
export interface CommitInput {
  /** checked and rebuilt in canonical form, unless already canonical (record/canonical.ts) */
  networks?: NetworkRecord[]
  negatives?: NegativeRecord[]
  /**
   * upserts; the last one in the array wins for an address. A failure for an address the store
   * resolves (before or by this commit) is not written: an answer outlives it (failure-plan.ts)
   */
  failures?: FailureRecord[]
  /** addresses whose failure record is deleted; applied after `failures`, so clearing wins */
  clearFailures?: number[]
  /** JSON-able values; `undefined` deletes the key. Keys starting with "store." are reserved. */
  meta?: Record<string, unknown>
}

export interface UpsertCounts {
  /** new key */
  added: number
  /** existing key, the incoming record won the pick rule and replaced the stored one */
  changed: number
  /** byte-identical to what is stored, or lost the pick rule to the stored record */
  unchanged: number
}

export interface CommitResult {
  networks: UpsertCounts
  negatives: UpsertCounts
  failures: { written: number, cleared: number }
  metaKeys: number
  /** the records this commit actually wrote (added or changed), as stored: what is worth gossiping on */
  accepted: { networks: CanonicalNetwork[], negatives: CanonicalNegative[] }
  /**
   * records that lost the pick rule to a copy that says otherwise: of this commit, to a stored
   * copy; or (`replaced`) a stored record this commit replaced by an earlier fetch time (a network:
   * another identity — registry, handle, name, org, country — or another class, leaf or container;
   * a note: another registry or reason): two authors disagree, and every replica keeps the same
   * copy (pick.ts)
   */
  contested: Contested[]
}

/** A record that lost the pick rule to a stored copy saying otherwise (CommitResult.contested); `kept`: the network that won. */
export type Contested =
  | { kind: 'network', record: CanonicalNetwork, kept: CanonicalNetwork, keptAuthor: string | undefined, keptLeaf: boolean, replaced?: true }
  | { kind: 'note', record: CanonicalNegative, keptAuthor: string | undefined, replaced?: true }

/** The range a dispute is about, with both authors (IndexedEvent.contested). */
export interface ContestedRange {
  start: number
  end: number
  /** the author of the record that lost (undefined: it names none) */
  author: string | undefined
  /** the author of the stored copy that was kept */
  keptAuthor: string | undefined
  /**
   * the addresses the losing record would answer that the kept copy may leave open: a losing
   * leaf's whole range where the kept copy is a container; otherwise only the address the loser
   * answers (its query address, a note's address): a container answers no other address by itself
   */
  blocked: [number, number] | undefined
  /** the loser was the stored record, replaced by a copy with an earlier fetch time (Contested.replaced) */
  replaced?: true
}

export interface StoreCounts {
  networks: number
  negatives: number
  failures: number
}

export interface RegistryStats {
  networks: number
  /** size of the union of this registry's networks */
  addressesCovered: number
}

/** The address range of a network, answered from memory. */
export interface NetworkRange {
  start: number
  end: number
  registry: RegistryId
  /**
   * a leaf (an assignment policy does not subdivide; record/classify.ts) rather than a container
   * that may hold more specific networks. A network stored before leaves existed reads false
   * until `whoismesh repair`.
   */
  leaf: boolean
}

/** A stored record with its version hash (store/digest.ts), as `NetworkStore.items` yields it. */
export type StoredItem =
  | { kind: 'n', record: CanonicalNetwork, version: Buffer }
  | { kind: 'x', record: CanonicalNegative, version: Buffer }

export interface RangeFingerprint {
  /** hex, of the items' version hashes; see digest.ts for the definition */
  fingerprint: string
  /** networks whose start, plus negatives whose address, lies in the range */
  count: number
}

export interface NetworkScanOptions {
  registry?: RegistryId
  /** only records with fetchedAt >= since (ms since epoch) */
  since?: number
  /** only networks whose start is >= from (default 0) */
  from?: number
  /** only networks whose start is <= to (default 0xffffffff) */
  to?: number
}

export interface AddressScanOptions {
  from?: number
  to?: number
}
