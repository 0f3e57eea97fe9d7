/**
 * `whoismesh merge`: the union of JSONL dumps from several nodes (what `collect.yml` gathers),
 * one network per range. Where two dumps hold different copies of one range, the store's pick
 * rule decides (listed for the larger sample, then earliest fetch, then smaller query address,
 * then the line's bytes), so merging is order-independent and agrees with what a replica would
 * keep. A row from a dump written before the `leaf` column gets it (computed from its registry and
 * type as the dump would), one from before the `listed_*` columns gets them as null, and one from
 * before the `author` column gets it as null, so copies of one record from older and newer nodes
 * compare equal and the merged dump has one set of fields.
 */
import { createReadStream } from 'node:fs'
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { parseIPv4 } from '../util/ipv4.js'
import { isLeaf } from '../record/index.js'
import { isRegistryId, type RegistryId } from '../registry/interface.js'
import { DUMP_FIELDS } from './dump.js'
import { UserError } from '../util/errors.js'

export interface MergeInput { file: string, records: number, sha256: string }

export interface MergeResult {
  inputs: MergeInput[]
  /** true when every input held exactly the same lines */
  identical: boolean
  /** merged JSONL lines (with '\n'), in address order */
  lines: string[]
}

interface Entry { start: number, end: number, listed: number, fetchedAt: string, query: number, line: string }

function better (a: Entry, b: Entry): boolean {
  if (a.listed !== b.listed) return a.listed > b.listed
  if (a.fetchedAt !== b.fetchedAt) return a.fetchedAt < b.fetchedAt
  if (a.query !== b.query) return a.query < b.query
  return a.line < b.line
}

function parseLine (line: string, where: string): Entry {
  let row: any
  try {
    row = JSON.parse(line)
  } catch {
    throw new UserError(`${where}: not a JSON line (merge reads \`whoismesh dump\` JSONL output)`)
  }
  try {
    if (typeof row.fetched_at !== 'string') throw new Error('fetched_at')
    const listed = row.listed_sample ?? 0
    if (typeof listed !== 'number') throw new Error('listed_sample')
    return { start: parseIPv4(row.start_address), end: parseIPv4(row.end_address), listed, fetchedAt: row.fetched_at, query: parseIPv4(row.query_address), line: upgraded(row) ?? line }
  } catch {
    throw new UserError(`${where}: not a dump row (needs start_address, end_address, fetched_at, query_address)`)
  }
}

/** the fields of dumps written by earlier versions: before `author`, before the `listed_*` columns too, and before `leaf` too */
const BEFORE_AUTHOR: readonly string[] = DUMP_FIELDS.filter(f => f !== 'author')
const BEFORE_LISTED: readonly string[] = BEFORE_AUTHOR.filter(f => f !== 'listed_sample' && f !== 'listed_at')
const BEFORE_LEAF: readonly string[] = BEFORE_LISTED.filter(f => f !== 'leaf')

/** The row as today's dump writes it, when it is a row of an earlier version's dump; else undefined. */
function upgraded (row: Record<string, unknown>): string | undefined {
  const fields = Object.keys(row)
  const layout = [BEFORE_AUTHOR, BEFORE_LISTED, BEFORE_LEAF].find(l => fields.length === l.length && fields.every((f, i) => f === l[i]))
  if (layout === undefined) return undefined
  if (layout === BEFORE_LEAF && (typeof row.registry !== 'string' || !isRegistryId(row.registry) || typeof row.type !== 'string')) return undefined
  const filled = (f: string): unknown => {
    if (f in row) return row[f]
    if (f === 'leaf') return isLeaf(row.registry as RegistryId, row.type as string)
    return null // listed_sample, listed_at: never listed; author: before provenance
  }
  return JSON.stringify(Object.fromEntries(DUMP_FIELDS.map(f => [f, filled(f)])))
}

export async function mergeDumps (files: string[]): Promise<MergeResult> {
  const byRange = new Map<string, Entry>()
  const inputs: MergeInput[] = []
  for (const file of files) {
    const hash = createHash('sha256')
    let records = 0
    const stream = createReadStream(file, { encoding: 'utf8' })
    const failed = new Promise<never>((_resolve, reject) => stream.on('error', (err: any) => reject(new UserError(`cannot read ${file}: ${err.code ?? err.message}`))))
    failed.catch(() => {})
    const lines = createInterface({ input: stream, crlfDelay: Infinity })
    const read = (async () => {
      let n = 0
      for await (const line of lines) {
        n++
        if (line.trim() === '') continue
        hash.update(line + '\n')
        records++
        const e = parseLine(line, `${file} line ${n}`)
        const key = `${e.start}-${e.end}`
        const held = byRange.get(key)
        if (held == null || better(e, held)) byRange.set(key, e)
      }
    })()
    await Promise.race([read, failed])
    inputs.push({ file, records, sha256: hash.digest('hex') })
  }
  const entries = [...byRange.values()].sort((a, b) => a.start - b.start || a.end - b.end)
  return {
    inputs,
    identical: inputs.every(i => i.sha256 === inputs[0]?.sha256),
    lines: entries.map(e => e.line + '\n')
  }
}
