import { STATUS_VOCABULARY } from '../../src/record/classify.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Crawler } from '../../src/crawl/crawler.js'
import { defaultCrawlerOptions, defaultRegistryGateOptions, PERSISTED_COUNTERS, type AddressLookup, type AddressOwnership } from '../../src/crawl/interface.js'
import { RateLimiter } from '../../src/crawl/rate-limiter.js'
import { RegistryGate } from '../../src/crawl/registry-gate.js'
import { NetworkStore } from '../../src/store/index.js'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { registryForAddress } from '../../src/registry/iana.js'
import { NotFoundError, RateLimitedError, TransientLookupError, MalformedResponseError } from '../../src/lookup/errors.js'
import { parseCidr, rangeToCidrs, formatIPv4, parseIPv4 } from '../../src/util/ipv4.js'
import { silentLogger } from '../../src/util/logger.js'
import type { ParsedNetwork } from '../../src/record/index.js'
import { withStore } from '../store/helpers/records.js'

/** A small registry world: disjoint networks; lookups answer the one containing the address. */
/** registries answering from a flat world of assignments (leaves: each answers every address inside it) */
class FakeRegistries implements AddressLookup {
  readonly networks: ParsedNetwork[]
  calls: number[] = []
  firstAsked: RegistryId[] = []
  inFlightBlocks = new Map<number, number>()
  maxSameBlock = 0
  maxInFlight = 0
  inFlight = 0
  /** per-address scripted errors, consumed in order */
  script = new Map<number, Error[]>()
  /** per-address latency instead of `latencyMs` */
  latencies = new Map<number, number>()
  /** per-address errors the redirect's target answers with (after `hopLatencyMs`), consumed in order */
  hopScript = new Map<number, Error[]>()
  hopLatencyMs = 0
  acquire?: (registry: RegistryId, signal?: AbortSignal) => Promise<void>

  constructor (cidrs: string[], readonly latencyMs = 2) {
    this.networks = cidrs.map(spec => {
      // "cidr" or "cidr@registry" for space transferred away from its /8's registry
      const [c, owner] = spec.split('@')
      const { start, end } = parseCidr(c)
      const registry = (owner as RegistryId | undefined) ?? registryForAddress(start)!
      return { start, end, registry, handle: `NET-${c}`, name: `N${start}`, org: 'Org', country: 'US', cidrs: rangeToCidrs(start, end), type: STATUS_VOCABULARY[registry].leaf[0], parentHandle: '', registered: '', lastChanged: '' }
    })
  }

  async lookup (address: number, firstRegistry: RegistryId, signal?: AbortSignal): Promise<any> {
    await this.acquire?.(firstRegistry, signal)
    this.calls.push(address)
    this.firstAsked.push(firstRegistry)
    const block = address >>> 16
    this.inFlightBlocks.set(block, (this.inFlightBlocks.get(block) ?? 0) + 1)
    this.maxSameBlock = Math.max(this.maxSameBlock, this.inFlightBlocks.get(block)!)
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    try {
      await new Promise(resolve => setTimeout(resolve, this.latencies.get(address) ?? this.latencyMs))
      const scripted = this.script.get(address)
      if (scripted != null && scripted.length > 0) throw scripted.shift()!
      const network = this.networks.find(n => n.start <= address && address <= n.end)
      if (network == null) throw new NotFoundError(firstRegistry, `no network for ${formatIPv4(address)}`)
      if (network.registry !== firstRegistry) {
        // the first registry redirects: one more request, at the owner
        await this.acquire?.(network.registry, signal)
        await new Promise(resolve => setTimeout(resolve, this.hopLatencyMs))
        const hopError = this.hopScript.get(address)?.shift()
        if (hopError !== undefined) throw hopError
        return { network, registry: network.registry, source: 'rdap', hops: [firstRegistry, network.registry], requests: 2 }
      }
      return { network, registry: network.registry, source: 'rdap', hops: [firstRegistry], requests: 1 }
    } finally {
      this.inFlight--
      this.inFlightBlocks.set(block, this.inFlightBlocks.get(block)! - 1)
    }
  }
}

