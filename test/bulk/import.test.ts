/**
 * Importing the simulator's dumps (src/sim/dumps.ts, fetched from its control server as a node
 * fetches them) into a real data directory, judged against the simulator's ground truth: every
 * sample address in the space of RIPE NCC, APNIC and AFRINIC is answered exactly by the imported
 * networks, none in ARIN's or LACNIC's, no placeholder is taken for a network, a damaged dump
 * changes nothing, and a snapshot survives a reopen.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { startSimulator, truthFor, type Simulator } from '../../src/sim/index.js'
import { importDump, localDumpFile } from '../../src/bulk/import.js'
import type { DumpRegistry } from '../../src/bulk/inetnum.js'
import { NetworkStore } from '../../src/store/index.js'
import { formatLookup, lookupReport } from '../../src/report/lookup.js'
import { sampleSlice } from '../../src/sample/index.js'
import { formatIPv4, parseIPv4 } from '../../src/util/ipv4.js'

const SAMPLE = 20_000
let sim: Simulator
let dir: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-bulk-'))
  // a sparse nested world: the same allocations and ranges, a fiftieth of the customer assignments
  sim = await startSimulator({ leafDensity: 0.02 })
})

after(async () => {
  await sim?.close()
  await rm(dir, { recursive: true, force: true })
})

/** Downloads a registry's files from the simulator's control server, as `--bulk auto` does. */
async function fetchDump (reg: DumpRegistry, into: string): Promise<{ paths: string[], serial: number }> {
  const bulk = sim.registriesFile.registries[reg].bulk!
  const paths: string[] = []
  for (const url of bulk.files) {
    const res = await fetch(url)
    assert.equal(res.status, 200, url)
    const path = join(into, url.split('/').pop()!)
    await pipeline(Readable.fromWeb(res.body as any), createWriteStream(path))
    paths.push(path)
  }
  const serial = await (await fetch(bulk.serial)).text()
  assert.match(serial, /^\d+$/, 'the serial file holds the serial alone, as RIPE NCC writes it')
  return { paths, serial: Number(serial) }
}

test('the three registries\' dumps answer every sample address of their space exactly, and nothing else', async () => {
  const data = join(dir, 'node')
  const files = join(dir, 'files')
  await (await import('node:fs/promises')).mkdir(files, { recursive: true })
  for (const reg of ['ripe', 'apnic', 'afrinic'] as const) {
    const { paths, serial } = await fetchDump(reg, files)
    const r = await importDump(data, reg, await Promise.all(paths.map(localDumpFile)), { serial })
    assert.equal(r.header.serial, serial)
    assert.equal(r.header.skipped, 0)
    assert.ok(r.header.networks > 1000, `${reg}: ${r.header.networks} networks`)
    // the dumps open with the objects for space not the registry's own: none is a network
    assert.ok(r.placeholders >= 1, `${reg}: no placeholder dropped`)
  }

  const store = await NetworkStore.open({ dataDir: data })
  try {
    assert.equal(store.counts().networks, 0, 'imported networks stay out of the crawled index (digests, sync)')
    let judged = 0
    let exact = 0
    const wrong: string[] = []
    for (const address of sampleSlice(SAMPLE)) {
      const t = truthFor(sim.nested!, address)
      if (t === undefined) { assert.equal(store.isBulkAnswer(address), false); continue }
      const dumped = t.registry === 'ripe' || t.registry === 'apnic' || t.registry === 'afrinic'
      assert.equal(store.isBulkAnswer(address), dumped, `${formatIPv4(address)} (${t.registry}): answered by a dump ${String(!dumped)}`)
      if (!dumped) continue
      judged++
      assert.equal(store.isExact(address), true)
      const a = store.answerRange(address)!
      if (a.start === parseIPv4(t.start) && a.end === parseIPv4(t.end) && a.registry === t.registry) exact++
      else if (wrong.length < 5) wrong.push(`${formatIPv4(address)}: ${formatIPv4(a.start)} - ${formatIPv4(a.end)} ${a.registry}, truth ${t.start} - ${t.end} ${t.registry}`)
    }
    assert.ok(judged > SAMPLE / 3, `only ${judged} sample addresses in the dumps' space`)
    assert.equal(exact, judged, `exact ${exact} of ${judged}: ${wrong.join('; ')}`)

    // a lookup's record carries the dump's provenance, and the fields a WHOIS answer would give
    const address = sampleSlice(SAMPLE).find(a => truthFor(sim.nested!, a)?.registry === 'ripe')!
    const [first] = await store.containing(address)
    const t = truthFor(sim.nested!, address)!
    assert.equal(first.source, 'bulk')
    assert.equal(first.handle, t.handle)
    assert.ok(first.cidrs.length >= 1)
    const report = await lookupReport(store, address)
    assert.equal(report.exact, true)
    assert.match(formatLookup(report), /source bulk: the registry's database dump taken \d{4}-\d\d-\d\dT/)
  } finally {
    await store.close()
  }
})

test('a dump cut short or unreadable is refused and the snapshot imported before stays', async () => {
  const data = join(dir, 'damaged')
  const files = join(dir, 'files-afrinic')
  await (await import('node:fs/promises')).mkdir(files, { recursive: true })
  const { paths, serial } = await fetchDump('afrinic', files)
  const good = await importDump(data, 'afrinic', await Promise.all(paths.map(localDumpFile)), { serial })
  const snapshot = join(data, 'bulk', 'afrinic.snapshot')
  const before = await readFile(snapshot)

  // the same file cut in the middle: a gzip stream without its end
  const whole = await readFile(paths[0])
  const cut = join(files, 'cut', 'afrinic.db.gz')
  await (await import('node:fs/promises')).mkdir(join(files, 'cut'))
  await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)))
  await assert.rejects(importDump(data, 'afrinic', [await localDumpFile(cut)], { serial: serial + 1 }), (err: any) => {
    assert.equal(err.name, 'BulkSourceError')
    assert.match(err.message, /cut short/)
    return true
  })
  assert.deepEqual(await readFile(snapshot), before, 'the snapshot changed')
  await assert.rejects(localDumpFile(join(files, 'no-such.db.gz')), { name: 'BulkSourceError' })

  const store = await NetworkStore.open({ dataDir: data })
  try {
    assert.equal(store.bulkLayer.header('afrinic')?.serial, serial)
    assert.equal(store.bulkLayer.header('afrinic')?.networks, good.header.networks)
  } finally {
    await store.close()
  }
  assert.ok((await stat(snapshot)).size > 0)
})

