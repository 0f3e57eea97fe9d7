/**
 * The store: one LevelDB per node with the networks, negative results, failures and meta counters
 * the crawl found, and in-memory indexes for coverage questions and set digests.
 *
 *   const store = await NetworkStore.open({ dataDir })
 *   await store.commit({ networks: [record], clearFailures: [address] })
 *   store.isResolved(address)            // memory only
 *   await store.mostSpecific(address)     // range from memory, record from disk
 *   store.digest()                        // compare with a peer's or another crawl's (identities)
 *   store.fingerprintRange(from, to)      // what sync compares (records byte for byte)
 */
export { NetworkStore } from './network-store.js'
export { defaultNetworkStoreOptions, type NetworkStoreOptions } from './options.js'
export { READABLE_SCHEMA_VERSIONS, STORE_SCHEMA_VERSION } from './schema.js'
export type { ClassCounts } from './interval-index.js'
export type {
  AddressScanOptions, CommitInput, CommitResult, Contested, ContestedRange, NetworkRange, NetworkScanOptions, RangeFingerprint, RegistryStats,
  StoreCounts, StoredItem, UpsertCounts
} from './interface.js'
export {
  StoreClosedError, StoreCorruptError, StoreLockedError, StoreOpenError, StoreWriteError, type StoreError
} from './errors.js'
export { repairStore, type RepairReport } from './repair.js'
export { openAnswers, dumpRecord, type ScannedAnswers, type StoreAnswers } from './answer-scan.js'
export { AnswerTable, EXACT, NO_NETWORK, SEG_WORDS, type AnswerTableArrays, type AnswerTableInput } from './answer-table.js'
export type { DistrustResult } from './distrust.js'
export { compareNegatives, compareNetworks } from './pick.js'
export { negativeHash, negativeIdentityBytes, networkHash, networkIdentityBytes, versionHash } from './digest.js'
