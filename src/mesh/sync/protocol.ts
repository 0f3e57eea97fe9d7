/**
 * Wire format of `/whoismesh/sync/1.0.0`: length-prefixed (unsigned varint) msgpack frames.
 *
 * A frame is a map with short keys, all optional:
 *
 *   v    protocol version (2): first frame of each side. 2 compares records byte for byte (version
 *        hashes); 1 compared identities, and its peers are refused
 *   tb   bytes this side accepts per turn (its maxTurnBytes): first frame of each side
 *   fb   largest frame this side accepts (its maxFrameBytes): first frame of each side
 *   q    questions, each an array:
 *          [0, from, to, fingerprint(bin 32), count]  "my items in [from,to] have this fingerprint"
 *          [1, from, to, ids(bin 16·k)]                "these are all my item ids in [from,to]:
 *                                                       send me yours that are not among them, and
 *                                                       ask (need) for mine you lack"
 *          [2, from, to]                               "send me all your items in [from,to]"
 *          [3, from, to, ids(bin 16·k)]                "send me these items of [from,to]"
 *   n    networks, each the 15 fields of NETWORK_FIELDS in canonical field order, then the author
 *        (NetworkRecord.author, '' when the record has none), then LISTING_FIELDS for a network
 *        listed completely: 16 or 18 fields
 *   x    negatives, each [address, registry, reason, fetchedAt, author ('' for none)]
 *   end  true on the last frame of a turn
 *   more true (with end) when the sender still has answers or questions queued for a later turn
 *   fin  [fingerprint(bin 32), count] of the sender's whole index: the initiator's closing frame,
 *        and the responder's reply to it after its commits finished
 *   err  the sender aborts the session with this reason ("busy", "malformed frame", …)
 *
 * Items are networks (bucketed by start) and negatives (by address), as in store/digest.ts; a
 * fingerprint sums the items' version hashes (sha256 of the stored record) and an item id is the
 * first 16 bytes of its version hash. Ranges are inclusive uint32 address ranges.
 *
 * Records on the wire are untrusted: `decodeFrame` checks only the frame's shape; the records are
 * turned back into objects and must pass `validateRecords` (mesh/validation.ts) before use.
 */
import { Packr, Unpackr } from 'msgpackr'
import type { NegativeRecord, NetworkRecord } from '../../record/index.js'
import { SyncProtocolError } from './errors.js'

export const SYNC_PROTOCOL = '/whoismesh/sync/1.0.0'
/** 4: records carry their author (provenance); 3 added a network's listing (NetworkRecord.listedSample) */
export const SYNC_VERSION = 4
export const ID_BYTES = 16
export const FINGERPRINT_BYTES = 32
/** honest peers send at most leafItems (≤ this) ids per range */
export const MAX_IDS_PER_QUESTION = 4096
export const MAX_QUESTIONS_PER_FRAME = 50_000
export const MAX_ERROR_LENGTH = 256
/** the smallest frame limit and turn budget a peer may announce */
export const MIN_FRAME_BYTES = 64 * 1024

/** question codes on the wire */
export const QuestionCode = { Fingerprint: 0, Ids: 1, All: 2, Need: 3 } as const

export type Question =
  | { kind: 'fp', from: number, to: number, fingerprint: string, count: number }
  | { kind: 'ids', from: number, to: number, ids: Uint8Array }
  | { kind: 'all', from: number, to: number }
  | { kind: 'need', from: number, to: number, ids: Uint8Array }

export interface Frame {
  v?: number
  tb?: number
  fb?: number
  q?: Question[]
  /** network tuples, unvalidated */
  n?: unknown[]
  /** negative tuples, unvalidated */
  x?: unknown[]
  end?: boolean
  more?: boolean
  fin?: { fingerprint: string, count: number }
  err?: string
}

const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, bundleStrings: false, mapsAsObjects: true, int64AsType: 'number' })
const unpackr = new Unpackr({ useRecords: false, structuredClone: false, moreTypes: false, bundleStrings: false, mapsAsObjects: true, int64AsType: 'number' })

/** wire size estimate of a question, bytes (for splitting question lists across frames) */
export function questionBytes (q: Question): number {
  return q.kind === 'ids' || q.kind === 'need' ? 16 + q.ids.byteLength : q.kind === 'fp' ? 52 : 14
}

