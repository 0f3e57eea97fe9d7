/**
 * Which live peer crawls which sample address: rendezvous (highest-random-weight) hashing.
 *
 * Addresses are grouped by a key, their /`prefixLength` block (`address >>> (32 − prefixLength)`,
 * the /16 by default), so addresses likely to fall in the same network go to the same node and
 * the crawler's "one lookup per block at a time" and "skip what a stored network covers" keep
 * working across the fleet. Every peer computes a weight for every key; the peer with the highest
 * weight owns the key. Consequences, all tested:
 * - deterministic: the owner depends only on the set of peer ids, not on their order, the process
 *   or the run (no Math.random, no per-process seed);
 * - minimal disruption: when a peer leaves only its keys move; when one joins it takes about
 *   1/(n+1) of the keys, each from whoever owned it, and nothing else moves;
 * - balance: each of n peers owns about 1/n of the keys.
 *
 * The weight function (a fixed contract between nodes: every node of a fleet must compute the
 * same owners, so changing it is a protocol change):
 *
 *     lowbias32(x) = x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16
 *                    (32-bit unsigned arithmetic; C. Wellons' low-bias 32-bit integer hash)
 *     fnv1a32(bytes) = FNV-1a 32 over the bytes (offset basis 0x811c9dc5, prime 0x01000193)
 *     peer word  p = lowbias32(fnv1a32(utf8(peerId)))
 *     key word   k = lowbias32(key ^ 0x85ebca6b)
 *     weight(peer, key) = lowbias32(k ^ p)
 *
 * With k and p already mixed, one more round gives weights whose per-key winners are uniform
 * (chi-square at its expected value over 200 random 5-peer sets); a second round cost twice the
 * time for no measurable gain.
 *
 * Ties (the same 32-bit weight for two peers, about one key in 2^32 / n) go to the peer whose id
 * sorts first (JavaScript string order), a fixed total order, so minimal disruption still holds.
 *
 * `isMine()` is one shift and one typed-array read: `setPeers()` precomputes the owner of every key
 * into a Uint16Array (65,536 entries for /16): 2^prefixLength × peers weights for a full rebuild,
 * about 2^prefixLength × (peers joined + peers left) for an incremental change.
 */
import { OwnershipError } from './errors.js'

export interface OwnershipOptions {
  /**
   * Addresses are owned per /prefixLength block; 1–16 (default 16, 65,536 keys; a node passes
   * its crawler's blockPrefixLength, see src/node/options.ts)
   */
  prefixLength: number
}

export const defaultOwnershipOptions: OwnershipOptions = {
  prefixLength: 16
}

/** Chris Wellons' lowbias32: a 32-bit integer hash with low avalanche bias. Returns an unsigned 32-bit integer. */
export function lowbias32 (x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x7feb352d)
  x ^= x >>> 15
  x = Math.imul(x, 0x846ca68b)
  x ^= x >>> 16
  return x >>> 0
}

