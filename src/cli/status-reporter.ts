/**
 * How `whoismesh node start` reports progress (the content is src/report/status-line.ts):
 *
 * - on a terminal (stderr is a TTY, no --quiet, pretty logs): one live status line at the bottom
 *   of stderr, redrawn in place every second (`\r`, erase line, text cut to the terminal width).
 *   Log lines go through the same LiveLine: it erases the status line, writes the log line, and
 *   redraws the status line under it — so logs scroll above a status line that stays last, and
 *   no line is ever written into the middle of another. The line is erased when the node stops.
 * - otherwise (a pipe, a file, journald, --log-format json): one structured `progress` log line
 *   every --status-interval seconds, with the same numbers (rates, budget shares, ETA).
 */
import type { Logger } from '../util/logger.js'
import { formatStatusLine, progressLogFields, ProgressTracker, type NodeProgress } from '../report/status-line.js'
import type { CrawlCounters } from '../crawl/interface.js'

/** A single status line kept at the bottom of a terminal stream, with log lines printed above it. */
export class LiveLine {
  private current: string | undefined

  constructor (private readonly out: NodeJS.WriteStream) {}

  /** Usable width: one less than the terminal, so the cursor never wraps to a new row. */
  get width (): number {
    const columns = this.out.columns
    return Math.max(20, (columns != null && columns > 0 ? columns : 80) - 1)
  }

  /** Replaces the status line. */
  show (text: string): void {
    this.current = text.length > this.width ? text.slice(0, this.width) : text
    this.out.write('\r\x1b[2K' + this.current)
  }

  /** Writes a whole line above the status line. */
  printAbove (line: string): void {
    this.out.write('\r\x1b[2K' + line + '\n' + (this.current ?? ''))
  }

  /** Erases the status line (the cursor stays at the start of the now empty row). */
  clear (): void {
    if (this.current === undefined) return
    this.current = undefined
    this.out.write('\r\x1b[2K')
  }
}

export interface StatusReporterOptions {
  /** seconds between `progress` log lines when not live */
  statusIntervalSeconds: number
  /** refresh of the live line (default 1000) */
  liveRefreshMs?: number
}

export interface StatusReporterModules {
  node: { progress: () => NodeProgress, crawler: { counterSnapshot: () => CrawlCounters } }
  logger: Logger
  /** the live line, when stderr is a terminal and the operator wants it */
  live?: LiveLine
}

/** Starts reporting; call the returned function to stop (it erases the live line). */
export function startStatusReporter (opts: StatusReporterOptions, m: StatusReporterModules): () => void {
  const tracker = new ProgressTracker()
  const tick = (): void => {
    const p = m.node.progress()
    const rates = tracker.push(p)
    if (m.live != null) {
      m.live.show(formatStatusLine(p, rates, m.live.width))
    } else {
      const c = m.node.crawler.counterSnapshot()
      m.logger.info('progress', { ...progressLogFields(p, rates), lookups: c.lookups, inFlight: c.lookingUp, rateLimited: c.rateLimited })
    }
  }
  const timer = setInterval(tick, m.live != null ? opts.liveRefreshMs ?? 1000 : opts.statusIntervalSeconds * 1000)
  timer.unref()
  if (m.live != null) tick()
  return () => {
    clearInterval(timer)
    m.live?.clear()
  }
}
