/**
 * `whoismesh dump`, `lookup`, `coverage` and `merge` on a real data directory, checked with
 * independent parsers: every JSONL line is JSON, and the CSV reads back with Python's csv module
 * (RFC 4180) to the same rows, header first, whatever the names contain. Each network carries its
 * class (`leaf`), and `lookup` says whether its answer is exact or possibly coarse.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { Writable } from 'node:stream'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { NetworkStore } from '../../src/store/index.js'
import { DUMP_FIELDS, writeDump } from '../../src/report/dump.js'
import { dataDirWith, net, neg } from '../store/helpers/records.js'
import { runCli } from '../helpers/cli.js'

let dir: string
let cleanup: () => Promise<void>
let data: string

const DAY = 86_400_000
const T0 = Date.parse('2026-03-01T00:00:00Z')
const AUTHOR = '12D3KooWDumpAuthorCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC'

before(async () => {
  ({ dir, data, cleanup } = await dataDirWith({
    networks: [
      net('193.0.0.0', '193.0.7.255', { registry: 'ripe', name: 'RIPE-NCC, "main" office', org: 'Réseaux IP Européens\r\nNetwork Coordination Centre', fetchedAt: T0 }),
      net('8.0.0.0', '8.127.255.255', { registry: 'arin', handle: 'NET-8-0-0-0-1', name: 'LVLT-ORG-8-8', org: ' leading space', type: 'Direct Allocation', fetchedAt: T0 + DAY }),
      net('8.8.8.0', '8.8.8.255', { registry: 'arin', handle: 'NET-8-8-8-0-2', name: 'GOGL', parentHandle: 'NET-8-0-0-0-1', type: 'REASSIGNMENT', fetchedAt: T0 + 2 * DAY, author: AUTHOR }),
      net('200.57.128.0', '200.57.159.255', { registry: 'lacnic', name: 'Ñandú, S.A.', country: 'MX', type: 'allocated', fetchedAt: T0 + 3 * DAY, listedSample: 4000, listedAt: T0 + 5 * DAY }),
      // a range that is not one prefix: two CIDRs, comma-separated in one field
      net('41.0.0.0', '41.0.2.255', { registry: 'afrinic', org: '', type: 'SUB-ALLOCATED PA', fetchedAt: T0 + 4 * DAY })
    ],
    negatives: [neg('45.1.2.3', { registry: 'ripe' })]
  }))
})

after(async () => { await cleanup?.() })

/** Parses CSV text with Python's csv module; returns the rows, header first. */
function pythonCsv (text: string): string[][] {
  const r = spawnSync('python3', ['-c', "import csv, io, json, sys; print(json.dumps(list(csv.reader(io.TextIOWrapper(sys.stdin.buffer, encoding='utf-8', newline=''), strict=True))))"], { input: text, encoding: 'utf8' })
  assert.equal(r.status, 0, `python3 csv failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

async function dump (...args: string[]): Promise<string> {
  const r = await runCli(['dump', '--data', data, ...args], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, r.stderr)
  return r.stdout
}

test('every JSONL dump line parses as one network with the documented fields, in address order', async () => {
  const lines = (await dump()).split('\n')
  assert.equal(lines.pop(), '', 'the dump does not end with a newline')
  const rows = lines.map((l, i) => { try { return JSON.parse(l) } catch { assert.fail(`line ${i + 1} is not JSON: ${l}`) } })
  assert.equal(rows.length, 5)
  for (const row of rows) assert.deepEqual(Object.keys(row), [...DUMP_FIELDS], `fields of ${String(row.cidr)}`)
  assert.deepEqual(rows.map(r => r.cidr), ['8.0.0.0/9', '8.8.8.0/24', '41.0.0.0/23, 41.0.2.0/24', '193.0.0.0/21', '200.57.128.0/19'])
  assert.equal(rows[3].org, 'Réseaux IP Européens\r\nNetwork Coordination Centre')
  assert.equal(rows[0].fetched_at, '2026-03-02T00:00:00.000Z')
  assert.deepEqual(rows.map(r => r.leaf), [false, true, false, true, false], 'leaf: a JSON boolean, the class of each network\'s type')
  assert.deepEqual(rows.map(r => [r.listed_sample, r.listed_at]), [[null, null], [null, null], [null, null], [null, null], [4000, '2026-03-06T00:00:00.000Z']], 'listed_sample, listed_at: null for a network never listed')
  assert.deepEqual(rows.map(r => r.author), [null, AUTHOR, null, null, null], 'author: the peer id that published the record, null before provenance')
})

test('the CSV dump reads back with a standard CSV parser to the same rows as the JSONL dump', async () => {
  const csv = await dump('--format', 'csv')
  const jsonl = (await dump()).trim().split('\n').map(l => JSON.parse(l) as Record<string, string>)
  const [header, ...rows] = pythonCsv(csv)
  assert.deepEqual(header, [...DUMP_FIELDS])
  assert.equal(rows.length, jsonl.length)
  rows.forEach((row, i) => {
    const line = Object.fromEntries(Object.entries(jsonl[i]).map(([k, v]) => [k, v === null ? '' : String(v)]))
    assert.deepEqual(Object.fromEntries(header.map((h, j) => [h, row[j]])), line, `CSV row ${i + 1} differs from JSONL line ${i + 1}`)
  })
  assert.deepEqual(rows.map(r => r[header.indexOf('leaf')]), ['false', 'true', 'false', 'true', 'false'], 'the CSV leaf column')
  assert.deepEqual(rows.map(r => r[header.indexOf('listed_sample')]), ['', '', '', '', '4000'], 'the CSV listed_sample column: empty for a network never listed')
  assert.ok(csv.endsWith('\r\n'), 'CSV records end with CRLF (RFC 4180)')
})

test('--registry and --since filter the dump in both formats', async () => {
  const arin = (await dump('--registry', 'arin')).trim().split('\n').map(l => JSON.parse(l))
  assert.deepEqual(arin.map(r => r.handle), ['NET-8-0-0-0-1', 'NET-8-8-8-0-2'])
  const since = (await dump('--since', '2026-03-03')).trim().split('\n').map(l => JSON.parse(l))
  assert.deepEqual(since.map(r => r.registry), ['arin', 'afrinic', 'lacnic'], 'networks fetched on or after 3 March')
  const both = pythonCsv(await dump('--format', 'csv', '--registry', 'arin', '--since', '2026-03-03T00:00:00Z'))
  assert.equal(both.length, 2)
  assert.equal(both[1][DUMP_FIELDS.indexOf('handle')], 'NET-8-8-8-0-2')
  assert.equal(await dump('--registry', 'apnic'), '', 'no APNIC networks: no output')
  assert.deepEqual(pythonCsv(await dump('--format', 'csv', '--registry', 'apnic')), [[...DUMP_FIELDS]], 'an empty CSV dump still has its header')
})

test('lookup --json answers the most specific network and its parents, or why there is none', async () => {
  const lookup = async (ip: string): Promise<any> => {
    const r = await runCli(['lookup', ip, '--data', data, '--json'], { timeoutMs: 60_000 })
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout)
  }
  const google = await lookup('8.8.8.8')
  assert.equal(google.status, 'network')
  assert.deepEqual(google.networks.map((n: any) => n.handle), ['NET-8-8-8-0-2', 'NET-8-0-0-0-1'])
  assert.deepEqual(Object.keys(google.networks[0]), [...DUMP_FIELDS])
  assert.deepEqual(google.networks.map((n: any) => n.leaf), [true, false])
  assert.equal(google.exact, true, 'the answer is a leaf')
  const coarse = await lookup('8.9.1.1')
  assert.deepEqual([coarse.status, coarse.networks.map((n: any) => n.handle), coarse.exact], ['network', ['NET-8-0-0-0-1'], false], 'inside a container found through another address')
  assert.equal((await lookup('8.0.0.0')).exact, true, 'the container is what the registry answered for this very address')
  const unallocated = await lookup('45.1.2.3')
  assert.deepEqual([unallocated.status, unallocated.exact], ['unallocated', true])
  const unknown = await lookup('45.1.2.4')
  assert.deepEqual([unknown.status, unknown.exact], ['unknown', false])
  const special = await lookup('192.168.1.1')
  assert.equal(special.status, 'special-purpose')
  assert.equal(special.special, 'Private-Use')
  const text = await runCli(['lookup', '8.8.8.8', '--data', data], { timeoutMs: 60_000 })
  assert.match(text.stdout, /^8\.8\.8\.8 is in 8\.8\.8\.0\/24 \(8\.8\.8\.0 - 8\.8\.8\.255\)\n/)
  assert.match(text.stdout, /^ {2}inside 8\.0\.0\.0\/9 /m)
  assert.match(text.stdout, /type REASSIGNMENT \(leaf\)\n/)
  assert.match(text.stdout, /type Direct Allocation \(container\)\n/)
  assert.doesNotMatch(text.stdout, /may exist/)
  const coarseText = await runCli(['lookup', '8.9.1.1', '--data', data], { timeoutMs: 60_000 })
  assert.match(coarseText.stdout, /^8\.9\.1\.1 is in 8\.0\.0\.0\/9 \(8\.0\.0\.0 - 8\.127\.255\.255\) \(container: a more specific network may exist\)\n/)
})

test('lookup says whether an address is in the sample: outside it, the answer is the most specific network known, and none is not "not crawled yet"', async () => {
  const lookup = async (ip: string): Promise<{ json: any, text: string }> => {
    const j = await runCli(['lookup', ip, '--data', data, '--json'], { timeoutMs: 60_000 })
    assert.equal(j.code, 0, j.stderr)
    const t = await runCli(['lookup', ip, '--data', data], { timeoutMs: 60_000 })
    assert.equal(t.code, 0, t.stderr)
    return { json: JSON.parse(j.stdout), text: t.stdout }
  }
  // in the sample (third octet a multiple of 12, fourth 1, 65, 129 or 193), nothing stored: not crawled yet
  const pending = await lookup('45.1.0.1')
  assert.deepEqual([pending.json.status, pending.json.in_sample, pending.json.exact], ['unknown', true, false])
  assert.equal(pending.text, '45.1.0.1: no stored network contains it (not crawled yet)\n')
  // outside the sample, nothing stored: never to be crawled, said so
  const never = await lookup('45.1.2.4')
  assert.deepEqual([never.json.status, never.json.in_sample], ['unknown', false])
  assert.match(never.text, /^45\.1\.2\.4 is not a sample address \(the crawl asks the registries only about the sample: third octet 0, 12, …, 252 and fourth octet 1, 65, 129 or 193; `whoismesh sample`\), and no stored network contains it\n$/)
  // outside the sample, inside a container: the most specific network known, possibly coarse
  const coarse = await lookup('8.9.1.1')
  assert.deepEqual([coarse.json.status, coarse.json.in_sample, coarse.json.exact], ['network', false, false])
  assert.match(coarse.text, /^8\.9\.1\.1 is in 8\.0\.0\.0\/9 .* \(container: a more specific network may exist\)\n/)
  assert.match(coarse.text, /\n8\.9\.1\.1 is not a sample address .*: the answer is the most specific network known to contain it\n$/)
  // outside the sample, inside a leaf: exact, still said to be outside the sample
  const leaf = await lookup('8.8.8.8')
  assert.deepEqual([leaf.json.in_sample, leaf.json.exact], [false, true])
  assert.match(leaf.text, /\n8\.8\.8\.8 is not a sample address .*: the answer is the most specific network known to contain it\n$/)
  // a sample address inside the same container: no such line
  const sampled = await lookup('8.8.0.1')
  assert.deepEqual([sampled.json.status, sampled.json.in_sample, sampled.json.exact], ['network', true, false])
  assert.doesNotMatch(sampled.text, /not a sample address/)
})

test('coverage counts leaf and container networks', async () => {
  const r = await runCli(['coverage', '--json', '--sample-limit', '1000', '--data', data], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, r.stderr)
  const report = JSON.parse(r.stdout)
  assert.deepEqual([report.networks, report.leaf_networks, report.container_networks, report.unclassified_networks, report.listed_networks], [5, 2, 3, 0, 1])
  const text = await runCli(['coverage', '--sample-limit', '1000', '--data', data], { timeoutMs: 60_000 })
  assert.match(text.stdout, /^leaf \/ container {2}2 leaves, 3 containers \(1 listed completely; /m)
  assert.doesNotMatch(text.stdout, /whoismesh repair/, 'no unclassified networks: no advice')
})

test('merge gives a row of a dump written before the leaf, the listed or the author columns the fields of today\'s, so every version of a record merges to one line; a listed copy wins', async () => {
  const lines = (await dump()).trim().split('\n')
  const beforeAuthor = lines.map(l => { const { author, ...rest } = JSON.parse(l); return JSON.stringify(rest) })
  const beforeListed = beforeAuthor.map(l => { const { listed_sample: s, listed_at: t, ...rest } = JSON.parse(l); return JSON.stringify(rest) })
  const beforeLeaf = beforeListed.map(l => { const { leaf, ...rest } = JSON.parse(l); return JSON.stringify(rest) })
  const files = { new: lines, 'before-author': beforeAuthor, 'before-listed': beforeListed, 'before-leaf': beforeLeaf }
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, `${name}.jsonl`), content.join('\n') + '\n')
  const out = join(dir, 'merged.jsonl')
  const r = await runCli(['merge', ...Object.keys(files).reverse().map(n => join(dir, `${n}.jsonl`)), '--out', out], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, r.stderr)
  assert.equal(await readFile(out, 'utf8'), lines.join('\n') + '\n', 'the merge of the older dumps and the new one is the new dump')
  const summary = JSON.parse(r.stderr.trim().split('\n').pop() ?? '{}')
  assert.deepEqual([summary.identical, summary.merged], [false, 5])

  // a copy of the first network listed later: the listing wins over the earlier fetch, as in the store
  const listed = JSON.stringify({ ...JSON.parse(lines[0]), fetched_at: '2030-01-01T00:00:00.000Z', listed_sample: 4000, listed_at: '2030-01-01T00:00:00.000Z' })
  await writeFile(join(dir, 'listed.jsonl'), listed + '\n')
  const both = await runCli(['merge', join(dir, 'new.jsonl'), join(dir, 'listed.jsonl'), '--out', out], { timeoutMs: 60_000 })
  assert.equal(both.code, 0, both.stderr)
  assert.equal((await readFile(out, 'utf8')).split('\n')[0], listed)
})

/** A store of `count` networks in a fresh directory under the test's temp dir. */
async function storeOf (name: string, count: number): Promise<NetworkStore> {
  const store = await NetworkStore.open({ dataDir: join(dir, name) })
  const base = 0x0b000000 // 11.0.0.0
  await store.commit({ networks: Array.from({ length: count }, (_, i) => net(base + i * 256, base + i * 256 + 255, { registry: 'arin', type: 'REASSIGNMENT' })), negatives: [] })
  return store
}

/** A reader that takes one line at a time, each on a later turn of the event loop: every write waits. */
function slowReader (onLine?: (n: number, self: Writable) => boolean): Writable & { lines: number } {
  const out = new Writable({
    highWaterMark: 1,
    write (_chunk, _enc, cb) {
      out.lines++
      if (onLine?.(out.lines, out) === false) return
      setImmediate(cb)
    }
  }) as Writable & { lines: number }
  out.lines = 0
  return out
}

test('a dump to a slow reader leaves no listener behind per wait (no MaxListenersExceededWarning)', async () => {
  const store = await storeOf('slow-reader', 300)
  const warnings: Error[] = []
  const onWarning = (w: Error): void => { warnings.push(w) }
  process.on('warning', onWarning)
  try {
    const out = slowReader()
    assert.equal(await writeDump(store, { format: 'jsonl' }, out), 300)
    assert.equal(out.lines, 300)
    assert.equal(out.listenerCount('error'), 0, 'error listeners left on the reader')
    assert.equal(out.listenerCount('drain'), 0, 'drain listeners left on the reader')
    // process warnings are emitted on a later tick
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(warnings.map(w => `${w.name}: ${w.message}`), [])
  } finally {
    process.off('warning', onWarning)
    await store.close()
  }
})

test('a dump whose reader goes away stops with an error instead of waiting forever', { timeout: 30_000 }, async () => {
  const store = await storeOf('reader-gone', 50)
  try {
    // the reader closes after 5 lines, without an error
    const out = slowReader((n, self) => { if (n < 5) return true; self.destroy(); return false })
    await assert.rejects(writeDump(store, { format: 'jsonl' }, out), { name: 'DumpReaderGoneError' })
    assert.equal(out.lines, 5)
  } finally {
    await store.close()
  }
})
