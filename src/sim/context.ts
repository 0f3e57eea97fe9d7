/**
 * What the simulator's servers share: the world, the options, the counters, one budget gate per
 * registry (shared by its RDAP and WHOIS servers), the fault plan and the storms (both changeable
 * at run time through the control server), and the bookkeeping that lets close() tear everything
 * down at once (open sockets, pending timers).
 */
import type { Socket } from 'node:net'
import { REGISTRY_IDS, type RegistryEndpoints, type RegistryId } from '../registry/interface.js'
import { FaultPlan } from './faults.js'
import { SimMetrics, type FaultPlanState } from './metrics.js'
import type { FaultKind, FaultsUpdate, SimulatorOptions, StormMode, StormRequest } from './options.js'
import { RegistryGate, type Admission } from './rate-limiter.js'
import { flatView, type WorldView } from './responder.js'
import type { World } from './world.js'

/** An injected storm at one registry (POST /storm). */
interface Storm {
  mode: StormMode
  /** performance.now() at which it ends */
  until: number
  retryAfterSeconds: number
  /** ban mode: clients already told they are banned (each counts one ban) */
  banned: Set<string>
}

export class SimContext {
  /** the options in force: a copy, since hugeBytes and hangMs change with POST /faults */
  readonly opts: SimulatorOptions
  readonly metrics: SimMetrics
  readonly gates: Record<RegistryId, RegistryGate>
  readonly faults: FaultPlan
  /** every open socket of every server, destroyed by close() */
  readonly sockets = new Set<Socket>()
  private readonly storms = new Map<RegistryId, Storm>()
  private readonly timers = new Set<NodeJS.Timeout>()
  /** filled in once every server listens */
  endpoints!: RegistryEndpoints
  closing = false

  /** what the servers answer from: the flat world, or the nested world built on it */
  readonly view: WorldView

  constructor (readonly world: World, opts: SimulatorOptions, view?: WorldView) {
    this.opts = { ...opts }
    this.view = view ?? flatView(world)
    this.metrics = new SimMetrics(world.count)
    this.gates = Object.fromEntries(REGISTRY_IDS.map(id => [id, new RegistryGate({
      budgetPerSecond: opts.budgetPerSecond[id],
      burstSeconds: opts.burstSeconds,
      banAfterOverBudget: opts.banAfterOverBudget,
      banWindowMs: opts.banWindowMs,
      banMs: opts.banMs
    })])) as Record<RegistryId, RegistryGate>
    this.faults = new FaultPlan(opts)
  }

  /** Changes the fault plan (already validated by parseFaultsUpdate). */
  setFaults (u: FaultsUpdate): void {
    this.faults.update({ faultRate: u.faultRate, faultKinds: u.faultKinds, faultRegistries: u.faultRegistries })
    if (u.hugeBytes !== undefined) this.opts.hugeBytes = u.hugeBytes
    if (u.hangMs !== undefined) this.opts.hangMs = u.hangMs
  }

  /** Starts a storm at each registry named (replacing one running there); `ms` 0 ends them. */
  storm (s: StormRequest): void {
    const until = performance.now() + s.ms
    for (const id of s.registries) {
      if (s.ms <= 0) this.storms.delete(id)
      else this.storms.set(id, { mode: s.mode, until, retryAfterSeconds: s.retryAfterSeconds, banned: new Set() })
    }
  }

  /** The fault plan and storms in force. */
  faultPlanState (): FaultPlanState {
    const plan = this.faults.current()
    const now = performance.now()
    const storms: FaultPlanState['storms'] = {}
    for (const [id, s] of this.storms) {
      if (s.until > now) storms[id] = { mode: s.mode, remaining_ms: Math.round(s.until - now), retry_after_seconds: s.mode === 'ban' ? Math.ceil((s.until - now) / 1000) : s.retryAfterSeconds }
    }
    return { rate: plan.faultRate, kinds: plan.faultKinds, registries: plan.faultRegistries ?? [...REGISTRY_IDS], huge_bytes: this.opts.hugeBytes, hang_ms: this.opts.hangMs, storms }
  }

  trackSocket (socket: Socket): void {
    if (this.closing) { socket.destroy(); return }
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
  }

  /** setTimeout that close() cancels. */
  later (ms: number, fn: () => void): void {
    if (this.closing) return
    const t = setTimeout(() => {
      this.timers.delete(t)
      if (!this.closing) fn()
    }, ms)
    this.timers.add(t)
  }

  /** Runs `fn` after the configured latency (at once when there is none). */
  afterLatency (fn: () => void): void {
    const ms = this.faults.nextDelayMs()
    if (ms <= 0) fn()
    else this.later(ms, fn)
  }

  /** Counts one query at `registry` and passes it through the registry's budget. */
  admit (registry: RegistryId, client: string): Admission {
    const m = this.metrics.registries[registry]
    const storm = this.stormAt(registry)
    if (storm !== undefined) {
      // the storm answers instead of the budget gate (which spends no token on it)
      m.rate_limited++
      this.metrics.stormRefusals[registry]++
      if (storm.mode === 'rate-limit') return { kind: 'rate-limited', retryAfterSeconds: storm.retryAfterSeconds }
      const started = !storm.banned.has(client)
      if (started) {
        storm.banned.add(client)
        m.bans++
        this.metrics.stormBans[registry]++
      }
      return { kind: 'banned', retryAfterSeconds: Math.max(1, Math.ceil((storm.until - performance.now()) / 1000)), started }
    }
    const a = this.gates[registry].admit(client)
    if (a.kind !== 'ok') m.rate_limited++
    if (a.kind === 'banned' && a.started) m.bans++
    return a
  }

  /** Clients a running ban storm at `registry` has told they are banned. */
  stormBanned (registry: RegistryId): number {
    const s = this.stormAt(registry)
    return s?.mode === 'ban' ? s.banned.size : 0
  }

  private stormAt (registry: RegistryId): Storm | undefined {
    const s = this.storms.get(registry)
    if (s === undefined) return undefined
    if (s.until > performance.now()) return s
    this.storms.delete(registry)
    return undefined
  }

  /** The fault to inject instead of the next real answer of `registry` (counted), if any. */
  nextFault (registry: RegistryId): FaultKind | undefined {
    const f = this.faults.nextFault(registry)
    if (f !== undefined) this.metrics.faults[f]++
    return f
  }

  shutdown (): void {
    this.closing = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
  }
}
