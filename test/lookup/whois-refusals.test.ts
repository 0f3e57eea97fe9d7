/**
 * WHOIS refusals in the wordings the registries and NIC.br really use are bans or rate limits —
 * a pause of the registry and a retry — never malformed answers (retried once, then given up).
 * Sources of each wording: src/lookup/whois-notices.ts. Also: NIC.br's answers without a
 * "country:" line are Brazil's. Parser tables, then the WHOIS client over a real socket and the
 * crawl loop with a LevelDB store in a temp dir, against fake registries on loopback.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { parseWhoisAnswer, RateLimitedError, RegistryClient } from '../../src/lookup/index.js'
import type { RegistryId } from '../../src/registry/interface.js'
import { NetworkStore } from '../../src/store/index.js'
import { parseIPv4 as ip } from '../../src/util/ipv4.js'
import { FakeRegistries } from '../helpers/fake-registries.js'
import { limitersAt, simCrawler } from '../helpers/sim-crawler.js'
import { tempDir } from '../store/helpers/records.js'

const FIXTURES = new URL('../fixtures/registry-responses/', import.meta.url)
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8')

// the frames the servers print around every answer (real, from the fixtures and QueryMessages.java)
const RIPE_HEAD = '% This is the RIPE Database query service.\n% The objects are in RPSL format.\n%\n% The RIPE Database is subject to Terms and Conditions.\n% See http://www.ripe.net/db/support/db-terms-conditions.pdf\n\n'
const RIPE_FOOT = '\n% This query was served by the RIPE Database Query Service version 1.85.1 (DB-3)\n\n'
const APNIC_HEAD = '% [whois.apnic.net]\n% Whois data copyright terms    http://www.apnic.net/db/dbcopyright.html\n\n'
const AFRINIC_HEAD = '% This is the AfriNIC Whois server.\n\n'
const LACNIC_HEAD = '\n% Joint Whois - whois.lacnic.net\n%  This server accepts single ASN, IPv4 or IPv6 queries\n\n'
const NICBR_HEAD = '\n% Copyright (c) Nic.br\n%  The use of the data below is only permitted as described in\n%  full by the Use and Privacy Policy at https://registro.br/upp ,\n%  being prohibited its distribution, commercialization or\n%  reproduction, in particular, to use it for advertising or\n%  any similar purpose.\n%  2023-08-11T07:05:28-03:00 - IP: 192.0.2.1\n\n'
const ARIN_HEAD = '\n#\n# ARIN WHOIS data and services are subject to the Terms of Use\n# available at: https://www.arin.net/resources/registry/whois/tou/\n#\n\n'

const DENIED_PERMANENTLY = '%ERROR:201: access denied for 192.0.2.1\n%\n% Sorry, access from your host has been permanently\n% denied because of a repeated excessive querying.\n% For more information, see\n% http://www.ripe.net/data-tools/db/faq/faq-db/why-did-you-receive-the-error-201-access-denied\n'
const DENIED_DAILY = '%ERROR:201: access denied for 192.0.2.1\n%\n% Queries from your IP address have passed the daily limit of controlled objects.\n% Access from your host has been temporarily denied.\n% For more information, see\n% https://docs.db.ripe.net/FAQ/#why-did-i-receive-an-error-201-access-denied\n'
const NICBR_NETWORK = 'inetnum:     200.165.0.0/16\naut-num:     AS7738\nowner:       V tal\nownerid:     02.041.460/0001-93\ninetrev:     200.165.206.0/24\ncreated:     20010522\nchanged:     20221006\n\n'

type Kind = 'banned' | 'rate-limited'
const cases: Array<{ who: string, registry: RegistryId, query: string, text: string, kind: Kind }> = [
  // RIPE NCC's server (QueryMessages.java), run by RIPE and, derived, by APNIC and AFRINIC
  { who: 'RIPE: 201 permanently denied (transcript in stamparm/maltrail#77)', registry: 'ripe', query: '193.0.6.139', text: RIPE_HEAD + DENIED_PERMANENTLY + RIPE_FOOT, kind: 'banned' },
  { who: 'RIPE: 201 daily limit of controlled objects', registry: 'ripe', query: '193.0.6.139', text: RIPE_HEAD + DENIED_DAILY + RIPE_FOOT, kind: 'banned' },
  { who: 'RIPE: host blocked for abuse', registry: 'ripe', query: '193.0.6.139', text: RIPE_HEAD + '% Your host 192.0.2.1 has been blocked. Please contact support <ripe-dbm@ripe.net> for further assistance.\n' + RIPE_FOOT, kind: 'banned' },
  { who: 'RIPE: 203 not allowed to act as a proxy', registry: 'ripe', query: '193.0.6.139', text: RIPE_HEAD + '%ERROR:203: you are not allowed to act as a proxy\n' + RIPE_FOOT, kind: 'banned' },
  { who: 'RIPE: 306 connections exceeded', registry: 'ripe', query: '193.0.6.139', text: RIPE_HEAD + '%ERROR:306: connections exceeded\n%\n% Number of connections from a single IP address\n% has exceeded the maximum number allowed (3).\n' + RIPE_FOOT, kind: 'rate-limited' },
  { who: 'RIPE (older servers): 202 access control limit reached', registry: 'ripe', query: '193.0.6.139', text: RIPE_HEAD + '%ERROR:202: access control limit reached for 192.0.2.1\n' + RIPE_FOOT, kind: 'rate-limited' },
  { who: 'APNIC: 201 daily limit', registry: 'apnic', query: '1.1.1.1', text: APNIC_HEAD + DENIED_DAILY + '\n% This query was served by the APNIC Whois Service version 1.88.25 (WHOIS-AU4)\n\n', kind: 'banned' },
  { who: 'AFRINIC: 201 daily limit (5,000 person objects a day, blocked up to 24 h)', registry: 'afrinic', query: '196.216.2.20', text: AFRINIC_HEAD + DENIED_DAILY + '\n', kind: 'banned' },
  { who: 'AFRINIC: 201 permanently denied', registry: 'afrinic', query: '196.216.2.20', text: AFRINIC_HEAD + DENIED_PERMANENTLY + '\n', kind: 'banned' },
  // LACNIC (Net::Whois::IANA's lacnic_read_query, ipwhois)
  { who: 'LACNIC: query rate limit exceeded', registry: 'lacnic', query: '200.57.141.161', text: LACNIC_HEAD + '% Query rate limit exceeded\n\n', kind: 'rate-limited' },
  { who: 'LACNIC: permission denied', registry: 'lacnic', query: '200.57.141.161', text: LACNIC_HEAD + '% Permission denied\n\n', kind: 'banned' },
  { who: 'LACNIC: a 201 line', registry: 'lacnic', query: '200.57.141.161', text: LACNIC_HEAD + '%201 access denied\n\n', kind: 'banned' },
  // NIC.br (whois.registro.br; SPFBL's parser of its answers), directly and relayed by LACNIC
  { who: 'NIC.br: permission denied', registry: 'lacnic', query: '200.165.206.74', text: NICBR_HEAD + '% Permission denied.\n\n', kind: 'banned' },
  { who: 'NIC.br: permissão negada', registry: 'lacnic', query: '200.165.206.74', text: NICBR_HEAD + '% Permissão negada.\n\n', kind: 'banned' },
  { who: 'NIC.br relayed by LACNIC: permission denied', registry: 'lacnic', query: '200.165.206.74', text: LACNIC_HEAD + NICBR_HEAD + '% Permission denied.\n\n', kind: 'banned' },
  { who: 'NIC.br: query rate limit exceeded', registry: 'lacnic', query: '200.165.206.74', text: NICBR_HEAD + '% Query rate limit exceeded\n\n', kind: 'rate-limited' },
  { who: 'NIC.br: rate limit exceeded, reduced information (contacts left out)', registry: 'lacnic', query: '200.165.206.74', text: NICBR_HEAD + '% Query rate limit exceeded. Reduced information.\n\n' + NICBR_NETWORK, kind: 'rate-limited' },
  { who: 'NIC.br: concurrent connections', registry: 'lacnic', query: '200.165.206.74', text: NICBR_HEAD + '% Maximum concurrent connections limit exceeded\n\n', kind: 'rate-limited' },
  // ARIN port 43: what other crawlers check for (a Perl netgeo crawler; Net::Whois::IANA's "#201")
  { who: 'ARIN: "query limit" with "exceeded"', registry: 'arin', query: '8.8.8.8', text: ARIN_HEAD + '# Query limit of your host exceeded.\n\n', kind: 'rate-limited' },
  { who: 'ARIN: wait a while and try again', registry: 'arin', query: '8.8.8.8', text: ARIN_HEAD + 'Please wait a while and try again.\n\n', kind: 'rate-limited' },
  { who: 'ARIN: a 201 line', registry: 'arin', query: '8.8.8.8', text: ARIN_HEAD + '#201: access to ARIN WHOIS is restricted for this host\n\n', kind: 'banned' }
]

test('the refusal wordings of RIPE, APNIC, AFRINIC, LACNIC, NIC.br and ARIN are bans or rate limits', () => {
  for (const c of cases) {
    let a
    try {
      a = parseWhoisAnswer(c.text, c.registry, ip(c.query))
    } catch (err) {
      assert.fail(`${c.who}: ${String(err)}`)
    }
    assert.equal(a.kind, c.kind, `${c.who}: ${JSON.stringify(a)}`)
  }
})

test('an answer with no network whose status line refuses the query in any other wording is a ban or a rate limit; a network answer that mentions refusals is the network', () => {
  const generic: Array<[string, Kind]> = [
    [LACNIC_HEAD + NICBR_HEAD + '% Query refused.\n\n', 'banned'],
    [NICBR_HEAD + '% Consulta recusada.\n\n', 'banned'],
    ['% Your network is blacklisted\n', 'banned'],
    ['Access forbidden for 192.0.2.1\n', 'banned'],
    ['% Queries from your network are not permitted\n', 'banned'],
    [RIPE_HEAD + '% Daily query quota reached for 192.0.2.1\n' + RIPE_FOOT, 'rate-limited'],
    ['% Too many simultaneous lookups, slow down\n', 'rate-limited']
  ]
  for (const [text, kind] of generic) {
    const a = parseWhoisAnswer(text, 'lacnic', ip('200.165.206.74'))
    assert.equal(a.kind, kind, `${JSON.stringify(text.trim().split('\n').pop())}: ${JSON.stringify(a)}`)
  }
  // a network answer whose comments speak of refused or limited queries is still the network
  const network = RIPE_HEAD + '% Note: queries from hosts over the limit are refused.\n\ninetnum:        193.0.0.0 - 193.0.7.255\nnetname:        RIPE-NCC\ncountry:        NL\nsource:         RIPE\n' + RIPE_FOOT
  assert.equal(parseWhoisAnswer(network, 'ripe', ip('193.0.6.139')).kind, 'network')
  // the frames alone say nothing of the kind: still a malformed answer
  for (const frame of [RIPE_HEAD + RIPE_FOOT, LACNIC_HEAD, NICBR_HEAD, ARIN_HEAD, APNIC_HEAD]) {
    assert.throws(() => parseWhoisAnswer(frame, 'ripe', ip('193.0.6.139')), { name: 'MalformedResponseError' }, JSON.stringify(frame))
  }
})

test('a NIC.br answer without a country line is Brazil\'s; LACNIC\'s own answers keep what they say', () => {
  const withCountry = fixture('lacnic-whois-200.165.206.74.txt')
  const without = withCountry.replace(/^country:.*\r?\n/gm, '')
  assert.doesNotMatch(without, /^country:/m)
  const nicbr = parseWhoisAnswer(without, 'lacnic', ip('200.165.206.74'))
  assert.ok(nicbr.kind === 'network', JSON.stringify(nicbr))
  assert.equal(nicbr.network.country, 'BR')
  const stated = parseWhoisAnswer(withCountry.replace(/^country:.*$/m, 'country:     PT'), 'lacnic', ip('200.165.206.74'))
  assert.ok(stated.kind === 'network')
  assert.equal(stated.network.country, 'PT', 'a country NIC.br states is kept')
  const lacnic = fixture('lacnic-whois-200.44.33.31.txt').replace(/^country:.*\r?\n/gm, '')
  const a = parseWhoisAnswer(lacnic, 'lacnic', ip('200.44.33.31'))
  assert.ok(a.kind === 'network')
  assert.equal(a.network.country, '', 'a LACNIC answer (Venezuela\'s network) without country stays without')
})

test('over a real socket, a NIC.br refusal relayed by LACNIC is a RateLimitedError marked banned, not a malformed answer', async () => {
  const fake = await FakeRegistries.start()
  const client = new RegistryClient({ endpoints: fake.endpoints, protocols: ['whois'], timeoutMs: 5000 }, { gate: { acquire: async () => {}, noteRequest: () => {} } })
  try {
    fake.whois.lacnic = (_q: string, socket: Socket) => { socket.end(LACNIC_HEAD + NICBR_HEAD + '% Permission denied.\n\n') }
    const err = await client.lookup(ip('200.165.206.74'), 'lacnic').then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof RateLimitedError, `got ${String(err)}`)
    assert.equal(err.banned, true)
    assert.equal(err.registry, 'lacnic')
  } finally {
    await client.close()
    await fake.close()
  }
})

test('the crawl backs off a registry that refuses, and resolves the address once it answers, instead of giving it up', async () => {
  const { dir, cleanup } = await tempDir()
  const fake = await FakeRegistries.start()
  const store = await NetworkStore.open({ dataDir: dir })
  try {
    // three refusals — more than the attempts a malformed answer gets — then the real answer
    let queries = 0
    fake.whois.lacnic = (_q: string, socket: Socket) => {
      queries++
      socket.end(queries <= 3 ? NICBR_HEAD + '% Permission denied.\n\n' : fixture('lacnic-whois-200.165.206.74.txt'))
    }
    const address = ip('200.165.206.74')
    const { crawler, client, logs } = simCrawler(fake.endpoints, store, [address], {
      limiters: limitersAt(100),
      timeoutMs: 5000,
      opts: { rateLimitBackoffBaseMs: 20, retryBaseMs: 20, failedRetryMs: 0 },
      client: { protocols: ['whois'] }
    })
    const status = await crawler.run()
    await client.close()
    assert.equal(logs.filter(l => l.msg === 'giving up on address').length, 0, 'the address was given up on')
    const backoffs = logs.filter(l => l.msg === 'registry rate-limited us; backing off')
    assert.deepEqual(backoffs.map(l => [l.registry, l.banned]), [['lacnic', true], ['lacnic', true], ['lacnic', true]])
    assert.equal(queries, 4)
    assert.equal(status.sampleResolved, 1)
    const [network] = await store.containing(address)
    assert.equal(network?.cidrs.join(), '200.165.0.0/16')
    assert.equal(network?.country, 'BR')
  } finally {
    await store.close()
    await fake.close()
    await cleanup()
  }
})
