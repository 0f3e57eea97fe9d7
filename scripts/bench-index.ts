/**
 * The index a node holds once the whole sample is crawled in the nested world under the exact
 * rule, for scripts/bench.ts: checks per second against it, and (benchWorldNodes) the memory of a
 * node holding it and a late joiner's sync of it.
 *
 * buildReachedIndex writes it straight from the simulator's world, without a crawl: for every
 * sample address, the network its registry answers with and every network above it (a crawl meets
 * the parents as answers for other addresses or lists their children). Where that answer is a
 * container it writes what an exact crawl does (crawl/listing.ts): a container the registry can
 * list completely (canList, and for ARIN's rdap-down at most RDAP_SEARCH_MAX_RESULTS children) is
 * stored listed for the sample (`listedSample`), with one 'answered' note for the address asked
 * first; any other container gets an 'answered' note for each sample address it answers. A real
 * crawl may differ somewhat (a container with one waiting address is asked, not listed);
 * `npm run bench -- --full-sample` crawls the whole sample and measures that store too.
 *
 * benchIndexChecks: covered and exact checks per second on 5M random addresses and on the sample,
 * against one LevelDB seek per check (the baseline the in-memory index replaces).
 */
import { Level } from 'level'
import { NestedWorld, describeNode, truthFor, type TreeNode } from '../src/sim/index.js'
import { RDAP_SEARCH_MAX_RESULTS } from '../src/sim/listing.js'
import { canList, listingMethod } from '../src/lookup/listing.js'
import { sliceSizeOf } from '../src/sample/index.js'
import { NetworkStore } from '../src/store/index.js'
import { networkKey } from '../src/store/keys.js'
import { prng } from '../src/sample/index.js'
import type { NegativeRecord, NetworkRecord } from '../src/record/index.js'

const round = (x: number, d = 3): number => Number(x.toFixed(d))
const BATCH = 5000

export interface ReachedIndex {
  networks: number
  /** containers stored listed for the sample */
  listed_networks: number
  /** 'answered' notes: sample addresses whose registry's answer is a container not listed, and the first one asked in each listed one */
  notes: number
  /** sample addresses whose answer is a leaf */
  leaf_answers: number
  reserved_addresses: number
  build_s: number
  store_write_networks_per_s: number
}

/** Writes the reached index of `sample` into a new store at `dataDir`. */
export async function buildReachedIndex (dataDir: string, nested: NestedWorld, sample: ArrayLike<number>): Promise<ReachedIndex> {
  const t0 = performance.now()
  const seen = new Set<string>()
  /** answering containers seen: whether the registry lists each completely */
  const listed = new Map<string, boolean>()
  const slice = sliceSizeOf(Uint32Array.from(sample))
  const now = Date.now()
  const recordOf = (node: TreeNode, address: number): NetworkRecord => {
    const n = describeNode(nested, node)
    return { start: n.start, end: n.end, registry: n.registry, handle: n.handle, name: n.name, org: n.org, country: n.country, cidrs: n.cidrs, type: n.type, parentHandle: n.parentHandle, registered: n.registered, lastChanged: n.lastChanged, source: 'rdap', fetchedAt: now, queryAddress: address }
  }
  const listable = (node: TreeNode): boolean => {
    if (slice === undefined) return false
    const { registry } = describeNode(nested, node)
    return canList(registry, node) && (listingMethod(registry) !== 'rdap-down' || nested.childrenOf(node).length <= RDAP_SEARCH_MAX_RESULTS)
  }
  const store = await NetworkStore.open({ dataDir })
  let networks: NetworkRecord[] = []
  let notes: NegativeRecord[] = []
  let networkCount = 0
  let noteCount = 0
  let listedCount = 0
  let leafAnswers = 0
  let reserved = 0
  let writeMs = 0
  const flush = async (): Promise<void> => {
    const t = performance.now()
    await store.commit({ networks, negatives: notes })
    writeMs += performance.now() - t
    networks = []
    notes = []
  }
  try {
    for (let i = 0; i < sample.length; i++) {
      const address = sample[i]
      const chain = nested.chainAt(address)
      const truth = truthFor(nested, address)
      if (chain === undefined || truth === undefined) { reserved++; continue }
      for (const node of chain) {
        const key = `${node.start}/${node.depth}`
        if (seen.has(key)) continue
        seen.add(key)
        networks.push(recordOf(node, address))
        networkCount++
      }
      const answering = chain[chain.length - 1]
      const key = `${answering.start}/${answering.depth}`
      if (truth.leaf) leafAnswers++
      else if (listed.get(key) !== true) {
        // a container the registry cannot list completely: every address it answers is noted;
        // one it can: the address asked first, and the container stored again, listed
        if (!listed.has(key)) listed.set(key, listable(answering))
        if (listed.get(key) === true) {
          networks.push({ ...recordOf(answering, address), listedSample: slice, listedAt: now })
          listedCount++
        }
        notes.push({ address, registry: truth.registry, reason: 'answered', fetchedAt: now })
        noteCount++
      }
      if (networks.length >= BATCH || notes.length >= BATCH) await flush()
    }
    await flush()
  } finally {
    await store.close()
  }
  return {
    networks: networkCount,
    listed_networks: listedCount,
    notes: noteCount,
    leaf_answers: leafAnswers,
    reserved_addresses: reserved,
    build_s: round((performance.now() - t0) / 1000, 1),
    store_write_networks_per_s: round((networkCount + noteCount) / (writeMs / 1000), 0)
  }
}

