/**
 * Importing one registry's dump into a data directory: its organisation objects first (for the
 * `org:` join), then its inetnums, each turned into the network fields a WHOIS answer would give
 * (inetnum.ts), written as the registry's snapshot (snapshot.ts), replacing the one before whole.
 *
 * Streamed: a file is read once per pass, an object at a time; the rows go to growable typed
 * arrays and their fields to a temporary file, so RIPE NCC's 4.2 million objects take ~100 MB.
 * A bad object is skipped and counted (ImportResult); a dump cut short, or a file that cannot be
 * read, throws BulkSourceError and leaves the snapshot before untouched: a dump lists its objects
 * in no particular order, so one cut short cannot vouch that a network's children are all there.
 */
import { createReadStream } from 'node:fs'
import { open, rm, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import type { Readable } from 'node:stream'
import type { RegistryId } from '../registry/interface.js'
import { BulkSourceError } from './errors.js'
import { ORGANISATION_ATTRIBUTES, organisationEntry, type DumpRegistry } from './inetnum.js'
import { ensureBulkDir, snapshotPath } from './layer.js'
import { newDumpStats, parseParagraph, readRpslParagraphsInto, type DumpReadStats, type ParagraphSink } from './rpsl-dump.js'
import { ParsePool, type ParseResult } from './parse-pool.js'
import { orderRows, writeSnapshot, type SnapshotHeader } from './snapshot.js'
import { grow } from '../util/grow.js'

export { DUMP_REGISTRY_IDS as BULK_REGISTRIES } from '../registry/interface.js'

/** One file of a dump: a name (for messages and the header) and how to read it (again: two passes). */
export interface DumpFile {
  name: string
  bytes: number
  /** ms since epoch the file was last modified (a downloaded one: when it was written here) */
  modifiedAt: number
  read: () => Promise<Readable> | Readable
}

/** A dump file on disk. Throws BulkSourceError when it cannot be read. */
export async function localDumpFile (path: string): Promise<DumpFile> {
  try {
    const s = await stat(path)
    if (!s.isFile()) throw new BulkSourceError(`${path} is not a file`)
    return { name: basename(path), bytes: s.size, modifiedAt: Math.round(s.mtimeMs), read: () => createReadStream(path) }
  } catch (err: any) {
    if (err instanceof BulkSourceError) throw err
    throw new BulkSourceError(`cannot read ${path}: ${String(err?.code ?? err?.message ?? err)}`)
  }
}

/** Which registry publishes a file, by the names the registries use (ripe.db.inetnum.gz, afrinic.db.gz, …). */
export function registryOfDumpFile (name: string): DumpRegistry | undefined {
  const m = /^(ripe|apnic|afrinic)\.db(?:\.|$)/i.exec(basename(name))
  return m === null ? undefined : m[1].toLowerCase() as DumpRegistry
}

/** Which classes a file may hold, by its name: a split file one, a whole dump all. */
function holds (name: string, cls: 'inetnum' | 'organisation'): boolean {
  const split = /\.db\.([a-z0-9-]+)$/i.exec(name.replace(/\.gz$/i, ''))
  return split === null || split[1].toLowerCase() === cls
}

export interface ImportResult {
  header: SnapshotHeader
  /** networks dropped as the registry's placeholders for space not its own */
  placeholders: number
  /** inetnums that were not networks (a bad range, no such address) */
  unusable: number
  /** the first problem met, for the one line an operator reads */
  firstProblem?: string
  seconds: number
}

/** Growable typed arrays for the rows. */
class Rows {
  n = 0
  start = new Uint32Array(1 << 16)
  end = new Uint32Array(1 << 16)
  flags = new Uint8Array(1 << 16)
  offset = new Float64Array(1 << 16)
  length = new Uint32Array(1 << 16)

  push (start: number, end: number, flags: number, offset: number, length: number): void {
    if (this.n === this.start.length) {
      const n = this.n + 1
      this.start = grow(this.start, n); this.end = grow(this.end, n); this.flags = grow(this.flags, n); this.offset = grow(this.offset, n); this.length = grow(this.length, n)
    }
    const i = this.n++
    this.start[i] = start; this.end[i] = end; this.flags[i] = flags; this.offset[i] = offset; this.length[i] = length
  }
}

export interface ImportOptions {
  /** the registry's serial (its CURRENTSERIAL file), if known */
  serial?: number | null
  /** when the registry took the dump (ms); default: now */
  takenAt?: number
  signal?: AbortSignal
  /** progress, every 500,000 objects */
  onProgress?: (objects: number) => void
}

/**
 * Imports `files` (one registry's dump: its split files, or its one file) into `dataDir`,
 * replacing that registry's snapshot. Resolves with what was read.
 */
export async function importDump (dataDir: string, registry: DumpRegistry, files: DumpFile[], opts: ImportOptions = {}): Promise<ImportResult> {
  const t0 = performance.now()
  const stats = newDumpStats()
  /** the paragraphs of every file that may hold `cls`, to `sink`; yields after each chunk read */
  const paragraphs = async function * (cls: 'inetnum' | 'organisation', sink: ParagraphSink): AsyncGenerator<void> {
    for (const f of files) {
      if (!holds(f.name, cls)) continue
      let input: Readable
      try {
        input = await f.read()
      } catch (err: any) {
        throw new BulkSourceError(`cannot read ${f.name}: ${String(err?.message ?? err)}`)
      }
      const fileStats = newDumpStats()
      try {
        yield * readRpslParagraphsInto(input, fileStats, sink, { classes: new Set([cls]), signal: opts.signal })
      } catch (err: any) {
        throw new BulkSourceError(`${f.name}: ${String(err?.message ?? err)}`)
      } finally {
        addStats(stats, fileStats, f.name)
      }
    }
  }

  // the organisations first (a few per cent of the objects: parsed here), for the org join
  const orgNames = new Map<string, string>()
  const organisations: ParagraphSink = {
    paragraph: (buf, start, end, line) => {
      const o = parseParagraph({ bytes: buf.subarray(start, end), line }, stats, ORGANISATION_ATTRIBUTES)
      const e = o === undefined ? undefined : organisationEntry(o.obj)
      if (e !== undefined) orgNames.set(e[0], e[1])
    },
    problem: why => { stats.skipped++; stats.firstProblem ??= why }
  }
  for await (const _ of paragraphs('organisation', organisations)) { /* each chunk's organisations are read */ }

  await ensureBulkDir(dataDir)
  const target = snapshotPath(dataDir, registry)
  const detailsPath = `${target}.${process.pid}.details.tmp`
  const details = await open(detailsPath, 'w', 0o600)
  const rows = new Rows()
  let placeholders = 0
  let unusable = 0
  let detailBytes = 0
  let firstProblem: string | undefined
  try {
    let pending: Buffer[] = []
    let pendingBytes = 0
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return
      const b = Buffer.concat(pending, pendingBytes)
      pending = []
      pendingBytes = 0
      await details.write(b)
    }
    // the inetnums, parsed in worker threads (parse-pool.ts); rows taken in the order read
    const pool = new ParsePool(registry, orgNames)
    let inetnums = 0
    const take = async (results: ParseResult[]): Promise<void> => {
      for (const r of results) {
        const before = inetnums
        inetnums += r.objects
        stats.objects += r.objects
        stats.skipped += r.skipped
        stats.latin1Objects += r.latin1Objects
        if (r.firstProblem !== undefined) stats.firstProblem ??= r.firstProblem
        placeholders += r.placeholders
        unusable += r.unusable
        for (let k = 0; k < r.rows; k++) {
          rows.push(r.start[k], r.end[k], r.flags[k], detailBytes, r.lengths[k])
          detailBytes += r.lengths[k]
        }
        const b = Buffer.from(r.details.buffer, r.details.byteOffset, r.details.byteLength)
        pending.push(b)
        pendingBytes += b.length
        if (pendingBytes >= 1 << 20) await flush()
        if (Math.floor(inetnums / 500_000) > Math.floor(before / 500_000)) opts.onProgress?.(inetnums)
      }
    }
    try {
      // a malformed paragraph is counted here; the others are copied into the workers' batches
      const sink: ParagraphSink = {
        paragraph: (buf, start, end, line) => pool.add(buf, start, end, line),
        problem: why => { stats.skipped++; stats.firstProblem ??= why }
      }
      for await (const _ of paragraphs('inetnum', sink)) {
        while (pool.mustWait) await take([await pool.next()])
      }
      await take(await pool.drain())
    } finally {
      await pool.close()
    }
    await flush()
    await details.close()
    // a dump in no order cut short vouches for nothing: a network's children may be past the cut
    if (stats.truncated) throw new BulkSourceError(`${stats.firstProblem ?? 'the dump is cut short'}; not imported (${stats.objects.toLocaleString('en-US')} objects read)`)
    // no inetnum at all (only the organisation file given, another class's file): not a dump of networks
    if (inetnums === 0) throw new BulkSourceError(`no inetnum object in ${files.map(f => f.name).join(', ')}; not imported (give the registry's inetnum file: ${registry}.db.inetnum.gz${registry === 'afrinic' ? ' or afrinic.db.gz' : ''})`)
    if (detailBytes > 0xffffffff) throw new BulkSourceError(`${registry}: the dump's networks take more than 4 GiB`)

    const { order, parent } = orderRows(rows.start.subarray(0, rows.n), rows.end.subarray(0, rows.n))
    const m = order.length
    const pick = <T extends Uint32Array | Uint8Array>(src: ArrayLike<number>, make: new (n: number) => T): T => {
      const out = new make(m)
      for (let k = 0; k < m; k++) out[k] = src[order[k]]
      return out
    }
    const header: SnapshotHeader = {
      registry: registry as RegistryId,
      serial: opts.serial ?? null,
      takenAt: opts.takenAt ?? Date.now(),
      importedAt: Date.now(),
      files: files.map(f => ({ name: f.name, bytes: f.bytes })),
      networks: m,
      objects: stats.objects,
      skipped: stats.skipped,
      truncated: stats.truncated
    }
    await writeSnapshot(target, {
      header,
      start: pick(rows.start, Uint32Array),
      end: pick(rows.end, Uint32Array),
      parent,
      detailOffset: pick(rows.offset, Uint32Array),
      detailLength: pick(rows.length, Uint32Array),
      flags: pick(rows.flags, Uint8Array)
    }, { path: detailsPath, bytes: detailBytes })
    const problem = stats.firstProblem ?? firstProblem
    return { header, placeholders, unusable, ...(problem !== undefined ? { firstProblem: problem } : {}), seconds: (performance.now() - t0) / 1000 }
  } finally {
    await details.close().catch(() => {})
    await rm(detailsPath, { force: true })
  }
}

function addStats (into: DumpReadStats, s: DumpReadStats, file: string): void {
  into.objects += s.objects
  into.skipped += s.skipped
  into.bytes += s.bytes
  into.latin1Objects += s.latin1Objects
  if (s.truncated) into.truncated = true
  if (s.firstProblem !== undefined) into.firstProblem ??= `${file}: ${s.firstProblem}`
  if (s.truncated) into.firstProblem ??= `${file}: cut short`
}
