/**
 * `whoismesh dump --format mmdb`: a MaxMind DB file (MaxMind DB File Format Specification v2.0,
 * https://maxmind.github.io/MaxMind-DB/) answering each IPv4 address with the most specific network
 * of the dump holding it — the first network `whoismesh lookup` prints — as a map of the dump's
 * fields (report/dump.ts DUMP_FIELDS, same names, same values). A field that is null in the dump
 * (`listed_sample`, `listed_at`, `author`) is left out of the map, since the format has no null.
 *
 * No MMDB writer is published on npm (MaxMind's own are Go's mmdbwriter and the deprecated Perl
 * one); this one follows the spec's sections, cited where they are used: mmdb-tree.ts the search
 * tree, mmdb-data.ts the data and metadata encodings. The file is, in order ("Overview"): the tree,
 * 16 zero bytes ("Data Section Separator"), the data section, then "\xab\xcd\xefMaxMind.com" and
 * the metadata map ("Database Metadata").
 *
 * Rows are encoded into the data section as they come; only each row's range and offset is kept.
 * At the end the rows are inserted into the tree largest first, a more specific network over the
 * larger ones holding it (a range that is no single prefix as each of its CIDR blocks). Ties
 * are broken as the store's lookup breaks them (store-reads.ts `containing`): of two networks of
 * the same size, a crawled one wins over an imported one (source "bulk"), then the lower start.
 */
import { open } from 'node:fs/promises'
import { DUMP_FIELDS, type DumpRow } from '../report/dump.js'
import { parseIPv4, rangeToBlocks } from '../util/ipv4.js'
import { VERSION } from '../version.js'
import { ExportRowError } from './errors.js'
import type { ExportScope, ExportSummary, ExportWriter } from './interface.js'
import { MmdbDataWriter } from './mmdb-data.js'
import { IPV4_ALIASES, SearchTree } from './mmdb-tree.js'

export interface MmdbExportOptions {
  /** metadata `database_type` ("Database Metadata": the structure of the records); default 'whoismesh-networks' */
  databaseType?: string
  /** metadata `build_epoch`, seconds since 1970; default: now */
  buildEpochS?: number
  /** the dump's filters, named in the description */
  scope?: ExportScope
  /** bits per search tree record at least (24, 28 or 32); default: the smallest that holds the file */
  minRecordSize?: 24 | 28 | 32
}

export const defaultMmdbOptions = {
  databaseType: 'whoismesh-networks'
} as const

/** "\xab\xcd\xefMaxMind.com": where the metadata starts ("Database Metadata") */
export const METADATA_MARKER = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com', 'ascii')])

/** Fields whose values repeat across networks: written once, then pointed to (mmdb-data.ts). */
const SHARED_FIELDS = new Set<string>(['registry', 'name', 'org', 'country', 'type', 'parent_handle', 'registered', 'last_changed', 'source', 'author'])

/** A growable Uint32Array. */
class U32List {
  a = new Uint32Array(1 << 16)
  n = 0
  push (v: number): void {
    if (this.n === this.a.length) {
      const b = new Uint32Array(this.a.length * 2)
      b.set(this.a)
      this.a = b
    }
    this.a[this.n++] = v
  }
}

export class MmdbExportWriter implements ExportWriter {
  private readonly data = new MmdbDataWriter()
  private readonly starts = new U32List()
  private readonly ends = new U32List()
  private readonly offsets = new U32List()
  private readonly bulk = new U32List()
  private finished = false

  constructor (private readonly path: string, private readonly opts: MmdbExportOptions = {}) {}

  add (row: DumpRow): void {
    if (this.finished) throw new Error('MmdbExportWriter: add after finish')
    let start: number
    let end: number
    try {
      start = parseIPv4(row.start_address)
      end = parseIPv4(row.end_address)
    } catch {
      throw new ExportRowError(`not a dump row (start_address ${JSON.stringify(row.start_address)}, end_address ${JSON.stringify(row.end_address)})`)
    }
    if (end < start) throw new ExportRowError(`dump row ${row.cidr}: end_address before start_address`)
    this.starts.push(start)
    this.ends.push(end)
    this.offsets.push(this.data.size)
    this.bulk.push(row.source === 'bulk' ? 1 : 0)
    this.encodeRow(row)
  }

  /** One network's map ("map - 7"): the dump's fields in the dump's order, nulls left out. */
  private encodeRow (row: DumpRow): void {
    const d = this.data
    let pairs = 0
    for (const f of DUMP_FIELDS) if (row[f] !== null) pairs++
    d.mapHeader(pairs)
    for (const f of DUMP_FIELDS) {
      const v = row[f]
      if (v === null) continue
      d.string(f, true)
      if (typeof v === 'boolean') d.boolean(v)
      else if (typeof v === 'number') d.uint32(v)
      else d.string(v, SHARED_FIELDS.has(f))
    }
  }

  async finish (): Promise<ExportSummary> {
    this.finished = true
    const n = this.starts.n
    const starts = this.starts.a
    const ends = this.ends.a
    const bulk = this.bulk.a
    // largest first; same size: imported before crawled, then the higher start first (the later wins)
    const order = new Uint32Array(n)
    for (let i = 0; i < n; i++) order[i] = i
    order.sort((x, y) => (ends[y] - starts[y]) - (ends[x] - starts[x]) || bulk[y] - bulk[x] || starts[y] - starts[x])
    const tree = new SearchTree()
    for (const row of order) {
      for (const b of rangeToBlocks(starts[row], ends[row])) tree.insertIPv4(b.start, b.prefixLength, row)
    }
    tree.alias(IPV4_ALIASES.ipv4Mapped)
    tree.alias(IPV4_ALIASES.sixToFour)
    const offsets = this.offsets.a
    const dataSize = this.data.size
    const { bytes: treeBytes, nodeCount, recordSize } = tree.serialize(dataSize, row => offsets[row], this.opts.minRecordSize)

    const meta = new MmdbDataWriter()
    meta.value({
      binary_format_major_version: { uint16: 2 },
      binary_format_minor_version: { uint16: 0 },
      build_epoch: { uint64: this.opts.buildEpochS ?? Math.floor(Date.now() / 1000) },
      database_type: this.opts.databaseType ?? defaultMmdbOptions.databaseType,
      description: { en: description(this.opts.scope) },
      ip_version: { uint16: 6 },
      languages: ['en'],
      node_count: { uint32: nodeCount },
      record_size: { uint16: recordSize }
    })

    const fh = await open(this.path, 'w')
    let bytes = 0
    try {
      for (const part of [treeBytes, Buffer.alloc(16), ...this.data.parts(), METADATA_MARKER, ...meta.parts()]) {
        await fh.write(part)
        bytes += part.length
      }
    } finally {
      await fh.close()
    }
    return {
      format: 'mmdb',
      networks: n,
      bytes,
      details: { node_count: nodeCount, record_size: recordSize, search_tree_bytes: treeBytes.length, data_section_bytes: dataSize }
    }
  }
}

function description (scope: ExportScope = {}): string {
  const filters = [
    scope.registry === undefined ? '' : ` of ${scope.registry}`,
    scope.since === undefined ? '' : ` fetched since ${new Date(scope.since).toISOString()}`
  ].join('')
  return `whoismesh ${VERSION}: for each IPv4 address the most specific registry network (WHOIS/RDAP)${filters} holding it, from a whoismesh replica; IPv4 at ::/96, ::ffff:0:0/96 and 2002::/16`
}
