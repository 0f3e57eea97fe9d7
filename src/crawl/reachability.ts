/**
 * Whether each registry can be reached at all, apart from whether it answers well: a registry
 * whose name does not resolve, that refuses connections or never answers is unreachable, and
 * asking it at the full budget only piles up failures.
 *
 * - A failure that did not reach the registry (lookup/errors.ts unreachableKind: `dns`,
 *   `refused`, `connect-timeout`) makes it unreachable at once; answer timeouts (`timeout`) do so
 *   after `unreachableAfterTimeouts` in a row with no answer between them.
 * - An unreachable registry waits a back-off before its next request: `unreachableBackoffBaseMs`,
 *   doubling with each probe that fails, up to `unreachableBackoffMaxMs`. The crawl sends it one
 *   request at a time meanwhile (the probe; crawler.ts), and the address of a failed probe keeps
 *   its attempts: an unreachable registry is not the address's fault.
 * - Any answer from it (a network, "not found", a refusal, even a malformed one) makes it reachable
 *   again at once.
 * - Failures of requests sent before the latest back-off began belong to it and change nothing:
 *   with N lookups in flight, one outage is one back-off step, not N.
 *
 * Events: `unreachable` once per outage, `reachable` when it ends; the crawl logs them.
 * The back-off is its own, not the rate limiter's pause, so that recovery lifts it at once and a
 * rate-limit pause is never shortened by it.
 */
import { EventEmitter } from 'node:events'
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { TransientLookupError, type UnreachableKind } from '../lookup/errors.js'
import { backoffMs } from '../util/backoff.js'
import type { RegistryGateOptions } from './interface.js'

export type ReachabilityOptions = Pick<RegistryGateOptions, 'unreachableBackoffBaseMs' | 'unreachableBackoffMaxMs' | 'unreachableAfterTimeouts'>

export interface UnreachableEvent {
  registry: RegistryId
  kind: UnreachableKind
  /** the failure that decided it (the error's message) */
  detail: string
  /** when the outage began (ms since epoch): the first failure of it */
  since: number
  /** the first back-off */
  retryInMs: number
}

export interface ReachableEvent {
  registry: RegistryId
  /** how long it was unreachable */
  afterMs: number
  /** requests that failed meanwhile (the probes, and those in flight when it went down) */
  failures: number
}

export interface ReachabilityEvents {
  unreachable: [event: UnreachableEvent]
  reachable: [event: ReachableEvent]
}

interface State {
  down: boolean
  kind: UnreachableKind
  detail: string
  /** first failure of the outage (or of the timeout streak): Date.now() and performance.now() */
  since: number
  sinceMono: number
  /** answer timeouts in a row, while reachable */
  timeouts: number
  /** back-off steps taken in this outage */
  steps: number
  failures: number
  /** when (performance.now()) the latest back-off began, and ends */
  backoffFrom: number
  backoffUntil: number
}

function fresh (): State {
  return { down: false, kind: 'refused', detail: '', since: 0, sinceMono: 0, timeouts: 0, steps: 0, failures: 0, backoffFrom: -Infinity, backoffUntil: -Infinity }
}

export class Reachability extends EventEmitter<ReachabilityEvents> {
  private readonly opts: ReachabilityOptions
  private readonly states = Object.fromEntries(REGISTRY_IDS.map(id => [id, fresh()])) as Record<RegistryId, State>

  constructor (opts: ReachabilityOptions, private readonly now: () => number = () => performance.now()) {
    super()
    this.opts = opts
  }

  /**
   * A request to `registry` that left at `sentAt` (performance.now()) failed without reaching it.
   * Returns whether the registry is unreachable now.
   */
  noteFailure (registry: RegistryId, kind: UnreachableKind, detail: string, sentAt: number): boolean {
    const st = this.states[registry]
    // part of a back-off already taken (sent before it began)
    if (sentAt < st.backoffFrom) {
      if (st.down) st.failures++
      return st.down
    }
    if (!st.down) {
      if (st.timeouts === 0) { st.since = Date.now(); st.sinceMono = this.now() }
      if (kind === 'timeout' && ++st.timeouts < this.opts.unreachableAfterTimeouts) return false
      st.down = true
      st.kind = kind
      st.detail = detail
      st.steps = 0
      st.failures = 0
    }
    st.failures++
    st.steps++
    const wait = backoffMs({ baseMs: this.opts.unreachableBackoffBaseMs, maxMs: this.opts.unreachableBackoffMaxMs }, st.steps)
    st.backoffFrom = this.now()
    st.backoffUntil = st.backoffFrom + wait
    if (st.steps === 1) this.emit('unreachable', { registry, kind: st.kind, detail: st.detail, since: st.since, retryInMs: wait })
    return true
  }

