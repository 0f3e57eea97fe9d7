/**
 * `whoismesh lookup -`: addresses in, one answer line each out, in order — the enrichment job for
 * a log file. Input: one address per line; blank lines and lines starting with `#` are skipped,
 * white space around an address is ignored (and a UTF-8 byte order mark before the first line).
 * A line that is not an IPv4 address is answered too, with status `invalid` and its text.
 *
 * Each answer has the address, `status`, `exact` and `in_sample` as `lookup <ip> --json` reports
 * them (src/report/lookup.ts), the `special` block's name for special-purpose space, and the
 * most specific network's dump fields (DumpRow, src/report/dump.ts) — not its parents:
 *   JSONL  {"address":"8.8.8.8","status":"network","exact":true,"in_sample":false,"network":{…}}
 *          ("network": null without one; "special" only for special-purpose space)
 *   CSV    a header, then address,status,exact,in_sample,special and the dump's columns
 *
 * Where the answers come from is a BatchAnswerSource (bulk-answers.ts): a stopped node's answer
 * table, or a running node's store. This file makes the bytes: input chunks parsed by LineReader
 * (bulk-input.ts) without a string per line; each network's part of a line made once by the
 * source, and copied; output written in large buffers, with back-pressure, one write per input
 * chunk at least (so a `tail -f | whoismesh lookup -` sees its answers at once).
 */
import type { Writable } from 'node:stream'
import { isSampleAddress } from '../sample/index.js'
import { DUMP_FIELDS, DumpReaderGoneError, drained, formatDumpLine, toDumpRow, type DumpFormat } from './dump.js'
import type { NetworkRecord } from '../record/index.js'
import { grow } from '../util/grow.js'
import { LineReader } from './bulk-input.js'

export type BulkFormat = DumpFormat
export const BULK_FORMATS: readonly BulkFormat[] = ['jsonl', 'csv']

export const STATUS_NETWORK = 0
export const STATUS_UNALLOCATED = 1
export const STATUS_SPECIAL = 2
export const STATUS_UNKNOWN = 3
export const STATUS_INVALID = 4
const STATUS_NAMES = ['network', 'unallocated', 'special-purpose', 'unknown', 'invalid'] as const

/** The columns of the CSV form (and the keys of the JSONL form, whose network fields are nested). */
export const BULK_FIELDS = ['address', 'status', 'exact', 'in_sample', 'special', ...DUMP_FIELDS] as const

/** output is written in buffers of this size (and at the end of every input chunk) */
const OUT_BYTES = 1 << 20
/**
 * how much written output may wait in the stream before the next input chunk waits for it to be
 * flushed: more than a buffer, so that the reader empties one while the next is made
 */
const MAX_PENDING_BYTES = 4 << 20

/** The addresses of one input chunk and, once a source answered, their answers. */
export class AnswerBatch {
  n = 0
  address = new Uint32Array(1024)
  /** STATUS_*: the reader sets STATUS_INVALID, the source the others */
  status = new Uint8Array(1024)
  exact = new Uint8Array(1024)
  /**
   * What the rest of a line is made of, by status: STATUS_NETWORK, the index in `parts` of the
   * answer network's part of the line; STATUS_SPECIAL, the index in `special` of the block's name;
   * STATUS_INVALID, the index in `text` of the line's text. Numbers in one typed array, not an
   * object per line: every address of a batch passes through it.
   */
  ref = new Int32Array(1024)
  /** the networks' parts of lines (BatchAnswerSource), set by the source that answered */
  parts: ReadonlyArray<Buffer | undefined> = []
  /** block names, for STATUS_SPECIAL */
  special: string[] = []
  /** texts of invalid lines */
  text: string[] = []

  clear (): void {
    this.n = 0
    this.special.length = 0
    this.text.length = 0
  }

  push (address: number, invalidText?: string): void {
    if (this.n === this.address.length) {
      this.address = grow(this.address, this.n + 1)
      this.status = grow(this.status, this.n + 1)
      this.exact = grow(this.exact, this.n + 1)
      this.ref = grow(this.ref, this.n + 1)
    }
    this.address[this.n] = address
    this.exact[this.n] = 0
    if (invalidText === undefined) {
      this.status[this.n] = STATUS_NETWORK
    } else {
      this.status[this.n] = STATUS_INVALID
      this.ref[this.n] = this.text.push(invalidText) - 1
    }
    this.n++
  }

  /** answers address i with a special-purpose block */
  setSpecial (i: number, name: string): void {
    this.status[i] = STATUS_SPECIAL
    this.exact[i] = 1
    this.ref[i] = this.special.push(name) - 1
  }
}

/**
 * Answers a batch: sets status, exact and (STATUS_NETWORK) `parts` and the index in it of the
 * network's part of the line, made by `fragment` once per network (see LineWriter.fragment), or
 * (STATUS_SPECIAL, setSpecial) the block's name. Addresses with STATUS_INVALID are left alone.
 */
