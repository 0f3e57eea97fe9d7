/**
 * The options of a NetworkStore (NetworkStore.open): where its LevelDB lives, how it writes and
 * caches, and the rule by which a sample address counts as resolved, with their defaults.
 */

export interface NetworkStoreOptions {
  /** directory of this node's LevelDB; created when missing */
  dataDir: string
  /**
   * fsync every commit. Off, a process crash loses nothing (writes are in the OS), a machine crash
   * may lose the last commits, which the crawl or a peer re-supplies.
   * @default false
   */
  syncWrites?: boolean
  /**
   * LevelDB block cache for the on-demand record reads (`mostSpecific`, `containing`, iterators).
   * @default 8 MiB
   */
  cacheSizeBytes?: number
  /**
   * When a sample address counts as resolved (`isResolved`): `exact` — its registry's answer is
   * known (it lies in a leaf, or has a note: unallocated, reserved, or 'answered' by a stored
   * container); `covered` — it lies in any stored network (the 2016 rule: quick, and coarse where
   * networks nest).
   * @default 'exact' (the node passes its --resolve)
   */
  resolve?: ResolveRule
}

export type ResolveRule = 'exact' | 'covered'
export const RESOLVE_RULES: readonly ResolveRule[] = ['exact', 'covered']

export const defaultNetworkStoreOptions = {
  syncWrites: false,
  cacheSizeBytes: 8 * 1024 * 1024,
  resolve: 'exact' as ResolveRule
} satisfies Omit<NetworkStoreOptions, 'dataDir'>
