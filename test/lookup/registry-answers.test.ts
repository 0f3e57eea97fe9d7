/**
 * Every real registry answer in test/fixtures/registry-responses/ (RDAP JSON and WHOIS text of the
 * five registries and NIC.br) parses as the network containing its query address, with the values
 * read off the files by eye where listed, or is rejected as malformed where it must be; and the
 * WHOIS and RDAP answers for the same address agree on the network's identity and class.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { isRegistryId, type RegistryId } from '../../src/registry/interface.js'
import { formatIPv4, parseCidr, parseIPv4 as ip } from '../../src/util/ipv4.js'
import { MalformedResponseError } from '../../src/lookup/errors.js'
import { isLeaf, type ParsedNetwork } from '../../src/record/index.js'
import { parseRdapNetwork } from '../../src/lookup/rdap-parser.js'
import { parseWhoisAnswer } from '../../src/lookup/whois-parser.js'
import { FIXTURES, expectNetwork, fixtureIndex, queryOf } from '../helpers/registry-fixtures.js'

/** The CIDRs exactly tile [start, end], in order. */
function assertCidrsCover (n: ParsedNetwork, file: string): void {
  assert.ok(n.cidrs.length > 0, `${file}: no cidrs`)
  let next = n.start
  for (const c of n.cidrs) {
    const p = parseCidr(c)
    assert.equal(p.start, next, `${file}: cidr ${c} does not start at ${formatIPv4(next)}`)
    next = p.end + 1
  }
  assert.equal(next, n.end + 1, `${file}: cidrs ${n.cidrs.join(', ')} do not end at ${formatIPv4(n.end)}`)
}

/** Values read off the fixture files by eye. `start`/`end` as dotted text. */
type Expected = Partial<Omit<ParsedNetwork, 'start' | 'end'>> & { start?: string, end?: string }

