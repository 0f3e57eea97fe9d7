/**
 * The libp2p node of a whoismesh peer: TCP, Noise, Yamux, identify and gossipsub, configured for
 * a fleet that may run many peers on one host. Settings that differ from libp2p's defaults, each
 * for a problem measured on these machines:
 * - inboundConnectionThreshold: the default (5 per second per host) refuses a burst of local
 *   peers joining at once;
 * - gossipsub's IP-colocation penalty is off: with it, more than 10 peers on one IP (a test on
 *   127.0.0.1, or peers behind one NAT) are graylisted and their messages dropped. Peers are
 *   admitted by the swarm key instead (deployment), and misbehaviour is scored by validation.
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
          IPColocationFactorWeight: 0
        }
      })
    }
  })
}
