import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateSortedSample, inSampleSlice, isSampleAddress, sampleRank, shuffledSample, sampleSlice, sliceSizeOf, SAMPLE_SIZE } from '../src/sample/index.js'
import { prng } from '../src/util/prng.js'
import { formatIPv4, parseIPv4 } from '../src/util/ipv4.js'

test('the sample has exactly 4,706,768 distinct addresses', () => {
  const s = generateSortedSample()
  assert.equal(s.length, 4_706_768)
  assert.equal(SAMPLE_SIZE, 4_706_768)
  for (let i = 1; i < s.length; i++) {
    if (s[i] <= s[i - 1]) assert.fail(`not strictly ascending at index ${i}`)
  }
})

test('the sample leaves out excluded /8s, private, link-local, multicast and reserved space', () => {
  const s = new Set(generateSortedSample())
  for (const ip of ['3.0.0.1', '10.0.0.1', '127.0.0.1', '172.16.0.1', '172.31.252.193', '192.168.0.1', '169.254.0.1', '224.0.0.1', '240.0.0.1', '255.255.252.193', '1.0.1.1', '1.0.0.2']) {
    assert.equal(s.has(parseIPv4(ip)), false, `${ip} must not be in the sample`)
  }
  for (const ip of ['1.0.0.1', '1.0.0.193', '1.255.252.193', '172.15.0.1', '172.32.0.1', '192.167.12.65', '223.255.252.193', '169.253.0.1']) {
    assert.equal(s.has(parseIPv4(ip)), true, `${ip} must be in the sample`)
  }
})

test('the shuffled order is a deterministic permutation of the sample', () => {
  const a = shuffledSample()
  const sorted = Uint32Array.from(a).sort()
  assert.deepEqual(sorted, generateSortedSample())
  // pinned: the first addresses of the documented seed's order never change
  const first = Array.from(a.subarray(0, 3), formatIPv4)
  assert.deepEqual(first, ['207.48.60.1', '144.211.168.129', '158.60.60.193'], 'the seed or the shuffle changed: every node of a fleet must run the same version')
  assert.deepEqual(Array.from(sampleSlice(3), formatIPv4), first)
  assert.notDeepEqual(first, Array.from(generateSortedSample().subarray(0, 3), formatIPv4))
})

test('a sample limit takes a spread-out prefix of the shuffled order', () => {
  const s = sampleSlice(20000)
  const octets = new Set(Array.from(s, ip => ip >>> 24))
  assert.ok(octets.size > 150, `only ${octets.size} distinct /8s in 20k addresses`)
})

test('isSampleAddress says exactly which addresses are in the sample', () => {
  const sorted = generateSortedSample()
  for (const a of sorted) if (!isSampleAddress(a)) assert.fail(`${formatIPv4(a)} is in the sample, isSampleAddress says no`)
  const inSorted = (x: number): boolean => {
    let lo = 0
    let hi = sorted.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (sorted[mid] === x) return true
      if (sorted[mid] < x) lo = mid + 1
      else hi = mid - 1
    }
    return false
  }
  // random addresses, and random ones moved onto the rule's third and fourth octets (most of those are in it)
  const next = prng(7)
  const fourth = [1, 65, 129, 193]
  for (let i = 0; i < 400_000; i++) {
    const r = next() >>> 0
    const x = i % 2 === 0 ? r : ((r & 0xffff0000) | ((((r >>> 8) & 0xff) % 22) * 12) << 8 | fourth[r & 3]) >>> 0
    if (isSampleAddress(x) !== inSorted(x)) assert.fail(`isSampleAddress(${formatIPv4(x)}) is ${String(isSampleAddress(x))}`)
  }
  for (const ip of ['8.8.8.8', '0.0.0.1', '10.0.0.1', '192.168.0.1', '1.0.1.1', '207.48.60.1']) {
    assert.equal(isSampleAddress(parseIPv4(ip)), inSorted(parseIPv4(ip)), ip)
  }
})

test('sampleRank is the position in the shuffled order; inSampleSlice(a, n) holds for ranks below n only; sliceSizeOf recognises a slice', () => {
  const all = shuffledSample()
  for (const i of [0, 1, 999, 1000, 1001, 123_456, SAMPLE_SIZE - 2, SAMPLE_SIZE - 1]) assert.equal(sampleRank(all[i]), i)
  for (let i = 0; i < all.length; i += 4099) assert.equal(sampleRank(all[i]), i)
  for (const n of [1, 1000, 4000, 200_000, 1_000_000, SAMPLE_SIZE - 1]) { // a sorted copy of the slice, then the rank table
    assert.equal(inSampleSlice(all[n - 1], n), true, `rank ${n - 1} is in the first ${n}`)
    assert.equal(inSampleSlice(all[n], n), false, `rank ${n} is not in the first ${n}`)
  }
  assert.equal(inSampleSlice(all[SAMPLE_SIZE - 1], SAMPLE_SIZE), true)
  // not sample addresses: no rank, in no slice (the full one included)
  for (const a of [0, all[5] + 1, all[5] - 1, all[5] + 2, 0x0a000041]) {
    assert.equal(sampleRank(a), -1)
    assert.equal(inSampleSlice(a, SAMPLE_SIZE), false)
  }
  assert.equal(sliceSizeOf(sampleSlice(4000)), 4000)
  assert.equal(sliceSizeOf(Uint32Array.from(sampleSlice(4000))), 4000, 'a copy of a slice')
  assert.equal(sliceSizeOf(sampleSlice()), SAMPLE_SIZE)
  const swapped = Uint32Array.from(sampleSlice(4000))
  ;[swapped[10], swapped[11]] = [swapped[11], swapped[10]]
  assert.equal(sliceSizeOf(swapped), undefined, 'the same addresses in another order')
  assert.equal(sliceSizeOf(all.subarray(1, 100)), undefined, 'not from the start')
  assert.equal(sliceSizeOf(new Uint32Array(0)), undefined)
})
