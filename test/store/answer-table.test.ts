/**
 * AnswerTable.find (src/store/answer-table.ts): the segment holding an address, searched in the
 * /20's part of the table (its /20 entries made a /16 at a time on first use). Checked against a
 * plain binary search over every segment's start, on tables whose segments crowd some /16s and
 * /20s, leave others empty, and start on and next to the /16 and /20 edges.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AnswerTable, SEG_WORDS } from '../../src/store/index.js'
import { prng } from '../../src/sample/index.js'

/** a table of segments starting at `starts` (sorted, first 0): what find reads; the rest is 0 */
function tableOf (starts: number[]): AnswerTable {
  const seg = new Uint32Array(starts.length * SEG_WORDS)
  starts.forEach((s, i) => { seg[i * SEG_WORDS] = s; seg[i * SEG_WORDS + 1] = i })
  const dir = new Uint32Array(65536 + 1)
  let k = 0
  for (let b = 0; b <= 65536; b++) {
    while (k + 1 < starts.length && starts[k + 1] <= b * 65536) k++
    dir[b] = k
  }
  return new AnswerTable({ crawledCount: starts.length, dumpBase: [], seg, dir })
}

/** the last segment starting at or before `a` */
function naive (starts: number[], a: number): number {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (starts[mid] <= a) lo = mid
    else hi = mid - 1
  }
  return lo
}

test('find answers as a binary search over every segment, at /16 and /20 edges, in crowded and empty /16s', () => {
  const next = prng(7)
  const set = new Set<number>([0])
  // crowded: 10.0.0.0/16 cut every 64 addresses; edges: every /20 start of 20.0.0.0/14 and the
  // addresses beside them; sparse: 3,000 random starts; the last address
  for (let a = 0x0a000000; a < 0x0a010000; a += 64) set.add(a)
  for (let a = 0x14000000; a < 0x14040000; a += 4096) { set.add(a); set.add(a - 1); set.add(a + 1) }
  for (let i = 0; i < 3000; i++) set.add(next() >>> 0)
  set.add(0xffffffff)
  const starts = [...set].sort((x, y) => x - y)
  const table = tableOf(starts)
  const probes: number[] = [0, 1, 0xffffffff, 0xfffffffe, 0x0a00ffff, 0x0a010000]
  for (const s of starts) probes.push(s, Math.max(0, s - 1), Math.min(0xffffffff, s + 1))
  for (let b = 0; b < 1 << 20; b += 997) probes.push(b * 4096, b * 4096 + 4095)
  for (let i = 0; i < 20000; i++) probes.push(next() >>> 0)
  for (const a of probes) assert.equal(table.find(a), naive(starts, a), `address ${a}`)
})

test('a table of one segment answers every address with it', () => {
  const table = tableOf([0])
  for (const a of [0, 4095, 4096, 65535, 65536, 0x7fffffff, 0xffffffff]) assert.equal(table.find(a), 0)
})
