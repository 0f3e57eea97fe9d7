/**
 * What the simulator's servers share: the world, the options, the counters, one budget gate per
 * registry (shared by its RDAP and WHOIS servers), the fault plan, and the bookkeeping that lets
 * close() tear everything down at once (open sockets, pending timers).
 */
import type { Socket } from 'node:net'
import { REGISTRY_IDS, type RegistryEndpoints, type RegistryId } from '../registry/interface.js'
import { FaultPlan } from './faults.js'
import { SimMetrics } from './metrics.js'
import type { FaultKind, SimulatorOptions } from './options.js'
import { RegistryGate, type Admission } from './rate-limiter.js'
import type { World } from './world.js'

export class SimContext {
  readonly metrics: SimMetrics
  readonly gates: Record<RegistryId, RegistryGate>
  readonly faults: FaultPlan
  /** every open socket of every server, destroyed by close() */
  readonly sockets = new Set<Socket>()
  private readonly timers = new Set<NodeJS.Timeout>()
  /** filled in once every server listens */
  endpoints!: RegistryEndpoints
  closing = false

  constructor (readonly world: World, readonly opts: SimulatorOptions) {
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
    const a = this.gates[registry].admit(client)
    if (a.kind !== 'ok') m.rate_limited++
    if (a.kind === 'banned' && a.started) m.bans++
    return a
  }

  /** The fault to inject instead of the next real answer (counted), if any. */
  nextFault (): FaultKind | undefined {
    const f = this.faults.nextFault()
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
