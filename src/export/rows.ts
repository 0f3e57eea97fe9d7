/**
 * Where an export's rows come from: the store opened by the command itself, or the JSONL dump a
 * running node streams from its control endpoint (`/v1/dump`), parsed line by line. Both give
 * report/dump.ts DumpRows in the dump's order, so both paths write the same file.
 */
import type { Readable } from 'node:stream'
import { DUMP_FIELDS, dumpRecords, toDumpRow, type DumpParams, type DumpRow } from '../report/dump.js'
import type { NetworkStore } from '../store/index.js'
import { ExportRowError } from './errors.js'

/** The rows of the store's dump (filtered as `params` says). */
export async function * storeRows (store: NetworkStore, params: Omit<DumpParams, 'format'>): AsyncGenerator<DumpRow> {
  for await (const r of dumpRecords(store, params)) yield toDumpRow(r)
}

/**
 * The rows of a JSONL dump read from `input`: one JSON object per line, with every dump field.
 * A line that is not one throws ExportRowError (naming the line); an error of `input` is thrown.
 */
export async function * jsonlRows (input: Readable): AsyncGenerator<DumpRow> {
  let rest = ''
  let lineNo = 0
  const parse = (line: string): DumpRow => {
    lineNo++
    let row: unknown
    try {
      row = JSON.parse(line)
    } catch {
      throw new ExportRowError(`line ${lineNo} of the node's dump is not JSON: ${line.slice(0, 120)}`)
    }
    if (row === null || typeof row !== 'object' || DUMP_FIELDS.some(f => !(f in row))) {
      throw new ExportRowError(`line ${lineNo} of the node's dump is not a dump row (a node of another version?): ${line.slice(0, 120)}`)
    }
    return row as DumpRow
  }
  input.setEncoding('utf8')
  for await (const chunk of input as AsyncIterable<string>) {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) if (line !== '') yield parse(line)
  }
  if (rest !== '') yield parse(rest)
}
