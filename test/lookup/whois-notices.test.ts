/**
 * The WHOIS parser on the registries' notices: not-found answers, rate limits with and without a
 * time to wait, and bans; words like "limit" inside an object's attributes are not a notice. (The
 * wordings the registries and NIC.br really use, end to end: whois-refusals.test.ts.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { RegistryId } from '../../src/registry/interface.js'
import { parseIPv4 as ip } from '../../src/util/ipv4.js'
import { parseWhoisAnswer } from '../../src/lookup/whois-parser.js'
import { expectNetwork } from '../helpers/registry-fixtures.js'

// ---------------------------------------------------------------------------------------------
// WHOIS: not found, rate limits, bans

test('not-found answers of the registries are recognised', () => {
  const cases: Array<[string, RegistryId, string]> = [
    ['ripe', 'ripe', '% This is the RIPE Database query service.\n\n%ERROR:101: no entries found\n%\n% No entries found in source RIPE.\n'],
    ['apnic', 'apnic', '% [whois.apnic.net]\r\n% Whois data copyright terms\r\n\r\n%ERROR:101: no entries found\r\n'],
    ['arin', 'arin', '\n#\n# ARIN WHOIS data and services are subject to the Terms of Use\n#\n\nNo match found for n + 10.9.8.7.\n\n#\n'],
    ['lacnic', 'lacnic', '\r\n% Joint Whois - whois.lacnic.net\r\n\r\n% No match for "10.9.8.7"\r\n']
  ]
  for (const [label, registry, text] of cases) {
    const a = parseWhoisAnswer(text, registry, ip('10.9.8.7'))
    assert.equal(a.kind, 'not-found', `${label}: ${JSON.stringify(a)}`)
  }
})

test('rate-limit answers without a time give rate-limited without retryAfterMs', () => {
  for (const text of ['% Query rate limit exceeded\n', '%ERROR:202: access control limit reached for 192.0.2.1\n', '% Excessive querying, slow down\r\n']) {
    const a = parseWhoisAnswer(text, 'lacnic', ip('200.1.1.1'))
    assert.equal(a.kind, 'rate-limited', `${JSON.stringify(text)}: ${JSON.stringify(a)}`)
    assert.equal((a as { retryAfterMs?: number }).retryAfterMs, undefined, JSON.stringify(text))
  }
})

test('rate-limit answers with a time give retryAfterMs in milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['% Query rate limit exceeded. Retry after 300 seconds\n', 300_000],
    ['Query rate limit exceeded\nPlease try again in 5 minutes.\n', 300_000],
    ['ERROR: Too many queries, wait 30s\n', 30_000]
  ]
  for (const [text, ms] of cases) {
    const a = parseWhoisAnswer(text, 'arin', ip('8.8.8.8'))
    assert.equal(a.kind, 'rate-limited', `${JSON.stringify(text)}: ${JSON.stringify(a)}`)
    assert.equal((a as { retryAfterMs?: number }).retryAfterMs, ms, JSON.stringify(text))
  }
})

test('an access-denied answer is a ban', () => {
  const text = '%ERROR:201: access denied for 192.0.2.1\n%\n% Sorry, access from your host has been permanently\n% denied because of a repeated excessive querying.\n'
  const a = parseWhoisAnswer(text, 'ripe', ip('193.0.6.139'))
  assert.equal(a.kind, 'banned', JSON.stringify(a))
})

test('words like "limit" inside object attributes do not make an answer rate-limited', () => {
  const text = [
    'inetnum:        192.0.2.0 - 192.0.2.255',
    'netname:        LIMITS-NET',
    'descr:          Query rate limit exceeded testing lab',
    'remarks:        access denied to strangers',
    'country:        NL',
    'source:         RIPE',
    '',
    ''
  ].join('\n')
  const n = expectNetwork(parseWhoisAnswer(text, 'ripe', ip('192.0.2.1')), 'attributes')
  assert.equal(n.name, 'LIMITS-NET')
})
