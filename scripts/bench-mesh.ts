/**
 * Mesh benchmark with real processes on 127.0.0.1: N peers (scripts/bench-mesh-peer.ts), each a
 * Mesh with its own LevelDB store, bootstrapped from the first one. Prints one JSON object on
 * stdout (and to --out FILE); progress, and a short summary unless --json, on stderr.
 *
 *   node --import tsx scripts/bench-mesh.ts [--peers 12] [--records 200] [--spacing-ms 20]
 *     [--throughput-records 20000] [--unbatched-records 500] [--skip-sync] [--json] [--out FILE]
 *
 * 1. membership: time until every peer sees all N live (heartbeats every --heartbeat-ms), then
 *    single-record probes until two in a row reach everyone quickly (start-up keeps the CPUs busy).
 * 2. gossip latency: peer 0 publishes --records new networks one at a time, --spacing-ms apart;
 *    every peer notes (Date.now(), one clock for all processes) when its store accepted each one.
 *    Per record: time from publishRecords until the LAST peer had it; p50/p99/max over records
 *    and the share delivered to all peers. Twice: `flush-each` (publishRecords + flush(): the
 *    network's latency) and `timer` (publishRecords alone: the default flushIntervalMs batching
 *    that a crawling node adds on top). At 20 ms one message per record is more than 12 processes
 *    on two cores carry, so a third run, 50 records 200 ms apart, gives the unqueued latency.
 * 3. throughput, fully delivered: --throughput-records records through publishRecords as fast as
 *    it batches them (messages of maxBatchRecords), against --unbatched-records records sent one
 *    message each (flush() after every publishRecords; fewer by default, as one message per record
 *    runs at tens of records/s here). Records/s = records ÷ (first publish → the last peer holding
 *    the last record); the ratio batched ÷ unbatched of those rates.
 * 4. late joiner: scripts/bench-sync.ts (spawned: it runs itself when imported) — an empty node
 *    syncs the full simulated world (~477k networks) from a node that has it.
 *
 * Every wait is bounded; all peers are killed on exit, failure or signal. Records can reach a peer
 * by gossip or by the catch-up sync (Mesh syncs with a random peer every 30 s);
 * `gossip_records_min_per_peer` says how many came by gossip. `membership_drops` counts, per phase,
 * membership events in which a peer saw fewer than all N live (heartbeats late under load).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { rmSync } from 'node:fs'
import { tmpdir, cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { checkNetworkRecord } from '../src/mesh/validation.js'
import { benchRecord, MAX_RECORDS } from './bench-mesh-peer.js'

const { values: args } = parseArgs({
  options: {
    peers: { type: 'string', default: '12' },
    records: { type: 'string', default: '200' },
    'spacing-ms': { type: 'string', default: '20' },
    'throughput-records': { type: 'string', default: '20000' },
    'unbatched-records': { type: 'string', default: '500' },
    'heartbeat-ms': { type: 'string', default: '1000' },
    'skip-sync': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    out: { type: 'string' }
  }
})

function intArg (name: keyof typeof args, min: number, max: number): number {
  const v = Number(args[name])
  if (!Number.isInteger(v) || v < min || v > max) {
    process.stderr.write(`bench-mesh: --${name} must be an integer in ${min}…${max}, got "${String(args[name])}"\n`)
    process.exit(2)
  }
  return v
}
const PEERS = intArg('peers', 2, 64)
const RECORDS = intArg('records', 1, 5000)
const SPACING_MS = intArg('spacing-ms', 0, 10_000)
const THROUGHPUT_RECORDS = intArg('throughput-records', 1, 40_000)
const UNBATCHED_RECORDS = intArg('unbatched-records', 1, 20_000)
const HEARTBEAT_MS = intArg('heartbeat-ms', 100, 10_000)
if (2 * RECORDS + THROUGHPUT_RECORDS + UNBATCHED_RECORDS + 100 > MAX_RECORDS) {
  process.stderr.write(`bench-mesh: at most ${MAX_RECORDS} records in all (the /24s of 8.0.0.0/8)\n`)
  process.exit(2)
}

const PEER_SCRIPT = fileURLToPath(new URL('./bench-mesh-peer.ts', import.meta.url))
const SYNC_SCRIPT = fileURLToPath(new URL('./bench-sync.ts', import.meta.url))
/** bounds of every wait */
const LIMITS = { startMs: 150_000, membershipMs: 90_000, deliverySlackMs: 20_000, throughputMs: 45_000, stopMs: 10_000, syncMs: 150_000 }