const EXPECTED: Record<string, Expected> = {
  'arin-whois-74.125.225.229.txt': {
    start: '74.125.0.0', end: '74.125.255.255', handle: 'NET-74-125-0-0-1', name: 'GOOGLE', org: 'Google Inc.', country: 'US',
    type: 'Direct Allocation', parentHandle: 'NET-74-0-0-0-0', registered: '2007-03-13', lastChanged: '2012-02-24', cidrs: ['74.125.0.0/16']
  },
  // ARIN RDAP, zero-padded "074.125.000.000"; no country field: the registrant's address says UNITED STATES
  'arin-rdap-74.125.225.229.json': {
    start: '74.125.0.0', end: '74.125.255.255', handle: 'NET-74-125-0-0-1', name: 'GOOGLE', org: 'Google Inc.', country: 'US',
    parentHandle: 'NET-74-0-0-0-0', registered: '2007-03-13T12:09:54-04:00', lastChanged: '2012-02-24T09:44:34-05:00'
  },
  // zero-padded "108.000.000.000" - "108.057.255.255", no cidr0: computed
  'arin-rdap-108.45.128.208.json': {
    start: '108.0.0.0', end: '108.57.255.255', handle: 'NET-108-0-0-0-1', name: 'VIS-BLOCK',
    org: 'MCI Communications Services, Inc. d/b/a Verizon Business', country: 'US',
    cidrs: ['108.0.0.0/11', '108.32.0.0/12', '108.48.0.0/13', '108.56.0.0/15']
  },
  'arin-rdap-13.72.183.192.json': {
    start: '13.64.0.0', end: '13.107.255.255', handle: 'NET-13-64-0-0-1', name: 'MSFT', org: 'Microsoft Corporation',
    type: 'DIRECT ALLOCATION', cidrs: ['13.64.0.0/11', '13.96.0.0/13', '13.104.0.0/14']
  },
  // two CIDR lines out of order in the answer
  'arin-whois-35.241.12.248.txt': {
    start: '35.208.0.0', end: '35.247.255.255', handle: 'NET-35-208-0-0-1', name: 'GOOGLE-CLOUD', org: 'Google LLC', country: 'US',
    cidrs: ['35.208.0.0/12', '35.224.0.0/12', '35.240.0.0/13']
  },
  // ReferralServer to an ISP's rwhois: still ARIN's network
  'arin-whois-63.95.254.3.txt': {
    start: '63.95.254.0', end: '63.95.255.255', handle: 'NET-63-95-254-0-1', name: 'UU-63-95-254-D4', org: 'GEORGIA PUBLIC WEB, INC.',
    country: 'US', type: 'Reallocated', parentHandle: 'NET-63-64-0-0-1'
  },
  // old RIPE RDAP: "62.239.237.0/32" addresses, no objectClassName, org from the description remark
  'ripe-rdap-62.239.237.1.json': {
    start: '62.239.237.0', end: '62.239.237.255', handle: '62.239.237.0 - 62.239.237.255', name: 'BT-CORPORATE', org: 'UDC', country: 'GB',
    type: 'ASSIGNED PA'
  },
  'ripe-rdap-194.85.61.205.json': {
    start: '194.85.61.0', end: '194.85.61.255', handle: '194.85.61.0 - 194.85.61.255', name: 'RU-NCC-NET', country: 'RU',
    parentHandle: 'RU-ROSNIIROS-194-85'
  },
  'ripe-whois-62.239.237.1.txt': {
    start: '62.239.237.0', end: '62.239.237.255', handle: '62.239.237.0 - 62.239.237.255', name: 'BT-CORPORATE', org: 'UDC', country: 'GB',
    type: 'ASSIGNED PA', registered: '2008-08-14T14:54:30Z', lastChanged: '2008-08-14T14:54:30Z'
  },
  'ripe-whois-62.97.102.115.txt': {
    start: '62.97.102.112', end: '62.97.102.119', handle: '62.97.102.112 - 62.97.102.119', name: 'NET-ES-AVANCEM-AMB-VOSTE-SL',
    org: 'Avancem amb Voste S.L.', country: 'ES', cidrs: ['62.97.102.112/29']
  },
  // APNIC's own /17 wins over the wider KRNIC mirror object
  'apnic-whois-210.107.73.73.txt': {
    start: '210.107.0.0', end: '210.107.127.255', handle: '210.107.0.0 - 210.107.127.255', name: 'BORANET-NET-210-107', org: 'DACOM Corp.',
    country: 'KR', type: 'ALLOCATED PORTABLE', lastChanged: '2002-10-25'
  },
  // the TWNIC object is more specific than APNIC's
  'apnic-whois-218.165.121.114.txt': {
    start: '218.165.0.0', end: '218.165.255.255', handle: '218.165.0.0 - 218.165.255.255', name: 'HINET-NET', org: 'Chunghwa Telecom Co.,Ltd.',
    country: 'TW', type: 'ASSIGNED NON-PORTABLE'
  },
  // org-name of the referenced organisation, not the descr
  'apnic-whois-36.90.184.82.txt': {
    start: '36.64.0.0', end: '36.95.255.255', name: 'TELKOMNET', org: 'Telekomunikasi Indonesia (PT)', country: 'ID'
  },
  'afrinic-whois-196.11.240.215.txt': {
    start: '196.11.239.0', end: '196.11.246.255', handle: '196.11.239.0 - 196.11.246.255', name: 'NET-196-11-239-0', org: 'MTN SA',
    country: 'ZA', parentHandle: '196.0.0.0 - 196.255.255.255'
  },
  'afrinic-whois-66.18.70.6.txt': {
    start: '66.18.70.0', end: '66.18.70.255', handle: '66.18.70.0 - 66.18.70.255', name: 'SENTECH-ISP9-ZA', org: 'Sentech Ltd - ISP Mail',
    country: 'ZA', type: 'ASSIGNED PA', parentHandle: '66.18.64.0 - 66.18.95.255'
  },
  // IANA -> ARIN (Transferred to AfriNIC) -> AFRINIC chain: the last section is the answer
  'afrinic-whois-137.158.0.0.txt': {
    start: '137.158.0.0', end: '137.158.255.255', handle: '137.158.0.0 - 137.158.255.255', name: 'UCTNET-B', org: 'University of Cape Town',
    country: 'ZA', type: 'ASSIGNED PI'
  },
  // CRLF, abbreviated "200.57.128/19"
  'lacnic-whois-200.57.141.161.txt': {
    start: '200.57.128.0', end: '200.57.159.255', handle: '200.57.128.0/19', name: '', org: 'Triara.com, S.A. de C.V.', country: 'MX',
    type: 'allocated', registered: '2000-12-04', lastChanged: '2014-07-16', cidrs: ['200.57.128.0/19']
  },
  // answered by NIC.br
  'lacnic-whois-200.165.206.74.txt': {
    start: '200.165.0.0', end: '200.165.255.255', handle: '200.165.0.0/16', org: 'V tal', country: 'BR', registered: '2001-05-22'
  },
  // NIC.br RDAP
  'lacnic-rdap-177.0.0.0.json': {
    start: '177.0.0.0', end: '177.3.255.255', handle: '177.0.0.0/14', org: 'Brasil Telecom S/A - Filial Distrito Federal', country: 'BR',
    type: 'ALLOCATED'
  },
  'lacnic-rdap-201.127.0.1.json': {
    start: '201.127.0.0', end: '201.127.255.255', handle: '201.127.0.0/16', name: '', org: 'Uninet S.A. de C.V.', country: ''
  }
}