test('a newer dump replaces the one before whole: a network gone from the registry disappears, a changed one is updated', async () => {
  const data = join(dir, 'newer')
  const files = join(dir, 'files-newer')
  await (await import('node:fs/promises')).mkdir(files, { recursive: true })
  // the real excerpt of RIPE NCC's dump (test/fixtures/bulk), as serial 1
  const fixture = await readFile(new URL('../fixtures/bulk/ripe.db.inetnum', import.meta.url), 'latin1')
  const first = join(files, 'ripe.db.inetnum')
  await writeFile(first, fixture, 'latin1')
  const one = await importDump(data, 'ripe', [await localDumpFile(first)], { serial: 1 })
  const gone = parseIPv4('193.135.138.7')
  const changed = parseIPv4('193.247.203.9')
  let store = await NetworkStore.open({ dataDir: data })
  try {
    assert.equal(store.isBulkAnswer(gone), true)
    assert.equal((await store.containing(changed))[0].name, 'EIVD')
  } finally {
    await store.close()
  }
  // serial 2: VILLE-DE-STE-CROIX deleted, EIVD renamed
  const objects = fixture.split(/\n\n/)
  const next = objects.filter(o => !o.includes('VILLE-DE-STE-CROIX')).map(o => o.replace('netname: EIVD', 'netname: HEIG-VD')).join('\n\n')
  const second = join(files, 'again', 'ripe.db.inetnum')
  await (await import('node:fs/promises')).mkdir(join(files, 'again'))
  await writeFile(second, next, 'latin1')
  const two = await importDump(data, 'ripe', [await localDumpFile(second)], { serial: 2 })
  assert.equal(two.header.networks, one.header.networks - 1)
  store = await NetworkStore.open({ dataDir: data })
  try {
    assert.equal(store.bulkLayer.header('ripe')?.serial, 2)
    assert.equal(store.isBulkAnswer(gone), false, 'a network gone from the dump still answers')
    assert.equal((await store.containing(changed))[0].name, 'HEIG-VD')
  } finally {
    await store.close()
  }
})

test('a file without a single inetnum is refused, and a snapshot that cannot be read is left out, not fatal', async () => {
  const data = join(dir, 'odd')
  const files = join(dir, 'files-odd')
  await (await import('node:fs/promises')).mkdir(files, { recursive: true })
  const orgOnly = join(files, 'ripe.db.organisation')
  await writeFile(orgOnly, await readFile(new URL('../fixtures/bulk/ripe.db.organisation', import.meta.url)))
  await assert.rejects(importDump(data, 'ripe', [await localDumpFile(orgOnly)], { serial: 3 }), (err: any) => {
    assert.equal(err.name, 'BulkSourceError')
    assert.match(err.message, /no inetnum object in ripe\.db\.organisation; not imported/)
    return true
  })
  // a snapshot damaged on disk: the store opens, the damage is listed, nothing answers from it
  const inetnums = join(files, 'ripe.db.inetnum')
  await writeFile(inetnums, await readFile(new URL('../fixtures/bulk/ripe.db.inetnum', import.meta.url)))
  await importDump(data, 'ripe', [await localDumpFile(inetnums)], { serial: 4 })
  const path = join(data, 'bulk', 'ripe.snapshot')
  const whole = await readFile(path)
  for (const damaged of [Buffer.from('not a snapshot at all'), whole.subarray(0, whole.length - 10)]) {
    await writeFile(path, damaged)
    const store = await NetworkStore.open({ dataDir: data })
    try {
      assert.equal(store.bulkLayer.damaged.length, 1)
      assert.equal(store.bulkLayer.damaged[0].path, path)
      assert.equal(store.bulkLayer.header('ripe'), undefined)
      assert.equal(store.isBulkAnswer(parseIPv4('193.135.138.7')), false)
    } finally {
      await store.close()
    }
  }
  // the next import replaces it
  await importDump(data, 'ripe', [await localDumpFile(inetnums)], { serial: 5 })
  const store = await NetworkStore.open({ dataDir: data })
  try {
    assert.equal(store.bulkLayer.damaged.length, 0)
    assert.equal(store.bulkLayer.header('ripe')?.serial, 5)
  } finally {
    await store.close()
  }
})
