/**
 * The data section of a MaxMind DB file, and its metadata section, which is encoded the same way:
 * MaxMind DB File Format Specification v2.0 (https://maxmind.github.io/MaxMind-DB/), "Output Data
 * Section" and "Data Field Format".
 *
 * Every field starts with a control byte: the type in its top three bits (1–7), or 0 and the type
 * minus 7 in the next byte ("extended" types: uint64 9, array 11, boolean 14); then the payload
 * size in the low five bits, with one to three more bytes when it is 29 or more ("Payload Size").
 * Then the payload: UTF-8 bytes for a string, the big-endian integer without leading zero bytes,
 * the pairs of a map (whose size is its pair count, "Maps").
 *
 * A string seen before can be written as a pointer to its first copy ("pointer - 1", "Pointers":
 * 001SSVVV, 11 to 32 bits, offsets from the start of the section). The map keys, and the values of
 * the fields that repeat across networks (registry, country, org, …), are written once each; a
 * pointer always points to a string, never to another pointer, as the spec requires.
 */
import { ExportLimitError } from './errors.js'

/** Type numbers ("Output Data Section"). */
export const MmdbType = {
  pointer: 1,
  utf8String: 2,
  uint16: 5,
  uint32: 6,
  map: 7,
  uint64: 9,
  array: 11,
  boolean: 14
} as const

/** Largest payload a control byte can say ("Payload Size": 65,821 + 2^24 − 1). */
const MAX_PAYLOAD = 16_843_036

/** Largest offset a pointer can hold ("Pointers": size 3, a 32-bit value). */
const MAX_POINTER = 2 ** 32 - 1

const CHUNK_BYTES = 8 * 1024 * 1024

/** A value the metadata map holds; `{ uint16: n }` and friends pick an integer type. */
export type MmdbValue = string | boolean | { uint16: number } | { uint32: number } | { uint64: number } | MmdbValue[] | { [key: string]: MmdbValue }

/**
 * An append-only byte sequence kept in chunks of 8 MiB, so that a data section of hundreds of
 * megabytes is never copied to grow.
 */
class Chunks {
  private readonly full: Buffer[] = []
  private cur = Buffer.allocUnsafe(CHUNK_BYTES)
  private pos = 0
  private fullBytes = 0

  get length (): number { return this.fullBytes + this.pos }

  /** room for `n` more bytes in the current chunk (a field never spans two chunks) */
  private room (n: number): void {
    if (this.pos + n <= this.cur.length) return
    this.full.push(this.cur.subarray(0, this.pos))
    this.fullBytes += this.pos
    this.cur = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, n))
    this.pos = 0
  }

  byte (b: number): void {
    this.room(1)
    this.cur[this.pos++] = b
  }

  bytes (src: Uint8Array): void {
    this.room(src.length)
    this.cur.set(src, this.pos)
    this.pos += src.length
  }

  /**
   * A control byte whose low five bits are the byte length of the UTF-8 string `s` that follows,
   * which encodes to at most `maxBytes` (< 29) bytes: the string is written, then the byte before it.
   */
  shortString (typeBits: number, s: string, maxBytes: number): void {
    this.room(1 + maxBytes)
    const n = this.cur.write(s, this.pos + 1, 'utf8')
    this.cur[this.pos] = typeBits | n
    this.pos += 1 + n
  }

  /** the bytes written so far, as chunks in order (no copy) */
  parts (): Buffer[] {
    return [...this.full, this.cur.subarray(0, this.pos)]
  }
}

export class MmdbDataWriter {
  private readonly out = new Chunks()
  /** offset of the first copy of each string written with `shared: true` */
  private readonly strings = new Map<string, number>()

  /** bytes written so far: the offset of the next field */
  get size (): number { return this.out.length }

  parts (): Buffer[] { return this.out.parts() }

  /** A control byte (and the extended type byte, and the size bytes): "Data Field Format". */
  private header (type: number, size: number): void {
    let sizeBits: number
    let extra: number[]
    if (size < 29) {
      sizeBits = size
      extra = []
    } else if (size < 29 + 256) {
      sizeBits = 29
      extra = [size - 29]
    } else if (size < 285 + 65_536) {
      sizeBits = 30
      const v = size - 285
      extra = [v >>> 8, v & 0xff]
    } else if (size <= MAX_PAYLOAD) {
      sizeBits = 31
      const v = size - 65_821
      extra = [v >>> 16, (v >>> 8) & 0xff, v & 0xff]
    } else {
      throw new ExportLimitError(`an MMDB field holds at most ${MAX_PAYLOAD} bytes or entries, this one ${size}`)
    }
    if (type <= 7) {
      this.out.byte((type << 5) | sizeBits)
    } else {
      this.out.byte(sizeBits)
      this.out.byte(type - 7)
    }
    for (const b of extra) this.out.byte(b)
  }

