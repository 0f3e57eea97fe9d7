/**
 * Connections (src/mesh/connections.ts) dials what a live peer's heartbeats claim only as that
 * peer's address (ending in /p2p/<its id>), and a peer whose claims keep failing ever more rarely,
 * whatever it claims next: a key holder claiming someone else's port costs that port a dial now
 * and then, not one a heartbeat. A recording stand-in for libp2p; a mocked clock.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Connections } from '../../src/mesh/connections.js'
import { Membership } from '../../src/mesh/membership.js'
import type { Heartbeat } from '../../src/mesh/messages.js'
import type { MeshLibp2p } from '../../src/mesh/libp2p.js'
import { createLogger } from '../../src/util/logger.js'

const HEARTBEAT_MS = 1000

function heartbeat (peerId: string, seq: number, listen: string[]): Heartbeat {
  return {
    peerId, seq, sentAt: Date.now(), version: '0.1.0', light: false, listen, counters: {},
    demand: { arin: 1, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 }, rates: { arin: 1, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 },
    backoff: {}, index: { networks: 0, negatives: 0, digest: '0'.repeat(64) }, sample: { total: 1, resolved: 0 }
  }
}

test('a live peer\'s claimed address is dialled as its own, ever more rarely while it fails, whatever it claims next; one naming another peer never', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_800_000_000_000 })
  const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const dials: string[][] = []
  const libp2p = {
    getConnections: () => [],
    dial: async (addrs: Array<{ toString: () => string }>) => { dials.push(addrs.map(String)); throw new Error('connection refused') }
  } as unknown as MeshLibp2p
  const membership = new Membership({ heartbeatIntervalMs: HEARTBEAT_MS, liveIntervals: 3, light: false }, { selfId: 'self', events: new EventEmitter() })
  const connections = new Connections({ bootstrap: [], heartbeatIntervalMs: HEARTBEAT_MS, targetPeers: 6 }, { libp2p, membership, logger: createLogger({ format: 'json', level: 'error', write: () => {} }) })

  let seq = 0
  const beatsFor = async (seconds: number, listen: string[]): Promise<number[]> => {
    const at: number[] = []
    for (let s = 0; s < seconds; s++) {
      membership.onHeartbeat(heartbeat(id, ++seq, listen))
      const before = dials.length
      await connections.ensure()
      if (dials.length > before) at.push(s)
      t.mock.timers.tick(HEARTBEAT_MS)
    }
    return at
  }
  // 120 heartbeats of a claim of a port nobody answers on: 3, 6, 12, 24, 48 heartbeats apart
  const claim = ['/ip4/127.0.0.1/tcp/9', '/ip4/0.0.0.0/tcp/9']
  assert.deepEqual(await beatsFor(120, claim), [0, 3, 9, 21, 45, 93])
  assert.ok(dials.every(d => d.length === 1 && d[0] === `/ip4/127.0.0.1/tcp/9/p2p/${id}`), `dialled as the peer's own: ${JSON.stringify(dials.slice(0, 2))}`)
  // another claim does not start the back-off again: the next dial comes when it was planned
  dials.length = 0
  assert.deepEqual(await beatsFor(80, ['/ip4/127.0.0.1/tcp/10']), [189 - 120])
  assert.deepEqual(dials, [[`/ip4/127.0.0.1/tcp/10/p2p/${id}`]])
  // an address naming another peer is not this peer's: never dialled
  dials.length = 0
  t.mock.timers.tick(3_600_000)
  membership.onHeartbeat(heartbeat(id, ++seq, [`/ip4/127.0.0.1/tcp/11/p2p/${other}`]))
  await connections.ensure()
  assert.deepEqual(dials, [])
})
