/**
 * Leaves and containers (record/classify.ts): every status/type word of research B.1
 * (docs/registries.md, B.1; docs/operating.md "Leaves and containers") with the class
 * registry policy gives it, written out here independently of the implementation's table; and
 * every real registry answer in test/fixtures/registry-responses, parsed by the real parsers, with
 * the word it carries and the class that word makes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { isLeaf, networkClass, STATUS_VOCABULARY, type NetworkClass, type ParsedNetwork } from '../../src/record/index.js'
import type { RegistryId } from '../../src/registry/interface.js'
import { parseRdapNetwork } from '../../src/lookup/rdap-parser.js'
import { parseWhoisAnswer } from '../../src/lookup/whois-parser.js'
import { parseIPv4 } from '../../src/util/ipv4.js'

const L: NetworkClass = 'leaf'
const C: NetworkClass = 'container'

/** [registry, word as a registry writes it, class] */
const WORDS: Array<[RegistryId, string, NetworkClass]> = [
  // RIPE NCC (InetnumStatus and its allowed parents)
  ['ripe', 'ASSIGNED PA', L], ['ripe', 'ASSIGNED PI', L], ['ripe', 'ASSIGNED ANYCAST', L], ['ripe', 'ALLOCATED-ASSIGNED PA', L],
  ['ripe', 'ALLOCATED PA', C], ['ripe', 'SUB-ALLOCATED PA', C], ['ripe', 'LIR-PARTITIONED PA', C], ['ripe', 'AGGREGATED-BY-LIR', C],
  ['ripe', 'ALLOCATED UNSPECIFIED', C], ['ripe', 'LEGACY', C], ['ripe', 'ALLOCATED PI', C],
  // AFRINIC: the RIPE vocabulary
  ['afrinic', 'ASSIGNED PA', L], ['afrinic', 'ASSIGNED PI', L], ['afrinic', 'ASSIGNED ANYCAST', L], ['afrinic', 'ALLOCATED-ASSIGNED PA', L],
  ['afrinic', 'ALLOCATED PA', C], ['afrinic', 'SUB-ALLOCATED PA', C], ['afrinic', 'LIR-PARTITIONED PA', C], ['afrinic', 'AGGREGATED-BY-LIR', C],
  ['afrinic', 'ALLOCATED UNSPECIFIED', C], ['afrinic', 'LEGACY', C], ['afrinic', 'ALLOCATED PI', C],
  // APNIC
  ['apnic', 'ASSIGNED PORTABLE', L], ['apnic', 'ASSIGNED NON-PORTABLE', L],
  ['apnic', 'ALLOCATED PORTABLE', C], ['apnic', 'ALLOCATED NON-PORTABLE', C], ['apnic', 'ALLOCATED UNSPECIFIED', C],
  // ARIN: WHOIS NetType, RDAP type in upper case
  ['arin', 'Direct Assignment', L], ['arin', 'Reassigned', L], ['arin', 'DIRECT ASSIGNMENT', L], ['arin', 'REASSIGNMENT', L], ['arin', 'REASSIGNED', L],
  ['arin', 'Direct Allocation', C], ['arin', 'Reallocated', C], ['arin', 'DIRECT ALLOCATION', C], ['arin', 'REALLOCATION', C], ['arin', 'REALLOCATED', C],
  ['arin', 'Allocated to RIPE NCC', C], ['arin', 'Transferred to AfriNIC', C],
  // LACNIC (WHOIS lower case, RDAP "re-allocated") and NIC.br (RDAP upper case, WHOIS no status)
  ['lacnic', 'assigned', L], ['lacnic', 'reassigned', L], ['lacnic', 're-assigned', L], ['lacnic', 'DIRECT ASSIGNMENT', L],
  ['lacnic', 'allocated', C], ['lacnic', 'reallocated', C], ['lacnic', 're-allocated', C], ['lacnic', 'ALLOCATED', C], ['lacnic', 'DIRECT ALLOCATION', C]
]

test('every status and type word of the five registries is classed as registry policy says', () => {
  for (const [registry, word, cls] of WORDS) {
    assert.equal(networkClass(registry, word), cls, `${registry} "${word}"`)
    assert.equal(isLeaf(registry, word), cls === 'leaf', `${registry} "${word}" isLeaf`)
  }
})