export interface BatchAnswerSource {
  answer: (batch: AnswerBatch) => void | Promise<void>
}

/** Makes the output lines of answered batches, in buffers. */
export class LineWriter {
  /**
   * Output buffers are reused once everything written from them was flushed (`release`): fresh
   * memory for every megabyte of output cost a page fault per 4 KiB.
   */
  private readonly free: Buffer[] = []
  /** per buffer in use: its parts handed out and not released yet, and whether it is still filled */
  private readonly inUse = new Map<ArrayBufferLike, { parts: number, current: boolean }>()
  private buf = this.take(OUT_BYTES)
  private pos = 0
  /** where the part not handed out yet begins */
  private from = 0
  private readonly out: Buffer[] = []
  private readonly head: Buffer
  /** by exact * 2 + in_sample: what follows the address on a network's line, up to the network's part */
  private readonly networkMid: Buffer[]
  /** by status * 4 + exact * 2 + in_sample: the rest of a line without a network (special-purpose apart) */
  private readonly tails: Buffer[] = []
  /** by block name: the rest of its lines, out of the sample and in it */
  private readonly specialTails = new Map<string, Buffer[]>()

  constructor (readonly format: BulkFormat) {
    const json = format === 'jsonl'
    this.head = Buffer.from(json ? '{"address":"' : '')
    const flags = (x: number): [boolean, boolean] => [(x & 2) !== 0, (x & 1) !== 0]
    this.networkMid = [0, 1, 2, 3].map(x => {
      const [exact, inSample] = flags(x)
      return Buffer.from(json ? `","status":"network","exact":${String(exact)},"in_sample":${String(inSample)},"network":` : `,network,${String(exact)},${String(inSample)},,`)
    })
    for (const status of [STATUS_UNALLOCATED, STATUS_UNKNOWN]) {
      for (let x = 0; x < 4; x++) this.tails[status * 4 + x] = Buffer.from(this.tail(status, ...flags(x)))
    }
  }

  /** the CSV header (empty for JSONL) */
  header (): Buffer {
    return Buffer.from(this.format === 'csv' ? BULK_FIELDS.join(',') + '\r\n' : '')
  }

  /** A network's part of a line: made once per network by the source, copied into every line answered with it. */
  fragment (r: NetworkRecord): Buffer {
    return Buffer.from(this.fragmentText(r))
  }

  /** `fragment` as text */
  fragmentText (r: NetworkRecord): string {
    return this.format === 'jsonl' ? JSON.stringify(toDumpRow(r)) + '}\n' : formatDumpLine(r, 'csv')
  }

  /** The lines of an answered batch, in buffers to write in order (the last one possibly short). */
  write (batch: AnswerBatch): Buffer[] {
    const { address, status, exact, ref, parts } = batch
    const head = this.head
    const headLen = head.length
    for (let i = 0; i < batch.n; i++) {
      const st = status[i]
      if (st === STATUS_INVALID) {
        this.put(Buffer.from(this.invalidLine(batch.text[ref[i]])))
        continue
      }
      const a = address[i]
      const x = exact[i] * 2 + (isSampleAddress(a) ? 1 : 0)
      const rest = st === STATUS_NETWORK ? (parts[ref[i]] as Buffer) : st === STATUS_SPECIAL ? this.specialTail(batch.special[ref[i]], x & 1) : this.tails[st * 4 + x]
      const mid = st === STATUS_NETWORK ? this.networkMid[x] : undefined
      const need = headLen + 15 + (mid === undefined ? 0 : mid.length) + rest.length
      if (this.pos + need > this.buf.length) this.room(need)
      // TypedArray.set, not a loop over the bytes (4× faster for the 60 bytes of `mid`), nor
      // Buffer.copy (which makes a view of its source's range for every call)
      const buf = this.buf
      let p = this.pos
      if (headLen > 0) {
        buf.set(head, p)
        p += headLen
      }
      p = octet(buf, p, a >>> 24); buf[p++] = 46
      p = octet(buf, p, (a >>> 16) & 255); buf[p++] = 46
      p = octet(buf, p, (a >>> 8) & 255); buf[p++] = 46
      p = octet(buf, p, a & 255)
      if (mid !== undefined) {
        buf.set(mid, p)
        p += mid.length
      }
      buf.set(rest, p)
      this.pos = p + rest.length
    }
    this.handOut()
    return this.out.splice(0)
  }

  /** Says that a buffer `write` returned was written: its memory may be filled again. */
  release (part: Buffer): void {
    const use = this.inUse.get(part.buffer)
    if (use === undefined) return
    use.parts--
    if (use.parts === 0 && !use.current) this.retire(part.buffer)
  }

  private take (bytes: number): Buffer {
    const b = bytes <= OUT_BYTES ? this.free.pop() ?? Buffer.allocUnsafeSlow(OUT_BYTES) : Buffer.allocUnsafeSlow(bytes)
    this.inUse.set(b.buffer, { parts: 0, current: true })
    return b
  }

