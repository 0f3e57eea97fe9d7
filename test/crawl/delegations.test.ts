/**
 * Routing by the registries' delegation files: the exchange-format parser and table, the files the
 * simulator publishes for its world, the fetch-and-cache loader (a real HTTP server on loopback),
 * and a crawl against the simulator that sends transferred space straight to its holder — no
 * redirect hop — and stores the same networks as a crawl routed by the /8 table alone.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm, utimes, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DelegationTable, formatDelegations, loadDelegations, parseDelegations, parseDelegationsInSlices } from '../../src/registry/delegations.js'
import type { Routes } from '../../src/crawl/interface.js'
import { NetworkStore } from '../../src/store/index.js'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { registryForAddress } from '../../src/registry/iana.js'
import { parseIPv4 } from '../../src/util/ipv4.js'
import { startSimulator, type Simulator } from '../../src/sim/index.js'
import { limitersAt, simCrawler } from '../helpers/sim-crawler.js'
import { delegationsOf } from '../../src/sim/simulator.js'

let sim: Simulator
let dir: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-delegations-'))
  sim = await startSimulator({ world: 'flat', budgetPerSecond: 'all=2000' })
})

after(async () => {
  await sim?.close()
  await rm(dir, { recursive: true, force: true })
})

// the format as the RIRs publish it: version header, summaries, asn/ipv6 lines, reserved and
// available space, an extension field, and damaged lines
const FILE = `2|ripencc|1732752000|151234|19930901|20261127|+0100
ripencc|*|asn|*|38000|summary
ripencc|*|ipv4|*|85000|summary
ripencc|*|ipv6|*|28000|summary
# a comment
ripencc|FR|asn|2200|1|19930901|allocated|5e7f…
ripencc|NL|ipv4|193.0.0.0|2048|19930901|allocated|b2c8fa0b-0000-0000-0000-000000000000
ripencc|NL|ipv4|193.0.8.0|1024|19930901|assigned|b2c8fa0b-0000-0000-0000-000000000001
ripencc|DE|ipv4|2.56.0.0|1536|20190101|allocated|x
ripencc||ipv4|2.57.0.0|256||available
ripencc|ZZ|ipv4|2.58.0.0|256|20200101|reserved|
ripencc|EU|ipv6|2001:600::|32|19990826|allocated|x
ripencc|FR|ipv4|300.1.2.3|256|20200101|allocated|x
ripencc|FR|ipv4|5.5.5.0|zero|20200101|allocated|x
ripencc|FR|ipv4|5.6.0.0|256
arin|US|ipv4|23.0.0.0|1048576|20100712|allocated|f0a1|e-stats
afrinic|ZA|ipv4|137.158.0.0|65536|19900101|assigned|x
`

test('the parser reads ipv4 allocated/assigned lines and skips headers, summaries, other types and free space', () => {
  const p = parseDelegations(FILE)
  assert.deepEqual(p.entries.map(e => [e.registry, e.start, e.count]), [
    ['ripe', parseIPv4('193.0.0.0'), 2048],
    ['ripe', parseIPv4('193.0.8.0'), 1024],
    ['ripe', parseIPv4('2.56.0.0'), 1536],
    ['arin', parseIPv4('23.0.0.0'), 1048576],
    ['afrinic', parseIPv4('137.158.0.0'), 65536]
  ])
  // 300.1.2.3 and "zero" are damaged; a line cut short (fewer than 7 fields) is not a record
  assert.equal(p.malformed, 2)
})

test('the table answers the holder of each address, merges adjacent blocks of one registry and keeps the first of overlapping entries', () => {
  const t = new DelegationTable([
    { registry: 'ripe', start: parseIPv4('10.0.0.0'), count: 256 },
    { registry: 'ripe', start: parseIPv4('10.0.1.0'), count: 256 }, // adjacent: merged
    { registry: 'arin', start: parseIPv4('10.0.2.0'), count: 512 },
    { registry: 'apnic', start: parseIPv4('10.0.3.0'), count: 512 }, // overlaps arin's second half
    { registry: 'lacnic', start: parseIPv4('10.0.2.128'), count: 16 } // inside arin's: dropped
  ])
  assert.equal(t.size, 3)
  assert.equal(t.overlaps, 2)
  assert.equal(t.registryFor(parseIPv4('9.255.255.255')), undefined)
  assert.equal(t.registryFor(parseIPv4('10.0.0.0')), 'ripe')
  assert.equal(t.registryFor(parseIPv4('10.0.1.255')), 'ripe')
  assert.equal(t.registryFor(parseIPv4('10.0.2.130')), 'arin')
  assert.equal(t.registryFor(parseIPv4('10.0.3.255')), 'arin')
  assert.equal(t.registryFor(parseIPv4('10.0.4.0')), 'apnic')
  assert.equal(t.registryFor(parseIPv4('10.0.4.255')), 'apnic')
  assert.equal(t.registryFor(parseIPv4('10.0.5.0')), undefined)
  assert.equal(t.addresses.ripe, 512)
  assert.equal(t.addresses.arin, 512)
  assert.equal(t.addresses.apnic, 256)
})

test('the simulator publishes, per registry, files whose table names the holder of every world network', async () => {
  const w = sim.world
  const entries = REGISTRY_IDS.flatMap(id => parseDelegations(formatDelegations(id, delegationsOf(w, id))).entries)
  const table = new DelegationTable(entries)
  assert.equal(table.overlaps, 0)
  let transferred = 0
  // every 97th network and both of its ends
  for (let i = 0; i < w.count; i += 97) {
    for (const a of [w.start[i], w.end[i]]) assert.equal(table.registryFor(a), w.ownerOf(i), `network ${i}`)
    if (w.ownerOf(i) !== registryForAddress(w.start[i])) transferred++
  }
  assert.ok(transferred > 50, `only ${transferred} transferred networks looked at`)
  // and serves them over HTTP at the URL its registries file names
  const url = sim.registriesFile.registries.afrinic.delegations!
  const res = await fetch(url)
  assert.equal(res.status, 200)
  assert.deepEqual(parseDelegations(await res.text()).entries, parseDelegations(formatDelegations('afrinic', delegationsOf(w, 'afrinic'))).entries)
  assert.equal((await fetch(url.replace('afrinic', 'nosuch'))).status, 404)
})

test('loadDelegations caches each file a day, falls back to a stale copy when the registry is unreachable, and reports what it lacks', async () => {
  let served = 0
  let up = true
  const server: Server = createServer((req, res) => {
    if (!up) { res.writeHead(503).end(); return }
    served++
    const id = REGISTRY_IDS.find(r => req.url?.includes(r === 'ripe' ? 'ripencc' : r))!
    res.end(formatDelegations(id, [{ start: parseIPv4(`${REGISTRY_IDS.indexOf(id) + 41}.0.0.0`), count: 256 }]))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const urls = { arin: `${base}/delegated-arin-extended-latest`, ripe: `${base}/delegated-ripencc-extended-latest` }
  const cacheDir = join(dir, 'cache')
  try {
    const first = await loadDelegations({ urls, cacheDir })
    assert.equal(served, 2)
    assert.deepEqual(first.sources, { arin: { from: 'fetched', entries: 1, malformed: 0 }, ripe: { from: 'fetched', entries: 1, malformed: 0 } })
    assert.equal(first.table.registryFor(parseIPv4('42.0.0.7')), 'ripe')

    const second = await loadDelegations({ urls, cacheDir })
    assert.equal(served, 2, 'a copy younger than a day is used without fetching')
    assert.equal(second.sources.arin && 'from' in second.sources.arin ? second.sources.arin.from : '', 'cache')

    // two days later the registry is down: the old copy still routes
    const old = new Date(Date.now() - 2 * 24 * 3600_000)
    for (const f of ['delegated-arin-extended-latest', 'delegated-ripencc-extended-latest']) await utimes(join(cacheDir, f), old, old)
    up = false
    const stale = await loadDelegations({ urls, cacheDir })
    assert.equal(stale.sources.arin && 'from' in stale.sources.arin ? stale.sources.arin.from : '', 'stale-cache')
    assert.equal(stale.table.registryFor(parseIPv4('41.0.0.1')), 'arin')

    // no copy and no answer: that registry is left out, named with its error; nothing throws
    const none = await loadDelegations({ urls: { apnic: `${base}/delegated-apnic-extended-latest` }, cacheDir: join(dir, 'empty-cache') })
    assert.match(JSON.stringify(none.sources.apnic), /HTTP 503/)
    assert.equal(none.table.size, 0)

    // an answer over the size cap is refused, not buffered
    up = true
    const capped = await loadDelegations({ urls: { lacnic: `${base}/delegated-lacnic-extended-latest` }, cacheDir: join(dir, 'cap'), maxBytes: 10 })
    assert.match(JSON.stringify(capped.sources.lacnic), /larger than 10 bytes/)
  } finally {
    server.close()
  }
})

/** Crawls `sample` against the simulator with or without routes; the simulator's redirects and the store's digest. */
async function crawl (name: string, sample: number[], routes: Routes | undefined): Promise<{ redirects: number, queries: number, digest: string, networks: number }> {
  sim.reset(true)
  const store = await NetworkStore.open({ dataDir: join(dir, name) })
  try {
    // blocks of /16: each address below is in its own, so no route hint learned per block helps
    const { crawler, client } = simCrawler(sim.endpoints, store, sample, { limiters: limitersAt(1500), timeoutMs: 5000, opts: { blockPrefixLength: 16 } })
    crawler.setRoutes(routes)
    const status = await crawler.run()
    await client.close()
    assert.equal(status.sampleResolved, sample.length, `${name}: every address resolved`)
    const stats = sim.stats().registries
    return {
      redirects: REGISTRY_IDS.reduce((n, id) => n + stats[id].redirects, 0),
      queries: REGISTRY_IDS.reduce((n, id) => n + stats[id].queries, 0),
      digest: store.digest(),
      networks: store.counts().networks
    }
  } finally {
    await store.close()
  }
}

