/**
 * The fleet's budget glue (src/fleet/fleet-budget.ts) and the settle wait (settle.ts), driven
 * through their narrow modules: a fake mesh view, fake limiters and a fake crawl loop, on a
 * clock the test sets. BudgetShare's rule itself is tested in budget-share.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FleetBudget, countsMe, demandOf, settleMembership, DEFAULT_HEARTBEAT_INTERVAL_MS, budgetShareTimings, defaultBudgetShareOptions, type FleetPeer } from '../../src/fleet/index.js'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { DEFAULT_BUDGETS } from '../../src/registry/budget.js'
import type { RegistryProgress } from '../../src/crawl/interface.js'
import type { Heartbeat } from '../../src/mesh/messages.js'
import { defaultNodeOptions } from '../../src/node/options.js'

const G = DEFAULT_BUDGETS
const S = defaultBudgetShareOptions.safety
const H = 1000
const SELF = 'self-peer'
const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b))

function progress (work: Partial<Record<RegistryId, Partial<RegistryProgress>>> = {}): Record<RegistryId, RegistryProgress> {
  return Object.fromEntries(REGISTRY_IDS.map(id => [id, {
    queued: 0, othersOwn: 0, inFlight: 0, hopsWaiting: 0, retrying: 0, budgetPerSecond: 0, pausedForMs: 0, requests: 0, ...work[id]
  }])) as Record<RegistryId, RegistryProgress>
}

function heartbeat (peerId: string, h: Partial<Heartbeat> = {}): Heartbeat {
  const zero = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
  return {
    peerId, seq: 1, sentAt: 0, version: 'test', light: false, listen: [], counters: {},
    demand: { ...zero }, rates: { ...zero }, backoff: {},
    index: { networks: 0, negatives: 0, digest: '' }, sample: { total: 0, resolved: 0 }, ...h
  }
}

class FakeLimiter {
  /** the hold set last (ms; 0 or less: none) */
  held = 0
  constructor (public ratePerSecond: number) {}
  setRate (r: number): void { this.ratePerSecond = r }
  holdFor (ms: number): void { this.held = ms }
}

/** A FleetBudget over fakes; `t` is the clock, `peers` the mesh's table, `live` its live full peers. */
function rig (opts: { firstNode?: boolean } = {}) {
  const announced = { count: 0 }
  const clock = { t: 0 }
  const peers = new Map<string, FleetPeer>()
  const live = new Set<string>([SELF])
  const limiters = Object.fromEntries(REGISTRY_IDS.map(id => [id, new FakeLimiter(G[id] * S)])) as Record<RegistryId, FakeLimiter>
  const crawler = { work: progress(), wakes: 0, registryProgress () { return this.work }, ratesChanged () { this.wakes++ } }
  const fleet = {
    peerId: { toString: () => SELF },
    peers,
    liveFullPeers: () => [...live].sort()
  }
  const budget = new FleetBudget({ budgets: G, heartbeatIntervalMs: H, firstNode: opts.firstNode ?? false }, { fleet, limiters, crawler, now: () => clock.t, announce: () => { announced.count++ } })
  /** a peer's heartbeat arrives now */
  const hear = (id: string, h: Partial<Heartbeat> = {}): void => { peers.set(id, { heartbeat: heartbeat(id, h), lastSeen: clock.t }) }
  return { clock, peers, live, limiters, crawler, budget, hear, announced }
}

test('a node\'s demand for a registry is its queued, retrying, in-flight and waiting-hop work', () => {
  const d = demandOf(progress({ arin: { queued: 1, retrying: 2, inFlight: 3, hopsWaiting: 4, othersOwn: 100, requests: 7 }, ripe: { othersOwn: 5 } }))
  assert.equal(d.arin, 10)
  assert.equal(d.ripe, 0, 'addresses other nodes own are not this node\'s work')
})