/**
 * Files that must not parse as a network. LACNIC's old RDAP server answered 200.57.141.161 with
 * start = end = handle = the queried address: an echo, not the registry's /19 (the WHOIS answer
 * for the same address has the real network).
 */
const REJECTED: Record<string, RegExp> = {
  'lacnic-rdap-200.57.141.161.json': /echoed the queried address/
}

function checkExpected (n: ParsedNetwork, file: string): void {
  const exp = EXPECTED[file]
  if (exp === undefined) return
  for (const [key, value] of Object.entries(exp)) {
    const actual = key === 'start' || key === 'end' ? formatIPv4(n[key]) : n[key as keyof ParsedNetwork]
    assert.deepEqual(actual, value, `${file}: ${key}`)
  }
}

test('the fixture index lists 51 files and every expectation names one of them', () => {
  assert.equal(fixtureIndex.length, 51)
  const files = new Set(fixtureIndex.map(e => e.file))
  for (const f of [...Object.keys(EXPECTED), ...Object.keys(REJECTED)]) assert.ok(files.has(f), `${f} is not in index.json`)
})

for (const entry of fixtureIndex) {
  const query = queryOf(entry)
  const registry = entry.registry
  const title = REJECTED[entry.file] !== undefined
    ? `${entry.file}: the ${entry.kind} answer is rejected as malformed`
    : `${entry.file}: the ${entry.kind} answer gives the ${registry} network containing ${formatIPv4(query)}`

  test(title, () => {
    assert.ok(isRegistryId(registry), `${entry.file}: unknown registry ${registry}`)
    const reg: RegistryId = registry
    const raw = readFileSync(`${FIXTURES}${entry.file}`)
    const rejected = REJECTED[entry.file]

    if (entry.kind === 'rdap') {
      const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>
      if (rejected !== undefined) {
        assert.throws(() => parseRdapNetwork(body, reg, query, raw.length), (err: unknown) => {
          assert.ok(err instanceof MalformedResponseError, `${entry.file}: not a MalformedResponseError`)
          assert.match(err.message, rejected, entry.file)
          assert.equal(err.bytes, raw.length, entry.file)
          return true
        })
        return
      }
      const n = parseRdapNetwork(body, reg, query, raw.length)
      assert.equal(n.registry, reg, `${entry.file}: registry`)
      assert.ok(n.start <= query && query <= n.end, `${entry.file}: ${formatIPv4(n.start)} - ${formatIPv4(n.end)} does not contain ${formatIPv4(query)}`)
      assert.equal(n.handle, String(body.handle ?? '').trim(), `${entry.file}: handle`)
      if (typeof body.name === 'string' && body.name.trim() !== '') assert.equal(n.name, body.name.trim(), `${entry.file}: name`)
      if (typeof body.country === 'string') assert.equal(n.country, body.country.toUpperCase(), `${entry.file}: country`)
      assert.match(n.country, /^([A-Z]{2})?$/, `${entry.file}: country format`)
      assertCidrsCover(n, entry.file)
      checkExpected(n, entry.file)
      return
    }

    const text = raw.toString('utf8')
    const n = expectNetwork(parseWhoisAnswer(text, reg, query), entry.file)
    assert.equal(n.registry, reg, `${entry.file}: registry`)
    assert.ok(n.start <= query && query <= n.end, `${entry.file}: ${formatIPv4(n.start)} - ${formatIPv4(n.end)} does not contain ${formatIPv4(query)}`)
    assert.notEqual(n.handle, '', `${entry.file}: handle`)
    if (/^(netname|NetName):[ \t]*\S/m.test(text)) assert.notEqual(n.name, '', `${entry.file}: name`)
    if (/^country:[ \t]*\S/im.test(text)) assert.match(n.country, /^[A-Z]{2}$/, `${entry.file}: country`)
    if (/^(owner|org-name|OrgName|descr):[ \t]*\S/m.test(text)) assert.notEqual(n.org, '', `${entry.file}: org`)
    assertCidrsCover(n, entry.file)
    checkExpected(n, entry.file)
  })
}

