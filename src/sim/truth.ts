/**
 * Ground truth, for judges only (tests, benchmarks): the network a registry's RDAP answer for an
 * address describes — the most specific network of its owner, after any redirect. The control
 * server serves it as `GET /truth?ip=A.B.C.D`. No crawler code may read it: a crawler learns only
 * what the registries' answers say.
 */
import type { RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import { NestedWorld } from './nested.js'
import { flatView, nestedView, type WorldView } from './responder.js'
import { World } from './world.js'

export interface Truth {
  start: string
  end: string
  handle: string
  registry: RegistryId
  /** an assignment that policy does not subdivide (a leaf type word); false for allocations, sub-allocations, unassigned blocks */
  leaf: boolean
}

/** The truth for `address` in a world (flat or nested) or a view of one; undefined for special-purpose and reserved space. */
export function truthFor (world: World | NestedWorld | WorldView, address: number): Truth | undefined {
  const view = world instanceof World ? flatView(world) : world instanceof NestedWorld ? nestedView(world) : world
  const a = view.answer(address)
  if (a === undefined) return undefined
  const n = a.chain[a.chain.length - 1]
  return { start: formatIPv4(n.start), end: formatIPv4(n.end), handle: n.handle, registry: n.registry, leaf: n.leaf ?? isLeafType(n.type, n.gap) }
}

const LEAF_TYPES = new Set(['ASSIGNED PA', 'ASSIGNED PI', 'ASSIGNED NON-PORTABLE', 'ASSIGNED PORTABLE', 'REASSIGNMENT', 'DIRECT ASSIGNMENT', 'assigned', 'reassigned'])

/** Flat world networks carry no leaf flag: their type word says it. */
function isLeafType (type: string, gap: boolean): boolean {
  return !gap && LEAF_TYPES.has(type)
}
