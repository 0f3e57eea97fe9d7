/**
 * The mesh: a libp2p node that gossips new records (`nets`) and heartbeats (`metrics`), keeps the
 * table of live peers from their heartbeats, and dials the peers it learns about so the fleet is
 * not a star around the bootstrap node (which may die).
 *
 * Events: 'records' (records from peers, as committed to the store: { networks, negatives }),
 * 'heartbeat' (a peer's validated Heartbeat), 'membership' (the set of live peers changed),
 * 'departed' (a peer said goodbye: its id).
 */
import { EventEmitter } from 'node:events'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { NetworkRecord } from '../lookup/interface.js'
import type { NegativeRecord, NetworkStore, CommitResult } from '../store/index.js'
import type { Logger } from '../util/logger.js'
import { createMeshLibp2p, GOSSIP_SCORE_THRESHOLDS, type MeshLibp2p } from './libp2p.js'
import { currentTopic } from './topics.js'
import { encodeMessage, type Heartbeat } from './messages.js'
import { validateGossip, VALIDATION_LIMITS, type InboundMessage } from './validation.js'
import { SyncService } from './sync/index.js'
import type { SyncMetrics } from './sync/metrics.js'
import { backoffMs } from '../util/backoff.js'

export interface MeshOptions {
  /** multiaddrs to listen on (default /ip4/0.0.0.0/tcp/4001) */
  listen: string[]
  /** peers to dial first, with /p2p/<id> */
  bootstrap: string[]
  /** between two heartbeats (default 2000) */
  heartbeatIntervalMs: number
  /** a peer is live while its last heartbeat is younger than this many intervals (default 3) */
  liveIntervals: number
  /** nets batches are flushed at least this often (default 250) */
  flushIntervalMs: number
  /** records per nets message, below the validation limit (default 2000) */
  maxBatchRecords: number
  /** encoded bytes per nets message, well below gossipsub's 4 MiB (default 512 KiB) */
  maxBatchBytes: number
  /** connections each node tries to keep to other full peers (default 6) */
  targetPeers: number
  /** a light peer (metrics --follow) crawls nothing and owns no addresses */
  light: boolean
  /** catch-up sync with a random connected peer this often (default 30000) */
  syncIntervalMs: number
  /** the fleet's private-network key (swarm-key.ts); undefined = an open mesh */
  swarmKey?: Uint8Array
}

export const defaultMeshOptions: MeshOptions = {
  listen: ['/ip4/0.0.0.0/tcp/4001'],
  bootstrap: [],
  heartbeatIntervalMs: 2000,
  liveIntervals: 3,
  flushIntervalMs: 250,
  maxBatchRecords: 2000,
  maxBatchBytes: 512 * 1024,
  targetPeers: 6,
  light: false,
  syncIntervalMs: 30_000
}

export interface MeshModules {
  privateKey: PrivateKey
  /** where records from peers are committed (absent for light peers) */
  store?: NetworkStore
  logger: Logger
  /** builds this node's heartbeat (without peerId/seq/sentAt/listen, filled in here) */
  heartbeat: () => Omit<Heartbeat, 'peerId' | 'seq' | 'sentAt' | 'listen' | 'light'>
  /** optional counters of validation outcomes */
  onValidation?: (topic: 'nets' | 'metrics', outcome: 'accept' | 'ignore' | 'reject', records: number) => void
  /** optional counters of sync sessions (the node's `metrics.mesh`) */
  syncMetrics?: SyncMetrics
}

/** Gossipsub scores of the connected peers, as of the last heartbeat tick. */
export interface PeerScoreSummary {
  /** the lowest score of a connected peer (0 with no peers) */
  min: number
  /** connected peers scoring below 0 */
  penalised: number
  /** connected peers below the graylist threshold: everything they send is dropped unread */
  graylisted: number
}

export interface PeerState {
  heartbeat: Heartbeat
  /** local time (ms) the last heartbeat arrived */
  lastSeen: number
}

const NETS = currentTopic('nets')
const METRICS = currentTopic('metrics')

/** a sync refused with "busy" (the peer runs a session of its own) is tried again this often, 0.5 s, 1 s, 2 s apart */
const SYNC_BUSY_RETRIES = 3
const SYNC_BUSY_RETRY_MS = 500

