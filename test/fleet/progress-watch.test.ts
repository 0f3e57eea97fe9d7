/**
 * ProgressWatch (src/fleet/progress-watch.ts): a live peer keeps its share of the sample while its
 * work shows — a record of its own within stallMs, or nothing open in its share — loses it after
 * stallMs without, and takes it back with its next record. A clock the test moves.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProgressWatch } from '../../src/fleet/index.js'

const SELF = 'self'

function watch (open: Map<string, number> | undefined): { w: ProgressWatch, clock: { t: number }, open: { v: Map<string, number> | undefined } } {
  const clock = { t: 1_000_000 }
  const o = { v: open }
  const w = new ProgressWatch({ stallMs: 60_000 }, { openByOwner: () => o.v, now: () => clock.t })
  return { w, clock, open: o }
}

test('a peer that owns open addresses and shows no work loses its share after stallMs; its next record brings it back', () => {
  const { w, clock } = watch(new Map([['busy', 10], ['fake', 10], ['idle', 0]]))
  const live = [SELF, 'busy', 'fake', 'idle']
  assert.deepEqual(w.check(live, SELF), { stalled: [], resumed: [] }, 'first seen: the grace starts')
  clock.t += 59_000
  w.onAuthored(['busy', undefined, 'somebody-not-live'])
  assert.deepEqual(w.check(live, SELF), { stalled: [], resumed: [] }, 'within stallMs')
  clock.t += 2_000
  assert.deepEqual(w.check(live, SELF), { stalled: ['fake'], resumed: [] }, 'fake showed nothing for 61 s; idle owns nothing open; busy sent a record')
  assert.deepEqual(w.crawlers(live, SELF), [SELF, 'busy', 'idle'])
  assert.deepEqual(w.check(live, SELF), { stalled: [], resumed: [] }, 'said once')
  clock.t += 60_000
  assert.deepEqual(w.check(live, SELF), { stalled: ['busy'], resumed: [] }, 'busy: its last record is 62 s old')
  w.onAuthored(['fake'])
  assert.deepEqual(w.check(live, SELF), { stalled: [], resumed: ['fake'] })
  assert.deepEqual(w.crawlers(live, SELF), [SELF, 'fake', 'idle'])
  assert.deepEqual([...w.stalledPeers], ['busy'])
})

test('self is never judged; a peer that left is forgotten and starts afresh when seen again; nothing is judged before the sample is counted', () => {
  const { w, clock, open } = watch(undefined)
  assert.deepEqual(w.check([SELF, 'p'], SELF), { stalled: [], resumed: [] })
  clock.t += 600_000
  assert.deepEqual(w.check([SELF, 'p'], SELF), { stalled: [], resumed: [] }, 'the sample is not counted yet: no judgement')
  open.v = new Map([['p', 5], [SELF, 5]])
  clock.t += 61_000
  assert.deepEqual(w.check([SELF, 'p'], SELF), { stalled: ['p'], resumed: [] })
  assert.deepEqual(w.check([SELF], SELF), { stalled: [], resumed: [] }, 'p left')
  assert.deepEqual(w.crawlers([SELF, 'p'], SELF), [SELF, 'p'], 'seen again: counted, with a new grace')
  assert.deepEqual(w.check([SELF, 'p'], SELF), { stalled: [], resumed: [] })
  assert.throws(() => new ProgressWatch({ stallMs: 0 }, { openByOwner: () => undefined }), RangeError)
})
