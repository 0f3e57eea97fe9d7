/**
 * Skips a check this machine cannot run (a missing tool, no root) — except in CI, where
 * `.ci/run` sets WHOISMESH_CI=1 and installs what every check needs: there a skip would let a
 * check pass unrun, so it fails instead.
 */
import assert from 'node:assert/strict'

export function skipOutsideCi (t: { skip: (message?: string) => void }, reason: string): void {
  if (process.env.WHOISMESH_CI === '1') assert.fail(`${reason}: CI must run this check (.ci/run installs what it needs)`)
  t.skip(reason)
}
