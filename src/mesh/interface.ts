/**
 * The mesh's contracts: options (plain data with their defaults), modules (the live things it is
 * given), its typed events and the summaries it exposes.
 */
import type { PrivateKey } from '@libp2p/interface'
import type { CommitResult, NetworkStore } from '../store/index.js'
import type { Logger } from '../util/logger.js'
import type { Heartbeat } from './messages.js'
import type { SyncMetrics } from './sync/metrics.js'
import type { ValidationReason } from './validation.js'
import type { Implausible, PlausibilityCheck } from './plausibility.js'

export interface MeshOptions {
  /** multiaddrs to listen on (default /ip4/0.0.0.0/tcp/4001) */
  listen: string[]
  /** peers to dial first, with /p2p/<id> */
  bootstrap: string[]
  /** between two heartbeats (default 2000) */
  heartbeatIntervalMs: number
  /** a peer is live while its last heartbeat is younger than this many intervals (default 3) */
  liveIntervals: number
  /** nets batches are flushed at least this often (default 250) */
  flushIntervalMs: number
  /** records per nets message, below the validation limit (default 2000) */
  maxBatchRecords: number
  /** encoded bytes per nets message, well below gossipsub's 4 MiB (default 512 KiB) */
  maxBatchBytes: number
  /** connections each node tries to keep to other full peers (default 6) */
  targetPeers: number
  /** a light peer (metrics --follow) crawls nothing and owns no addresses */
  light: boolean
  /** catch-up sync with a random connected peer this often (default 30000) */
  syncIntervalMs: number
  /** the fleet's private-network key (swarm-key.ts); undefined = an open mesh */
  swarmKey?: Uint8Array
}

/** Between two heartbeats; the fleet's timings are counted in it (src/fleet/budget-share.ts). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000

export const defaultMeshOptions: MeshOptions = {
  listen: ['/ip4/0.0.0.0/tcp/4001'],
  bootstrap: [],
  heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
  liveIntervals: 3,
  flushIntervalMs: 250,
  maxBatchRecords: 2000,
  maxBatchBytes: 512 * 1024,
  targetPeers: 6,
  light: false,
  syncIntervalMs: 30_000
}

export type GossipTopicKind = 'nets' | 'metrics'

export interface MeshModules {
  privateKey: PrivateKey
  /** where records from peers are committed (absent for light peers) */
  store?: NetworkStore
  logger: Logger
  /** builds this node's heartbeat (without peerId/seq/sentAt/listen, filled in here) */
  heartbeat: () => Omit<Heartbeat, 'peerId' | 'seq' | 'sentAt' | 'listen' | 'light'>
  /**
   * optional counters of validation outcomes; `reason` (a fixed code, validation.ts) is set for
   * ignored and rejected messages
   */
  onValidation?: (topic: GossipTopicKind, outcome: 'accept' | 'ignore' | 'reject', records: number, reason?: ValidationReason) => void
  /** optional counters of sync sessions (the node's `metrics.mesh`) */
  syncMetrics?: SyncMetrics
  /**
   * the checks of records from peers against this node's delegation files, once it has them
   * (plausibility.ts); records that fail are dropped and passed to `onImplausible` with the peer
   * that sent them (gossip: their signed sender; sync: the session's peer)
   */
  plausible?: () => PlausibilityCheck | undefined
  onImplausible?: (records: Implausible[], from: string) => void
}

/** What `Mesh` emits (node:events typed by this map), so a listener's payload type is checked. */
export interface MeshEvents {
  /** records from peers (gossip or sync), as committed to the store */
  records: [accepted: CommitResult['accepted']]
  /** a peer's validated heartbeat */
  heartbeat: [heartbeat: Heartbeat]
  /** the set of live peers changed: the live full peers now (liveFullPeers) */
  membership: [peers: string[]]
  /** a peer said goodbye: its id */
  departed: [peerId: string]
}

/** Gossip traffic since start. */
export interface MeshCounts {
  /** nets messages published, and the records in them */
  published: number
  publishedRecords: number
  /** nets messages accepted from peers, and the records in them */
  received: number
  receivedRecords: number
  /** inbound messages the validation rejected / ignored */
  rejected: number
  ignored: number
}

/** Gossipsub scores of the connected peers, as of the last heartbeat tick. */
export interface PeerScoreSummary {
  /** the lowest score of a connected peer (0 with no peers) */
  min: number
  /** connected peers scoring below 0 */
  penalised: number
  /** connected peers below the graylist threshold: everything they send is dropped unread */
  graylisted: number
}

export interface PeerState {
  heartbeat: Heartbeat
  /** local time (ms) the last heartbeat arrived */
  lastSeen: number
}
