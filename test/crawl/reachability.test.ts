/**
 * A registry that cannot be reached — its name does not resolve, nothing listens on its port, or
 * it accepts connections and never answers — is recognised within a second or so, said in one
 * line per outage, probed one lookup at a time with a growing back-off instead of asked at the
 * full budget, and its addresses wait for it instead of being given up on; a batch run gives up
 * on the registry as a whole after a bounded time. Real pieces: the registry simulator on
 * loopback for the other registries, the registry client, a LevelDB store in a temp dir, and for
 * ARIN a closed port, a `.invalid` host (never resolves; nothing leaves the machine) or a silent
 * listener.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetworkStore } from '../../src/store/index.js'
import { registryForAddress } from '../../src/registry/iana.js'
import type { RegistryEndpoint, RegistryId } from '../../src/registry/interface.js'
import { sampleSlice } from '../../src/sample/index.js'
import { startSimulator, truthFor, type Simulator } from '../../src/sim/index.js'
import type { UnreachableEvent } from '../../src/crawl/reachability.js'
import { formatIPv4 } from '../../src/util/ipv4.js'
import { closedPort } from '../helpers/fake-registries.js'
import { limitersAt, simCrawler, type LogLine } from '../helpers/sim-crawler.js'

let sim: Simulator
let dir: string
/** sample addresses whose network's registry is their /8's (no redirect), one per network */
const picked: Record<'arin' | 'ripe', number[]> = { arin: [], ripe: [] }

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-reach-'))
  sim = await startSimulator({ budgetPerSecond: 'all=1000' })
  const handles = new Set<string>()
  for (const a of sampleSlice(20_000)) {
    const home = registryForAddress(a)
    if (home !== 'arin' && home !== 'ripe') continue
    const t = truthFor(sim.world, a)
    if (t === undefined || t.registry !== home || handles.has(t.handle) || picked[home].length >= (home === 'arin' ? 24 : 4)) continue
    handles.add(t.handle)
    picked[home].push(a)
  }
  assert.equal(picked.arin.length, 24)
  assert.equal(picked.ripe.length, 4)
})

after(async () => {
  await sim?.close()
  await rm(dir, { recursive: true, force: true })
})

/** probe back-off 200 ms doubling to 800 ms; per-address retries fast and few, so that giving up would show */
const FAST = { unreachableBackoffBaseMs: 200, unreachableBackoffMaxMs: 800, retryBaseMs: 20, maxTransientAttempts: 3, failedRetryMs: 0 }

/** A TCP listener that accepts connections and never says a word. */
async function silentListener (): Promise<{ port: number, close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer(s => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as { port: number }).port,
    close: async () => { for (const s of sockets) s.destroy(); await new Promise<void>(resolve => server.close(() => resolve())) }
  }
}

/** Forwards every connection to `port` on 127.0.0.1: the registry coming back on its old port. */
async function forwarder (listenPort: number, port: number): Promise<Server> {
  const server = createServer(c => {
    const up = connect(port, '127.0.0.1')
    c.pipe(up).pipe(c)
    c.on('error', () => up.destroy())
    up.on('error', () => c.destroy())
  })
  server.listen(listenPort, '127.0.0.1')
  await once(server, 'listening')
  return server
}

interface Watched {
  /** performance.now() of each ARIN lookup's start, and how many ARIN lookups were in flight then (itself included) */
  starts: Array<{ at: number, inFlight: number }>
  down?: { at: number, event: UnreachableEvent }
}

