/**
 * What `whoismesh node start` tells its operator while it crawls: a live one-line status on a
 * terminal, or one structured `progress` log line per interval otherwise. Pure functions over
 * progress snapshots (WhoismeshNode.progress() takes them); the terminal handling is in
 * src/cli/status-reporter.ts.
 *
 *   slice 1,204/2,380 50.6% | sample 2,502/5,000 50.0% | 1,873 nets | ETA 2m05s | req/s sent/share arin 9.8/9.8 ripe 9.7/9.8 … afrinic done
 *
 * "slice" is the part of the sample this node owns (by rendezvous hashing; all of it when alone),
 * "sample" the whole sample (resolved by any node: the index is replicated). Per registry the line
 * shows the requests per second this node sent beside its current share of that registry's
 * budget, or "done" once none of its slice's addresses are left there. The ETA
 * is the slice's remaining addresses at the pace they were resolved over the last minute. With
 * imported dumps (`--bulk`), "bulk ripe 3h10m old …" says whose space they answer without a lookup.
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'

export interface RegistrySnapshot {
  /** registry requests sent by this node since it started (redirect hops and fallbacks included) */
  requests: number
  /** this node's current share of the registry's budget, requests per second */
  sharePerSecond: number
  /** > 0 while the registry is paused after a rate-limit answer (or an unreachable one waits for its probe) */
  pausedForMs: number
  /** > 0 while the registry cannot be reached at all: for how long (src/crawl/reachability.ts) */
  unreachableForMs?: number
  /** addresses of this node's slice still to look up there (queued, retrying, in flight) */
  remaining: number
}

export interface NodeProgress {
  /** ms since epoch */
  at: number
  /** the whole sample; reserved and special-purpose addresses count as resolved */
  sample: { total: number, resolved: number }
  /** the sample addresses this node owns now, less reserved and special-purpose space */
  slice: { total: number, resolved: number }
  networks: number
  /** addresses given up on after retries */
  failed: number
  registries: Record<RegistryId, RegistrySnapshot>
  /** the registries' imported dumps (src/bulk): whose space they answer, and how old each is */
  bulk?: Array<{ registry: RegistryId, takenAt: number }>
}

export interface ProgressRates {
  /** requests per second over the rate window */
  requestsPerSecond: Record<RegistryId, number>
  /** slice addresses resolved per second over the ETA window; undefined until two snapshots */
  sliceResolvedPerSecond?: number
  /** seconds until the slice is resolved; 0 when it is; undefined when unknown (no pace yet) */
  etaSeconds?: number
}

export interface ProgressTrackerOptions {
  /** window of the request rates (default 10 s: recent, yet smoother than one interval) */
  rateWindowMs: number
  /** window of the resolution pace behind the ETA (default 60 s) */
  etaWindowMs: number
}

export const defaultProgressTrackerOptions: ProgressTrackerOptions = { rateWindowMs: 10_000, etaWindowMs: 60_000 }

/** Keeps recent snapshots and derives rates and the ETA from them. */
export class ProgressTracker {
  private readonly opts: ProgressTrackerOptions
  private readonly history: NodeProgress[] = []

  constructor (opts: Partial<ProgressTrackerOptions> = {}) {
    this.opts = { ...defaultProgressTrackerOptions, ...opts }
  }

  /** Records a snapshot (in time order) and returns the rates as of it. */
  push (p: NodeProgress): ProgressRates {
    this.history.push(p)
    // keep one snapshot at or beyond the longest window, as its left edge
    const horizon = p.at - Math.max(this.opts.rateWindowMs, this.opts.etaWindowMs)
    while (this.history.length > 2 && this.history[1].at <= horizon) this.history.shift()
    return this.rates()
  }

  rates (): ProgressRates {
    const last = this.history[this.history.length - 1]
    const requestsPerSecond = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
    if (last == null) return { requestsPerSecond }
    const rateFrom = this.oldestWithin(this.opts.rateWindowMs)
    const dtRate = (last.at - rateFrom.at) / 1000
    if (dtRate > 0) {
      for (const id of REGISTRY_IDS) requestsPerSecond[id] = Math.max(0, last.registries[id].requests - rateFrom.registries[id].requests) / dtRate
    }
    const remaining = last.slice.total - last.slice.resolved
    const etaFrom = this.oldestWithin(this.opts.etaWindowMs)
    const dtEta = (last.at - etaFrom.at) / 1000
    if (dtEta <= 0) return { requestsPerSecond, etaSeconds: remaining <= 0 ? 0 : undefined }
    // ownership may move while the window runs: compare what is left, not what was resolved
    const before = etaFrom.slice.total - etaFrom.slice.resolved
    const pace = Math.max(0, before - remaining) / dtEta
    return { requestsPerSecond, sliceResolvedPerSecond: pace, etaSeconds: estimateEtaSeconds(remaining, pace) }
  }

  /** The oldest snapshot within the window, or the one before the last when snapshots are further apart. */
  private oldestWithin (windowMs: number): NodeProgress {
    const n = this.history.length
    const last = this.history[n - 1]
    for (let i = 0; i < n - 1; i++) if (last.at - this.history[i].at <= windowMs) return this.history[i]
    return this.history[Math.max(0, n - 2)]
  }
}

