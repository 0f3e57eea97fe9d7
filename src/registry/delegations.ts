/**
 * Which RIR holds which IPv4 block, from the registries' delegation statistics (the "RIR
 * statistics exchange format" files each RIR publishes daily, e.g.
 * `delegated-arin-extended-latest`): a routing table that sends an address straight to the
 * registry holding it, instead of to its /8's registry, which would only redirect the query there.
 *
 * A line of such a file (comments start with '#'; the first line is the version header, then one
 * summary line per type):
 *
 *     ripencc|FR|ipv4|2.0.0.0|1048576|20100712|allocated|a1b2…
 *     registry|cc|type|start|value|date|status[|opaque-id[|extensions]]
 *
 * For ipv4, `value` is the number of addresses (not always a power of two). Only `allocated` and
 * `assigned` entries say who holds a block; `available` and `reserved` ones are skipped.
 *
 * Copies are cached in the data directory (`delegations/`), unless that would leave less than
 * 64 MiB free there. The table is a hint: a wrong or stale entry costs one redirect hop (the registry asked redirects
 * as it always does), never a wrong answer, so files that disagree are tolerated.
 */
import { mkdir, readFile, rename, stat, statfs, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { REGISTRY_IDS, type RegistryId } from './interface.js'
import { upperBound } from '../store/sorted-array.js'
import { formatIPv4, tryParseIPv4 } from '../util/ipv4.js'
import { yieldToEventLoop } from '../util/yield.js'

export class DelegationsError extends Error {
  override readonly name = 'DelegationsError'
}

/** How each registry names itself in the files' first column. */
const FILE_NAMES: Record<string, RegistryId> = { arin: 'arin', ripencc: 'ripe', ripe: 'ripe', apnic: 'apnic', lacnic: 'lacnic', afrinic: 'afrinic' }
/** The name a registry writes in its own file (the simulator's files use it too). */
export const DELEGATION_FILE_NAMES: Record<RegistryId, string> = { arin: 'arin', ripe: 'ripencc', apnic: 'apnic', lacnic: 'lacnic', afrinic: 'afrinic' }

/** Where the real RIRs publish their extended delegation files. */
export const REAL_DELEGATION_URLS: Record<RegistryId, string> = {
  arin: 'https://ftp.arin.net/pub/stats/arin/delegated-arin-extended-latest',
  ripe: 'https://ftp.ripe.net/pub/stats/ripencc/delegated-ripencc-extended-latest',
  apnic: 'https://ftp.apnic.net/stats/apnic/delegated-apnic-extended-latest',
  lacnic: 'https://ftp.lacnic.net/pub/stats/lacnic/delegated-lacnic-extended-latest',
  afrinic: 'https://ftp.afrinic.net/pub/stats/afrinic/delegated-afrinic-extended-latest'
}

export interface Delegation {
  registry: RegistryId
  /** first address */
  start: number
  /** number of addresses */
  count: number
}

export interface ParsedDelegations {
  entries: Delegation[]
  /** lines that looked like ipv4 records but could not be read (wrong field count, bad address…) */
  malformed: number
}

/** Lines read between two turns of the event loop (util/yield.ts) when loading the files. */
const LINES_PER_SLICE = 10_000

/** Reads a delegation file in slices of lines; parseDelegations and parseDelegationsInSlices drive it. */
class DelegationParser {
  readonly entries: Delegation[] = []
  malformed = 0
  private pos = 0

  constructor (private readonly text: string) {}

  get done (): boolean { return this.pos >= this.text.length }

  /** Reads up to `maxLines` more lines. */
  step (maxLines: number): void {
    const text = this.text
    for (let lines = 0; lines < maxLines && this.pos < text.length; lines++) {
      let lineEnd = text.indexOf('\n', this.pos)
      if (lineEnd < 0) lineEnd = text.length
      const line = text.slice(this.pos, lineEnd).trim()
      this.pos = lineEnd + 1
      if (line === '' || line.startsWith('#')) continue
      const f = line.split('|')
      if (f[2] !== 'ipv4' || f.length < 7) continue // version header, summaries ("…|ipv4|*|…|summary"), asn, ipv6
      if (f[5] === 'summary' || f[3] === '*') continue
      const status = f[6].toLowerCase()
      if (status !== 'allocated' && status !== 'assigned') continue
      const registry = FILE_NAMES[f[0].toLowerCase()]
      const start = tryParseIPv4(f[3])
      const count = Number(f[4])
      if (registry === undefined || start === undefined || !Number.isInteger(count) || count < 1 || start + count > 2 ** 32) { this.malformed++; continue }
      this.entries.push({ registry, start, count })
    }
  }
}

/**
 * Reads the ipv4 `allocated`/`assigned` entries of one delegation file. Header, summary,
 * comment, asn and ipv6 lines are skipped; unreadable ipv4 lines are counted, not fatal.
 */
export function parseDelegations (text: string): ParsedDelegations {
  const p = new DelegationParser(text)
  p.step(Infinity)
  return { entries: p.entries, malformed: p.malformed }
}

/** parseDelegations with a turn of the event loop every LINES_PER_SLICE lines, for a running node. */
export async function parseDelegationsInSlices (text: string): Promise<ParsedDelegations> {
  const p = new DelegationParser(text)
  while (!p.done) {
    p.step(LINES_PER_SLICE)
    await yieldToEventLoop()
  }
  return { entries: p.entries, malformed: p.malformed }
}

/**
 * Disjoint blocks → registry, searched by binary search. Built from the entries of every file;
 * where two entries overlap (files of different days), the one met first keeps the overlap.
 */
export class DelegationTable {
  private readonly starts: Uint32Array
  private readonly ends: Uint32Array
  private readonly regs: Uint8Array
  /** addresses covered, per registry */
  readonly addresses: Record<RegistryId, number>
  /** entries dropped or clipped because an earlier one held (part of) their range */
  readonly overlaps: number
  /**
   * Where one delegation (a line of a file, as clipped) begins or the one before it ends, in
   * order: kept apart from the merged blocks, which join adjacent delegations of one registry.
   */
  private readonly edges: Uint32Array

  constructor (entries: readonly Delegation[]) {
    // entry indices by start, the earlier entry first among equal starts
    const order = Uint32Array.from(entries.keys()).sort((a, b) => entries[a].start - entries[b].start || a - b)
    const starts: number[] = []
    const ends: number[] = []
    const regs: number[] = []
    const edges: number[] = []
    const addresses = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
    let overlaps = 0
    let lastEnd = -1
    for (const k of order) {
      const e = entries[k]
      let s = e.start
      const end = e.start + e.count - 1
      if (end <= lastEnd) { overlaps++; continue }
      if (s <= lastEnd) { overlaps++; s = lastEnd + 1 }
      const r = REGISTRY_IDS.indexOf(e.registry)
      if (edges[edges.length - 1] !== s) edges.push(s)
      if (end + 1 < 2 ** 32) edges.push(end + 1)
      const n = starts.length
      // adjacent blocks of one registry merge (files list many consecutive allocations)
      if (n > 0 && regs[n - 1] === r && ends[n - 1] + 1 === s) ends[n - 1] = end
      else { starts.push(s); ends.push(end); regs.push(r) }
      addresses[e.registry] += end - s + 1
      lastEnd = end
    }
    this.starts = Uint32Array.from(starts)
    this.ends = Uint32Array.from(ends)
    this.regs = Uint8Array.from(regs)
    this.addresses = addresses
    this.overlaps = overlaps
    this.edges = Uint32Array.from(edges)
  }

  /** Disjoint blocks held (after merging adjacent ones of one registry). */
  get size (): number { return this.starts.length }

  /** The registry holding `address` by the files, or undefined when no entry covers it. */
  registryFor (address: number): RegistryId | undefined {
    const found = upperBound(this.starts, this.starts.length, address) - 1
    if (found < 0 || this.ends[found] < address) return undefined
    return REGISTRY_IDS[this.regs[found]]
  }

  /**
   * Whether [start, end] lies across separate delegations: a delegation begins or ends inside it
   * (after its first address), so its addresses are not all in one delegation, or not all in
   * delegated space.
   */
  crossesDelegations (start: number, end: number): boolean {
    const next = upperBound(this.edges, this.edges.length, start)
    return next < this.edges.length && this.edges[next] <= end
  }
}

export interface LoadDelegationsOptions {
  /** where to fetch each registry's file from (a registry left out is not fetched) */
  urls: Partial<Record<RegistryId, string>>
  /** directory for the cached copies (created if missing) */
  cacheDir: string
  /** a cached copy younger than this is used without fetching (the files change daily) */
  maxAgeMs: number
  /** per file */
  timeoutMs: number
  /** larger answers are refused (the real files are a few MB each) */
  maxBytes: number
}

export const defaultLoadDelegationsOptions = {
  maxAgeMs: 24 * 3600_000,
  timeoutMs: 60_000,
  maxBytes: 64 * 1024 * 1024
}

export interface LoadedDelegations {
  table: DelegationTable
  /** per registry: where its entries came from, or why there are none */
  sources: Partial<Record<RegistryId, { from: 'fetched' | 'cache' | 'stale-cache', entries: number, malformed: number } | { error: string }>>
}

/**
 * Keeps a copy for the next start, unless the disk is nearly full: the copy is optional, and
 * the store that shares the data directory must never lose its last free space to it.
 */
async function writeCache (path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  try {
    const fs = await statfs(dirname(path))
    if (fs.bavail * fs.bsize < Buffer.byteLength(text) + CACHE_FREE_SPACE_MARGIN) return
    await writeFile(tmp, text)
    await rename(tmp, path)
  } catch {
    await unlink(tmp).catch(() => {})
  }
}

/** Free space a cached copy must leave on the data directory's disk. */
const CACHE_FREE_SPACE_MARGIN = 64 * 1024 * 1024

async function fetchText (url: string, timeoutMs: number, maxBytes: number): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { 'user-agent': 'whoismesh (delegation statistics)' } })
  if (!res.ok) { await res.body?.cancel(); throw new Error(`HTTP ${res.status}`) }
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (declared > maxBytes) { await res.body?.cancel(); throw new Error(`larger than ${maxBytes} bytes`) }
  const chunks: Uint8Array[] = []
  let bytes = 0
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength
    if (bytes > maxBytes) throw new Error(`larger than ${maxBytes} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * The routing table from every registry's delegation file: a cached copy younger than
 * `maxAgeMs` is used as is; otherwise the file is fetched and cached (atomically); a fetch that
 * fails falls back to an older cached copy, or leaves that registry out (its addresses then go
 * to their /8's registry, which redirects). Never throws for a registry that cannot be reached.
 */
export async function loadDelegations (init: Pick<LoadDelegationsOptions, 'urls' | 'cacheDir'> & Partial<LoadDelegationsOptions>): Promise<LoadedDelegations> {
  const o = { ...defaultLoadDelegationsOptions, ...init }
  await mkdir(o.cacheDir, { recursive: true })
  const sources: LoadedDelegations['sources'] = {}
  // per registry, joined in REGISTRY_IDS order: where two files overlap (a transfer between their
  // days), every node's table keeps the same one, whichever fetch ended first
  const byRegistry = new Map<RegistryId, Delegation[]>()
  await Promise.all(REGISTRY_IDS.map(async id => {
    const url = o.urls[id]
    if (url === undefined) return
    const cached = join(o.cacheDir, `delegated-${DELEGATION_FILE_NAMES[id]}-extended-latest`)
    const age = await stat(cached).then(s => Date.now() - s.mtimeMs, () => Infinity)
    let text: string | undefined
    let from: 'fetched' | 'cache' | 'stale-cache' = 'cache'
    let error: string | undefined
    if (age < o.maxAgeMs) text = await readFile(cached, 'utf8').catch(() => undefined)
    if (text === undefined) {
      try {
        text = await fetchText(url, o.timeoutMs, o.maxBytes)
        from = 'fetched'
        await writeCache(cached, text)
      } catch (err: any) {
        error = `${url}: ${String(err?.cause?.code ?? err?.message ?? err)}`
        if (age < Infinity) { text = await readFile(cached, 'utf8').catch(() => undefined); from = 'stale-cache' }
      }
    }
    if (text === undefined) { sources[id] = { error: error ?? 'no copy' }; return }
    const parsed = await parseDelegationsInSlices(text)
    sources[id] = { from, entries: parsed.entries.length, malformed: parsed.malformed }
    byRegistry.set(id, parsed.entries)
  }))
  return { table: new DelegationTable(REGISTRY_IDS.flatMap(id => byRegistry.get(id) ?? [])), sources }
}

/** The simulator's and the tests' side: a delegation file in the exchange format for `entries`. */
export function formatDelegations (registry: RegistryId, entries: ReadonlyArray<{ start: number, count: number, cc?: string }>, date = '20261128'): string {
  const name = DELEGATION_FILE_NAMES[registry]
  const lines = [
    `2|${name}|${date}|${entries.length}|19700101|${date}|+0000`,
    `${name}|*|ipv4|*|${entries.length}|summary`
  ]
  for (const e of entries) lines.push(`${name}|${e.cc ?? 'ZZ'}|ipv4|${formatIPv4(e.start)}|${e.count}|${date}|allocated|${name}-${e.start.toString(16)}`)
  return lines.join('\n') + '\n'
}
