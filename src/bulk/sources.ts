/**
 * Where a registry's dump comes from, and bringing a data directory's snapshot up to it:
 * - `auto`: the URLs the registries publish (REAL_BULK_SOURCES, or the simulator's in its
 *   registries JSON): the serial file is read first, and the dump is fetched and imported only
 *   when its serial differs from the snapshot's (so a restart, or a fleet whose nodes hold the
 *   same serial, does not fetch again);
 * - a directory holding the files under the registries' own names (`ripe.db.inetnum.gz`,
 *   `ripe.db.organisation.gz`, `RIPE.CURRENTSERIAL`, `apnic.db.…`, `afrinic.db.gz`, …): what an
 *   operator who downloads them once for the whole fleet points every node at.
 * A source that fails is said in one line and its registry is crawled as without a dump; the
 * snapshot imported before (if any) stays in use.
 */
import { createWriteStream } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { BulkSource } from '../registry/endpoints.js'
import type { RegistryId } from '../registry/interface.js'
import type { Logger } from '../util/logger.js'
import { BulkSourceError } from './errors.js'
import { BULK_REGISTRIES, importDump, localDumpFile, registryOfDumpFile, type DumpFile, type ImportResult } from './import.js'
import type { DumpRegistry } from './inetnum.js'
import { BulkLayer, BULK_DIR, ensureBulkDir } from './layer.js'

const SERIAL_FILE: Record<DumpRegistry, string> = { ripe: 'RIPE.CURRENTSERIAL', apnic: 'APNIC.CURRENTSERIAL', afrinic: 'AFRINIC.CURRENTSERIAL' }

/** `--bulk`: off, auto (the registries' URLs), or a directory of dump files. */
export type BulkChoice = { kind: 'off' } | { kind: 'auto', sources: Partial<Record<RegistryId, BulkSource>> } | { kind: 'dir', dir: string }

function parseSerial (text: string, where: string): number {
  const t = text.trim()
  if (!/^\d{1,15}$/.test(t)) throw new BulkSourceError(`${where}: not a serial number: ${JSON.stringify(t.slice(0, 40))}`)
  return Number(t)
}

async function fetchOk (url: string, signal?: AbortSignal): Promise<Response> {
  let res: Response
  try {
    res = await fetch(url, { signal })
  } catch (err: any) {
    throw new BulkSourceError(`${url}: ${String(err?.cause?.code ?? err?.message ?? err)}`)
  }
  if (!res.ok) { await res.body?.cancel(); throw new BulkSourceError(`${url}: HTTP ${res.status}`) }
  return res
}

/** The files of one registry's dump from its published URLs, downloaded into `tmp` (read twice by the import). */
async function download (source: BulkSource, tmp: string, signal?: AbortSignal): Promise<{ files: DumpFile[], takenAt: number }> {
  const files: DumpFile[] = []
  let takenAt = 0
  for (const url of source.files) {
    const res = await fetchOk(url, signal)
    const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? 'dump')
    const path = join(tmp, name)
    try {
      await pipeline(Readable.fromWeb(res.body as any), createWriteStream(path), { signal })
    } catch (err: any) {
      if (signal?.aborted === true) throw err
      throw new BulkSourceError(`${url}: the download failed (${String(err?.code ?? err?.message ?? err)})`)
    }
    const modified = Date.parse(res.headers.get('last-modified') ?? '')
    if (Number.isFinite(modified)) takenAt = Math.max(takenAt, modified)
    files.push(await localDumpFile(path))
  }
  return { files, takenAt: takenAt > 0 ? takenAt : Date.now() }
}

/** One registry's files in a directory, by the registries' names; empty when it has none. */
async function filesIn (dir: string, registry: DumpRegistry): Promise<{ files: DumpFile[], serial: number | null, takenAt: number }> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err: any) {
    throw new BulkSourceError(`--bulk ${dir}: ${String(err?.code ?? err?.message)}`)
  }
  const files: DumpFile[] = []
  let takenAt = 0
  const mine = names.filter(n => registryOfDumpFile(n) === registry).sort()
  const split = mine.filter(n => /\.db\.(?:inetnum|organisation)(?:\.gz)?$/i.test(n))
  // the split files, or else the whole database in one file (ripe.db.gz, afrinic.db.gz)
  const chosen = split.some(n => /\.db\.inetnum/i.test(n)) ? split : mine.filter(n => /^[a-z]+\.db(?:\.gz)?$/i.test(n))
  for (const name of chosen) {
    const f = await localDumpFile(join(dir, name))
    files.push(f)
    takenAt = Math.max(takenAt, f.modifiedAt)
  }
  let serial: number | null = null
  const serialPath = join(dir, SERIAL_FILE[registry])
  try {
    serial = parseSerial(await readFile(serialPath, 'utf8'), serialPath)
  } catch (err: any) {
    if (err?.code !== 'ENOENT') throw err instanceof BulkSourceError ? err : new BulkSourceError(`${serialPath}: ${String(err?.message)}`)
  }
  return { files, serial, takenAt: Math.round(takenAt) }
}

