/**
 * Key layout. One LevelDB per node; buckets by a one-byte ASCII prefix, numbers fixed-width
 * big-endian so that a range scan of a bucket comes out in numeric order.
 *
 * | bucket    | key                                    | value                                   |
 * |-----------|----------------------------------------|-----------------------------------------|
 * | networks  | 'n' start(u32 BE) end(u32 BE)  9 bytes | header ‖ msgpack NetworkRecord          |
 * | negatives | 'x' address(u32 BE)            5 bytes | header ‖ msgpack NegativeRecord         |
 * | failures  | 'f' address(u32 BE)            5 bytes | msgpack FailureRecord                   |
 * | meta      | 'm' key (UTF-8)                        | msgpack JSON-able value                 |
 *
 * header = format(1) registry-index|leaf(1) identity-hash(32) version-hash(32), see value-format.ts.
 * Meta keys starting with "store." are the store's own ("store.schemaVersion"; "store.generation",
 * a token every write batch changes: level-db.ts).
 */

export const NETWORK_PREFIX = 0x6e // 'n'
export const NEGATIVE_PREFIX = 0x78 // 'x'
export const FAILURE_PREFIX = 0x66 // 'f'
export const META_PREFIX = 0x6d // 'm'

export function networkKey (start: number, end: number): Buffer {
  const k = Buffer.allocUnsafe(9)
  k[0] = NETWORK_PREFIX
  k.writeUInt32BE(start, 1)
  k.writeUInt32BE(end, 5)
  return k
}

function addressKey (prefix: number, address: number): Buffer {
  const k = Buffer.allocUnsafe(5)
  k[0] = prefix
  k.writeUInt32BE(address, 1)
  return k
}

export const negativeKey = (address: number): Buffer => addressKey(NEGATIVE_PREFIX, address)
export const failureKey = (address: number): Buffer => addressKey(FAILURE_PREFIX, address)

export function metaKey (key: string): Buffer {
  return Buffer.concat([Buffer.of(META_PREFIX), Buffer.from(key, 'utf8')])
}

/** Inclusive bounds of a bucket, for `db.iterator({ gte, lte })`. */
export function networkBounds (fromStart = 0, toStart = 0xffffffff): { gte: Buffer, lte: Buffer } {
  return { gte: networkKey(fromStart, 0), lte: networkKey(toStart, 0xffffffff) }
}

export function negativeBounds (from = 0, to = 0xffffffff): { gte: Buffer, lte: Buffer } {
  return { gte: negativeKey(from), lte: negativeKey(to) }
}

export function failureBounds (from = 0, to = 0xffffffff): { gte: Buffer, lte: Buffer } {
  return { gte: failureKey(from), lte: failureKey(to) }
}

export function metaBounds (): { gte: Buffer, lt: Buffer } {
  return { gte: Buffer.of(META_PREFIX), lt: Buffer.of(META_PREFIX + 1) }
}

/** Reads [start, end] from a network key; undefined when the key has the wrong shape. */
export function parseNetworkKey (k: Uint8Array): { start: number, end: number } | undefined {
  if (k.length !== 9 || k[0] !== NETWORK_PREFIX) return undefined
  const b = Buffer.from(k.buffer, k.byteOffset, k.byteLength)
  return { start: b.readUInt32BE(1), end: b.readUInt32BE(5) }
}

/** Reads the address from a negative or failure key; undefined when the key has the wrong shape. */
export function parseAddressKey (k: Uint8Array, prefix: number): number | undefined {
  if (k.length !== 5 || k[0] !== prefix) return undefined
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).readUInt32BE(1)
}
