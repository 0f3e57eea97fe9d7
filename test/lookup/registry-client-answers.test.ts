/**
 * RegistryClient over real sockets against fake registries on 127.0.0.1: what it makes of the
 * answers. RDAP answers, redirects (relative, looping, too long, off the configured registries),
 * not-found, rate limits and bans (Retry-After), and the fallback to WHOIS at the same registry and
 * which error wins when both fail; WHOIS query lines, answers, ban notices and referrals; bad
 * options. Timeouts, sizes, refused connections, DNS failures and resets are in
 * registry-client-transport.test.ts.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  MalformedResponseError,
  NotFoundError,
  RateLimitedError,
  RegistryClient,
  TooManyRedirectsError,
  TransientLookupError,
  parseRetryAfter,
  unreachableKind,
  whoisQuery,
  type RegistryClientOptions
} from '../../src/lookup/index.js'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { parseIPv4 } from '../../src/util/ipv4.js'
import { closedPort, fixture } from '../helpers/fake-registries.js'
import { CONTACT, fake, makeClient, rejection, serveJson, serveText, splitReferralChain, useFakeRegistries } from '../helpers/registry-client-harness.js'

useFakeRegistries()

describe('RDAP', () => {
  test('an RDAP answer from the first registry is parsed and returned with one request', async () => {
    fake.rdap.arin = serveJson('arin-rdap-74.125.225.229.json')
    const { client, acquired, events } = makeClient()
    const r = await client.lookup(parseIPv4('74.125.225.229'), 'arin')
    assert.equal(r.source, 'rdap')
    assert.equal(r.registry, 'arin')
    assert.equal(r.network.registry, 'arin')
    assert.equal(r.network.start, parseIPv4('74.125.0.0'))
    assert.equal(r.network.end, parseIPv4('74.125.255.255'))
    assert.deepEqual(r.hops, ['arin'])
    assert.equal(r.requests, 1)
    assert.deepEqual(acquired, ['arin'])
    assert.deepEqual(events.map(e => [e.registry, e.protocol, e.outcome]), [['arin', 'rdap', 'network']])
    assert.equal(fake.rdapRequests[0].url, '/arin/ip/74.125.225.229')
  })

  test('requests ask for RDAP JSON and carry a User-Agent naming whoismesh and the operator contact', async () => {
    fake.rdap.arin = serveJson('arin-rdap-74.125.225.229.json')
    const { client } = makeClient()
    await client.lookup(parseIPv4('74.125.225.229'), 'arin')
    const headers = fake.rdapRequests[0].headers
    assert.match(headers['user-agent'] ?? '', /whoismesh/)
    assert.ok((headers['user-agent'] ?? '').includes(CONTACT), `User-Agent "${headers['user-agent']}" names the contact`)
    assert.match(headers.accept ?? '', /application\/rdap\+json/)
  })

  test('an RDAP redirect from ARIN to RIPE is followed, passing the gate once per registry asked', async () => {
    fake.rdap.arin = (_req, res) => { res.writeHead(302, { location: fake.rdapUrl('ripe', '62.239.237.1') }).end() }
    fake.rdap.ripe = serveJson('ripe-rdap-62.239.237.1.json')
    const { client, acquired, noted, events } = makeClient()
    const r = await client.lookup(parseIPv4('62.239.237.1'), 'arin')
    assert.equal(r.registry, 'ripe')
    assert.equal(r.network.registry, 'ripe')
    assert.equal(r.source, 'rdap')
    assert.deepEqual(r.hops, ['arin', 'ripe'])
    assert.equal(r.requests, 2)
    assert.deepEqual(acquired, ['arin', 'ripe'])
    assert.deepEqual(noted, ['arin', 'ripe'], 'the gate is told of each request sent')
    assert.deepEqual(events.map(e => [e.registry, e.outcome]), [['arin', 'redirect'], ['ripe', 'network']])
  })

  test('a relative Location is resolved against the request URL', async () => {
    fake.rdap.ripe = (req, res) => {
      if (req.url === '/ripe/ip/62.239.237.1') res.writeHead(301, { location: 'v2/ip/62.239.237.1' }).end()
      else serveJson('ripe-rdap-62.239.237.1.json')(req, res)
    }
    const { client } = makeClient()
    const r = await client.lookup(parseIPv4('62.239.237.1'), 'ripe')
    assert.equal(r.registry, 'ripe')
    assert.deepEqual(fake.rdapRequests.map(q => q.url), ['/ripe/ip/62.239.237.1', '/ripe/ip/v2/ip/62.239.237.1'])
  })

  test('a redirect loop between two registries fails with TooManyRedirectsError without re-asking', async () => {
    fake.rdap.arin = (_req, res) => { res.writeHead(301, { location: fake.rdapUrl('ripe', '62.239.237.1') }).end() }
    fake.rdap.ripe = (_req, res) => { res.writeHead(301, { location: fake.rdapUrl('arin', '62.239.237.1') }).end() }
    const { client, acquired } = makeClient()
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'arin'))
    assert.ok(err instanceof TooManyRedirectsError, `got ${String(err)}`)
    assert.deepEqual(acquired, ['arin', 'ripe'])
    assert.equal(fake.whoisQueries.length, 0, 'no WHOIS fallback after a redirect loop')
  })

  test('a redirect chain longer than maxHops fails with TooManyRedirectsError', async () => {
    fake.rdap.arin = (_req, res) => { res.writeHead(307, { location: fake.rdapUrl('ripe', '1.2.3.4') }).end() }
    fake.rdap.ripe = (_req, res) => { res.writeHead(307, { location: fake.rdapUrl('apnic', '1.2.3.4') }).end() }
    fake.rdap.apnic = (_req, res) => { res.writeHead(307, { location: fake.rdapUrl('lacnic', '1.2.3.4') }).end() }
    const { client, acquired } = makeClient({ maxHops: 1 })
    const err = await rejection(client.lookup(parseIPv4('1.2.3.4'), 'arin'))
    assert.ok(err instanceof TooManyRedirectsError, `got ${String(err)}`)
    assert.equal(err.registry, 'ripe')
    assert.deepEqual(acquired, ['arin', 'ripe'])
  })

  test('a redirect to a server of no configured registry falls back to WHOIS at the redirecting registry', async () => {
    fake.rdap.arin = (_req, res) => { res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere/ip/74.125.225.229' }).end() }
    fake.whois.arin = serveText(fixture('arin-whois-74.125.225.229.txt'))
    const { client, acquired } = makeClient()
    const r = await client.lookup(parseIPv4('74.125.225.229'), 'arin')
    assert.equal(r.source, 'whois')
    assert.equal(r.registry, 'arin')
    assert.deepEqual(acquired, ['arin', 'arin'])
  })

  test('HTTP 404 is a NotFoundError and WHOIS is not asked', async () => {
    fake.rdap.lacnic = (_req, res) => { res.writeHead(404, { 'content-type': 'application/rdap+json' }).end('{"errorCode":404,"title":"Not Found"}') }
    const { client, events } = makeClient()
    const err = await rejection(client.lookup(parseIPv4('200.57.141.161'), 'lacnic'))
    assert.ok(err instanceof NotFoundError, `got ${String(err)}`)
    assert.equal(err.registry, 'lacnic')
    assert.equal(fake.whoisQueries.length, 0)
    assert.deepEqual(events.map(e => e.outcome), ['not-found'])
  })

  test('HTTP 429 with Retry-After: 7 is a RateLimitedError of 7000 ms and WHOIS is not asked', async () => {
    fake.rdap.ripe = (_req, res) => { res.writeHead(429, { 'retry-after': '7' }).end('Too Many Requests') }
    const { client, events } = makeClient()
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'ripe'))
    assert.ok(err instanceof RateLimitedError, `got ${String(err)}`)
    assert.equal(err.registry, 'ripe')
    assert.equal(err.retryAfterMs, 7000)
    assert.equal(err.banned, false)
    assert.equal(fake.whoisQueries.length, 0)
    assert.deepEqual(events.map(e => e.outcome), ['rate-limited'])
  })

  test('a Retry-After HTTP-date gives the time until that date', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString()
    fake.rdap.ripe = (_req, res) => { res.writeHead(429, { 'retry-after': at }).end() }
    const { client } = makeClient()
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'ripe'))
    assert.ok(err instanceof RateLimitedError, `got ${String(err)}`)
    assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 50_000 && err.retryAfterMs <= 60_000, `retryAfterMs ${String(err.retryAfterMs)}`)
  })

  test('parseRetryAfter reads delta-seconds and HTTP-dates and ignores junk', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')
    const cases: Array<[string | undefined, number | undefined]> = [
      ['7', 7000],
      [' 120 ', 120_000],
      ['Wed, 21 Oct 2015 07:28:30 GMT', 30_000],
      ['Wed, 21 Oct 2015 07:00:00 GMT', 0],
      ['soon', undefined],
      ['', undefined],
      [undefined, undefined]
    ]
    for (const [value, expected] of cases) {
      assert.equal(parseRetryAfter(value, now), expected, `Retry-After ${JSON.stringify(value)}`)
    }
  })

  test('a 429 whose body says the client is banned is a RateLimitedError marked banned', async () => {
    fake.rdap.arin = (_req, res) => { res.writeHead(429, { 'retry-after': '3600' }).end('Your IP address has been banned for excessive queries') }
    const { client } = makeClient()
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    assert.ok(err instanceof RateLimitedError, `got ${String(err)}`)
    assert.equal(err.banned, true)
    assert.equal(err.retryAfterMs, 3_600_000)
  })

  test('HTTP 403 is a RateLimitedError marked banned', async () => {
    fake.rdap.apnic = (_req, res) => { res.writeHead(403).end('Forbidden') }
    const { client } = makeClient()
    const err = await rejection(client.lookup(parseIPv4('210.107.73.73'), 'apnic'))
    assert.ok(err instanceof RateLimitedError, `got ${String(err)}`)
    assert.equal(err.banned, true)
    assert.equal(err.retryAfterMs, undefined)
  })

  test('an RDAP 500 falls back to WHOIS at the same registry, which answers', async () => {
    fake.rdap.arin = (_req, res) => { res.writeHead(500).end('Internal Server Error') }
    fake.whois.arin = serveText(fixture('arin-whois-74.125.225.229.txt'))
    const { client, acquired, events } = makeClient()
    const r = await client.lookup(parseIPv4('74.125.225.229'), 'arin')
    assert.equal(r.source, 'whois')
    assert.equal(r.registry, 'arin')
    assert.equal(r.network.registry, 'arin')
    assert.equal(r.network.start, parseIPv4('74.125.0.0'))
    assert.deepEqual(r.hops, ['arin'])
    assert.equal(r.requests, 2)
    assert.deepEqual(acquired, ['arin', 'arin'])
    assert.deepEqual(events.map(e => [e.protocol, e.outcome, e.error]), [['rdap', 'error', 'TransientLookupError'], ['whois', 'network', undefined]])
  })

  test('a WHOIS answer the server closes half way is a TransientLookupError(truncated), never a network with fields missing', async () => {
    fake.rdap.arin = (_req, res) => { res.writeHead(503).end() }
    const whole = fixture('arin-whois-74.125.225.229.txt')
    // the first half ends inside the OrgName block, before its Country line
    fake.whois.arin = serveText(whole.subarray(0, Math.floor(whole.length / 2)))
    const { client, events } = makeClient()
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    assert.ok(err instanceof TransientLookupError, `got ${String(err)}`)
    assert.equal(err.kind, 'server-error', 'the RDAP error is thrown')
    assert.ok(err.cause instanceof TransientLookupError && err.cause.kind === 'truncated', `the WHOIS error is kept as the cause: ${String(err.cause)}`)
    assert.deepEqual(events.map(e => [e.protocol, e.outcome, e.error]), [['rdap', 'error', 'TransientLookupError'], ['whois', 'error', 'TransientLookupError']])
  })

  test('an RDAP body that is not JSON is malformed and falls back to WHOIS', async () => {
    fake.rdap.ripe = (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>') }
    fake.whois.ripe = serveText(fixture('ripe-whois-62.239.237.1.txt'))
    const { client } = makeClient()
    const r = await client.lookup(parseIPv4('62.239.237.1'), 'ripe')
    assert.equal(r.source, 'whois')
    assert.equal(r.network.registry, 'ripe')
  })

  test('when RDAP and the WHOIS fallback both fail, the RDAP error is thrown', async () => {
    fake.rdap.arin = (_req, res) => { res.writeHead(503).end() }
    fake.whois.arin = (_q, socket) => { socket.resetAndDestroy() }
    const { client } = makeClient()
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    assert.ok(err instanceof TransientLookupError, `got ${String(err)}`)
    assert.equal(err.kind, 'server-error')
    assert.ok(err.cause instanceof TransientLookupError && err.cause.kind === 'reset', 'the WHOIS error is kept as the cause')
  })

  test('when RDAP cannot reach the registry but its WHOIS answers badly, the WHOIS error is thrown: the registry was reached', async () => {
    const port = await closedPort()
    const endpoints = { ...fake.endpoints, arin: { ...fake.endpoints.arin, rdapBaseUrl: `http://127.0.0.1:${port}/` } }
    fake.whois.arin = (_q, socket) => { socket.resetAndDestroy() }
    const { client } = makeClient({ endpoints })
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    assert.ok(err instanceof TransientLookupError, `got ${String(err)}`)
    assert.equal(err.kind, 'reset')
    assert.equal(unreachableKind(err), undefined)
    assert.ok(err.cause instanceof TransientLookupError && err.cause.kind === 'refused', 'the RDAP error is kept as the cause')
  })

  test('when neither RDAP nor WHOIS reaches the registry, the RDAP error is thrown and says so', async () => {
    const port = await closedPort()
    const endpoints = { ...fake.endpoints, arin: { rdapBaseUrl: `http://127.0.0.1:${port}/`, whoisHost: '127.0.0.1', whoisPort: port } }
    const { client } = makeClient({ endpoints })
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    assert.ok(err instanceof TransientLookupError && err.kind === 'refused' && err.message.startsWith('rdap '), `got ${String(err)}`)
    assert.equal(unreachableKind(err), 'refused')
  })

  test('when RDAP fails and the WHOIS fallback says not found, the NotFoundError is thrown', async () => {
    fake.rdap.ripe = (_req, res) => { res.writeHead(502).end() }
    // RIPE's not-found answer (synthetic query, the server's wording)
    fake.whois.ripe = serveText('% This is the RIPE Database query service.\n\n%ERROR:101: no entries found\n%\n% No entries found in source RIPE.\n')
    const { client } = makeClient()
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'ripe'))
    assert.ok(err instanceof NotFoundError, `got ${String(err)}`)
    assert.equal(err.registry, 'ripe')
  })

  test('when only RDAP is configured an RDAP malformed body is thrown with its byte count', async () => {
    fake.rdap.arin = (_req, res) => { res.writeHead(200).end('[1,2,3]') }
    const { client } = makeClient({ protocols: ['rdap'] })
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    assert.ok(err instanceof MalformedResponseError, `got ${String(err)}`)
    assert.equal(err.bytes, 7)
    assert.equal(err.registry, 'arin')
  })
})

describe('WHOIS', () => {
  test('the WHOIS query line uses each registry\'s syntax', async () => {
    const expected: Record<RegistryId, string> = {
      arin: 'n + 74.125.225.229\r\n',
      ripe: '-r 74.125.225.229\r\n',
      apnic: '-r 74.125.225.229\r\n',
      lacnic: '74.125.225.229\r\n',
      afrinic: '-r 74.125.225.229\r\n'
    }
    const { client } = makeClient({ protocols: ['whois'] })
    for (const id of REGISTRY_IDS) {
      await client.lookup(parseIPv4('74.125.225.229'), id).catch(() => {})
      const got = fake.whoisQueries.filter(q => q.registry === id).map(q => q.query)
      assert.deepEqual(got, [expected[id]], `query sent to ${id}`)
      assert.equal(`${whoisQuery(id, parseIPv4('74.125.225.229'))}\r\n`, expected[id], `whoisQuery for ${id}`)
    }
  })

  test('a WHOIS answer is parsed and returned as the answering registry\'s network', async () => {
    fake.whois.ripe = serveText(fixture('ripe-whois-62.239.237.1.txt'))
    const { client, acquired } = makeClient({ protocols: ['whois'] })
    const r = await client.lookup(parseIPv4('62.239.237.1'), 'ripe')
    assert.equal(r.source, 'whois')
    assert.equal(r.registry, 'ripe')
    assert.equal(r.network.registry, 'ripe')
    assert.equal(r.network.start, parseIPv4('62.239.237.0'))
    assert.equal(r.network.end, parseIPv4('62.239.237.255'))
    assert.deepEqual(acquired, ['ripe'])
  })

  test('a WHOIS ban notice is a RateLimitedError marked banned', async () => {
    // RIPE's wording for a blocked client
    fake.whois.ripe = serveText('%ERROR:201: access denied for 127.0.0.1\n%\n% Sorry, access from your host has been permanently\n% denied because of a repeated excessive querying.\n')
    const { client, events } = makeClient({ protocols: ['whois'] })
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'ripe'))
    assert.ok(err instanceof RateLimitedError, `got ${String(err)}`)
    assert.equal(err.banned, true)
    assert.deepEqual(events.map(e => e.outcome), ['rate-limited'])
  })

  test('an ARIN WHOIS referral to AFRINIC is followed to AFRINIC\'s configured whois port', async () => {
    const chain = splitReferralChain()
    fake.whois.arin = serveText(chain.arin)
    fake.whois.afrinic = serveText(chain.afrinic)
    const { client, acquired, events } = makeClient({ protocols: ['whois'] })
    const r = await client.lookup(parseIPv4('137.158.1.1'), 'arin')
    assert.equal(r.registry, 'afrinic')
    assert.equal(r.network.registry, 'afrinic')
    assert.equal(r.network.start, parseIPv4('137.158.0.0'))
    assert.deepEqual(r.hops, ['arin', 'afrinic'])
    assert.deepEqual(acquired, ['arin', 'afrinic'])
    assert.deepEqual(events.map(e => [e.registry, e.outcome]), [['arin', 'redirect'], ['afrinic', 'network']])
    assert.deepEqual(fake.whoisQueries.map(q => [q.registry, q.query]), [['arin', 'n + 137.158.1.1\r\n'], ['afrinic', '-r 137.158.1.1\r\n']])
  })

  test('a WHOIS referral that comes back to a registry already asked fails with TooManyRedirectsError', async () => {
    const chain = splitReferralChain()
    fake.whois.arin = serveText(chain.arin)
    // AFRINIC answers with IANA's "refer: whois.arin.net", which sends the client back to ARIN
    fake.whois.afrinic = serveText(chain.iana)
    const { client, acquired } = makeClient({ protocols: ['whois'] })
    const err = await rejection(client.lookup(parseIPv4('137.158.1.1'), 'arin'))
    assert.ok(err instanceof TooManyRedirectsError, `got ${String(err)}`)
    assert.deepEqual(acquired, ['arin', 'afrinic'])
  })

  test('a WHOIS referral names its target by registry id, by configured host:port, or by the registry\'s real host', () => {
    const { client } = makeClient()
    const ripePort = fake.endpoints.ripe.whoisPort
    const cases: Array<[{ registry?: RegistryId, host?: string, port?: number }, RegistryId | undefined]> = [
      [{ registry: 'lacnic' }, 'lacnic'],
      [{ host: '127.0.0.1', port: ripePort }, 'ripe'],
      [{ host: '127.0.0.1' }, undefined], // five registries share the host: ambiguous without a port
      [{ host: 'whois.ripe.net' }, 'ripe'],
      [{ host: 'WHOIS.APNIC.NET', port: 43 }, 'apnic'],
      [{ host: 'rwhois.gapublicweb.net', port: 4321 }, undefined],
      [{}, undefined]
    ]
    for (const [referral, expected] of cases) {
      assert.equal(client.referralTarget(referral), expected, `referral ${JSON.stringify(referral)}`)
    }
  })
})

describe('options', () => {
  test('bad options are rejected naming the field', () => {
    const cases: Array<[Partial<RegistryClientOptions>, RegExp]> = [
      [{ timeoutMs: 0 }, /timeoutMs/],
      [{ maxHops: -1 }, /maxHops/],
      [{ maxResponseBytes: Number.NaN }, /maxResponseBytes/],
      [{ protocols: [] }, /protocols/],
      [{ protocols: ['rdap', 'rdap'] }, /protocols/]
    ]
    for (const [opts, field] of cases) {
      assert.throws(() => new RegistryClient({ endpoints: fake.endpoints, ...opts }, { gate: { acquire: async () => {} } }), field, JSON.stringify(opts))
    }
  })
})
