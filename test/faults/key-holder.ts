/**
 * The hostile scenarios' setting: the simulator, a fleet key, three honest `whoismesh node start`
 * processes in a private mesh, and peers holding the key — in-test libp2p nodes built with the
 * project's own createMeshLibp2p, speaking gossipsub directly (not through the Mesh class), so they
 * can publish anything a key holder can, signed by their own peer ids.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { startSimulator, writeRegistriesFile, type Simulator } from '../../src/sim/index.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { parseSwarmKey } from '../../src/mesh/swarm-key.js'
import { currentTopic } from '../../src/mesh/topics.js'
import { encodeMessage, type Heartbeat } from '../../src/mesh/messages.js'
import { runCli, waitFor } from '../helpers/cli.js'
import { startNode, waitForLog, type FleetNode } from '../helpers/fleet.js'

export const NETS = currentTopic('nets')
export const METRICS = currentTopic('metrics')

export interface KeyedSetting { sim: Simulator, dir: string, registries: string, swarmKeyFile: string, swarmKey: Uint8Array }

/** The simulator at `budget`, its registries file and a new fleet key, in a temp dir named after `prefix`. */
export async function keyedSetting (prefix: string, budget: string): Promise<KeyedSetting> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  const sim = await startSimulator({ budgetPerSecond: budget })
  const registries = join(dir, 'registries.json')
  await writeRegistriesFile(sim, registries)
  const swarmKeyFile = join(dir, 'swarm.key')
  const made = await runCli(['swarm-key', '--out', swarmKeyFile])
  assert.equal(made.code, 0, made.stderr)
  return { sim, dir, registries, swarmKeyFile, swarmKey: parseSwarmKey(await readFile(swarmKeyFile, 'utf8'), swarmKeyFile) }
}

export type HonestNode = FleetNode & { metricsPort: number }

/**
 * Starts h0 (the bootstrap), h1 and h2 crawling `sampleLimit` addresses at `budget`, each with a
 * metrics port, pushing them to `honest` as they start; resolves once each counts the other two.
 */
export async function startHonestFleet (s: KeyedSetting, o: { budget: string, sampleLimit: number, extraArgs?: string[] }, honest: HonestNode[]): Promise<void> {
  // each node binds a metrics port of the OS's choice and says which in "node ready": a port
  // picked free beforehand could be taken by another process before the node binds it
  const start = (name: string, bootstrap?: string[]): HonestNode => {
    const n = Object.assign(startNode({ dir: s.dir, registries: s.registries, sampleLimit: o.sampleLimit, name, bootstrap, extraArgs: ['--swarm-key', s.swarmKeyFile, '--budget', o.budget, '--metrics-port', '0', ...(o.extraArgs ?? [])] }), { metricsPort: 0 })
    honest.push(n)
    return n
  }
  const ready = async (n: HonestNode): Promise<void> => {
    const line = await waitForLog(n, 'node ready', 30_000)
    n.metricsPort = line.metricsPort
  }
  const boot = start('h0')
  await ready(boot)
  const others = [start('h1', [boot.listen![0]]), start('h2', [boot.listen![0]])]
  await Promise.all(others.map(ready))
  await waitFor(async () => (await Promise.all(honest.map(livePeers))).every(c => c === 2), 30_000, 'the honest nodes to see each other')
}

/** the live peers a node counts (whoismesh_live_peers) */
export async function livePeers (n: { metricsPort: number }): Promise<number> {
  return series(await scrape(n.metricsPort), 'whoismesh_live_peers')
}

/** A full crawler's heartbeat with work at ARIN (what any key holder can claim), `over` replacing fields. */
export function crawlerHeartbeat (peerId: string, seq: number, sampleTotal: number, over: Partial<Heartbeat> = {}): Uint8Array {
  const hb: Heartbeat = {
    peerId,
    seq,
    sentAt: Date.now(),
    version: '0.1.0',
    light: false,
    listen: [],
    counters: {},
    demand: { arin: 500, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 },
    rates: { arin: 1, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 },
    backoff: {},
    index: { networks: 0, negatives: 0, digest: '0'.repeat(64) },
    sample: { total: sampleTotal, resolved: 0 },
    ...over
  }
  return encodeMessage(hb)
}

/** A new identity holding `swarmKey`, connected to every node of `honest` and subscribed to both topics. */
export async function keyHolder (swarmKey: Uint8Array, honest: FleetNode[]): Promise<MeshLibp2p> {
  const l = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], swarmKey })
  l.services.pubsub.subscribe(NETS)
  l.services.pubsub.subscribe(METRICS)
  for (const n of honest) await l.dial(multiaddr(n.listen![0]), { signal: AbortSignal.timeout(10_000) })
  const ids = honest.map(n => n.peerId!)
  // gossipsub sends only over its own outbound stream to a peer, opened a moment after the
  // connection; its map of them is not on the published interface
  const outbound = (l.services.pubsub as unknown as { streamsOutbound: Map<string, unknown> }).streamsOutbound
  await waitFor(() => ids.every(id => outbound.has(id)) && [NETS, METRICS].every(t => {
    const subs = new Set(l.services.pubsub.getSubscribers(t).map(String))
    return ids.every(id => subs.has(id))
  }), 20_000, 'the key holder\'s gossip streams to, and the subscriptions of, every honest node')
  return l
}

/** Publishes through gossipsub; the message must go out to every node of `honest`. */
export async function publishToAll (l: MeshLibp2p, topic: string, data: Uint8Array, honest: FleetNode[], what: string): Promise<void> {
  const r = await l.services.pubsub.publish(topic, data)
  const to = new Set(r.recipients.map(String))
  for (const n of honest) assert.ok(to.has(n.peerId!), `${what} was not sent to ${n.name}`)
}

/** Prometheus text of a node's metrics endpoint. */
export async function scrape (port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })
  assert.equal(res.status, 200)
  return await res.text()
}

/** the value of one series (`name{labels}` exactly as exposed), 0 when absent */
export function series (text: string, key: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(key + ' ')) return Number(line.slice(key.length + 1))
  }
  return 0
}
