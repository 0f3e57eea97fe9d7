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
import { waitFor } from '../helpers/wait.js'
import { IDLE_HEARTBEAT } from '../helpers/idle-heartbeat.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}) })

async function startMesh (opts: { bootstrap?: string[], light?: boolean }): Promise<Mesh> {
  const mesh = new Mesh({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: opts.bootstrap ?? [], light: opts.light ?? false, heartbeatIntervalMs: 500 }, { privateKey: await generateKeyPair('Ed25519'), logger: silentLogger, heartbeat: () => IDLE_HEARTBEAT })
  await mesh.start()
  cleanups.push(async () => { await mesh.stop() })
  return mesh
}


test('a light peer subscribes to the metrics topic already grafted to its bootstrap node, and not to the record gossip', async () => {
  const metrics = currentTopic('metrics')
  const boot = await startMesh({})
  const full = [boot, await startMesh({ bootstrap: [boot.listenAddrs()[0]] }), await startMesh({ bootstrap: [boot.listenAddrs()[0]] })]
  await waitFor(() => full.every(m => m.liveFullPeers().length === 3), 20_000, 'the full nodes to know each other')

  const light = await startMesh({ bootstrap: [boot.listenAddrs()[0]], light: true })
  const pubsub = light.libp2p.services.pubsub
  // polled every 5 ms: at the first look where the subscription exists, the mesh already holds the bootstrap node
  await waitFor(() => pubsub.getTopics().includes(metrics), 20_000, 'the light peer to subscribe', 5)
  // getMeshPeers is on gossipsub's implementation, not on its published interface
  const meshPeers = (pubsub as unknown as { getMeshPeers: (topic: string) => string[] }).getMeshPeers(metrics)
  assert.ok(meshPeers.includes(boot.peerId.toString()), 'subscribed before it could graft its bootstrap node')
  assert.deepEqual(pubsub.getTopics(), [metrics])

  const heard = new Set<string>()
  light.on('heartbeat', (hb: Heartbeat) => { if (!hb.light) heard.add(hb.peerId) })
  await waitFor(() => heard.size === 3, 20_000, 'the light peer to hear every full node')
  assert.equal(light.liveFullPeers().length, 3)
})
