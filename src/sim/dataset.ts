/**
 * The real-world data the simulated registries serve: IPv4 ranges with their ASN and organisation
 * (`@ip-location-db/asn`, numeric CSV `start,end,asn,"org"`) and the registration country of each
 * range (`@ip-location-db/geo-whois-asn-country`, numeric CSV `start,end,CC`). Both packages are
 * pinned in package.json, so every simulator serves the same world.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { DatasetError } from './errors.js'

export { DatasetError }

export const ASN_CSV = '@ip-location-db/asn/asn-ipv4-num.csv'
export const COUNTRY_CSV = '@ip-location-db/geo-whois-asn-country/geo-whois-asn-country-ipv4-num.csv'

/** Where an installed package file is (resolved like an import, not a hard-coded path). */
export function resolveDatasetFile (specifier: string): string {
  try {
    return createRequire(import.meta.url).resolve(specifier)
  } catch (err: any) {
    throw new DatasetError(`cannot find ${specifier}: the simulator's data packages are devDependencies, installed by npm install in a checkout (${err.code ?? err.message})`)
  }
}

export interface AsnRanges {
  count: number
  start: Uint32Array
  end: Uint32Array
  asn: Uint32Array
  /** index into `orgs` */
  org: Uint32Array
  /** distinct organisation names, in order of first appearance */
  orgs: string[]
}

export interface CountryRanges {
  count: number
  start: Uint32Array
  end: Uint32Array
  /** two ASCII letters packed as (c0 << 8) | c1 */
  cc: Uint16Array
}

/** Reads an unsigned decimal starting at `pos`; returns the value, and sets `cursor.pos` to the first non-digit. */
function readUint (text: string, cursor: { pos: number }): number {
  let pos = cursor.pos
  let n = 0
  let digits = 0
  for (;;) {
    const c = text.charCodeAt(pos)
    if (c < 48 || c > 57) break
    n = n * 10 + (c - 48)
    pos++
    digits++
  }
  if (digits === 0) throw new DatasetError(`expected a number at offset ${cursor.pos}`)
  cursor.pos = pos
  return n
}

function expectComma (text: string, cursor: { pos: number }, what: string): void {
  if (text.charCodeAt(cursor.pos) !== 44) throw new DatasetError(`expected "," before ${what} at offset ${cursor.pos}`)
  cursor.pos++
}

/** A copy of `a` with room for `cap` entries. */
function grown<T extends Uint32Array | Uint16Array> (a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap)
  b.set(a)
  return b
}

type Columns = { start: Uint32Array, end: Uint32Array } & Record<string, Uint32Array | Uint16Array>

/**
 * The row loop both CSVs share: skips blank lines, reads `start,end,` into `cols` and hands the
 * rest of row `n` to `readRest`, which leaves the cursor at the next line. The columns grow
 * together and come back cut to the rows read.
 */
function scanRanges<C extends Columns> (text: string, cols: C, nextField: string, readRest: (cols: C, n: number, cur: { pos: number }) => void): { count: number, cols: C } {
  const keys = Object.keys(cols) as Array<keyof C & string>
  let cap = cols.start.length
  let n = 0
  const cur = { pos: 0 }
  while (cur.pos < text.length) {
    const c0 = text.charCodeAt(cur.pos)
    if (c0 === 10 || c0 === 13) { cur.pos++; continue }
    if (n === cap) {
      cap *= 2
      for (const k of keys) cols[k] = grown(cols[k], cap) as C[typeof k]
    }
    cols.start[n] = readUint(text, cur)
    expectComma(text, cur, 'end')
    cols.end[n] = readUint(text, cur)
    expectComma(text, cur, nextField)
    readRest(cols, n, cur)
    n++
  }
  for (const k of keys) cols[k] = cols[k].slice(0, n) as C[typeof k]
  return { count: n, cols }
}

