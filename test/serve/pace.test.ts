/**
 * A crawling node's services wait for its event loop to have time to spare (src/serve/pace.ts):
 * at once on an idle loop, after the busy spell on a busy one, and never longer than maxWaitMs.
 */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { ServePace } from '../../src/serve/pace.js'

/** keeps this thread busy for `ms` */
function spin (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* busy */ }
}

const idle = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

it('lets a lookup go at once while the loop has time to spare', async () => {
  const pace = new ServePace({ windowMs: 50 })
  await idle(120)
  await pace.turn()
  assert.equal(pace.waits, 0)
})

it('makes a lookup wait while the loop was busier than its share, until it is not', async () => {
  const pace = new ServePace({ windowMs: 50, maxBusy: 0.6 })
  // a window of work (the crawl's, say): the next lookup waits for a quieter one
  spin(120)
  await pace.turn()
  assert.equal(pace.waits, 1)
  // the wait itself was idle: the one after goes at once
  await pace.turn()
  assert.equal(pace.waits, 1)
})

it('makes a lookup wait no longer than maxWaitMs when the loop stays busy', async () => {
  const pace = new ServePace({ windowMs: 20, maxBusy: 0.6, maxWaitMs: 200 })
  // the loop busy nearly all the time for as long as the lookup waits (work queued again at
  // once: the loop never sits idle, however late its timers fire)
  let busy = true
  const keepBusy = (): void => {
    if (!busy) return
    spin(18)
    setImmediate(keepBusy)
  }
  spin(50)
  keepBusy()
  try {
    await pace.turn()
  } finally {
    busy = false
  }
  assert.equal(pace.waits, 1)
  assert.ok(pace.waitedMs >= 200, `waited ${pace.waitedMs} ms`)
})
