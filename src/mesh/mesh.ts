/**
 * The mesh: a libp2p node that gossips new records (`nets`) and heartbeats (`metrics`). It composes
 * the parts, each in its own file: publishing (publisher.ts), the table of live peers
 * (membership.ts), dialling and peer scores (connections.ts), and catch-up sync (catch-up.ts,
 * sync/). Every inbound gossip message passes the one validation function (validation.ts) before
 * anything here sees it.
 *
 * Events (MeshEvents, interface.ts): 'records', 'heartbeat', 'membership', 'departed'.
 */
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { NegativeRecord, NetworkRecord } from '../record/index.js'
import { EventEmitter } from 'node:events'
import { CatchUp } from './catch-up.js'
import { Connections } from './connections.js'
import {
  defaultMeshOptions, type GossipTopicKind, type MeshCounts, type MeshEvents, type MeshModules, type MeshOptions,
  type PeerScoreSummary, type PeerState
} from './interface.js'
import { createMeshLibp2p, type MeshLibp2p } from './libp2p.js'
import { joinWhenGraftable } from './light-join.js'
import { Membership } from './membership.js'
import type { Heartbeat } from './messages.js'
import { GossipRates } from './gossip-rates.js'
import { Publisher } from './publisher.js'
import { SyncService } from './sync/index.js'
import { currentTopic } from './topics.js'
import { validateGossip, VALIDATION_LIMITS, type InboundMessage } from './validation.js'

const NETS = currentTopic('nets')
const METRICS = currentTopic('metrics')
const NO_SCORES: PeerScoreSummary = { min: 0, penalised: 0, graylisted: 0 }

export class Mesh extends EventEmitter<MeshEvents> {
  readonly opts: MeshOptions
  private readonly modules: MeshModules
  libp2p!: MeshLibp2p
  readonly counts: MeshCounts = { published: 0, publishedRecords: 0, received: 0, receivedRecords: 0, rejected: 0, ignored: 0 }
  private readonly selfId: string
  private readonly membership: Membership
  private readonly publisher: Publisher
  private connections: Connections | undefined
  private catchUp: CatchUp | undefined
  private sync: SyncService | undefined
  private seq = 0
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined
  /** when the latest heartbeat went out (performance.now), and an announce() waiting for its turn */
  private lastHeartbeatAt = -Infinity
  private announceTimer: ReturnType<typeof setTimeout> | undefined
  /** decoded messages accepted by the validator, handed to the message handler */
  private readonly accepted = new WeakMap<Uint8Array, InboundMessage>()
  /** when syncSoonWith last asked for a session with each peer */
  private readonly soonAt = new Map<string, number>()
  /** each signed sender's message rates (gossip-rates.ts) */
  private readonly gossipRates = new GossipRates()
  private stopped = false

  constructor (opts: Partial<MeshOptions>, modules: MeshModules) {
    super()
    this.opts = { ...defaultMeshOptions, ...opts }
    this.modules = modules
    this.selfId = peerIdFromPrivateKey(modules.privateKey).toString()
    this.membership = new Membership(this.opts, { selfId: this.selfId, events: this })
    this.publisher = new Publisher(this.opts, {
      publish: async (topic, data) => await this.libp2p.services.pubsub.publish(topic, data),
      logger: modules.logger,
      counts: this.counts
    })
  }

  get peerId (): PeerId { return this.libp2p.peerId }

  /** every peer heard from, by id */
  get peers (): ReadonlyMap<string, PeerState> { return this.membership.peers }

  /** gossipsub scores of the connected peers, updated every heartbeat tick */
  get peerScores (): PeerScoreSummary { return this.connections?.peerScores ?? NO_SCORES }

