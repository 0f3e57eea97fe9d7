/**
 * `whoismesh dump --format mmdb` and `--format parquet`, run as the real command on a real data
 * directory (crawled networks that nest, overlap and tie, and an imported registry dump), read
 * back with clients that are not ours: Debian's `mmdblookup` (libmaxminddb) and the `maxmind` npm
 * reader for the MMDB file, DuckDB for the Parquet file. Each address's MMDB answer must be the
 * first network `lookup` answers, field for field; DuckDB's range join must find every network
 * `lookup` lists, in its order. Both work from the store and from a running node's stream; a
 * failure leaves nothing half-written.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import maxmind, { type Reader } from 'maxmind'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { NetworkStore } from '../../src/store/index.js'
import { importDump, localDumpFile } from '../../src/bulk/import.js'
import { ControlServer } from '../../src/node/control.js'
import { DUMP_FIELDS, dumpParams, writeDump, type DumpRow } from '../../src/report/dump.js'
import { lookupReport } from '../../src/report/lookup.js'
import { METADATA_MARKER } from '../../src/export/mmdb-writer.js'
import { formatIPv4, parseIPv4 } from '../../src/util/ipv4.js'
import { dataDirWith, net, neg, rng } from '../store/helpers/records.js'
import { collect, runCli, spawnCli, waitFor } from '../helpers/cli.js'
import { hasMmdblookup, mmdblookup } from '../helpers/mmdblookup.js'
import { skipOutsideCi } from '../helpers/skip.js'

let dir: string
let cleanup: () => Promise<void>
let data: string
let duck: DuckDBConnection
/** the exports of the whole store, the dump's rows, and what `lookup` answers for the probe addresses */
let mmdbFile: string
let parquetFile: string
let allRows: DumpRow[]
let answers: Map<number, DumpRow[]>
let summaries: Record<'mmdb' | 'parquet', Record<string, unknown>>

const T0 = Date.parse('2026-03-01T00:00:00Z')
const DAY = 86_400_000
const AUTHOR = '12D3KooWExportAuthorDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD'
const LONG_NAME = 'A-NETWORK-NAME-LONGER-THAN-284-BYTES-' + 'x'.repeat(300)

/** An AFRINIC database dump (RPSL): an allocation, one range the crawl holds too, one a crawled network ties with. */
const AFRINIC_DUMP = `inetnum:        102.0.0.0 - 102.0.255.255
netname:        BULK-ALLOC
country:        ZA
org:            ORG-EX1-AFRINIC
status:         ALLOCATED PA
source:         AFRINIC

inetnum:        102.0.0.0 - 102.0.1.255
netname:        SAME-RANGE-AS-CRAWLED
country:        ZA
status:         ASSIGNED PA
source:         AFRINIC

inetnum:        102.0.2.0 - 102.0.3.255
netname:        BULK-TIE
country:        ZA
status:         ASSIGNED PA
source:         AFRINIC

organisation:   ORG-EX1-AFRINIC
org-name:       Example Bulk Org
source:         AFRINIC
`

