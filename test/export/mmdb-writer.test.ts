/**
 * The MMDB writer (src/export/mmdb-*.ts) at the edges of the MaxMind DB format, read back with
 * the `maxmind` npm reader and Debian's `mmdblookup` (libmaxminddb): every boundary of the control
 * byte's size encoding, pointers of every length a file of this size reaches, 24-, 28- and 32-bit
 * records, and many random overlapping networks against the rule `lookup` follows.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import maxmind, { type Reader } from 'maxmind'
import { toDumpRow, type DumpRow } from '../../src/report/dump.js'
import { MmdbExportWriter, type MmdbExportOptions } from '../../src/export/mmdb-writer.js'
import { MmdbDataWriter } from '../../src/export/mmdb-data.js'
import { formatIPv4, parseIPv4 } from '../../src/util/ipv4.js'
import { net, rng, tempDir } from '../store/helpers/records.js'
import { hasMmdblookup, mmdblookup } from '../helpers/mmdblookup.js'
import { skipOutsideCi } from '../helpers/skip.js'

let dir: string
let cleanup: () => Promise<void>

before(async () => { ({ dir, cleanup } = await tempDir()) })
after(async () => { await cleanup?.() })

const row = (start: number, end: number, over: Parameters<typeof net>[2] = {}): DumpRow => toDumpRow(net(start, end, over))
const withoutNulls = (r: DumpRow): Record<string, unknown> => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null))
const slash24 = (i: number): [number, number] => [11 * 2 ** 24 + i * 256, 11 * 2 ** 24 + i * 256 + 255]

async function write (name: string, rows: DumpRow[], opts: MmdbExportOptions = {}): Promise<{ file: string, reader: Reader<any> }> {
  const file = join(dir, name)
  const w = new MmdbExportWriter(file, opts)
  for (const r of rows) w.add(r)
  await w.finish()
  return { file, reader: await maxmind.open(file) }
}

test('strings at every boundary of the control byte\'s size encoding read back whole', async (t) => {
  // "Payload Size": < 29 in the control byte, then 29 + one byte, 285 + two bytes, 65,821 + three bytes
  const names = [0, 1, 9, 10, 28, 29, 284, 285, 65_820, 65_821, 100_000].map(n => 'n'.repeat(n))
  // multi-byte characters: 9 of 3 bytes fit the control byte (27 bytes), 10 do not (30 bytes)
  names.push('東'.repeat(9), '東'.repeat(10), 'ü'.repeat(14), 'ü'.repeat(15))
  const rows = names.map((name, i) => row(...slash24(i), { name }))
  const { file, reader } = await write('strings.mmdb', rows)
  rows.forEach((r, i) => assert.deepEqual(reader.get(formatIPv4(slash24(i)[0] + 1)), withoutNulls(r), `name of ${Buffer.byteLength(names[i])} bytes`))
  if (!hasMmdblookup()) return skipOutsideCi(t, 'mmdblookup is not installed (apt-get install mmdb-bin)')
  for (let i = 0; i < rows.length; i++) {
    assert.equal(((await mmdblookup(file, formatIPv4(slash24(i)[0] + 7))).record as DumpRow).name, names[i], `mmdblookup: name of ${Buffer.byteLength(names[i])} bytes`)
  }
})

test('a pointer encodes each offset in the fewest bytes the spec allows, and decodes back by the spec\'s arithmetic', () => {
  // "Pointers": 001SSVVV; SS=0: 11 bits; 1: 19 bits + 2048; 2: 27 bits + 526,336; 3: the next 32 bits
  const decode = (b: Buffer): number => {
    assert.equal(b[0] >> 5, 1, 'type 1')
    const ss = (b[0] >> 3) & 3
    const v = b[0] & 7
    if (ss === 0) return v * 2 ** 8 + b[1]
    if (ss === 1) return v * 2 ** 16 + b.readUIntBE(1, 2) + 2048
    if (ss === 2) return v * 2 ** 24 + b.readUIntBE(1, 3) + 526_336
    return b.readUInt32BE(1)
  }
  const cases: Array<[number, number]> = [[0, 2], [2047, 2], [2048, 3], [526_335, 3], [526_336, 4], [134_744_063, 4], [134_744_064, 5], [2 ** 32 - 1, 5]]
  for (const [offset, bytes] of cases) {
    const d = new MmdbDataWriter()
    d.pointer(offset)
    const b = Buffer.concat(d.parts())
    assert.equal(b.length, bytes, `pointer to ${offset}: ${bytes} bytes`)
    assert.equal(decode(b), offset, `pointer to ${offset} decodes back`)
  }
  assert.throws(() => new MmdbDataWriter().pointer(2 ** 32), { name: 'ExportLimitError' })
})

test('values repeated across networks become pointers of two, three and four bytes, and every reader follows them', async (t) => {
  // 3,000 networks with a 250-byte name of their own: a data section past 526,336 bytes, so that an
  // org first seen late is pointed to with a four-byte pointer, one first seen early with three
  const rows: DumpRow[] = []
  for (let i = 0; i < 3000; i++) {
    const org = i < 50 ? 'Example Org' : i < 2500 ? 'An Organisation Seen First At Row 50' : 'An Organisation Seen First At Row 2500'
    rows.push(row(...slash24(i), { name: `NET-${i}-`.padEnd(250, 'x'), org, author: i % 2 === 0 ? 'peer-a' : undefined }))
  }
  const { file, reader } = await write('pointers.mmdb', rows)
  rows.forEach((r, i) => assert.deepEqual(reader.get(formatIPv4(slash24(i)[0] + 9)), withoutNulls(r), `network ${i}`))
  if (!hasMmdblookup()) return skipOutsideCi(t, 'mmdblookup is not installed (apt-get install mmdb-bin)')
  for (const i of [0, 49, 50, 51, 2499, 2500, 2501, 2999]) {
    assert.deepEqual((await mmdblookup(file, formatIPv4(slash24(i)[0] + 200))).record, withoutNulls(rows[i]), `mmdblookup: network ${i}`)
  }
})

test('a data section past 16 MiB takes 28-bit records, whose high bits share the middle byte, and every reader finds the networks past it', async (t) => {
  // "Node Layout", 28 bits: | 23 .. 0 | 27..24 | 27..24 | 23 .. 0 |: only records over 2^24 use the middle byte
  const rows = Array.from({ length: 8 }, (_, i) => row(...slash24(i * 2), { name: String.fromCharCode(97 + i).repeat(2_500_000) }))
  const { file, reader } = await write('large.mmdb', rows)
  assert.equal(reader.metadata.recordSize, 28)
  rows.forEach((r, i) => {
    assert.equal(reader.get(formatIPv4(slash24(i * 2)[0] + 3))?.name, r.name, `network ${i}`)
    assert.equal(reader.get(formatIPv4(slash24(i * 2 + 1)[0] + 3)), null, `the /24 after network ${i}`)
  })
  if (!hasMmdblookup()) return skipOutsideCi(t, 'mmdblookup is not installed (apt-get install mmdb-bin)')
  for (const i of [0, 6, 7]) {
    assert.equal(((await mmdblookup(file, formatIPv4(slash24(i * 2)[0] + 3))).record as DumpRow).handle, rows[i].handle, `mmdblookup: network ${i}`)
  }
})

/** `count` random networks, nested and overlapping, in 11.0.0.0/8. */
function randomRows (count: number, seed: number): DumpRow[] {
  const next = rng(seed)
  const base = 11 * 2 ** 24
  const rows: DumpRow[] = []
  for (let i = 0; i < count; i++) {
    const size = Math.max(1, Math.floor(2 ** (next() * 20)))
    const start = base + Math.floor(next() * (2 ** 24 - size))
    rows.push(row(start, start + size - 1, { handle: `R-${i}` }))
  }
  return rows
}