/** A crawler over the simulator with ARIN at `arin`; records ARIN lookups and the outage. */
function crawlerWithArinAt (name: string, arin: RegistryEndpoint, store: NetworkStore, opts: Record<string, number>, timeoutMs = 2000): ReturnType<typeof simCrawler> & { watched: Watched } {
  const made = simCrawler({ ...sim.endpoints, arin }, store, [...picked.arin, ...picked.ripe], { limiters: limitersAt(500), timeoutMs, opts: { ...FAST, ...opts } })
  const watched: Watched = { starts: [] }
  const lookup = made.client.lookup.bind(made.client)
  let inFlight = 0
  made.client.lookup = async (address: number, first: RegistryId, signal?: AbortSignal) => {
    if (first !== 'arin') return await lookup(address, first, signal)
    watched.starts.push({ at: performance.now(), inFlight: ++inFlight })
    try { return await lookup(address, first, signal) } finally { inFlight-- }
  }
  made.crawler.on('unreachable', event => { if (event.registry === 'arin') watched.down ??= { at: performance.now(), event } })
  return { ...made, watched }
}

const lines = (logs: LogLine[], prefix: string): LogLine[] => logs.filter(l => l.msg.startsWith(prefix))

async function waitUntil (cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

test('an unreachable registry (no name, nothing listening, silent) is said in one line within seconds, probed one lookup at a time with a growing back-off, and its addresses are not given up on', async () => {
  const silent = await silentListener()
  const closed = await closedPort()
  const cases: Array<{ name: string, arin: RegistryEndpoint, kind: string, timeoutMs: number }> = [
    { name: 'refused', arin: { rdapBaseUrl: `http://127.0.0.1:${closed}/`, whoisHost: '127.0.0.1', whoisPort: closed }, kind: 'refused', timeoutMs: 2000 },
    { name: 'dns', arin: { rdapBaseUrl: 'http://nonexistent.invalid/', whoisHost: 'nonexistent.invalid', whoisPort: 43 }, kind: 'dns', timeoutMs: 2000 },
    { name: 'silent', arin: { rdapBaseUrl: `http://127.0.0.1:${silent.port}/`, whoisHost: '127.0.0.1', whoisPort: silent.port }, kind: 'timeout', timeoutMs: 150 }
  ]
  try {
    for (const c of cases) {
      const store = await NetworkStore.open({ dataDir: join(dir, c.name) })
      const { crawler, client, logs, watched } = crawlerWithArinAt(c.name, c.arin, store, {}, c.timeoutMs)
      const ac = new AbortController()
      const t0 = performance.now()
      const run = crawler.run(ac.signal)
      try {
        await waitUntil(() => watched.down !== undefined || crawler.status().done, 10_000, `${c.name}: ARIN to be found unreachable`)
        assert.ok(watched.down !== undefined, `${c.name}: the crawl ended without finding ARIN unreachable`)
        const foundAfterMs = watched.down.at - t0
        // refused and dns at the first failure; silent after three answer timeouts in a row (each lookup: RDAP then WHOIS, 150 ms each)
        assert.ok(foundAfterMs < (c.kind === 'timeout' ? 3000 : 1500), `${c.name}: found unreachable after ${Math.round(foundAfterMs)} ms`)
        assert.equal(watched.down.event.kind, c.kind, `${c.name}: kind`)
        // watch the probes for 3 s
        await new Promise(resolve => setTimeout(resolve, 3000))
        const probes = watched.starts.filter(s => s.at > watched.down!.at)
        assert.ok(probes.length >= 2, `${c.name}: ${probes.length} probes in 3 s`)
        assert.ok(probes.every(p => p.inFlight === 1), `${c.name}: probes overlapped: ${JSON.stringify(probes.map(p => p.inFlight))}`)
        // back-off 200, 400, 800, 800 ms (+ the probe's own time): a handful, not the budget's 1,500
        assert.ok(probes.length <= 6, `${c.name}: ${probes.length} probes in 3 s`)
        const gaps = probes.slice(1).map((p, i) => p.at - probes[i].at)
        assert.ok(gaps.every(g => g >= 180), `${c.name}: gaps between probes ${gaps.map(Math.round).join(', ')} ms`)
        assert.ok(gaps[gaps.length - 1] > gaps[0] + 150 || gaps.length < 2, `${c.name}: the back-off did not grow: ${gaps.map(Math.round).join(', ')} ms`)
        // one line for the outage, saying what, since when and when the next try is
        const down = lines(logs, 'registry arin unreachable')
        assert.equal(down.length, 1, `${c.name}: ${down.length} unreachable lines: ${JSON.stringify(down)}`)
        assert.match(down[0].msg, /^registry arin unreachable \(.+\) since \d{4}-\d\d-\d\dT[\d:.]+Z; retrying in 200 ms/)
        assert.equal(down[0].kind, c.kind)
        // nothing given up on: the addresses wait for ARIN; the other registries went on
        assert.deepEqual(lines(logs, 'giving up on address'), [], `${c.name}: addresses given up on`)
        assert.equal(store.counts().failures, 0, `${c.name}: failures stored`)
        for (const a of picked.ripe) assert.equal(store.isResolved(a), true, `${c.name}: RIPE address ${formatIPv4(a)} unresolved`)
        assert.equal(crawler.status().done, false)
      } finally {
        ac.abort()
        await run
        await client.close()
        await store.close()
      }
    }
  } finally {
    await silent.close()
  }
})

test('a registry that comes back is said reachable again in one line and its addresses are crawled to the end', async () => {
  const [rdapPort, whoisPort] = [await closedPort(), await closedPort()]
  const store = await NetworkStore.open({ dataDir: join(dir, 'back') })
  const { crawler, client, logs, watched } = crawlerWithArinAt('back', { rdapBaseUrl: `http://127.0.0.1:${rdapPort}/`, whoisHost: '127.0.0.1', whoisPort }, store, {})
  const servers: Server[] = []
  try {
    const run = crawler.run()
    await waitUntil(() => watched.down !== undefined && watched.starts.filter(s => s.at > watched.down!.at).length >= 2, 10_000, 'ARIN unreachable and probed twice')
    const arin = sim.endpoints.arin
    servers.push(await forwarder(rdapPort, Number(new URL(arin.rdapBaseUrl).port)), await forwarder(whoisPort, arin.whoisPort))
    const status = await Promise.race([run, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('the crawl did not finish within 20 s of ARIN coming back')), 20_000))])
    assert.equal(status.done, true)
    assert.equal(status.sampleResolved, picked.arin.length + picked.ripe.length, 'every address resolved')
    assert.equal(lines(logs, 'registry arin unreachable').length, 1)
    const back = lines(logs, 'registry arin reachable again after ')
    assert.equal(back.length, 1, `reachable lines: ${JSON.stringify(back)}`)
    assert.deepEqual(lines(logs, 'giving up on address'), [])
    assert.equal(store.counts().failures, 0)
  } finally {
    for (const s of servers) { s.close(); s.unref() }
    await client.close()
    await store.close()
  }
})