  private retire (ab: ArrayBufferLike): void {
    this.inUse.delete(ab)
    if (ab.byteLength === OUT_BYTES && this.free.length < 16) this.free.push(Buffer.from(ab))
  }

  /** hands out what was written into the current buffer since the last time */
  private handOut (): void {
    if (this.pos === this.from) return
    this.out.push(this.buf.subarray(this.from, this.pos))
    const use = this.inUse.get(this.buf.buffer)
    if (use !== undefined) use.parts++
    this.from = this.pos
  }

  private tail (status: number, exact: boolean, inSample: boolean, special?: string): string {
    const name = STATUS_NAMES[status]
    if (this.format === 'jsonl') {
      const sp = special === undefined ? '' : `,"special":${JSON.stringify(special)}`
      return `","status":"${name}","exact":${String(exact)},"in_sample":${String(inSample)}${sp},"network":null}\n`
    }
    return `,${name},${String(exact)},${String(inSample)},${special === undefined ? '' : csvField(special)}${','.repeat(DUMP_FIELDS.length)}\r\n`
  }

  private specialTail (name: string, inSample: number): Buffer {
    let t = this.specialTails.get(name)
    if (t === undefined) {
      t = [false, true].map(s => Buffer.from(this.tail(STATUS_SPECIAL, true, s, name)))
      this.specialTails.set(name, t)
    }
    return t[inSample]
  }

  private invalidLine (text: string): string {
    if (this.format === 'jsonl') return `{"address":${JSON.stringify(text)},"status":"invalid","exact":false,"in_sample":false,"network":null}\n`
    return `${csvField(text)},invalid,false,false,${','.repeat(DUMP_FIELDS.length)}\r\n`
  }

  private put (b: Buffer): void {
    this.room(b.length)
    b.copy(this.buf, this.pos)
    this.pos += b.length
  }

  /** makes room for `bytes` more, handing out the full buffer */
  private room (bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return
    this.handOut()
    const use = this.inUse.get(this.buf.buffer)
    if (use !== undefined) {
      use.current = false
      if (use.parts === 0) this.retire(this.buf.buffer)
    }
    this.buf = this.take(bytes)
    this.pos = 0
    this.from = 0
  }
}

/** writes the decimal digits of 0–255 at p; returns the position after them */
function octet (buf: Buffer, p: number, v: number): number {
  if (v >= 100) {
    buf[p++] = 48 + ((v / 100) | 0)
    v %= 100
    buf[p++] = 48 + ((v / 10) | 0)
  } else if (v >= 10) {
    buf[p++] = 48 + ((v / 10) | 0)
  }
  buf[p++] = 48 + (v % 10)
  return p
}

function csvField (v: string): string {
  return /[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v
}

/** What a bulk lookup read: input lines (blank and comments included), answers written, invalid lines. */
export interface BulkLookupResult {
  lines: number
  answers: number
  invalid: number
  firstInvalid?: { line: number, text: string }
}

/**
 * Answers every address of `input` from `source` and writes the lines to `out`, waiting for it
 * when it is full. Rejects (DumpReaderGoneError) when `out` closes first: the reader went away.
 */
export async function bulkLookup (input: AsyncIterable<Buffer | string>, out: Writable, source: BatchAnswerSource, writer: LineWriter): Promise<BulkLookupResult> {
  const reader = new LineReader()
  const batch = new AnswerBatch()
  let answers = 0
  // bytes handed to `out` and not written yet, counted by the writes' callbacks: the wait for
  // room ends as soon as one buffer was written, not when `out` is empty ('drain'), so that it
  // never runs dry while the next lines are made
  let pending = 0
  let written: (() => void) | undefined
  const wake = (): void => { written?.() }
  // a stream destroyed with writes in flight may never call their callbacks
  out.on('close', wake)
  out.on('error', wake)
  const send = async (): Promise<void> => {
    if (batch.n > 0) await source.answer(batch)
    answers += batch.n
    for (const b of writer.write(batch)) {
      pending += b.length
      out.write(b, () => {
        pending -= b.length
        writer.release(b)
        wake()
      })
      while (pending > MAX_PENDING_BYTES && !out.destroyed) await new Promise<void>(resolve => { written = resolve })
      written = undefined
      // a stream that failed says why; one destroyed without an error lost its reader
      if (out.destroyed) throw out.errored ?? new DumpReaderGoneError('the reader of the lookups went away')
    }
    batch.clear()
  }
  try {
    const header = writer.header()
    if (header.length > 0 && !out.write(header)) await drained(out)
    for await (const chunk of input) {
      reader.read(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, batch)
      await send()
    }
    reader.end(batch)
    await send()
  } finally {
    out.off('close', wake)
    out.off('error', wake)
  }
  return { lines: reader.lines, answers, invalid: reader.invalid, ...(reader.firstInvalid !== undefined ? { firstInvalid: reader.firstInvalid } : {}) }
}
