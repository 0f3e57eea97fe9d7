/**
 * BudgetShare, the rule by which each node takes its share of a registry's global budget, driven
 * step by step by hand: the floor and the join hold, shares by demand, peers leaving, falling
 * silent or saying goodbye, acknowledgements shortening the hold, short and long gaps in a queue,
 * back-offs, bad options, and the documented limit of a partition longer than the window. The
 * bound over random fleets: budget-share-simulation.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BudgetShare, defaultBudgetShareOptions, type Demand, type PeerDemand } from '../../src/fleet/budget-share.js'
import { BudgetShareError } from '../../src/fleet/errors.js'
import type { RegistryId } from '../../src/registry/interface.js'
import { DEFAULT_BUDGETS } from '../../src/registry/budget.js'
import { H } from '../helpers/budget-share-sim.js'

const G = DEFAULT_BUDGETS
const S = defaultBudgetShareOptions.safety
const HOLD = defaultBudgetShareOptions.joinHoldMs
const WINDOW = defaultBudgetShareOptions.recentWindowMs

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b))

/** Drives one BudgetShare by hand: peers' heartbeats arrive when the test says. */
function node (opts: Partial<typeof defaultBudgetShareOptions> = {}): { bs: BudgetShare, at: (t: number, peers: PeerDemand[], self: Demand) => Record<RegistryId, number> } {
  const bs = new BudgetShare({ budgets: G, ...opts }, { now: () => 0 })
  return { bs, at: (t, peers, self) => bs.update(peers, self, t) }
}

test('a lone node with work takes the floor during the hold, then the whole budget times safety', () => {
  const { bs, at } = node()
  const floor = G.arin * (1 - S) / defaultBudgetShareOptions.maxPeers
  assert.ok(close(bs.rates().arin, floor), 'before any update: the floor')
  for (let t = 0; t < HOLD; t += H) assert.ok(close(at(t, [], { arin: 5 }).arin, floor), `at ${t} ms: still holding`)
  assert.ok(close(at(HOLD, [], { arin: 5 }).arin, G.arin * S))
  assert.equal(bs.share('arin').established, true)
  // no work for ripe: the floor, never 0
  assert.ok(close(at(HOLD + H, [], { arin: 5 }).ripe, G.ripe * (1 - S) / defaultBudgetShareOptions.maxPeers))
})

test('demand decides the share: peers with nothing queued for a registry hold none of it', () => {
  const { bs, at } = node()
  const peers = (t: number): PeerDemand[] => [
    { id: 'A', demand: { arin: 10, ripe: 3 }, lastSeenMs: t },
    { id: 'B', demand: { arin: 0, ripe: 7 }, lastSeenMs: t },
    { id: 'C', demand: {}, lastSeenMs: t }
  ]
  let rates = at(0, peers(0), { arin: 1, ripe: 1 })
  for (let t = H; t <= HOLD; t += H) rates = at(t, peers(t), { arin: 1, ripe: 1 })
  assert.ok(close(rates.arin, G.arin * S / 2), `arin: ${rates.arin} (self and A demand it)`)
  assert.ok(close(rates.ripe, G.ripe * S / 3), `ripe: ${rates.ripe} (self, A and B demand it)`)
  assert.equal(bs.share('arin').demandingPeers, 2)
  assert.equal(bs.share('arin').livePeers, 4)
  // how much is queued does not matter, only whether something is
  rates = at(HOLD + H, peers(HOLD + H).map(p => ({ ...p, demand: { arin: 1000 } })), { arin: 1, ripe: 1 })
  assert.ok(close(rates.arin, G.arin * S / 4), `arin once everyone demands it: ${rates.arin}`)
})

test('a peer that leaves keeps being counted for the window, then the others speed up', () => {
  const { at } = node()
  const a = (t: number): PeerDemand => ({ id: 'A', demand: { arin: 1 }, lastSeenMs: t })
  let t = 0
  for (; t <= HOLD; t += H) at(t, [a(t)], { arin: 1 })
  assert.ok(close(at(t, [a(t)], { arin: 1 }).arin, G.arin * S / 2))
  const lastHeard = t
  // A is gone: its last heartbeat ages
  for (t += H; t - lastHeard <= WINDOW; t += H) {
    assert.ok(close(at(t, [a(lastHeard)], { arin: 1 }).arin, G.arin * S / 2), `${t - lastHeard} ms after A's last heartbeat: still halved`)
  }
  assert.ok(close(at(t, [a(lastHeard)], { arin: 1 }).arin, G.arin * S), `${t - lastHeard} ms after: the whole share`)
})

test('a peer heard without work stops holding a share once its own run has surely ended', () => {
  const { at } = node()
  const { demandGapMs, silenceMs } = defaultBudgetShareOptions
  let t = 0
  for (; t <= HOLD; t += H) at(t, [{ id: 'A', demand: { arin: 1 }, lastSeenMs: t }], { arin: 1 })
  const lastDemanding = t - H
  // A's queue may refill within its demand gap and it would still be established: keep counting it
  for (; t - lastDemanding <= demandGapMs + 2 * silenceMs; t += H) assert.ok(close(at(t, [{ id: 'A', demand: {}, lastSeenMs: t }], { arin: 1 }).arin, G.arin * S / 2), `at ${t}`)
  assert.ok(close(at(t, [{ id: 'A', demand: {}, lastSeenMs: t }], { arin: 1 }).arin, G.arin * S))
  assert.ok(t - lastDemanding < WINDOW / 4, 'dropped well before the silence window')
})

