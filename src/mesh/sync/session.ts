/**
 * One sync session over one stream: range-based set reconciliation (Meyer; negentropy) of the two
 * indexes, both directions at once. Both roles run the same engine; the initiator drives the turns.
 *
 * Items are networks (by start) and negatives (by address), compared byte for byte: fingerprints sum,
 * and ids are cut from, each stored record's version hash (store/digest.ts), so two copies of one
 * network that differ only in fetch metadata are exchanged both ways and each store's pick rule
 * (store/pick.ts) keeps the same one. The conversation alternates turns;
 * a turn is a run of frames ending with `end`. Each side answers the other's questions and asks
 * its own (protocol.ts):
 *
 *   fp(range, fingerprint, count) — compare with my fingerprint of the range:
 *     equal                         → settled
 *     I hold nothing there          → ask all(range)
 *     the peer holds nothing there  → send all my items there
 *     I hold ≤ leafItems there      → ask ids(range, my ids)
 *     the peer holds ≤ leafItems    → send all mine there and ask all(range) (its few)
 *     else                          → ask fp for each of `fanout` equal sub-ranges
 *   ids(range, its ids) — send my items there that are not among them; ask need(range, the ids I
 *     lack)
 *   all(range) / need(range, ids) — send them
 *
 * A turn carries at most the smaller of the two sides' maxTurnBytes; what does not fit waits for
 * the sender's next turn (`more`), so neither side buffers more than a turn unread. Records
 * received go through validateRecords, then store.commit in the background (up to
 * maxPendingCommits at once) while further frames are read; listed networks wait for the session's
 * end (received.ts). The initiator ends the session when
 * neither side has anything left (`fin`); both drain their commits and compare whole-index
 * fingerprints: equal when the two stores hold the same records, byte for byte.
 */
import type { Stream } from '@libp2p/interface'
import { withDeadline } from '../../util/deadline.js'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { NetworkStore, StoredItem } from '../../store/index.js'
import type { NegativeRecord, NetworkRecord } from '../../record/index.js'
import type { Logger } from '../../util/logger.js'
import { VALIDATION_LIMITS } from '../validation.js'
import { ReceivedRecords } from './received.js'
import { SyncProtocolError, SyncRemoteError, SyncStoppedError, SyncTimeoutError } from './errors.js'
import type { SyncModules, SyncOptions, SyncReport } from './interface.js'
import {
  ID_BYTES, MAX_IDS_PER_QUESTION, SYNC_VERSION, decodeFrame, encodeFrame, joinIds, negativeToTuple, networkToTuple,
  questionBytes, splitIds, type Frame, type Question
} from './protocol.js'

export type SyncRole = 'initiator' | 'responder'

const MAX_ADDRESS = 0xffffffff
/** jobs (pending answers) one session may queue; honest sessions stay far below */
const MAX_PENDING_JOBS = 100_000
/** a frame of questions is closed at about this many bytes */
const QUESTION_FRAME_BYTES = 1024 * 1024
/**
 * records a session may send beyond what the index holds (records replaced while it runs).
 * An honest session sends each record at most once (its ranges are disjoint); questions that ask
 * for the same ranges again (50,000 "send all" in one frame made a node stream 114 MB) end the
 * session once it has sent as many records as the whole index holds, plus this.
 */
const SEND_MARGIN_RECORDS = 1_000

type Job = AsyncGenerator<StoredItem, void, undefined>

interface TurnSummary {
  questions: number
  more: boolean
  fin?: { fingerprint: string, count: number }
}

/** an item's id on the wire: the first ID_BYTES of its version hash */
const idOf = (item: StoredItem): string => item.version.toString('latin1', 0, ID_BYTES)

/** approximate msgpack size of a record tuple, bytes */
function networkBytes (r: NetworkRecord): number {
  let n = 48 + r.registry.length + r.handle.length + r.name.length + r.org.length + r.type.length + r.parentHandle.length + r.registered.length + r.lastChanged.length
  for (const c of r.cidrs) n += c.length + 1
  return n
}

