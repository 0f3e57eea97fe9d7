/**
 * SyncService: serves `/whoismesh/sync/1.0.0` and opens sessions to peers, so that a late joiner,
 * a restarted node or a healed partition converges with the mesh (gossip is not a log).
 *
 *   const sync = new SyncService({}, { libp2p, store, logger, onAccepted })
 *   await sync.start()
 *   const report = await sync.syncWith(peerId)   // both sides hold the union afterwards
 *   await sync.stop()
 *
 * A session never crashes the node: every failure is classified (errors.ts), counted in `stats`
 * (and metrics), logged, and — on the initiating side — thrown to the caller.
 *
 * One session reconciles both sides, so a node never runs two that would carry the same records:
 * - sessions this node initiates run one at a time (a late joiner dials several peers at once;
 *   each would otherwise send it the whole index), and a call for a peer already in a session with
 *   this node, in either direction, shares that session;
 * - while one of its own sessions runs, it refuses inbound ones with "busy" (the initiator tries
 *   again later, when little is left to send) — except when the peer it is syncing with dialled it
 *   at the same moment: then the session of the smaller peer id goes on, and the other side's
 *   call shares it (or fails with "busy" if the refusal arrived before that session did; Mesh
 *   retries "busy" after 0.5, 1 and 2 s).
 */
import type { Connection, Stream } from '@libp2p/interface'
import { deadline } from '../../util/deadline.js'
import pLimit from 'p-limit'
import { silentLogger, type Logger } from '../../util/logger.js'
import { SyncOptionsError, SyncRemoteError, SyncStoppedError, abortReasonOf } from './errors.js'
import { defaultSyncOptions, type SyncModules, type SyncOptions, type SyncReport, type SyncStats, type SyncTarget } from './interface.js'
import { SYNC_PROTOCOL } from './protocol.js'
import { SyncSession, type SyncRole } from './session.js'

export class SyncService {
  readonly opts: SyncOptions
  readonly stats: SyncStats = { sessionsInitiated: 0, sessionsServed: 0, sessionsCompleted: 0, aborted: {}, refusedBusy: 0 }
  private readonly modules: SyncModules
  private readonly log: Logger
  private running = false
  private stopController = new AbortController()
  private inbound = 0
  /** inbound sessions from peers the mesh does not count live */
  private inboundStrangers = 0
  /** records each peer may still be sent as a responder (SyncOptions.peerSendSlack), as of `at` */
  private readonly sendBuckets = new Map<string, { tokens: number, at: number }>()
  private readonly active = new Set<Promise<unknown>>()
  private readonly outbound = new Map<string, Promise<SyncReport>>()
  /** responder sessions in progress, by peer */
  private readonly inboundFrom = new Map<string, Promise<SyncReport>>()
  /** the peer of the initiated session running now */
  private initiatedWith: string | undefined
  /** initiated sessions run one at a time, the others wait their turn in call order */
  private readonly turns = pLimit(1)

  constructor (opts: Partial<SyncOptions>, modules: SyncModules) {
    this.opts = checkOptions({ ...defaultSyncOptions, ...opts })
    this.modules = modules
    this.log = (modules.logger ?? silentLogger).child({ component: 'sync' })
  }

  /** Starts serving the protocol. Idempotent. */
  async start (): Promise<void> {
    if (this.running) return
    this.stopController = new AbortController()
    await this.modules.libp2p.handle(SYNC_PROTOCOL, (stream, connection) => { this.serve(stream, connection) }, {
      // one more than we serve, so the extra stream hears "busy" instead of a reset
      maxInboundStreams: this.opts.maxConcurrentSessions + 1,
      maxOutboundStreams: this.opts.maxConcurrentSessions + 1
    })
    this.running = true
  }

