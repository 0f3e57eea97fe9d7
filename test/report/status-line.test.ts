import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  estimateEtaSeconds, formatDuration, formatStatusLine, progressLogFields, ProgressTracker, type NodeProgress
} from '../../src/report/status-line.js'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'

/** A snapshot at `at` seconds with `requests` per registry and a 1,000-address slice. */
function snap (at: number, sliceResolved: number, requests: Partial<Record<RegistryId, number>> = {}, over: Partial<NodeProgress> = {}): NodeProgress {
  return {
    at: at * 1000,
    sample: { total: 5000, resolved: sliceResolved * 2 },
    slice: { total: 1000, resolved: sliceResolved },
    networks: sliceResolved,
    failed: 0,
    registries: Object.fromEntries(REGISTRY_IDS.map(id => [id, { requests: requests[id] ?? 0, sharePerSecond: 9.8, pausedForMs: 0, remaining: 1000 - sliceResolved }])) as NodeProgress['registries'],
    ...over
  }
}

test('durations are written with their two largest units', () => {
  const cases: Array<[number, string]> = [[0, '0s'], [42.4, '42s'], [59.6, '1m00s'], [125, '2m05s'], [3600, '1h00m'], [7380, '2h03m'], [200_000, '2d07h']]
  for (const [s, want] of cases) assert.equal(formatDuration(s), want, `formatDuration(${s})`)
})

test('the ETA is what remains at the pace; none without a pace, zero when nothing remains', () => {
  assert.equal(estimateEtaSeconds(100, 4), 25)
  assert.equal(estimateEtaSeconds(100, 0), undefined)
  assert.equal(estimateEtaSeconds(0, 0), 0)
})

test('the tracker derives request rates over its rate window and the ETA from the slice pace', () => {
  const t = new ProgressTracker({ rateWindowMs: 10_000, etaWindowMs: 60_000 })
  const first = t.push(snap(0, 0))
  assert.equal(first.etaSeconds, undefined, 'one snapshot gives no pace')
  assert.equal(first.requestsPerSecond.arin, 0)
  // 20 s later: arin sent 200 requests at a steady 10/s, 100 slice addresses were resolved
  for (let s = 1; s <= 20; s++) t.push(snap(s, 5 * s, { arin: 10 * s, lacnic: s === 20 ? 3 : 0 }))
  const r = t.rates()
  assert.ok(Math.abs(r.requestsPerSecond.arin - 10) < 1e-9, `arin ${r.requestsPerSecond.arin}/s over the last 10 s`)
  assert.ok(Math.abs(r.requestsPerSecond.lacnic - 0.3) < 1e-9, `lacnic ${r.requestsPerSecond.lacnic}/s`)
  assert.equal(r.requestsPerSecond.ripe, 0)
  assert.ok(Math.abs((r.sliceResolvedPerSecond ?? 0) - 5) < 1e-9, `pace ${String(r.sliceResolvedPerSecond)}`)
  assert.ok(Math.abs((r.etaSeconds ?? 0) - 900 / 5) < 1e-9, `ETA ${String(r.etaSeconds)}`)
})

test('the tracker forgets snapshots older than its windows, so the pace follows the present', () => {
  const t = new ProgressTracker({ rateWindowMs: 10_000, etaWindowMs: 30_000 })
  // fast at first (10/s for 60 s), then slow (1/s for 60 s)
  for (let s = 0; s <= 60; s++) t.push(snap(s, 10 * s > 600 ? 600 : 10 * s))
  for (let s = 61; s <= 120; s++) t.push(snap(s, 600 + (s - 60)))
  const r = t.rates()
  assert.ok(Math.abs((r.sliceResolvedPerSecond ?? 0) - 1) < 1e-9, `pace ${String(r.sliceResolvedPerSecond)} should be the last 30 s only`)
  assert.equal(Math.round(r.etaSeconds ?? -1), 340)
})

test('snapshots further apart than the window (log lines every 10 s, timers a little late) still give rates', () => {
  const t = new ProgressTracker({ rateWindowMs: 10_000, etaWindowMs: 10_000 })
  t.push(snap(0, 0, { arin: 0 }))
  const r = t.push(snap(10.01, 100, { arin: 1001 }))
  assert.ok(Math.abs(r.requestsPerSecond.arin - 100) < 1e-9, `arin ${r.requestsPerSecond.arin}/s`)
  assert.ok(r.etaSeconds != null && Math.abs(r.etaSeconds - 90.09) < 1e-9, `ETA ${String(r.etaSeconds)}`)
})

test('a finished slice reads "slice done"', () => {
  const t = new ProgressTracker()
  t.push(snap(0, 990))
  const r = t.push(snap(1, 1000))
  assert.equal(r.etaSeconds, 0)
  assert.match(formatStatusLine(snap(1, 1000), r), /slice 1,000\/1,000 100\.0% \| .* \| slice done/)
})

