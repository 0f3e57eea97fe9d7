/**
 * Connections: dials the bootstrap peers, keeps `targetPeers` connections to full peers learned
 * from heartbeats (so the fleet is not a star around the bootstrap node, which may die), redials
 * peers that went silent, and watches the gossipsub scores of the connected peers.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../util/logger.js'
import type { MeshOptions, PeerScoreSummary } from './interface.js'
import { GOSSIP_SCORE_THRESHOLDS, type MeshLibp2p } from './libp2p.js'
import type { Membership } from './membership.js'

export type ConnectionsOptions = Pick<MeshOptions, 'bootstrap' | 'heartbeatIntervalMs' | 'targetPeers'>

export interface ConnectionsModules {
  libp2p: MeshLibp2p
  membership: Membership
  logger: Logger
}

export class Connections {
  /** updated every heartbeat tick (checkPeerScores) */
  peerScores: PeerScoreSummary = { min: 0, penalised: 0, graylisted: 0 }
  /** connected peers last seen below 0 → whether they were also below the graylist threshold */
  private readonly penalisedPeers = new Map<string, boolean>()
  private dialing = false
  private stopped = false
  /** peer id (or bootstrap address) → earliest next dial attempt (ms) */
  private readonly nextDialAt = new Map<string, number>()

  constructor (private readonly opts: ConnectionsOptions, private readonly modules: ConnectionsModules) {}

  /** Dials the bootstrap peers once (a failure is logged: they are redialled every few heartbeats). */
  async start (): Promise<void> {
    for (const addr of this.opts.bootstrap) {
      try {
        await this.modules.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
      } catch (err: any) {
        this.modules.logger.warn('cannot reach bootstrap peer yet; will retry', { addr, error: String(err?.message ?? err) })
      }
    }
    for (const addr of this.opts.bootstrap) this.nextDialAt.set(addr, Date.now() + this.opts.heartbeatIntervalMs * 3)
  }

  stop (): void {
    this.stopped = true
  }

  /** ids of the peers connected now */
  connectedIds (): Set<string> {
    return new Set(this.modules.libp2p.getConnections().map(c => c.remotePeer.toString()))
  }

  /**
   * Keeps `targetPeers` connections to full peers: dials live peers learned from heartbeats; also
   * redials the bootstrap peers and peers that went silent recently (a restarted node, a healed
   * partition), each at most every few heartbeats, so nobody stays cut off.
   */
  async ensure (): Promise<void> {
    if (this.dialing || this.stopped) return
    this.dialing = true
    try {
      const now = Date.now()
      const connected = this.connectedIds()
      const horizon = this.modules.membership.horizonMs
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
      for (const [id, p] of this.modules.membership.peers) {
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
          await this.modules.libp2p.dial(a.addrs, { signal: AbortSignal.timeout(5_000) })
        } catch (err: any) {
          this.modules.logger.debug('dial failed', { peer: a.key, error: String(err?.message ?? err) })
        }
      }))
    } finally {
      this.dialing = false
    }
  }

  /**
   * Reads gossipsub's score of every connected peer (lowered by the messages our validator
   * rejected), logs a peer when it falls below 0 and when it falls below the graylist threshold,
   * and keeps the summary for the metrics.
   */
  checkPeerScores (): void {
    const { libp2p, logger } = this.modules
    // getScore is on gossipsub's implementation, not on its published interface
    const getScore = (libp2p.services.pubsub as unknown as { getScore?: (id: string) => number }).getScore
    if (typeof getScore !== 'function') return
    const summary: PeerScoreSummary = { min: 0, penalised: 0, graylisted: 0 }
    const seen = new Set<string>()
    for (const conn of libp2p.getConnections()) {
      const id = conn.remotePeer.toString()
      if (seen.has(id)) continue
      seen.add(id)
      const score = getScore.call(libp2p.services.pubsub, id)
      summary.min = Math.min(summary.min, score)
      if (score >= 0) { this.penalisedPeers.delete(id); continue }
      summary.penalised++
      const graylisted = score < GOSSIP_SCORE_THRESHOLDS.graylistThreshold
      if (graylisted) summary.graylisted++
      const before = this.penalisedPeers.get(id)
      if (before === undefined) logger.warn('gossip peer penalised', { peer: id, score: Math.round(score * 100) / 100 })
      if (graylisted && before !== true) logger.warn('gossip peer graylisted: its messages are dropped unread', { peer: id, score: Math.round(score * 100) / 100 })
      this.penalisedPeers.set(id, graylisted)
    }
    for (const id of this.penalisedPeers.keys()) if (!seen.has(id)) this.penalisedPeers.delete(id)
    this.peerScores = summary
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
