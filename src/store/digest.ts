/**
 * Set digests. Every stored item (a network, bucketed by its start; a negative, by its address) has
 * two 32-byte hashes:
 *
 * - its identity hash: what a network IS, independent of how and when it was fetched. sha256 of a
 *   canonical, language-independent encoding:
 *     network:  0x4e ('N') start(u32 BE) end(u32 BE) str(registry) str(handle) str(name) str(org) str(country)
 *     negative: 0x58 ('X') address(u32 BE) str(registry) str(reason)
 *     where str(s) = byteLength(u32 BE) ‖ UTF-8 bytes. fetchedAt, queryAddress, source, cidrs, type,
 *     dates do not enter. `digest()` and `digestBySlashEight()` sum these: independent crawls of
 *     one world compare equal however they fetched it.
 * - its version hash: sha256 of the stored msgpack body (record/codec.ts), i.e. the record byte
 *   for byte. Range fingerprints (`fingerprintRange`) and sync ids sum and cut these, so two copies
 *   of one network that differ only in fetch metadata are told apart and reconciled by the pick
 *   rule (pick.ts): replicas converge byte for byte, not only in identity.
 *
 * Accumulator of a set = Σ item hashes mod 2^256, each hash read as a little-endian 256-bit integer
 * (as Negentropy does). Order-independent and incremental: adding an item adds its hash, replacing
 * an item subtracts the old hash and adds the new one.
 *
 * Fingerprint of a set = hex(sha256(accumulator as 32 bytes LE ‖ item count as u64 BE)).
 * `digest()` is the fingerprint of every identity hash, `digestBySlashEight()[o]` of those of the
 * items in o.0.0.0/8; `fingerprintRange(a, b)` is the fingerprint of the version hashes of the items
 * whose start (address) lies in [a, b] — the building block of range-based set reconciliation:
 * equal fingerprints ⇒ (with overwhelming probability) byte-identical sets.
 */
import * as crypto from 'node:crypto'
import type { NegativeRecord, NetworkIdentity } from '../record/index.js'

export const HASH_BYTES = 32
const LIMBS = 8

function putString (parts: Buffer[], s: string): void {
  const b = Buffer.from(s, 'utf8')
  const len = Buffer.allocUnsafe(4)
  len.writeUInt32BE(b.length, 0)
  parts.push(len, b)
}

export function networkIdentityBytes (n: NetworkIdentity): Buffer {
  const head = Buffer.allocUnsafe(9)
  head[0] = 0x4e
  head.writeUInt32BE(n.start, 1)
  head.writeUInt32BE(n.end, 5)
  const parts = [head]
  putString(parts, n.registry)
  putString(parts, n.handle)
  putString(parts, n.name)
  putString(parts, n.org)
  putString(parts, n.country)
  return Buffer.concat(parts)
}

export function negativeIdentityBytes (n: Pick<NegativeRecord, 'address' | 'registry' | 'reason'>): Buffer {
  const head = Buffer.allocUnsafe(5)
  head[0] = 0x58
  head.writeUInt32BE(n.address, 1)
  const parts = [head]
  putString(parts, n.registry)
  putString(parts, n.reason)
  return Buffer.concat(parts)
}

/** one-shot crypto.hash where Node has it (≥ 20.12), else createHash */
const sha256: (data: Uint8Array) => Buffer = typeof crypto.hash === 'function'
  ? data => crypto.hash('sha256', data, 'buffer')
  : data => crypto.createHash('sha256').update(data).digest()

export function networkHash (n: NetworkIdentity): Buffer {
  return sha256(networkIdentityBytes(n))
}

export function negativeHash (n: Pick<NegativeRecord, 'address' | 'registry' | 'reason'>): Buffer {
  return sha256(negativeIdentityBytes(n))
}

/** the version hash of a stored item: sha256 of its canonical msgpack body (`encodeRecord`) */
export function versionHash (body: Uint8Array): Buffer {
  return sha256(body)
}

/** acc[accOff … accOff+7] += hash (LE 256-bit) mod 2^256 */
export function addHash (acc: Uint32Array, accOff: number, hash: Uint8Array, hashOff: number): void {
  let carry = 0
  for (let i = 0; i < LIMBS; i++) {
    const o = hashOff + i * 4
    const limb = (hash[o] | (hash[o + 1] << 8) | (hash[o + 2] << 16) | (hash[o + 3] << 24)) >>> 0
    const sum = acc[accOff + i] + limb + carry
    acc[accOff + i] = sum >>> 0
    carry = sum > 0xffffffff ? 1 : 0
  }
}

