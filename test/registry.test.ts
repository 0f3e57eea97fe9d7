import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { slashEightOf, registryForAddress, IANA_TABLE_DATE, slashEights } from '../src/registry/iana.js'
import { parseBudgets, formatBudgets, DEFAULT_BUDGETS } from '../src/registry/budget.js'
import { parseRegistriesFile, registryOfRdapUrl, REAL_REGISTRY_ENDPOINTS } from '../src/registry/endpoints.js'
import { fetchRdapBootstrap, parseRdapBootstrap } from '../src/registry/bootstrap.js'
import { parseIPv4 } from '../src/util/ipv4.js'

test('the IANA table routes each /8 to its RIR and never routes reserved or special space', () => {
  assert.equal(IANA_TABLE_DATE, '2019-12-27')
  assert.equal(slashEights().length, 256)
  const cases: Array<[string, string | undefined]> = [
    ['1.1.1.1', 'apnic'], ['2.18.111.79', 'ripe'], ['41.0.0.1', 'afrinic'], ['200.57.141.161', 'lacnic'],
    ['74.125.225.229', 'arin'], ['6.1.2.3', 'arin'], ['196.11.240.215', 'afrinic'],
    ['10.1.1.1', undefined], ['127.0.0.1', undefined], ['100.64.0.1', undefined], ['192.0.2.1', undefined],
    ['198.18.0.1', undefined], ['224.0.0.1', undefined], ['0.1.2.3', undefined]
  ]
  for (const [ip, reg] of cases) assert.equal(registryForAddress(parseIPv4(ip)), reg, ip)
  assert.equal(slashEightOf(parseIPv4('6.0.0.0')).status, 'LEGACY')
  assert.equal(slashEightOf(parseIPv4('240.0.0.0')).status, 'RESERVED')
})

test('budget strings set named registries and keep the defaults for the others', () => {
  const b = parseBudgets('arin=200, lacnic=10/min,afrinic=2/s')
  assert.equal(b.arin, 200)
  assert.ok(Math.abs(b.lacnic - 10 / 60) < 1e-12)
  assert.equal(b.afrinic, 2)
  assert.equal(b.ripe, DEFAULT_BUDGETS.ripe)
  assert.equal(parseBudgets('all=50').apnic, 50)
  assert.deepEqual(parseBudgets(formatBudgets(b)), b)
})

test('bad budget strings are rejected with a message naming the bad item', () => {
  assert.throws(() => parseBudgets('arni=10'), /unknown registry "arni"/)
  assert.throws(() => parseBudgets('arin=ten'), /bad budget "arin=ten"/)
  assert.throws(() => parseBudgets('arin=10/fortnight'), /unknown unit/)
  assert.throws(() => parseBudgets('arin=0'), /greater than zero/)
  assert.throws(() => parseBudgets(''), /empty budget/)
})

test('a registries file is validated field by field', () => {
  const good = {
    version: 1,
    registries: Object.fromEntries(['arin', 'ripe', 'apnic', 'lacnic', 'afrinic'].map((id, i) => [id, { rdap: `http://127.0.0.1:${4000 + i}`, whois: `127.0.0.1:${5000 + i}`, budgetPerSecond: 5 }])),
    stats: 'http://127.0.0.1:3999/stats'
  }
  const loaded = parseRegistriesFile(good)
  assert.equal(loaded.endpoints.ripe.rdapBaseUrl, 'http://127.0.0.1:4001/')
  assert.equal(loaded.endpoints.lacnic.whoisPort, 5003)
  assert.equal(loaded.budgets.arin, 5)
  assert.equal(registryOfRdapUrl('http://127.0.0.1:4002/ip/1.1.1.1', loaded.endpoints), 'apnic')
  assert.throws(() => parseRegistriesFile({ ...good, registries: { ...good.registries, arin: { rdap: 'ftp://x', whois: '127.0.0.1:1' } } }), /registries\.arin\.rdap/)
  assert.throws(() => parseRegistriesFile({ ...good, registries: { ...good.registries, iana: {} } }), /unknown registry "iana"/)
  assert.throws(() => parseRegistriesFile({ ...good, registries: { ...good.registries, ripe: { rdap: 'http://a/', whois: 'nohostport' } } }), /registries\.ripe\.whois/)
})

test('the RDAP bootstrap file refreshes /8 routing, and an unreachable one yields nothing', async () => {
  const body = {
    services: [
      [['41.0.0.0/8', '102.0.0.0/8'], ['https://rdap.afrinic.net/rdap/', 'http://rdap.afrinic.net/rdap/']],
      [['1.0.0.0/8'], ['https://rdap.apnic.net/']],
      [['23.0.0.0/8'], ['https://rdap.arin.net/registry/']],
      [['5.6.0.0/16'], ['https://rdap.lacnic.net/rdap/']]
    ]
  }
  const parsed = parseRdapBootstrap(body, REAL_REGISTRY_ENDPOINTS)
  assert.equal(parsed.get(41), 'afrinic')
  assert.equal(parsed.get(102), 'afrinic')
  assert.equal(parsed.get(1), 'apnic')
  assert.equal(parsed.has(5), false, 'prefixes longer than /8 are left to redirects')

  const server = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  try {
    const fetched = await fetchRdapBootstrap(REAL_REGISTRY_ENDPOINTS, { url: `http://127.0.0.1:${port}/ipv4.json`, timeoutMs: 30_000 })
    assert.equal(fetched?.get(23), 'arin')
  } finally {
    server.close()
  }
  // the same port, now closed: connection refused → undefined, the built-in table stays
  assert.equal(await fetchRdapBootstrap(REAL_REGISTRY_ENDPOINTS, { url: `http://127.0.0.1:${port}/ipv4.json`, timeoutMs: 2000 }), undefined)
})
