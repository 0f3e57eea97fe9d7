/**
 * The WHOIS parser on answers that are networks or referrals: LACNIC's "inetnum-up:" parent,
 * referrals (IANA, ARIN transfers and ReferralServer, RIPE and AFRINIC placeholder blocks), ARIN
 * answers holding several networks, line ends, and garbage or answers that miss the query address
 * (MalformedResponseError). Notices (not found, rate limits, bans) are in whois-notices.test.ts,
 * answers cut short in whois-truncation.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parseIPv4 as ip } from '../../src/util/ipv4.js'
import { MalformedResponseError } from '../../src/lookup/errors.js'
import { isLeaf } from '../../src/record/index.js'
import { parseWhoisAnswer } from '../../src/lookup/whois-parser.js'
import { FIXTURES, expectNetwork } from '../helpers/registry-fixtures.js'

test('a LACNIC or NIC.br "inetnum-up:" is the parent handle, written as LACNIC writes handles (a CIDR)', () => {
  // the real LACNIC answer with the parent line a real reallocation carries (research B.1:
  // "inetnum: 190.196.20.0/29 / status: reallocated / inetnum-up: 190.196.20.0/25"), abbreviated as LACNIC writes it
  const text = readFileSync(`${FIXTURES}lacnic-whois-200.57.141.161.txt`, 'utf8')
    .replace(/^status: +allocated(\r?\n)/m, 'status:      reallocated$1inetnum-up:  200.57/16$1')
  assert.notEqual(text, readFileSync(`${FIXTURES}lacnic-whois-200.57.141.161.txt`, 'utf8'), 'the status line was found')
  const n = expectNetwork(parseWhoisAnswer(text, 'lacnic', ip('200.57.141.161')), 'lacnic with inetnum-up')
  assert.equal(n.handle, '200.57.128.0/19')
  assert.equal(n.parentHandle, '200.57.0.0/16')
  assert.equal(n.type, 'reallocated')
  assert.equal(isLeaf(n.registry, n.type), false, 'a reallocation may be subdivided: a container')
  const bare = expectNetwork(parseWhoisAnswer(readFileSync(`${FIXTURES}lacnic-whois-200.57.141.161.txt`, 'utf8'), 'lacnic', ip('200.57.141.161')), 'lacnic')
  assert.equal(bare.parentHandle, '', 'no inetnum-up: no parent')
})

// ---------------------------------------------------------------------------------------------
// WHOIS: referrals

test('an ARIN answer with NetType "Transferred to AfriNIC" is a referral to AFRINIC', () => {
  const chain = readFileSync(`${FIXTURES}afrinic-whois-137.158.0.0.txt`, 'utf8')
  const arinSection = chain.split('# whois.arin.net')[1].split('# whois.afrinic.net')[0]
  assert.deepEqual(parseWhoisAnswer(arinSection, 'arin', ip('137.158.1.1')), { kind: 'referral', registry: 'afrinic', host: 'whois.afrinic.net' })
})

test('an IANA answer is a referral to the WHOIS server it names', () => {
  const chain = readFileSync(`${FIXTURES}afrinic-whois-137.158.0.0.txt`, 'utf8')
  const ianaSection = chain.split('# whois.arin.net')[0]
  assert.deepEqual(parseWhoisAnswer(ianaSection, 'arin', ip('137.158.1.1')), { kind: 'referral', registry: 'arin', host: 'whois.arin.net' })
})

test('an ARIN network allocated to RIPE NCC with a ReferralServer is a referral to RIPE with its host and port', () => {
  const text = [
    'NetRange:       62.0.0.0 - 62.255.255.255',
    'CIDR:           62.0.0.0/8',
    'NetName:        RIPE-62',
    'NetHandle:      NET-62-0-0-0-0',
    'NetType:        Allocated to RIPE NCC',
    '',
    'ReferralServer:  whois://whois.ripe.net:43',
    '',
    ''
  ].join('\n')
  assert.deepEqual(parseWhoisAnswer(text, 'arin', ip('62.1.2.3')), { kind: 'referral', registry: 'ripe', host: 'whois.ripe.net', port: 43 })
})

test('a RIPE placeholder block that lists several registries is a referral without a target', () => {
  const text = [
    '% Information related to \'6.0.0.0 - 13.115.255.255\'',
    '',
    'inetnum:        6.0.0.0 - 13.115.255.255',
    'netname:        NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK',
    'descr:          IPv4 address block not managed by the RIPE NCC',
    'remarks:        ARIN (Northern America) whois.arin.net',
    'remarks:        APNIC (Asia Pacific) whois.apnic.net',
    'country:        EU # Country is really world wide',
    'status:         ALLOCATED UNSPECIFIED',
    'source:         RIPE',
    '',
    ''
  ].join('\n')
  assert.deepEqual(parseWhoisAnswer(text, 'ripe', ip('8.8.8.8')), { kind: 'referral' })
})

test('a placeholder block that names exactly one other registry is a referral to it', () => {
  const text = [
    'inetnum:        27.0.0.0 - 27.255.255.255',
    'netname:        IANA-NETBLOCK-27',
    'descr:          This network range is not allocated to AFRINIC.',
    'descr:          Please search whois.apnic.net for it.',
    'country:        AU',
    'source:         AFRINIC',
    '',
    ''
  ].join('\n')
  assert.deepEqual(parseWhoisAnswer(text, 'afrinic', ip('27.1.2.3')), { kind: 'referral', registry: 'apnic', host: 'whois.apnic.net' })
})

// ---------------------------------------------------------------------------------------------
// WHOIS: ARIN answers with several networks

const ARIN_PARENT = [
  '# start',
  '',
  'NetRange:       198.51.0.0 - 198.51.255.255',
  'CIDR:           198.51.0.0/16',
  'NetName:        EXAMPLE-PARENT',
  'NetHandle:      NET-198-51-0-0-1',
  'Parent:         NET198 (NET-198-0-0-0-0)',
  'NetType:        Direct Allocation',
  'Organization:   Example Carrier Corp (EXCC)',
  'RegDate:        2001-02-03',
  'Updated:        2010-11-12',
  '',
  'OrgName:        Example Carrier Corp',
  'OrgId:          EXCC',
  'Country:        US',
  '',
  '# end',
  ''
].join('\n')

const ARIN_CHILD = [
  '# start',
  '',
  'NetRange:       198.51.100.0 - 198.51.100.255',
  'CIDR:           198.51.100.0/24',
  'NetName:        EXAMPLE-CUSTOMER',
  'NetHandle:      NET-198-51-100-0-1',
  'Parent:         EXAMPLE-PARENT (NET-198-51-0-0-1)',
  'NetType:        Reassigned',
  'Organization:   Example Hosting Ltd (EXHL-1)',
  'RegDate:        2015-06-07',
  'Updated:        2015-06-07',
  '',
  'OrgName:        Example Hosting Ltd',
  'OrgId:          EXHL-1',
  'Country:        CA',
  '',
  '# end',
  ''
].join('\n')

test('an ARIN answer with several networks gives the most specific one containing the query, with its own org', () => {
  for (const [label, text] of [['parent first', ARIN_PARENT + ARIN_CHILD], ['child first', ARIN_CHILD + ARIN_PARENT]]) {
    const n = expectNetwork(parseWhoisAnswer(text, 'arin', ip('198.51.100.7')), label)
    assert.equal(n.handle, 'NET-198-51-100-0-1', label)
    assert.equal(n.org, 'Example Hosting Ltd', label)
    assert.equal(n.country, 'CA', label)
    assert.equal(n.parentHandle, 'NET-198-51-0-0-1', label)
  }
})

test('an ARIN answer with several networks gives the wider one when only it contains the query', () => {
  const n = expectNetwork(parseWhoisAnswer(ARIN_PARENT + ARIN_CHILD, 'arin', ip('198.51.7.7')), 'multi-net')
  assert.equal(n.handle, 'NET-198-51-0-0-1')
  assert.equal(n.org, 'Example Carrier Corp')
  assert.equal(n.country, 'US')
})

test('an ARIN answer with several networks and an unknown query address gives the most specific one', () => {
  const n = expectNetwork(parseWhoisAnswer(ARIN_PARENT + ARIN_CHILD, 'arin', -1), 'multi-net')
  assert.equal(n.handle, 'NET-198-51-100-0-1')
})

// ---------------------------------------------------------------------------------------------
// WHOIS: line ends and garbage

test('CRLF, CR CR LF and lone CR line ends parse the same as LF', () => {
  const lf = readFileSync(`${FIXTURES}ripe-whois-62.239.237.1.txt`, 'utf8').replace(/\r/g, '')
  const want = parseWhoisAnswer(lf, 'ripe', ip('62.239.237.1'))
  for (const [label, eol] of [['CRLF', '\r\n'], ['CR CR LF', '\r\r\n'], ['CR', '\r']]) {
    assert.deepEqual(parseWhoisAnswer(lf.replace(/\n/g, eol), 'ripe', ip('62.239.237.1')), want, label)
  }
})

test('garbage WHOIS text is a MalformedResponseError carrying the registry and size', () => {
  const cases = [
    '',
    '<html><body><h1>502 Bad Gateway</h1></body></html>',
    'hello: world\nfoo: bar\n',
    'inetnum:        banana - 10.0.0.255\nnetname: X\n',
    'NetRange:       10.0.0.255 - 10.0.0.0\nNetName: BACKWARDS\n',
    '% only comments\n% and more comments\n'
  ]
  for (const text of cases) {
    assert.throws(() => parseWhoisAnswer(text, 'ripe', ip('10.0.0.1')), (err: unknown) => {
      assert.ok(err instanceof MalformedResponseError, `${JSON.stringify(text)}: ${String(err)}`)
      assert.equal(err.registry, 'ripe')
      assert.equal(err.bytes, Buffer.byteLength(text))
      return true
    }, JSON.stringify(text))
  }
})

test('a WHOIS answer whose networks do not contain the query address is a MalformedResponseError', () => {
  const text = readFileSync(`${FIXTURES}arin-whois-74.125.225.229.txt`, 'utf8')
  assert.throws(() => parseWhoisAnswer(text, 'arin', ip('8.8.8.8')), MalformedResponseError)
  const rpsl = readFileSync(`${FIXTURES}ripe-whois-62.239.237.1.txt`, 'utf8')
  assert.throws(() => parseWhoisAnswer(rpsl, 'ripe', ip('62.239.238.1')), MalformedResponseError)
})