  /** `registry` answered (anything at all): it is reachable. */
  noteReached (registry: RegistryId): void {
    const st = this.states[registry]
    st.timeouts = 0
    if (!st.down) return
    const event: ReachableEvent = { registry, afterMs: this.now() - st.sinceMono, failures: st.failures }
    st.down = false
    st.steps = 0
    st.backoffUntil = -Infinity
    this.emit('reachable', event)
  }

  isUnreachable (registry: RegistryId): boolean {
    return this.states[registry].down
  }

  /** Milliseconds until `registry` may be asked again (0: now). */
  waitMs (registry: RegistryId): number {
    const st = this.states[registry]
    return st.down ? Math.max(0, st.backoffUntil - this.now()) : 0
  }

  /** How long `registry` has been unreachable (0 while it is reachable). */
  downForMs (registry: RegistryId): number {
    const st = this.states[registry]
    return st.down ? this.now() - st.sinceMono : 0
  }

  /**
   * The error of a request not sent because `registry` is unreachable and the request is not its
   * probe (RegistryGate.acquire): the outage's kind, so the crawl treats it as the outage.
   */
  notAsked (registry: RegistryId): TransientLookupError {
    const st = this.states[registry]
    return new TransientLookupError(registry, st.kind, `${registry} unreachable since ${new Date(st.since).toISOString()} (${st.detail}): not asked until it answers a probe`)
  }

  /** The outage of `registry`, while there is one. */
  outage (registry: RegistryId): Omit<UnreachableEvent, 'retryInMs'> | undefined {
    const st = this.states[registry]
    return st.down ? { registry, kind: st.kind, detail: st.detail, since: st.since } : undefined
  }
}

/** "850 ms", "12s", "3m05s" */
export function formatWait (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

const KIND_WORDS: Record<UnreachableKind, string> = {
  dns: 'name not resolved',
  refused: 'connection refused',
  'connect-timeout': 'no connection',
  timeout: 'no answer'
}

/** Where the crawl's reachability lines go (a Logger fits). */
interface LineSink {
  info: (msg: string, ctx?: Record<string, unknown>) => void
  warn: (msg: string, ctx?: Record<string, unknown>) => void
}

/**
 * Logs each outage in one line when it begins ("registry X unreachable (reason) since …;
 * retrying in …") and one when it ends ("registry X reachable again after …"), and passes the
 * events on to `forward`. Returns the function that stops listening.
 */
export function reportReachability (reachability: Reachability, log: LineSink, o: { backoffMaxMs: number, giveUpMs: number }, forward?: { unreachable: (e: UnreachableEvent) => void, reachable: (e: ReachableEvent) => void }): () => void {
  const onDown = (e: UnreachableEvent): void => {
    const giveUp = Number.isFinite(o.giveUpMs) ? `; its addresses are given up on for this run if it stays unreachable for ${formatWait(o.giveUpMs)}` : ''
    log.warn(`registry ${e.registry} unreachable (${KIND_WORDS[e.kind]}: ${e.detail}) since ${new Date(e.since).toISOString()}; retrying in ${formatWait(e.retryInMs)}, one request at a time, then at most every ${formatWait(o.backoffMaxMs)}${giveUp}`,
      { registry: e.registry, kind: e.kind, error: e.detail, since: new Date(e.since).toISOString(), retryInMs: e.retryInMs })
    forward?.unreachable(e)
  }
  const onUp = (e: ReachableEvent): void => {
    log.info(`registry ${e.registry} reachable again after ${formatWait(e.afterMs)}`, { registry: e.registry, afterMs: Math.round(e.afterMs), failedRequests: e.failures })
    forward?.reachable(e)
  }
  reachability.on('unreachable', onDown)
  reachability.on('reachable', onUp)
  return () => {
    reachability.off('unreachable', onDown)
    reachability.off('reachable', onUp)
  }
}

/**
 * A registry unreachable for CrawlerOptions.giveUpUnreachableMs: every address still waiting for
 * it in `queue` is given up on for this run, in one line (not stored as failures: they were not
 * asked), and the crawl goes on without it; the next start asks them again. Returns how many.
 */
export function giveUpOnRegistry (queue: { id: RegistryId, clear: () => number }, reachability: Reachability, log: LineSink): number {
  const registry = queue.id
  const dropped = queue.clear()
  const outage = reachability.outage(registry)
  log.warn(`registry ${registry} unreachable for ${formatWait(reachability.downForMs(registry))}: giving up on its ${dropped} addresses for this run (asked again at the next start)`,
    { registry, addresses: dropped, kind: outage?.kind, error: outage?.detail, since: outage != null ? new Date(outage.since).toISOString() : undefined })
  return dropped
}
