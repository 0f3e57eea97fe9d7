/** What a mesh node with nothing crawled and nothing queued puts in its heartbeats (tests that run bare meshes). */
import type { Heartbeat } from '../../src/mesh/messages.js'

export const IDLE_HEARTBEAT: Omit<Heartbeat, 'peerId' | 'seq' | 'sentAt' | 'listen' | 'light'> = {
  version: '0.1.0', counters: {}, demand: { arin: 0, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 },
  rates: { arin: 0, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 }, backoff: {},
  index: { networks: 0, negatives: 0, digest: '00'.repeat(32) }, sample: { total: 0, resolved: 0 }
}