test('the status line shows slice, sample, index, ETA and per-registry rate against budget share', () => {
  const t = new ProgressTracker()
  t.push(snap(0, 0))
  const p = snap(10, 250, { arin: 98, ripe: 49 })
  p.registries.afrinic = { requests: 0, sharePerSecond: 1, pausedForMs: 0, remaining: 0 }
  p.registries.lacnic = { requests: 0, sharePerSecond: 0.16, pausedForMs: 90_000, remaining: 40 }
  const line = formatStatusLine(p, t.push(p), 400)
  assert.equal(line, 'slice 250/1,000 25.0% | sample 500/5,000 10.0% | 250 nets | ETA 30s | req/s sent/share arin 9.8/9.8 ripe 4.9/9.8 apnic 0.0/9.8 lacnic paused 1m30s afrinic done')
})

test('a registry whose work ran out shows "done", not the last lookups\' rate against the share it gave back', () => {
  const t = new ProgressTracker()
  t.push(snap(0, 0))
  // lacnic's last addresses went in the last seconds: 923 requests in 10 s, and its share fell to the idle 0.1/s
  const p = snap(10, 250, { arin: 98, lacnic: 923 })
  p.registries.lacnic = { requests: 923, sharePerSecond: 0.1, pausedForMs: 0, remaining: 0 }
  const r = t.push(p)
  assert.ok(r.requestsPerSecond.lacnic > 90, `lacnic sent ${r.requestsPerSecond.lacnic}/s`)
  const line = formatStatusLine(p, r, 400)
  assert.match(line, /\| req\/s sent\/share arin 9\.8\/9\.8 ripe 0\.0\/9\.8 apnic 0\.0\/9\.8 lacnic done afrinic 0\.0\/9\.8$/)
  assert.doesNotMatch(line, /92\.3/)
})

test('a registry that cannot be reached shows as unreachable, for how long, on the status line and in the progress log line', () => {
  const t = new ProgressTracker()
  t.push(snap(0, 0))
  const p = snap(10, 250, { arin: 98 })
  p.registries.ripe = { requests: 3, sharePerSecond: 9.8, pausedForMs: 8000, unreachableForMs: 75_000, remaining: 700 }
  const r = t.push(p)
  assert.match(formatStatusLine(p, r, 400), /req\/s sent\/share arin 9\.8\/9\.8 ripe unreachable 1m15s apnic/)
  assert.deepEqual(progressLogFields(p, r).unreachableSeconds, { ripe: 75 })
  assert.equal('unreachableSeconds' in progressLogFields(snap(10, 250), r), false, 'no field while every registry is reachable')
})

test('a narrow terminal drops the registry rates first, then the index size and the sample, never the slice or the ETA', () => {
  const t = new ProgressTracker()
  t.push(snap(0, 0))
  const p = snap(10, 250, { arin: 98, ripe: 49, apnic: 10, lacnic: 1, afrinic: 5 })
  const r = t.push(p)
  const full = formatStatusLine(p, r, 1000)
  for (let width = 20; width <= full.length + 2; width++) {
    const line = formatStatusLine(p, r, width)
    assert.ok(line.length <= width, `width ${width}: ${line.length} characters`)
    if (width >= 'slice 250/1,000 25.0% | ETA 30s'.length) assert.match(line, /^slice 250\/1,000 25\.0% .*ETA 30s/, `width ${width}: ${line}`)
    if (line.includes('nets')) assert.ok(line.includes('sample'), `width ${width}: the index size outlived the sample: ${line}`)
    if (line.includes('req/s')) assert.ok(line.includes('nets'), `width ${width}: a rate outlived the index size: ${line}`)
  }
  assert.equal(formatStatusLine(p, r, 99), 'slice 250/1,000 25.0% | sample 500/5,000 10.0% | 250 nets | ETA 30s | req/s sent/share arin 9.8/9.8')
})

test('the progress log line carries the same numbers as fields', () => {
  const t = new ProgressTracker()
  t.push(snap(0, 0))
  const p = snap(10, 250, { arin: 98 })
  const f = progressLogFields(p, t.push(p))
  assert.equal(f.sliceResolved, 250)
  assert.equal(f.sliceTotal, 1000)
  assert.equal(f.resolved, 500)
  assert.equal(f.total, 5000)
  assert.equal(f.etaSeconds, 30)
  assert.deepEqual(f.requestsPerSecond, { arin: 9.8, ripe: 0, apnic: 0, lacnic: 0, afrinic: 0 })
  assert.deepEqual(f.budgetShare, { arin: 9.8, ripe: 9.8, apnic: 9.8, lacnic: 9.8, afrinic: 9.8 })
})

test('imported dumps show on the status line with their age, and in the progress log line in hours', () => {
  const at = 1_000_000_000
  const p = snap(at, 10, {}, { bulk: [{ registry: 'ripe', takenAt: at * 1000 - 3 * 3_600_000 - 600_000 }, { registry: 'afrinic', takenAt: at * 1000 - 90_000 }] })
  const line = formatStatusLine(p, new ProgressTracker().push(p), 200)
  assert.match(line, /\| bulk ripe 3h10m old afrinic 1m30s old/)
  assert.deepEqual(progressLogFields(p, new ProgressTracker().push(p)).bulkAgeHours, { ripe: 3.2, afrinic: 0 })
  // without dumps: no such part, no such field
  const q = snap(at, 10)
  assert.doesNotMatch(formatStatusLine(q, new ProgressTracker().push(q), 200), /bulk/)
  assert.equal(progressLogFields(q, new ProgressTracker().push(q)).bulkAgeHours, undefined)
})
