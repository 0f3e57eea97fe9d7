/**
 * `whoismesh dump --format parquet`: the dump's rows as an Apache Parquet file with typed columns,
 * for DuckDB, pandas/pyarrow, Spark and the like. Written with hyparquet-writer (pure JavaScript,
 * one dependency, MIT), one row group per `rowGroupRows` rows as they come, so the rows are never
 * all held at once.
 *
 * The columns are the dump's fields (report/dump.ts DUMP_FIELDS), same names, in the same order,
 * with types where the dump has text:
 * - `cidr`: LIST<STRING>, the CIDR blocks exactly covering the range (the dump's comma-separated
 *   text, split): a range that is no single prefix has two or more, and a list is what SQL
 *   `unnest` and pandas' `explode` take;
 * - `start_int`, `end_int` (after `end_address`): the range as INT64 integers (a.b.c.d =
 *   a·2^24 + b·2^16 + c·2^8 + d): what a range join takes (`addr BETWEEN start_int AND end_int`).
 *   INT64, not UINT32: every Parquet reader has signed 64-bit integers (Spark, BigQuery and Trino
 *   have no unsigned 32-bit type), and the delta encoding makes the width cost next to nothing;
 * - `leaf`: BOOLEAN; `listed_sample`: INT32, null for a network never listed;
 * - `fetched_at`, `listed_at`: TIMESTAMP(MILLIS, adjusted to UTC) — DuckDB reads TIMESTAMP WITH
 *   TIME ZONE; `listed_at` null for a network never listed;
 * - every other field a STRING (`registered` and `last_changed` too: the registries' own text,
 *   a date or a date-time, empty when the registry gave none), `author` null where the dump's is.
 */
import { stat } from 'node:fs/promises'
import { ParquetWriter, fileWriter, type ColumnSource, type SchemaElement } from 'hyparquet-writer'
import type { DumpRow } from '../report/dump.js'
import { parseIPv4 } from '../util/ipv4.js'
import { VERSION } from '../version.js'
import { ExportRowError } from './errors.js'
import type { ExportScope, ExportSummary, ExportWriter } from './interface.js'

export interface ParquetExportOptions {
  /**
   * rows per row group (the unit a reader skips or reads in parallel); default 50,000. The writer
   * holds one group's values and their encodings: about 6 KB a row at its peak (the full sample's
   * index: +540 MB of peak RSS at 50,000, +850 MB at 100,000 for a file 4% smaller)
   */
  rowGroupRows?: number
  /** the dump's filters, in the file's key-value metadata */
  scope?: ExportScope
}

export const defaultParquetOptions = {
  rowGroupRows: 50_000
} as const