export class Mesh extends EventEmitter {
  readonly opts: MeshOptions
  private readonly modules: MeshModules
  libp2p!: MeshLibp2p
  readonly peers = new Map<string, PeerState>()
  private liveSet = new Set<string>()
  private seq = 0
  private pendingNetworks: NetworkRecord[] = []
  private pendingNegatives: NegativeRecord[] = []
  private flushTimer: ReturnType<typeof setTimeout> | undefined
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined
  /** decoded messages accepted by the validator, handed to the message handler */
  private readonly accepted = new WeakMap<Uint8Array, InboundMessage>()
  private stopped = false
  private sync: SyncService | undefined
  private syncTimer: ReturnType<typeof setInterval> | undefined
  /** resolves after the first sync session that completed (or when there was nobody to sync with) */
  private firstSync = Promise.withResolvers<void>()
  private readonly lastSyncAt = new Map<string, number>()
  /** peers a catch-up sync completed with (since this node started) */
  private readonly syncedWith = new Set<string>()
  readonly counts = { published: 0, publishedRecords: 0, received: 0, receivedRecords: 0, rejected: 0, ignored: 0 }
  /** updated every heartbeat tick (checkPeerScores) */
  peerScores: PeerScoreSummary = { min: 0, penalised: 0, graylisted: 0 }
  /** connected peers last seen below 0 → whether they were also below the graylist threshold */
  private readonly penalisedPeers = new Map<string, boolean>()

  constructor (opts: Partial<MeshOptions>, modules: MeshModules) {
    super()
    this.opts = { ...defaultMeshOptions, ...opts }
    this.modules = modules
  }

  get peerId (): PeerId { return this.libp2p.peerId }

  async start (): Promise<void> {
    this.libp2p = await createMeshLibp2p({ privateKey: this.modules.privateKey, listen: this.opts.listen, swarmKey: this.opts.swarmKey })
    const pubsub = this.libp2p.services.pubsub
    for (const topic of [NETS, METRICS]) {
      // the author is the message's signed `from`, not the peer that relayed it to us
      pubsub.topicValidators.set(topic, (_relay, msg) => this.validate(topic, msg.data, msg.type === 'signed' ? msg.from.toString() : undefined))
      pubsub.subscribe(topic)
    }
    pubsub.addEventListener('message', (evt) => {
      const v = this.accepted.get(evt.detail.data)
      if (v == null) return
      this.accepted.delete(evt.detail.data)
      void this.handle(v).catch(err => this.modules.logger.error('handling a gossip message failed', { error: String(err?.message ?? err) }))
    })
    this.libp2p.addEventListener('peer:disconnect', () => { void this.ensureConnections() })
    if (this.modules.store != null) {
      this.sync = new SyncService({}, {
        libp2p: this.libp2p,
        store: this.modules.store,
        logger: this.modules.logger.child({ component: 'sync' }),
        metrics: this.modules.syncMetrics,
        onAccepted: (a) => { if (a.networks.length + a.negatives.length > 0) this.emit('records', a) }
      })
      await this.sync.start()
      // the side that dials starts the catch-up, so a joiner pulls the index once, not twice
      this.libp2p.addEventListener('connection:open', (evt) => {
        const conn = evt.detail
        if (conn.direction === 'outbound') void this.syncWith(conn.remotePeer)
      })
      this.syncTimer = setInterval(() => { void this.syncWithRandomPeer() }, this.opts.syncIntervalMs)
    } else {
      this.firstSync.resolve()
    }
    await this.dialBootstrap()
    for (const addr of this.opts.bootstrap) this.nextDialAt.set(addr, Date.now() + this.opts.heartbeatIntervalMs * 3)
    this.heartbeatTimer = setInterval(() => { this.tick() }, this.opts.heartbeatIntervalMs)
    this.tick()
  }