function limiters (rate = 1000): Record<RegistryId, RateLimiter> {
  return Object.fromEntries(REGISTRY_IDS.map(id => [id, new RateLimiter({ ratePerSecond: rate })])) as Record<RegistryId, RateLimiter>
}

/** Every address in a /16 with the sample's pattern (third octet step 12, fourth 1/65/129/193). */
function addressesOf (cidr: string, limit = Infinity): number[] {
  const { start, end } = parseCidr(cidr)
  const out: number[] = []
  for (let a = start; a <= end && out.length < limit; a += 256 * 12) for (const d of [1, 65, 129, 193]) if (a + d <= end) out.push(a + d)
  return out
}

/** A crawler over `client`, which passes the crawler's registry gate as the registry client does. */
function makeCrawler (store: NetworkStore, client: FakeRegistries, sample: number[], lim = limiters(), extra: Partial<typeof defaultCrawlerOptions & typeof defaultRegistryGateOptions> = {}, ownership?: AddressOwnership): Crawler {
  const opts = { ...defaultCrawlerOptions, ...defaultRegistryGateOptions, retryBaseMs: 5, rateLimitBackoffBaseMs: 20, ...extra, sample: Uint32Array.from(sample) }
  const gate = new RegistryGate(opts, { limiters: lim })
  client.acquire = async (r, s) => await gate.acquire(r, s)
  return new Crawler(opts, { store, client, gate, logger: silentLogger, ownership })
}

const WORLD = ['8.8.0.0/16', '8.9.0.0/17', '8.9.128.0/17', '62.40.0.0/14', '193.0.0.0/21', '193.0.8.0/21', '1.0.0.0/24', '41.0.0.0/16']

test('a crawl asks once per network and never runs two lookups of the same block (here /16) at once', async () => {
  await withStore(async (store) => {
    const client = new FakeRegistries(WORLD)
    const sample = WORLD.flatMap(c => addressesOf(c, 200))
    // shuffle deterministically so blocks interleave
    sample.sort((a, b) => ((a * 2654435761) >>> 0) - ((b * 2654435761) >>> 0))
    const status = await makeCrawler(store, client, sample, limiters(), { blockPrefixLength: 16 }).run()
    assert.equal(status.done, true)
    assert.equal(status.sampleResolved, sample.length)
    assert.equal(client.maxSameBlock, 1, 'two lookups of one /16 were in flight together')
    // 62.40.0.0/14 spans four /16s that may be asked concurrently: allow those, nothing else
    assert.ok(client.calls.length <= WORLD.length + 3, `${client.calls.length} lookups for ${WORLD.length} networks`)
    assert.equal(store.counts().networks, WORLD.length)
    for (const a of sample) assert.equal(store.isCovered(a), true, `${formatIPv4(a)} not covered`)
    assert.equal(status.counters.gotWhois, client.calls.length)
  })
})

test('a rate-limit answer pauses the registry for Retry-After and the address is asked again', async () => {
  await withStore(async (store) => {
    const client = new FakeRegistries(['8.8.0.0/16', '62.40.0.0/14'])
    const a = parseIPv4('8.8.8.1')
    client.script.set(a, [new RateLimitedError('arin', 'slow down', 150)])
    const lim = limiters()
    const t0 = performance.now()
    const status = await makeCrawler(store, client, [a, parseIPv4('62.40.1.1')], lim).run()
    assert.equal(status.done, true)
    assert.equal(status.counters.rateLimited, 1)
    assert.equal(store.isCovered(a), true)
    assert.ok(performance.now() - t0 >= 145, 'the retry did not wait for Retry-After')
    assert.equal(client.calls.filter(x => x === a).length, 2)
  })
})

/** Crawls `sample` to the end with a 400 ms rate-limit back-off base; the pauses, in order. */
async function rateLimitPauses (store: NetworkStore, client: FakeRegistries, sample: number[]): Promise<number[]> {
  const crawler = makeCrawler(store, client, sample, limiters(), { rateLimitBackoffBaseMs: 400 })
  const pauses: number[] = []
  crawler.on('rate-limited', e => pauses.push(e.pauseMs))
  const status = await crawler.run()
  assert.equal(status.done, true)
  assert.equal(status.sampleResolved, sample.length)
  return pauses
}