const STRING = { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } } as const
const TIMESTAMP = { type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' } } as const

type Value = string | string[] | bigint | number | boolean | null

interface Column {
  name: string
  /** the column's schema elements: one, or a group and its children (the LIST) */
  schema: SchemaElement[]
  value: (row: DumpRow) => Value
}

const str = (name: keyof DumpRow & string, nullable = false): Column => ({
  name,
  schema: [{ name, ...STRING, repetition_type: nullable ? 'OPTIONAL' : 'REQUIRED' }],
  value: row => checkedString(row, name, nullable)
})

/** The file's columns, in order. */
export const PARQUET_COLUMNS: readonly Column[] = [
  {
    name: 'cidr',
    // the three-level LIST of the Parquet format's LogicalTypes.md ("Lists")
    schema: [
      { name: 'cidr', repetition_type: 'REQUIRED', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', ...STRING, repetition_type: 'REQUIRED' }
    ],
    value: row => (checkedString(row, 'cidr', false) as string).split(', ')
  },
  str('start_address'),
  str('end_address'),
  { name: 'start_int', schema: [{ name: 'start_int', type: 'INT64', repetition_type: 'REQUIRED' }], value: row => BigInt(address(row, 'start_address')) },
  { name: 'end_int', schema: [{ name: 'end_int', type: 'INT64', repetition_type: 'REQUIRED' }], value: row => BigInt(address(row, 'end_address')) },
  str('registry'),
  str('handle'),
  str('name'),
  str('org'),
  str('country'),
  str('type'),
  { name: 'leaf', schema: [{ name: 'leaf', type: 'BOOLEAN', repetition_type: 'REQUIRED' }], value: row => typeof row.leaf === 'boolean' ? row.leaf : bad(row, 'leaf') },
  str('parent_handle'),
  str('registered'),
  str('last_changed'),
  str('source'),
  { name: 'fetched_at', schema: [{ name: 'fetched_at', ...TIMESTAMP, repetition_type: 'REQUIRED' }], value: row => time(row, 'fetched_at', false) },
  str('query_address'),
  {
    name: 'listed_sample',
    schema: [{ name: 'listed_sample', type: 'INT32', repetition_type: 'OPTIONAL' }],
    value: row => row.listed_sample === null || (Number.isSafeInteger(row.listed_sample) && row.listed_sample >= 0 && row.listed_sample < 2 ** 31) ? row.listed_sample : bad(row, 'listed_sample')
  },
  { name: 'listed_at', schema: [{ name: 'listed_at', ...TIMESTAMP, repetition_type: 'OPTIONAL' }], value: row => time(row, 'listed_at', true) },
  str('author', true)
]

function bad (row: DumpRow, field: string): never {
  throw new ExportRowError(`not a dump row: ${field} ${JSON.stringify((row as unknown as Record<string, unknown>)[field])} (network ${JSON.stringify(row.cidr)})`)
}

function checkedString (row: DumpRow, field: keyof DumpRow, nullable: boolean): string | null {
  const v = row[field]
  if (typeof v === 'string' || (nullable && v === null)) return v as string | null
  return bad(row, field)
}

function address (row: DumpRow, field: 'start_address' | 'end_address'): number {
  try {
    return parseIPv4(row[field])
  } catch {
    return bad(row, field)
  }
}

function time (row: DumpRow, field: 'fetched_at' | 'listed_at', nullable: boolean): number | null {
  const v = row[field]
  if (v === null && nullable) return null
  const ms = typeof v === 'string' ? Date.parse(v) : NaN
  return Number.isFinite(ms) ? ms : bad(row, field)
}

export class ParquetExportWriter implements ExportWriter {
  private readonly pq: ParquetWriter
  private readonly rowGroupRows: number
  private batch: Value[][] = PARQUET_COLUMNS.map(() => [])
  private rows = 0
  private rowGroups = 0

  constructor (private readonly path: string, opts: ParquetExportOptions = {}) {
    this.rowGroupRows = opts.rowGroupRows ?? defaultParquetOptions.rowGroupRows
    const schema: SchemaElement[] = [
      { name: 'root', num_children: PARQUET_COLUMNS.length },
      ...PARQUET_COLUMNS.flatMap(c => c.schema)
    ]
    const kv = [
      { key: 'whoismesh.version', value: VERSION },
      { key: 'whoismesh.content', value: 'the networks of `whoismesh dump` (report/dump.ts DUMP_FIELDS); start_int/end_int: the range as integers' },
      ...(opts.scope?.registry === undefined ? [] : [{ key: 'whoismesh.registry', value: opts.scope.registry }]),
      ...(opts.scope?.since === undefined ? [] : [{ key: 'whoismesh.since', value: new Date(opts.scope.since).toISOString() }])
    ]
    // fileWriter writes the file in 1 MB appends as the row groups are encoded
    this.pq = new ParquetWriter({ writer: fileWriter(path), schema, kvMetadata: kv, createdBy: `whoismesh ${VERSION}` })
  }

  add (row: DumpRow): void {
    const values = PARQUET_COLUMNS.map(c => c.value(row))
    for (let i = 0; i < values.length; i++) this.batch[i].push(values[i])
    this.rows++
    if (this.batch[0].length >= this.rowGroupRows) this.flush()
  }

  private flush (): void {
    const n = this.batch[0].length
    if (n === 0) return
    const columnData: ColumnSource[] = PARQUET_COLUMNS.map((c, i) => ({ name: c.name, data: this.batch[i] as ColumnSource['data'] }))
    // synchronous: fileWriter has no asynchronous flush, so write() returns no promise
    if (this.pq.write({ columnData, rowGroupSize: n }) !== undefined) throw new Error('hyparquet-writer: an asynchronous row group write')
    this.rowGroups++
    this.batch = PARQUET_COLUMNS.map(() => [])
  }

  async finish (): Promise<ExportSummary> {
    this.flush()
    await this.pq.finish()
    const { size } = await stat(this.path)
    return { format: 'parquet', networks: this.rows, bytes: size, details: { row_groups: this.rowGroups, columns: PARQUET_COLUMNS.length } }
  }
}