before(async () => {
  ({ dir, data, cleanup } = await dataDirWith({
    networks: [
      // ARIN: allocation > reallocation > two assignments
      net('8.0.0.0', '8.127.255.255', { registry: 'arin', handle: 'NET-8-0-0-0-1', type: 'Direct Allocation', fetchedAt: T0 }),
      net('8.8.0.0', '8.8.255.255', { registry: 'arin', handle: 'NET-8-8-0-0-1', type: 'Reallocated', parentHandle: 'NET-8-0-0-0-1', fetchedAt: T0 + DAY }),
      net('8.8.8.0', '8.8.8.255', { registry: 'arin', handle: 'NET-8-8-8-0-1', name: 'GOGL', type: 'REASSIGNMENT', parentHandle: 'NET-8-8-0-0-1', fetchedAt: T0 + 2 * DAY, author: AUTHOR }),
      net('8.8.4.0', '8.8.4.255', { registry: 'arin', handle: 'NET-8-8-4-0-1', name: LONG_NAME, type: 'REASSIGNMENT', fetchedAt: T0 + 2 * DAY }),
      // RIPE: names a CSV or a naive printer would trip on
      net('193.0.0.0', '193.0.7.255', { registry: 'ripe', name: 'RIPE-NCC, "main" office', org: 'Réseaux IP Européens\r\nNetwork Coordination Centre', country: 'NL', fetchedAt: T0 + 3 * DAY }),
      // AFRINIC: a range of two CIDRs, and an assignment inside
      net('41.0.0.0', '41.0.2.255', { registry: 'afrinic', org: '', type: 'SUB-ALLOCATED PA', fetchedAt: T0 + 4 * DAY }),
      net('41.0.2.0', '41.0.2.127', { registry: 'afrinic', org: 'Ñandú Telecom 東京', type: 'ASSIGNED PA', fetchedAt: T0 + 4 * DAY }),
      // two ranges that overlap without nesting: the smaller answers their overlap
      net('45.0.0.0', '45.0.2.255', { registry: 'arin', handle: 'NET-45-BIG', type: 'Direct Allocation', fetchedAt: T0 }),
      net('45.0.2.0', '45.0.3.255', { registry: 'arin', handle: 'NET-45-SMALL', type: 'Direct Allocation', fetchedAt: T0 }),
      // two of the same size that overlap: the lower start answers the overlap, as lookup does
      net('46.0.0.0', '46.0.1.255', { registry: 'ripe', handle: 'TIE-LOW', type: 'ALLOCATED PA', fetchedAt: T0 }),
      net('46.0.1.0', '46.0.2.255', { registry: 'ripe', handle: 'TIE-HIGH', type: 'ALLOCATED PA', fetchedAt: T0 }),
      // LACNIC: a container listed for the sample
      net('200.57.128.0', '200.57.159.255', { registry: 'lacnic', name: 'Ñandú, S.A.', country: 'MX', type: 'allocated', fetchedAt: T0 + 5 * DAY, listedSample: 4000, listedAt: T0 + 6 * DAY }),
      // crawled inside the imported allocation: one range the dump holds too, one tying with a dump's network
      net('102.0.0.0', '102.0.1.255', { registry: 'afrinic', handle: 'CRAWLED-102-0', type: 'ASSIGNED PA', fetchedAt: T0 + 7 * DAY }),
      net('102.0.3.0', '102.0.4.255', { registry: 'afrinic', handle: 'CRAWLED-102-3', type: 'ASSIGNED PA', fetchedAt: T0 + 7 * DAY })
    ],
    negatives: [neg('45.1.2.3', { registry: 'arin' })]
  }))
  await writeFile(join(dir, 'afrinic.db'), AFRINIC_DUMP)
  const imported = await importDump(data, 'afrinic', [await localDumpFile(join(dir, 'afrinic.db'))], { serial: 7 })
  assert.equal(imported.header.networks, 3)
  duck = await (await DuckDBInstance.create(':memory:')).connect()

  // the two files the tests read, written by the command from the stopped node's store
  allRows = await dumpRows()
  mmdbFile = join(dir, 'networks.mmdb')
  parquetFile = join(dir, 'networks.parquet')
  summaries = { mmdb: await exportFile('mmdb', mmdbFile), parquet: await exportFile('parquet', parquetFile) }
  answers = await lookups(probeAddresses(allRows))
})

after(async () => {
  duck?.closeSync()
  await cleanup?.()
})

async function dumpRows (...args: string[]): Promise<DumpRow[]> {
  const r = await runCli(['dump', '--data', data, ...args], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, r.stderr)
  return r.stdout.trim().split('\n').filter(l => l !== '').map(l => JSON.parse(l))
}

/** `dump --format F --out FILE` (more args after), asserted to succeed; returns the summary line. */
async function exportFile (format: string, file: string, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await runCli(['dump', '--data', data, '--format', format, '--out', file, ...args], { timeoutMs: 120_000 })
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, '', 'nothing on standard output')
  return JSON.parse(r.stderr.trim().split('\n').pop() ?? '{}')
}

/** Addresses around every network's edges and middle, random ones in their /8s, and a few elsewhere. */
function probeAddresses (rows: DumpRow[]): number[] {
  const set = new Set<number>()
  for (const r of rows) {
    const s = parseIPv4(r.start_address)
    const e = parseIPv4(r.end_address)
    for (const a of [s - 1, s, s + 1, Math.floor((s + e) / 2), e - 1, e, e + 1]) if (a >= 0 && a <= 0xffffffff) set.add(a)
  }
  const next = rng(16)
  for (const o of [8, 41, 45, 46, 102, 193, 200]) for (let i = 0; i < 40; i++) set.add(o * 2 ** 24 + Math.floor(next() * 2 ** 24))
  for (let i = 0; i < 40; i++) set.add(Math.floor(next() * 2 ** 32))
  for (const a of ['0.0.0.0', '192.168.1.1', '45.1.2.3', '255.255.255.255']) set.add(parseIPv4(a))
  return [...set].sort((a, b) => a - b)
}

