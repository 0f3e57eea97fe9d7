/**
 * Latency and fault injection. Draws come from one seeded generator per simulator, so the same
 * seed and the same order of queries give the same faults and delays.
 */
import type { Socket } from 'node:net'
import type { Writable } from 'node:stream'
import type { SimContext } from './context.js'
import type { FaultKind } from './options.js'
import type { RegistryId } from '../registry/interface.js'
import { prngFloat as seededRandom } from '../util/prng.js'

/** Deterministic floats in [0, 1) (mulberry32). */
export { seededRandom }

export interface FaultPlanOptions {
  faultRate: number
  faultKinds: readonly FaultKind[]
  latencyMs: number | [number, number]
  seed: number
  /** registries whose answers may be replaced by a fault; absent: all of them */
  faultRegistries?: readonly RegistryId[]
}

/** What can be changed while the simulator runs (POST /faults): any subset. */
export interface FaultPlanUpdate {
  faultRate?: number
  faultKinds?: readonly FaultKind[]
  /** null or absent in an update that sets it: every registry */
  faultRegistries?: readonly RegistryId[] | null
}

export class FaultPlan {
  private readonly random: () => number
  private faultRate: number
  private faultKinds: readonly FaultKind[]
  private faultRegistries: ReadonlySet<RegistryId> | undefined

  constructor (private readonly opts: FaultPlanOptions) {
    this.random = seededRandom(opts.seed)
    this.faultRate = opts.faultRate
    this.faultKinds = [...opts.faultKinds]
    this.faultRegistries = opts.faultRegistries != null ? new Set(opts.faultRegistries) : undefined
  }

  /** Replaces the fields given (already validated); the seeded draws carry on. */
  update (u: FaultPlanUpdate): void {
    if (u.faultRate !== undefined) this.faultRate = u.faultRate
    if (u.faultKinds !== undefined) this.faultKinds = [...u.faultKinds]
    if (u.faultRegistries !== undefined) this.faultRegistries = u.faultRegistries === null ? undefined : new Set(u.faultRegistries)
  }

  /** The plan in force. */
  current (): { faultRate: number, faultKinds: FaultKind[], faultRegistries: RegistryId[] | null } {
    return { faultRate: this.faultRate, faultKinds: [...this.faultKinds], faultRegistries: this.faultRegistries != null ? [...this.faultRegistries] : null }
  }

  /** The fault to inject instead of the next answer of `registry` (any registry when absent), if any. */
  nextFault (registry?: RegistryId): FaultKind | undefined {
    const { faultRate, faultKinds } = this
    if (faultRate <= 0) return undefined
    if (registry !== undefined && this.faultRegistries !== undefined && !this.faultRegistries.has(registry)) return undefined
    if (this.random() >= faultRate) return undefined
    return faultKinds[Math.floor(this.random() * faultKinds.length) % faultKinds.length]
  }

  /** Delay before the next answer, in ms. */
  nextDelayMs (): number {
    const l = this.opts.latencyMs
    if (typeof l === 'number') return l
    return l[0] + this.random() * (l[1] - l[0])
  }
}

/** Garbage that is neither JSON nor WHOIS text (no "key: value" lines). */
export function malformedBytes (json: boolean): Buffer {
  return json
    ? Buffer.from('{"objectClassName": "ip network", "handle": "NET-\u0000\u0001 ]]}{ <html>502 Bad Gateway</html>', 'utf8')
    : Buffer.from('\u0000\u0001\u0002 <<< garbled >>> \u00ff\u00fe\n~~~~ 0x7f 0x00 ~~~~\n', 'latin1')
}

/**
 * Streams `totalBytes` of filler to `out` with back-pressure (never allocated whole), wrapped in
 * `head` / `tail`, then ends it. Stops quietly when the peer goes away.
 */
export async function streamHuge (out: Writable, totalBytes: number, head: string, tail: string, line: string): Promise<void> {
  const chunk = Buffer.from(line.repeat(Math.max(1, Math.floor(64 * 1024 / line.length))))
  let sent = 0
  const alive = (): boolean => !out.destroyed && out.writable
  if (!out.write(head)) await drained(out)
  while (sent < totalBytes && alive()) {
    const piece = totalBytes - sent >= chunk.length ? chunk : chunk.subarray(0, totalBytes - sent)
    sent += piece.length
    if (!out.write(piece)) await drained(out)
  }
  if (alive()) out.end(tail)
}

async function drained (out: Writable): Promise<void> {
  if (out.destroyed) return
  await new Promise<void>(resolve => {
    const done = (): void => {
      out.off('drain', done)
      out.off('close', done)
      out.off('error', done)
      resolve()
    }
    out.on('drain', done)
    out.on('close', done)
    out.on('error', done)
  })
}

/** How one protocol frames the faults that carry a body; a timeout and a reset look alike in every protocol. */
export type FaultRendering = Record<Exclude<FaultKind, 'timeout' | 'reset'>, () => void>

/**
 * Plays `fault` on a connection: a timeout never answers and drops the connection after hangMs
 * (close() drops it sooner); the others happen after the usual latency.
 */
export function injectFault (ctx: SimContext, fault: FaultKind, socket: Socket, rendering: FaultRendering): void {
  switch (fault) {
    case 'timeout':
      socket.setTimeout(0)
      ctx.later(ctx.opts.hangMs, () => socket.destroy())
      return
    case 'reset':
      ctx.afterLatency(() => socket.resetAndDestroy())
      return
    default:
      ctx.afterLatency(rendering[fault])
  }
}