  /** Stops serving, aborts the sessions in progress (SyncStoppedError) and waits for them. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.stopController.abort()
    await this.modules.libp2p.unhandle(SYNC_PROTOCOL).catch(() => {})
    await Promise.allSettled([...this.active])
  }

  /**
   * Reconciles this node's index with the peer's, both directions, in one session. Concurrent
   * calls for the same peer share one session.
   * @throws SyncProtocolError the peer sent a malformed frame or invalid records (session aborted)
   * @throws SyncRemoteError the peer refused ("busy": retry later) or aborted
   * @throws SyncTimeoutError a read, write or the session deadline expired (retryable)
   * @throws SyncStoppedError the service is not running
   */
  async syncWith (target: SyncTarget): Promise<SyncReport> {
    if (!this.running) throw new SyncStoppedError()
    const key = target.toString()
    const existing = this.outbound.get(key) ?? this.inboundFrom.get(key)
    if (existing !== undefined) return await existing
    const run = this.track(this.initiate(target))
    this.outbound.set(key, run)
    try {
      return await run
    } finally {
      this.outbound.delete(key)
    }
  }

  private async initiate (target: SyncTarget): Promise<SyncReport> {
    this.stats.sessionsInitiated++
    const signal = this.sessionSignal()
    let peer = target.toString()
    let session: SyncSession | undefined
    let shared = false
    try {
      // connect concurrently, then wait for this node's turn before opening the session (a call
      // aborted while it waits leaves when the running session ends, whose deadline came first)
      const connection = await this.modules.libp2p.dial(target, { signal })
      peer = connection.remotePeer.toString()
      return await this.turns(async () => {
        signal.throwIfAborted()
        this.initiatedWith = peer
        try {
          // the peer may have started a session with us meanwhile: that one reconciles both sides
          const inbound = this.inboundFrom.get(peer)
          if (inbound !== undefined) return await inbound
          const stream = await connection.newStream(SYNC_PROTOCOL, { signal })
          session = this.session('initiator', peer, stream, signal)
          const report = await session.initiate()
          this.completed('initiator', report)
          return report
        } catch (err) {
          // refused because the peer's own session with us, begun at the same moment, goes on
          const inbound = err instanceof SyncRemoteError && err.reason === 'busy' ? this.inboundFrom.get(peer) : undefined
          if (inbound === undefined) throw err
          shared = true
          return await inbound
        } finally {
          this.initiatedWith = undefined
        }
      })
    } catch (err) {
      if (!shared) this.aborted('initiator', peer, err, session?.report)
      throw err
    }
  }

  /** Whether an inbound session from `peer` must be refused (see the class comment). */
  private busyFor (peer: string): boolean {
    if (this.inbound >= this.opts.maxConcurrentSessions || this.inboundFrom.has(peer)) return true
    if (this.isStranger(peer) && this.inboundStrangers >= this.opts.maxStrangerSessions) return true
    if (this.sendAllowance(peer) < 1) return true
    if (this.initiatedWith === undefined) return false
    return !(this.initiatedWith === peer && peer < this.modules.libp2p.peerId.toString())
  }

  private serve (stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    if (!this.running || this.busyFor(peer)) {
      this.stats.refusedBusy++
      this.modules.metrics?.syncSessionsTotal.inc({ outcome: 'refused' })
      this.log.debug('sync session refused', { peer, reason: 'busy' })
      void this.track(this.session('responder', peer, stream, this.sessionSignal()).refuse('busy'))
      return
    }
    const stranger = this.isStranger(peer)
    this.inbound++
    if (stranger) this.inboundStrangers++
    this.stats.sessionsServed++
    const session = this.session('responder', peer, stream, this.sessionSignal(), this.sendAllowance(peer))
    const run = session.respond().then(
      report => { this.completed('responder', report); return report },
      err => { this.aborted('responder', peer, err, session.report); throw err }
    ).finally(() => {
      this.spend(peer, session.report.networksSent + session.report.negativesSent)
      this.inbound--
      if (stranger) this.inboundStrangers--
      this.inboundFrom.delete(peer)
    })
    this.inboundFrom.set(peer, run)
    void this.track(run)
  }

  /** What `peer` may still be sent, records (its bucket, refilled to now). */
  private sendAllowance (peer: string): number {
    return this.bucketOf(peer).tokens
  }

