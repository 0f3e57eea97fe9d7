/**
 * A light peer (`whoismesh metrics --follow`) on real meshes on 127.0.0.1: it joins the metrics
 * topic only once it can graft its bootstrap node (src/mesh/light-join.ts), so it is in the
 * gossip mesh from its first subscription on and hears relayed heartbeats at once; it never
 * subscribes to the record gossip it would not store.
 */
import '../../src/util/polyfill.js'
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Mesh } from '../../src/mesh/mesh.js'
import { currentTopic } from '../../src/mesh/topics.js'
import type { Heartbeat } from '../../src/mesh/messages.js'
import { silentLogger } from '../../src/util/logger.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}) })

const HEARTBEAT: Omit<Heartbeat, 'peerId' | 'seq' | 'sentAt' | 'listen' | 'light'> = {
  version: '0.1.0', counters: {}, demand: { arin: 0, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 },
  rates: { arin: 0, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 }, backoff: {},
  index: { networks: 0, negatives: 0, digest: '00'.repeat(32) }, sample: { total: 0, resolved: 0 }
}

async function startMesh (opts: { bootstrap?: string[], light?: boolean }): Promise<Mesh> {
  const mesh = new Mesh({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: opts.bootstrap ?? [], light: opts.light ?? false, heartbeatIntervalMs: 500 }, { privateKey: await generateKeyPair('Ed25519'), logger: silentLogger, heartbeat: () => HEARTBEAT })
  await mesh.start()
  cleanups.push(async () => { await mesh.stop() })
  return mesh
}

async function until (what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

test('a light peer subscribes to the metrics topic already grafted to its bootstrap node, and not to the record gossip', async () => {
  const metrics = currentTopic('metrics')
  const boot = await startMesh({})
  const full = [boot, await startMesh({ bootstrap: [boot.listenAddrs()[0]] }), await startMesh({ bootstrap: [boot.listenAddrs()[0]] })]
  await until('the full nodes to know each other', () => full.every(m => m.liveFullPeers().length === 3))

  const light = await startMesh({ bootstrap: [boot.listenAddrs()[0]], light: true })
  const pubsub = light.libp2p.services.pubsub
  // polled every 5 ms: at the first look where the subscription exists, the mesh already holds the bootstrap node
  await until('the light peer to subscribe', () => pubsub.getTopics().includes(metrics))
  // getMeshPeers is on gossipsub's implementation, not on its published interface
  const meshPeers = (pubsub as unknown as { getMeshPeers: (topic: string) => string[] }).getMeshPeers(metrics)
  assert.ok(meshPeers.includes(boot.peerId.toString()), 'subscribed before it could graft its bootstrap node')
  assert.deepEqual(pubsub.getTopics(), [metrics])

  const heard = new Set<string>()
  light.on('heartbeat', (hb: Heartbeat) => { if (!hb.light) heard.add(hb.peerId) })
  await until('the light peer to hear every full node', () => heard.size === 3)
  assert.equal(light.liveFullPeers().length, 3)
})