export interface SessionContext {
  role: SyncRole
  peer: string
  stream: Stream
  opts: SyncOptions
  modules: SyncModules
  log: Logger
  /** aborted when the session deadline passes or the service stops */
  signal: AbortSignal
  /** true when the service is stopping (turns an abort into SyncStoppedError) */
  stopping: () => boolean
  /** records this session may send at most besides the index's size (a responder: its peer's bucket, SyncOptions.peerSendSlack) */
  sendAllowance: number
}

export class SyncSession {
  readonly report: SyncReport
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly store: NetworkStore
  private readonly startedAt = performance.now()
  /** bytes the peer accepts per turn (its announcement, at most ours) */
  private turnBytes: number
  /** largest frame the peer accepts (its announcement, at most ours) */
  private frameBytes: number
  private peerHello = false
  private sentHello = false
  private readonly outQuestions: Question[] = []
  private readonly jobs: Job[] = []
  /** what the peer sends: validated, then committed in the background (received.ts) */
  private readonly received: ReceivedRecords

  constructor (private readonly ctx: SessionContext) {
    const { opts } = ctx
    this.store = ctx.modules.store
    this.turnBytes = opts.maxTurnBytes
    this.frameBytes = opts.maxFrameBytes
    this.lp = lpStream(ctx.stream, { maxDataLength: opts.maxFrameBytes, maxBufferSize: opts.maxTurnBytes + 2 * opts.maxFrameBytes })
    this.report = {
      peer: ctx.peer,
      rangesCompared: 0,
      rounds: 0,
      networksReceived: 0,
      negativesReceived: 0,
      networksAccepted: 0,
      negativesAccepted: 0,
      networksSent: 0,
      negativesSent: 0,
      bytesReceived: 0,
      bytesSent: 0,
      durationMs: 0,
      converged: false
    }
    this.received = new ReceivedRecords(this.report, { store: this.store, maxPendingCommits: opts.maxPendingCommits, commitBatch: opts.maxRecordsPerFrame, metrics: ctx.modules.metrics, onAccepted: ctx.modules.onAccepted, plausible: ctx.modules.plausible, onImplausible: ctx.modules.onImplausible, log: ctx.log })
  }

  // ---------------------------------------------------------------- roles

  /** Runs the initiator's side to the end; the stream is closed (or aborted) when it returns. */
  async initiate (): Promise<SyncReport> {
    return await this.guard(async () => {
      const whole = this.store.fingerprintRange(0, MAX_ADDRESS)
      this.outQuestions.push({ kind: 'fp', from: 0, to: MAX_ADDRESS, fingerprint: whole.fingerprint, count: whole.count })
      for (;;) {
        await this.sendTurn()
        const t = await this.readTurn()
        if (t.fin !== undefined) throw new SyncProtocolError('protocol-violation', 'responder sent fin')
        if (!t.more && this.outQuestions.length === 0 && this.jobs.length === 0) break
      }
      await this.received.drain()
      const mine = this.wholeFingerprint()
      await this.writeFrame({ fin: mine })
      const reply = await this.readFrame()
      if (reply.fin === undefined) throw new SyncProtocolError('protocol-violation', 'expected fin')
      this.report.converged = reply.fin.fingerprint === mine.fingerprint && reply.fin.count === mine.count
      await this.closeStream()
      return this.finish()
    })
  }

  /** Serves the responder's side until the initiator's fin. */
  async respond (): Promise<SyncReport> {
    return await this.guard(async () => {
      for (;;) {
        const t = await this.readTurn()
        if (t.fin !== undefined) {
          await this.received.drain()
          const mine = this.wholeFingerprint()
          this.report.converged = t.fin.fingerprint === mine.fingerprint && t.fin.count === mine.count
          await this.writeFrame({ fin: mine })
          await this.closeStream()
          return this.finish()
        }
        await this.sendTurn()
      }
    })
  }

  /** Refuses the session with a reason (e.g. "busy") and closes the stream. */
  async refuse (reason: string): Promise<void> {
    try {
      await this.writeFrame({ err: reason })
      await this.closeStream()
    } catch {
      this.ctx.stream.abort(new Error(reason))
    }
  }

  private finish (): SyncReport {
    this.report.durationMs = Math.round(performance.now() - this.startedAt)
    return this.report
  }