/** Reads the rest of a line as a CSV field that may be "quoted" with "" escapes; moves to the next line. */
function readTextField (text: string, cur: { pos: number }, what: string): string {
  const len = text.length
  if (text.charCodeAt(cur.pos) !== 34) {
    const nl = text.indexOf('\n', cur.pos)
    const value = text.slice(cur.pos, nl < 0 ? len : nl).replace(/\r$/, '')
    cur.pos = nl < 0 ? len : nl + 1
    return value
  }
  // quoted: runs to the next lone quote; "" is a literal quote
  let out = ''
  let pos = cur.pos + 1
  for (;;) {
    const q = text.indexOf('"', pos)
    if (q < 0) throw new DatasetError(`unterminated quoted ${what} at offset ${cur.pos}`)
    out += text.slice(pos, q)
    if (text.charCodeAt(q + 1) === 34) { out += '"'; pos = q + 2; continue }
    pos = q + 1
    break
  }
  const nl = text.indexOf('\n', pos)
  cur.pos = nl < 0 ? len : nl + 1
  return out
}

const INITIAL_ROWS = 1 << 19

/** Parses the ASN CSV text. Fields: start,end,asn,org where org may be "quoted" with "" escapes. */
export function parseAsnCsv (text: string): AsnRanges {
  const orgs: string[] = []
  const orgIndex = new Map<string, number>()
  const cols = { start: new Uint32Array(INITIAL_ROWS), end: new Uint32Array(INITIAL_ROWS), asn: new Uint32Array(INITIAL_ROWS), org: new Uint32Array(INITIAL_ROWS) }
  const { count } = scanRanges(text, cols, 'asn', (c, n, cur) => {
    c.asn[n] = readUint(text, cur)
    expectComma(text, cur, 'org')
    const name = readTextField(text, cur, 'org')
    let idx = orgIndex.get(name)
    if (idx === undefined) { idx = orgs.length; orgs.push(name); orgIndex.set(name, idx) }
    c.org[n] = idx
  })
  return { count, ...cols, orgs }
}

/** Parses the country CSV text (start,end,CC). */
export function parseCountryCsv (text: string): CountryRanges {
  const cols = { start: new Uint32Array(INITIAL_ROWS), end: new Uint32Array(INITIAL_ROWS), cc: new Uint16Array(INITIAL_ROWS) }
  const { count } = scanRanges(text, cols, 'country', (c, n, cur) => {
    const a = text.charCodeAt(cur.pos)
    const b = text.charCodeAt(cur.pos + 1)
    if (!(a >= 65 && a <= 90 && b >= 65 && b <= 90)) throw new DatasetError(`expected a country code at offset ${cur.pos}`)
    c.cc[n] = (a << 8) | b
    const nl = text.indexOf('\n', cur.pos)
    cur.pos = nl < 0 ? text.length : nl + 1
  })
  return { count, ...cols }
}

export async function loadAsnRanges (path = resolveDatasetFile(ASN_CSV)): Promise<AsnRanges> {
  return parseAsnCsv(await readDataset(path))
}

export async function loadCountryRanges (path = resolveDatasetFile(COUNTRY_CSV)): Promise<CountryRanges> {
  return parseCountryCsv(await readDataset(path))
}

async function readDataset (path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err: any) {
    throw new DatasetError(`cannot read dataset ${path}: ${err.code ?? err.message}`)
  }
}

/**
 * The country of the range holding `address`: the innermost country range containing it (the file
 * is sorted by start; a few ranges nest inside a larger one). 0 when none does.
 */
export function countryAt (c: CountryRanges, address: number): number {
  let lo = 0
  let hi = c.count - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (c.start[mid] <= address) { found = mid; lo = mid + 1 } else hi = mid - 1
  }
  for (let i = found, steps = 0; i >= 0 && steps < 16; i--, steps++) {
    if (c.end[i] >= address) return c.cc[i]
  }
  return 0
}

export function unpackCountry (packed: number): string {
  return packed === 0 ? '' : String.fromCharCode(packed >>> 8, packed & 255)
}

export function packCountry (cc: string): number {
  return cc.length === 2 ? (cc.charCodeAt(0) << 8) | cc.charCodeAt(1) : 0
}