test('a silent peer (crashed, or beyond a partition) keeps its share for the whole window', () => {
  const { at } = node()
  let t = 0
  for (; t <= HOLD; t += H) at(t, [{ id: 'A', demand: { arin: 1 }, lastSeenMs: t }], { arin: 1 })
  const lastHeard = t - H
  for (; t - lastHeard <= WINDOW; t += H) assert.ok(close(at(t, [{ id: 'A', demand: { arin: 1 }, lastSeenMs: lastHeard }], { arin: 1 }).arin, G.arin * S / 2), `at ${t}`)
  assert.ok(close(at(t, [], { arin: 1 }).arin, G.arin * S))
})

test('a peer that says goodbye is forgotten at once', () => {
  const { bs, at } = node()
  let t = 0
  for (; t <= HOLD; t += H) at(t, [{ id: 'A', demand: { arin: 1 }, lastSeenMs: t }], { arin: 1 })
  assert.ok(close(at(t, [{ id: 'A', demand: { arin: 1 }, lastSeenMs: t }], { arin: 1 }).arin, G.arin * S / 2))
  bs.forget('A')
  t += H
  assert.ok(close(at(t, [], { arin: 1 }).arin, G.arin * S))
})

test('a node does not take a full share until it has heard every known peer without silence for the hold', () => {
  const { bs, at } = node()
  let t = 0
  const a = (seen: number): PeerDemand => ({ id: 'A', demand: { arin: 1 }, lastSeenMs: seen })
  for (; t <= HOLD; t += H) at(t, [a(t)], { apnic: 1 })
  // work for arin appears while A is silent (partitioned or dead)
  const lastHeard = t - H
  const start = t
  for (; t < start + HOLD + 2 * H; t += H) at(t, [a(lastHeard)], { arin: 1 })
  assert.equal(bs.share('arin').established, false, 'established although A might not have heard of our work')
  // A is heard again: hold counted from then
  const back = t
  for (; t < back + HOLD; t += H) { at(t, [a(t)], { arin: 1 }); assert.equal(bs.share('arin').established, false, `at ${t - back} ms after A came back`) }
  assert.ok(close(at(t, [a(t)], { arin: 1 }).arin, G.arin * S / 2))
})

test('a node every peer acknowledges takes its share after three heartbeats; unacknowledged, or by an older peer, it holds six', () => {
  const { ackedHoldMs } = defaultBudgetShareOptions
  assert.equal(ackedHoldMs, 3 * H)
  // A has heard this node for a while (no work yet), then counts it as soon as its work appears
  const run = (countsMe: (t: number) => PeerDemand['countsMe']): number => {
    const { bs, at } = node()
    let t = 0
    for (; t < 3 * H; t += H) at(t, [{ id: 'A', demand: { arin: 1 }, lastSeenMs: t, countsMe: false }], {})
    const start = t
    for (; t <= start + HOLD + H; t += H / 4) {
      at(t, [{ id: 'A', demand: { arin: 1 }, lastSeenMs: t, countsMe: countsMe(t - start) }], { arin: 1 })
      if (bs.share('arin').established) return t - start
    }
    return Infinity
  }
  // the acknowledgement comes back within a round trip: the hold is J_a
  assert.equal(run(dt => dt > 0), ackedHoldMs)
  assert.ok(close(node().bs.rates().arin, G.arin * (1 - S) / defaultBudgetShareOptions.maxPeers))
  // per registry: counted for arin only is enough for arin
  assert.equal(run(dt => ({ arin: dt > 0, ripe: false })), ackedHoldMs)
  // a peer that does not say (an older node) vouches only through J
  assert.equal(run(() => undefined), HOLD)
  // a peer that acknowledges late: the share waits for the acknowledgement
  assert.equal(run(dt => dt >= 5 * H), 5 * H)
  // a peer that does not count this node: never
  assert.equal(run(() => false), Infinity)
})

test('a queue empty for a moment keeps the share; empty for longer restarts the hold', () => {
  const { bs, at } = node()
  let t = 0
  for (; t <= HOLD; t += H) at(t, [], { arin: 1 })
  assert.equal(bs.share('arin').established, true)
  at(t, [], {}); t += H
  assert.ok(close(at(t, [], { arin: 1 }).arin, G.arin * S), 'a 2 s gap keeps it')
  t += H
  for (let i = 0; i < 3; i++, t += H) at(t, [], {})
  at(t, [], { arin: 1 })
  assert.equal(bs.share('arin').established, false, 'a 6 s gap restarts the hold')
})