test('the class ignores case and surrounding or repeated whitespace', () => {
  for (const [registry, word, cls] of WORDS) {
    for (const variant of [word.toLowerCase(), word.toUpperCase(), `  ${word.replace(/ /g, '   ')}\t`]) {
      assert.equal(networkClass(registry, variant), cls, `${registry} ${JSON.stringify(variant)}`)
    }
  }
})

test('an empty, unknown or other registry\'s word is a container', () => {
  for (const [registry, word] of [
    ['ripe', ''], ['arin', ''], ['lacnic', ''], ['apnic', '   '],
    ['ripe', 'ASSIGNED'], ['ripe', 'ASSIGNED PA ASSIGNED PA'], ['apnic', 'ASSIGNED'], ['ripe', 'Reassigned'],
    ['arin', 'ASSIGNED PA'], ['apnic', 'ASSIGNED PA'], ['lacnic', 'ASSIGNED PORTABLE'], ['afrinic', 'ASSIGNED PORTABLE'],
    ['arin', 'Assigned'], ['ripe', 'unknown status']
  ] as Array<[RegistryId, string]>) {
    assert.equal(isLeaf(registry, word), false, `${registry} ${JSON.stringify(word)}`)
  }
})

test('the implementation knows no word this table does not class', () => {
  const known = new Set(WORDS.map(([r, w, c]) => `${r}|${w.toUpperCase()}|${c}`))
  for (const [registry, v] of Object.entries(STATUS_VOCABULARY) as Array<[RegistryId, typeof STATUS_VOCABULARY.arin]>) {
    for (const w of v.leaf) assert.ok(known.has(`${registry}|${w.toUpperCase()}|leaf`), `${registry} leaf word "${w}" is not in the test table`)
    for (const w of v.container) assert.ok(known.has(`${registry}|${w.toUpperCase()}|container`), `${registry} container word "${w}" is not in the test table`)
  }
})

const FIXTURES = fileURLToPath(new URL('../fixtures/registry-responses/', import.meta.url))

/** Each real answer's status/type word as read off the file by eye, and its class. */
const FIXTURE_CLASSES: Record<string, [string, NetworkClass]> = {
  'arin-whois-74.125.225.229.txt': ['Direct Allocation', C],
  'arin-rdap-74.125.225.229.json': ['', C], // ARIN's 2014 RDAP printed no type
  'ripe-whois-62.239.237.1.txt': ['ASSIGNED PA', L],
  'ripe-rdap-62.239.237.1.json': ['ASSIGNED PA', L],
  'apnic-whois-210.107.73.73.txt': ['ALLOCATED PORTABLE', C],
  'apnic-rdap-210.107.73.73.json': ['ALLOCATED PORTABLE', C],
  'lacnic-whois-200.57.141.161.txt': ['allocated', C],
  'afrinic-whois-196.11.240.215.txt': ['ASSIGNED PI', L],
  'afrinic-rdap-196.11.240.215.json': ['ASSIGNED PI', L],
  'ripe-whois-151.99.187.181.txt': ['ASSIGNED PA', L],
  'ripe-whois-62.97.102.115.txt': ['ASSIGNED PA', L],
  'apnic-whois-218.165.121.114.txt': ['ASSIGNED NON-PORTABLE', L], // KRNIC's assignment inside APNIC's allocation
  'lacnic-whois-200.44.33.31.txt': ['allocated', C],
  'lacnic-whois-200.165.206.74.txt': ['', C], // NIC.br prints no status
  'arin-whois-63.95.254.3.txt': ['Reallocated', C],
  'arin-whois-70.84.47.210.txt': ['Direct Allocation', C],
  'afrinic-whois-66.18.70.6.txt': ['ASSIGNED PA', L],
  'arin-whois-199.43.0.44.txt': ['Direct Assignment', L],
  'ripe-whois-178.18.196.0.txt': ['ALLOCATED PA', C],
  'arin-whois-104.112.180.175.txt': ['Direct Allocation', C],
  'arin-whois-104.27.35.249.txt': ['Direct Assignment', L],
  'arin-whois-18.215.84.213.txt': ['Direct Allocation', C],
  'arin-whois-184.30.55.215.txt': ['Direct Allocation', C],
  'ripe-whois-2.18.111.79.txt': ['ASSIGNED PA', L],
  'arin-whois-23.209.27.231.txt': ['Direct Allocation', C],
  'arin-whois-23.35.97.7.txt': ['Direct Allocation', C],
  'arin-whois-23.7.158.199.txt': ['Direct Allocation', C],
  'arin-whois-23.72.226.58.txt': ['Direct Allocation', C],
  'arin-whois-34.235.25.150.txt': ['Direct Allocation', C],
  'arin-whois-35.241.12.248.txt': ['Direct Allocation', C],
  'apnic-whois-36.90.184.82.txt': ['ALLOCATED PORTABLE', C],
  'arin-whois-52.23.131.147.txt': ['Direct Allocation', C],
  'arin-whois-52.33.86.253.txt': ['Direct Allocation', C],
  'afrinic-whois-137.158.0.0.txt': ['ASSIGNED PI', L],
  'arin-rdap-108.45.128.208.json': ['', C], // no type in this 2017 ARIN answer
  'ripe-rdap-194.85.61.205.json': ['ASSIGNED PA', L],
  'apnic-rdap-61.181.2.38.json': ['ALLOCATED PORTABLE', C],
  'lacnic-rdap-201.127.0.1.json': ['re-allocated', C],
  'lacnic-rdap-187.36.192.120.json': ['DIRECT ALLOCATION', C], // NIC.br RDAP
  'afrinic-rdap-196.216.2.20.json': ['ASSIGNED PI', L],
  'apnic-rdap-1.1.1.1.json': ['ASSIGNED PORTABLE', L],
  'ripe-rdap-130.59.31.80.json': ['LEGACY', C],
  'arin-rdap-13.72.183.192.json': ['DIRECT ALLOCATION', C],
  'arin-rdap-3.3.3.3.json': ['DIRECT ALLOCATION', C],
  'ripe-rdap-193.0.6.139.json': ['ASSIGNED PA', L],
  'apnic-rdap-1.1.1.1-rdap_client.json': ['ASSIGNED PORTABLE', L],
  'lacnic-rdap-179.0.0.0.json': ['assigned', L],
  'lacnic-rdap-177.0.0.0.json': ['ALLOCATED', C], // NIC.br RDAP
  'afrinic-rdap-41.0.0.0.json': ['ASSIGNED PA', L],
  'arin-rdap-192.198.0.0.json': ['DIRECT ALLOCATION', C]
}

