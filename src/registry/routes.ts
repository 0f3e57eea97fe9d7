/**
 * The table the crawl routes addresses by: the registries' delegation files (delegations.ts),
 * fetched or read from a local file, or none (the IANA /8 table alone). Logs where it came from
 * and what is missing; never throws.
 */
import { join } from 'node:path'
import type { RegistryId } from './interface.js'
import { loadDelegations, type DelegationTable } from './delegations.js'
import type { Logger } from '../util/logger.js'

/**
 * Where the delegation table comes from: fetched from these URLs (cached in
 * `<dataDir>/delegations` for a day) when the crawl starts, or the table given (from a local
 * file). Neither: by the IANA /8 table alone (transferred space then costs a redirect hop).
 */
export type DelegationSource = { urls: Partial<Record<RegistryId, string>> } | { table: DelegationTable, source: string }

export interface LoadRoutesOptions {
  delegations?: DelegationSource
  /** the node's data directory: the fetched files are cached in its `delegations/` */
  dataDir: string
}

/** The delegation table the crawl routes by, or undefined: by the IANA /8 table. */
export async function loadRoutes (opts: LoadRoutesOptions, modules: { logger: Logger }): Promise<DelegationTable | undefined> {
  const { logger } = modules
  const d = opts.delegations
  if (d == null) return undefined
  if ('table' in d) {
    logger.info('routing by delegation file', { file: d.source, blocks: d.table.size })
    return d.table
  }
  const t0 = performance.now()
  let loaded: Awaited<ReturnType<typeof loadDelegations>>
  try {
    loaded = await loadDelegations({ urls: d.urls, cacheDir: join(opts.dataDir, 'delegations') })
  } catch (err: any) {
    // e.g. the cache directory cannot be made: route by the /8 table, as without the files
    logger.warn('cannot load the delegation files; routing by the IANA /8 table', { error: String(err?.message ?? err) })
    return undefined
  }
  const failed = Object.entries(loaded.sources).filter(([, v]) => v != null && 'error' in v)
  const errors = Object.fromEntries(failed.map(([id, v]) => [id, (v as { error: string }).error]))
  if (loaded.table.size === 0) {
    // nothing to route by: one line, not one per registry and a table of no blocks
    logger.warn('no delegation file could be loaded; routing by the IANA /8 table (transferred space costs a redirect hop)', { errors, ms: Math.round(performance.now() - t0) })
    return undefined
  }
  for (const [id, error] of Object.entries(errors)) logger.warn('delegation file unavailable; that registry\'s transferred space costs a redirect hop', { registry: id, error })
  logger.info('routing by delegation files', { blocks: loaded.table.size, ms: Math.round(performance.now() - t0), sources: loaded.sources })
  return loaded.table
}
