/**
 * Ownership when nodes hold different registry dumps (src/bulk; `--bulk`). A node that holds a
 * registry's dump never asks about that registry's space, and never publishes answers there: if
 * it owned such addresses, a peer without the dump would wait for them until the owner's share
 * moved for want of records (`--peer-stall`). So an address goes to the crawlers that need its
 * answer: for a registry whose dump some crawlers hold and this node does not, the owners of its
 * addresses are chosen (ownership.ts, the same rendezvous rule) among the crawlers that lack the
 * dump; every other address as the base Ownership decides over all the crawlers.
 *
 * Every node computes the same owners from the same heartbeats (each says which dumps its node
 * holds: Heartbeat.bulk). A node that holds the dump itself resolves that registry's space from
 * it and asks nobody for it, so it needs no split of its own for that registry.
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { Ownership } from './ownership.js'

export class DumpAwareOwnership {
  /** per registry whose dump some crawlers hold and this node lacks: ownership among the lacking ones */
  private readonly byRegistry = new Map<RegistryId, Ownership>()

  /**
   * @param base ownership over all the crawlers
   * @param registryOf the registry to ask about an address (the delegation files' holder, else its /8's)
   */
  constructor (readonly base: Ownership, private readonly registryOf: (address: number) => RegistryId | undefined) {}

  /**
   * Sets the crawlers and which dumps each holds (`holds(id)`: the registries, self included).
   * Returns whether any owner may have changed.
   */
  setPeers (crawlers: readonly string[], self: string, holds: (id: string) => ReadonlySet<RegistryId>): boolean {
    let changed = this.base.setPeers(crawlers, self)
    const all = [...new Set([...crawlers, self])]
    const held = new Map(all.map(id => [id, holds(id)]))
    for (const id of REGISTRY_IDS) {
      const lacking = all.filter(p => !held.get(p)!.has(id))
      if (lacking.length === all.length || !lacking.includes(self)) {
        if (this.byRegistry.delete(id)) changed = true
        continue
      }
      let o = this.byRegistry.get(id)
      if (o === undefined) {
        o = new Ownership({ prefixLength: this.base.prefixLength })
        this.byRegistry.set(id, o)
        changed = true
      }
      if (o.setPeers(lacking, self)) changed = true
    }
    return changed
  }

  private forAddress (address: number): Ownership {
    if (this.byRegistry.size === 0) return this.base
    const id = this.registryOf(address)
    return (id !== undefined ? this.byRegistry.get(id) : undefined) ?? this.base
  }

  /** whether this node owns `address` (the crawl's hot path: one more lookup only while dumps differ) */
  isMine (address: number): boolean {
    return this.forAddress(address).isMine(address)
  }

  /** the peer that owns `address`; throws before the first setPeers() */
  ownerOf (address: number): string {
    return this.forAddress(address).ownerOf(address)
  }

  /** the crawlers */
  get peers (): readonly string[] { return this.base.peers }

  /** the registries whose addresses are shared out among fewer crawlers (their dump is held by the others) */
  get splitRegistries (): RegistryId[] { return [...this.byRegistry.keys()] }
}