/** LACNIC's old RDAP echoed the query as a /32: the parser rejects it, so it has no class */
const NOT_A_NETWORK = new Set(['lacnic-rdap-200.57.141.161.json'])

interface IndexEntry { file: string, registry: RegistryId, kind: 'rdap' | 'whois', query_ip: string | null }

test('every real registry answer, parsed by the real parsers, carries its status word and the class it makes', () => {
  const index = JSON.parse(readFileSync(`${FIXTURES}index.json`, 'utf8')) as IndexEntry[]
  assert.equal(index.length, Object.keys(FIXTURE_CLASSES).length + NOT_A_NETWORK.size, 'every fixture has an expected class')
  let leaves = 0
  for (const e of index) {
    if (NOT_A_NETWORK.has(e.file)) continue
    const want = FIXTURE_CLASSES[e.file]
    assert.ok(want !== undefined, `${e.file}: no expected class`)
    const named = /-(\d+\.\d+\.\d+\.\d+)(?:-[\w]+)?\.(?:json|txt)$/.exec(e.file)
    const query = parseIPv4(e.query_ip != null && e.query_ip !== 'unknown' ? e.query_ip : named?.[1] ?? '')
    const text = readFileSync(FIXTURES + e.file, 'utf8')
    let network: ParsedNetwork
    if (e.kind === 'rdap') {
      network = parseRdapNetwork(JSON.parse(text), e.registry, query, text.length)
    } else {
      const a = parseWhoisAnswer(text, e.registry, query)
      assert.equal(a.kind, 'network', `${e.file}: ${JSON.stringify(a)}`)
      network = (a as { kind: 'network', network: ParsedNetwork }).network
    }
    assert.equal(network.type, want[0], `${e.file}: type`)
    assert.equal(networkClass(network.registry, network.type), want[1], `${e.file}: class of "${network.type}"`)
    if (want[1] === 'leaf') leaves++
  }
  assert.ok(leaves >= 15 && leaves < index.length - 15, `the fixtures hold both classes (${leaves} leaves)`)
})