/** FNV-1a 32 over `bytes`. */
function fnv1a32 (bytes: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const encoder = new TextEncoder()

/** The 32-bit word a peer id contributes to its weights (see the file header). */
export function peerWord (peerId: string): number {
  return lowbias32(fnv1a32(encoder.encode(peerId)))
}

/** The word a key contributes to its weights. */
export function keyWord (key: number): number {
  return lowbias32((key ^ 0x85ebca6b) >>> 0)
}

/** The rendezvous weight of `peerId` for `key`, an unsigned 32-bit integer (see the file header). */
export function rendezvousWeight (peerId: string, key: number): number {
  return lowbias32((keyWord(key) ^ peerWord(peerId)) >>> 0)
}

/** Key words per prefix length, shared by every Ownership (they never change). */
const keyWordTables = new Map<number, Int32Array>()

/** As int32 (same bits), so the rebuild loop stays in small-integer arithmetic. */
function keyWords (prefixLength: number): Int32Array {
  let t = keyWordTables.get(prefixLength)
  if (t === undefined) {
    t = new Int32Array(2 ** prefixLength)
    for (let k = 0; k < t.length; k++) t[k] = keyWord(k)
    keyWordTables.set(prefixLength, t)
  }
  return t
}

const MAX_PEERS = 0xfffe
/** owner index of keys whose owner just left, during an incremental update */
const ORPHAN = 0xffff

/** One lowbias32 round on int32 bits, with the top bit flipped so signed order is unsigned order. */
function flippedWeight (keyWordBits: number, peerWordBits: number): number {
  let x = keyWordBits ^ peerWordBits
  x ^= x >>> 16; x = Math.imul(x, 0x7feb352d); x ^= x >>> 15; x = Math.imul(x, 0x846ca68b); x ^= x >>> 16
  return x ^ 0x80000000
}

export class Ownership {
  readonly prefixLength: number
  private readonly shift: number
  private readonly keys: Int32Array
  /** index into `ids` of each key's owner */
  private readonly owners: Uint16Array
  /** each key's owner's weight, top bit flipped (signed order = unsigned order, all in int32) */
  private readonly best: Int32Array
  private ids: string[] = []
  /** peerWord of each id, as int32 bits */
  private words = new Int32Array(0)
  private selfId: string | undefined
  /** index of self in `ids`; -1 before the first setPeers(), so isMine() is false */
  private selfIndex = -1
  private changes = 0

  constructor (opts: Partial<OwnershipOptions> = {}) {
    const o = { ...defaultOwnershipOptions, ...opts }
    if (!Number.isInteger(o.prefixLength) || o.prefixLength < 1 || o.prefixLength > 16) {
      throw new OwnershipError(`prefixLength must be an integer from 1 to 16, got ${String(o.prefixLength)}`)
    }
    this.prefixLength = o.prefixLength
    this.shift = 32 - o.prefixLength
    this.keys = keyWords(o.prefixLength)
    this.owners = new Uint16Array(this.keys.length)
    this.best = new Int32Array(this.keys.length)
  }

  /**
   * Sets the live peers (`self` is added if missing; duplicates are ignored) and recomputes the
   * owners. Returns false, without recomputing, when the set is the one already in use.
   *
   * A change of a few peers is applied incrementally (a peer that joins is weighed against each
   * key's current owner; the keys of a peer that left are re-weighed over everyone), so a join or
   * a leave costs about 2^prefixLength weights whatever the fleet size; a first call or a large
   * change recomputes everything (2^prefixLength × peers weights).
   */
  setPeers (ids: readonly string[], self: string): boolean {
    const set = new Set(ids)
    set.add(self)
    if (set.size > MAX_PEERS) throw new OwnershipError(`at most ${MAX_PEERS} peers, got ${set.size}`)
    const sorted = [...set].sort()
    const prev = this.ids
    const same = sorted.length === prev.length && sorted.every((id, i) => id === prev[i])
    if (same) {
      if (self === this.selfId) return false
      this.selfId = self
      this.selfIndex = sorted.indexOf(self)
      this.changes++
      return true
    }
    const kept = prev.filter(id => set.has(id)).length
    const added = sorted.length - kept
    const removed = prev.length - kept
    this.ids = sorted
    this.words = Int32Array.from(sorted, id => peerWord(id) | 0)
    this.selfId = self
    this.selfIndex = sorted.indexOf(self)
    // an incremental update costs about (added + removed) × keys weights; a rebuild peers × keys
    if (prev.length === 0 || kept === 0 || added + removed >= sorted.length) this.rebuild()
    else this.update(prev, set)
    this.changes++
    return true
  }

  /** Recomputes every key's owner: peers in id order, replacing only on a strictly higher weight (ties go to the id sorting first). */
  private rebuild (): void {
    const { keys, owners, best, words } = this
    const n = keys.length
    const a0 = words[0]
    for (let k = 0; k < n; k++) best[k] = flippedWeight(keys[k], a0)
    owners.fill(0)
    for (let p = 1; p < words.length; p++) {
      const a = words[p]
      for (let k = 0; k < n; k++) {
        const x = flippedWeight(keys[k], a)
        if (x > best[k]) { best[k] = x; owners[k] = p }
      }
    }
  }

  /** Moves from the owners over `prev` to the owners over this.ids (see setPeers). */
  private update (prev: readonly string[], now: ReadonlySet<string>): void {
    const { keys, owners, best, words, ids } = this
    const n = keys.length
    // old index → new index, ORPHAN for peers that left
    const newIndex = new Map(ids.map((id, i) => [id, i]))
    const remap = Uint16Array.from(prev, id => now.has(id) ? newIndex.get(id)! : ORPHAN)
    let orphans = 0
    for (let k = 0; k < n; k++) {
      const o = remap[owners[k]]
      owners[k] = o
      if (o === ORPHAN) orphans++
    }
    // keys whose owner left: the highest weight among everyone now
    if (orphans > 0) {
      const m = words.length
      for (let k = 0; k < n; k++) {
        if (owners[k] !== ORPHAN) continue
        const key = keys[k]
        let bw = flippedWeight(key, words[0])
        let bi = 0
        for (let p = 1; p < m; p++) {
          const x = flippedWeight(key, words[p])
          if (x > bw) { bw = x; bi = p }
        }
        best[k] = bw
        owners[k] = bi
      }
    }
    // peers that joined: each takes the keys where it weighs more than the owner (on a tie, the
    // id sorting first keeps or takes the key, as in rebuild())
    const prevSet = new Set(prev)
    for (let p = 0; p < ids.length; p++) {
      if (prevSet.has(ids[p])) continue
      const a = words[p]
      for (let k = 0; k < n; k++) {
        const x = flippedWeight(keys[k], a)
        const b = best[k]
        if (x > b || (x === b && p < owners[k])) { best[k] = x; owners[k] = p }
      }
    }
  }

  /** The live peers, self included, sorted. Empty before the first setPeers(). */
  get peers (): readonly string[] { return this.ids }

  /** This node's id, as given to the last setPeers(). */
  get self (): string | undefined { return this.selfId }

  /** Counts the setPeers() calls that changed the peers or self: compare it to see whether ownership may have moved. */
  get generation (): number { return this.changes }

  /** Number of keys (blocks): 2^prefixLength. */
  get keyCount (): number { return this.keys.length }

  /** The key (block) of an address: `address >>> (32 − prefixLength)`. */
  keyOf (address: number): number {
    return address >>> this.shift
  }

  /** Whether this node owns `address` (false before the first setPeers()). The crawl's hot path. */
  isMine (address: number): boolean {
    return this.owners[address >>> this.shift] === this.selfIndex
  }

  /** The id of the peer that owns `address`. Throws before the first setPeers(). */
  ownerOf (address: number): string {
    return this.ownerOfKey(address >>> this.shift)
  }

  /** The id of the peer that owns block `key`. Throws before the first setPeers(). */
  ownerOfKey (key: number): string {
    if (this.ids.length === 0) throw new OwnershipError('no peers yet: call setPeers() first')
    if (!Number.isInteger(key) || key < 0 || key >= this.keys.length) throw new RangeError(`key must be an integer from 0 to ${this.keys.length - 1}, got ${key}`)
    return this.ids[this.owners[key]]
  }

  /** How many keys (blocks) each peer owns. */
  keyCounts (): Map<string, number> {
    const counts = new Array<number>(this.ids.length).fill(0)
    if (this.ids.length > 0) for (let k = 0; k < this.owners.length; k++) counts[this.owners[k]]++
    return new Map(this.ids.map((id, i) => [id, counts[i]]))
  }
}