/** acc[accOff … accOff+7] -= hash (LE 256-bit) mod 2^256 */
export function subHash (acc: Uint32Array, accOff: number, hash: Uint8Array, hashOff: number): void {
  let borrow = 0
  for (let i = 0; i < LIMBS; i++) {
    const o = hashOff + i * 4
    const limb = (hash[o] | (hash[o + 1] << 8) | (hash[o + 2] << 16) | (hash[o + 3] << 24)) >>> 0
    let d = acc[accOff + i] - limb - borrow
    if (d < 0) { d += 0x100000000; borrow = 1 } else borrow = 0
    acc[accOff + i] = d
  }
}

/** acc[accOff…] += other[otherOff…] mod 2^256 */
export function addAcc (acc: Uint32Array, accOff: number, other: Uint32Array, otherOff: number): void {
  let carry = 0
  for (let i = 0; i < LIMBS; i++) {
    const sum = acc[accOff + i] + other[otherOff + i] + carry
    acc[accOff + i] = sum >>> 0
    carry = sum > 0xffffffff ? 1 : 0
  }
}

export function fingerprint (acc: Uint32Array, accOff: number, count: number): string {
  const buf = Buffer.allocUnsafe(40)
  for (let i = 0; i < LIMBS; i++) buf.writeUInt32LE(acc[accOff + i], i * 4)
  buf.writeBigUInt64BE(BigInt(count), 32)
  return sha256(buf).toString('hex')
}

const SLASH16 = 65536

/** Per-/8 and whole-set sums and counts (8 KiB): every digest is O(1) to read. */
export class SlashEightDigest {
  protected readonly acc8 = new Uint32Array(256 * LIMBS)
  protected readonly count8 = new Uint32Array(256)
  private readonly accAll = new Uint32Array(LIMBS)
  private countAll = 0

  /** adds an item bucketed by `address` (a network's start, a negative's address) */
  add (address: number, hash: Uint8Array, hashOff = 0): void {
    const b8 = address >>> 24
    addHash(this.acc8, b8 * LIMBS, hash, hashOff)
    addHash(this.accAll, 0, hash, hashOff)
    this.count8[b8]++
    this.countAll++
  }

  /** replaces an item's hash in place (same bucket, same count) */
  replace (address: number, oldHash: Uint8Array, oldOff: number, newHash: Uint8Array, newOff: number): void {
    const b8 = address >>> 24
    subHash(this.acc8, b8 * LIMBS, oldHash, oldOff)
    subHash(this.accAll, 0, oldHash, oldOff)
    addHash(this.acc8, b8 * LIMBS, newHash, newOff)
    addHash(this.accAll, 0, newHash, newOff)
  }

  digest (): string {
    return fingerprint(this.accAll, 0, this.countAll)
  }

  bySlashEight (): string[] {
    const out: string[] = []
    for (let o = 0; o < 256; o++) out.push(fingerprint(this.acc8, o * LIMBS, this.count8[o]))
    return out
  }
}

/**
 * Per-/16 sums and counts as well (2.25 MB), so that the fingerprint of any range costs at most
 * two partial /16s of item hashes.
 */
export class DigestAccumulator extends SlashEightDigest {
  readonly acc16 = new Uint32Array(SLASH16 * LIMBS)
  readonly count16 = new Uint32Array(SLASH16)

  override add (address: number, hash: Uint8Array, hashOff = 0): void {
    const b16 = address >>> 16
    addHash(this.acc16, b16 * LIMBS, hash, hashOff)
    this.count16[b16]++
    super.add(address, hash, hashOff)
  }

  override replace (address: number, oldHash: Uint8Array, oldOff: number, newHash: Uint8Array, newOff: number): void {
    const b16 = address >>> 16
    subHash(this.acc16, b16 * LIMBS, oldHash, oldOff)
    addHash(this.acc16, b16 * LIMBS, newHash, newOff)
    super.replace(address, oldHash, oldOff, newHash, newOff)
  }

  /**
   * Adds the whole-bucket totals of the /8s and /16s that lie entirely inside [from, to] to `acc`
   * and calls `partial(bucket16)` for the (at most two) /16s the range only cuts. Returns the count
   * of items in whole buckets.
   */
  sumRange (from: number, to: number, acc: Uint32Array, partial: (bucket16: number) => void): number {
    let count = 0
    const first = from >>> 16
    const last = to >>> 16
    let b = first
    while (b <= last) {
      const bs = b * SLASH16
      const be = bs + SLASH16 - 1
      if (from > bs || to < be) { partial(b); b++; continue }
      if ((b & 0xff) === 0 && to >= bs + 256 * SLASH16 - 1) {
        addAcc(acc, 0, this.acc8, (b >>> 8) * LIMBS)
        count += this.count8[b >>> 8]
        b += 256
        continue
      }
      addAcc(acc, 0, this.acc16, b * LIMBS)
      count += this.count16[b]
      b++
    }
    return count
  }
}
