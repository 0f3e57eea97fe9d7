/**
 * Catch-up: when and with whom this node runs a sync session (sync/). The side that dials starts
 * one (so a joiner pulls the index once, not twice), a random connected full peer is asked every
 * `syncIntervalMs`, and a peer busy with a session of its own is asked again shortly.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from '../util/logger.js'
import type { Connections } from './connections.js'
import type { MeshOptions, PeerState } from './interface.js'
import type { Membership } from './membership.js'
import type { SyncService } from './sync/index.js'
import { backoffMs } from '../util/backoff.js'

/** a sync refused with "busy" (the peer runs a session of its own) is tried again this often, 0.5 s, 1 s, 2 s apart */
const SYNC_BUSY_RETRIES = 3
const SYNC_BUSY_RETRY_MS = 500

export type CatchUpOptions = Pick<MeshOptions, 'syncIntervalMs'>

export interface CatchUpModules {
  sync: SyncService
  membership: Membership
  connections: Connections
  selfId: string
  logger: Logger
}

export class CatchUp {
  /** resolves after the first sync session that completed (or when there was nobody to sync with) */
  private readonly firstSync = Promise.withResolvers<void>()
  private readonly lastSyncAt = new Map<string, number>()
  /** peers a catch-up sync completed with (since this node started) */
  private readonly syncedWith = new Set<string>()
  /** sessions this node started that have not ended yet */
  private inFlight = 0
  /** resolved when inFlight drops to 0 */
  private onIdle: Array<() => void> = []
  private timer: ReturnType<typeof setInterval> | undefined
  private stopped = false

  constructor (private readonly opts: CatchUpOptions, private readonly modules: CatchUpModules) {}

  start (): void {
    this.timer = setInterval(() => { void this.syncWithRandomPeer() }, this.opts.syncIntervalMs)
  }

  stop (): void {
    this.stopped = true
    if (this.timer != null) clearInterval(this.timer)
  }

  /** Resolves once a first catch-up sync completed, or after `timeoutMs` (nobody to sync with). */
  async whenSynced (timeoutMs: number): Promise<void> {
    await Promise.race([this.firstSync.promise, new Promise(resolve => setTimeout(resolve, timeoutMs).unref())])
  }

  /**
   * Like whenSynced(), but resolves at once when no session this node started is under way and
   * none completed: a bootstrap that its joiners dialled starts none, and need not wait for its
   * periodic round (catchUpWithMostAdvanced() then asks the peer that resolved the most). Call it
   * once the connections have had time to open (after the settle wait).
   */
  async whenStartedSyncsEnd (timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return
    const idle = new Promise<void>(resolve => { this.onIdle.push(resolve) })
    await Promise.race([this.firstSync.promise, idle, new Promise(resolve => setTimeout(resolve, timeoutMs).unref())])
  }

  /**
   * Catches up with the live peer whose heartbeat reports the most of the sample resolved (a
   * first sync may have been with a peer that is itself catching up, e.g. restarted with this
   * node). Resolves when that sync ends, or after `timeoutMs`.
   */
  async catchUpWithMostAdvanced (timeoutMs: number): Promise<void> {
    let best: PeerState | undefined
    for (const p of this.modules.membership.livePeers()) {
      if (p.heartbeat.light) continue
      if (best == null || p.heartbeat.sample.resolved > best.heartbeat.sample.resolved) best = p
    }
    // nothing to do when that peer is the one a sync already completed with
    if (best == null || this.syncedWith.has(best.heartbeat.peerId)) return
    await Promise.race([
      this.syncWith(peerIdFromString(best.heartbeat.peerId), true),
      new Promise(resolve => setTimeout(resolve, timeoutMs).unref())
    ])
  }

  /** Syncs with `peer`, unless a session with it started less than half an interval ago (`force`: regardless). */
  async syncWith (peer: PeerId, force = false): Promise<void> {
    const id = peer.toString()
    if (this.stopped) return
    const last = this.lastSyncAt.get(id) ?? 0
    if (!force && Date.now() - last < this.opts.syncIntervalMs / 2) return
    this.lastSyncAt.set(id, Date.now())
    this.inFlight++
    try {
      await this.runSession(peer)
    } finally {
      if (--this.inFlight === 0) for (const resolve of this.onIdle.splice(0)) resolve()
    }
  }

  private async runSession (peer: PeerId): Promise<void> {
    const id = peer.toString()
    const { sync, logger } = this.modules
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await sync.syncWith(peer)
        logger.info('synced with peer', { peer: id, received: r.networksAccepted + r.negativesAccepted, sent: r.networksSent + r.negativesSent, bytesReceived: r.bytesReceived, bytesSent: r.bytesSent, ms: Math.round(r.durationMs), converged: r.converged })
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
        logger.debug('sync failed', { peer: id, error: String(err?.message ?? err) })
        this.lastSyncAt.delete(id)
        return
      }
    }
  }

  private async syncWithRandomPeer (): Promise<void> {
    const { membership, connections, selfId } = this.modules
    const full = membership.liveFullPeers().filter(id => id !== selfId)
    const connected = connections.connectedIds()
    const candidates = full.filter(id => connected.has(id))
    if (candidates.length === 0) return
    const pick = candidates[Math.floor(Math.random() * candidates.length)]
    await this.syncWith(peerIdFromString(pick))
  }
}
