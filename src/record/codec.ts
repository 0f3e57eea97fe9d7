/**
 * The deterministic codec: msgpack through one Packr with fixed options (plain maps, no shared
 * record structures, no bundled strings), so the same value always encodes to the same bytes on
 * every node. Records are rebuilt in canonical form first (canonical.ts), so a caller's key order
 * or extra fields never change the bytes.
 *
 * A canonical record is encoded once: `encodeRecord` remembers its bytes, which the store writes
 * and the mesh splices into a nets message (`encodeObjectOfArrays`) without encoding it again.
 */
import { Packr } from 'msgpackr'
import type { Canonical } from './interface.js'
import { recordWork } from './metrics.js'

const packr = new Packr({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  variableMapSize: true,
  mapsAsObjects: true,
  encodeUndefinedAsNil: false,
  int64AsType: 'number'
})

/** msgpack-encodes a JSON-able value. The returned buffer is owned by the caller. */
export function encodeValue (value: unknown): Buffer {
  return Buffer.from(packr.pack(value))
}

export function decodeValue (bytes: Uint8Array): unknown {
  return packr.unpack(bytes)
}

/** canonical record → its encoding; canonical records are frozen, so the bytes stay right */
const encodings = new WeakMap<object, Buffer>()

/**
 * The msgpack bytes of a canonical record, encoded on first use and remembered while the record
 * lives. The buffer is shared: read it, copy it, never write to it.
 */
export function encodeRecord (record: Canonical<object>): Buffer {
  let bytes = encodings.get(record)
  if (bytes === undefined) {
    bytes = encodeValue(record)
    recordWork.encoded++
    encodings.set(record, bytes)
  }
  return bytes
}

/**
 * The msgpack bytes of an object whose values are arrays of already-encoded items — the same bytes
 * `encodeValue` gives for the decoded object (msgpack nests by concatenation), without encoding the
 * items again. At most 15 keys (a fixmap, as the Packr writes small maps).
 */
export function encodeObjectOfArrays (fields: ReadonlyArray<readonly [key: string, items: readonly Buffer[]]>): Buffer {
  if (fields.length > 15) throw new RangeError('encodeObjectOfArrays: more than 15 keys')
  const parts: Buffer[] = [Buffer.of(0x80 | fields.length)]
  for (const [key, items] of fields) {
    parts.push(encodeValue(key), arrayHeader(items.length), ...items)
  }
  return Buffer.concat(parts)
}

/** msgpack array header: fixarray, array 16 or array 32 */
function arrayHeader (n: number): Buffer {
  if (n < 16) return Buffer.of(0x90 | n)
  if (n <= 0xffff) {
    const b = Buffer.allocUnsafe(3)
    b[0] = 0xdc
    b.writeUInt16BE(n, 1)
    return b
  }
  const b = Buffer.allocUnsafe(5)
  b[0] = 0xdd
  b.writeUInt32BE(n, 1)
  return b
}
