/**
 * The budget bound over random fleets (test/helpers/budget-share-sim.ts): through joins, leaves,
 * work coming and going and partitions, the rates of the peers sending to a registry never add up
 * to more than its budget, without acknowledgements, with acknowledgements per registry, and with
 * acknowledgements announced at once and applied on arrival as the nodes do; and the runs come
 * near the budget, so the bound is not met vacuously.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { defaultBudgetShareOptions } from '../../src/fleet/budget-share.js'
import { H, simulate } from '../helpers/budget-share-sim.js'

test('over random join, leave, work and partition sequences the senders never exceed any registry\'s budget', () => {
  const { recentWindowMs, demandGapMs, presumedGoneAfterMs } = defaultBudgetShareOptions
  const maxPartitionMs = Math.min(recentWindowMs - 5 * H - demandGapMs, presumedGoneAfterMs - 4 * H)
  let checks = 0
  let worst = 0
  let utilisation = 0
  const seen = { joins: 0, leaves: 0, partitions: 0 }
  const seeds = 24
  for (let seed = 1; seed <= seeds; seed++) {
    const r = simulate(seed, { durationMs: 240_000, maxFleet: 10, maxPartitionMs })
    checks += r.checks
    worst = Math.max(worst, r.worst)
    utilisation += r.utilisation / seeds
    seen.joins += r.joins
    seen.leaves += r.leaves
    seen.partitions += r.partitions
  }
  assert.ok(seen.joins > 10 * seeds && seen.leaves > 5 * seeds && seen.partitions > 3 * seeds, `the runs exercised too little: ${JSON.stringify(seen)}`)
  console.log(`budget-share simulation: ${JSON.stringify(seen)}, ${checks} checks, highest sum ${(worst * 100).toFixed(2)}% of a budget, mean busiest-registry use ${(utilisation * 100).toFixed(1)}%`)
  // not vacuous: the fleet does use most of its budgets
  assert.ok(worst > 0.9, `the fleet never got near a budget (${worst})`)
})

test('with acknowledgements per registry, partitions up to W − 5H − demandGap keep the bound, work starting during them included', () => {
  const { recentWindowMs, demandGapMs } = defaultBudgetShareOptions
  const maxPartitionMs = recentWindowMs - 5 * H - demandGapMs // 76 s, well past presumedGoneAfterMs
  let worst = 0
  const seen = { partitions: 0, checks: 0 }
  for (let seed = 101; seed <= 112; seed++) {
    const r = simulate(seed, { durationMs: 300_000, maxFleet: 8, maxPartitionMs, acks: true })
    worst = Math.max(worst, r.worst)
    seen.partitions += r.partitions
    seen.checks += r.checks
  }
  assert.ok(seen.partitions > 12, `too few partitions: ${seen.partitions}`)
  assert.ok(worst > 0.9, `the fleet never got near a budget (${worst})`)
})

test('with acknowledgements announced at once and applied on arrival (as the nodes do), the senders still never exceed any registry\'s budget', () => {
  const { recentWindowMs, demandGapMs } = defaultBudgetShareOptions
  const maxPartitionMs = recentWindowMs - 5 * H - demandGapMs
  let worst = 0
  let utilisation = 0
  const seeds = 12
  for (let seed = 201; seed < 201 + seeds; seed++) {
    const r = simulate(seed, { durationMs: 300_000, maxFleet: 8, maxPartitionMs, acks: true, prompt: true })
    worst = Math.max(worst, r.worst)
    utilisation += r.utilisation / seeds
  }
  console.log(`budget-share simulation, prompt acknowledgements: highest sum ${(worst * 100).toFixed(2)}% of a budget, mean busiest-registry use ${(utilisation * 100).toFixed(1)}%`)
  assert.ok(worst > 0.9, `the fleet never got near a budget (${worst})`)
})
