/**
 * `whoismesh dump` rows: one network per line, as JSONL (default) or CSV with a header.
 * Field names follow ipwhois's `network` fields where they mean the same (cidr, start_address,
 * end_address, handle, name, country, type, parent_handle).
 */
import type { NetworkRecord } from '../record/index.js'
import { formatIPv4 } from '../util/ipv4.js'

export type DumpFormat = 'jsonl' | 'csv'
export const DUMP_FORMATS: readonly DumpFormat[] = ['jsonl', 'csv']

/** Stable column order of dumps. */
export const DUMP_FIELDS = [
  'cidr', 'start_address', 'end_address', 'registry', 'handle', 'name', 'org', 'country',
  'type', 'parent_handle', 'registered', 'last_changed', 'source', 'fetched_at', 'query_address'
] as const

export type DumpRow = Record<typeof DUMP_FIELDS[number], string>

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
    parent_handle: r.parentHandle,
    registered: r.registered,
    last_changed: r.lastChanged,
    source: r.source,
    fetched_at: new Date(r.fetchedAt).toISOString(),
    query_address: formatIPv4(r.queryAddress)
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
  return DUMP_FIELDS.map(f => csvField(row[f])).join(',') + '\r\n'
}
