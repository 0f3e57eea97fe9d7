/**
 * The RDAP parser on hand-written bodies: the containment check and its absence for an unknown
 * query address, cidr0 blocks checked against the range or standing in for it, bodies that are not
 * a usable IPv4 network (MalformedResponseError with registry and size), and RDAP error bodies.
 * (Real RDAP answers: registry-answers.test.ts.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatIPv4, parseIPv4 as ip } from '../../src/util/ipv4.js'
import { MalformedResponseError } from '../../src/lookup/errors.js'
import { parseRdapNetwork, rdapErrorInfo } from '../../src/lookup/rdap-parser.js'

const RDAP_NET = {
  objectClassName: 'ip network',
  handle: 'NET-192-0-2-0-1',
  startAddress: '192.0.2.0',
  endAddress: '192.0.2.255',
  ipVersion: 'v4',
  name: 'DOC-NET',
  country: 'nl',
  cidr0_cidrs: [{ v4prefix: '192.0.2.0', length: 24 }],
  entities: [{ objectClassName: 'entity', handle: 'ORG-1', roles: ['registrant'], vcardArray: ['vcard', [['version', {}, 'text', '4.0'], ['fn', {}, 'text', 'Doc Org'], ['kind', {}, 'text', 'org']]] }],
  events: [{ eventAction: 'registration', eventDate: '2020-01-02T03:04:05Z' }, { eventAction: 'last changed', eventDate: '2021-01-02T03:04:05Z' }]
}

test('an RDAP body whose range does not contain the query address is a MalformedResponseError', () => {
  assert.throws(() => parseRdapNetwork(RDAP_NET, 'ripe', ip('192.0.3.1'), 123), (err: unknown) => {
    assert.ok(err instanceof MalformedResponseError)
    assert.match(err.message, /does not contain/)
    assert.equal(err.bytes, 123)
    return true
  })
})

test('an RDAP body is parsed without the containment check when the query address is unknown', () => {
  for (const q of [-1, Number.NaN]) {
    const n = parseRdapNetwork(RDAP_NET, 'ripe', q, 0)
    assert.equal(formatIPv4(n.start), '192.0.2.0', String(q))
    assert.equal(n.country, 'NL', String(q))
    assert.equal(n.org, 'Doc Org', String(q))
    assert.equal(n.registered, '2020-01-02T03:04:05Z', String(q))
    assert.equal(n.lastChanged, '2021-01-02T03:04:05Z', String(q))
  }
})

test('RDAP cidr0 blocks that do not match the range are replaced by computed ones', () => {
  const body = { ...RDAP_NET, endAddress: '192.0.3.255', cidr0_cidrs: [{ v4prefix: '192.0.2.0', length: 24 }] }
  assert.deepEqual(parseRdapNetwork(body, 'ripe', ip('192.0.3.1'), 0).cidrs, ['192.0.2.0/23'])
})

test('an RDAP body without addresses takes its range from cidr0_cidrs', () => {
  const { startAddress: _s, endAddress: _e, ...body } = RDAP_NET
  const n = parseRdapNetwork(body, 'arin', ip('192.0.2.9'), 0)
  assert.equal(formatIPv4(n.start), '192.0.2.0')
  assert.equal(formatIPv4(n.end), '192.0.2.255')
})

test('RDAP bodies that are not a usable IPv4 network are MalformedResponseErrors', () => {
  const cases: Array<[string, unknown]> = [
    ['null', null],
    ['array', [RDAP_NET]],
    ['string', 'ip network'],
    ['entity', { ...RDAP_NET, objectClassName: 'entity' }],
    ['IPv6', { ...RDAP_NET, ipVersion: 'v6', startAddress: '2001:db8::', endAddress: '2001:db8::ffff' }],
    ['start after end', { ...RDAP_NET, startAddress: '192.0.2.255', endAddress: '192.0.2.0', cidr0_cidrs: undefined }],
    ['junk address', { ...RDAP_NET, startAddress: '192.0.2.x' }],
    ['no addresses, no cidr0', { objectClassName: 'ip network', handle: 'X' }],
    ['error body', { errorCode: 404, title: 'Not Found', description: ['no such network'] }],
    ['empty object', {}]
  ]
  for (const [label, body] of cases) {
    assert.throws(() => parseRdapNetwork(body, 'apnic', ip('192.0.2.1'), 7), (err: unknown) => {
      assert.ok(err instanceof MalformedResponseError, `${label}: ${String(err)}`)
      assert.equal(err.registry, 'apnic', label)
      assert.equal(err.bytes, 7, label)
      return true
    }, label)
  }
})

test('rdapErrorInfo reads RDAP error bodies and ignores network objects', () => {
  assert.deepEqual(rdapErrorInfo({ errorCode: 429, title: 'Too Many Requests', description: ['slow down'] }), { errorCode: 429, title: 'Too Many Requests', description: ['slow down'] })
  assert.equal(rdapErrorInfo(RDAP_NET), undefined)
  assert.equal(rdapErrorInfo('nope'), undefined)
})