/** What `lookup` answers for each address: every network containing it, most specific first (read with the command's stopped). */
async function lookups (addresses: number[]): Promise<Map<number, DumpRow[]>> {
  const store = await NetworkStore.open({ dataDir: data })
  try {
    const out = new Map<number, DumpRow[]>()
    for (const a of addresses) out.set(a, (await lookupReport(store, a)).networks)
    return out
  } finally {
    await store.close()
  }
}

/** A dump row as an MMDB map holds it: the null fields left out. */
function withoutNulls (row: DumpRow | undefined): Record<string, unknown> | null {
  if (row === undefined) return null
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null))
}

/** metadata `description.en` (the reader's types say a string; the spec and the file: a map by language) */
function descriptionOf (reader: Reader<any>): string {
  return (reader.metadata.description as unknown as Record<string, string>).en
}

test('dump --format mmdb and --format parquet write their files and say what they wrote', async () => {
  assert.equal(allRows.length, 16, '14 crawled networks and 2 imported ones whose range the crawl does not hold')
  const m = summaries.mmdb
  assert.deepEqual([m.format, m.out, m.networks, m.record_size], ['mmdb', mmdbFile, 16, 24])
  assert.equal(m.bytes, (await readFile(mmdbFile)).length)
  const p = summaries.parquet
  assert.deepEqual([p.format, p.networks, p.row_groups], ['parquet', 16, 1])
  assert.deepEqual((await readdir(dir)).filter(f => f.endsWith('.tmp')), [], 'no temporary file left')
})

test('mmdblookup answers every address with the network lookup answers first, field for field, and nothing where lookup has none', async (t) => {
  if (!hasMmdblookup()) return skipOutsideCi(t, 'mmdblookup is not installed (apt-get install mmdb-bin)')
  let found = 0
  for (const [a, networks] of answers) {
    const ip = formatIPv4(a)
    const r = await mmdblookup(mmdbFile, ip)
    assert.deepEqual(r.record, withoutNulls(networks[0]), `mmdblookup -i ${ip}`)
    if (r.record !== null) found++
  }
  assert.ok(found > 90, `only ${found} addresses found: the probes miss the networks`)
  // IPv4-mapped and 6to4 addresses lead to the IPv4 space, as in MaxMind's own databases
  const google = (await mmdblookup(mmdbFile, '8.8.8.8')).record
  assert.equal((google as DumpRow).handle, 'NET-8-8-8-0-1')
  assert.deepEqual((await mmdblookup(mmdbFile, '::ffff:8.8.8.8')).record, google)
  assert.deepEqual((await mmdblookup(mmdbFile, '2002:808:808::1')).record, google)
  assert.equal((await mmdblookup(mmdbFile, '2001:db8::1')).record, null)
  assert.equal((await mmdblookup(mmdbFile, '8.8.8.8')).prefixLength, 96 + 24, 'the prefix of 8.8.8.8 in the IPv6 tree')
})

test('the maxmind npm reader gives the same answers, a prefix inside the answering network, and the metadata', async () => {
  const reader: Reader<any> = await maxmind.open(mmdbFile)
  for (const [a, networks] of answers) {
    const ip = formatIPv4(a)
    const [record, prefix] = reader.getWithPrefixLength(ip)
    assert.deepEqual(record, withoutNulls(networks[0]), `maxmind get(${ip})`)
    if (record !== null) {
      // the block of the tree's answer lies inside the network
      const size = 2 ** (32 - prefix)
      const blockStart = a - (a % size)
      assert.ok(blockStart >= parseIPv4(networks[0].start_address) && blockStart + size - 1 <= parseIPv4(networks[0].end_address), `${ip}/${prefix} inside ${networks[0].cidr}`)
    }
    assert.deepEqual(reader.get(`::ffff:${ip}`), record, `maxmind get(::ffff:${ip})`)
  }
  assert.equal(reader.get('2001:db8::1'), null, 'IPv6 outside the aliases: no answer (an IPv4-only tree would answer it wrongly)')
  const md = reader.metadata
  assert.equal(md.databaseType, 'whoismesh-networks')
  assert.equal(md.ipVersion, 6)
  assert.equal(md.binaryFormatMajorVersion, 2)
  assert.match(descriptionOf(reader), /most specific registry network/)
  assert.ok(Math.abs(md.buildEpoch.getTime() - Date.now()) < 600_000, `build epoch ${md.buildEpoch.toISOString()}`)
})

