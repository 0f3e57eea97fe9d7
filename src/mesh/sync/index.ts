/**
 * Sync: how a node that missed gossip (late joiner, restart, healed partition) converges with a
 * peer. Range-based set reconciliation over the uint32 address space on `/whoismesh/sync/1.0.0`;
 * one session leaves both sides with the union of their indexes (store pick rule on conflicts).
 * Every record received passes validateRecords (mesh/validation.ts) before store.commit.
 *
 *   const sync = new SyncService({}, { libp2p, store, logger, onAccepted })
 *   await sync.start()
 *   const report = await sync.syncWith(peerIdOrMultiaddr)  // report.converged
 *
 * Algorithm: session.ts. Wire format: protocol.ts. Options and report: interface.ts.
 */
export { SyncService } from './service.js'
export { defaultSyncOptions, type SyncOptions, type SyncModules, type SyncReport, type SyncStats, type SyncTarget } from './interface.js'
export {
  SyncProtocolError, SyncRemoteError, SyncTimeoutError, SyncStoppedError, SyncOptionsError, type SyncError, type SyncAbortReason
} from './errors.js'
export type { SyncMetrics } from './metrics.js'
export { SYNC_PROTOCOL, SYNC_VERSION } from './protocol.js'