test('back-offs combine our own rate limits and the peers\', capped for peers', () => {
  let now = 1_000_000
  const bs = new BudgetShare({ budgets: G }, { now: () => now })
  assert.ok(bs.pausedUntil('lacnic') <= now)
  bs.onRateLimited('lacnic', 60_000)
  assert.equal(bs.pausedUntil('lacnic'), now + 60_000)
  bs.onRateLimited('lacnic', 10_000)
  assert.equal(bs.pausedUntil('lacnic'), now + 60_000, 'a shorter back-off does not shorten one running')
  bs.notePeerBackoff('A', 'lacnic', now + 120_000)
  assert.equal(bs.pausedUntil('lacnic'), now + 120_000)
  bs.notePeerBackoff('A', 'ripe', now + 10 * 3600_000)
  assert.equal(bs.pausedUntil('ripe'), now + defaultBudgetShareOptions.maxPeerBackoffMs, 'a peer cannot hold us longer than maxPeerBackoffMs')
  bs.notePeerBackoff('B', 'ripe', Infinity)
  assert.equal(bs.peerPausedUntil('ripe', new Set(['B'])), 0, 'a deadline that is no number is ignored')
  assert.equal(bs.peerPausedUntil('ripe', new Set(['B', 'C'])), 0, 'only the live peers\' back-offs count')
  assert.equal(bs.peerPausedUntil('ripe', new Set(['A'])), now + defaultBudgetShareOptions.maxPeerBackoffMs)
  bs.forget('A')
  assert.equal(bs.peerPausedUntil('lacnic'), 0, 'a departed peer holds nobody')
  assert.equal(bs.pausedUntil('lacnic'), now + 60_000, 'our own back-off stays')
  assert.deepEqual(bs.ownBackoffs(), { lacnic: now + 60_000 }, 'only our own back-offs are ours to report')
  now += 61_000
  assert.deepEqual(bs.ownBackoffs(), {})
  assert.ok(bs.pausedUntil('arin') <= now)
})

test('bad options are refused with the field named', () => {
  assert.throws(() => new BudgetShare({ budgets: G, safety: 1 }), (e: Error) => e instanceof BudgetShareError && /safety/.test(e.message))
  assert.throws(() => new BudgetShare({ budgets: { ...G, lacnic: 0 } }), /budgets\.lacnic/)
  assert.throws(() => new BudgetShare({ budgets: G, joinHoldMs: WINDOW + 1 }), /joinHoldMs/)
  assert.throws(() => new BudgetShare({ budgets: G, maxPeers: 0 }), /maxPeers/)
})

test('a node whose work starts while a peer that does not count it for that registry is silent stays at the floor', () => {
  const { presumedGoneAfterMs } = defaultBudgetShareOptions
  const { bs, at } = node()
  const floor = G.arin * (1 - S) / defaultBudgetShareOptions.maxPeers
  // A and this node crawl ripe; A counts it for ripe only
  const a = (t: number, arin: boolean): PeerDemand => ({ id: 'A', demand: { ripe: 1, arin: 1 }, lastSeenMs: t, countsMe: { ripe: true, arin: arin } })
  let t = 0
  for (; t <= HOLD + H; t += H) at(t, [a(t, false)], { ripe: 1 })
  assert.equal(bs.share('ripe').established, true)
  // A goes silent (a partition); this node's work for arin starts after A was last heard
  const lastHeard = t - H
  for (; t <= lastHeard + presumedGoneAfterMs + 4 * HOLD; t += H) {
    assert.ok(close(at(t, [a(lastHeard, false)], { ripe: 1, arin: 1 }).arin, floor), `${t - lastHeard} ms after A's last word: still the floor`)
  }
  // had A's last heartbeat counted it for arin, it would have been established once A was presumed gone
  const other = node()
  let u = 0
  for (; u <= HOLD + H; u += H) other.at(u, [a(u, true)], { ripe: 1, arin: 1 })
  const heard = u - H
  for (; u <= heard + presumedGoneAfterMs + H; u += H) other.at(u, [a(heard, true)], { ripe: 1, arin: 1 })
  assert.equal(other.bs.share('arin').established, true)
})

test('documented limit: a partition longer than the window lets each side take the budget', () => {
  // two established nodes split for longer than recentWindowMs: each forgets the other
  const a = new BudgetShare({ budgets: G }, { now: () => 0 })
  const b = new BudgetShare({ budgets: G }, { now: () => 0 })
  let t = 0
  for (; t <= HOLD + H; t += H) {
    a.update([{ id: 'B', demand: { arin: 1 }, lastSeenMs: t }], { arin: 1 }, t)
    b.update([{ id: 'A', demand: { arin: 1 }, lastSeenMs: t }], { arin: 1 }, t)
  }
  const split = t
  let sum = 0
  for (; t <= split + WINDOW + H; t += H) {
    sum = a.update([{ id: 'B', demand: { arin: 1 }, lastSeenMs: split }], { arin: 1 }, t).arin +
      b.update([{ id: 'A', demand: { arin: 1 }, lastSeenMs: split }], { arin: 1 }, t).arin
    if (t - split <= WINDOW) assert.ok(sum <= G.arin, `${t - split} ms into the partition: ${sum}`)
  }
  assert.ok(close(sum, 2 * G.arin * S), `after the window each side takes G × safety: ${sum}`)
})