/** Seconds to resolve `remaining` addresses at `perSecond`; 0 when nothing remains, undefined at no pace. */
export function estimateEtaSeconds (remaining: number, perSecond: number): number | undefined {
  if (remaining <= 0) return 0
  if (!(perSecond > 0)) return undefined
  return remaining / perSecond
}

/** 42 → "42s", 125 → "2m05s", 7380 → "2h03m", 200000 → "2d07h". */
export function formatDuration (seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
  return `${Math.floor(s / 86_400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US')
const pct = (a: number, b: number): string => b === 0 ? '100.0%' : `${(100 * a / b).toFixed(1)}%`
const rate = (n: number): string => n >= 100 ? n.toFixed(0) : n.toFixed(1)

/**
 * The status as one line of at most `width` characters. When everything does not fit, parts are
 * left out, least important first: the per-registry rates, then the index size, then the sample.
 */
export function formatStatusLine (p: NodeProgress, r: ProgressRates, width = 200): string {
  const eta = r.etaSeconds === 0 ? 'slice done' : r.etaSeconds == null ? 'ETA -' : `ETA ${formatDuration(r.etaSeconds)}`
  const regs: string[] = []
  for (const id of REGISTRY_IDS) {
    const g = p.registries[id]
    // no work left there: a rate would be the last lookups' against a share already given back
    if (g.remaining === 0) regs.push(`${id} done`)
    else if ((g.unreachableForMs ?? 0) > 0) regs.push(`${id} unreachable ${formatDuration(g.unreachableForMs! / 1000)}`)
    else if (g.pausedForMs > 0) regs.push(`${id} paused ${formatDuration(g.pausedForMs / 1000)}`)
    else regs.push(`${id} ${rate(r.requestsPerSecond[id])}/${rate(g.sharePerSecond)}`)
  }
  // higher priority parts are kept longer; among equals the last one goes first
  const parts: Array<{ text: string, priority: number, registry?: true }> = [
    { text: `slice ${int(p.slice.resolved)}/${int(p.slice.total)} ${pct(p.slice.resolved, p.slice.total)}`, priority: 6 },
    { text: `sample ${int(p.sample.resolved)}/${int(p.sample.total)} ${pct(p.sample.resolved, p.sample.total)}`, priority: 4 },
    { text: `${int(p.networks)} nets`, priority: 3 },
    { text: eta, priority: 5 },
    ...(p.failed > 0 ? [{ text: `${int(p.failed)} failed`, priority: 4 }] : []),
    ...(p.bulk !== undefined && p.bulk.length > 0 ? [{ text: `bulk ${p.bulk.map(b => `${b.registry} ${formatDuration((p.at - b.takenAt) / 1000)} old`).join(' ')}`, priority: 2 }] : []),
    ...regs.map(text => ({ text, priority: 1, registry: true as const }))
  ]
  // "slice … | sample … | … | req/s sent/share arin 9.8/9.8 ripe 9.7/9.8"
  const join = (ps: typeof parts): string => ps.map((x, i) => {
    if (i === 0) return x.text
    if (x.registry === true) return ps[i - 1].registry === true ? ` ${x.text}` : ` | req/s sent/share ${x.text}`
    return ` | ${x.text}`
  }).join('')
  const kept = [...parts]
  while (join(kept).length > width && kept.length > 1) {
    let drop = 1
    for (let i = 2; i < kept.length; i++) if (kept[i].priority <= kept[drop].priority) drop = i
    kept.splice(drop, 1)
  }
  const line = join(kept)
  return line.length <= width ? line : line.slice(0, Math.max(0, width - 1)) + '…'
}

/** The fields of the periodic `progress` log line (when stderr is not a terminal). */
export function progressLogFields (p: NodeProgress, r: ProgressRates): Record<string, unknown> {
  const round1 = (n: number): number => Math.round(n * 10) / 10
  const unreachable = REGISTRY_IDS.filter(id => (p.registries[id].unreachableForMs ?? 0) > 0)
  return {
    resolved: p.sample.resolved,
    total: p.sample.total,
    sliceResolved: p.slice.resolved,
    sliceTotal: p.slice.total,
    networks: p.networks,
    failed: p.failed,
    requestsPerSecond: Object.fromEntries(REGISTRY_IDS.map(id => [id, round1(r.requestsPerSecond[id])])),
    budgetShare: Object.fromEntries(REGISTRY_IDS.map(id => [id, round1(p.registries[id].sharePerSecond)])),
    remaining: Object.fromEntries(REGISTRY_IDS.map(id => [id, p.registries[id].remaining])),
    etaSeconds: r.etaSeconds == null ? null : Math.round(r.etaSeconds),
    // the registries whose dump answers their space, and its age in hours
    ...(p.bulk !== undefined && p.bulk.length > 0 ? { bulkAgeHours: Object.fromEntries(p.bulk.map(b => [b.registry, round1((p.at - b.takenAt) / 3_600_000)])) } : {}),
    // only while some registry cannot be reached: seconds since its outage began
    ...(unreachable.length > 0 ? { unreachableSeconds: Object.fromEntries(unreachable.map(id => [id, Math.round(p.registries[id].unreachableForMs! / 1000)])) } : {})
  }
}
