/**
 * `whoismesh metrics --bootstrap <addr> [--follow] [--table]`: joins the mesh as a light peer
 * (crawls nothing, owns nothing, stores nothing) and prints the nodes' heartbeats — one JSON line
 * each, like the 2016 metrics topic — or a cluster summary table.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Mesh, type Heartbeat } from '../../mesh/index.js'
import { REGISTRY_IDS, type RegistryId } from '../../registry/interface.js'
import { silentLogger } from '../../util/logger.js'
import { nameListenFailure, parseMultiaddrList } from '../multiaddrs.js'
import { UserError } from '../errors.js'
import { loadSwarmKey } from '../../mesh/swarm-key.js'
import { VERSION } from '../../version.js'

export interface MetricsCommandOptions {
  bootstrap: string
  swarmKey?: string
  follow?: boolean
  table?: boolean
  listen: string
  waitMs: number
}

const ZERO = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>

/** Exit code when no node of the fleet was heard (docs/operating.md, "Exit codes"). */
export const EXIT_NO_NODE = 3

/**
 * Prints the heartbeats heard (until stopped with --follow, else for --wait-ms); resolves to the
 * exit code: 0, or EXIT_NO_NODE when no crawling node was heard (with --follow: by the time it was
 * stopped), said in one line that tells a wrong address from a fleet that is up but silent. The nodes heard are named on stderr, so that
 * stdout stays JSON or the table.
 */
export async function runMetrics (o: MetricsCommandOptions): Promise<number> {
  const bootstrap = parseMultiaddrList('--bootstrap', o.bootstrap, true)
  if (bootstrap.length === 0) throw new UserError('--bootstrap needs at least one peer address')
  const listen = parseMultiaddrList('--listen', o.listen, false)
  const swarmKey = o.swarmKey != null ? await loadSwarmKey(o.swarmKey) : undefined
  const mesh = new Mesh({ listen, bootstrap, light: true, swarmKey }, {
    privateKey: await generateKeyPair('Ed25519'),
    logger: silentLogger,
    heartbeat: () => ({
      version: VERSION,
      counters: {},
      demand: { ...ZERO },
      rates: { ...ZERO },
      backoff: {},
      index: { networks: 0, negatives: 0, digest: '0'.repeat(64) },
      sample: { total: 0, resolved: 0 }
    })
  })
  await mesh.start().catch(err => { throw nameListenFailure(err, { listen: '--listen' }) })
  let stop: () => void = () => {}
  const stopped = new Promise<void>(resolve => { stop = resolve })
  process.once('SIGINT', () => stop())
  process.once('SIGTERM', () => stop())
  process.stdout.on('error', () => stop())
  // peers this light peer was ever connected to: tells "could not connect" from "connected, but silent"
  const connected = new Set<string>()
  mesh.libp2p.addEventListener('peer:connect', (evt) => { connected.add(evt.detail.toString()) })

  const heard = new HeardNodes()
  const latest = heard.latest
  mesh.on('heartbeat', (hb: Heartbeat) => {
    if (hb.light) return
    heard.record(hb)
    if (o.follow === true && o.table !== true) process.stdout.write(JSON.stringify({ receivedAt: new Date().toISOString(), ...hb }) + '\n')
  })
  // once --wait-ms passed with no node heard: the line that says why (the table's redraw would erase it on stderr)
  let silence: string | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  if (o.follow === true && o.table === true) {
    timer = setInterval(() => { process.stdout.write('\x1b[2J\x1b[H' + formatTable(latest, mesh.opts.heartbeatIntervalMs, latest.size === 0 ? silence : undefined)) }, mesh.opts.heartbeatIntervalMs)
  }
  const waited = new Promise<void>(resolve => setTimeout(resolve, o.waitMs))
  if (o.follow === true) {
    // keeps listening; says once that nothing was heard yet, so a wrong address is not taken for a quiet fleet
    void waited.then(() => {
      if (latest.size > 0) return
      silence = `whoismesh: ${nothingHeard(bootstrap, connected.size, o.waitMs)}; still listening`
      process.stderr.write(silence + '\n')
    })
    await stopped
  } else {
    await Promise.race([stopped, waited])
    process.stdout.write(o.table === true ? formatTable(latest, mesh.opts.heartbeatIntervalMs) : JSON.stringify([...latest.values()].map(v => v.hb)) + '\n')
    if (latest.size === 0) process.stderr.write(`whoismesh: ${nothingHeard(bootstrap, connected.size, o.waitMs)}\n`)
    else process.stderr.write(`heard ${latest.size} node${latest.size === 1 ? '' : 's'}: ${[...latest.keys()].sort().join(', ')}\n`)
  }
  if (timer != null) clearInterval(timer)
  await mesh.stop()
  // --follow too: an operator who stopped it without having heard a node learns it from the exit code
  return latest.size === 0 ? EXIT_NO_NODE : 0
}

/** One line: no node heard, and whether the bootstrap peers could be reached at all. */
export function nothingHeard (bootstrap: string[], connectedPeers: number, waitMs: number): string {
  const seconds = `${(waitMs / 1000).toFixed(waitMs % 1000 === 0 ? 0 : 1)} s`
  return connectedPeers === 0
    ? `reached no node: could not connect to ${bootstrap.join(', ')} within ${seconds} (is a node running there, and are the address, its /p2p id and --swarm-key the fleet's?)`
    : `reached no node: connected to ${connectedPeers} peer${connectedPeers === 1 ? '' : 's'}, but none sent a crawling node's heartbeat within ${seconds}`
}