test('a batch crawl gives up on a registry unreachable for giveUpUnreachableMs in one line and ends', async () => {
  const port = await closedPort()
  const store = await NetworkStore.open({ dataDir: join(dir, 'batch') })
  const { crawler, client, logs } = crawlerWithArinAt('batch', { rdapBaseUrl: `http://127.0.0.1:${port}/`, whoisHost: '127.0.0.1', whoisPort: port }, store, { giveUpUnreachableMs: 1000 })
  try {
    const t0 = performance.now()
    const status = await Promise.race([crawler.run(), new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('the crawl did not end within 10 s')), 10_000))])
    const seconds = (performance.now() - t0) / 1000
    assert.equal(status.done, true)
    assert.ok(seconds >= 0.9 && seconds < 4, `ended after ${seconds.toFixed(1)} s`)
    const given = lines(logs, 'registry arin unreachable for ')
    assert.equal(given.length, 1, `give-up lines: ${JSON.stringify(given)}`)
    assert.match(given[0].msg, new RegExp(`: giving up on its ${picked.arin.length} addresses for this run`))
    assert.deepEqual(lines(logs, 'giving up on address'), [], 'no line per address')
    assert.equal(status.sampleResolved, picked.ripe.length, 'the other registries\' addresses resolved')
    assert.equal(status.counters.failed, picked.arin.length)
  } finally {
    await client.close()
    await store.close()
  }
})