test('an answer to a lookup sent before a rate-limit refusal does not end the back-off streak', async () => {
  await withStore(async (store) => {
    const client = new FakeRegistries(['8.8.0.0/16', '8.10.0.0/16'], 30)
    const [slow, refused] = ['8.8.8.1', '8.10.0.1'].map(parseIPv4)
    // slow leaves with the other and succeeds after its first refusal, which is followed by another
    client.latencies.set(slow, 250)
    client.script.set(refused, [new RateLimitedError('arin', 'slow down'), new RateLimitedError('arin', 'still')])
    const pauses = await rateLimitPauses(store, client, [slow, refused])
    // slow's success, sent before the first refusal, says nothing about the limit: the second
    // refusal doubles the pause
    assert.deepEqual(pauses, [400, 800], `pauses ${pauses.join(', ')}`)
  })
})

test('a redirect hop that waited out a rate-limit pause and is refused again doubles the pause', async () => {
  await withStore(async (store) => {
    // 8.8.0.0/16 is RIPE's although its /8 is ARIN's: its lookups go to ARIN, then hop to RIPE
    const client = new FakeRegistries(['8.8.0.0/16@ripe', '62.40.0.0/14'], 5)
    const [hop, refused] = ['8.8.8.1', '62.40.1.1'].map(parseIPv4)
    client.latencies.set(hop, 150) // ARIN's redirect
    client.latencies.set(refused, 100)
    client.script.set(refused, [new RateLimitedError('ripe', 'slow down')])
    client.hopLatencyMs = 50
    client.hopScript.set(hop, [new RateLimitedError('ripe', 'still')])
    const pauses = await rateLimitPauses(store, client, [hop, refused])
    // RIPE refuses at ~100 ms; the hop (its lookup began at 0, ARIN redirects at ~150 ms) waits
    // out the pause, is sent at ~500 ms and refused: a new refusal, so the pause doubles (by the
    // lookup's start time it would count as the same refusal)
    assert.deepEqual(pauses, [400, 800], `pauses ${pauses.join(', ')}`)
  })
})

test('transient errors are retried with back-off and malformed answers are given up after one retry', async () => {
  await withStore(async (store) => {
    const client = new FakeRegistries(['8.8.0.0/16', '62.40.0.0/14'])
    const flaky = parseIPv4('8.8.8.1')
    const broken = parseIPv4('62.40.1.1')
    client.script.set(flaky, [new TransientLookupError('arin', 'timeout', 't'), new TransientLookupError('arin', 'reset', 'r')])
    client.script.set(broken, [new MalformedResponseError('ripe', 'junk', 10), new MalformedResponseError('ripe', 'junk again', 12)])
    const status = await makeCrawler(store, client, [flaky, broken]).run()
    assert.equal(status.done, true)
    assert.equal(store.isCovered(flaky), true)
    assert.equal(store.isCovered(broken), false)
    assert.equal(store.hasFailure(broken), true)
    assert.equal(status.sampleFailed, 1)
    assert.equal(status.counters.failed, 1)
    assert.equal(client.calls.filter(x => x === flaky).length, 3)
    assert.equal(client.calls.filter(x => x === broken).length, 2)
  })
})

test('not-found answers are stored as unallocated and never asked again', async () => {
  await withStore(async (store, dir) => {
    const client = new FakeRegistries(['8.8.0.0/16'])
    const hole = parseIPv4('8.20.0.1')
    const s1 = await makeCrawler(store, client, [hole, parseIPv4('8.8.0.1')]).run()
    assert.equal(s1.counters.unallocated, 1)
    assert.equal(store.isResolved(hole), true)
    const before = client.calls.length
    const s2 = await makeCrawler(store, client, [hole, parseIPv4('8.8.0.1')]).run()
    assert.equal(client.calls.length, before, 'a resolved address was asked again')
    assert.equal(s2.sampleResolved, 2)
    assert.equal(s2.counters.lookups, s1.counters.lookups, 'counters persist across runs')
  })
})