// ---------------------------------------------------------------------------------------------
// WHOIS and RDAP answers for the same address agree on what the network is

test('RIPE and APNIC WHOIS and RDAP answers for the same address give the same network identity', () => {
  for (const [registry, address] of [['ripe', '62.239.237.1'], ['apnic', '210.107.73.73']] as const) {
    const whoisFile = `${registry}-whois-${address}.txt`
    const rdapFile = `${registry}-rdap-${address}.json`
    const w = expectNetwork(parseWhoisAnswer(readFileSync(`${FIXTURES}${whoisFile}`, 'utf8'), registry, ip(address)), whoisFile)
    const r = parseRdapNetwork(JSON.parse(readFileSync(`${FIXTURES}${rdapFile}`, 'utf8')), registry, ip(address), 0)
    for (const key of ['start', 'end', 'registry', 'handle', 'name', 'org', 'country'] as const) {
      assert.equal(w[key], r[key], `${address}: ${key} differs between WHOIS and RDAP`)
    }
  }
})

test('ARIN WHOIS and RDAP answers for 74.125.225.229 give the same network identity', () => {
  const w = expectNetwork(parseWhoisAnswer(readFileSync(`${FIXTURES}arin-whois-74.125.225.229.txt`, 'utf8'), 'arin', ip('74.125.225.229')), 'arin whois')
  const r = parseRdapNetwork(JSON.parse(readFileSync(`${FIXTURES}arin-rdap-74.125.225.229.json`, 'utf8')), 'arin', ip('74.125.225.229'), 0)
  for (const key of ['start', 'end', 'registry', 'handle', 'name', 'org', 'country'] as const) {
    assert.equal(w[key], r[key], `${key} differs between WHOIS and RDAP`)
  }
})

test('WHOIS and RDAP answers for the same network give the same class (leaf or container)', () => {
  for (const [registry, address] of [['ripe', '62.239.237.1'], ['apnic', '210.107.73.73'], ['afrinic', '196.11.240.215'], ['arin', '74.125.225.229']] as const) {
    const w = expectNetwork(parseWhoisAnswer(readFileSync(`${FIXTURES}${registry}-whois-${address}.txt`, 'utf8'), registry, ip(address)), address)
    const r = parseRdapNetwork(JSON.parse(readFileSync(`${FIXTURES}${registry}-rdap-${address}.json`, 'utf8')), registry, ip(address), 0)
    assert.equal(isLeaf(w.registry, w.type), isLeaf(r.registry, r.type), `${address}: WHOIS "${w.type}" and RDAP "${r.type}" differ in class`)
  }
})
