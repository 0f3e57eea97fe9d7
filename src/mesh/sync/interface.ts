/**
 * Contracts of the sync service: its options (plain data, with the defaults below), the live modules
 * it needs, and what a session reports.
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { NetworkStore, CommitResult } from '../../store/index.js'
import type { Logger } from '../../util/logger.js'
import type { MeshLibp2p } from '../libp2p.js'
import type { SyncMetrics } from './metrics.js'
import type { Implausible, PlausibilityCheck } from '../plausibility.js'

export interface SyncOptions {
  /**
   * Largest frame sent or accepted, bytes. A bigger frame aborts the session as malformed.
   * @default 4 MiB
   */
  maxFrameBytes: number
  /**
   * Records (networks + negatives) per frame; each frame is one validation batch and one commit.
   * Must stay under VALIDATION_LIMITS.maxBatchRecords (5000).
   * @default 2000
   */
  maxRecordsPerFrame: number
  /**
   * Bytes one side sends per turn before it yields the floor; the rest of its answers wait for its
   * next turn. Bounds what the peer buffers unread (its read buffer is this plus two frames). Each
   * side announces its own in its first frame and the sender uses the smaller of the two.
   * @default 8 MiB
   */
  maxTurnBytes: number
  /**
   * A range whose fingerprints differ is settled by exchanging item ids (16 bytes each) when either
   * side holds at most this many items in it, else split into `fanout` sub-ranges. At most 2048.
   * @default 256
   */
  leafItems: number
  /**
   * Sub-ranges (equal address widths) a mismatching range is split into.
   * @default 16
   */
  fanout: number
  /**
   * Deadline of a whole session, either side.
   * @default 300_000 (5 min; a full sync of ~500k networks takes ~10–20 s)
   */
  sessionTimeoutMs: number
  /**
   * Deadline of each frame read and each write that waits for the peer to drain.
   * @default 30_000
   */
  ioTimeoutMs: number
  /**
   * How long a responder waits for the initiator's first frame (at most ioTimeoutMs; later ones,
   * ioTimeoutMs): an honest initiator speaks first at once, so one that opens a session and stays
   * silent is cut early.
   * @default 15_000
   */
  stallMs: number
  /**
   * A responder's session older than `paceGraceMs` that has moved fewer than `minBytesPerSecond`
   * (sent and received, on average) is cut at the next frame: frames trickled just inside
   * `stallMs` would otherwise hold a slot until the session deadline.
   * @default 30_000 and 4096
   */
  paceGraceMs: number
  minBytesPerSecond: number
  /**
   * What a responder sends one peer, over all its sessions, is a token bucket of records: it holds
   * twice the index plus `peerSendSlack` and refills by the index plus `peerSendSlack` every
   * `peerSendRefillMs`. A joiner pulls the index once; a peer pulling it again and again is
   * refused ("busy") once its bucket is empty, and a session is ended once it has sent what the
   * bucket held when it began.
   * @default 10_000 and 600_000 (10 min)
   */
  peerSendSlack: number
  peerSendRefillMs: number
  /**
   * Inbound sessions served at once; further ones are refused with "busy". One per peer.
   * @default 4
   */
  maxConcurrentSessions: number
  /**
   * Of those, how many may come from peers the mesh does not count live (no heartbeat seen:
   * a joiner's first seconds, or identities minted to hold the slots).
   * @default 2
   */
  maxStrangerSessions: number
  /**
   * Commits in flight per session while more frames are read (overlaps validation with LevelDB).
   * @default 2
   */
  maxPendingCommits: number
}

export const defaultSyncOptions: SyncOptions = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxRecordsPerFrame: 2000,
  maxTurnBytes: 8 * 1024 * 1024,
  leafItems: 256,
  fanout: 16,
  sessionTimeoutMs: 300_000,
  ioTimeoutMs: 30_000,
  stallMs: 15_000,
  paceGraceMs: 30_000,
  minBytesPerSecond: 4096,
  peerSendSlack: 10_000,
  peerSendRefillMs: 600_000,
  maxConcurrentSessions: 4,
  maxStrangerSessions: 2,
  maxPendingCommits: 2
}

export interface SyncModules {
  libp2p: MeshLibp2p
  store: NetworkStore
  logger?: Logger
  metrics?: SyncMetrics
  /** called with `CommitResult.accepted` of every commit a session makes (both roles) */
  onAccepted?: (accepted: CommitResult['accepted']) => void
  /** whether the mesh counts `peer` live (its heartbeats arrive); absent: every peer is */
  isLive?: (peer: string) => boolean
  /** the checks of received records against the delegation files (MeshModules.plausible) */
  plausible?: () => PlausibilityCheck | undefined
  /** called with the received records those checks dropped, and the session's peer */
  onImplausible?: (records: Implausible[], from: string) => void
}

export type SyncTarget = PeerId | Multiaddr

/** What one session did, from the point of view of the side that reports it. */
export interface SyncReport {
  /** the remote peer */
  peer: string
  /** fingerprint comparisons this side made */
  rangesCompared: number
  /** turns this side sent (one round trip each), the closing handshake not included */
  rounds: number
  networksReceived: number
  negativesReceived: number
  /** received records the store took (new, or winning the pick rule) */
  networksAccepted: number
  negativesAccepted: number
  networksSent: number
  negativesSent: number
  /** frame bytes, length prefixes not included */
  bytesReceived: number
  bytesSent: number
  durationMs: number
  /** the whole-space fingerprints of both sides were equal at the end */
  converged: boolean
}

/** Counters of the service since it was created. */
export interface SyncStats {
  sessionsInitiated: number
  sessionsServed: number
  sessionsCompleted: number
  /** aborted sessions, by reason (see SyncAbortReason) */
  aborted: Record<string, number>
  /** inbound sessions refused with "busy": maxConcurrentSessions were running, or a session of this node's own was */
  refusedBusy: number
}