/** settling after start-up: at most maxProbes single-record probes within maxMs; settled when two in a row reach all within quickMs */
const SETTLE = { maxProbes: 30, maxMs: 30_000, probeTimeoutMs: 10_000, quickMs: 300 }

/** the light-load latency run: one message per record, slow enough that nothing queues */
const LIGHT = { records: 50, spacingMs: 200 }

const round = (x: number, d = 1): number => Number(x.toFixed(d))
const log = (s: string): void => { process.stderr.write(`bench-mesh: ${s}\n`) }

// ------------------------------------------------------------ child processes

/** what the bench is doing, to tag membership drops with */
let phase = 'start'

const children = new Set<ChildProcess>()
/** the peers' data directories, removed however the bench ends */
let tempDir: string | undefined
function killChildren (): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true })
}
process.on('exit', killChildren)
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { killChildren(); process.exit(130) })

function spawnTracked (argv: string[], stdio: Array<'pipe' | 'ignore' | 'inherit'>): ChildProcess {
  const child = spawn(process.execPath, argv, { stdio: stdio as any })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

function withTimeout<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms) })
  ])
}

/** A bench-mesh-peer process, spoken to in JSON lines. */
class Peer {
  readonly child: ChildProcess
  peerId = ''
  listen: string[] = []
  live = 0
  /** membership events that showed fewer than all peers after everyone had seen everyone */
  drops: Array<{ live: number, t: number, phase: string }> = []
  fullSince = 0
  private nextId = 1
  private readonly pending = new Map<number, (m: any) => void>()
  private readonly listeners = new Set<(m: any) => void>()
  readonly ready: Promise<void>
  readonly exited: Promise<number | null>
  stderrTail = ''

  constructor (readonly index: number, dataDir: string, bootstrap?: string) {
    this.child = spawnTracked(['--import', 'tsx', PEER_SCRIPT, '--data', dataDir, '--heartbeat-ms', String(HEARTBEAT_MS),
      ...(bootstrap !== undefined ? ['--bootstrap', bootstrap] : [])], ['pipe', 'pipe', 'pipe'])
    this.exited = new Promise(resolve => this.child.once('exit', code => resolve(code)))
    this.child.stdin!.on('error', () => {}) // EPIPE once it died: reported through `exited`
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderrTail = (this.stderrTail + d).slice(-3000) })
    this.ready = new Promise<void>((resolve, reject) => {
      this.listeners.add((m) => {
        if (m.type === 'ready') { this.peerId = m.peerId; this.listen = m.listen; resolve() }
        if (m.type === 'error' && m.id === undefined) reject(new Error(`peer ${index}: ${String(m.message)}`))
      })
      void this.exited.then(code => reject(new Error(`peer ${index} exited ${String(code)} before it was ready: ${this.stderrTail.slice(-1500)}`)))
    })
    this.ready.catch(() => {})
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let m: any
      try { m = JSON.parse(line) } catch { return }
      if (m.type === 'membership') {
        this.live = m.live
        if (this.fullSince > 0 && m.live < PEERS) this.drops.push({ live: m.live, t: m.t, phase })
      }
      if (m.id !== undefined && this.pending.has(m.id)) {
        const r = this.pending.get(m.id)!
        this.pending.delete(m.id)
        r(m)
      }
      for (const l of this.listeners) l(m)
    })
  }

  onMessage (l: (m: any) => void): () => void {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }

  async request (cmd: Record<string, unknown>, timeoutMs: number): Promise<any> {
    const id = this.nextId++
    const answer = new Promise<any>((resolve, reject) => {
      this.pending.set(id, (m) => { if (m.type === 'error') reject(new Error(`peer ${this.index}: ${String(m.message)}`)); else resolve(m) })
      void this.exited.then(code => reject(new Error(`peer ${this.index} exited ${String(code)}: ${this.stderrTail.slice(-1500)}`)))
    })
    this.child.stdin!.write(JSON.stringify({ ...cmd, id }) + '\n')
    return await withTimeout(answer, timeoutMs, `peer ${this.index} ${String(cmd.cmd)}`)
  }

  async stop (): Promise<void> {
    if (this.child.exitCode !== null) return
    this.child.stdin!.end(JSON.stringify({ cmd: 'stop' }) + '\n')
    await withTimeout(this.exited, LIMITS.stopMs, `peer ${this.index} stop`).catch(() => { this.child.kill('SIGKILL') })
  }
}

