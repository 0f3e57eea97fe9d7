/**
 * Full sync benchmark: the whole simulated world (~477k networks) in one node's store, an empty
 * node syncs it over libp2p on 127.0.0.1, then syncs again (nothing to transfer). Prints one JSON
 * object.
 *
 *   node --import tsx scripts/bench-sync.ts [--data DIR] [--in-process]
 *
 * --data DIR     keep the loaded full store in DIR and reuse it on later runs (loading takes ~15 s)
 * --in-process   run the full node in this process too; by default it runs as a child process
 *                (with this process's node flags), as two nodes would on a real host
 *
 * What dominates (measured with --cpu-prof, 2-core machine): the empty node's store.commit
 * (~13 s of LevelDB batches, hashing and encoding for 477k networks when run alone), then GC;
 * decoding + validateRecords add ~2.5 s. `node --max-semi-space-size=64` cuts GC enough to go
 * from ~16 s to ~13 s.
 */
import '../src/util/polyfill.js'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir, cpus } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createMeshLibp2p } from '../src/mesh/libp2p.js'
import { SyncService } from '../src/mesh/sync/index.js'
import { buildWorld, describeNetwork } from '../src/sim/index.js'
import { NetworkStore } from '../src/store/index.js'
import type { NetworkRecord } from '../src/record/index.js'

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    'in-process': { type: 'boolean', default: false },
    serve: { type: 'string' }
  }
})
const round = (x: number, d = 2): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`bench-sync: ${s}\n`) }

/** loads the simulated world into a store in `dir` unless it is already there */
async function loadWorld (dir: string): Promise<{ networks: number, loadSeconds: number | null }> {
  const existing = await stat(join(dir, 'CURRENT')).then(() => true, () => false)
  const store = await NetworkStore.open({ dataDir: dir })
  try {
    if (existing && store.counts().networks > 0) return { networks: store.counts().networks, loadSeconds: null }
    log('building the simulated world and loading it into the full store…')
    const world = await buildWorld()
    const fetchedAt = Date.now() - 3600_000
    const t = performance.now()
    for (let i = 0; i < world.count; i += 5000) {
      const networks: NetworkRecord[] = []
      for (let j = i; j < Math.min(world.count, i + 5000); j++) {
        const n = describeNetwork(world, j)
        networks.push({
          start: n.start, end: n.end, registry: n.registry, handle: n.handle, name: n.name, org: n.org, country: n.country, cidrs: n.cidrs,
          type: n.type, parentHandle: n.parentHandle, registered: n.registered, lastChanged: n.lastChanged, source: 'rdap', fetchedAt, queryAddress: n.start
        })
      }
      await store.commit({ networks })
    }
    return { networks: store.counts().networks, loadSeconds: round((performance.now() - t) / 1000) }
  } finally {
    await store.close()
  }
}

/** a node serving sync from `dir`; prints its multiaddr */
async function serve (dir: string): Promise<{ addr: Multiaddr, close: () => Promise<void> }> {
  const store = await NetworkStore.open({ dataDir: dir })
  const libp2p = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
  const sync = new SyncService({}, { libp2p, store })
  await sync.start()
  return {
    addr: libp2p.getMultiaddrs()[0],
    close: async () => { await sync.stop(); await libp2p.stop(); await store.close() }
  }
}

async function startChildServer (dir: string): Promise<{ addr: Multiaddr, close: () => Promise<void> }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve', dir], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    child.once('exit', code => { reject(new Error(`full node exited ${String(code)}`)) })
  })
  const exited = new Promise(resolve => child.once('exit', resolve))
  return { addr: multiaddr(first), close: async () => { child.stdin.end(); await exited } }
}

async function main (): Promise<void> {
  if (args.serve !== undefined) {
    const s = await serve(args.serve)
    process.stdout.write(`${s.addr.toString()}\n`)
    process.stdin.resume()
    await new Promise(resolve => process.stdin.once('end', resolve))
    await s.close()
    return
  }
  const tmp = await mkdtemp(join(tmpdir(), 'whoismesh-bench-sync-'))
  try {
    const fullDir = args.data ?? join(tmp, 'full')
    const loaded = await loadWorld(fullDir)
    const server = args['in-process'] ? await serve(fullDir) : await startChildServer(fullDir)
    const store = await NetworkStore.open({ dataDir: join(tmp, 'empty') })
    const libp2p = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    const sync = new SyncService({}, { libp2p, store })
    await sync.start()
    log(`syncing ${loaded.networks} networks into an empty node…`)
    const t = performance.now()
    const first = await sync.syncWith(server.addr)
    const seconds = (performance.now() - t) / 1000
    const second = await sync.syncWith(server.addr)
    // where the receiving node's memory is once it holds the world (MB): V8's heap, buffers, and
    // the rest of the RSS (LevelDB, malloc arenas); again after a full GC when run with --expose-gc
    const memory = (): Record<string, number> => {
      const m = process.memoryUsage()
      const mb = (x: number): number => round(x / 2 ** 20, 1)
      return { rss: mb(m.rss), heap_total: mb(m.heapTotal), heap_used: mb(m.heapUsed), external: mb(m.external), array_buffers: mb(m.arrayBuffers), rest_of_rss: mb(m.rss - m.heapTotal - m.external) }
    }
    const memoryAfterSync = memory()
    if (process.env.BENCH_SYNC_IDLE_S != null) await new Promise(resolve => setTimeout(resolve, Number(process.env.BENCH_SYNC_IDLE_S) * 1000))
    const memoryIdle = memory()
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    const memoryAfterGc = gc != null ? memory() : undefined
    await sync.stop()
    await libp2p.stop()
    await store.close()
    await server.close()
    process.stdout.write(JSON.stringify({
      machine: { cpus: cpus().length, node: process.version },
      full_node: args['in-process'] ? 'same process' : 'child process',
      world_networks: loaded.networks,
      load_s: loaded.loadSeconds,
      full_sync: {
        seconds: round(seconds),
        networks_per_s: Math.round(first.networksReceived / seconds),
        networks_received: first.networksReceived,
        bytes_received: first.bytesReceived,
        bytes_per_network: round(first.bytesReceived / first.networksReceived, 1),
        rounds: first.rounds,
        converged: first.converged
      },
      receiver_memory_mb: { after_sync: memoryAfterSync, idle: memoryIdle, ...(memoryAfterGc != null ? { after_full_gc: memoryAfterGc } : {}) },
      second_sync: {
        ms: second.durationMs,
        records: second.networksReceived + second.negativesReceived + second.networksSent + second.negativesSent,
        bytes: second.bytesReceived + second.bytesSent,
        converged: second.converged
      }
    }, null, 2) + '\n')
  } finally {
    await rm(tmp, { recursive: true, force: true }) // the empty node, and the full store unless --data kept it elsewhere
  }
}

await main()
