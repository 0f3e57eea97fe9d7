/**
 * One peer of scripts/bench-mesh.ts: a Mesh on 127.0.0.1 with its own store, driven by JSON lines
 * on stdin and answering with JSON lines on stdout. Not meant to be run by hand.
 *
 *   node --import tsx scripts/bench-mesh-peer.ts --data DIR [--bootstrap ADDR] [--heartbeat-ms 1000]
 *
 * Records are identified by their index i: the /24 at 8.0.0.0 + i·256 (8/8 is allocated ARIN
 * space, so every record passes validation). The peer keeps, per index, the wall-clock time
 * (Date.now(), shared by all processes on the host) its store first accepted that record, from
 * gossip or from sync, as Mesh's 'records' event reports it.
 *
 * stdin commands (one JSON object a line, `id` echoed in the answer):
 *   { cmd: 'publish', id, from, count, mode: 'flush-each' | 'timer' | 'batched', spacingMs, timeoutMs }
 *       → { type: 'published', id, times: number[] }  publish time of each record ('batched': [t0, tEnd])
 *   { cmd: 'wait', id, from, count, timeoutMs, times }
 *       → { type: 'received', id, have, first, last, gossipRecords, times? } once all `count` records
 *         from `from` are in the store, or at the timeout
 *   { cmd: 'status', id }
 *       → { type: 'status', id, live, connections, nets: { subscribers, mesh }, counts, eventLoopBusy, eventLoopDelayMaxMs }
 *         (event-loop utilization 0…1 and longest event-loop stall, since the previous status)
 *   { cmd: 'stop' }  stops the mesh and exits; so does the end of stdin (the driver died)
 * stdout events: { type: 'ready', peerId, listen }, { type: 'membership', live, t }, { type: 'error', message }
 */
import '../src/util/polyfill.js'
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Mesh } from '../src/mesh/mesh.js'
import { currentTopic } from '../src/mesh/topics.js'
import type { Heartbeat } from '../src/mesh/messages.js'
import { NetworkStore } from '../src/store/index.js'
import type { NetworkRecord } from '../src/record/index.js'
import { REGISTRY_IDS, type RegistryId } from '../src/registry/interface.js'
import { silentLogger } from '../src/util/logger.js'
import { formatIPv4, rangeToCidrs } from '../src/util/ipv4.js'

/** first address of record 0, and how many records fit (the /24s of 8.0.0.0/8) */
export const RECORD_BASE = 8 * 2 ** 24
export const MAX_RECORDS = 2 ** 16

/** The network record with index `i`: 8.0.0.0/24 + i, fetched now. */
export function benchRecord (i: number, now = Date.now()): NetworkRecord {
  const start = RECORD_BASE + i * 256
  const end = start + 255
  return {
    start, end, registry: 'arin', handle: `NET-${formatIPv4(start).replaceAll('.', '-')}-1`, name: `BENCH-${i}`, org: 'Bench Org',
    country: 'US', cidrs: rangeToCidrs(start, end), type: 'ASSIGNMENT', parentHandle: 'NET-8-0-0-0-1', registered: '', lastChanged: '',
    source: 'rdap', fetchedAt: now, queryAddress: start + 1
  }
}

const zeroes = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
/** a static heartbeat body: the bench measures the mesh, not a crawl */
const HEARTBEAT: Omit<Heartbeat, 'peerId' | 'seq' | 'sentAt' | 'listen' | 'light'> = {
  version: 'bench', counters: {}, demand: zeroes, rates: zeroes, backoff: {},
  index: { networks: 0, negatives: 0, digest: '0'.repeat(64) }, sample: { total: 0, resolved: 0 }
}

interface Waiter { from: number, count: number, have: number, withTimes: boolean, done: () => void }

