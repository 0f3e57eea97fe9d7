/**
 * Plausibility: what a record from a peer must agree with that this node knows without asking
 * anyone — the registries' delegation files (registry/delegations.ts), which list every block a
 * registry allocated or assigned. A message alone cannot be checked against them (validation.ts
 * checks its form); a record that fails is dropped on its own, the rest of its batch kept:
 *
 * - `foreign-space`: neither end of the network is held by the registry it names, and another
 *   registry holds one of them. A registry answers only for space it holds (it redirects the rest).
 * - `spans-delegations`: a leaf (a customer assignment, record/classify.ts) lies across separate
 *   delegations, or across delegated and undelegated space. Each delegation is a network of its
 *   own in the registry, more specific than anything spanning several, so no registry answers an
 *   address with such a leaf (the lie "41.0.0.0/8 is one customer" is one).
 * - `listing-spans-delegations`: a container lying across delegations carries a listing (it vouches
 *   that every child holding a sample address is stored). Containers spanning delegations are real
 *   (RIPE NCC's and ARIN's per-/8 blocks answer for unallocated addresses), so the record is kept,
 *   without the listing: a listing would vouch for the delegations inside it, which are children.
 * - `delegated-negative`: a "not found" for an address in delegated space. A registry that holds a
 *   block answers for it.
 *
 * The files of different days can disagree on space transferred between registries in between:
 * an honest record can then be dropped here (the addresses only it answered stay open on this
 * node until it loads newer files), so the sender is not penalised (docs/operating.md, "Known
 * limits").
 */
import { canonicalNetwork, isLeaf, type CanonicalNegative, type CanonicalNetwork } from '../record/index.js'
import type { DelegationTable } from '../registry/delegations.js'
import { formatIPv4 } from '../util/ipv4.js'

export const IMPLAUSIBLE_REASONS = ['foreign-space', 'spans-delegations', 'listing-spans-delegations', 'delegated-negative'] as const
export type ImplausibleReason = typeof IMPLAUSIBLE_REASONS[number]

/** A record from a peer that disagrees with the delegation files. */
export interface Implausible {
  reason: ImplausibleReason
  /** for logs: which record, and what the files say */
  detail: string
  /** the peer the record names as its author */
  author: string | undefined
}

/** What validateRecords asks of each record received (mesh/validation.ts). */
export interface PlausibilityCheck {
  /** the network as it may be stored (a listing it cannot carry removed), or why it is dropped */
  network: (r: CanonicalNetwork) => { network: CanonicalNetwork, unlisted?: Implausible } | { dropped: Implausible }
  /** why the negative is dropped, or undefined */
  negative: (r: CanonicalNegative) => Implausible | undefined
}

const range = (r: CanonicalNetwork): string => `${formatIPv4(r.start)}-${formatIPv4(r.end)}`

/** The checks against one delegation table. */
export class DelegationPlausibility implements PlausibilityCheck {
  constructor (private readonly table: DelegationTable) {}

  network (r: CanonicalNetwork): { network: CanonicalNetwork, unlisted?: Implausible } | { dropped: Implausible } {
    const t = this.table
    const first = t.registryFor(r.start)
    const last = t.registryFor(r.end)
    if (first !== r.registry && last !== r.registry && (first ?? last) !== undefined) {
      return { dropped: { reason: 'foreign-space', detail: `${r.registry} network ${range(r)}: the delegation files give it to ${first ?? last}`, author: r.author } }
    }
    if (!t.crossesDelegations(r.start, r.end)) return { network: r }
    if (isLeaf(r.registry, r.type)) {
      return { dropped: { reason: 'spans-delegations', detail: `leaf ${range(r)} (${r.type.slice(0, 40)}) lies across separate delegations`, author: r.author } }
    }
    if (r.listedSample === undefined) return { network: r }
    const { listedSample, listedAt, ...unlisted } = r
    return { network: canonicalNetwork(unlisted), unlisted: { reason: 'listing-spans-delegations', detail: `container ${range(r)} lies across separate delegations: its listing is dropped`, author: r.author } }
  }

  negative (r: CanonicalNegative): Implausible | undefined {
    if (r.reason !== 'not-found') return undefined
    const holder = this.table.registryFor(r.address)
    if (holder === undefined) return undefined
    return { reason: 'delegated-negative', detail: `"not found" for ${formatIPv4(r.address)}, which the delegation files give to ${holder}`, author: r.author }
  }
}