test('a peer\'s heartbeat counts this node per registry by its mask, for all registries without one, or does not say', () => {
  assert.equal(countsMe(heartbeat('A'), SELF), undefined)
  assert.equal(countsMe(heartbeat('A', { counting: [SELF, 'B'] }), SELF), true)
  assert.equal(countsMe(heartbeat('A', { counting: ['B'] }), SELF), false)
  const arinAndApnic = (1 << REGISTRY_IDS.indexOf('arin')) | (1 << REGISTRY_IDS.indexOf('apnic'))
  const c = countsMe(heartbeat('A', { counting: ['B', SELF], countingMask: [0b11111, arinAndApnic] }), SELF)
  assert.deepEqual(c, Object.fromEntries(REGISTRY_IDS.map(id => [id, id === 'arin' || id === 'apnic'])))
  const none = countsMe(heartbeat('A', { counting: ['B'], countingMask: [0b11111] }), SELF)
  assert.deepEqual(none, Object.fromEntries(REGISTRY_IDS.map(id => [id, false])), 'not listed: counted for no registry')
})

test('apply() sets each limiter to this node\'s share and wakes the crawl loop only when a rate changed', () => {
  const r = rig({ firstNode: true })
  r.crawler.work = progress({ arin: { queued: 3 } })
  const floor = (id: RegistryId): number => G[id] * (1 - S) / defaultBudgetShareOptions.maxPeers
  r.budget.apply()
  for (const id of REGISTRY_IDS) assert.ok(close(r.limiters[id].ratePerSecond, floor(id)), `${id}: the floor while holding`)
  assert.equal(r.crawler.wakes, 1)
  r.budget.apply()
  assert.equal(r.crawler.wakes, 1, 'nothing changed: no wake')
  // the fleet's first node holds for one heartbeat only
  r.clock.t = H
  r.budget.apply()
  assert.ok(close(r.limiters.arin.ratePerSecond, G.arin * S), `arin: ${r.limiters.arin.ratePerSecond}`)
  assert.ok(close(r.limiters.ripe.ratePerSecond, floor('ripe')), 'no work for ripe: still the floor')
  assert.equal(r.crawler.wakes, 2)
})

test('a node that joins a fleet holds six heartbeats before taking a full share', () => {
  const r = rig({ firstNode: false })
  r.crawler.work = progress({ arin: { queued: 3 } })
  for (r.clock.t = 0; r.clock.t < 6 * H; r.clock.t += H) {
    r.budget.apply()
    assert.ok(r.limiters.arin.ratePerSecond < G.arin * (1 - S), `at ${r.clock.t} ms: ${r.limiters.arin.ratePerSecond}, the floor`)
  }
  r.budget.apply()
  assert.ok(close(r.limiters.arin.ratePerSecond, G.arin * S), `at ${r.clock.t} ms: ${r.limiters.arin.ratePerSecond}`)
})

test('acknowledgements take a round trip: news in a peer\'s heartbeat is applied at once, and a change in what this node says is announced', () => {
  const r = rig()
  const arin = 1 << REGISTRY_IDS.indexOf('arin')
  const busy = { demand: { ...heartbeat('x').demand, arin: 5 } }
  r.live.add('A')
  r.hear('A', { ...busy, counting: [] })
  r.budget.start()
  try {
    r.budget.apply()
    assert.equal(r.announced.count, 1, 'counting A is news for A: announced')
    r.budget.apply()
    assert.equal(r.announced.count, 1, 'nothing new: no extra heartbeat')
    // this node's work for arin is queued: it says so at once
    r.crawler.work = progress({ arin: { queued: 3 } })
    r.budget.apply()
    assert.equal(r.announced.count, 2)
    // A's heartbeats go on without acknowledging it; three heartbeats later its acknowledgement
    // arrives: applied on arrival, not at the next tick
    for (r.clock.t = H; r.clock.t <= 3 * H; r.clock.t += H) { r.hear('A', { ...busy, counting: [] }); r.budget.apply() }
    r.clock.t = 3 * H + 10
    assert.ok(r.limiters.arin.ratePerSecond < G.arin * (1 - S), 'not acknowledged yet: the floor')
    const h = heartbeat('A', { ...busy, counting: [SELF], countingMask: [arin] })
    r.hear('A', h)
    r.budget.onPeerHeartbeat(h)
    assert.ok(close(r.limiters.arin.ratePerSecond, G.arin * S / 2), `arin on A's acknowledgement: ${r.limiters.arin.ratePerSecond}`)
    // the same news again changes nothing
    const wakes = r.crawler.wakes
    r.budget.onPeerHeartbeat(h)
    assert.equal(r.crawler.wakes, wakes)
  } finally {
    r.budget.stop()
  }
})