async function main (): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      data: { type: 'string' },
      bootstrap: { type: 'string' },
      'heartbeat-ms': { type: 'string', default: '1000' }
    }
  })
  if (args.data === undefined) throw new Error('--data is required')
  const send = (o: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(o) + '\n') }

  const store = await NetworkStore.open({ dataDir: args.data })
  const mesh = new Mesh({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: args.bootstrap !== undefined ? [args.bootstrap] : [],
    heartbeatIntervalMs: Number(args['heartbeat-ms'])
  }, { privateKey: await generateKeyPair('Ed25519'), store, logger: silentLogger, heartbeat: () => HEARTBEAT })

  /** receive time per record index, 0 = not yet */
  const received = new Float64Array(MAX_RECORDS)
  const waiters = new Set<Waiter>()
  mesh.on('records', (a: { networks: NetworkRecord[] }) => {
    const t = Date.now()
    for (const n of a.networks) {
      const i = (n.start - RECORD_BASE) / 256
      if (!Number.isInteger(i) || i < 0 || i >= MAX_RECORDS || received[i] !== 0) continue
      received[i] = t
      for (const w of waiters) {
        if (i >= w.from && i < w.from + w.count && ++w.have === w.count) w.done()
      }
    }
  })
  mesh.on('membership', (live: string[]) => { send({ type: 'membership', live: live.length, t: Date.now() }) })

  await mesh.start()
  send({ type: 'ready', peerId: mesh.peerId.toString(), listen: mesh.listenAddrs() })

  const wait = async (c: { id: number, from: number, count: number, timeoutMs: number, times?: boolean }): Promise<void> => {
    const gossipBefore = mesh.counts.receivedRecords
    let have = 0
    for (let i = c.from; i < c.from + c.count; i++) if (received[i] !== 0) have++
    const w: Waiter = { from: c.from, count: c.count, have, withTimes: c.times === true, done: () => {} }
    if (have < c.count) {
      const finished = new Promise<void>(resolve => { w.done = resolve })
      waiters.add(w)
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([finished, new Promise<void>(resolve => { timer = setTimeout(resolve, c.timeoutMs) })])
      clearTimeout(timer)
      waiters.delete(w)
    }
    const slice = Array.from(received.subarray(c.from, c.from + c.count))
    const got = slice.filter(t => t !== 0)
    send({
      type: 'received', id: c.id, have: got.length,
      first: got.length > 0 ? Math.min(...got) : null, last: got.length > 0 ? Math.max(...got) : null,
      gossipRecords: mesh.counts.receivedRecords, gossipRecordsDuringWait: mesh.counts.receivedRecords - gossipBefore, storeNetworks: store.counts().networks,
      ...(w.withTimes ? { times: slice } : {})
    })
  }

  const publish = async (c: { id: number, from: number, count: number, mode: string, spacingMs: number, timeoutMs: number }): Promise<void> => {
    const deadline = Date.now() + c.timeoutMs
    const times: number[] = []
    if (c.mode === 'batched') {
      const records = Array.from({ length: c.count }, (_, k) => benchRecord(c.from + k))
      const t0 = Date.now()
      for (const r of records) mesh.publishRecords([r]) // publishRecords flushes by itself at maxBatchRecords
      await mesh.flush()
      times.push(t0, Date.now())
    } else {
      let next = Date.now()
      for (let k = 0; k < c.count && Date.now() < deadline; k++) {
        const r = benchRecord(c.from + k)
        times.push(Date.now())
        mesh.publishRecords([r])
        if (c.mode === 'flush-each') await mesh.flush()
        if (c.spacingMs > 0) {
          next += c.spacingMs
          const delay = next - Date.now()
          if (delay > 0) await new Promise(resolve => setTimeout(resolve, delay))
        }
      }
      if (c.mode === 'timer') await mesh.flush()
    }
    send({ type: 'published', id: c.id, times, published: mesh.counts.published })
  }

  let elu = performance.eventLoopUtilization()
  const delay = monitorEventLoopDelay({ resolution: 20 })
  delay.enable()
  const status = async (c: { id: number }): Promise<void> => {
    const now = performance.eventLoopUtilization()
    const busy = performance.eventLoopUtilization(now, elu).utilization
    elu = now
    const delayMaxMs = delay.max / 1e6
    delay.reset()
    const pubsub = mesh.libp2p.services.pubsub
    const nets = currentTopic('nets')
    // the implementation's mesh degree (not part of the GossipSub interface type)
    const meshPeers = (pubsub as unknown as { getMeshPeers?: (topic: string) => string[] }).getMeshPeers
    send({
      type: 'status', id: c.id, live: mesh.liveFullPeers().length, connections: mesh.libp2p.getConnections().length,
      nets: { subscribers: pubsub.getSubscribers(nets).length, mesh: meshPeers?.call(pubsub, nets).length ?? -1 }, counts: mesh.counts,
      eventLoopBusy: busy, eventLoopDelayMaxMs: delayMaxMs
    })
  }

  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    const force = setTimeout(() => process.exit(0), 5000)
    await mesh.stop().catch(() => {})
    await store.close().catch(() => {})
    clearTimeout(force)
    process.exit(0)
  }
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    let c: any
    try { c = JSON.parse(line) } catch { return }
    const run = c.cmd === 'publish' ? publish(c) : c.cmd === 'wait' ? wait(c) : c.cmd === 'status' ? status(c) : c.cmd === 'stop' ? stop() : Promise.resolve()
    run.catch((err: any) => { send({ type: 'error', id: c.id, message: String(err?.message ?? err) }) })
  })
  lines.on('close', () => { void stop() })
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stdout.write(JSON.stringify({ type: 'error', message: String(err?.stack ?? err) }) + '\n')
    process.exit(1)
  })
}
