/**
 * The libp2p node of a whoismesh peer: TCP, Noise, Yamux, identify and gossipsub, configured for
 * a fleet that may run many peers on one host. Settings that differ from libp2p's defaults, each
 * for a problem measured on these machines:
 * - inboundConnectionThreshold: the default (5 per second per host) refuses a burst of local
 *   peers joining at once;
 * - gossipsub's IP-colocation penalty is off: with it, more than 10 peers on one IP (a test on
 *   127.0.0.1, or peers behind one NAT) are graylisted and their messages dropped. Peers are
 *   admitted by the swarm key instead (deployment), and misbehaviour is scored by validation;
 * - topic scores for the whoismesh topics: gossipsub scores only topics it has parameters for, so
 *   without them a reject from the validator cost the sender nothing. Only the invalid-message
 *   penalty (P4) is on: honest peers never send a message the validator rejects, whereas the
 *   delivery-rate terms (P2, P3) would punish a node that has simply finished its crawl and gone
 *   quiet on `nets`.
 */
import '../util/polyfill.js'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { swarmProtector } from './swarm-key.js'
import { TOPIC_KINDS, currentTopic } from './topics.js'

/**
 * Gossipsub's score thresholds (its defaults, spelled out): below `gossipThreshold` a peer gets no
 * gossip from us, below `publishThreshold` none of our own messages, and below
 * `graylistThreshold` everything it sends is dropped unread.
 */
export const GOSSIP_SCORE_THRESHOLDS = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 20
}

/**
 * Score of a whoismesh topic: −(invalid messages)² (P4, weight −1), the count decaying by 1% a
 * second (half-life about 70 s). A peer loses gossip after 4 rejected messages, our publishes after
 * 8 and is graylisted after 9 in quick succession; one that keeps sending rejected messages stays
 * graylisted while its count decays back under 9.
 */
const TOPIC_SCORE = {
  topicWeight: 1,
  timeInMeshWeight: 0,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 1,
  firstMessageDeliveriesWeight: 0,
  firstMessageDeliveriesDecay: 0.5,
  firstMessageDeliveriesCap: 1,
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 1,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  invalidMessageDeliveriesWeight: -1,
  invalidMessageDeliveriesDecay: 0.99
}

export type MeshLibp2p = Libp2p<{ identify: Identify, pubsub: GossipSub }>

export interface MeshLibp2pOptions {
  privateKey: PrivateKey
  /** multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/4001 */
  listen: string[]
  /** upper bound of open connections (default 64) */
  maxConnections?: number
  /** largest gossip message accepted, bytes (default 4 MiB; publishers batch below it) */
  maxMessageBytes?: number
  /** the fleet's private-network key (swarm-key.ts); without it any peer may connect */
  swarmKey?: Uint8Array
}

export async function createMeshLibp2p (opts: MeshLibp2pOptions): Promise<MeshLibp2p> {
  return await createLibp2p({
    privateKey: opts.privateKey,
    addresses: { listen: opts.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(opts.swarmKey != null ? { connectionProtector: swarmProtector(opts.swarmKey) } : {}),
    connectionManager: {
      maxConnections: opts.maxConnections ?? 64,
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 64
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        maxInboundDataLength: opts.maxMessageBytes ?? 4 * 1024 * 1024,
        scoreParams: {
          IPColocationFactorWeight: 0,
          topics: Object.fromEntries(TOPIC_KINDS.map(kind => [currentTopic(kind), { ...TOPIC_SCORE }]))
        },
        scoreThresholds: { ...GOSSIP_SCORE_THRESHOLDS }
      })
    }
  })
}
