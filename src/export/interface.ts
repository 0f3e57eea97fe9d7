/**
 * What the binary exports of `whoismesh dump` share: they take the dump's rows (report/dump.ts
 * DumpRow, in the dump's order: from the store opened directly, or parsed from a running node's
 * JSONL stream) and write one file.
 */
import type { DumpRow } from '../report/dump.js'

export type ExportFormat = 'mmdb' | 'parquet'
export const EXPORT_FORMATS: readonly ExportFormat[] = ['mmdb', 'parquet']

export function isExportFormat (format: string): format is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(format)
}

/** Writes one file from the rows it is given. */
export interface ExportWriter {
  /** takes the next row of the dump */
  add: (row: DumpRow) => void
  /** completes the file; nothing may be added after */
  finish: () => Promise<ExportSummary>
}

/** What an export wrote, for the summary line and the benchmark. */
export interface ExportSummary {
  format: ExportFormat
  /** networks (rows) exported */
  networks: number
  /** file size */
  bytes: number
  /** format-specific figures (MMDB: nodes, record size; Parquet: row groups) */
  details: Record<string, number | string>
}

/** What the rows are (the dump's filters), said in the file's metadata. */
export interface ExportScope {
  registry?: string
  /** ms since epoch */
  since?: number
}