test('nested, overlapping and tied networks answer as lookup does, in the MMDB file', async () => {
  const reader: Reader<any> = await maxmind.open(mmdbFile)
  const handle = (ip: string): string | undefined => reader.get(ip)?.handle
  assert.deepEqual(['8.8.8.8', '8.8.9.1', '8.9.0.1', '8.200.0.1'].map(handle), ['NET-8-8-8-0-1', 'NET-8-8-0-0-1', 'NET-8-0-0-0-1', undefined])
  assert.deepEqual(['45.0.1.1', '45.0.2.1', '45.0.3.1'].map(handle), ['NET-45-BIG', 'NET-45-SMALL', 'NET-45-SMALL'], 'the smaller of two overlapping networks')
  assert.deepEqual(['46.0.0.1', '46.0.1.1', '46.0.2.1'].map(handle), ['TIE-LOW', 'TIE-LOW', 'TIE-HIGH'], 'the lower start of two of one size')
  assert.deepEqual(['102.0.0.1', '102.0.2.1', '102.0.3.1', '102.0.9.1'].map(handle), ['CRAWLED-102-0', '102.0.2.0 - 102.0.3.255', 'CRAWLED-102-3', '102.0.0.0 - 102.0.255.255'], 'a crawled network over an imported one of the same size')
  assert.equal(reader.get('8.8.4.4')?.name, LONG_NAME, 'a string over 284 bytes (a two-byte size)')
  assert.equal(reader.get('193.0.1.1')?.org, 'Réseaux IP Européens\r\nNetwork Coordination Centre')
  assert.equal(reader.get('41.0.2.1')?.org, 'Ñandú Telecom 東京')
  assert.deepEqual([reader.get('200.57.130.1')?.listed_sample, reader.get('200.57.130.1')?.listed_at], [4000, '2026-03-07T00:00:00.000Z'])
  assert.equal(reader.get('8.8.8.8')?.author, AUTHOR)
  assert.equal(reader.get('45.1.2.3'), null, 'unallocated: no network')
})

async function sql (query: string): Promise<Array<Record<string, any>>> {
  return (await duck.runAndReadAll(query)).getRowObjectsJson() as Array<Record<string, any>>
}

test('DuckDB reads the Parquet file: one row per dump line, typed columns, the dump\'s values', async () => {
  const types = await sql(`DESCRIBE SELECT * FROM read_parquet('${parquetFile}')`)
  assert.deepEqual(types.map(t => [t.column_name, t.column_type]), [
    ['cidr', 'VARCHAR[]'], ['start_address', 'VARCHAR'], ['end_address', 'VARCHAR'], ['start_int', 'BIGINT'], ['end_int', 'BIGINT'],
    ['registry', 'VARCHAR'], ['handle', 'VARCHAR'], ['name', 'VARCHAR'], ['org', 'VARCHAR'], ['country', 'VARCHAR'], ['type', 'VARCHAR'],
    ['leaf', 'BOOLEAN'], ['parent_handle', 'VARCHAR'], ['registered', 'VARCHAR'], ['last_changed', 'VARCHAR'], ['source', 'VARCHAR'],
    ['fetched_at', 'TIMESTAMP WITH TIME ZONE'], ['query_address', 'VARCHAR'], ['listed_sample', 'INTEGER'], ['listed_at', 'TIMESTAMP WITH TIME ZONE'], ['author', 'VARCHAR']
  ])
  const rows = await sql(`SELECT * EXCLUDE (fetched_at, listed_at), epoch_ms(fetched_at) AS fetched_ms, epoch_ms(listed_at) AS listed_ms FROM read_parquet('${parquetFile}')`)
  assert.equal(rows.length, allRows.length, 'row count')
  rows.forEach((got, i) => {
    const want = allRows[i]
    const back: Record<string, unknown> = {
      ...Object.fromEntries(DUMP_FIELDS.map(f => [f, got[f]])),
      cidr: (got.cidr as string[]).join(', '),
      fetched_at: new Date(Number(got.fetched_ms)).toISOString(),
      listed_at: got.listed_ms === null ? null : new Date(Number(got.listed_ms)).toISOString()
    }
    assert.deepEqual(back, { ...want }, `row ${i + 1} (${want.cidr})`)
    assert.deepEqual([Number(got.start_int), Number(got.end_int)], [parseIPv4(want.start_address), parseIPv4(want.end_address)], `start_int/end_int of ${want.cidr}`)
  })
})

