import type { Writable } from 'node:stream'

/**
 * Resolves when `out` can take more (`drain`) or is closed — never rejects, and removes both
 * listeners (a write loop then checks whether `out` is destroyed). For a writer that stops on
 * its own when the other side goes away; report/dump.ts's `drained` rejects then instead.
 */
export async function drainedOrClosed (out: Writable): Promise<void> {
  await new Promise<void>(resolve => {
    const done = (): void => {
      out.off('drain', done)
      out.off('close', done)
      resolve()
    }
    out.on('drain', done)
    out.on('close', done)
  })
}