// ------------------------------------------------------------ measurements

function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
}

/** Connections and nets-topic mesh degree of every peer, as [min, max]. */
async function topology (peers: Peer[]): Promise<Record<string, unknown>> {
  const st = await Promise.all(peers.map(async p => await p.request({ cmd: 'status' }, 10_000).catch(() => undefined)))
  const ok = st.filter(s => s != null)
  if (ok.length === 0) return { answered: 0 }
  const range = (f: (s: any) => number): [number, number] => [Math.min(...ok.map(f)), Math.max(...ok.map(f))]
  return {
    answered: ok.length,
    live: range(s => s.live),
    connections: range(s => s.connections),
    nets_subscribers: range(s => s.nets.subscribers),
    nets_mesh_degree: range(s => s.nets.mesh),
    event_loop_busy: range(s => round(s.eventLoopBusy, 2)),
    event_loop_stall_max_ms: range(s => Math.round(s.eventLoopDelayMaxMs)),
    gossip_rejected: ok.reduce((n, s) => n + (s.counts.rejected as number), 0),
    gossip_ignored: ok.reduce((n, s) => n + (s.counts.ignored as number), 0)
  }
}

/** Waits until every peer reports all PEERS live; returns ms from `since`. */
async function waitMembership (peers: Peer[], since: number): Promise<number> {
  const full = (): boolean => peers.every(p => p.live >= PEERS)
  if (!full()) {
    const offs: Array<() => void> = []
    try {
      await withTimeout(new Promise<void>(resolve => {
        for (const p of peers) offs.push(p.onMessage(m => { if (m.type === 'membership' && full()) resolve() }))
      }), LIMITS.membershipMs, 'membership of all peers')
    } catch (err: any) {
      throw new Error(`${String(err.message)}; live seen by each: ${peers.map(p => p.live).join(',')}; ${JSON.stringify(await topology(peers))}`)
    } finally {
      for (const off of offs) off()
    }
  }
  const now = Date.now()
  for (const p of peers) p.fullSince = now
  return now - since
}

interface Delivery { times: number[][], have: number[], gossipRecords: number[], last: Array<number | null>, storeNetworks: number[] }

/** Asks every receiver to answer once it holds records [from, from+count) or at `timeoutMs`. */
function awaitDelivery (receivers: Peer[], from: number, count: number, timeoutMs: number, withTimes: boolean): Promise<Delivery> {
  return Promise.all(receivers.map(async p => await p.request({ cmd: 'wait', from, count, timeoutMs, times: withTimes }, timeoutMs + 10_000)))
    .then(answers => ({
      times: answers.map(a => a.times ?? []),
      have: answers.map(a => a.have),
      gossipRecords: answers.map(a => a.gossipRecordsDuringWait),
      last: answers.map(a => a.last),
      storeNetworks: answers.map(a => a.storeNetworks)
    }))
}