  async start (): Promise<void> {
    const { logger, store } = this.modules
    this.libp2p = await createMeshLibp2p({ privateKey: this.modules.privateKey, listen: this.opts.listen, swarmKey: this.opts.swarmKey })
    const connections = this.connections = new Connections(this.opts, { libp2p: this.libp2p, membership: this.membership, logger })
    const pubsub = this.libp2p.services.pubsub
    // a light peer stores nothing: it hears heartbeats only, and joins once it can graft (light-join.ts)
    const topics = this.opts.light ? [METRICS] : [NETS, METRICS]
    for (const topic of topics) {
      // the author is the message's signed `from`, not the peer that relayed it to us
      pubsub.topicValidators.set(topic, (relay, msg) => this.validate(topic, msg.data, msg.type === 'signed' ? msg.from.toString() : undefined, relay.toString()))
      if (!this.opts.light) pubsub.subscribe(topic)
    }
    pubsub.addEventListener('message', (evt) => {
      const v = this.accepted.get(evt.detail.data)
      if (v == null) return
      this.accepted.delete(evt.detail.data)
      void this.handle(v).catch(err => logger.error('handling a gossip message failed', { error: String(err?.message ?? err) }))
    })
    this.libp2p.addEventListener('peer:disconnect', () => { void connections.ensure() })
    if (store != null) {
      this.sync = new SyncService({}, {
        libp2p: this.libp2p,
        store,
        logger: logger.child({ component: 'sync' }),
        metrics: this.modules.syncMetrics,
        plausible: this.modules.plausible,
        onImplausible: this.modules.onImplausible,
        isLive: peer => this.membership.liveFullPeers().includes(peer),
        onAccepted: (a) => { if (a.networks.length + a.negatives.length > 0) this.emit('records', a) }
      })
      await this.sync.start()
      const catchUp = this.catchUp = new CatchUp(this.opts, { sync: this.sync, membership: this.membership, connections, selfId: this.selfId, logger })
      this.libp2p.addEventListener('connection:open', (evt) => {
        const conn = evt.detail
        if (conn.direction === 'outbound') void catchUp.syncWith(conn.remotePeer)
      })
      catchUp.start()
    }
    if (this.opts.light) void joinWhenGraftable(pubsub, METRICS, { timeoutMs: Math.max(10_000, 5 * this.opts.heartbeatIntervalMs), stopped: () => this.stopped })
    await connections.start()
    this.heartbeatTimer = setInterval(() => { this.tick() }, this.opts.heartbeatIntervalMs)
    this.tick()
  }

