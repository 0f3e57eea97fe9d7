/**
 * Learning the fleet before choosing what is ours: a node that starts crawling before it has
 * heard its peers would take addresses they own (ownership.ts), and a budget share it has not
 * been counted for (budget-share.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises'

export interface SettleOptions {
  /** between two heartbeats: the wait is counted in them */
  heartbeatIntervalMs: number
  /** wait at least this long; @default 2.5 heartbeats */
  settleMs?: number
}

export interface SettleModules {
  /** subscribes `listener` to changes of the set of live peers; returns the unsubscribe */
  onMembershipChange: (listener: () => void) => () => void
  /** the clock the waits are measured on (ms); @default Date.now */
  now?: () => number
}

/**
 * Waits at least `settleMs`, and until the set of live peers has not changed for two heartbeats
 * (peers joining together), at most 10 heartbeats; returns early when `signal` aborts.
 */
export async function settleMembership (opts: SettleOptions, modules: SettleModules, signal?: AbortSignal): Promise<void> {
  const H = opts.heartbeatIntervalMs
  const settle = opts.settleMs ?? 2.5 * H
  const clock = modules.now ?? Date.now
  const t0 = clock()
  let lastChange = t0
  const off = modules.onMembershipChange(() => { lastChange = clock() })
  try {
    while (signal?.aborted !== true) {
      const now = clock()
      if (now - t0 >= 10 * H) break
      if (now - t0 >= settle && now - lastChange >= 2 * H) break
      await sleep(Math.min(200, H / 4), undefined, { signal }).catch(() => {})
    }
  } finally {
    off()
  }
}