  /** "Pointers": 001SSVVV, the value in 11, 19 (+2048), 27 (+526,336) or 32 bits. */
  pointer (offset: number): void {
    if (offset < 2048) {
      this.out.byte(0x20 | (offset >>> 8))
      this.out.byte(offset & 0xff)
    } else if (offset < 2048 + 2 ** 19) {
      const v = offset - 2048
      this.out.byte(0x28 | (v >>> 16))
      this.out.byte((v >>> 8) & 0xff)
      this.out.byte(v & 0xff)
    } else if (offset < 526_336 + 2 ** 27) {
      const v = offset - 526_336
      this.out.byte(0x30 | (v >>> 24))
      this.out.byte((v >>> 16) & 0xff)
      this.out.byte((v >>> 8) & 0xff)
      this.out.byte(v & 0xff)
    } else if (offset <= MAX_POINTER) {
      this.out.byte(0x38)
      this.out.byte(offset >>> 24)
      this.out.byte((offset >>> 16) & 0xff)
      this.out.byte((offset >>> 8) & 0xff)
      this.out.byte(offset & 0xff)
    } else {
      throw new ExportLimitError(`an MMDB data section holds at most 4 GiB (pointers are 32 bits); this export is larger: narrow it with --registry or --since`)
    }
  }

  /**
   * "UTF-8 string - 2". With `shared`, a string written before becomes a pointer to its first copy
   * when that is shorter than the string itself.
   */
  string (s: string, shared = false): void {
    if (shared) {
      const at = this.strings.get(s)
      if (at !== undefined && pointerBytes(at) < s.length + 1) {
        this.pointer(at)
        return
      }
      if (at === undefined) this.strings.set(s, this.size)
    }
    // a UTF-16 code unit is at most 3 UTF-8 bytes: most strings here are short enough for their
    // size to fit the control byte, and are written without a Buffer of their own
    if (s.length * 3 < 29) {
      this.out.shortString(MmdbType.utf8String << 5, s, s.length * 3)
      return
    }
    const bytes = Buffer.from(s, 'utf8')
    this.header(MmdbType.utf8String, bytes.length)
    this.out.bytes(bytes)
  }

  /** "integer formats": big-endian, without leading zero bytes (0 has no payload). */
  private unsigned (type: number, value: number, maxBytes: number): void {
    if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** (8 * maxBytes)) throw new RangeError(`not an unsigned ${8 * maxBytes}-bit integer: ${value}`)
    const bytes: number[] = []
    for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256)
    this.header(type, bytes.length)
    for (const b of bytes) this.out.byte(b)
  }

  uint16 (value: number): void { this.unsigned(MmdbType.uint16, value, 2) }
  uint32 (value: number): void { this.unsigned(MmdbType.uint32, value, 4) }
  /** up to 2^53: what a JavaScript number holds exactly (a build epoch in seconds is far below) */
  uint64 (value: number): void { this.unsigned(MmdbType.uint64, value, 7) }

  /** "boolean - 14": the size says the value, no payload. */
  boolean (value: boolean): void { this.header(MmdbType.boolean, value ? 1 : 0) }

  /** "map - 7": then `pairs` key/value pairs, each key a string (or a pointer to one). */
  mapHeader (pairs: number): void { this.header(MmdbType.map, pairs) }

  /** "array - 11": then `items` values. */
  arrayHeader (items: number): void { this.header(MmdbType.array, items) }

  /** Any metadata value, keys and strings written out (the metadata section has no shared strings). */
  value (v: MmdbValue): void {
    if (typeof v === 'string') this.string(v)
    else if (typeof v === 'boolean') this.boolean(v)
    else if (Array.isArray(v)) {
      this.arrayHeader(v.length)
      for (const item of v) this.value(item)
    } else if ('uint16' in v && typeof v.uint16 === 'number') this.uint16(v.uint16)
    else if ('uint32' in v && typeof v.uint32 === 'number') this.uint32(v.uint32)
    else if ('uint64' in v && typeof v.uint64 === 'number') this.uint64(v.uint64)
    else {
      const entries = Object.entries(v as Record<string, MmdbValue>)
      this.mapHeader(entries.length)
      for (const [k, item] of entries) {
        this.string(k)
        this.value(item)
      }
    }
  }
}

/** bytes of a pointer to `offset` ("Pointers") */
function pointerBytes (offset: number): number {
  return offset < 2048 ? 2 : offset < 2048 + 2 ** 19 ? 3 : offset < 526_336 + 2 ** 27 ? 4 : 5
}
