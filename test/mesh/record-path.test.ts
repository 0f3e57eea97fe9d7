/**
 * One record's path between two real meshes on 127.0.0.1 with real stores: found and committed on
 * one node, gossiped, validated and committed on the other. Each hop canonicalises and encodes the
 * record once (record/metrics.ts counts the work).
 */
import '../../src/util/polyfill.js'
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Mesh } from '../../src/mesh/mesh.js'
import type { MeshEvents } from '../../src/mesh/interface.js'
import { currentTopic } from '../../src/mesh/topics.js'
import type { Heartbeat } from '../../src/mesh/messages.js'
import { recordWork, isCanonical } from '../../src/record/index.js'
import { NetworkStore } from '../../src/store/index.js'
import { silentLogger } from '../../src/util/logger.js'
import { IDLE_HEARTBEAT } from '../helpers/idle-heartbeat.js'
import { net, tempDir } from '../store/helpers/records.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}) })

async function startNode (bootstrap: string[] = []): Promise<{ mesh: Mesh, store: NetworkStore }> {
  const { dir, cleanup } = await tempDir()
  const store = await NetworkStore.open({ dataDir: dir })
  cleanups.push(async () => { await store.close(); await cleanup() })
  // no periodic catch-up during the test: only gossip carries the record
  const mesh = new Mesh({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, syncIntervalMs: 3_600_000 }, { privateKey: await generateKeyPair('Ed25519'), store, logger: silentLogger, heartbeat: () => IDLE_HEARTBEAT })
  await mesh.start()
  cleanups.push(async () => { await mesh.stop() })
  return { mesh, store }
}

async function until (what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

test('a record found on one node is canonicalised and encoded once per node on its way into a peer\'s store', async () => {
  const a = await startNode()
  const b = await startNode([a.mesh.listenAddrs()[0]])
  await b.mesh.whenSynced(10_000) // the catch-up sync at connection time (empty stores) is over
  const nets = currentTopic('nets')
  await until('a sees b subscribed to nets', () => a.mesh.libp2p.services.pubsub.getSubscribers(nets).some(p => p.equals(b.mesh.peerId)))

  const received = new Promise<MeshEvents['records'][0]>(resolve => { b.mesh.once('records', resolve) })
  const canonicalised = recordWork.canonicalised
  const encoded = recordWork.encoded
  // as the crawler does with a lookup's answer: commit, then publish what the store accepted
  // the crawl writes this node's peer id as the author (provenance): gossip takes a record only from its author
  const found = net('8.8.8.0', '8.8.8.255', { fetchedAt: Date.now() - 1000, author: a.mesh.peerId.toString() })
  const res = await a.store.commit({ networks: [found] })
  a.mesh.publishRecords(res.accepted.networks, res.accepted.negatives)
  await a.mesh.flush()
  const got = await received

  assert.equal(got.networks.length, 1)
  assert.ok(isCanonical(got.networks[0], 'network'))
  assert.deepEqual({ ...got.networks[0] }, { ...res.accepted.networks[0] })
  assert.equal(recordWork.canonicalised - canonicalised, 2, 'canonicalised: by the finder\'s store, by the peer\'s validation')
  assert.equal(recordWork.encoded - encoded, 2, 'encoded: for the finder\'s store (reused in the nets message), for the peer\'s store')
  assert.deepEqual(await b.store.mostSpecific(found.start), res.accepted.networks[0])
})

test('a record another peer authored is not taken from a node that gossips it as its own', async () => {
  const a = await startNode()
  const b = await startNode([a.mesh.listenAddrs()[0]])
  await b.mesh.whenSynced(10_000)
  const nets = currentTopic('nets')
  await until('a sees b subscribed to nets', () => a.mesh.libp2p.services.pubsub.getSubscribers(nets).some(p => p.equals(b.mesh.peerId)))
  const relayed = net('8.8.4.0', '8.8.4.255', { author: '12D3KooWSomeoneEseEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE' })
  const mine = net('8.8.5.0', '8.8.5.255', { author: a.mesh.peerId.toString() })
  const res = await a.store.commit({ networks: [relayed] })
  a.mesh.publishRecords(res.accepted.networks, [])
  await a.mesh.flush()
  // a record of its own after it, on the same path: once it arrives, the first one has been judged
  const received = new Promise<MeshEvents['records'][0]>(resolve => { b.mesh.once('records', resolve) })
  a.mesh.publishRecords((await a.store.commit({ networks: [mine] })).accepted.networks, [])
  await a.mesh.flush()
  const got = await received
  assert.deepEqual(got.networks.map(n => n.start), [mine.start])
  assert.equal(await b.store.mostSpecific(relayed.start), undefined)
  assert.equal(b.mesh.counts.rejected, 1)
})