export interface BulkOutcome {
  registry: DumpRegistry
  /** imported now, kept (same serial), or failed (the line said why) */
  status: 'imported' | 'current' | 'failed' | 'none'
  result?: ImportResult
  error?: string
}

/**
 * Brings the data directory's snapshots up to `choice`, registry by registry, logging one line
 * each. Never throws for a source that fails (that registry is crawled); throws only on abort.
 */
export async function refreshBulk (dataDir: string, choice: BulkChoice, logger: Logger, signal?: AbortSignal): Promise<BulkOutcome[]> {
  if (choice.kind === 'off') return []
  await removeLeftovers(dataDir)
  const layer = await BulkLayer.open(dataDir).catch(() => new BulkLayer())
  const held = new Map(layer.headers().map(h => [h.registry, h]))
  await layer.close()
  const out: BulkOutcome[] = []
  for (const registry of BULK_REGISTRIES) {
    signal?.throwIfAborted()
    const before = held.get(registry)
    let tmp: string | undefined
    try {
      let files: DumpFile[]
      let serial: number | null
      let takenAt: number
      if (choice.kind === 'auto') {
        const source = choice.sources[registry]
        if (source === undefined) { out.push({ registry, status: 'none' }); continue }
        serial = parseSerial(await (await fetchOk(source.serial, signal)).text(), source.serial)
        if (before !== undefined && before.serial === serial) {
          logger.info('bulk data: this node holds the registry\'s current dump', { registry, serial, networks: before.networks })
          out.push({ registry, status: 'current' })
          continue
        }
        await ensureBulkDir(dataDir)
        tmp = await mkdtemp(join(dataDir, BULK_DIR, `.download-${registry}-`))
        logger.info('bulk data: fetching the registry\'s dump', { registry, serial, files: source.files })
        ;({ files, takenAt } = await download(source, tmp, signal))
      } else {
        ;({ files, serial, takenAt } = await filesIn(choice.dir, registry))
        if (files.length === 0) { out.push({ registry, status: 'none' }); continue }
        // the same serial, or (no serial file) the very files imported before: nothing to do
        const sameFiles = before !== undefined && before.takenAt === takenAt && JSON.stringify(before.files) === JSON.stringify(files.map(f => ({ name: f.name, bytes: f.bytes })))
        if (before !== undefined && (serial !== null ? before.serial === serial : sameFiles)) {
          logger.info('bulk data: this node holds the registry\'s current dump', { registry, serial, networks: before.networks })
          out.push({ registry, status: 'current' })
          continue
        }
      }
      const result = await importDump(dataDir, registry, files, {
        serial,
        takenAt,
        signal,
        onProgress: objects => logger.info('bulk data: importing', { registry, objects })
      })
      const h = result.header
      const fields = { registry, serial: h.serial, networks: h.networks, objects: h.objects, skipped: h.skipped, seconds: Number(result.seconds.toFixed(1)) }
      if (h.skipped > 0) logger.warn(`bulk data: ${registry}'s dump holds ${h.skipped} bad objects, skipped (an address in one is answered by the network holding it)`, { ...fields, problem: result.firstProblem })
      else logger.info('bulk data: imported', fields)
      out.push({ registry, status: 'imported', result })
    } catch (err: any) {
      if (signal?.aborted === true) throw err
      const message = String(err?.message ?? err)
      logger.warn(`bulk data: ${registry}'s dump not imported (${message}); ${before !== undefined ? 'the one imported before stays in use' : 'its space is crawled'}`, { registry })
      out.push({ registry, status: 'failed', error: message })
    } finally {
      if (tmp !== undefined) await rm(tmp, { recursive: true, force: true })
    }
  }
  return out
}

/** What an import cut off by a crash or a kill leaves in `DATA/bulk`: downloads and unfinished files. */
async function removeLeftovers (dataDir: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(join(dataDir, BULK_DIR))
  } catch {
    return
  }
  await Promise.all(names.filter(n => n.startsWith('.download-') || n.endsWith('.tmp')).map(async n => await rm(join(dataDir, BULK_DIR, n), { recursive: true, force: true })))
}