test('a DuckDB range join of addresses against start_int/end_int finds the networks lookup lists, in its order', async () => {
  const addresses = [...answers.keys()]
  await duck.run(`CREATE OR REPLACE TABLE addrs AS SELECT unnest([${addresses.join(',')}]::BIGINT[]) AS ip`)
  // most specific first: the smaller range, a crawled network before an imported one, the lower start
  const joined = await sql(`
    SELECT a.ip, list(n.handle ORDER BY n.end_int - n.start_int, n.source = 'bulk', n.start_int) FILTER (WHERE n.handle IS NOT NULL) AS handles
    FROM addrs a LEFT JOIN read_parquet('${parquetFile}') n ON a.ip BETWEEN n.start_int AND n.end_int
    GROUP BY a.ip ORDER BY a.ip`)
  assert.equal(joined.length, addresses.length)
  for (const j of joined) {
    const a = Number(j.ip)
    assert.deepEqual(j.handles ?? [], answers.get(a)?.map(n => n.handle), `networks of ${formatIPv4(a)}`)
  }
})

test('--registry and --since filter both exports as they filter the JSONL dump', async () => {
  const arinRows = await dumpRows('--registry', 'arin')
  const sinceRows = await dumpRows('--since', '2026-03-04')
  assert.ok(arinRows.length > 0 && sinceRows.length > 0 && sinceRows.length < allRows.length)
  const mm = join(dir, 'arin.mmdb')
  await exportFile('mmdb', mm, '--registry', 'arin')
  const reader: Reader<any> = await maxmind.open(mm)
  assert.equal(reader.get('8.8.8.8')?.handle, 'NET-8-8-8-0-1')
  assert.equal(reader.get('193.0.1.1'), null, 'a RIPE network is not in the ARIN export')
  assert.match(descriptionOf(reader), / of arin /)
  const pq = join(dir, 'since.parquet')
  await exportFile('parquet', pq, '--since', '2026-03-04')
  const handles = await sql(`SELECT handle FROM read_parquet('${pq}')`)
  assert.deepEqual(handles.map(h => h.handle), sinceRows.map(r => r.handle))
  const kv = await sql(`SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata('${pq}') WHERE decode(key) = 'whoismesh.since'`)
  assert.deepEqual(kv.map(k => k.value), ['2026-03-04T00:00:00.000Z'])
  // no APNIC network: both files are still valid, and empty
  assert.deepEqual(await dumpRows('--registry', 'apnic'), [])
  const emptyMm = join(dir, 'apnic.mmdb')
  const emptyPq = join(dir, 'apnic.parquet')
  assert.equal((await exportFile('mmdb', emptyMm, '--registry', 'apnic')).networks, 0)
  assert.equal((await exportFile('parquet', emptyPq, '--registry', 'apnic')).networks, 0)
  assert.equal((await maxmind.open<any>(emptyMm)).get('8.8.8.8'), null)
  assert.deepEqual(await sql(`SELECT count(*)::INTEGER AS n FROM read_parquet('${emptyPq}')`), [{ n: 0 }])
})

test('while a node holds the store, both exports are built from its streamed dump and equal the ones built from the store', async () => {
  const store = await NetworkStore.open({ dataDir: data })
  // the route a running node serves (node/control-routes.ts)
  const server = new ControlServer({ dataDir: data }, { '/v1/dump': async (p, stream) => { await writeDump(store, dumpParams(p), stream()) } })
  await server.start()
  try {
    const mm = join(dir, 'remote.mmdb')
    const pq = join(dir, 'remote.parquet')
    assert.equal((await exportFile('mmdb', mm)).networks, allRows.length)
    assert.equal((await exportFile('parquet', pq)).networks, allRows.length)
    const treeAndData = (b: Buffer): Buffer => b.subarray(0, b.lastIndexOf(METADATA_MARKER))
    assert.ok(treeAndData(await readFile(mm)).equals(treeAndData(await readFile(mmdbFile))), 'the same search tree and data section (the metadata differs in its build time)')
    assert.ok((await readFile(pq)).equals(await readFile(parquetFile)), 'the same Parquet file, byte for byte')
  } finally {
    await server.stop()
    await store.close()
  }
})

