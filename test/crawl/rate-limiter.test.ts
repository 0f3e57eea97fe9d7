import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { RateLimiter } from '../../src/crawl/rate-limiter.js'

/**
 * On the limiter's own clock (a fake one, with Node's mocked setTimeout): a measurement on the
 * real clock would see grants that happened apart in time land together whenever the process is
 * descheduled (a loaded CI machine), which says nothing about the limiter.
 */
async function grantTimes (t: TestContext, rate: number, n: number, stallAt?: { ms: number, forMs: number }): Promise<number[]> {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let clock = 0
  const limiter = new RateLimiter({ ratePerSecond: rate }, () => clock)
  const times: number[] = []
  const all = Promise.all(Array.from({ length: n }, async () => { await limiter.acquire(); times.push(clock) }))
  const flush = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }
  await flush()
  while (times.length < n && clock < 60_000) {
    // a stall: the clock jumps, as when the event loop was blocked, before timers run
    const step = stallAt !== undefined && clock === stallAt.ms ? stallAt.forMs : 1
    clock += step
    t.mock.timers.tick(step)
    await flush()
  }
  await all
  return times
}

test('the limiter never lets more than rate × time + burst requests through', async (t) => {
  const rate = 200
  const times = await grantTimes(t, rate, 60)
  // 60 requests at 200/s need at least 59 intervals of 5 ms
  assert.ok(times[59] >= 59 * 5, `last request after ${times[59]} ms: ${times.join(' ')}`)
  for (let i = 1; i < times.length; i++) {
    for (let j = 0; j < i; j++) {
      const window = times[i] - times[j]
      assert.ok(i - j <= window * rate / 1000 + 1, `requests ${j}..${i} within ${window} ms exceed the rate`)
    }
  }
})

test('after a stall the limiter does not catch up: one request, then the rate again', async (t) => {
  const rate = 200
  const times = await grantTimes(t, rate, 40, { ms: 50, forMs: 100 })
  const atOnce = times.filter(x => x === times.find(y => y > 50)).length
  assert.equal(atOnce, 1, `${atOnce} requests left together after the stall: ${times.join(' ')}`)
  for (let i = 1; i < times.length; i++) {
    for (let j = 0; j < i; j++) assert.ok(i - j <= (times[i] - times[j]) * rate / 1000 + 1, `requests ${j}..${i} within ${times[i] - times[j]} ms`)
  }
})

test('a pause holds requests that are already waiting', async () => {
  const limiter = new RateLimiter({ ratePerSecond: 20 })
  await limiter.acquire()
  const t0 = performance.now()
  const p = limiter.acquire()
  assert.equal(limiter.waiting, 1)
  limiter.pauseFor(120)
  await p
  assert.ok(performance.now() - t0 >= 115, `released after ${performance.now() - t0} ms`)
})

test('a hold keeps waiting requests until it is lifted, whatever its length; it never overflows a timer', async () => {
  const warnings: string[] = []
  const onWarning = (w: Error): void => { warnings.push(w.name) }
  process.on('warning', onWarning)
  try {
    const limiter = new RateLimiter({ ratePerSecond: 1000 })
    limiter.holdFor(2 ** 40)
    const p = limiter.acquire()
    await new Promise(resolve => setTimeout(resolve, 30))
    assert.equal(limiter.waiting, 1, 'held')
    assert.ok(limiter.pausedForMs() > 2 ** 39)
    limiter.holdFor(0)
    await p
    assert.equal(limiter.pausedForMs(), 0, 'lifted')
    limiter.pauseFor(2 ** 40)
    limiter.holdFor(0)
    assert.ok(limiter.pausedForMs() > 2 ** 39, 'lifting a hold does not lift this node\'s own pause')
    const ac = new AbortController()
    const q = limiter.acquire(ac.signal)
    await new Promise(resolve => setTimeout(resolve, 20))
    ac.abort()
    await assert.rejects(q, { name: 'AbortError' })
    assert.deepEqual(warnings.filter(w => w === 'TimeoutOverflowWarning'), [])
  } finally {
    process.off('warning', onWarning)
  }
})

test('an aborted waiter rejects and frees its place', async () => {
  const limiter = new RateLimiter({ ratePerSecond: 5 })
  await limiter.acquire()
  const ac = new AbortController()
  const p = limiter.acquire(ac.signal)
  ac.abort()
  await assert.rejects(p, { name: 'AbortError' })
  assert.equal(limiter.waiting, 0)
})

test('raising the rate shortens a wait planned at the old rate', async () => {
  const limiter = new RateLimiter({ ratePerSecond: 0.01 })
  await limiter.acquire()
  assert.ok(limiter.delayMs() > 90_000, `planned ${limiter.delayMs()} ms at 0.01/s`)
  limiter.setRate(100)
  assert.ok(limiter.delayMs() <= 10, `still ${limiter.delayMs()} ms after raising the rate to 100/s`)
})