/** The network `lookup` answers with (store-reads.ts containing): the smallest holding `a`, then the lower start. */
function mostSpecific (rows: DumpRow[], a: number): DumpRow | undefined {
  let best: DumpRow | undefined
  let bs = 0
  let bsize = Infinity
  for (const r of rows) {
    const [s, e] = rangeOf(r)
    if (a < s || a > e) continue
    if (e - s < bsize || (e - s === bsize && s < bs)) { best = r; bsize = e - s; bs = s }
  }
  return best
}

const ranges = new WeakMap<DumpRow, [number, number]>()
function rangeOf (r: DumpRow): [number, number] {
  let x = ranges.get(r)
  if (x === undefined) ranges.set(r, x = [parseIPv4(r.start_address), parseIPv4(r.end_address)])
  return x
}

test('random overlapping networks: every address gets the smallest network holding it (ties: the lower start), with 24-, 28- and 32-bit records', async (t) => {
  const rows = randomRows(400, 7)
  const files: Array<{ size: 24 | 28 | 32, file: string, reader: Reader<any> }> = []
  for (const size of [24, 28, 32] as const) files.push({ size, ...await write(`random-${size}.mmdb`, rows, { minRecordSize: size }) })
  const next = rng(99)
  const probes: number[] = []
  for (let i = 0; i < 3000; i++) probes.push(11 * 2 ** 24 + Math.floor(next() * 2 ** 24))
  for (const r of rows.slice(0, 100)) {
    const [s, e] = rangeOf(r)
    probes.push(s, e, s - 1, e + 1)
  }
  const wants = probes.map(a => mostSpecific(rows, a)?.handle)
  assert.ok(wants.filter(h => h !== undefined).length > probes.length / 2, 'the networks cover too little for a test')
  for (const { size, reader } of files) {
    assert.equal(reader.metadata.recordSize, size)
    probes.forEach((a, i) => assert.equal(reader.get(formatIPv4(a))?.handle, wants[i], `${size}-bit records: ${formatIPv4(a)}`))
  }
  if (!hasMmdblookup()) return skipOutsideCi(t, 'mmdblookup is not installed (apt-get install mmdb-bin)')
  for (const { size, file } of files) {
    for (let i = 0; i < 60; i++) {
      const got = (await mmdblookup(file, formatIPv4(probes[i]))).record as DumpRow | null
      assert.equal(got?.handle, wants[i], `mmdblookup, ${size}-bit records: ${formatIPv4(probes[i])}`)
    }
  }
})
