/**
 * What a running node's control endpoint (control.ts) answers: the read commands (`dump`,
 * `lookup`, `coverage`, the distrusted peers) served from its open store, its crawl status, and
 * `distrust`.
 */
import type { ControlHandler } from './control.js'
import type { DistrustResult, NetworkStore } from '../store/index.js'
import type { CrawlStatus } from '../crawl/interface.js'
import { COUNTERS_META_KEY } from '../crawl/interface.js'
import { coverageReport } from '../report/coverage.js'
import { writeDump, dumpParams } from '../report/dump.js'
import { lookupReport } from '../report/lookup.js'
import { BULK_FORMATS, LineWriter, bulkLookup, type BulkFormat } from '../report/bulk-lookup.js'
import { LiveAnswers } from '../report/bulk-answers.js'
import { parseIPv4 } from '../util/ipv4.js'
import { UserError } from '../util/errors.js'

export interface ControlRoutesOptions {
  /** what coverage measures against when the request does not say (the node's sample) */
  sampleLimit?: number
}

export interface ControlRoutesModules {
  store: NetworkStore
  crawler: { status: () => CrawlStatus }
  /** the node's `distrust` (node.ts): the store's, and the peers forgotten by the mesh */
  distrust: (peers: string[], undo: boolean) => Promise<DistrustResult>
}

export function controlRoutes (opts: ControlRoutesOptions, modules: ControlRoutesModules): Record<string, ControlHandler> {
  const { store, crawler } = modules
  return {
    '/v1/status': async () => crawler.status(),
    '/v1/coverage': async (p) => await coverageReport(store, { sampleLimit: optionalInt(p.get('sampleLimit')) ?? opts.sampleLimit, countersKey: COUNTERS_META_KEY }),
    '/v1/dump': async (p, stream) => { await writeDump(store, dumpParams(p), stream()) },
    '/v1/lookup': async (p) => await lookupReport(store, parseIPv4(p.get('ip') ?? '')),
    // `lookup -` while the node runs: the body's addresses, answered from the live store
    'POST /v1/lookup-bulk': async (p, stream, body) => {
      const writer = new LineWriter(bulkFormat(p.get('format')))
      await bulkLookup(body, stream(), new LiveAnswers(store, r => writer.fragment(r)), writer)
    },
    '/v1/distrusted': async () => store.distrusted(),
    'POST /v1/distrust': async (p) => await modules.distrust(p.getAll('peer'), p.get('undo') === '1')
  }
}

function bulkFormat (v: string | null): BulkFormat {
  const format = (v ?? 'jsonl') as BulkFormat
  if (!BULK_FORMATS.includes(format)) throw new UserError(`unknown format "${format}"`)
  return format
}

function optionalInt (v: string | null): number | undefined {
  if (v == null || v === '') return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new UserError(`bad number "${v}"`)
  return n
}