/** A node as the table shows it: its last heartbeat, when it arrived, and the requests per second it sent. */
export interface HeardNode {
  hb: Heartbeat
  /** ms since epoch */
  at: number
  /** registry requests per second the node sent (its `requests` counter over recent heartbeats); undefined until two */
  sentPerSecond?: number
}

/**
 * The crawling nodes heard, each with the rate of registry requests it sent: the growth of the
 * `requests` counter in its heartbeats over about `windowMs` (by its own clock, `sentAt`).
 */
export class HeardNodes {
  readonly latest = new Map<string, HeardNode>()
  private readonly counts = new Map<string, Array<{ sentAt: number, requests: number }>>()

  constructor (private readonly windowMs = 10_000) {}

  record (hb: Heartbeat, now = Date.now()): void {
    const requests = hb.counters.requests
    let seen = this.counts.get(hb.peerId) ?? []
    const last = seen[seen.length - 1]
    if (typeof requests !== 'number') seen = []
    // a restarted node counts on from its last commit, possibly lower: its rate starts again
    else if (last !== undefined && requests < last.requests) seen = [{ sentAt: hb.sentAt, requests }]
    else if (last === undefined || hb.sentAt > last.sentAt) seen.push({ sentAt: hb.sentAt, requests })
    // keep one count at or beyond the window, as its left edge
    while (seen.length > 2 && hb.sentAt - seen[1].sentAt >= this.windowMs) seen.shift()
    this.counts.set(hb.peerId, seen)
    const first = seen[0]
    const newest = seen[seen.length - 1]
    const sentPerSecond = seen.length >= 2 ? (newest.requests - first.requests) * 1000 / (newest.sentAt - first.sentAt) : undefined
    this.latest.set(hb.peerId, { hb, at: now, sentPerSecond })
  }
}

/**
 * Per node: status counts, the registry requests it sent per second beside its share of the
 * budgets of the registries it still has work for ("done" when it has none), index size; totals;
 * ETA. `note` is printed where no node is heard yet.
 */
export function formatTable (latest: Map<string, HeardNode>, heartbeatMs: number, note?: string): string {
  const now = Date.now()
  const rows = [...latest.values()].sort((a, b) => a.hb.peerId.localeCompare(b.hb.peerId))
  const head = ['node', 'live', 'got', 'within', 'failed', 'unalloc', 'ratelim', 'lookups', 'sent/s', 'share/s', 'networks', 'resolved', 'digest']
  const lines = [head.map((h, i) => i === 0 ? h.padEnd(14) : h.padStart(9)).join(' ')]
  let lookups = 0
  let sent = 0
  let networks = 0
  let resolved = 0
  let total = 0
  for (const { hb, at, sentPerSecond } of rows) {
    const c = hb.counters
    const working = REGISTRY_IDS.filter(id => (hb.demand[id] ?? 0) > 0)
    const share = working.reduce((s, id) => s + (hb.rates[id] ?? 0), 0)
    lookups += c.lookups ?? 0
    sent += sentPerSecond ?? 0
    networks = Math.max(networks, hb.index.networks)
    resolved = Math.max(resolved, hb.sample.resolved)
    total = Math.max(total, hb.sample.total)
    const cells = [
      hb.peerId.slice(-12),
      now - at <= 3 * heartbeatMs ? 'yes' : 'no',
      c.gotWhois ?? 0, c.withinKnownBlock ?? 0, c.failed ?? 0, c.unallocated ?? 0, c.rateLimited ?? 0, c.lookups ?? 0,
      sentPerSecond === undefined ? '-' : sentPerSecond.toFixed(1), working.length === 0 ? 'done' : share.toFixed(1),
      hb.index.networks, `${hb.sample.resolved}/${hb.sample.total}`, hb.index.digest.slice(0, 8)
    ]
    lines.push(cells.map((v, i) => i === 0 ? String(v).padEnd(14) : String(v).padStart(9)).join(' '))
  }
  if (rows.length === 0 && note !== undefined) lines.push(note)
  const digests = new Set(rows.map(r => r.hb.index.digest))
  lines.push('')
  lines.push(`nodes ${rows.length}   lookups ${lookups}   sent ${sent.toFixed(1)} req/s   networks ${networks}   sample ${resolved}/${total}   digests ${digests.size === 1 ? 'identical' : `${digests.size} different`}`)
  const eta = estimateEta(rows.map(r => r.hb))
  if (eta != null) lines.push(`ETA ${eta}`)
  return lines.join('\n') + '\n'
}

/** Time left at the fleet's current lookup rate, from the heartbeats' queued demand. */
function estimateEta (hbs: Heartbeat[]): string | undefined {
  let worst = 0
  for (const id of REGISTRY_IDS) {
    let demand = 0
    let rate = 0
    for (const hb of hbs) { demand += hb.demand[id] ?? 0; rate += (hb.demand[id] ?? 0) > 0 ? hb.rates[id] ?? 0 : 0 }
    if (demand > 0 && rate > 0) worst = Math.max(worst, demand / rate)
  }
  if (worst === 0) return undefined
  const s = Math.round(worst)
  return s < 120 ? `${s} s (upper bound: every queued address looked up)` : `${Math.round(s / 60)} min (upper bound: every queued address looked up)`
}
