/**
 * A fleet of BudgetShare peers, simulated event by event, for the tests of the budget bound. Each
 * peer updates every H and publishes its heartbeat every H (independent phases); a heartbeat
 * reaches each connected peer after a random delay of up to H; a partition drops every heartbeat
 * between its two sides. Peers join, leave, gain and lose work, and partitions come and go (each at
 * most `maxPartitionMs`, between nodes that have heard each other: up for 3H, 3H after the previous
 * heal; no joins while split). After every event, for every registry, the rates of the peers that
 * have work queued (the ones sending) must add up to no more than the global budget: `simulate`
 * asserts it and reports how close the runs came.
 */
import assert from 'node:assert/strict'
import { BudgetShare, type Demand } from '../../src/fleet/budget-share.js'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { DEFAULT_BUDGETS } from '../../src/registry/budget.js'
import { prngFloat as prng } from '../../src/util/prng.js'

const G = DEFAULT_BUDGETS
/** the heartbeat interval of the simulated peers, ms */
export const H = 2000

interface SimPeer {
  id: string
  bs: BudgetShare
  bornAt: number
  alive: boolean
  group: number
  demand: Demand
  published: Demand
  view: Map<string, { demand: Demand, lastSeenMs: number, sentAt: number, counted?: { counting: string[], countingMask: number[] } }>
  rate: Record<RegistryId, number>
}

type SimEventBody =
  | { kind: 'update' | 'publish' | 'announce', peer: SimPeer }
  | { kind: 'deliver', from: SimPeer, to: SimPeer, demand: Demand, sentAt: number, counted?: { counting: string[], countingMask: number[] } }
  | { kind: 'scenario' }
  | { kind: 'heal' }
type SimEvent = { t: number, seq: number } & SimEventBody

class Heap {
  private readonly a: SimEvent[] = []
  get size (): number { return this.a.length }
  push (e: SimEvent): void {
    const a = this.a
    a.push(e)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(a[i], a[p])) break
      ;[a[i], a[p]] = [a[p], a[i]]
      i = p
    }
  }

  pop (): SimEvent {
    const a = this.a
    const top = a[0]
    const last = a.pop()!
    if (a.length > 0) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && before(a[l], a[m])) m = l
        if (r < a.length && before(a[r], a[m])) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m], a[i]]
        i = m
      }
    }
    return top
  }
}
const before = (x: SimEvent, y: SimEvent): boolean => x.t < y.t || (x.t === y.t && x.seq < y.seq)

/** What a heartbeat's counting list and mask say about `self`, per registry (as node.ts reads them). */
function countsFor (c: { counting: string[], countingMask: number[] }, self: string): Partial<Record<RegistryId, boolean>> {
  const i = c.counting.indexOf(self)
  return Object.fromEntries(REGISTRY_IDS.map((id, b) => [id, i >= 0 && (c.countingMask[i] & (1 << b)) !== 0]))
}

export interface SimResult { checks: number, worst: number, utilisation: number, joins: number, leaves: number, partitions: number, maxFleet: number }

/**
 * With `acks`, heartbeats carry the sender's `counting` list and mask, as the nodes' do; with
 * `prompt` too, a peer also publishes at once when its update starts a run of work or changes whom
 * it counts, and updates at once on a heartbeat that brings news (FleetBudget's announce()).
 */
