/**
 * Which failure records a commit writes and deletes. A failure record says an address could not be
 * resolved; it never outlives an answer for that address, whatever the order the two arrive in:
 *
 * - a failure for an address the store resolves — before this commit, or by a network or negative
 *   of this commit — is not written: the answer came first (a network found through another
 *   address, by this node or by a peer, while this address's lookups were failing);
 * - a stored failure for an address that a network or negative of this commit resolves is deleted
 *   (whether the record is new, replaces the stored one, or is already stored), as are the
 *   addresses of `clearFailures`.
 */
import type { CanonicalFailure } from '../record/index.js'
import { lowerBound } from './sorted-array.js'

export interface FailurePlanInput {
  failures: CanonicalFailure[]
  clearFailures: number[]
  /** the addresses of the stored failures */
  stored: ReadonlySet<number>
  /** resolved by what is stored before this commit */
  isResolved: (address: number) => boolean
  /** the ranges of this commit's networks and the addresses of its negatives */
  networks: ReadonlyArray<{ start: number, end: number }>
  negatives: readonly number[]
}

export interface FailurePlan {
  /** failures to write, by address */
  writes: Map<number, CanonicalFailure>
  /** addresses whose failure record is deleted */
  deletes: Set<number>
  /** failures not written because their address is resolved */
  obsolete: number
}

export function planFailures (input: FailurePlanInput): FailurePlan {
  const none = input.failures.length === 0 && input.stored.size === 0
  const resolvedHere = none ? () => false : resolvesAny(input.networks, input.negatives)
  const writes = new Map<number, CanonicalFailure>()
  let obsolete = 0
  for (const f of input.failures) {
    if (input.isResolved(f.address) || resolvedHere(f.address)) obsolete++
    else writes.set(f.address, f)
  }
  const deletes = new Set(input.clearFailures)
  if (input.networks.length + input.negatives.length > 0) {
    for (const a of input.stored) if (resolvedHere(a)) deletes.add(a)
  }
  for (const a of deletes) writes.delete(a)
  return { writes, deletes, obsolete }
}

/** whether an address lies in one of the ranges or is one of the addresses: O(log n) per question */
function resolvesAny (ranges: ReadonlyArray<{ start: number, end: number }>, addresses: readonly number[]): (address: number) => boolean {
  if (ranges.length + addresses.length === 0) return () => false
  const sorted = [...ranges].sort((x, y) => x.start - y.start)
  const starts = Uint32Array.from(sorted, r => r.start)
  // reach[k]: the largest end among the first k + 1 ranges (ranges nest and overlap)
  const reach = new Float64Array(sorted.length)
  for (let k = 0, m = -1; k < sorted.length; k++) { m = Math.max(m, sorted[k].end); reach[k] = m }
  const negatives = new Set(addresses)
  return address => {
    if (negatives.has(address)) return true
    const k = lowerBound(starts, starts.length, address + 1) - 1 // last range starting at or before the address
    return k >= 0 && reach[k] >= address
  }
}
