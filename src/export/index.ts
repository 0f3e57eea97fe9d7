/**
 * The binary exports of `whoismesh dump`: a MaxMind DB file (mmdb-writer.ts) and an Apache Parquet
 * file (parquet-writer.ts), written from the dump's rows (rows.ts) through a temporary file
 * (atomic-file.ts). docs/exports.md says how to read them.
 */
import type { DumpRow } from '../report/dump.js'
import { writeAtomically } from './atomic-file.js'
import type { ExportFormat, ExportScope, ExportSummary, ExportWriter } from './interface.js'
import { MmdbExportWriter } from './mmdb-writer.js'
import { ParquetExportWriter } from './parquet-writer.js'

export { EXPORT_FORMATS, isExportFormat, type ExportFormat, type ExportScope, type ExportSummary, type ExportWriter } from './interface.js'
export { ExportLimitError, ExportRowError, ExportTargetError } from './errors.js'
export { writeAtomically, temporaryPathFor } from './atomic-file.js'
export { storeRows, jsonlRows } from './rows.js'
export { MmdbExportWriter, type MmdbExportOptions } from './mmdb-writer.js'
export { ParquetExportWriter, PARQUET_COLUMNS, type ParquetExportOptions } from './parquet-writer.js'

/** A writer of `format` writing the file at `path`. */
export function exportWriter (format: ExportFormat, path: string, scope: ExportScope = {}): ExportWriter {
  return format === 'mmdb' ? new MmdbExportWriter(path, { scope }) : new ParquetExportWriter(path, { scope })
}

/**
 * Writes `rows` as a `format` file at `path`: complete, or (on any error) not there and whatever
 * was there before untouched.
 */
export async function exportRows (format: ExportFormat, rows: AsyncIterable<DumpRow>, path: string, scope: ExportScope = {}): Promise<ExportSummary> {
  return await writeAtomically(path, async tmp => {
    const writer = exportWriter(format, tmp, scope)
    for await (const row of rows) writer.add(row)
    return await writer.finish()
  })
}
