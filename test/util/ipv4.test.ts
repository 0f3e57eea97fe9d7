/**
 * util/ipv4.ts checked against ip-num, an independent implementation: whoismesh keeps its own
 * parser (registries write zero-padded octets and abbreviated CIDRs that ip-num rejects, and the
 * parsers and validation call it per record) and its own range→CIDR decomposition (ip-num has none).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { IPv4, IPv4CidrRange } from 'ip-num'
import { formatIPv4, parseCidr, parseIPv4, rangeToCidrs, tryParseIPv4 } from '../../src/util/ipv4.js'
import { prngFloat } from '../../src/util/prng.js'

/** ranges of every shape: single addresses, aligned blocks, ranges crossing many block sizes */
function randomRanges (count: number): Array<[number, number]> {
  const rand = prngFloat(11)
  const u32 = (): number => Math.floor(rand() * 2 ** 32)
  const out: Array<[number, number]> = [[0, 0xffffffff], [0, 0], [0xffffffff, 0xffffffff], [0x0a000000, 0x0affffff]]
  for (let i = 0; i < count; i++) {
    const start = u32()
    const span = Math.floor(rand() ** 4 * 2 ** (1 + Math.floor(rand() * 32)))
    out.push([start, Math.min(0xffffffff, start + span)])
  }
  return out
}

test('rangeToCidrs returns consecutive blocks that ip-num reads as the exact range, none mergeable', () => {
  for (const [start, end] of randomRanges(3000)) {
    const what = `${formatIPv4(start)}-${formatIPv4(end)}`
    const blocks = rangeToCidrs(start, end).map(c => IPv4CidrRange.fromCidr(c))
    assert.equal(Number(blocks[0].getFirst().getValue()), start, `${what}: first block starts at the range's start`)
    assert.equal(Number(blocks[blocks.length - 1].getLast().getValue()), end, `${what}: last block ends at the range's end`)
    for (let i = 1; i < blocks.length; i++) {
      assert.ok(blocks[i - 1].isConsecutive(blocks[i]), `${what}: block ${i} follows block ${i - 1}`)
      // the fewest blocks: no two neighbours form one larger block
      assert.ok(!blocks[i - 1].isCidrMergeable(blocks[i]), `${what}: blocks ${i - 1} and ${i} could be one block`)
    }
    for (const b of blocks) assert.equal(b.toCidrString(), `${formatIPv4(Number(b.getFirst().getValue()))}/${b.getPrefix().getValue()}`, `${what}: ${b.toCidrString()} is aligned`)
  }
})

test('parseIPv4 and parseCidr agree with ip-num on canonical text', () => {
  const rand = prngFloat(12)
  for (let i = 0; i < 5000; i++) {
    const text = formatIPv4(Math.floor(rand() * 2 ** 32))
    assert.equal(parseIPv4(text), Number(IPv4.fromString(text).getValue()), text)
    const cidr = `${text}/${Math.floor(rand() * 33)}`
    const theirs = IPv4CidrRange.fromCidr(cidr)
    const ours = parseCidr(cidr)
    assert.deepEqual([ours.start, ours.end], [Number(theirs.getFirst().getValue()), Number(theirs.getLast().getValue())], cidr)
  }
})

test('parseIPv4 also reads the zero-padded octets registries write, which ip-num rejects', () => {
  assert.equal(parseIPv4('074.125.000.000'), parseIPv4('74.125.0.0'))
  assert.throws(() => IPv4.fromString('074.125.000.000'))
  assert.deepEqual(parseCidr('200.57.128/19'), parseCidr('200.57.128.0/19'))
})

test('parseIPv4 rejects what is not four decimal octets of at most three digits, as ip-num does', () => {
  const bad = ['', '1.2.3', '1.2.3.4.', '.1.2.3', '1..2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.0256', '1.2.3.-4', '1.2.3.4/24', 'a.b.c.d', '1.2.3.4x', '1.2. 3.4', '0x1.2.3.4']
  for (const text of bad) {
    assert.throws(() => parseIPv4(text), { name: 'InvalidAddressError' }, text)
    assert.equal(tryParseIPv4(text), undefined, text)
    assert.throws(() => IPv4.fromString(text), Error, `ip-num accepts "${text}"`)
  }
  assert.equal(parseIPv4(' 255.255.255.255\t'), 2 ** 32 - 1)
  assert.equal(tryParseIPv4('0.0.0.0'), 0)
})