/** One latency run: `count` records from index `from`, one every SPACING_MS, in `mode`. */
async function latencyRun (publisher: Peer, receivers: Peer[], from: number, count: number, mode: 'flush-each' | 'timer', spacingMs = SPACING_MS, slackMs = LIMITS.deliverySlackMs): Promise<Record<string, unknown>> {
  const timeoutMs = count * spacingMs + slackMs
  const delivery = awaitDelivery(receivers, from, count, timeoutMs, true)
  delivery.catch(() => {}) // awaited below; a receiver dying while we publish must not be an unhandled rejection
  const published = await publisher.request({ cmd: 'publish', from, count, mode, spacingMs, timeoutMs }, timeoutMs + 10_000)
  const d = await delivery
  const sent: number[] = published.times
  const toAll: number[] = []
  const perPeerAll: number[] = []
  let deliveredToAll = 0
  let deliveries = 0
  for (let k = 0; k < sent.length; k++) {
    let worst = 0
    let everyone = true
    for (const times of d.times) {
      if (times[k] === 0) { everyone = false; continue }
      deliveries++
      perPeerAll.push(times[k] - sent[k])
      worst = Math.max(worst, times[k] - sent[k])
    }
    if (everyone) { deliveredToAll++; toAll.push(worst) }
  }
  // queueing shows as a latency that grows along the run
  const quarter = Math.max(1, Math.floor(toAll.length / 4))
  const median = (xs: number[]): number => quantile([...xs].sort((a, b) => a - b), 0.5)
  const trend = { first_quarter_p50: median(toAll.slice(0, quarter)), last_quarter_p50: median(toAll.slice(-quarter)) }
  toAll.sort((a, b) => a - b)
  perPeerAll.sort((a, b) => a - b)
  return {
    mode,
    records_published: sent.length,
    spacing_ms: spacingMs,
    to_last_peer_ms: { p50: quantile(toAll, 0.5), p99: quantile(toAll, 0.99), max: toAll.at(-1) ?? null, mean: round(toAll.reduce((s, x) => s + x, 0) / Math.max(1, toAll.length)) },
    to_last_peer_trend_ms: trend,
    to_each_peer_ms: { p50: quantile(perPeerAll, 0.5), p99: quantile(perPeerAll, 0.99), max: perPeerAll.at(-1) ?? null },
    delivered_to_all_peers: round(deliveredToAll / count, 4),
    deliveries: round(deliveries / (count * receivers.length), 4),
    gossip_records_min_per_peer: Math.min(...d.gossipRecords),
    publisher_messages: published.published
  }
}

/** One throughput run: `count` records batched by publishRecords, or one message each. */
async function throughputRun (publisher: Peer, receivers: Peer[], from: number, count: number, mode: 'batched' | 'flush-each'): Promise<Record<string, unknown>> {
  const timeoutMs = LIMITS.throughputMs
  const delivery = awaitDelivery(receivers, from, count, timeoutMs, false)
  delivery.catch(() => {}) // awaited below
  const published = await publisher.request({ cmd: 'publish', from, count, mode, spacingMs: 0, timeoutMs }, timeoutMs + 10_000)
  const d = await delivery
  const t0: number = published.times[0]
  const tPublished: number = published.times.at(-1)
  const complete = d.have.every(h => h === count)
  const lastAt = Math.max(...d.last.map(t => t ?? 0))
  const seconds = (lastAt - t0) / 1000
  const delivered = d.have.reduce((s, h) => s + h, 0)
  return {
    mode: mode === 'batched' ? 'batched (publishRecords)' : 'one message per record (flush after each)',
    records: count,
    publish_s: round((tPublished - t0) / 1000, 3),
    delivered_to_all_s: complete ? round(seconds, 3) : null,
    records_per_s_delivered_to_all: complete ? Math.round(count / seconds) : null,
    deliveries: round(delivered / (count * receivers.length), 4),
    slowest_peer_records: Math.min(...d.have),
    gossip_records_min_per_peer: Math.min(...d.gossipRecords),
    gossip_messages_published: published.published,
    store_networks_per_peer: [Math.min(...d.storeNetworks), Math.max(...d.storeNetworks)]
  }
}

async function benchSync (): Promise<Record<string, unknown>> {
  log('late joiner: scripts/bench-sync.ts (loads the simulated world, then an empty node syncs it)…')
  const child = spawnTracked(['--import', 'tsx', SYNC_SCRIPT], ['ignore', 'pipe', 'pipe'])
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-3000) })
  const t = performance.now()
  const code = await withTimeout(new Promise<number | null>(resolve => child.once('exit', resolve)), LIMITS.syncMs, 'bench-sync')
    .catch((e) => { child.kill('SIGKILL'); throw e })
  if (code !== 0) throw new Error(`bench-sync exited ${String(code)}: ${err}`)
  const r = JSON.parse(out)
  return { ...r, process_wall_s: round((performance.now() - t) / 1000, 1) }
}

