import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CoverageUnion } from '../../src/store/coverage.js'
import { rng } from './helpers/records.js'

const REGION = 1 << 24 // 0.0.0.0 – 0.255.255.255: 256 buckets, small enough for a bitmap

function check (union: CoverageUnion, bitmap: Uint8Array, random: () => number, label: string): void {
  let total = 0
  for (let a = 0; a < REGION; a++) total += bitmap[a]
  assert.equal(union.size, total, `${label}: size`)
  for (let k = 0; k < 20000; k++) {
    const a = Math.floor(random() * REGION)
    assert.equal(union.covers(a), bitmap[a] === 1, `${label}: covers(${a})`)
  }
}

test('the coverage union matches a bitmap through many small, overlapping and adjacent inserts, whole-bucket merges and pool compactions', () => {
  const random = rng(1)
  const union = new CoverageUnion()
  const bitmap = new Uint8Array(REGION)
  for (let round = 0; round < 4; round++) {
    for (let k = 0; k < 40000; k++) {
      const start = Math.floor(random() * REGION)
      const size = 1 + Math.floor(random() * (random() < 0.01 ? 200000 : 300))
      const end = Math.min(REGION - 1, start + size - 1)
      let fresh = 0
      for (let a = start; a <= end; a++) if (bitmap[a] === 0) { bitmap[a] = 1; fresh++ }
      assert.equal(union.add(start, end), fresh, `add(${start}, ${end}) reports the newly covered addresses`)
    }
    if (round === 1) { // whole /16s replace their runs: abandoned pool slots, then a compaction
      const [start, end] = [0, REGION / 2 - 1]
      let fresh = 0
      for (let a = start; a <= end; a++) if (bitmap[a] === 0) { bitmap[a] = 1; fresh++ }
      assert.equal(union.add(start, end), fresh, 'add of half the region')
    }
    check(union, bitmap, random, `round ${round}`)
    // every interval edge is right
    for (let k = 0; k < 2000; k++) {
      const a = Math.floor(random() * REGION)
      for (const x of [a - 1, a, a + 1]) if (x >= 0 && x < REGION) assert.equal(union.covers(x), bitmap[x] === 1, `covers(${x})`)
    }
  }
})

test('the coverage union handles the whole address space and its last address', () => {
  const union = new CoverageUnion()
  assert.equal(union.add(0xffffff00, 0xffffffff), 256)
  assert.equal(union.covers(0xffffffff), true)
  assert.equal(union.covers(0xfffffeff), false)
  assert.equal(union.add(0, 0), 1)
  assert.equal(union.covers(0), true)
  assert.equal(union.covers(1), false)
  assert.equal(union.add(0, 0xffffffff), 2 ** 32 - 257)
  assert.equal(union.size, 2 ** 32)
  for (const a of [0, 1, 65535, 65536, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) assert.equal(union.covers(a), true, `covers(${a})`)
})