function questionToWire (q: Question): unknown[] {
  switch (q.kind) {
    case 'fp': return [QuestionCode.Fingerprint, q.from, q.to, Buffer.from(q.fingerprint, 'hex'), q.count]
    case 'ids': return [QuestionCode.Ids, q.from, q.to, q.ids]
    case 'all': return [QuestionCode.All, q.from, q.to]
    case 'need': return [QuestionCode.Need, q.from, q.to, q.ids]
  }
}

/** a network as a tuple: NETWORK_FIELDS, its author, then LISTING_FIELDS for a network listed completely */
export function networkToTuple (r: NetworkRecord): unknown[] {
  const t: unknown[] = [r.start, r.end, r.registry, r.handle, r.name, r.org, r.country, r.cidrs, r.type, r.parentHandle, r.registered, r.lastChanged, r.source, r.fetchedAt, r.queryAddress, r.author ?? '']
  if (r.listedSample !== undefined) t.push(r.listedSample, r.listedAt)
  return t
}

export const NETWORK_FIELDS = ['start', 'end', 'registry', 'handle', 'name', 'org', 'country', 'cidrs', 'type', 'parentHandle', 'registered', 'lastChanged', 'source', 'fetchedAt', 'queryAddress'] as const
export const LISTING_FIELDS = ['listedSample', 'listedAt'] as const
/** a tuple's fields: NETWORK_FIELDS and the author, with or without LISTING_FIELDS */
const PLAIN_TUPLE = NETWORK_FIELDS.length + 1
const LISTED_TUPLE = PLAIN_TUPLE + LISTING_FIELDS.length

/** '' on the wire: no author (a record written before provenance) */
function authorOf (v: unknown): { author?: unknown } {
  return v === '' ? {} : { author: v }
}

/** a network tuple as an object for validateRecords; undefined when it is not an array of 16 or 18 fields */
export function tupleToNetwork (t: unknown): Record<string, unknown> | undefined {
  if (!Array.isArray(t) || (t.length !== PLAIN_TUPLE && t.length !== LISTED_TUPLE)) return undefined
  const r: Record<string, unknown> = {
    start: t[0], end: t[1], registry: t[2], handle: t[3], name: t[4], org: t[5], country: t[6], cidrs: t[7], type: t[8], parentHandle: t[9], registered: t[10], lastChanged: t[11], source: t[12], fetchedAt: t[13], queryAddress: t[14], ...authorOf(t[15])
  }
  if (t.length === LISTED_TUPLE) { r.listedSample = t[16]; r.listedAt = t[17] }
  return r
}

export function negativeToTuple (r: NegativeRecord): unknown[] {
  return [r.address, r.registry, r.reason, r.fetchedAt, r.author ?? '']
}

export function tupleToNegative (t: unknown): Record<string, unknown> | undefined {
  if (!Array.isArray(t) || t.length !== 5) return undefined
  return { address: t[0], registry: t[1], reason: t[2], fetchedAt: t[3], ...authorOf(t[4]) }
}

/** Encodes a frame; record tuples are passed already built. */
export function encodeFrame (f: { v?: number, tb?: number, fb?: number, q?: Question[], n?: unknown[][], x?: unknown[][], end?: boolean, more?: boolean, fin?: { fingerprint: string, count: number }, err?: string }): Uint8Array {
  const m: Record<string, unknown> = {}
  if (f.v !== undefined) m.v = f.v
  if (f.tb !== undefined) m.tb = f.tb
  if (f.fb !== undefined) m.fb = f.fb
  if (f.q !== undefined && f.q.length > 0) m.q = f.q.map(questionToWire)
  if (f.n !== undefined && f.n.length > 0) m.n = f.n
  if (f.x !== undefined && f.x.length > 0) m.x = f.x
  if (f.end === true) m.end = true
  if (f.more === true) m.more = true
  if (f.fin !== undefined) m.fin = [Buffer.from(f.fin.fingerprint, 'hex'), f.fin.count]
  if (f.err !== undefined) m.err = f.err.slice(0, MAX_ERROR_LENGTH)
  return packr.pack(m)
}

const isU32 = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
const isBytes = (b: unknown): b is Uint8Array => b instanceof Uint8Array

function malformed (message: string, bytes: number): SyncProtocolError {
  return new SyncProtocolError('malformed-frame', message, bytes)
}

/**
 * Decodes and shape-checks a frame. Records stay unvalidated tuples.
 * @param maxRecords records accepted per frame (validateRecords' batch limit)
 * @throws SyncProtocolError('malformed-frame') naming what is wrong
 */