test('an export whose running node breaks off mid-dump fails with one line, leaves the file there untouched and no temporary file', async () => {
  const store = await NetworkStore.open({ dataDir: data })
  const server = new ControlServer({ dataDir: data }, {
    '/v1/dump': async (_p, stream) => {
      const out = stream()
      out.write(JSON.stringify(allRows[0]) + '\n')
      await new Promise(resolve => setTimeout(resolve, 50))
      out.destroy() // the node goes away mid-answer
    }
  })
  await server.start()
  const target = join(dir, 'kept.mmdb')
  await writeFile(target, 'the previous export')
  try {
    for (const format of ['mmdb', 'parquet']) {
      const r = await runCli(['dump', '--data', data, '--format', format, '--out', target], { timeoutMs: 60_000 })
      assert.equal(r.code, 2, `${format}: ${r.stderr}`)
      assert.match(r.stderr, /^whoismesh: the running node's dump broke off: .+\n$/, `${format}: one line`)
      assert.equal(await readFile(target, 'utf8'), 'the previous export', `${format}: the file at --out is untouched`)
      assert.deepEqual((await readdir(dir)).filter(f => f.endsWith('.tmp')), [], `${format}: no temporary file left`)
    }
  } finally {
    await server.stop()
    await store.close()
  }
})

test('Ctrl-C during an export removes the temporary file and leaves no file at --out', async () => {
  const store = await NetworkStore.open({ dataDir: data })
  let release = (): void => {}
  const stalled = new Promise<void>(resolve => { release = resolve })
  // a node that sends one row, then nothing until the test ends
  const server = new ControlServer({ dataDir: data }, {
    '/v1/dump': async (_p, stream) => {
      stream().write(JSON.stringify(allRows[0]) + '\n')
      await stalled
    }
  })
  await server.start()
  const target = join(dir, 'interrupted.parquet')
  try {
    const child = spawnCli(['dump', '--data', data, '--format', 'parquet', '--out', target])
    const done = collect(child, 60_000)
    // the Parquet writer opens its (temporary) file before the first row group
    await waitFor(async () => (await readdir(dir)).some(f => f.startsWith('.interrupted.parquet.') && f.endsWith('.tmp')), 30_000, 'the temporary file')
    child.kill('SIGINT')
    const r = await done
    assert.equal(r.signal, 'SIGINT', `the command ends by the signal (${String(r.code)}: ${r.stderr})`)
    assert.deepEqual((await readdir(dir)).filter(f => f.includes('interrupted')), [], 'neither the file nor its temporary file')
  } finally {
    release()
    await server.stop()
    await store.close()
  }
})

test('a binary format without --out, or with an --out that cannot be written, fails with one clear line and writes nothing', async () => {
  for (const format of ['mmdb', 'parquet']) {
    const r = await runCli(['dump', '--data', data, '--format', format], { timeoutMs: 60_000 })
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.stdout, '', 'no binary on standard output')
    assert.equal(r.stderr, `whoismesh: --format ${format} writes a binary file: give the file with --out FILE (e.g. --out networks.${format})\n`)
  }
  const missing = await runCli(['dump', '--data', data, '--format', 'parquet', '--out', join(dir, 'no-such-dir', 'x.parquet')], { timeoutMs: 60_000 })
  assert.equal(missing.code, 2, missing.stderr)
  assert.match(missing.stderr, /^whoismesh: cannot write .*x\.parquet: no such directory .*\n$/)
  const isDir = await runCli(['dump', '--data', data, '--format', 'mmdb', '--out', dir], { timeoutMs: 60_000 })
  assert.equal(isDir.code, 2, isDir.stderr)
  assert.match(isDir.stderr, /^whoismesh: cannot write .*: it is a directory\n$/)
  const badFormat = await runCli(['dump', '--data', data, '--format', 'xlsx'], { timeoutMs: 60_000 })
  assert.equal(badFormat.code, 2)
  assert.match(badFormat.stderr, /Allowed choices are jsonl, csv, mmdb, parquet/)
})

test('--out writes the JSONL and CSV dumps as standard output has them; --help names the formats and --out', async () => {
  for (const format of ['jsonl', 'csv']) {
    const out = join(dir, `dump.${format}`)
    const summary = await exportFile(format, out)
    const stdout = await runCli(['dump', '--data', data, '--format', format], { timeoutMs: 60_000 })
    assert.equal(await readFile(out, 'utf8'), stdout.stdout, `${format}: the file holds what standard output gets`)
    assert.deepEqual([summary.format, summary.networks], [format, allRows.length])
  }
  const help = await runCli(['dump', '--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /--format <format>.*mmdb.*parquet/s)
  assert.match(help.stdout, /--out <file>/)
})