test('a crawl routed by the delegation files sends transferred space straight to its holder: no redirects, the same networks', async () => {
  const w = sim.world
  // one address in each of 60 transferred networks (each in its own /16, so no route hint helps)
  // and in 60 others
  const transferred: number[] = []
  const plain: number[] = []
  const blocks = new Set<number>()
  for (let i = 0; i < w.count && (transferred.length < 60 || plain.length < 60); i += 7) {
    const a = w.start[i]
    if (blocks.has(a >>> 16)) continue
    const moved = w.ownerOf(i) !== registryForAddress(a)
    if (moved && transferred.length < 60) { transferred.push(a); blocks.add(a >>> 16) } else if (!moved && plain.length < 60) { plain.push(a); blocks.add(a >>> 16) }
  }
  assert.equal(transferred.length, 60)
  const sample = [...transferred, ...plain]
  const byIana = await crawl('by-iana', sample, undefined)
  const table = new DelegationTable(REGISTRY_IDS.flatMap(id => parseDelegations(formatDelegations(id, delegationsOf(w, id))).entries))
  const byFiles = await crawl('by-files', sample, table)
  assert.equal(byIana.redirects, 60, 'routed by the /8 table, each transferred network costs one redirect')
  assert.equal(byFiles.redirects, 0)
  assert.equal(byFiles.queries, byIana.queries - 60)
  assert.equal(byFiles.networks, sample.length)
  assert.equal(byFiles.digest, byIana.digest, 'the same networks either way')
})