  /** runs `fn`; on failure tells the peer why (when it is the peer's fault or ours), aborts the stream and rethrows a classified error */
  private async guard<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (raw) {
      const err = this.classify(raw)
      await this.closeJobs()
      if (!(err instanceof SyncRemoteError) && this.ctx.stream.status === 'open') {
        try {
          await withDeadline(1000, [], async signal => { await this.lp.write(encodeFrame({ err: err.message }), { signal }) })
        } catch {}
      }
      if (this.ctx.stream.status === 'open') this.ctx.stream.abort(err)
      // commits of records that passed validation may finish; wait so the store is quiescent
      await this.received.settle()
      this.finish()
      throw err
    }
  }

  private classify (err: unknown): Error {
    if (err instanceof SyncProtocolError || err instanceof SyncRemoteError || err instanceof SyncTimeoutError || err instanceof SyncStoppedError) return err
    const name = (err as Error)?.name
    if (this.ctx.signal.aborted || name === 'AbortError' || name === 'TimeoutError') {
      return this.ctx.stopping() ? new SyncStoppedError() : new SyncTimeoutError(`sync with ${this.ctx.peer} timed out`)
    }
    if (name === 'InvalidDataLengthError' || name === 'InvalidMessageLengthError' || name === 'InvalidDataLengthLengthError') {
      return new SyncProtocolError('malformed-frame', (err as Error).message)
    }
    if (name === 'StreamBufferError') return new SyncProtocolError('protocol-violation', `peer exceeded the turn budget: ${(err as Error).message}`)
    return err instanceof Error ? err : new Error(String(err))
  }

  private async closeJobs (): Promise<void> {
    for (const j of this.jobs.splice(0)) await j.return(undefined).catch(() => {})
  }

  // ---------------------------------------------------------------- frames

  /** Runs `op` within the I/O timeout (util/deadline.ts: a timer the collector cannot take). */
  private async io<T> (op: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return await withDeadline(this.ctx.opts.ioTimeoutMs, [this.ctx.signal], op)
  }

  private async closeStream (): Promise<void> {
    await this.io(async signal => { await this.ctx.stream.close({ signal }) })
  }

  /**
   * a read's deadline: a responder waits `stallMs` at most for the initiator's first frame (later
   * ones may take longer: before its fin an initiator commits what it held back), ioTimeoutMs after
   */
  private readMs (): number {
    const { opts } = this.ctx
    return this.ctx.role === 'responder' && !this.peerHello ? Math.min(opts.stallMs, opts.ioTimeoutMs) : opts.ioTimeoutMs
  }

  /** A responder's session that moves too few bytes for its age ends here (SyncOptions.minBytesPerSecond). */
  private checkPace (): void {
    const { opts } = this.ctx
    const s = (performance.now() - this.startedAt) / 1000
    if (this.ctx.role !== 'responder' || s * 1000 <= opts.paceGraceMs) return
    const bytes = this.report.bytesReceived + this.report.bytesSent
    if (bytes < opts.minBytesPerSecond * s) throw new SyncTimeoutError(`the session with ${this.ctx.peer} moves too slowly: ${bytes} bytes in ${s.toFixed(1)} s`)
  }

  private async readFrame (): Promise<Frame> {
    this.received.throwIfFailed()
    this.checkPace()
    const buf = await withDeadline(this.readMs(), [this.ctx.signal], async signal => await this.lp.read({ signal }))
    const bytes = buf.subarray()
    this.report.bytesReceived += bytes.byteLength
    const f = decodeFrame(bytes, VALIDATION_LIMITS.maxBatchRecords)
    if (f.err !== undefined) throw new SyncRemoteError(f.err)
    if (!this.peerHello) {
      if (f.v !== SYNC_VERSION) throw new SyncProtocolError('protocol-violation', `unsupported sync version ${String(f.v)}`)
      if (f.tb !== undefined) this.turnBytes = Math.min(this.turnBytes, f.tb)
      if (f.fb !== undefined) this.frameBytes = Math.min(this.frameBytes, f.fb)
      this.peerHello = true
    }
    return f
  }

  private async writeFrame (f: Parameters<typeof encodeFrame>[0]): Promise<number> {
    if (!this.sentHello) {
      f = { ...f, v: SYNC_VERSION, tb: this.ctx.opts.maxTurnBytes, fb: this.ctx.opts.maxFrameBytes }
      this.sentHello = true
    }
    const bytes = encodeFrame(f)
    if (bytes.byteLength > this.frameBytes) throw new Error(`frame of ${bytes.byteLength} bytes exceeds the frame limit ${this.frameBytes}`)
    await this.io(async signal => { await this.lp.write(bytes, { signal }) })
    this.report.bytesSent += bytes.byteLength
    return bytes.byteLength
  }

  // ---------------------------------------------------------------- turns

  /** Reads the peer's turn: stores its records, queues answers to its questions. */
  private async readTurn (): Promise<TurnSummary> {
    let questions = 0
    for (;;) {
      const f = await this.readFrame()
      if (f.fin !== undefined) return { questions, more: false, fin: f.fin }
      if (f.n !== undefined || f.x !== undefined) await this.received.receive(f.n ?? [], f.x ?? [])
      if (f.q !== undefined) {
        questions += f.q.length
        for (const q of f.q) await this.consider(q)
      }
      if (f.end === true) return { questions, more: f.more === true }
    }
  }

  /** Sends one turn: queued questions, then answers, within the turn budget; `more` when some wait. */
  private async sendTurn (): Promise<void> {
    const budget = this.turnBytes
    const recordFrameBytes = Math.min(this.frameBytes / 2, budget / 2)
    const questionFrameBytes = Math.min(QUESTION_FRAME_BYTES, this.frameBytes / 2)
    let sent = 0
    while (sent < budget && (this.outQuestions.length > 0 || this.jobs.length > 0)) {
      while (sent < budget && this.outQuestions.length > 0) {
        const q: Question[] = []
        let bytes = 0
        while (this.outQuestions.length > 0 && bytes < questionFrameBytes && q.length < 10_000) {
          const next = this.outQuestions.shift() as Question
          bytes += questionBytes(next)
          q.push(next)
        }
        sent += await this.writeFrame({ q })
      }
      while (sent < budget && this.jobs.length > 0) {
        sent += await this.sendRecords(recordFrameBytes)
        if (this.outQuestions.length > 0) break // a finished ids job asked something: send it early
      }
    }
    this.report.rounds++
    await this.writeFrame({ end: true, more: this.outQuestions.length > 0 || this.jobs.length > 0 })
  }

  /** Fills one frame from the jobs (in order) and sends it. */
  private async sendRecords (frameBytes: number): Promise<number> {
    const n: NetworkRecord[] = []
    const x: NegativeRecord[] = []
    let bytes = 0
    while (this.jobs.length > 0 && n.length + x.length < this.ctx.opts.maxRecordsPerFrame && bytes < frameBytes) {
      const r = await this.jobs[0].next()
      if (r.done === true) { this.jobs.shift(); continue }
      if (this.report.networksSent + this.report.negativesSent + n.length + x.length >= this.sendCap()) {
        throw new SyncProtocolError('protocol-violation', `asked for more records than this index holds (${this.store.counts().networks + this.store.counts().negatives}) or this peer may be sent now`)
      }
      if (r.value.kind === 'n') { n.push(r.value.record); bytes += networkBytes(r.value.record) } else { x.push(r.value.record); bytes += 40 }
    }
    return await this.writeRecords(n, x)
  }

  private async writeRecords (n: NetworkRecord[], x: NegativeRecord[]): Promise<number> {
    if (n.length + x.length === 0) return 0
    const f = { n: n.map(networkToTuple), x: x.map(negativeToTuple) }
    const bytes = encodeFrame(f)
    if (bytes.byteLength > this.frameBytes && n.length + x.length > 1) {
      // rare: long strings; halve until it fits
      const hn = Math.ceil(n.length / 2); const hx = Math.ceil(x.length / 2)
      return await this.writeRecords(n.slice(0, hn), x.slice(0, hx)) + await this.writeRecords(n.slice(hn), x.slice(hx))
    }
    const size = await this.writeFrame(f)
    this.report.networksSent += n.length
    this.report.negativesSent += x.length
    return size
  }

  /** records this session may send at most: what the index holds now plus SEND_MARGIN_RECORDS, and what its peer may be sent */
  private sendCap (): number {
    const held = this.store.counts()
    return Math.min(held.networks + held.negatives + SEND_MARGIN_RECORDS, this.ctx.sendAllowance)
  }

  private wholeFingerprint (): { fingerprint: string, count: number } {
    return this.store.fingerprintRange(0, MAX_ADDRESS)
  }

  // ---------------------------------------------------------------- questions received

  private addJob (job: Job): void {
    if (this.jobs.length >= MAX_PENDING_JOBS) throw new SyncProtocolError('protocol-violation', `more than ${MAX_PENDING_JOBS} pending answers`)
    this.jobs.push(job)
  }

  private async consider (q: Question): Promise<void> {
    switch (q.kind) {
      case 'fp': return await this.compare(q.from, q.to, q.fingerprint, q.count)
      case 'ids': return this.addJob(this.sendMissing(q.from, q.to, q.ids))
      case 'all': return this.addJob(this.items(q.from, q.to))
      case 'need': {
        const wanted = new Set(splitIds(q.ids))
        return this.addJob(this.items(q.from, q.to, id => wanted.has(id)))
      }
    }
  }

  private async compare (from: number, to: number, theirs: string, theirCount: number): Promise<void> {
    this.report.rangesCompared++
    const mine = this.store.fingerprintRange(from, to)
    if (mine.fingerprint === theirs && mine.count === theirCount) return
    const { leafItems, fanout } = this.ctx.opts
    if (mine.count === 0) {
      this.outQuestions.push({ kind: 'all', from, to })
    } else if (theirCount === 0) {
      this.addJob(this.items(from, to))
    } else if (mine.count <= Math.min(leafItems, MAX_IDS_PER_QUESTION) || (from === to && mine.count <= MAX_IDS_PER_QUESTION)) {
      this.outQuestions.push({ kind: 'ids', from, to, ids: joinIds(await this.ids(from, to)) })
    } else if (theirCount <= leafItems || from === to) {
      // the peer has few here: take them all, give it all of mine
      this.addJob(this.items(from, to))
      this.outQuestions.push({ kind: 'all', from, to })
    } else {
      for (const [a, b] of splitRange(from, to, fanout)) {
        const fp = this.store.fingerprintRange(a, b)
        this.outQuestions.push({ kind: 'fp', from: a, to: b, fingerprint: fp.fingerprint, count: fp.count })
      }
    }
  }

  /** my item ids in the range */
  private async ids (from: number, to: number): Promise<string[]> {
    const out: string[] = []
    for await (const item of this.store.items(from, to)) out.push(idOf(item))
    return out
  }

  /** my items in the range, those whose id passes `filter` when given */
  private async * items (from: number, to: number, filter?: (id: string) => boolean): Job {
    for await (const item of this.store.items(from, to)) {
      if (filter === undefined || filter(idOf(item))) yield item
    }
  }

  /**
   * Answer to ids(range, theirs): my items not among theirs; then ask for theirs I lack. Where both
   * hold a different copy of one network, each sends its own and the peer's pick rule decides.
   */
  private async * sendMissing (from: number, to: number, theirIds: Uint8Array): Job {
    const theirs = new Set(splitIds(theirIds))
    const seen = new Set<string>()
    for await (const item of this.store.items(from, to)) {
      const id = idOf(item)
      if (theirs.has(id)) seen.add(id); else yield item
    }
    const lacking = [...theirs].filter(id => !seen.has(id))
    if (lacking.length > 0) this.outQuestions.push({ kind: 'need', from, to, ids: joinIds(lacking) })
  }
}

/** [from, to] cut into at most `parts` consecutive ranges of (nearly) equal width */
export function splitRange (from: number, to: number, parts: number): Array<[number, number]> {
  const width = to - from + 1
  const step = Math.ceil(width / parts)
  const out: Array<[number, number]> = []
  for (let a = from; a <= to; a += step) out.push([a, Math.min(to, a + step - 1)])
  return out
}