export function decodeFrame (bytes: Uint8Array, maxRecords: number): Frame {
  let m: unknown
  try {
    m = unpackr.unpack(bytes)
  } catch {
    throw malformed('not valid msgpack', bytes.byteLength)
  }
  if (m == null || typeof m !== 'object' || Array.isArray(m) || isBytes(m)) throw malformed('frame is not a map', bytes.byteLength)
  const r = m as Record<string, unknown>
  const f: Frame = {}
  for (const key of Object.keys(r)) {
    const v = r[key]
    switch (key) {
      case 'v': if (!isCount(v)) throw malformed('bad version', bytes.byteLength); f.v = v; break
      case 'tb': if (!isCount(v) || v < MIN_FRAME_BYTES) throw malformed('bad turn budget', bytes.byteLength); f.tb = v; break
      case 'fb': if (!isCount(v) || v < MIN_FRAME_BYTES) throw malformed('bad frame limit', bytes.byteLength); f.fb = v; break
      case 'q': f.q = decodeQuestions(v, bytes.byteLength); break
      case 'n': case 'x':
        if (!Array.isArray(v)) throw malformed(`${key} is not an array`, bytes.byteLength)
        f[key] = v
        break
      case 'end': case 'more':
        if (typeof v !== 'boolean') throw malformed(`${key} is not a boolean`, bytes.byteLength)
        f[key] = v
        break
      case 'fin':
        if (!Array.isArray(v) || v.length !== 2 || !isBytes(v[0]) || v[0].byteLength !== FINGERPRINT_BYTES || !isCount(v[1])) throw malformed('bad fin', bytes.byteLength)
        f.fin = { fingerprint: Buffer.from(v[0].buffer, v[0].byteOffset, v[0].byteLength).toString('hex'), count: v[1] }
        break
      case 'err':
        if (typeof v !== 'string') throw malformed('err is not a string', bytes.byteLength)
        f.err = v.slice(0, MAX_ERROR_LENGTH)
        break
      default: throw malformed(`unknown key ${key.slice(0, 16)}`, bytes.byteLength)
    }
  }
  if ((f.n?.length ?? 0) + (f.x?.length ?? 0) > maxRecords) throw malformed(`more than ${maxRecords} records in a frame`, bytes.byteLength)
  return f
}

function decodeQuestions (v: unknown, size: number): Question[] {
  if (!Array.isArray(v) || v.length > MAX_QUESTIONS_PER_FRAME) throw malformed('q is not an array of questions', size)
  const out: Question[] = []
  for (const w of v) {
    if (!Array.isArray(w) || w.length < 3 || !isU32(w[1]) || !isU32(w[2]) || w[1] > w[2]) throw malformed('bad question range', size)
    const [code, from, to] = w as [unknown, number, number]
    switch (code) {
      case QuestionCode.Fingerprint:
        if (w.length !== 5 || !isBytes(w[3]) || w[3].byteLength !== FINGERPRINT_BYTES || !isCount(w[4])) throw malformed('bad fingerprint question', size)
        out.push({ kind: 'fp', from, to, fingerprint: Buffer.from(w[3].buffer, w[3].byteOffset, w[3].byteLength).toString('hex'), count: w[4] })
        break
      case QuestionCode.Ids: case QuestionCode.Need: {
        const ids = w[3]
        if (w.length !== 4 || !isBytes(ids) || ids.byteLength % ID_BYTES !== 0 || ids.byteLength / ID_BYTES > MAX_IDS_PER_QUESTION) throw malformed('bad id list', size)
        out.push({ kind: code === QuestionCode.Ids ? 'ids' : 'need', from, to, ids })
        break
      }
      case QuestionCode.All:
        if (w.length !== 3) throw malformed('bad all question', size)
        out.push({ kind: 'all', from, to })
        break
      default: throw malformed('unknown question', size)
    }
  }
  return out
}

/** the ids of a packed id list, as latin1 strings (Set/Map keys) */
export function splitIds (ids: Uint8Array): string[] {
  const b = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength)
  const out: string[] = []
  for (let o = 0; o < b.length; o += ID_BYTES) out.push(b.toString('latin1', o, o + ID_BYTES))
  return out
}

export function joinIds (ids: Iterable<string>): Uint8Array {
  const list = [...ids]
  const b = Buffer.allocUnsafe(list.length * ID_BYTES)
  list.forEach((id, i) => b.write(id, i * ID_BYTES, ID_BYTES, 'latin1'))
  return b
}