test('node start --delegations: a missing or empty file is one line and exit 2; a good file routes the crawl', async () => {
  const { runCli } = await import('../helpers/cli.js')
  const missing = await runCli(['node', 'start', '--data', join(dir, 'cli-a'), '--listen', '/ip4/127.0.0.1/tcp/0', '--delegations', join(dir, 'nope.txt')])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /^whoismesh: --delegations: cannot read .*nope\.txt: ENOENT/)
  assert.equal(missing.stderr.trim().split('\n').length, 1)
  const empty = join(dir, 'empty.txt')
  await writeFile(empty, '2|arin|20261128|0|19700101|20261128|+0000\narin|*|ipv4|*|0|summary\n')
  const none = await runCli(['node', 'start', '--data', join(dir, 'cli-b'), '--listen', '/ip4/127.0.0.1/tcp/0', '--delegations', empty])
  assert.equal(none.code, 2)
  assert.match(none.stderr, /no ipv4 allocated\/assigned lines/)

  // every registry's file concatenated into one (as the NRO's combined file is)
  const w = sim.world
  const file = join(dir, 'all.txt')
  await writeFile(file, REGISTRY_IDS.map(id => formatDelegations(id, delegationsOf(w, id))).join(''))
  const registries = join(dir, 'registries.json')
  await writeFile(registries, JSON.stringify(sim.registriesFile))
  const { sampleSlice } = await import('../../src/sample/index.js')
  const sample = sampleSlice(300)
  const table = new DelegationTable(parseDelegations(await readFile(file, 'utf8')).entries)
  const moved = [...sample].filter(a => registryForAddress(a) != null && table.registryFor(a) !== registryForAddress(a)).length
  assert.ok(moved >= 3, `only ${moved} of the sample's addresses are in transferred space`)
  sim.reset(true)
  const r = await runCli(['node', 'start', '--data', join(dir, 'cli-c'), '--listen', '/ip4/127.0.0.1/tcp/0', '--registries', registries, '--sample-limit', '300', '--exit-when-done', '--delegations', file, '--log-format', 'json'], { timeoutMs: 120_000 })
  assert.equal(r.code, 0, r.stderr.slice(-2000))
  assert.match(r.stderr, /"msg":"routing by delegation file"/)
  const stats = sim.stats().registries
  assert.equal(REGISTRY_IDS.reduce((n, id) => n + stats[id].redirects, 0), 0, `${moved} addresses in transferred space crawled without a redirect`)
})

