/**
 * The counters sync reports to. They are created with the mesh's (src/metrics/mesh-metrics.ts,
 * `whoismesh_sync_*`), so a node passes `metrics.mesh`; optional at call sites. Byte and
 * per-direction figures are in each SyncReport and the service's `stats`.
 */
import type { Counter } from 'prom-client'

export interface SyncMetrics {
  /** sessions by `outcome`: ok, refused (busy), or the abort reason (timeout, invalid-records, …) */
  syncSessionsTotal: Counter<'outcome'>
  /** records received through sync sessions (validated) */
  syncRecordsReceivedTotal: Counter
}