test('every persisted counter, the addresses skipped inside known networks included, is where the next run starts from', async () => {
  await withStore(async (store) => {
    const client = new FakeRegistries(['8.8.0.0/16'])
    const sample = addressesOf('8.8.0.0/16', 8)
    const s1 = await makeCrawler(store, client, sample).run()
    assert.equal(s1.counters.lookups, 1)
    assert.equal(s1.counters.withinKnownBlock, 7, 'the answer for the first address covers the seven others')
    // as after a restart: a new crawler finds nothing left to ask and skips nothing itself
    const s2 = await makeCrawler(store, client, sample).run()
    assert.equal(client.calls.length, 1)
    assert.equal(s2.counters.withinKnownBlock, 7, '"Within Known CIDR Block" was forgotten')
    for (const k of PERSISTED_COUNTERS) assert.equal(s2.counters[k], s1.counters[k], `counter ${k}`)
  })
})

test('an aborted crawl resumes without asking resolved addresses again', async () => {
  await withStore(async (store) => {
    const world = Array.from({ length: 40 }, (_, i) => `8.${i}.0.0/16`)
    const client = new FakeRegistries(world, 5)
    const sample = world.flatMap(c => addressesOf(c, 3))
    const lim = limiters(200)
    const ac = new AbortController()
    const crawler = makeCrawler(store, client, sample, lim)
    crawler.on('network', () => { if (store.counts().networks >= 10) ac.abort() })
    const s1 = await crawler.run(ac.signal)
    assert.equal(s1.done, false)
    const found = store.counts().networks
    assert.ok(found >= 10 && found < 40, `stopped after ${found} networks`)
    const asked = new Set(client.calls)
    client.calls = []
    const s2 = await makeCrawler(store, client, sample, limiters(200)).run()
    assert.equal(s2.done, true)
    assert.equal(store.counts().networks, 40)
    for (const a of client.calls) {
      if (asked.has(a)) assert.equal(store.isResolved(a), true)
    }
    const resolvedBefore = sample.filter(a => asked.has(a))
    const reasked = client.calls.filter(a => resolvedBefore.includes(a))
    // an address whose lookup was cut by the abort is asked again; an answered one never
    assert.ok(reasked.length <= defaultCrawlerOptions.maxInFlightPerRegistry, `${reasked.length} answered addresses asked again`)
  })
})

test('the crawl never sends faster than the registry budget', async () => {
  await withStore(async (store) => {
    const world = Array.from({ length: 30 }, (_, i) => `8.${i}.0.0/16`)
    const client = new FakeRegistries(world, 1)
    const times: number[] = []
    const sample = world.flatMap(c => addressesOf(c, 1))
    const rate = 100
    const crawler = makeCrawler(store, client, sample, limiters(rate))
    const orig = client.lookup.bind(client)
    client.lookup = async (a, r, s) => { const p = orig(a, r, s); times.push(performance.now()); return await p }
    await crawler.run()
    // the acquire happens inside lookup before the call is recorded; check spacing over windows
    times.sort((a, b) => a - b)
    const span = times[times.length - 1] - times[0]
    assert.ok(span >= (times.length - 1) * (1000 / rate) * 0.95 - 5, `${times.length} lookups in ${span.toFixed(0)} ms exceed ${rate}/s`)
  })
})

test('after a redirect, later addresses of the same /16 go straight to the registry that answered', async () => {
  await withStore(async (store) => {
    // 6/8 is ARIN legacy space; here 6.1/16 was transferred to RIPE NCC, one /24 network per third octet
    const world = Array.from({ length: 10 }, (_, i) => `6.1.${i * 12}.0/24@ripe`)
    const client = new FakeRegistries(world)
    const sample = world.map(c => parseCidr(c.split('@')[0]).start + 1)
    const status = await makeCrawler(store, client, sample).run()
    assert.equal(status.done, true)
    assert.equal(store.counts().networks, 10)
    assert.deepEqual(client.firstAsked, ['arin', ...Array(9).fill('ripe')], 'only the first lookup should pay the redirect')
    const stored = await store.mostSpecific(sample[5])
    assert.equal(stored?.registry, 'ripe')
  })
})

