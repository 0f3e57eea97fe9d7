import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import {
  Registry, createCrawlMetrics, createMeshMetrics, createNodeMetrics, observeCrawlStatus, countRegistryRequest,
  startMetricsServer, isLoopbackHost, MetricsServerError, CRAWL_STATUSES
} from '../../src/metrics/index.js'
import type { CrawlStatus } from '../../src/crawl/interface.js'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'

/** GET (or another method) with node's http client; resolves with status, headers and body. */
async function fetchText (url: string, method = 'GET'): Promise<{ status: number, type: string, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

/** The value of one sample line of the exposition, e.g. `name{a="b"}`; undefined if absent. */
function sample (exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find(l => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

test('the metrics server serves what was counted, in the Prometheus text format, on loopback', async () => {
  const register = new Registry()
  const crawl = createCrawlMetrics(register)
  const mesh = createMeshMetrics(register)
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, register)
  try {
    assert.ok(server.port > 0)
    assert.equal(server.url, `http://127.0.0.1:${server.port}/metrics`)
    crawl.lookupsTotal.inc(3)
    countRegistryRequest(crawl, 'arin', 'network')
    countRegistryRequest(crawl, 'arin', 'network')
    countRegistryRequest(crawl, 'lacnic', 'rate_limited')
    crawl.registryBudget.set({ registry: 'lacnic' }, 10 / 60)
    crawl.indexNetworks.set(1234)
    mesh.gossipMessagesTotal.inc({ topic: 'nets', outcome: 'reject' })
    mesh.gossipRecordsTotal.inc({ topic: 'nets', outcome: 'accept' }, 17)
    mesh.gossipRefusedTotal.inc({ topic: 'nets', outcome: 'reject', reason: 'bad-cidrs' })
    mesh.livePeers.set(4)
    mesh.syncSessionsTotal.inc({ outcome: 'ok' })
    mesh.syncRecordsReceivedTotal.inc(250)

    const res = await fetchText(server.url)
    assert.equal(res.status, 200)
    assert.match(res.type, /^text\/plain; version=0\.0\.4/)
    const expected: Array<[string, number]> = [
      ['whoismesh_lookups_total', 3],
      ['whoismesh_registry_requests_total{registry="arin",outcome="network"}', 2],
      ['whoismesh_registry_requests_total{registry="lacnic",outcome="rate_limited"}', 1],
      ['whoismesh_registry_budget_requests_per_second{registry="lacnic"}', 10 / 60],
      ['whoismesh_index_networks', 1234],
      ['whoismesh_gossip_messages_total{topic="nets",outcome="reject"}', 1],
      ['whoismesh_gossip_records_total{topic="nets",outcome="accept"}', 17],
      ['whoismesh_gossip_refused_messages_total{topic="nets",outcome="reject",reason="bad-cidrs"}', 1],
      ['whoismesh_live_peers', 4],
      ['whoismesh_sync_sessions_total{outcome="ok"}', 1],
      ['whoismesh_sync_records_received_total', 250]
    ]
    for (const [series, value] of expected) {
      const got = sample(res.body, series)
      assert.ok(got !== undefined && Math.abs(got - value) < 1e-9, `${series}: expected ${value}, got ${String(got)}`)
    }
    // a later scrape sees later counts
    crawl.lookupsTotal.inc()
    assert.equal(sample((await fetchText(server.url)).body, 'whoismesh_lookups_total'), 4)
  } finally {
    await server.close()
  }
})

test('observeCrawlStatus reports the 2016 statuses, budget shares, unreachable registries and sample progress from a crawler snapshot', async () => {
  const { register, crawl } = createNodeMetrics()
  const status: CrawlStatus = {
    counters: { awaitingRegistry: 100, lookingUp: 4, gotWhois: 50, failed: 2, withinKnownBlock: 30, unallocated: 7, rateLimited: 1, lookups: 64, listings: 0, audits: 0, requests: 80, retries: 3 },
    registries: Object.fromEntries(REGISTRY_IDS.map((id, i) => [id, { queued: 0, inFlight: 0, retrying: 0, budgetPerSecond: i + 0.5, pausedForMs: 0, requests: 0 }])) as CrawlStatus['registries'],
    sampleTotal: 1000,
    sampleResolved: 90,
    sampleFailed: 2,
    done: false,
    startedAt: 0
  }
  status.registries.apnic.unreachableForMs = 42_500
  observeCrawlStatus(crawl, status)
  const text = await register.metrics()
  const expected: Record<typeof CRAWL_STATUSES[number], number> = {
    awaiting_registry: 100, looking_up_whois: 4, got_whois: 50, failed: 2, within_known_cidr_block: 30, unallocated: 7, rate_limited: 1
  }
  for (const s of CRAWL_STATUSES) assert.equal(sample(text, `whoismesh_crawl_status{status="${s}"}`), expected[s], `status ${s}`)
  REGISTRY_IDS.forEach((id: RegistryId, i) => assert.equal(sample(text, `whoismesh_registry_budget_requests_per_second{registry="${id}"}`), i + 0.5, `budget of ${id}`))
  REGISTRY_IDS.forEach((id: RegistryId) => assert.equal(sample(text, `whoismesh_registry_unreachable_seconds{registry="${id}"}`), id === 'apnic' ? 42.5 : 0, `unreachable ${id}`))
  assert.equal(sample(text, 'whoismesh_sample_addresses'), 1000)
  assert.equal(sample(text, 'whoismesh_sample_resolved'), 90)
})

test('every metric is named whoismesh_*, and counters end in _total', () => {
  const { register } = createNodeMetrics()
  const metrics = register.getMetricsAsArray()
  assert.ok(metrics.length >= 12)
  for (const m of metrics) {
    assert.match(m.name, /^whoismesh_[a-z_]+$/, `metric ${m.name}`)
    if (String(m.type) === 'counter') assert.match(m.name, /_total$/, `counter ${m.name}`)
  }
})

test('the server answers 404 off /metrics and 405 to other methods', async () => {
  const server = await startMetricsServer({ port: 0 }, new Registry())
  try {
    assert.equal((await fetchText(`http://127.0.0.1:${server.port}/`)).status, 404)
    assert.equal((await fetchText(server.url, 'POST')).status, 405)
    assert.equal((await fetchText(server.url, 'HEAD')).status, 200)
  } finally {
    await server.close()
  }
})

test('a host that is not loopback is refused, naming the host; a busy port names the port', async () => {
  await assert.rejects(startMetricsServer({ host: '0.0.0.0', port: 0 }, new Registry()), (e: Error) => e instanceof MetricsServerError && /host/.test(e.message) && /0\.0\.0\.0/.test(e.message))
  assert.equal(isLoopbackHost('127.0.0.1'), true)
  assert.equal(isLoopbackHost('::1'), true)
  assert.equal(isLoopbackHost('localhost'), true)
  assert.equal(isLoopbackHost('192.168.1.10'), false)
  assert.equal(isLoopbackHost('::'), false)
  const first = await startMetricsServer({ port: 0 }, new Registry())
  try {
    await assert.rejects(startMetricsServer({ port: first.port }, new Registry()), (e: Error) => e instanceof MetricsServerError && e.message.includes(String(first.port)))
  } finally {
    await first.close()
  }
})