test('a redirect hop waiting for a registry counts as work for it (the node\'s demand there)', async () => {
  const w = sim.world
  // an address the /8's registry redirects (routed by the /8 alone: no delegation table)
  let i = 0
  while (w.ownerOf(i) === registryForAddress(w.start[i])) i++
  const address = w.start[i]
  const target = w.ownerOf(i)
  sim.reset(true)
  const store = await NetworkStore.open({ dataDir: join(dir, 'hop') })
  try {
    const limiters = limitersAt(id => id === target ? 2 : 1000)
    await limiters[target].acquire() // the target's next slot is half a second away
    const { crawler, client } = simCrawler(sim.endpoints, store, [address], { limiters, timeoutMs: 5000 })
    let waiting = 0
    const watch = setInterval(() => { waiting = Math.max(waiting, crawler.registryProgress()[target].hopsWaiting) }, 5)
    const status = await crawler.run().finally(() => clearInterval(watch))
    await client.close()
    assert.equal(status.sampleResolved, 1)
    assert.equal(waiting, 1, `the hop to ${target} was seen waiting`)
    assert.equal(crawler.registryProgress()[target].hopsWaiting, 0)
    assert.equal(sim.stats().registries[registryForAddress(address)!].redirects, 1)
  } finally {
    await store.close()
  }
})

test('a node whose delegation cache cannot be made warns once and crawls, routed by the /8 table', async () => {
  const { runCli } = await import('../helpers/cli.js')
  const { mkdir } = await import('node:fs/promises')
  const data = join(dir, 'no-cache')
  await mkdir(data, { recursive: true })
  await writeFile(join(data, 'delegations'), 'a file where the cache directory would be')
  const registries = join(dir, 'registries-no-cache.json')
  await writeFile(registries, JSON.stringify(sim.registriesFile))
  sim.reset(true)
  const r = await runCli(['node', 'start', '--data', data, '--listen', '/ip4/127.0.0.1/tcp/0', '--registries', registries, '--sample-limit', '100', '--exit-when-done', '--log-format', 'json'], { timeoutMs: 120_000 })
  assert.equal(r.code, 0, r.stderr.slice(-2000))
  assert.equal(r.stderr.split('\n').filter(l => l.includes('cannot load the delegation files')).length, 1)
  assert.doesNotMatch(r.stderr, /routing by delegation files/)
})

test('parseDelegationsInSlices reads what parseDelegations reads, and lets the event loop run between slices', async () => {
  // 45,000 allocations and the damaged lines of FILE: several slices of 10,000 lines
  const many = formatDelegations('ripe', Array.from({ length: 45_000 }, (_, i) => ({ start: 0x50000000 + i * 256, count: 256 })))
  const text = many + FILE
  let turns = 0
  let counting = true
  const tick = (): void => { if (!counting) return; turns++; setImmediate(tick) }
  setImmediate(tick)
  const sliced = await parseDelegationsInSlices(text)
  counting = false
  assert.deepEqual(sliced, parseDelegations(text))
  assert.equal(sliced.entries.length, 45_000 + 5)
  // one turn at least per slice: a node's heartbeats and gossip go on while a file is read
  assert.ok(turns >= 4, `the event loop turned ${turns} times while 45,000 lines were read`)
})
