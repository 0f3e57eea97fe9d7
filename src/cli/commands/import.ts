/**
 * `whoismesh import FILE… [--data DIR]`: imports registries' database dumps (src/bulk) into a
 * stopped node's data directory — the files as the registries name them (ripe.db.inetnum.gz with
 * ripe.db.organisation.gz, apnic.db.…, afrinic.db.gz), each registry's replacing the snapshot it
 * had, its serial read from a CURRENTSERIAL file given beside them or `--serial`.
 * `--remove REGISTRY` drops a registry's snapshot instead (its space is crawled again).
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { importDump, localDumpFile, registryOfDumpFile, BULK_REGISTRIES, type DumpFile } from '../../bulk/import.js'
import type { DumpRegistry } from '../../bulk/inetnum.js'
import { removeSnapshot } from '../../bulk/layer.js'
import { NetworkStore } from '../../store/index.js'
import { UserError } from '../errors.js'

export interface ImportCommandOptions { data: string, serial?: number, remove?: string }

/** Runs `fn` holding the data directory's lock: a running node would not see the new snapshot (and holds the lock). */
async function whileStopped<T> (dataDir: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await NetworkStore.withLock(dataDir, fn)
  } catch (err: any) {
    if (err?.name === 'StoreLockedError') throw new UserError(`a node is running on ${dataDir}: stop it first, or restart it with --bulk DIR (it imports the files at start)`)
    throw err
  }
}

export async function runImport (paths: string[], o: ImportCommandOptions): Promise<number> {
  if (o.remove != null) {
    if (!(BULK_REGISTRIES as readonly string[]).includes(o.remove)) throw new UserError(`--remove: expected one of ${BULK_REGISTRIES.join(', ')}, got "${o.remove}"`)
    await whileStopped(o.data, async () => await removeSnapshot(o.data, o.remove as DumpRegistry))
    process.stdout.write(`removed ${o.remove}'s imported dump from ${o.data}: its space is crawled again\n`)
    return 0
  }
  if (paths.length === 0) throw new UserError('give the dump files to import (e.g. ripe.db.inetnum.gz ripe.db.organisation.gz RIPE.CURRENTSERIAL), or --remove REGISTRY')
  const byRegistry = new Map<DumpRegistry, { files: DumpFile[], serial: number | null }>()
  for (const p of paths) {
    const name = basename(p)
    const serialOf = /^(RIPE|APNIC|AFRINIC)\.CURRENTSERIAL$/i.exec(name)
    const registry = serialOf !== null ? serialOf[1].toLowerCase() as DumpRegistry : registryOfDumpFile(name)
    if (registry === undefined) throw new UserError(`${p}: not a dump file by its name (expected ripe.db.inetnum.gz, ripe.db.organisation.gz, apnic.db.inetnum.gz, apnic.db.organisation.gz, afrinic.db.gz or a <SOURCE>.CURRENTSERIAL file)`)
    const entry = byRegistry.get(registry) ?? { files: [], serial: null }
    byRegistry.set(registry, entry)
    if (serialOf !== null) {
      const text = (await readFile(p, 'utf8').catch((err: any) => { throw new UserError(`cannot read ${p}: ${String(err.code ?? err.message)}`) })).trim()
      if (!/^\d{1,15}$/.test(text)) throw new UserError(`${p}: not a serial number`)
      entry.serial = Number(text)
    } else {
      entry.files.push(await localDumpFile(p).catch((err: any) => { throw new UserError(String(err.message)) }))
    }
  }
  for (const [registry, { files }] of byRegistry) if (files.length === 0) throw new UserError(`${registry}: a serial file but no dump file given`)
  return await whileStopped(o.data, async () => await importAll(o, byRegistry))
}

/** Imports each registry's files in turn; 1 when any was refused (said on stderr), else 0. */
async function importAll (o: ImportCommandOptions, byRegistry: Map<DumpRegistry, { files: DumpFile[], serial: number | null }>): Promise<number> {
  let failed = 0
  for (const [registry, { files, serial }] of byRegistry) {
    try {
      const r = await importDump(o.data, registry, files, { serial: o.serial ?? serial, takenAt: Math.max(...files.map(f => f.modifiedAt)) })
      const h = r.header
      process.stdout.write(`${registry}: ${h.networks.toLocaleString('en-US')} networks from ${h.objects.toLocaleString('en-US')} objects in ${r.seconds.toFixed(1)} s (serial ${h.serial ?? 'unknown'})` +
        `${h.skipped > 0 ? `; ${h.skipped} bad objects skipped (first: ${r.firstProblem ?? '?'})` : ''}\n`)
    } catch (err: any) {
      if (err?.name !== 'BulkSourceError') throw err
      failed++
      process.stderr.write(`${registry}: not imported: ${String(err.message)}; the snapshot it had (if any) is kept\n`)
    }
  }
  return failed > 0 ? 1 : 0
}