  /** This node's listen addresses (with /p2p/<id>), as peers dial them. */
  listenAddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(String)
  }

  /**
   * Stops counting `peerId` as a peer (the operator distrusts it; its messages are rejected from
   * now on) and closes this node's connections to it: it no longer owns work or holds a share.
   */
  async forgetPeer (peerId: string): Promise<void> {
    this.membership.forget(peerId)
    const conns = this.libp2p.getConnections().filter(c => c.remotePeer.toString() === peerId)
    await Promise.all(conns.map(async c => { await c.close().catch(() => {}) }))
  }

  /** Live full (crawling) peers, including self unless light. Sorted. */
  liveFullPeers (): string[] {
    return this.membership.liveFullPeers()
  }

  /** Queues records this node found for the next nets batch. */
  publishRecords (networks: readonly NetworkRecord[], negatives: readonly NegativeRecord[] = []): void {
    this.publisher.publishRecords(networks, negatives)
  }

  /** Publishes what is queued, in messages under the size caps. */
  async flush (): Promise<void> {
    await this.publisher.flush()
  }

  /** Resolves once a first catch-up sync completed, or after `timeoutMs` (nobody to sync with). */
  async whenSynced (timeoutMs: number): Promise<void> {
    await this.catchUp?.whenSynced(timeoutMs)
  }

  /** Resolves when the catch-up sessions this node started have a first success, at once when none is under way (catch-up.ts), or after `timeoutMs`. */
  async whenStartedSyncsEnd (timeoutMs: number): Promise<void> {
    await this.catchUp?.whenStartedSyncsEnd(timeoutMs)
  }

  /** Syncs with every live full peer in turn, however recently (catch-up.ts). */
  async syncWithEveryPeer (): Promise<void> {
    for (const id of this.liveFullPeers()) {
      if (id === this.selfId || this.catchUp == null) continue
      await this.catchUp.syncWith(peerIdFromString(id), true).catch(() => {})
    }
  }

  /**
   * Syncs with `peerId` unless a session with it started less than half a sync interval ago
   * (catch-up.ts): what a caller may ask as often as it likes, e.g. on every heartbeat.
   */
  async syncSoonWith (peerId: string): Promise<void> {
    if (peerId === this.selfId || this.catchUp == null) return
    // also when its sessions fail (catch-up forgets a failed one, to retry it at the next round)
    const now = Date.now()
    if (now - (this.soonAt.get(peerId) ?? -Infinity) < this.opts.syncIntervalMs / 2) return
    if (this.soonAt.size >= 1024) for (const [id, at] of this.soonAt) if (now - at >= this.opts.syncIntervalMs / 2) this.soonAt.delete(id)
    this.soonAt.set(peerId, now)
    await this.catchUp.syncWith(peerIdFromString(peerId)).catch(() => {})
  }

  /** Catches up with the live peer that resolved the most (catch-up.ts); resolves after `timeoutMs` at the latest. */
  async catchUpWithMostAdvanced (timeoutMs: number): Promise<void> {
    await this.catchUp?.catchUpWithMostAdvanced(timeoutMs)
  }

  // ------------------------------------------------------------ inbound

  private validate (topic: string, data: Uint8Array, from: string | undefined, relay: string): TopicValidatorResult {
    const v = validateGossip(topic, data, from, Date.now(), {
      distrusted: id => this.modules.store?.isDistrusted(id) === true,
      withinRate: (kind, id) => this.gossipRates.take(kind, id),
      relay,
      plausible: this.modules.plausible?.()
    })
    const kind: GossipTopicKind = topic === NETS ? 'nets' : 'metrics'
    if (v.result === 'accept') {
      this.accepted.set(data, v.value)
      if (v.value.kind === 'nets' && v.value.message.implausible.length > 0) this.modules.onImplausible?.(v.value.message.implausible, from ?? relay)
      const records = v.value.kind === 'nets' ? v.value.message.networks.length + v.value.message.negatives.length : 0
      this.modules.onValidation?.(kind, 'accept', records)
      return TopicValidatorResult.Accept
    }
    this.modules.onValidation?.(kind, v.result, 0, v.reason)
    if (v.result === 'ignore') {
      this.counts.ignored++
      return TopicValidatorResult.Ignore
    }
    this.counts.rejected++
    this.modules.logger.warn('rejected a gossip message', { topic: kind, from, reason: v.reason, detail: v.detail })
    return TopicValidatorResult.Reject
  }

  private async handle (v: InboundMessage): Promise<void> {
    if (v.kind === 'metrics') {
      if (this.membership.onHeartbeat(v.message)) void this.connections?.ensure()
      return
    }
    this.counts.received++
    this.counts.receivedRecords += v.message.networks.length + v.message.negatives.length
    const store = this.modules.store
    if (store == null) return
    // validated records are canonical: the store takes them as they are
    const res = await store.commit({ networks: v.message.networks, negatives: v.message.negatives })
    if (res.accepted.networks.length + res.accepted.negatives.length > 0) this.emit('records', res.accepted)
  }

  // ------------------------------------------------------------ heartbeat tick

  private tick (): void {
    if (this.stopped) return
    this.connections?.checkPeerScores()
    this.membership.update()
    void this.publishHeartbeat()
    void this.connections?.ensure()
  }

  /**
   * Publishes a heartbeat now rather than at the next tick (what it carries changed: this node's
   * work appeared, or it counts a new peer — an acknowledgement the peer waits for), at most one
   * per quarter interval; the regular ticks go on.
   */
  announce (): void {
    if (this.stopped || this.libp2p == null || this.announceTimer != null) return
    const wait = this.lastHeartbeatAt + this.opts.heartbeatIntervalMs / 4 - performance.now()
    const send = (): void => { this.announceTimer = undefined; if (!this.stopped) void this.publishHeartbeat() }
    if (wait <= 0) send()
    else this.announceTimer = setTimeout(send, Math.ceil(wait))
  }

  private async publishHeartbeat (leaving = false): Promise<void> {
    this.lastHeartbeatAt = performance.now()
    const body = this.modules.heartbeat()
    const hb: Heartbeat = { ...body, peerId: this.selfId, seq: this.seq++, sentAt: Date.now(), listen: this.listenAddrs().slice(0, VALIDATION_LIMITS.maxListenAddrs), light: this.opts.light, ...(leaving ? { leaving } : {}) }
    await this.publisher.publishHeartbeat(hb)
  }

  /**
   * Leaves the mesh: flushes pending records, says goodbye (a last heartbeat with `leaving`, so
   * peers drop this node at once — call it after this node stopped sending requests) and stops.
   */
  async stop (): Promise<void> {
    if (this.stopped) return
    await this.flush().catch(() => {})
    if (this.libp2p != null && this.membership.liveCount > 0) {
      await this.publishHeartbeat(true)
      // publish() has queued the message on the peers' streams; give them a moment to leave
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    this.stopped = true
    this.publisher.stop()
    if (this.heartbeatTimer != null) clearInterval(this.heartbeatTimer)
    if (this.announceTimer != null) clearTimeout(this.announceTimer)
    this.catchUp?.stop()
    this.connections?.stop()
    await this.sync?.stop().catch(() => {})
    await this.libp2p?.stop()
  }
}