/** a few lines for a person reading the terminal (left out with --json) */
function summary (r: any): string {
  const l = r.latency?.flushed_each
  const tp = r.throughput
  return [
    `membership: all ${String(r.membership?.peers)} see all in ${String(r.membership?.all_see_all_ms)} ms`,
    r.latency != null ? `latency to last peer, light load: p50 ${String(r.latency.flushed_each_light_load.to_last_peer_ms.p50)} ms, p99 ${String(r.latency.flushed_each_light_load.to_last_peer_ms.p99)} ms; default flush timer: p50 ${String(r.latency.default_flush_timer.to_last_peer_ms.p50)} ms` : '',
    l != null ? `latency to last peer (flushed, 20 ms apart): p50 ${String(l.to_last_peer_ms.p50)} ms, p99 ${String(l.to_last_peer_ms.p99)} ms, max ${String(l.to_last_peer_ms.max)} ms; delivered to all ${String(l.delivered_to_all_peers)}` : '',
    tp != null ? `throughput to all: batched ${String(tp.batched.records_per_s_delivered_to_all)} records/s, unbatched ${String(tp.unbatched.records_per_s_delivered_to_all)} records/s, ratio ${String(tp.batched_vs_unbatched)}` : '',
    r.late_joiner_sync != null ? `late joiner: ${String(r.late_joiner_sync.world_networks)} networks synced in ${String(r.late_joiner_sync.full_sync?.seconds)} s` : ''
  ].filter(s => s !== '').join('\n  ')
}

// ------------------------------------------------------------ main