export function simulate (seed: number, opts: { durationMs: number, maxFleet: number, maxPartitionMs: number, acks?: boolean, prompt?: boolean }): SimResult {
  const rnd = prng(seed)
  const queue = new Heap()
  let seq = 0
  let now = 0
  const at = (t: number, e: SimEventBody): void => { queue.push({ ...e, t, seq: seq++ }) }
  const peers: SimPeer[] = []
  let partitioned = false
  let healedAt = -Infinity
  const res: SimResult = { checks: 0, worst: 0, utilisation: 0, joins: 0, leaves: 0, partitions: 0, maxFleet: 0 }
  let busyArea = 0
  let busyTime = 0
  let lastT = 0
  let lastRatio = 0

  const randomDemand = (): Demand => Object.fromEntries(REGISTRY_IDS.filter(() => rnd() < 0.7).map(id => [id, 1 + Math.floor(rnd() * 100)]))
  const alive = (): SimPeer[] => peers.filter(p => p.alive)
  const join = (): void => {
    const others = alive()
    const p: SimPeer = {
      id: `peer-${peers.length}`,
      bs: new BudgetShare({ budgets: G, maxPeers: opts.maxFleet }, { now: () => now }),
      bornAt: now,
      alive: true,
      group: others.length > 0 ? others[Math.floor(rnd() * others.length)].group : 0,
      demand: randomDemand(),
      published: {},
      view: new Map(),
      rate: undefined as unknown as Record<RegistryId, number>
    }
    p.rate = p.bs.rates()
    peers.push(p)
    res.joins++
    at(now + rnd() * H, { kind: 'update', peer: p })
    at(now + rnd() * H, { kind: 'publish', peer: p })
  }

  const check = (): void => {
    const live = alive()
    let ratio = 0
    for (const id of REGISTRY_IDS) {
      let sum = 0
      for (const p of live) if ((p.demand[id] ?? 0) > 0) sum += p.rate[id]
      const r = sum / G[id]
      ratio = Math.max(ratio, r)
      res.checks++
      if (r > res.worst) res.worst = r
      assert.ok(r <= 1 + 1e-9, `seed ${seed}, t=${now.toFixed(1)} ms, ${id}: senders' rates add up to ${(r * 100).toFixed(3)}% of the budget ` +
        `(${live.filter(p => (p.demand[id] ?? 0) > 0).map(p => `${p.id}${p.bs.share(id).established ? '*' : ''}=${p.rate[id].toFixed(4)}`).join(', ')})`)
    }
    if (live.some(p => REGISTRY_IDS.some(id => (p.demand[id] ?? 0) > 0))) { busyArea += lastRatio * (now - lastT); busyTime += now - lastT }
    lastT = now
    lastRatio = ratio
  }

  /** the peer's update (at its tick, or on news when `prompt`); with `prompt`, news of its own is announced */
  const refresh = (p: SimPeer): void => {
    const before = JSON.stringify(p.bs.counted())
    const running = REGISTRY_IDS.map(id => p.bs.share(id).run !== 'none')
    const list = [...p.view].map(([id, v]) => ({ id, demand: v.demand, lastSeenMs: v.lastSeenMs, countsMe: v.counted === undefined ? undefined : countsFor(v.counted, p.id) }))
    p.rate = p.bs.update(list, p.demand, now)
    p.published = { ...p.demand }
    const started = REGISTRY_IDS.some((id, i) => !running[i] && p.bs.share(id).run !== 'none')
    if (opts.prompt === true && (started || JSON.stringify(p.bs.counted()) !== before)) at(now, { kind: 'announce', peer: p })
  }

  /** `p`'s heartbeat to every live peer of its group, each after a random delay of up to H */
  const send = (p: SimPeer, counted: ReturnType<SimPeer['bs']['counted']> | undefined): void => {
    for (const q of alive()) {
      if (q === p || q.group !== p.group) continue
      at(now + rnd() * H, { kind: 'deliver', from: p, to: q, demand: p.published, sentAt: now, counted })
    }
  }

  for (let i = 0; i < 3; i++) join()
  at(rnd() * 1500, { kind: 'scenario' })
  while (queue.size > 0) {
    const e = queue.pop()
    if (e.t > opts.durationMs) break
    now = e.t
    switch (e.kind) {
      case 'update': {
        const p = e.peer
        if (!p.alive) break
        refresh(p)
        at(now + H, { kind: 'update', peer: p })
        break
      }
      case 'announce': {
        const p = e.peer
        if (!p.alive) break
        send(p, p.bs.counted())
        break
      }
      case 'publish': {
        const p = e.peer
        if (!p.alive) break
        send(p, opts.acks === true ? p.bs.counted() : undefined)
        at(now + H, { kind: 'publish', peer: p })
        break
      }
      case 'deliver': {
        const { from, to } = e
        if (!to.alive || from.group !== to.group) break
        const prev = to.view.get(from.id)
        if (prev != null && prev.sentAt >= e.sentAt) break
        to.view.set(from.id, { demand: e.demand, lastSeenMs: now, sentAt: e.sentAt, counted: e.counted })
        if (opts.prompt === true) refresh(to)
        break
      }
      case 'heal':
        for (const p of peers) p.group = 0
        partitioned = false
        healedAt = now
        break
      case 'scenario': {
        const live = alive()
        const x = rnd()
        // nodes that have never heard of each other cannot share (see the limits in budget-share.ts):
        // no joins during a partition, no partition before every live node has heard the others
        // and none until the last one's sides have heard each other again
        const settled = live.every(p => now - p.bornAt >= 3 * H) && now - healedAt >= 3 * H
        if (x < 0.08 && live.length < opts.maxFleet && !partitioned) join()
        else if (x < 0.13 && live.length > 1) { live[Math.floor(rnd() * live.length)].alive = false; res.leaves++ } else if (x < 0.2 && !partitioned && settled && live.length > 1) {
          // two non-empty sides
          const side = live.map(() => rnd() < 0.5 ? 1 : 2)
          if (!side.includes(1)) side[0] = 1
          if (!side.includes(2)) side[side.length - 1] = 2
          live.forEach((p, i) => { p.group = side[i] })
          partitioned = true
          res.partitions++
          at(now + 200 + rnd() * (opts.maxPartitionMs - 200), { kind: 'heal' })
        } else if (live.length > 0) {
          const p = live[Math.floor(rnd() * live.length)]
          const id = REGISTRY_IDS[Math.floor(rnd() * REGISTRY_IDS.length)]
          p.demand = { ...p.demand, [id]: (p.demand[id] ?? 0) > 0 ? 0 : 1 + Math.floor(rnd() * 50) }
        }
        res.maxFleet = Math.max(res.maxFleet, alive().length)
        at(now + rnd() * 3000, { kind: 'scenario' })
        break
      }
    }
    check()
  }
  res.utilisation = busyTime > 0 ? busyArea / busyTime : 0
  return res
}
