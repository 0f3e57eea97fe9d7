/**
 * The bulk layer of a data directory: the registries' imported dumps (`bulk/<registry>.snapshot`,
 * snapshot.ts), beside the crawled index and never mixed into it. A dump lists every network a
 * registry holds, so the most specific network of a dump holding an address is that registry's
 * answer for it — exactly, with no lookup (docs/architecture.md "Bulk data").
 *
 * Records of the layer are not in the store's digests, sync or gossip: every node reads the same
 * public file, and nodes say which serials they hold instead (heartbeats).
 */
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { NetworkRecord } from '../record/index.js'
import { isRegistryId, REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { Snapshot, type SnapshotHeader } from './snapshot.js'

/** A network of the layer: its snapshot and row. */
export interface BulkHit {
  snapshot: Snapshot
  row: number
}

export const BULK_DIR = 'bulk'
const SUFFIX = '.snapshot'

export function snapshotPath (dataDir: string, registry: RegistryId): string {
  return join(dataDir, BULK_DIR, `${registry}${SUFFIX}`)
}

export class BulkLayer {
  private readonly snapshots = new Map<RegistryId, Snapshot>()
  /** snapshots that could not be read at open: left out (their space is crawled), and said by the node */
  readonly damaged: Array<{ path: string, message: string }> = []
  /**
   * The registry an address is asked of (the node sets the delegation files' routing): a dump
   * answers only the addresses routed to its registry, the rule ownership splits by too
   * (fleet/dump-ownership.ts), so a node never skips an address a peer without the dump leaves
   * to it. Unset (a read command on a stopped node): any dump holding the address answers.
   */
  private route: ((address: number) => RegistryId | undefined) | undefined

  /**
   * Opens every snapshot in `dataDir/bulk` (none: an empty layer). A damaged one is left out and
   * listed in `damaged`, so the node still starts and `whoismesh import` can replace it.
   */
  static async open (dataDir: string): Promise<BulkLayer> {
    const layer = new BulkLayer()
    let names: string[] = []
    try {
      names = await readdir(join(dataDir, BULK_DIR))
    } catch (err: any) {
      if (err?.code !== 'ENOENT') throw err
    }
    for (const name of names.sort()) {
      if (!name.endsWith(SUFFIX)) continue
      const id = name.slice(0, -SUFFIX.length)
      if (!isRegistryId(id)) continue
      const path = join(dataDir, BULK_DIR, name)
      try {
        layer.snapshots.set(id, await Snapshot.open(path))
      } catch (err: any) {
        if (err?.name !== 'BulkSnapshotError') { await layer.close(); throw err }
        layer.damaged.push({ path, message: String(err.message) })
      }
    }
    return layer
  }

  /** Sets the routing that decides which registry's dump answers an address (see `route`). */
  setRouting (route: (address: number) => RegistryId | undefined): void {
    this.route = route
  }

  /** the snapshots that may answer `address`: the routed registry's, or (no routing) all */
  private candidates (address: number): Iterable<Snapshot> {
    if (this.snapshots.size === 0) return []
    if (this.route === undefined) return this.snapshots.values()
    const id = this.route(address)
    const s = id === undefined ? undefined : this.snapshots.get(id)
    return s === undefined ? [] : [s]
  }

  get isEmpty (): boolean { return this.snapshots.size === 0 }

  /** whether a routing is set (`setRouting`): then a dump answers only the addresses routed to it */
  get routed (): boolean { return this.route !== undefined }

  /** the snapshots in the order `mostSpecific` and `containing` try them (without routing: all) */
  snapshotsInOrder (): Snapshot[] {
    return [...this.snapshots.values()]
  }

  /** the snapshots' headers, in registry order */
  headers (): SnapshotHeader[] {
    return REGISTRY_IDS.flatMap(id => this.snapshots.has(id) ? [this.snapshots.get(id)!.header] : [])
  }

  header (registry: RegistryId): SnapshotHeader | undefined {
    return this.snapshots.get(registry)?.header
  }

  /** the most specific imported network answering `address` (see `route`; of several dumps: the smallest), or undefined */
  mostSpecific (address: number): BulkHit | undefined {
    let best: BulkHit | undefined
    for (const snapshot of this.candidates(address)) {
      const row = snapshot.mostSpecific(address)
      if (row < 0) continue
      if (best === undefined || snapshot.end(row) - snapshot.start(row) < best.snapshot.end(best.row) - best.snapshot.start(best.row)) best = { snapshot, row }
    }
    return best
  }

  /** every imported network answering `address` and its parents (see `route`), most specific first */
  containing (address: number): BulkHit[] {
    const hits: BulkHit[] = []
    for (const snapshot of this.candidates(address)) for (const row of snapshot.containing(address)) hits.push({ snapshot, row })
    return hits.sort((a, b) => (a.snapshot.end(a.row) - a.snapshot.start(a.row)) - (b.snapshot.end(b.row) - b.snapshot.start(b.row)))
  }

  /**
   * whether a dump answers `address`: the dump of the registry it is routed to holds a network
   * there, and lists every network below it
   */
  answers (address: number): boolean {
    for (const snapshot of this.candidates(address)) if (snapshot.mostSpecific(address) >= 0) return true
    return false
  }

  async record (hit: BulkHit): Promise<NetworkRecord> {
    return await hit.snapshot.record(hit.row)
  }

  /** every imported network, registry by registry, each in address order */
  async * records (registry?: RegistryId): AsyncGenerator<NetworkRecord> {
    for (const id of REGISTRY_IDS) {
      if (registry !== undefined && id !== registry) continue
      const s = this.snapshots.get(id)
      if (s !== undefined) yield * s.records()
    }
  }

  async close (): Promise<void> {
    const all = [...this.snapshots.values()]
    this.snapshots.clear()
    await Promise.all(all.map(async s => await s.close()))
  }
}

/** Makes `dataDir/bulk` (for a snapshot about to be written). */
export async function ensureBulkDir (dataDir: string): Promise<void> {
  await mkdir(join(dataDir, BULK_DIR), { recursive: true })
}

/** Removes a registry's snapshot (`whoismesh import --remove`): its space is crawled again. */
export async function removeSnapshot (dataDir: string, registry: RegistryId): Promise<void> {
  await rm(snapshotPath(dataDir, registry), { force: true })
}