test('only live full peers share a budget: light peers and peers no longer live are not counted', () => {
  const r = rig()
  r.crawler.work = progress({ arin: { queued: 1 } })
  const busy = { demand: { ...heartbeat('x').demand, arin: 5 } }
  r.live.add('A')
  for (r.clock.t = 0; r.clock.t <= 6 * H; r.clock.t += H) {
    r.hear('A', { ...busy, counting: [SELF] })
    r.hear('light', { ...busy, light: true })
    r.hear('gone', busy)
    r.budget.apply()
  }
  assert.ok(close(r.limiters.arin.ratePerSecond, G.arin * S / 2), `arin: ${r.limiters.arin.ratePerSecond}, shared with A alone`)
  assert.deepEqual(r.budget.heartbeatFields(r.crawler.work).counting, ['A'])
})

test('a peer that says goodbye is forgotten at once: its share returns to the others', () => {
  const r = rig()
  r.crawler.work = progress({ arin: { queued: 1 } })
  r.live.add('A')
  for (r.clock.t = 0; r.clock.t <= 6 * H; r.clock.t += H) {
    r.hear('A', { demand: { ...heartbeat('A').demand, arin: 5 }, counting: [SELF] })
    r.budget.apply()
  }
  assert.ok(close(r.limiters.arin.ratePerSecond, G.arin * S / 2))
  // the mesh drops a departing peer from its table and live set, then tells the fleet
  r.peers.delete('A')
  r.live.delete('A')
  r.budget.onPeerDeparted('A')
  assert.ok(close(r.limiters.arin.ratePerSecond, G.arin * S), `arin: ${r.limiters.arin.ratePerSecond}`)
})

test('a back-off a live peer reports holds this node\'s limiter for that registry; one already over does not', () => {
  const r = rig()
  r.live.add('A')
  r.clock.t = 10_000
  r.budget.onPeerHeartbeat(heartbeat('A', { backoff: { arin: 15_000, ripe: 9_000 }, demand: { ...heartbeat('A').demand, arin: 3, ripe: 1 } }))
  assert.equal(r.limiters.arin.held, 5000)
  assert.ok(r.limiters.ripe.held <= 0)
  assert.equal(r.budget.share.pausedUntil('arin'), 15_000)
  assert.deepEqual(r.budget.heartbeatFields(r.crawler.work).backoff, {}, 'a peer\'s back-off is not reported as this node\'s own')
})

test('a peer\'s back-off holds at most maxPeerBackoffMs, only where it has work, never from a light peer, and ends with the peer', () => {
  const r = rig()
  r.live.add('A')
  r.live.add('L')
  r.clock.t = 1_000_000
  const demand = { ...heartbeat('A').demand, arin: 1 }
  // an hour, 10^300 ms, and a registry it has no work at
  r.budget.onPeerHeartbeat(heartbeat('A', { backoff: { arin: r.clock.t + 3600_000, ripe: r.clock.t + 3600_000, apnic: 1e300 }, demand }))
  assert.equal(r.limiters.arin.held, defaultBudgetShareOptions.maxPeerBackoffMs)
  assert.ok(r.limiters.ripe.held <= 0 && r.limiters.apnic.held <= 0, 'no work there: no hold')
  r.budget.onPeerHeartbeat(heartbeat('L', { light: true, backoff: { lacnic: r.clock.t + 60_000 }, demand: { ...demand, lacnic: 1 } }))
  assert.ok(r.limiters.lacnic.held <= 0, 'a light peer queries no registry')
  // A falls silent: once the mesh no longer counts it live, the next apply lifts its hold
  r.clock.t += 10_000
  r.live.delete('A')
  r.budget.apply()
  assert.ok(r.limiters.arin.held <= 0, `still held ${r.limiters.arin.held} ms after the peer went`)
})

