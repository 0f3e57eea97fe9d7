/**
 * What a simulated registry answers about an address, whatever the protocol:
 * - the network, when this registry owns the network holding the address (in the nested world
 *   the most specific one, with the chain from its allocation down);
 * - a redirect / referral to the owner, when another registry owns it (transferred space, or
 *   another RIR's /8: real RIRs redirect such queries by the IANA bootstrap);
 * - not found, for special-purpose and reserved space (no registry has it).
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { describeNode } from './nested-records.js'
import type { NestedWorld, TreeNode } from './nested.js'
import { describeNetwork, type SimNetwork } from './records.js'
import type { World } from './world.js'

/** The owner's answer for an address: its most specific network and the chain above it. */
export interface OwnerAnswer {
  /** from the RIR-level allocation down to the most specific network (flat world: that one network) */
  chain: SimNetwork[]
  /** the RIR-level block holding it (flat world: the network itself) */
  allocation: SimNetwork
}

/** A world as the servers see it: flat or nested. */
export interface WorldView {
  readonly kind: 'flat' | 'nested'
  /** undefined for special-purpose and reserved space */
  answer: (address: number) => OwnerAnswer | undefined
  /**
   * The first-level more specific networks of [start, end] (what RPSL `-m` and RDAP `rdap-down`
   * list), as RIPE NCC's server finds them (RIPE-NCC/whois NestedIntervalMap.findFirstMoreSpecific
   * and ChildNodeTreeMap.findFirstMoreSpecific): below the exact match or, if none, the most
   * specific network containing the whole range, each child inside the range, and for a child
   * that crosses the range's edge, the same search among its own children. Empty in reserved
   * space and for a registry that does not own it.
   */
  children: (registry: RegistryId, start: number, end: number) => SimNetwork[]
  /**
   * Every network `registry` holds, in address order (parents before their children), in batches
   * of one allocation's tree (flat world: of up to 4,096 networks): what its database dump lists.
   */
  forEachOwned: (registry: RegistryId) => Iterable<SimNetwork[]>
}

export function flatView (world: World): WorldView {
  return {
    kind: 'flat',
    answer: address => {
      const i = world.find(address)
      if (i < 0) return undefined
      const n = describeNetwork(world, i)
      return { chain: [n], allocation: n }
    },
    // a flat world is one layer: nothing is more specific than its networks
    children: () => [],
    forEachOwned: function * (registry) {
      const owner = REGISTRY_IDS.indexOf(registry)
      let batch: SimNetwork[] = []
      for (let i = 0; i < world.count; i++) {
        if (world.owner[i] !== owner) continue
        batch.push(describeNetwork(world, i))
        if (batch.length >= 4096) { yield batch; batch = [] }
      }
      if (batch.length > 0) yield batch
    }
  }
}

export function nestedView (nw: NestedWorld): WorldView {
  return {
    kind: 'nested',
    answer: address => {
      const nodes = nw.chainAt(address)
      if (nodes === undefined) return undefined
      const chain = nodes.map(n => describeNode(nw, n))
      return { chain, allocation: chain[0] }
    },
    children: (registry, start, end) => {
      const a = nw.findAllocation(start)
      if (a < 0 || nw.end[a] < end || nw.ownerOf(a) !== registry) return []
      let node = nw.allocationNode(a)
      for (;;) {
        const inner = nw.childrenOf(node).find(c => c.start <= start && end <= c.end)
        if (inner === undefined) break
        node = inner
      }
      const found: TreeNode[] = []
      const search = (kids: TreeNode[]): void => {
        for (const c of kids) {
          if (c.end < start || c.start > end) continue
          if (start <= c.start && c.end <= end) found.push(c)
          else search(nw.childrenOf(c))
        }
      }
      search(nw.childrenOf(node))
      return found.map(c => describeNode(nw, c))
    },
    forEachOwned: function * (registry) {
      for (let a = 0; a < nw.count; a++) {
        if (nw.ownerOf(a) !== registry) continue
        const batch: SimNetwork[] = []
        nw.forEachNetwork(n => batch.push(describeNode(nw, n)), [a])
        yield batch
      }
    }
  }
}

export type Decision =
  /** `chain`: the allocation down to `network` (the last) */
  | { kind: 'network', network: SimNetwork, chain: SimNetwork[] }
  /**
   * `network` is the owner's RIR-level block; `blockStart`/`blockEnd` the range the referral
   * speaks for: the whole /8 when it is the owner's, else (transferred space) that block
   */
  | { kind: 'redirect', to: RegistryId, network: SimNetwork, transferred: boolean, blockStart: number, blockEnd: number }
  | { kind: 'not-found' }

export function decide (view: WorldView, registry: RegistryId, address: number): Decision {
  const a = view.answer(address)
  if (a === undefined) return { kind: 'not-found' }
  const network = a.chain[a.chain.length - 1]
  if (network.registry === registry) return { kind: 'network', network, chain: a.chain }
  const block = a.allocation
  const transferred = block.administeredBy !== block.registry
  const slashEight = address - (address % 2 ** 24)
  return transferred
    ? { kind: 'redirect', to: block.registry, network: block, transferred, blockStart: block.start, blockEnd: block.end }
    : { kind: 'redirect', to: block.registry, network: block, transferred, blockStart: slashEight, blockEnd: slashEight + 2 ** 24 - 1 }
}