  /** This node's listen addresses (with /p2p/<id>), as peers dial them. */
  listenAddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(String)
  }

  /** Live full (crawling) peers, including self unless light. Sorted. */
  liveFullPeers (): string[] {
    const out = [...this.liveSet].filter(id => this.peers.get(id)?.heartbeat.light !== true)
    if (!this.opts.light) out.push(this.peerId.toString())
    return out.sort()
  }

  // ------------------------------------------------------------ records

  /** Queues records this node found for the next nets batch. */
  publishRecords (networks: NetworkRecord[], negatives: NegativeRecord[] = []): void {
    if (this.stopped) return
    this.pendingNetworks.push(...networks)
    this.pendingNegatives.push(...negatives)
    if (this.pendingNetworks.length + this.pendingNegatives.length >= this.opts.maxBatchRecords) { void this.flush(); return }
    this.flushTimer ??= setTimeout(() => { void this.flush() }, this.opts.flushIntervalMs)
  }

  /** Publishes what is queued, in messages under the size caps. */
  async flush (): Promise<void> {
    if (this.flushTimer != null) { clearTimeout(this.flushTimer); this.flushTimer = undefined }
    while (this.pendingNetworks.length + this.pendingNegatives.length > 0) {
      let n = Math.min(this.opts.maxBatchRecords, this.pendingNetworks.length + this.pendingNegatives.length)
      let data: Uint8Array
      let nets: NetworkRecord[]
      let negs: NegativeRecord[]
      for (;;) {
        nets = this.pendingNetworks.slice(0, n)
        negs = this.pendingNegatives.slice(0, Math.max(0, n - nets.length))
        data = encodeMessage({ networks: nets, negatives: negs })
        if (data.byteLength <= this.opts.maxBatchBytes || n === 1) break
        n = Math.ceil(n / 2)
      }
      this.pendingNetworks.splice(0, nets.length)
      this.pendingNegatives.splice(0, negs.length)
      try {
        await this.libp2p.services.pubsub.publish(NETS, data)
        this.counts.published++
        this.counts.publishedRecords += nets.length + negs.length
      } catch (err: any) {
        this.modules.logger.warn('publishing records failed; peers will get them by sync', { records: nets.length + negs.length, error: String(err?.message ?? err) })
      }
    }
  }

  // ------------------------------------------------------------ catch-up sync

  /** Resolves once a first catch-up sync completed, or after `timeoutMs` (nobody to sync with). */
  async whenSynced (timeoutMs: number): Promise<void> {
    await Promise.race([this.firstSync.promise, new Promise(resolve => setTimeout(resolve, timeoutMs).unref())])
  }

  /**
   * Catches up with the live peer whose heartbeat reports the most of the sample resolved (a
   * first sync may have been with a peer that is itself catching up, e.g. restarted with this
   * node). Resolves when that sync ends, or after `timeoutMs`.
   */
  async catchUpWithMostAdvanced (timeoutMs: number): Promise<void> {
    let best: PeerState | undefined
    for (const id of this.liveSet) {
      const p = this.peers.get(id)
      if (p == null || p.heartbeat.light) continue
      if (best == null || p.heartbeat.sample.resolved > best.heartbeat.sample.resolved) best = p
    }
    // nothing to do when that peer is the one a sync already completed with
    if (best == null || this.syncedWith.has(best.heartbeat.peerId)) return
    await Promise.race([
      this.syncWith(peerIdFromString(best.heartbeat.peerId), true),
      new Promise(resolve => setTimeout(resolve, timeoutMs).unref())
    ])
  }

  private async syncWith (peer: PeerId, force = false): Promise<void> {
    const id = peer.toString()
    const sync = this.sync
    if (sync == null || this.stopped) return
    const last = this.lastSyncAt.get(id) ?? 0
    if (!force && Date.now() - last < this.opts.syncIntervalMs / 2) return
    this.lastSyncAt.set(id, Date.now())
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await sync.syncWith(peer)
        this.modules.logger.info('synced with peer', { peer: id, received: r.networksAccepted + r.negativesAccepted, sent: r.networksSent + r.negativesSent, ms: Math.round(r.durationMs), converged: r.converged })
        this.syncedWith.add(id)
        this.firstSync.resolve()
        return
      } catch (err: any) {
        // a peer busy with a session of its own is asked again shortly (then at the next round)
        if (err?.name === 'SyncRemoteError' && err.reason === 'busy' && attempt <= SYNC_BUSY_RETRIES && !this.stopped) {
          await new Promise(resolve => setTimeout(resolve, backoffMs({ baseMs: SYNC_BUSY_RETRY_MS, maxMs: Infinity }, attempt)).unref())
          if (!this.stopped) continue
        }
        // a light peer has no sync protocol; others are tried again later
        this.modules.logger.debug('sync failed', { peer: id, error: String(err?.message ?? err) })
        this.lastSyncAt.delete(id)
        return
      }
    }
  }

  private async syncWithRandomPeer (): Promise<void> {
    const full = this.liveFullPeers().filter(id => id !== this.peerId.toString())
    const connected = new Set(this.libp2p.getConnections().map(c => c.remotePeer.toString()))
    const candidates = full.filter(id => connected.has(id))
    if (candidates.length === 0) return
    const pick = candidates[Math.floor(Math.random() * candidates.length)]
    await this.syncWith(peerIdFromString(pick))
  }

  // ------------------------------------------------------------ inbound

  private validate (topic: string, data: Uint8Array, from: string | undefined): TopicValidatorResult {
    const v = validateGossip(topic, data, from)
    const kind = topic === NETS ? 'nets' : 'metrics'
    if (v.result === 'accept') {
      this.accepted.set(data, v.value)
      const records = v.value.kind === 'nets' ? v.value.message.networks.length + v.value.message.negatives.length : 0
      this.modules.onValidation?.(kind, 'accept', records)
      return TopicValidatorResult.Accept
    }
    this.modules.onValidation?.(kind, v.result, 0)
    if (v.result === 'ignore') {
      this.counts.ignored++
      return TopicValidatorResult.Ignore
    }
    this.counts.rejected++
    this.modules.logger.warn('rejected a gossip message', { topic: kind, from, reason: v.reason })
    return TopicValidatorResult.Reject
  }

  private async handle (v: InboundMessage): Promise<void> {
    if (v.kind === 'metrics') { this.onHeartbeat(v.message); return }
    this.counts.received++
    this.counts.receivedRecords += v.message.networks.length + v.message.negatives.length
    const store = this.modules.store
    if (store == null) return
    const res: CommitResult = await store.commit({ networks: v.message.networks, negatives: v.message.negatives })
    if (res.accepted.networks.length + res.accepted.negatives.length > 0) this.emit('records', res.accepted)
  }

  private onHeartbeat (h: Heartbeat): void {
    if (h.peerId === this.peerId.toString()) return
    const prev = this.peers.get(h.peerId)
    if (prev != null && prev.heartbeat.sentAt > h.sentAt && prev.heartbeat.seq > h.seq) return // stale reordering
    if (h.leaving === true) {
      // a clean stop: drop the peer now rather than after liveIntervals of silence
      this.peers.delete(h.peerId)
      this.emit('departed', h.peerId)
      if (this.liveSet.delete(h.peerId)) this.emit('membership', this.liveFullPeers())
      return
    }
    this.peers.set(h.peerId, { heartbeat: h, lastSeen: Date.now() })
    this.emit('heartbeat', h)
    if (prev == null) {
      this.updateMembership()
      void this.ensureConnections()
    }
  }

  // ------------------------------------------------------------ membership and connectivity

  private tick (): void {
    if (this.stopped) return
    this.checkPeerScores()
    this.updateMembership()
    void this.publishHeartbeat()
    void this.ensureConnections()
  }

  /**
   * Reads gossipsub's score of every connected peer (lowered by the messages our validator
   * rejected), logs a peer when it falls below 0 and when it falls below the graylist threshold,
   * and keeps the summary for the metrics.
   */
  private checkPeerScores (): void {
    // getScore is on gossipsub's implementation, not on its published interface
    const getScore = (this.libp2p.services.pubsub as unknown as { getScore?: (id: string) => number }).getScore
    if (typeof getScore !== 'function') return
    const summary: PeerScoreSummary = { min: 0, penalised: 0, graylisted: 0 }
    const seen = new Set<string>()
    for (const conn of this.libp2p.getConnections()) {
      const id = conn.remotePeer.toString()
      if (seen.has(id)) continue
      seen.add(id)
      const score = getScore.call(this.libp2p.services.pubsub, id)
      summary.min = Math.min(summary.min, score)
      if (score >= 0) { this.penalisedPeers.delete(id); continue }
      summary.penalised++
      const graylisted = score < GOSSIP_SCORE_THRESHOLDS.graylistThreshold
      if (graylisted) summary.graylisted++
      const before = this.penalisedPeers.get(id)
      if (before === undefined) this.modules.logger.warn('gossip peer penalised', { peer: id, score: Math.round(score * 100) / 100 })
      if (graylisted && before !== true) this.modules.logger.warn('gossip peer graylisted: its messages are dropped unread', { peer: id, score: Math.round(score * 100) / 100 })
      this.penalisedPeers.set(id, graylisted)
    }
    for (const id of this.penalisedPeers.keys()) if (!seen.has(id)) this.penalisedPeers.delete(id)
    this.peerScores = summary
  }

  private async publishHeartbeat (leaving = false): Promise<void> {
    const body = this.modules.heartbeat()
    const hb: Heartbeat = { ...body, peerId: this.peerId.toString(), seq: this.seq++, sentAt: Date.now(), listen: this.listenAddrs().slice(0, VALIDATION_LIMITS.maxListenAddrs), light: this.opts.light, ...(leaving ? { leaving } : {}) }
    try {
      await this.libp2p.services.pubsub.publish(METRICS, encodeMessage(hb))
    } catch (err: any) {
      this.modules.logger.debug('heartbeat not published', { error: String(err?.message ?? err) })
    }
  }

  private lastMembershipCheck = Date.now()

  private updateMembership (): void {
    const now = Date.now()
    const horizon = this.opts.heartbeatIntervalMs * this.opts.liveIntervals
    // after an event-loop stall (a big sync, a burst of gossip) the timer may fire before the
    // heartbeats waiting in the sockets are read: do not declare peers dead on such a late tick
    const lateTick = now - this.lastMembershipCheck > 1.5 * this.opts.heartbeatIntervalMs
    this.lastMembershipCheck = now
    const live = new Set<string>()
    for (const [id, p] of this.peers) {
      if (now - p.lastSeen <= horizon || (lateTick && this.liveSet.has(id))) live.add(id)
      else if (now - p.lastSeen > horizon * 20) this.peers.delete(id)
    }
    const changed = live.size !== this.liveSet.size || [...live].some(id => !this.liveSet.has(id))
    this.liveSet = live
    if (changed) this.emit('membership', this.liveFullPeers())
  }

  private async dialBootstrap (): Promise<void> {
    for (const addr of this.opts.bootstrap) {
      try {
        await this.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
      } catch (err: any) {
        this.modules.logger.warn('cannot reach bootstrap peer yet; will retry', { addr, error: String(err?.message ?? err) })
      }
    }
  }

  private dialing = false
  /** peer id (or bootstrap address) → earliest next dial attempt (ms) */
  private readonly nextDialAt = new Map<string, number>()

  /**
   * Keeps `targetPeers` connections to full peers: dials live peers learned from heartbeats; also
   * redials the bootstrap peers and peers that went silent recently (a restarted node, a healed
   * partition), each at most every few heartbeats, so nobody stays cut off.
   */
  private async ensureConnections (): Promise<void> {
    if (this.dialing || this.stopped) return
    this.dialing = true
    try {
      const now = Date.now()
      const connected = new Set(this.libp2p.getConnections().map(c => c.remotePeer.toString()))
      const horizon = this.opts.heartbeatIntervalMs * this.opts.liveIntervals
      const backoffMs = this.opts.heartbeatIntervalMs * 3
      const due = (key: string): boolean => {
        if ((this.nextDialAt.get(key) ?? 0) > now) return false
        this.nextDialAt.set(key, now + backoffMs)
        return true
      }
      const attempts: Array<{ key: string, addrs: Multiaddr[] }> = []
      for (const addr of this.opts.bootstrap) {
        const id = addr.split('/p2p/')[1]
        if (id != null && connected.has(id)) continue
        if (due(addr)) attempts.push({ key: addr, addrs: preferDialable([addr]) })
      }
      const live: Array<{ key: string, addrs: Multiaddr[] }> = []
      for (const [id, p] of this.peers) {
        if (connected.has(id) || p.heartbeat.light) continue
        const entry = { key: id, addrs: preferDialable(p.heartbeat.listen) }
        if (entry.addrs.length === 0) continue
        if (now - p.lastSeen <= horizon) live.push(entry)
        else if (due(id)) attempts.push(entry) // went silent: try to find it again
      }
      // random order so that peers do not all dial the same ones
      live.sort(() => Math.random() - 0.5)
      const need = this.opts.targetPeers - connected.size
      for (const e of live.slice(0, Math.max(0, need))) attempts.push(e)
      await Promise.all(attempts.map(async a => {
        try {
          await this.libp2p.dial(a.addrs, { signal: AbortSignal.timeout(5_000) })
        } catch (err: any) {
          this.modules.logger.debug('dial failed', { peer: a.key, error: String(err?.message ?? err) })
        }
      }))
    } finally {
      this.dialing = false
    }
  }

  /**
   * Leaves the mesh: flushes pending records, says goodbye (a last heartbeat with `leaving`, so
   * peers drop this node at once — call it after this node stopped sending requests) and stops.
   */
  async stop (): Promise<void> {
    if (this.stopped) return
    await this.flush().catch(() => {})
    if (this.libp2p != null && this.liveSet.size > 0) {
      await this.publishHeartbeat(true)
      // publish() has queued the message on the peers' streams; give them a moment to leave
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    this.stopped = true
    if (this.heartbeatTimer != null) clearInterval(this.heartbeatTimer)
    if (this.syncTimer != null) clearInterval(this.syncTimer)
    await this.sync?.stop().catch(() => {})
    if (this.flushTimer != null) clearTimeout(this.flushTimer)
    await this.libp2p?.stop()
  }
}

/** Multiaddrs worth dialing from a heartbeat's list (0.0.0.0 is not dialable). */
function preferDialable (addrs: string[]): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const a of addrs) {
    if (a.includes('/ip4/0.0.0.0/') || a.includes('/ip6/::/')) continue
    try { out.push(multiaddr(a)) } catch { /* ignore unparsable */ }
  }
  return out
}