test('addresses owned by another node are taken up when ownership changes to this node', async () => {
  await withStore(async (store) => {
    const world = Array.from({ length: 20 }, (_, i) => `8.${i}.0.0/16`)
    const client = new FakeRegistries(world)
    const sample = world.flatMap(c => addressesOf(c, 2))
    let mine = (a: number): boolean => ((a >>> 16) & 1) === 0 // half the blocks are ours at first
    const crawler = makeCrawler(store, client, sample, limiters(), {}, { isMine: a => mine(a) })
    // when our half is done, the other node "leaves": everything becomes ours
    let handedOver = false
    crawler.on('accepted', () => {
      if (handedOver || store.counts().networks < 10) return
      handedOver = true
      assert.ok(crawler.status().registries.arin.othersOwn > 0, 'the other half should be waiting for its owner')
      mine = () => true
      crawler.reconsider()
    })
    const status = await crawler.run()
    assert.equal(status.done, true)
    assert.equal(store.counts().networks, 20)
    assert.equal(new Set(client.calls).size, client.calls.length, 'an address was looked up twice')
  })
})

test('a crawler waiting for a slot at a low rate finishes as soon as records from elsewhere resolve its queue', async () => {
  await withStore(async (store) => {
    const client = new FakeRegistries(['8.8.0.0/16', '8.9.0.0/16', '8.10.0.0/16'])
    // three addresses in three /16s; one request per 30 s: after the first lookup the next slot is far away
    const sample = [parseIPv4('8.8.0.1'), parseIPv4('8.9.0.1'), parseIPv4('8.10.0.1')]
    const crawler = makeCrawler(store, client, sample, limiters(1 / 30))
    const t0 = performance.now()
    const stored = once(crawler, 'network')
    const run = crawler.run()
    // the first lookup is answered; the dispatcher goes back to waiting for its next slot, 30 s
    // away, before the store's write below completes (its wake-ups are microtasks, the write is I/O)
    await stored
    // another node's records arrive (gossip): they cover the two addresses still queued
    const rest = client.networks.filter(n => n.start !== parseCidr('8.8.0.0/16').start || n.end !== parseCidr('8.8.0.0/16').end)
    await store.commit({ networks: rest.map(n => ({ ...n, source: 'rdap' as const, fetchedAt: Date.now(), queryAddress: n.start + 1 })) })
    crawler.pruneResolved()
    const status = await run
    assert.equal(status.sampleResolved, 3)
    assert.equal(client.calls.length, 1, 'the covered addresses were not asked')
    assert.ok(performance.now() - t0 < 5000, `the crawl waited ${Math.round(performance.now() - t0)} ms for a slot it no longer needed`)
  })
})

test('an address whose redirect hop cannot reach the target registry waits in that registry\'s queue and probes it from there', async () => {
  await withStore(async (store) => {
    // 8.8.0.0/16 was transferred to RIPE: ARIN redirects, and RIPE refuses connections at first
    const client = new FakeRegistries(['8.8.0.0/16@ripe'])
    const a = parseIPv4('8.8.8.1')
    client.hopScript.set(a, [new TransientLookupError('ripe', 'refused', 'connect ECONNREFUSED')])
    const crawler = makeCrawler(store, client, [a], limiters(), { unreachableBackoffBaseMs: 50, maxTransientAttempts: 1 })
    const down: string[] = []
    crawler.on('unreachable', e => down.push(e.registry))
    const status = await Promise.race([crawler.run(), new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`no end within 5 s; asked first at ${client.firstAsked.join(', ')}`)), 5000))])
    assert.equal(status.done, true)
    assert.equal(status.sampleResolved, 1)
    assert.deepEqual(down, ['ripe'])
    // once at ARIN (the hop failed), then at RIPE itself once its back-off was over
    assert.deepEqual(client.firstAsked, ['arin', 'ripe'])
    assert.equal(store.counts().failures, 0)
  })
})
