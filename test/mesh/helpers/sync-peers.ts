/**
 * Sync peers for the sync tests: real libp2p nodes on 127.0.0.1, each with a real LevelDB store
 * in a temp dir and a SyncService. A test file calls `after(closeSyncPeers)`.
 */
import '../../../src/util/polyfill.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/mesh/libp2p.js'
import { SyncService, type SyncModules } from '../../../src/mesh/sync/index.js'
import { NetworkStore } from '../../../src/store/index.js'
import type { MeshMetrics } from '../../../src/metrics/index.js'
import { tempDir } from '../../store/helpers/records.js'

export interface Peer {
  libp2p: MeshLibp2p
  store: NetworkStore
  sync: SyncService
  accepted: number
}

const cleanups: Array<() => Promise<void>> = []

/** Runs `fn` at closeSyncPeers, before what was registered earlier. */
export function onCleanup (fn: () => Promise<void>): void {
  cleanups.push(fn)
}

/** Stops every peer started, last first. */
export async function closeSyncPeers (): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
}

export async function startLibp2p (): Promise<MeshLibp2p> {
  const libp2p = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
  cleanups.push(async () => { await libp2p.stop() })
  return libp2p
}

export async function startPeer (opts: Partial<SyncService['opts']> = {}, metrics?: MeshMetrics, modules: Partial<SyncModules> = {}): Promise<Peer> {
  const { dir, cleanup } = await tempDir()
  const store = await NetworkStore.open({ dataDir: dir })
  cleanups.push(async () => { await store.close(); await cleanup() })
  const libp2p = await startLibp2p()
  const peer: Peer = { libp2p, store, sync: undefined as unknown as SyncService, accepted: 0 }
  peer.sync = new SyncService(opts, { ...modules, libp2p, store, metrics, onAccepted: a => { peer.accepted += a.networks.length + a.negatives.length } })
  await peer.sync.start()
  cleanups.push(async () => { await peer.sync.stop() })
  return peer
}

export const addr = (p: { libp2p: MeshLibp2p }): ReturnType<MeshLibp2p['getMultiaddrs']>[number] => p.libp2p.getMultiaddrs()[0]

/** Waits (a turn of the event loop at a time) until `cond` holds. */
export async function waitFor (what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setImmediate(resolve))
  }
}

