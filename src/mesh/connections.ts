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
  /** peer id → dials of the addresses its heartbeats claim that failed in a row (a live peer's back-off doubles per failure) */
  private readonly claimFailures = new Map<string, number>()

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
      const attempts: Array<{ key: string, addrs: Multiaddr[], claimed?: boolean }> = []
      for (const addr of this.opts.bootstrap) {
        const id = addr.split('/p2p/')[1]
        if (id != null && connected.has(id)) continue
        if (due(addr)) attempts.push({ key: addr, addrs: preferDialable([addr]) })
      }
      const live: Array<{ key: string, addrs: Multiaddr[], claimed: boolean }> = []
      for (const [id, p] of this.modules.membership.peers) {
        if (connected.has(id) || p.heartbeat.light) continue
        // a heartbeat's addresses are a claim: dialled only as that peer's (the handshake must prove
        // its id), a live peer's after each failure at twice the interval, whatever it claims next
        // (a claim of someone else's port costs that port a dial now and then, not one a heartbeat;
        // an honest peer that moved dials this node itself)
        const entry = { key: id, addrs: preferDialable(p.heartbeat.listen, id), claimed: true }
        if (entry.addrs.length === 0) continue
        if (now - p.lastSeen > horizon) {
          if (due(id)) attempts.push({ key: id, addrs: entry.addrs }) // went silent: try to find it again
        } else if ((this.nextDialAt.get(id) ?? 0) <= now) live.push(entry)
      }
      // random order so that peers do not all dial the same ones
      live.sort(() => Math.random() - 0.5)
      const need = this.opts.targetPeers - connected.size
      for (const e of live.slice(0, Math.max(0, need))) {
        this.nextDialAt.set(e.key, now + backoffMs * 2 ** Math.min(this.claimFailures.get(e.key) ?? 0, MAX_CLAIM_DOUBLINGS))
        attempts.push(e)
      }
      await Promise.all(attempts.map(async a => {
        try {
          await this.modules.libp2p.dial(a.addrs, { signal: AbortSignal.timeout(5_000) })
          this.claimFailures.delete(a.key)
        } catch (err: any) {
          if (a.claimed === true) this.claimFailures.set(a.key, (this.claimFailures.get(a.key) ?? 0) + 1)
          this.modules.logger.debug('dial failed', { peer: a.key, error: String(err?.message ?? err) })
        }
      }))
      // peers the membership table dropped (20 live horizons of silence) are forgotten here too
      for (const id of this.claimFailures.keys()) if (!this.modules.membership.peers.has(id)) this.claimFailures.delete(id)
      for (const key of this.nextDialAt.keys()) if (!this.opts.bootstrap.includes(key) && !this.modules.membership.peers.has(key)) this.nextDialAt.delete(key)
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

/** a claimed address that keeps failing is dialled at most every 3 × 2^6 heartbeats (6.4 min at 2 s) */
const MAX_CLAIM_DOUBLINGS = 6

/**
 * Multiaddrs worth dialing from a list (0.0.0.0 is not dialable). With `peerId` (a heartbeat's
 * claim): each ends in /p2p/peerId, so the dial fails unless the remote proves that id; an address
 * naming another peer is dropped.
 */
function preferDialable (addrs: string[], peerId?: string): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const a of addrs) {
    if (a.includes('/ip4/0.0.0.0/') || a.includes('/ip6/::/')) continue
    try {
      const ma = multiaddr(a)
      if (peerId === undefined) { out.push(ma); continue }
      const named = ma.getComponents().findLast(c => c.name === 'p2p')?.value
      if (named === undefined) out.push(ma.encapsulate(`/p2p/${peerId}`))
      else if (named === peerId) out.push(ma)
    } catch { /* ignore unparsable */ }
  }
  return out
}
