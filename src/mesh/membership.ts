/**
 * Membership: the table of peers this node hears heartbeats from, which of them are live (a
 * heartbeat within `liveIntervals` intervals), and departures (a last heartbeat with `leaving`).
 * Emits the mesh's 'heartbeat', 'membership' and 'departed' events.
 */
import type { EventEmitter } from 'node:events'
import type { MeshEvents, MeshOptions, PeerState } from './interface.js'
import type { Heartbeat } from './messages.js'

export type MembershipOptions = Pick<MeshOptions, 'heartbeatIntervalMs' | 'liveIntervals' | 'light'>

export interface MembershipModules {
  /** this node's peer id */
  selfId: string
  /** where the events go (the Mesh) */
  events: EventEmitter<MeshEvents>
}

export class Membership {
  /** every peer heard from (dropped 20 live horizons after its last heartbeat) */
  readonly peers = new Map<string, PeerState>()
  private live = new Set<string>()
  private lastCheck = Date.now()

  constructor (private readonly opts: MembershipOptions, private readonly modules: MembershipModules) {}

  /** how long after its last heartbeat a peer still counts as live, ms */
  get horizonMs (): number {
    return this.opts.heartbeatIntervalMs * this.opts.liveIntervals
  }

  /** Live full (crawling) peers, including self unless light. Sorted. */
  liveFullPeers (): string[] {
    const out = [...this.live].filter(id => this.peers.get(id)?.heartbeat.light !== true)
    if (!this.opts.light) out.push(this.modules.selfId)
    return out.sort()
  }

  /** the live peers' states (light ones included, self excluded) */
  livePeers (): PeerState[] {
    const out: PeerState[] = []
    for (const id of this.live) {
      const p = this.peers.get(id)
      if (p != null) out.push(p)
    }
    return out
  }

  get liveCount (): number {
    return this.live.size
  }

  /**
   * Takes a validated heartbeat. Returns true when it is from a peer not in the table before (the
   * caller may want to dial it).
   */
  onHeartbeat (h: Heartbeat): boolean {
    if (h.peerId === this.modules.selfId) return false
    const { events } = this.modules
    const prev = this.peers.get(h.peerId)
    if (prev != null && prev.heartbeat.sentAt > h.sentAt && prev.heartbeat.seq > h.seq) return false // stale reordering
    if (h.leaving === true) {
      // a clean stop: drop the peer now rather than after liveIntervals of silence
      this.forget(h.peerId)
      return false
    }
    this.peers.set(h.peerId, { heartbeat: h, lastSeen: Date.now() })
    events.emit('heartbeat', h)
    if (prev != null) return false
    this.update()
    return true
  }

  /** Drops a peer at once, as if it had said it was leaving ('departed', then 'membership' if it was live). */
  forget (peerId: string): void {
    this.peers.delete(peerId)
    this.modules.events.emit('departed', peerId)
    if (this.live.delete(peerId)) this.modules.events.emit('membership', this.liveFullPeers())
  }

  /** Recomputes the live set from the heartbeats' ages; emits 'membership' when it changed. */
  update (): void {
    const now = Date.now()
    const horizon = this.horizonMs
    // after an event-loop stall (a big sync, a burst of gossip) the timer may fire before the
    // heartbeats waiting in the sockets are read: do not declare peers dead on such a late tick
    const lateTick = now - this.lastCheck > 1.5 * this.opts.heartbeatIntervalMs
    this.lastCheck = now
    const live = new Set<string>()
    for (const [id, p] of this.peers) {
      if (now - p.lastSeen <= horizon || (lateTick && this.live.has(id))) live.add(id)
      else if (now - p.lastSeen > horizon * 20) this.peers.delete(id)
    }
    const changed = live.size !== this.live.size || [...live].some(id => !this.live.has(id))
    this.live = live
    if (changed) this.modules.events.emit('membership', this.liveFullPeers())
  }
}
