/**
 * util/deadline.ts: a deadline joined with other signals aborts when its time is up even when the
 * collector runs meanwhile (AbortSignal.any over AbortSignal.timeout did not, on Node 20), when a
 * joined signal aborts, and never once cleared.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { deadline } from '../../src/util/deadline.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const aborted = async (signal: AbortSignal, withinMs: number): Promise<boolean> => await new Promise(resolve => {
  if (signal.aborted) { resolve(true); return }
  const timer = setTimeout(() => resolve(false), withinMs)
  signal.addEventListener('abort', () => { clearTimeout(timer); resolve(true) }, { once: true })
})

test('a deadline joined with a signal that never aborts fires on time though the collector runs meanwhile', async () => {
  const forever = new AbortController()
  const results: Array<Promise<boolean>> = []
  for (let i = 0; i < 20; i++) results.push(aborted(deadline(100, forever.signal).signal, 5_000))
  for (let i = 0; i < 5; i++) { gc(); await new Promise(resolve => setTimeout(resolve, 10)) }
  assert.deepEqual(await Promise.all(results), Array(20).fill(true))
})

test('a deadline aborts with a TimeoutError, or at once with a joined signal\'s reason, and not once cleared', async () => {
  const d = deadline(20)
  assert.equal(await aborted(d.signal, 2_000), true)
  assert.equal((d.signal.reason as Error).name, 'TimeoutError')
  const other = new AbortController()
  const joined = deadline(60_000, other.signal)
  other.abort(new Error('stopped'))
  assert.equal(joined.signal.aborted, true)
  assert.equal((joined.signal.reason as Error).message, 'stopped')
  joined.clear()
  const cleared = deadline(20)
  cleared.clear()
  assert.equal(await aborted(cleared.signal, 200), false)
})
