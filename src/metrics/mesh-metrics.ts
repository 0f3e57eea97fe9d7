/**
 * The mesh's metrics: gossip messages and the records they carry by validation outcome, live
 * peers, and sync sessions. Call sites take them optionally (`metrics?.livePeers.set(n)`).
 */
import { Counter, Gauge, type Registry } from 'prom-client'

/** `outcome` label values of the gossip counters: the validation function's verdicts. */
export const GOSSIP_OUTCOMES = ['accept', 'ignore', 'reject'] as const
export type GossipOutcome = typeof GOSSIP_OUTCOMES[number]

export interface MeshMetrics {
  /** inbound gossip messages by `topic` and validation `outcome` (accept | ignore | reject) */
  gossipMessagesTotal: Counter<'topic' | 'outcome'>
  /** records carried by inbound gossip messages, by `topic` and `outcome` */
  gossipRecordsTotal: Counter<'topic' | 'outcome'>
  /**
   * inbound gossip messages ignored or rejected, by `topic`, `outcome` (ignore | reject) and
   * `reason`: one of the validation's fixed codes (VALIDATION_REASONS in src/mesh/validation.ts)
   */
  gossipRefusedTotal: Counter<'topic' | 'outcome' | 'reason'>
  /** peers heard from recently, this node excluded */
  livePeers: Gauge
  /** the lowest gossipsub score among connected peers (0 when none is penalised) */
  gossipPeerScoreMin: Gauge
  /** connected peers whose gossipsub score is below 0 (they sent messages the validator rejected) */
  gossipPenalisedPeers: Gauge
  /** connected peers below gossipsub's graylist threshold: their messages are dropped unread */
  gossipGraylistedPeers: Gauge
  /** sync sessions (request/response catch-up) by `outcome`, e.g. ok, error, timeout, refused */
  syncSessionsTotal: Counter<'outcome'>
  /** records received through sync sessions */
  syncRecordsReceivedTotal: Counter
  /**
   * records from peers (gossip or sync) dropped because the delegation files contradict them, by
   * `reason` (IMPLAUSIBLE_REASONS in src/mesh/plausibility.ts; a listing-spans-delegations record is
   * kept without its listing)
   */
  implausibleRecordsTotal: Counter<'reason'>
}

export function createMeshMetrics (register: Registry): MeshMetrics {
  const registers = [register]
  return {
    gossipMessagesTotal: new Counter({
      name: 'whoismesh_gossip_messages_total',
      help: 'Inbound gossip messages by topic and validation outcome (accept, ignore, reject)',
      labelNames: ['topic', 'outcome'] as const,
      registers
    }),
    gossipRecordsTotal: new Counter({
      name: 'whoismesh_gossip_records_total',
      help: 'Records carried by inbound gossip messages, by topic and validation outcome',
      labelNames: ['topic', 'outcome'] as const,
      registers
    }),
    gossipRefusedTotal: new Counter({
      name: 'whoismesh_gossip_refused_messages_total',
      help: 'Inbound gossip messages ignored or rejected, by topic, outcome and reason code (see VALIDATION_REASONS)',
      labelNames: ['topic', 'outcome', 'reason'] as const,
      registers
    }),
    livePeers: new Gauge({
      name: 'whoismesh_live_peers',
      help: 'Peers heard from recently (this node excluded)',
      registers
    }),
    gossipPeerScoreMin: new Gauge({
      name: 'whoismesh_gossip_peer_score_min',
      help: 'Lowest gossipsub score among connected peers (0 when none is penalised)',
      registers
    }),
    gossipPenalisedPeers: new Gauge({
      name: 'whoismesh_gossip_penalised_peers',
      help: 'Connected peers with a gossipsub score below 0 (they sent messages the validation rejected)',
      registers
    }),
    gossipGraylistedPeers: new Gauge({
      name: 'whoismesh_gossip_graylisted_peers',
      help: 'Connected peers below the gossipsub graylist threshold (their messages are dropped unread)',
      registers
    }),
    syncSessionsTotal: new Counter({
      name: 'whoismesh_sync_sessions_total',
      help: 'Sync (catch-up) sessions by outcome',
      labelNames: ['outcome'] as const,
      registers
    }),
    syncRecordsReceivedTotal: new Counter({
      name: 'whoismesh_sync_records_received_total',
      help: 'Records received through sync sessions',
      registers
    }),
    implausibleRecordsTotal: new Counter({
      name: 'whoismesh_implausible_records_total',
      help: 'Records from peers dropped because the delegation files contradict them, by reason (a container\'s listing alone for listing-spans-delegations)',
      labelNames: ['reason'] as const,
      registers
    })
  }
}
