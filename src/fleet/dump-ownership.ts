/**
 * Ownership when nodes hold different registry dumps (src/bulk; `--bulk`). A node that holds a
 * registry's dump never publishes answers in the space the dump answers: if it owned such
 * addresses, a peer without the dump would wait for them until the owner's share moved for want
 * of records (`--peer-stall`). So where some crawlers hold a registry's dump and others do not,
 * that registry's addresses (by the routing every node uses: the delegation files, else the /8
 * table) are owned among the crawlers WITHOUT the dump (ownership.ts, the same rendezvous rule
 * over fewer peers), and a holder owns none of them — not even those its dump does not hold
 * (space transferred since), which the others ask once, not twice. Every other address, and
 * every address of a registry all or none of the crawlers hold, as the base Ownership decides.
 *
 * Every node computes the same owners from the same heartbeats (each says which dumps its node
 * holds: Heartbeat.bulk).
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { Ownership } from './ownership.js'

export class DumpAwareOwnership {
  /** per registry whose dump some crawlers hold and others do not: ownership among those without it */
  private readonly byRegistry = new Map<RegistryId, { owners: Ownership, member: boolean }>()

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
    const all = [...new Set([...crawlers, self])].sort()
    const held = new Map(all.map(id => [id, holds(id)]))
    for (const id of REGISTRY_IDS) {
      const lacking = all.filter(p => !held.get(p)!.has(id))
      if (lacking.length === all.length || lacking.length === 0) {
        if (this.byRegistry.delete(id)) changed = true
        continue
      }
      const member = lacking.includes(self)
      let split = this.byRegistry.get(id)
      if (split === undefined) {
        split = { owners: new Ownership({ prefixLength: this.base.prefixLength }), member }
        this.byRegistry.set(id, split)
        changed = true
      }
      if (split.member !== member) { split.member = member; changed = true }
      // a holder computes the same owners from the outside: "self" is then only a perspective (isMine is false for it)
      if (split.owners.setPeers(lacking, member ? self : lacking[0])) changed = true
    }
    return changed
  }

  private split (address: number): { owners: Ownership, member: boolean } | undefined {
    if (this.byRegistry.size === 0) return undefined
    const id = this.registryOf(address)
    return id !== undefined ? this.byRegistry.get(id) : undefined
  }

  /** whether this node owns `address` (the crawl's hot path: one more lookup only while dumps differ) */
  isMine (address: number): boolean {
    const s = this.split(address)
    if (s === undefined) return this.base.isMine(address)
    return s.member && s.owners.isMine(address)
  }

  /** the peer that owns `address`; throws before the first setPeers() */
  ownerOf (address: number): string {
    return (this.split(address)?.owners ?? this.base).ownerOf(address)
  }

  /** the crawlers */
  get peers (): readonly string[] { return this.base.peers }

  /** the registries whose addresses are owned only by the crawlers without their dump */
  get splitRegistries (): RegistryId[] { return [...this.byRegistry.keys()] }
}

/** the registries whose dumps a heartbeat says its node holds, as one comparable string ('' for none) */
export function dumpsOf (h: { bulk?: Partial<Record<RegistryId, number>> } | undefined): string {
  return Object.keys(h?.bulk ?? {}).sort().join(',')
}