/** Covered and exact checks per second on the store at `dataDir` (which no node may hold open). */
export async function benchIndexChecks (dataDir: string, sample: ArrayLike<number>): Promise<Record<string, number>> {
  const tOpen = performance.now()
  const store = await NetworkStore.open({ dataDir })
  const openMs = performance.now() - tOpen
  const counts = store.counts()
  const next = prng(42)
  const N = 5_000_000
  const addrs = new Uint32Array(N)
  for (let i = 0; i < N; i++) addrs[i] = next()
  const rate = (check: (a: number) => boolean, list: ArrayLike<number>): { perS: number, hits: number } => {
    let hits = 0
    const t = performance.now()
    for (let i = 0; i < list.length; i++) if (check(list[i])) hits++
    return { perS: list.length / ((performance.now() - t) / 1000), hits }
  }
  const covered = rate(a => store.isCovered(a), addrs)
  const exact = rate(a => store.isExact(a), addrs)
  const sampleCovered = rate(a => store.isCovered(a), sample)
  const sampleExact = rate(a => store.isExact(a), sample)
  await store.close()

  // baseline: one LevelDB seek per check (the last network starting at or before the address)
  const db = new Level<Buffer, Buffer>(dataDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const SEEKS = 20_000
  const t2 = performance.now()
  for (let i = 0; i < SEEKS; i++) {
    const it = db.iterator({ lte: networkKey(addrs[i], 0xffffffff), gte: networkKey(0, 0), reverse: true, limit: 1 })
    await it.next()
    await it.close()
  }
  const seeksPerSec = SEEKS / ((performance.now() - t2) / 1000)
  await db.close()
  return {
    networks: counts.networks,
    notes: counts.negatives,
    open_rebuild_ms: round(openMs, 0),
    covered_checks_per_s: round(covered.perS, 0),
    exact_checks_per_s: round(exact.perS, 0),
    covered_share_of_random_addresses: round(covered.hits / N, 4),
    sample_covered_checks_per_s: round(sampleCovered.perS, 0),
    sample_exact_checks_per_s: round(sampleExact.perS, 0),
    sample_exact_share: round(sampleExact.hits / sample.length, 4),
    leveldb_seeks_per_s: round(seeksPerSec, 0),
    in_memory_covered_vs_leveldb_seek: round(covered.perS / seeksPerSec, 0)
  }
}
