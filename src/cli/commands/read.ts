/**
 * dump, lookup and coverage: read a node's store directly, or — when a running node holds the
 * LevelDB lock — ask that node over its loopback control endpoint. Both paths print the same.
 */
import { stat } from 'node:fs/promises'
import { NetworkStore } from '../../store/index.js'
import { callControl } from '../../node/control.js'
import { coverageReport, formatCoverage, type CoverageReport } from '../../report/coverage.js'
import { lookupReport, formatLookup, type LookupReport } from '../../report/lookup.js'
import { COUNTERS_META_KEY } from '../../crawl/interface.js'
import { writeDump, type DumpFormat } from '../../report/dump.js'
import { isExportFormat, type ExportFormat } from '../../export/interface.js'
import type { BulkFormat } from '../../report/bulk-lookup.js'
import type { RegistryId } from '../../registry/interface.js'
import { formatIPv4 } from '../../util/ipv4.js'
import { UserError } from '../errors.js'
import { mergeDumps } from '../../report/merge.js'
import { writeFile, rename } from 'node:fs/promises'

/** Throws a UserError unless `dataDir` is an existing directory (a read command never creates one). */
export async function checkDataDir (dataDir: string): Promise<void> {
  try {
    const s = await stat(dataDir)
    if (!s.isDirectory()) throw new UserError(`${dataDir} is not a directory`)
  } catch (err: any) {
    if (err.name === 'UserError') throw err
    if (err.code !== 'ENOENT') throw new UserError(`cannot use data directory ${dataDir}: ${String(err.message)}`)
    throw new UserError(`no data directory ${dataDir} (start a node with --data ${dataDir} first, or pass --data)`)
  }
}

/** Runs `local` on the opened store, or `remote` when a running node holds it. */
export async function withStore<T> (dataDir: string, local: (store: NetworkStore) => Promise<T>, remote: () => Promise<T>): Promise<T> {
  await checkDataDir(dataDir)
  let store: NetworkStore
  try {
    store = await NetworkStore.open({ dataDir })
  } catch (err: any) {
    if (err?.name === 'StoreLockedError') return await remote()
    throw err
  }
  try {
    return await local(store)
  } finally {
    await store.close()
  }
}

export async function runDump (o: { data: string, format: DumpFormat | ExportFormat, registry?: RegistryId, since?: number, out?: string }): Promise<void> {
  // to a file (--out), and the binary formats (which need one): dump-file.ts
  if (o.out != null || isExportFormat(o.format)) return await (await import('./dump-file.js')).runDumpFile(o)
  const params = { format: o.format, registry: o.registry, since: o.since }
  process.stdout.on('error', (err: any) => { if (err.code === 'EPIPE') process.exit(0) })
  await withStore(o.data,
    async store => { await writeDump(store, params, process.stdout) },
    async () => { await callControl(o.data, '/v1/dump', { format: o.format, registry: o.registry, since: o.since?.toString() }, process.stdout) })
}

/**
 * `lookup <ip>`, or (`-`) `lookup -`: the addresses on standard input (bulk-lookup.ts). Returns the
 * exit code: 0, or 2 when a line of the input was not an address.
 */
export async function runLookup (ip: number | '-', o: { data: string, json?: boolean, format?: BulkFormat, stats?: boolean }): Promise<number> {
  if (ip === '-') return await (await import('./bulk-lookup.js')).runBulkLookup(o)
  if (o.format !== undefined || o.stats === true) throw new UserError(`${o.format !== undefined ? '--format' : '--stats'} is for \`lookup -\` (addresses on standard input); for one address: --json or nothing`)
  const report = await withStore<LookupReport>(o.data,
    async store => await lookupReport(store, ip),
    async () => await callControl(o.data, '/v1/lookup', { ip: formatIPv4(ip) }) as LookupReport)
  process.stdout.write(o.json === true ? JSON.stringify(report, null, 2) + '\n' : formatLookup(report))
  return 0
}

export async function runCoverage (o: { data: string, json?: boolean, sampleLimit?: number }): Promise<void> {
  const report = await withStore<CoverageReport>(o.data,
    async store => {
      const stored = await store.getMeta('node.sampleLimit')
      const limit = o.sampleLimit ?? (typeof stored === 'number' ? stored : undefined)
      return await coverageReport(store, { sampleLimit: limit, countersKey: COUNTERS_META_KEY })
    },
    async () => await callControl(o.data, '/v1/coverage', { sampleLimit: o.sampleLimit?.toString() }) as CoverageReport)
  process.stdout.write(o.json === true ? JSON.stringify(report) + '\n' : formatCoverage(report))
}

/** `whoismesh merge`: merged dump to --out (atomically) or stdout; a summary line on stderr. */
export async function runMerge (files: string[], o: { out?: string }): Promise<void> {
  const result = await mergeDumps(files)
  const text = result.lines.join('')
  if (o.out != null) {
    const tmp = `${o.out}.${process.pid}.tmp`
    try {
      await writeFile(tmp, text)
      await rename(tmp, o.out)
    } catch (err: any) {
      throw new UserError(`cannot write ${o.out}: ${err.code ?? err.message}`)
    }
  } else {
    process.stdout.write(text)
  }
  process.stderr.write(JSON.stringify({ inputs: result.inputs, identical: result.identical, merged: result.lines.length }) + '\n')
}
