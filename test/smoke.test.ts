import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rangeToCidrs, parseCidr, parseIPv4, formatIPv4 } from '../src/util/ipv4.js'

test('rangeToCidrs covers a range with the fewest aligned blocks', () => {
  assert.deepEqual(rangeToCidrs(parseIPv4('1.0.0.0'), parseIPv4('1.0.2.255')), ['1.0.0.0/23', '1.0.2.0/24'])
  assert.deepEqual(rangeToCidrs(0, 0xffffffff), ['0.0.0.0/0'])
})

test('parseCidr accepts LACNIC abbreviated prefixes', () => {
  const r = parseCidr('200.57.128/19')
  assert.equal(formatIPv4(r.start), '200.57.128.0')
  assert.equal(formatIPv4(r.end), '200.57.159.255')
})

test('parseIPv4 accepts zero-padded octets and rejects junk', () => {
  assert.equal(parseIPv4('108.000.000.000'), parseIPv4('108.0.0.0'))
  assert.throws(() => parseIPv4('1.2.3'))
  assert.throws(() => parseIPv4('1.2.3.256'))
})
