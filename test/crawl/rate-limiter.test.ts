import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RateLimiter } from '../../src/crawl/rate-limiter.js'

test('the limiter never lets more than rate × time + burst requests through', async () => {
  const rate = 200
  const limiter = new RateLimiter({ ratePerSecond: rate })
  const times: number[] = []
  const t0 = performance.now()
  await Promise.all(Array.from({ length: 60 }, async () => { await limiter.acquire(); times.push(performance.now() - t0) }))
  // 60 requests at 200/s need at least 59 intervals of 5 ms
  assert.ok(times[59] >= 58 * 5 - 2, `last request after ${times[59]} ms`)
  for (let i = 1; i < times.length; i++) {
    const window = times[i] - times[0]
    assert.ok(i <= window * rate / 1000 + 2, `request ${i} at ${window.toFixed(1)} ms exceeds the rate`)
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