async function main (): Promise<Record<string, unknown>> {
  const check = checkNetworkRecord(benchRecord(MAX_RECORDS - 1))
  if (check.result !== 'accept') throw new Error(`bench records do not pass validation: ${check.reason}: ${check.detail}`)
  const tStart = Date.now()
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg_1m_at_start: round(loadavg()[0], 2) },
    command: `node --import tsx scripts/bench-mesh.ts --peers ${PEERS} --records ${RECORDS} --spacing-ms ${SPACING_MS} --throughput-records ${THROUGHPUT_RECORDS} --unbatched-records ${UNBATCHED_RECORDS} --heartbeat-ms ${HEARTBEAT_MS}`
  }
  const dir = tempDir = await mkdtemp(join(tmpdir(), 'whoismesh-bench-mesh-'))
  const peers: Peer[] = []
  try {
    log(`starting ${PEERS} peers…`)
    const t0 = Date.now()
    peers.push(new Peer(0, join(dir, 'p0')))
    await withTimeout(peers[0].ready, LIMITS.startMs, 'peer 0 start')
    const bootstrap = peers[0].listen.find(a => a.startsWith('/ip4/127.0.0.1/')) ?? peers[0].listen[0]
    for (let i = 1; i < PEERS; i++) peers.push(new Peer(i, join(dir, `p${i}`), bootstrap))
    await withTimeout(Promise.all(peers.map(async p => await p.ready)), LIMITS.startMs, 'peers start')
    const startedMs = Date.now() - t0
    log(`all started in ${startedMs} ms; waiting until every peer sees all ${PEERS} live…`)
    const membershipMs = await waitMembership(peers, t0)
    result.membership = { peers: PEERS, heartbeat_ms: HEARTBEAT_MS, processes_ready_ms: startedMs, all_see_all_ms: membershipMs, after_ready_ms: membershipMs - startedMs }
    result.topology_at_membership = await topology(peers)

    const [publisher, ...receivers] = peers
    let next = 0
    const take = (n: number): number => { const from = next; next += n; return from }
    // settle: start-up (module loading, dials, first syncs) keeps the CPUs busy for a while after
    // membership; probe with one record at a time until two in a row reach every peer quickly
    phase = 'settle'
    const tSettle = Date.now()
    const probes: number[] = []
    for (let k = 0; k < SETTLE.maxProbes && Date.now() - tSettle < SETTLE.maxMs; k++) {
      const probe = await latencyRun(publisher, receivers, take(1), 1, 'flush-each', 0, SETTLE.probeTimeoutMs)
      probes.push((probe.to_last_peer_ms as { max: number | null }).max ?? -1)
      if (probes.length >= 2 && probes.slice(-2).every(ms => ms >= 0 && ms <= SETTLE.quickMs)) break
    }
    result.settle = { ms: Date.now() - tSettle, probes_to_last_peer_ms: probes, settled: probes.length >= 2 && probes.slice(-2).every(ms => ms >= 0 && ms <= SETTLE.quickMs) }
    result.topology_before_runs = await topology(peers)

    /** runs one phase; adds the peers' event-loop load during it (status resets the counters) */
    const measured = async (name: string, run: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> => {
      phase = name
      await topology(peers)
      const r = await run()
      const t = await topology(peers)
      return { ...r, peers_event_loop_busy: t.event_loop_busy, peers_event_loop_stall_max_ms: t.event_loop_stall_max_ms }
    }
    log(`gossip latency: ${RECORDS} records, one every ${SPACING_MS} ms, flushed one by one…`)
    const flushed = await measured('latency (flush each)', async () => await latencyRun(publisher, receivers, take(RECORDS), RECORDS, 'flush-each'))
    log(`gossip latency: ${RECORDS} records, one every ${SPACING_MS} ms, with the default flush timer…`)
    const timer = await measured('latency (flush timer)', async () => await latencyRun(publisher, receivers, take(RECORDS), RECORDS, 'timer'))
    log(`gossip latency: ${LIGHT.records} records, one every ${LIGHT.spacingMs} ms, flushed one by one (light load)…`)
    const light = await measured('latency (light)', async () => await latencyRun(publisher, receivers, take(LIGHT.records), LIGHT.records, 'flush-each', LIGHT.spacingMs))
    result.latency = { flushed_each: flushed, default_flush_timer: timer, flushed_each_light_load: light }

    log(`throughput: ${THROUGHPUT_RECORDS} records batched by publishRecords…`)
    const batched = await measured('throughput (batched)', async () => await throughputRun(publisher, receivers, take(THROUGHPUT_RECORDS), THROUGHPUT_RECORDS, 'batched'))
    log(`throughput: ${UNBATCHED_RECORDS} records, one message each…`)
    const unbatched = await measured('throughput (unbatched)', async () => await throughputRun(publisher, receivers, take(UNBATCHED_RECORDS), UNBATCHED_RECORDS, 'flush-each'))
    const rb = batched.records_per_s_delivered_to_all as number | null
    const ru = unbatched.records_per_s_delivered_to_all as number | null
    result.throughput = { batched, unbatched, batched_vs_unbatched: rb != null && ru != null ? round(rb / ru, 1) : null }
    phase = 'end'
    result.topology_at_end = await topology(peers)
    // a drop: a peer's membership event listing fewer than all peers (heartbeats late by > liveIntervals)
    const drops: Record<string, { events: number, peers: number, min_live: number }> = {}
    for (const p of peers) {
      for (const d of p.drops) {
        const e = drops[d.phase] ??= { events: 0, peers: 0, min_live: PEERS }
        e.events++
        e.min_live = Math.min(e.min_live, d.live)
      }
      for (const ph of new Set(p.drops.map(d => d.phase))) drops[ph].peers++
    }
    result.membership_drops = drops
    result.mesh_phase_s = round((Date.now() - tStart) / 1000, 1)
  } finally {
    await Promise.all(peers.map(async p => await p.stop()))
    await rm(dir, { recursive: true, force: true })
    tempDir = undefined
  }
  result.machine = { ...(result.machine as object), loadavg_1m_after_mesh: round(loadavg()[0], 2) }
  if (args['skip-sync'] !== true) result.late_joiner_sync = await benchSync()
  result.total_s = round((Date.now() - tStart) / 1000, 1)
  return result
}

try {
  const result = await main()
  const json = JSON.stringify(result, null, 2)
  process.stdout.write(json + '\n')
  if (args.out !== undefined) await writeFile(args.out, json + '\n')
  if (args.json !== true) log(summary(result))
} catch (err: any) {
  log(`failed: ${String(err?.message ?? err)}`)
  killChildren()
  process.exitCode = 1
}