  private bucketOf (peer: string): { tokens: number, capacity: number } {
    const held = this.modules.store.counts()
    const size = held.networks + held.negatives
    const capacity = 2 * size + this.opts.peerSendSlack
    const b = this.sendBuckets.get(peer)
    if (b === undefined) return { tokens: capacity, capacity }
    return { tokens: Math.min(capacity, b.tokens + (performance.now() - b.at) * (size + this.opts.peerSendSlack) / this.opts.peerSendRefillMs), capacity }
  }

  private spend (peer: string, records: number): void {
    if (records <= 0) return
    this.sendBuckets.set(peer, { tokens: this.sendAllowance(peer) - records, at: performance.now() })
    // a full bucket needs no entry
    if (this.sendBuckets.size > 1024) {
      for (const [p] of this.sendBuckets) {
        const b = this.bucketOf(p)
        if (b.tokens >= b.capacity) this.sendBuckets.delete(p)
      }
    }
  }

  private isStranger (peer: string): boolean {
    return this.modules.isLive?.(peer) === false
  }

  private session (role: SyncRole, peer: string, stream: Stream, signal: AbortSignal, sendAllowance = Infinity): SyncSession {
    return new SyncSession({
      role,
      peer,
      sendAllowance,
      stream,
      opts: this.opts,
      modules: this.modules,
      log: this.log.child({ peer, role }),
      signal,
      stopping: () => this.stopController.signal.aborted
    })
  }

  /** a session's deadline (util/deadline.ts: not AbortSignal.timeout inside AbortSignal.any); its timer lapses by itself, one per session */
  private sessionSignal (): AbortSignal {
    return deadline(this.opts.sessionTimeoutMs, this.stopController.signal).signal
  }

  private track<T> (p: Promise<T>): Promise<T> {
    const settled = p.catch(() => {})
    this.active.add(settled)
    void settled.finally(() => { this.active.delete(settled) })
    return p
  }

  private completed (role: SyncRole, report: SyncReport): void {
    this.stats.sessionsCompleted++
    this.modules.metrics?.syncSessionsTotal.inc({ outcome: 'ok' })
    this.log.info('sync session completed', { role, ...report })
  }

  private aborted (role: SyncRole, peer: string, err: unknown, report: SyncReport | undefined): void {
    const reason = abortReasonOf(err)
    this.stats.aborted[reason] = (this.stats.aborted[reason] ?? 0) + 1
    this.modules.metrics?.syncSessionsTotal.inc({ outcome: reason })
    const level = reason === 'stopped' || reason === 'busy' ? 'debug' : 'warn'
    this.log[level]('sync session aborted', {
      role, peer, reason, error: (err as Error)?.message, networksReceived: report?.networksReceived, bytesReceived: report?.bytesReceived
    })
  }
}

function checkOptions (o: SyncOptions): SyncOptions {
  const int = (field: keyof SyncOptions, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    const v = o[field]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new SyncOptionsError(field, `expected an integer in ${min}…${max}, got ${String(v)}`)
  }
  int('maxFrameBytes', 64 * 1024, 64 * 1024 * 1024)
  int('maxRecordsPerFrame', 1, 5000)
  int('maxTurnBytes', 64 * 1024)
  int('leafItems', 1, 2048)
  int('fanout', 2, 1024)
  int('sessionTimeoutMs', 1)
  int('ioTimeoutMs', 1)
  int('stallMs', 1)
  int('paceGraceMs', 0)
  int('minBytesPerSecond', 0)
  int('maxConcurrentSessions', 1)
  int('maxStrangerSessions', 0)
  int('peerSendSlack', 0)
  int('peerSendRefillMs', 1)
  int('maxPendingCommits', 1, 64)
  if (o.maxTurnBytes < o.maxFrameBytes) throw new SyncOptionsError('maxTurnBytes', `must be at least maxFrameBytes (${o.maxFrameBytes})`)
  return o
}