test('this node\'s heartbeat carries its demand, its limiters\' rates and its own back-offs, rounded, while they last', () => {
  const r = rig()
  r.clock.t = 1000.2
  r.budget.onRateLimited('lacnic', 1234.6)
  r.limiters.apnic.setRate(3.5)
  const work = progress({ ripe: { queued: 2, inFlight: 1 } })
  const f = r.budget.heartbeatFields(work)
  assert.deepEqual(f.demand, demandOf(work))
  assert.equal(f.rates.apnic, 3.5)
  assert.equal(f.rates.arin, G.arin * S)
  assert.deepEqual(f.backoff, { lacnic: 2235 })
  assert.deepEqual({ counting: f.counting, countingMask: f.countingMask }, { counting: [], countingMask: [] })
  r.clock.t = 2235.8
  assert.deepEqual(r.budget.heartbeatFields(work).backoff, {}, 'over: no longer reported')
})

test('the heartbeat interval the fleet counts in is the node\'s default, and BudgetShare\'s defaults are its timings', () => {
  assert.equal(defaultNodeOptions.mesh.heartbeatIntervalMs, DEFAULT_HEARTBEAT_INTERVAL_MS)
  const t = budgetShareTimings(DEFAULT_HEARTBEAT_INTERVAL_MS)
  for (const [k, v] of Object.entries(t)) assert.equal(defaultBudgetShareOptions[k as keyof typeof t], v, k)
  assert.equal(defaultNodeOptions.budgetSafety, defaultBudgetShareOptions.safety)
})

/** A membership source the test changes by hand; counts subscriptions still open. */
function membership (): { changed: () => void, open: () => number, modules: { onMembershipChange: (l: () => void) => () => void } } {
  const listeners = new Set<() => void>()
  return {
    changed: () => { for (const l of listeners) l() },
    open: () => listeners.size,
    modules: { onMembershipChange: (l) => { listeners.add(l); return () => { listeners.delete(l) } } }
  }
}

test('settling waits settleMs when the fleet is quiet, and unsubscribes', async () => {
  const m = membership()
  const t0 = performance.now()
  await settleMembership({ heartbeatIntervalMs: 40, settleMs: 200 }, m.modules)
  // the loop reads Date.now(): allow its millisecond rounding
  assert.ok(performance.now() - t0 >= 199, `${performance.now() - t0} ms`)
  assert.equal(m.open(), 0)
})

test('settling waits two heartbeats past the last membership change, and at most ten heartbeats', async () => {
  // on a clock of its own that moves 10 ms per reading, so a loaded machine cannot reorder the
  // change and the end of the wait
  const H = 40
  const m = membership()
  let t = 0
  let lastChange = -1
  let endedAt = 0
  // a fleet still joining: a change at 60 ms
  // (the listener reads the clock too: a change is fired only from the wait's own readings)
  let inListener = false
  const now = (): number => {
    t += 10
    if (t === 60 && !inListener) { inListener = true; lastChange = t; m.changed(); inListener = false }
    return (endedAt = t)
  }
  await settleMembership({ heartbeatIntervalMs: H, settleMs: 10 }, { ...m.modules, now })
  assert.equal(lastChange, 60, 'the change came while settling')
  assert.ok(endedAt - lastChange >= 2 * H, `ended ${endedAt - lastChange} ms after the change`)
  assert.ok(endedAt - lastChange <= 2 * H + 20, `ended ${endedAt - lastChange} ms after the change, not two heartbeats`)
  // a fleet that never settles: a change at every reading
  const churn = membership()
  let u = 0
  let churnEnd = 0
  let churning = false
  await settleMembership({ heartbeatIntervalMs: H }, {
    ...churn.modules,
    now: () => {
      u += 10
      if (!churning) { churning = true; churn.changed(); churning = false }
      return (churnEnd = u)
    }
  })
  assert.ok(churnEnd >= 10 * H && churnEnd <= 10 * H + 20, `gave up at ${churnEnd} ms`)
  assert.equal(m.open(), 0)
  assert.equal(churn.open(), 0)
})

test('settling ends when the signal aborts', async () => {
  const m = membership()
  const ac = new AbortController()
  const done = settleMembership({ heartbeatIntervalMs: 60_000 }, m.modules, ac.signal)
  ac.abort()
  await done
  assert.equal(m.open(), 0)
})
