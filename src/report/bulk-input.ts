/**
 * `lookup -`'s input (src/report/bulk-lookup.ts): chunks of standard input split into lines and
 * each parsed as an IPv4 address into an AnswerBatch, without a string per line. Blank lines and
 * lines starting with `#` are skipped, white space around an address is ignored (and a UTF-8 byte
 * order mark before the first line); a line that is not an address is kept with its text, for an
 * answer of status `invalid`.
 */
import type { AnswerBatch } from './bulk-lookup.js'

/** a line longer than this is invalid (only its start is echoed) */
const MAX_LINE_BYTES = 4096
/** of an invalid line, at most this much is echoed */
const MAX_ECHO_BYTES = 256

/** Splits input chunks into lines and parses each as an address, without a string per line. */
export class LineReader {
  /** input lines so far, blank and comment lines included */
  lines = 0
  invalid = 0
  /** the first invalid line: its number and text */
  firstInvalid: { line: number, text: string } | undefined
  private carry = Buffer.alloc(0)
  private carryLen = 0
  private started = false

  /** the lines a chunk completes (a line cut by its end is kept for the next) */
  read (chunk: Buffer, batch: AnswerBatch): void {
    let from = 0
    if (this.carryLen > 0) {
      const nl = chunk.indexOf(10)
      if (nl < 0) {
        this.keep(chunk, 0, chunk.length)
        return
      }
      this.keep(chunk, 0, nl)
      this.line(this.carry, 0, this.carryLen, batch)
      this.carryLen = 0
      from = nl + 1
    }
    const n = chunk.length
    while (from < n) {
      // the common line, a dotted quad alone, is parsed as its bytes pass (parseAddress's rule);
      // any other (the first, blank, comment, white space, invalid) goes to `line`
      let i = from
      let acc = 0
      let value = 0
      let digits = 0
      let dots = 0
      for (; i < n; i++) {
        const c = chunk[i]
        if (c >= 48 && c <= 57) {
          value = value * 10 + c - 48
          digits++
        } else if (c === 46 && digits > 0 && digits <= 3 && value <= 255 && dots < 3) {
          acc = acc * 256 + value
          value = 0
          digits = 0
          dots++
        } else {
          break
        }
      }
      const end = i < n && chunk[i] === 13 ? i + 1 : i
      if (end < n && chunk[end] === 10 && dots === 3 && digits > 0 && digits <= 3 && value <= 255 && this.started) {
        this.lines++
        batch.push(acc * 256 + value)
        from = end + 1
        continue
      }
      const nl = chunk.indexOf(10, from)
      if (nl < 0) break
      this.line(chunk, from, nl, batch)
      from = nl + 1
    }
    if (from < n) this.keep(chunk, from, n)
  }

  /** the last line, when the input does not end with a line end */
  end (batch: AnswerBatch): void {
    if (this.carryLen > 0) this.line(this.carry, 0, this.carryLen, batch)
    this.carryLen = 0
  }

  /** keeps a cut line's bytes, up to one more than a line may have */
  private keep (b: Buffer, s: number, e: number): void {
    const room = MAX_LINE_BYTES + 1 - this.carryLen
    const take = Math.min(e - s, room)
    if (take <= 0) return
    if (this.carry.length < this.carryLen + take) {
      const next = Buffer.allocUnsafe(Math.min(MAX_LINE_BYTES + 1, Math.max(256, (this.carryLen + take) * 2)))
      this.carry.copy(next, 0, 0, this.carryLen)
      this.carry = next
    }
    b.copy(this.carry, this.carryLen, s, s + take)
    this.carryLen += take
  }

  private line (b: Buffer, s: number, e: number, batch: AnswerBatch): void {
    this.lines++
    if (!this.started) {
      this.started = true
      if (e - s >= 3 && b[s] === 0xef && b[s + 1] === 0xbb && b[s + 2] === 0xbf) s += 3
    }
    const tooLong = e - s > MAX_LINE_BYTES
    while (s < e && isSpace(b[s])) s++
    while (e > s && isSpace(b[e - 1])) e--
    if (s === e || b[s] === 35) return
    const address = tooLong ? -1 : parseAddress(b, s, e)
    if (address >= 0) {
      batch.push(address)
      return
    }
    const text = b.toString('utf8', s, Math.min(e, s + MAX_ECHO_BYTES))
    this.invalid++
    this.firstInvalid ??= { line: this.lines, text }
    batch.push(0, text)
  }
}

/** space, tab, CR, vertical tab, form feed */
function isSpace (c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13)
}

/** A dotted quad in b[s, e) (octets of 1–3 digits, zero-padded ones too, as parseIPv4), or -1. */
function parseAddress (b: Buffer, s: number, e: number): number {
  let n = 0
  let value = 0
  let digits = 0
  let dots = 0
  for (let i = s; i < e; i++) {
    const c = b[i]
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return -1
      value = value * 10 + c - 48
    } else if (c === 46) {
      if (digits === 0 || value > 255 || ++dots > 3) return -1
      n = n * 256 + value
      value = 0
      digits = 0
    } else {
      return -1
    }
  }
  if (dots !== 3 || digits === 0 || value > 255) return -1
  return n * 256 + value
}
