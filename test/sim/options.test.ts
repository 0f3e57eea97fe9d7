import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_BUDGETS } from '../../src/registry/budget.js'
import { defaultSimulatorOptions, parseFaultKinds, parseLatency, resolveSimulatorOptions } from '../../src/sim/options.js'
import { RegistryGate } from '../../src/sim/rate-limiter.js'
import { FaultPlan } from '../../src/sim/faults.js'

describe('simulator options', () => {
  it('fills defaults: loopback, OS-chosen ports, the real registries\' budgets, five-minute bans, no faults', () => {
    const o = resolveSimulatorOptions({})
    assert.equal(o.host, '127.0.0.1')
    assert.equal(o.controlPort, 0)
    assert.deepEqual(o.budgetPerSecond, DEFAULT_BUDGETS)
    assert.equal(o.banMs, 300_000)
    assert.equal(o.faultRate, 0)
    assert.deepEqual(o, defaultSimulatorOptions)
  })

  it('takes budgets as a --budget string or a partial object', () => {
    assert.equal(resolveSimulatorOptions({ budgetPerSecond: 'lacnic=30/min,arin=50' }).budgetPerSecond.lacnic, 0.5)
    assert.equal(resolveSimulatorOptions({ budgetPerSecond: 'all=200' }).budgetPerSecond.afrinic, 200)
    const partial = resolveSimulatorOptions({ budgetPerSecond: { ripe: 3 } }).budgetPerSecond
    assert.deepEqual(partial, { ...DEFAULT_BUDGETS, ripe: 3 })
  })

  it('names the bad field in every error', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ budgetPerSecond: 'arin=fast' }, /^budgetPerSecond: /],
      [{ budgetPerSecond: { arin: -1 } }, /^budgetPerSecond\.arin /],
      [{ controlPort: 70000 }, /^controlPort /],
      [{ rdapPorts: { mars: 1 } }, /^rdapPorts\.mars /],
      [{ faultRate: 2 }, /^faultRate /],
      [{ faultKinds: ['fire'] }, /^faultKinds /],
      [{ latencyMs: [50, 10] }, /^latencyMs /],
      [{ banAfterOverBudget: 0 }, /^banAfterOverBudget /]
    ]
    for (const [init, re] of cases) {
      assert.throws(() => resolveSimulatorOptions(init as any), (err: Error) => err.name === 'SimulatorOptionsError' && re.test(err.message), JSON.stringify(init))
    }
    assert.deepEqual(parseLatency('10-50'), [10, 50])
    assert.equal(parseLatency('25'), 25)
    assert.deepEqual(parseFaultKinds('reset, huge'), ['reset', 'huge'])
    assert.throws(() => parseFaultKinds('reset,boom'), /boom/)
  })
})

describe('simulator rate limiter', () => {
  it('holds about one second of budget (at least one query) and refills at the budget rate', () => {
    let now = 0
    const gate = new RegistryGate({ budgetPerSecond: 10, burstSeconds: 1, banAfterOverBudget: 100, banWindowMs: 10_000, banMs: 1000 }, () => now)
    let ok = 0
    for (let k = 0; k < 20; k++) if (gate.admit('a').kind === 'ok') ok++
    assert.equal(ok, 10)
    const limited = gate.admit('b')
    assert.deepEqual(limited, { kind: 'rate-limited', retryAfterSeconds: 1 })
    now += 500
    ok = 0
    for (let k = 0; k < 20; k++) if (gate.admit('a').kind === 'ok') ok++
    assert.equal(ok, 5)
    const slow = new RegistryGate({ budgetPerSecond: 10 / 60, burstSeconds: 1, banAfterOverBudget: 100, banWindowMs: 10_000, banMs: 1000 }, () => now)
    assert.equal(slow.admit('a').kind, 'ok')
    assert.deepEqual(slow.admit('a'), { kind: 'rate-limited', retryAfterSeconds: 6 })
  })

  it('bans only the client that keeps going over budget, for banMs', () => {
    let now = 0
    const gate = new RegistryGate({ budgetPerSecond: 1, burstSeconds: 1, banAfterOverBudget: 2, banWindowMs: 10_000, banMs: 5000 }, () => now)
    assert.equal(gate.admit('x').kind, 'ok')
    assert.equal(gate.admit('x').kind, 'rate-limited')
    assert.equal(gate.admit('x').kind, 'rate-limited')
    assert.deepEqual(gate.admit('x'), { kind: 'banned', retryAfterSeconds: 5, started: true })
    assert.equal(gate.bansStarted, 1)
    now += 2000
    assert.deepEqual(gate.admit('x'), { kind: 'banned', retryAfterSeconds: 3, started: false })
    assert.equal(gate.admit('y').kind, 'ok')
    now += 3001
    assert.equal(gate.admit('x').kind, 'ok')
    assert.equal(gate.bannedCount(), 0)
  })
})

describe('simulator fault plan', () => {
  it('draws the same faults from the same seed, only the kinds allowed, at the configured rate', () => {
    const draw = (): Array<string | undefined> => {
      const p = new FaultPlan({ faultRate: 0.3, faultKinds: ['reset', 'huge'], latencyMs: [5, 10], seed: 42 })
      return Array.from({ length: 2000 }, () => p.nextFault())
    }
    const a = draw()
    assert.deepEqual(a, draw())
    const faults = a.filter(f => f !== undefined)
    assert.ok(faults.length > 500 && faults.length < 700, `${faults.length} faults`)
    assert.deepEqual([...new Set(faults)].sort(), ['huge', 'reset'])
    const p = new FaultPlan({ faultRate: 0, faultKinds: ['reset'], latencyMs: [5, 10], seed: 1 })
    for (let k = 0; k < 100; k++) {
      const d = p.nextDelayMs()
      assert.ok(d >= 5 && d <= 10)
    }
  })
})
