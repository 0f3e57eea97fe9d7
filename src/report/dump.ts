/**
 * `whoismesh dump`: one network per line, as JSONL (default) or CSV with a header, written from
 * a store opened by the command itself or by the running node's control endpoint (`/v1/dump`).
 * Field names follow ipwhois's `network` fields where they mean the same (cidr, start_address,
 * end_address, handle, name, country, type, parent_handle). `leaf` is the network's class
 * (record/classify.ts): true for an assignment policy does not subdivide, false for a container
 * that may hold more specific networks — a JSON boolean in JSONL, `true`/`false` in CSV.
 * `listed_sample` and `listed_at` say that a complete listing of a container's children was made
 * for the first `listed_sample` sample addresses (NetworkRecord.listedSample): every child holding
 * one of them is in the dump too. JSON null (CSV empty) for a network never listed. `author` is the
 * peer id of the node whose registry answer (or listing) the record is (NetworkRecord.author:
 * provenance, what `whoismesh distrust` acts on); null for a record stored before provenance.
 * After the crawled networks come those of the registries' imported dumps (src/bulk) not crawled as
 * well: `source` "bulk", `fetched_at` when the registry took the dump, `query_address` 0.0.0.0.
 */
import type { Writable } from 'node:stream'
import { isLeaf, type NetworkRecord } from '../record/index.js'
import type { NetworkStore } from '../store/index.js'
import { isRegistryId, type RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import { UserError } from '../util/errors.js'

export type DumpFormat = 'jsonl' | 'csv'
export const DUMP_FORMATS: readonly DumpFormat[] = ['jsonl', 'csv']

/** Stable column order of dumps. */
export const DUMP_FIELDS = [
  'cidr', 'start_address', 'end_address', 'registry', 'handle', 'name', 'org', 'country',
  'type', 'leaf', 'parent_handle', 'registered', 'last_changed', 'source', 'fetched_at', 'query_address',
  'listed_sample', 'listed_at', 'author'
] as const

export type DumpField = typeof DUMP_FIELDS[number]
export type DumpRow = Record<Exclude<DumpField, 'leaf' | 'listed_sample' | 'listed_at' | 'author'>, string> & {
  leaf: boolean
  listed_sample: number | null
  listed_at: string | null
  author: string | null
}

export function toDumpRow (r: NetworkRecord): DumpRow {
  return {
    cidr: r.cidrs.join(', '),
    start_address: formatIPv4(r.start),
    end_address: formatIPv4(r.end),
    registry: r.registry,
    handle: r.handle,
    name: r.name,
    org: r.org,
    country: r.country,
    type: r.type,
    leaf: isLeaf(r.registry, r.type),
    parent_handle: r.parentHandle,
    registered: r.registered,
    last_changed: r.lastChanged,
    source: r.source,
    fetched_at: new Date(r.fetchedAt).toISOString(),
    query_address: formatIPv4(r.queryAddress),
    listed_sample: r.listedSample ?? null,
    listed_at: r.listedAt === undefined ? null : new Date(r.listedAt).toISOString(),
    author: r.author ?? null
  }
}

function csvField (v: string): string {
  return /[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v
}

export function csvHeader (): string {
  return DUMP_FIELDS.join(',') + '\r\n'
}

/** One output line (with its line end) for a record. */
export function formatDumpLine (r: NetworkRecord, format: DumpFormat): string {
  const row = toDumpRow(r)
  if (format === 'jsonl') return JSON.stringify(row) + '\n'
  return DUMP_FIELDS.map(f => csvField(row[f] === null ? '' : String(row[f]))).join(',') + '\r\n'
}

/** What to dump: the format, and optionally one registry and networks fetched since a time (ms). */
export interface DumpParams { format: DumpFormat, registry?: RegistryId, since?: number }

/** The dump's parameters from a control request's query (`format`, `registry`, `since`). */
export function dumpParams (p: URLSearchParams): DumpParams {
  const format = (p.get('format') ?? 'jsonl') as DumpFormat
  if (!DUMP_FORMATS.includes(format)) throw new UserError(`unknown format "${format}"`)
  const registry = p.get('registry') ?? undefined
  if (registry != null && !isRegistryId(registry)) throw new UserError(`unknown registry "${registry}"`)
  const since = p.get('since')
  return { format, registry: registry as RegistryId | undefined, since: since == null ? undefined : Number(since) }
}

/** The reader of a dump went away before the dump was written. */
export class DumpReaderGoneError extends Error {
  override readonly name = 'DumpReaderGoneError'
}

/**
 * Resolves when `out` can take more, rejects when it fails or closes first. Every listener it adds
 * is removed when it settles: a dump waits here once per buffer-full, thousands of times for a
 * slow reader (a listener left behind per wait made Node warn "MaxListenersExceededWarning").
 */
export async function drained (out: Writable): Promise<void> {
  if (out.destroyed) throw new DumpReaderGoneError('the reader of the dump went away')
  await new Promise<void>((resolve, reject) => {
    const settle = (err?: Error): void => {
      out.off('drain', onDrain)
      out.off('error', onError)
      out.off('close', onClose)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onDrain = (): void => settle()
    const onError = (err: Error): void => settle(err)
    const onClose = (): void => settle(new DumpReaderGoneError('the reader of the dump went away'))
    out.on('drain', onDrain)
    out.on('error', onError)
    out.on('close', onClose)
  })
}

/**
 * The networks a dump holds, in its order: the crawled ones (filtered), then the registries'
 * imported dumps (source "bulk", filtered) but for the ranges crawled as well. What writeDump
 * writes and what the binary exports (src/export) are built from.
 */
export async function * dumpRecords (store: NetworkStore, params: Omit<DumpParams, 'format'>): AsyncGenerator<NetworkRecord> {
  yield * store.networks({ registry: params.registry, since: params.since })
  for await (const r of store.bulkLayer.records(params.registry)) {
    if ((params.since !== undefined && r.fetchedAt < params.since) || store.holdsRange(r.start, r.end)) continue
    yield r
  }
}

/**
 * Writes every stored network (filtered) to `out`, respecting back-pressure; returns how many.
 * Rejects (DumpReaderGoneError) when `out` closes before the end: the reader went away.
 */
export async function writeDump (store: NetworkStore, params: DumpParams, out: Writable): Promise<number> {
  let n = 0
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await drained(out)
  }
  if (params.format === 'csv') await write(csvHeader())
  for await (const r of dumpRecords(store, params)) {
    await write(formatDumpLine(r, params.format))
    n++
  }
  return n
}
