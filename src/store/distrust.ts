/**
 * Distrust: the peers whose records a store refuses (provenance, NetworkRecord.author). The
 * operator names a peer (`whoismesh distrust PEER`, or the node's audits one day): every record it
 * authored is deleted (what leaned on its networks answers nothing until asked again: authoredBy), and from then on a commit drops, uncounted as data, any record naming it as
 * author — whether gossip, sync or an old copy brought it — so what it said never returns through
 * a peer that still holds it. The list is stored under a reserved meta key; the store keeps it in
 * memory as a set.
 *
 * Finding a peer's records reads every stored value once: a value whose bytes do not hold the
 * peer id at all (nearly all of them) is skipped without decoding.
 */
import { canonicalNegative, canonicalNetwork, decodeValue, encodeValue, isPeerIdText } from '../record/index.js'
import { InvalidRecordError } from '../record/errors.js'
import { metaKey, negativeBounds, negativeKey, networkBounds, networkKey } from './keys.js'
import type { BatchOp, LevelStore } from './level-db.js'

/** meta key of the distrusted peers (a sorted array of peer ids); under the store's reserved prefix */
export const DISTRUSTED_KEY = 'store.distrusted'
/** meta key of the ranges of deleted networks no network fills again yet (MemoryIndex.setHoles): [start, end] pairs */
export const HOLES_KEY = 'store.holes'

/** What `NetworkStore.distrust` did. */
export interface DistrustResult {
  /** every peer distrusted now, sorted */
  distrusted: string[]
  /** records deleted because one of the newly distrusted peers authored them */
  droppedNetworks: number
  droppedNegatives: number
}

/** The stored list (empty when none). */
export async function loadDistrusted (db: LevelStore): Promise<Set<string>> {
  const [v] = await db.getMany([metaKey(DISTRUSTED_KEY)])
  if (v === undefined) return new Set()
  const list = db.decodeStored(v, decodeValue)
  return new Set(Array.isArray(list) ? list.filter(isPeerIdText) : [])
}

/** The stored holes (empty when none). */
export async function loadHoles (db: LevelStore): Promise<Array<[number, number]>> {
  const [v] = await db.getMany([metaKey(HOLES_KEY)])
  if (v === undefined) return []
  const list = db.decodeStored(v, decodeValue)
  if (!Array.isArray(list)) return []
  return list.filter((h): h is [number, number] => Array.isArray(h) && h.length === 2 && Number.isInteger(h[0]) && Number.isInteger(h[1]))
}

/** The put of the holes (a delete when there are none). */
export function holesOp (holes: ReadonlyArray<[number, number]>): BatchOp {
  return holes.length === 0 ? { type: 'del', key: metaKey(HOLES_KEY) } : { type: 'put', key: metaKey(HOLES_KEY), value: encodeValue(holes) }
}

/** Checks the peer ids an operator gave (InvalidRecordError names the bad one). */
export function checkPeerIds (peers: readonly string[]): string[] {
  for (const p of peers) if (!isPeerIdText(p)) throw new InvalidRecordError('peer', `not a peer id: "${String(p).slice(0, 64)}"`)
  return [...new Set(peers)]
}

/** The put of the list itself. */
export function distrustedOp (peers: ReadonlySet<string>): BatchOp {
  return { type: 'put', key: metaKey(DISTRUSTED_KEY), value: encodeValue([...peers].sort()) }
}

export interface Authored {
  ops: BatchOp[]
  /** the deleted networks' ranges and the deleted negatives' addresses */
  ranges: Array<[number, number]>
  addresses: number[]
}

/**
 * The deletes of every network and negative one of `peers` authored. Honest records stay, also
 * those that leaned on a deleted network — a listing of its parent, an 'answered' note inside it,
 * which may be about the real network the liar's copy (fetched "earlier") had replaced: the
 * deleted ranges become holes in which they answer nothing until the real network is stored
 * again (MemoryIndex.setHoles), so the addresses are asked again.
 */
export async function authoredBy (db: LevelStore, peers: ReadonlySet<string>): Promise<Authored> {
  const out: Authored = { ops: [], ranges: [], addresses: [] }
  if (peers.size === 0) return out
  const needles = [...peers].map(p => Buffer.from(p, 'utf8'))
  const mentions = (body: Buffer): boolean => needles.some(n => body.includes(n))
  for await (const [, v] of db.scan(networkBounds())) {
    const f = db.unframe(v)
    if (!mentions(f.body)) continue
    const r = db.decodeStored(f.body, b => canonicalNetwork(decodeValue(b), 'stored network'))
    if (r.author === undefined || !peers.has(r.author)) continue
    out.ops.push({ type: 'del', key: networkKey(r.start, r.end) })
    out.ranges.push([r.start, r.end])
  }
  for await (const [, v] of db.scan(negativeBounds())) {
    const f = db.unframe(v)
    if (!mentions(f.body)) continue
    const r = db.decodeStored(f.body, b => canonicalNegative(decodeValue(b), 'stored negative'))
    if (r.author === undefined || !peers.has(r.author)) continue
    out.ops.push({ type: 'del', key: negativeKey(r.address) })
    out.addresses.push(r.address)
  }
  return out
}
