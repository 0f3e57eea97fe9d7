/**
 * Streaming reader of the RIRs' public RPSL database dumps: RIPE NCC's and APNIC's split files
 * (`ripe.db.inetnum.gz`, `apnic.db.organisation.gz`, …) and AFRINIC's single `afrinic.db.gz`;
 * gzip when the input starts with the gzip magic (1f 8b), else plain text. One object per
 * blank-line-separated paragraph; `%` and `#` lines are passed over wherever they stand; a line
 * starting with space, tab or `+` continues the attribute before it (RFC 2622 §2). Each object is
 * the TextObject parseWhoisText makes of the same text (end-of-line `# comments` kept in values),
 * so whois-parser's functions read it as they read an answer. Encoding: the RIPE Database stores
 * objects in Latin-1 (RIPE-NCC/whois issue #285), newer dumps may be UTF-8: an object is decoded as
 * UTF-8 when its bytes are valid UTF-8, else as Latin-1. A malformed object (no "key: value" first
 * line, a line neither attribute nor continuation, over 64 KiB or 2,000 lines) is counted and
 * passed over. A gzip stream cut short ends the reading with `truncated` set, without the object
 * it was cut in. Memory: one decompressed chunk and the object being read (at most 64 KiB).
 */
import { isAscii, isUtf8 } from 'node:buffer'
import { Readable, pipeline } from 'node:stream'
import { createGunzip } from 'node:zlib'
import type { Attr, TextObject } from '../lookup/parse-util.js'

export interface DumpReadStats {
  /** objects yielded */
  objects: number
  /** malformed objects passed over (objects of classes not asked for are not counted anywhere) */
  skipped: number
  /** bytes of dump text read (after decompression) */
  bytes: number
  /** the gzip stream ended before its end: the objects read are all complete, but the dump is not */
  truncated: boolean
  /** objects whose bytes were not valid UTF-8, decoded as Latin-1 */
  latin1Objects: number
  /** the first malformed object: "line N: why" */
  firstProblem?: string
}

export interface DumpObject {
  /** the object's class: its first attribute's name, lower case ("inetnum", "organisation") */
  cls: string
  obj: TextObject
  /** 1-based line of its first attribute in the (decompressed) dump */
  line: number
}

export interface DumpReadOptions {
  /**
   * Only objects of these classes (lower case) are yielded; the others are passed over without
   * being parsed, and counted neither as objects nor as skipped. Default: every class.
   */
  classes?: ReadonlySet<string>
  /**
   * Only these attributes (lower case) are kept in the objects yielded; the others, and their
   * continuation lines, are passed over without making strings of them (an inetnum's remarks,
   * contacts and maintainers are half its lines). The first attribute is always kept. Default: all.
   */
  attributes?: ReadonlySet<string>
  /** stops the reading (an AbortError) before the next chunk is read */
  signal?: AbortSignal
}

export function newDumpStats (): DumpReadStats {
  return { objects: 0, skipped: 0, bytes: 0, truncated: false, latin1Objects: 0 }
}

/** Beyond these an object is taken for garbage (the largest real ones are a few KiB). */
export const MAX_OBJECT_BYTES = 64 * 1024
export const MAX_OBJECT_LINES = 2000

const SPACE = 32
const TAB = 9
const CR = 13
const PLUS = 43
const HASH = 35
const PERCENT = 37
const COLON = 58
const EMPTY = Buffer.alloc(0)

/** The objects of a dump, in order. See the file's comment for what is skipped and when it stops. */
export async function * readRpslDump (input: NodeJS.ReadableStream | AsyncIterable<Buffer>, stats: DumpReadStats, opts: DumpReadOptions = {}): AsyncGenerator<DumpObject> {
  for await (const batch of readRpslParagraphs(input, stats, opts)) {
    for (const p of batch) {
      const o = parseParagraph(p, stats, opts.attributes)
      if (o !== undefined) yield o
    }
  }
}

/**
 * The paragraphs of a dump, not yet parsed, a batch per chunk read (what readRpslDump parses with
 * `parseParagraph`). `stats` gets the bytes read and whether the dump was cut short; the objects
 * are counted where they are parsed.
 */
export async function * readRpslParagraphs (input: NodeJS.ReadableStream | AsyncIterable<Buffer>, stats: DumpReadStats, opts: Pick<DumpReadOptions, 'classes' | 'signal'> = {}): AsyncGenerator<Paragraph[]> {
  let found: Paragraph[] = []
  const sink: ParagraphSink = {
    paragraph: (buf, start, end, line) => { found.push({ bytes: buf.subarray(start, end), line }) },
    problem: why => { found.push({ problem: why }) }
  }
  for await (const _ of readRpslParagraphsInto(input, stats, sink, opts)) {
    if (found.length > 0) { yield found; found = [] }
  }
  if (found.length > 0) yield found
}

/** Where the paragraphs of a dump go, as they are found. */
export interface ParagraphSink {
  /** a paragraph: buf[start, end), its first line `line`; buf is only valid during the call */
  paragraph: (buf: Buffer, start: number, end: number, line: number) => void
  /** a malformed object ("line N: why") */
  problem: (why: string) => void
}

/**
 * readRpslParagraphs without a Paragraph object per paragraph: each goes to `sink` (an import
 * copies it straight into a worker's batch); yields after each chunk read, so the caller can
 * wait between chunks.
 */
export async function * readRpslParagraphsInto (input: NodeJS.ReadableStream | AsyncIterable<Buffer>, stats: DumpReadStats, sink: ParagraphSink, opts: Pick<DumpReadOptions, 'classes' | 'signal'> = {}): AsyncGenerator<void> {
  const { classes, signal } = opts
  signal?.throwIfAborted()
  const source = { gzip: false }
  const splitter = new ParagraphSplitter(classes, sink)
  try {
    for await (const chunk of dumpText(input, source)) {
      signal?.throwIfAborted()
      stats.bytes += chunk.length
      splitter.push(chunk)
      yield
    }
  } catch (err) {
    if (!(source.gzip && isGzipCutShort(err))) throw err
    stats.truncated = true
    return
  }
  splitter.end()
  yield
}

/** A paragraph to make an object of: its bytes (comment lines included), or why it is none. */
export type Paragraph = { bytes: Buffer, line: number } | { problem: string }

/**
 * Cuts the dump's bytes into paragraphs, looking at each line's first bytes only: comment lines
 * before an object are passed over, an object whose first line is no attribute, or that grows
 * too large, is malformed, and one of a class not asked for is dropped on its first line. Keeps
 * what a chunk ends with (the object it is in, or its last partial line) for the next one.
 */
class ParagraphSplitter {
  private carry: Buffer = EMPTY
  /** where, in carry + next chunk, the lines not yet looked at start */
  private scanFrom = 0
  private lineNo = 0
  /** in a line too long to keep, until its end */
  private inLongLine = false
  private state: 'none' | 'keep' | 'drop' | 'bad' = 'none'
  private start = 0
  private line = 0
  private lines = 0
  private problem = ''

  constructor (private readonly classes: ReadonlySet<string> | undefined, private readonly sink: ParagraphSink) {}

  push (chunk: Buffer): void {
    let buf = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk])
    let pos = this.scanFrom
    if (this.inLongLine) {
      const nl = buf.indexOf(10, pos)
      if (nl < 0) { this.carry = EMPTY; this.scanFrom = 0; return }
      this.lineNo++
      this.inLongLine = false
      buf = buf.subarray(nl + 1)
      pos = 0
    }
    // one char per byte: offsets in the text are offsets in buf
    const text = buf.toString('latin1')
    for (let nl = text.indexOf('\n', pos); nl >= 0; pos = nl + 1, nl = text.indexOf('\n', pos)) {
      this.lineNo++
      if (text.charCodeAt(pos) > SPACE || !isBlank(text, pos, nl)) this.onLine(text, pos, nl)
      else this.close(buf, pos)
    }
    if (buf.length - pos > MAX_OBJECT_BYTES) {
      this.fail(this.lineNo + 1, `line over ${MAX_OBJECT_BYTES} bytes`)
      this.inLongLine = true
      this.carry = EMPTY
      this.scanFrom = 0
      return
    }
    // keep the object being read (if kept) or else the partial last line
    const keepFrom = this.state === 'keep' ? this.start : pos
    this.carry = buf.subarray(keepFrom)
    this.scanFrom = pos - keepFrom
    this.start -= keepFrom
  }

  /** At the input's end: its last line, even without a line break, ends the last object. */
  end (): void {
    const buf = this.carry
    if (!this.inLongLine && buf.length > this.scanFrom) {
      const text = buf.toString('latin1')
      this.lineNo++
      if (!isBlank(text, this.scanFrom, text.length)) this.onLine(text, this.scanFrom, text.length)
    }
    this.close(buf, buf.length)
    this.carry = EMPTY
  }

  private onLine (text: string, start: number, end: number): void {
    const c = text.charCodeAt(start)
    if (this.state === 'none') {
      if (c === PERCENT || c === HASH) return
      this.start = start
      this.line = this.lineNo
      this.lines = 0
      const colon = keyEnd(text, start, end)
      if (colon < 0) return this.fail(this.lineNo, 'no "key: value" first line')
      this.state = this.classes === undefined || this.classes.has(lowerKey(text.slice(start, colon))) ? 'keep' : 'drop'
    }
    if (this.state !== 'keep') return
    if (++this.lines > MAX_OBJECT_LINES) this.fail(this.line, `object over ${MAX_OBJECT_LINES} lines`)
    else if (end + 1 - this.start > MAX_OBJECT_BYTES) this.fail(this.line, `object over ${MAX_OBJECT_BYTES} bytes`)
  }

  private fail (lineNo: number, why: string): void {
    if (this.state === 'bad') return
    if (this.state === 'none') this.line = lineNo
    this.state = 'bad'
    this.problem = `line ${lineNo}: ${why}`
  }

  /** A blank line (or the end) at `end`: the paragraph before it is done. */
  private close (buf: Buffer, end: number): void {
    if (this.state === 'keep') this.sink.paragraph(buf, this.start, end, this.line)
    else if (this.state === 'bad') this.sink.problem(this.problem)
    this.state = 'none'
  }
}

/**
 * The object of a paragraph, counted in `stats`: decoded as UTF-8 when its bytes are, else as
 * Latin-1, into a string of its own (so a value kept does not keep the chunk it came in), and
 * parsed as parseWhoisText does: key lower case, value trimmed, continuations appended with one
 * space. Undefined, counted as skipped, when it is malformed.
 */
export function parseParagraph (p: Paragraph, stats: DumpReadStats, wanted?: ReadonlySet<string>): DumpObject | undefined {
  if ('problem' in p) return skip(stats, p.problem)
  const { bytes, line } = p
  const ascii = isAscii(bytes)
  const latin1 = !ascii && !isUtf8(bytes)
  const text = ascii || latin1 ? bytes.toString('latin1') : bytes.toString('utf8')
  return parseParagraphText(text, 0, text.length, line, latin1, stats, wanted)
}

/**
 * parseParagraph of a paragraph already decoded: text[from, to), its first line `line`, `latin1`
 * when it was decoded as Latin-1 (counted). An import's worker decodes a batch of ASCII
 * paragraphs as one string and parses them from it.
 */
export function parseParagraphText (text: string, from: number, to: number, line: number, latin1: boolean, stats: DumpReadStats, wanted?: ReadonlySet<string>): DumpObject | undefined {
  const attrs: Attr[] = []
  let lineNo = line
  /** in an attribute not wanted: its continuation lines are passed over too */
  let passing = false
  for (let i = from; i < to; lineNo++) {
    let nl = text.indexOf('\n', i)
    if (nl < 0 || nl > to) nl = to
    const c = text.charCodeAt(i)
    if (c === SPACE || c === TAB || c === PLUS) {
      // a continuation of the attribute before it
      if (attrs.length === 0) return skip(stats, `line ${lineNo}: neither "key: value" nor a continuation`)
      if (!passing) {
        const more = trimmed(text, c === PLUS ? i + 1 : i, nl)
        const last = attrs[attrs.length - 1]
        if (more !== '') last.value = last.value === '' ? more : `${last.value} ${more}`
      }
    } else if (c !== PERCENT && c !== HASH) {
      const colon = keyEnd(text, i, nl)
      if (colon < 0) return skip(stats, `line ${lineNo}: neither "key: value" nor a continuation`)
      const key = keyOf(text, i, colon)
      // the first attribute is always kept: it names the object
      passing = wanted !== undefined && attrs.length > 0 && !wanted.has(key)
      if (!passing) attrs.push({ key, value: trimmed(text, colon + 1, nl) })
    }
    i = nl + 1
  }
  if (attrs.length === 0) return skip(stats, `line ${line}: an empty object`)
  if (latin1) stats.latin1Objects++
  stats.objects++
  return { cls: attrs[0].key, obj: { attrs }, line }
}

/** Counts a malformed object. */
function skip (stats: DumpReadStats, problem: string): undefined {
  stats.skipped++
  stats.firstProblem ??= problem
  return undefined
}

/** text.slice(start, end).trim(), without the intermediate string when the ends are ASCII. */
function trimmed (text: string, start: number, end: number): string {
  let s = start
  let e = end
  while (s < e && isAsciiSpace(text.charCodeAt(s))) s++
  while (e > s && isAsciiSpace(text.charCodeAt(e - 1))) e--
  if (s < e && (text.charCodeAt(s) > 127 || text.charCodeAt(e - 1) > 127)) return text.slice(s, e).trim()
  return text.slice(s, e)
}

const isAsciiSpace = (c: number): boolean => c === SPACE || (c >= TAB && c <= CR)

/** The attribute names of inetnum and organisation objects, by length: shared, not made per line. */
const KNOWN_KEYS: string[][] = []
for (const k of ('inetnum netname descr country geoloc language org sponsoring-org admin-c tech-c abuse-c status remarks ' +
  'notify mnt-by mnt-lower mnt-routes mnt-domains mnt-irt created last-modified changed source parent organisation ' +
  'org-name org-type address phone fax-no e-mail mnt-ref geofeed').split(' ')) (KNOWN_KEYS[k.length] ??= []).push(k)

/** The key text[start, colon), lower case. */
function keyOf (text: string, start: number, colon: number): string {
  const known = KNOWN_KEYS[colon - start]
  if (known !== undefined) for (const k of known) if (text.startsWith(k, start)) return k
  return lowerKey(text.slice(start, colon))
}

/** Index of the colon ending a key ([A-Za-z][A-Za-z0-9_-]*) at `start`, or -1. */
function keyEnd (text: string, start: number, end: number): number {
  if (!isLetter(text.charCodeAt(start))) return -1
  for (let i = start + 1; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c === COLON) return i
    if (!isLetter(c) && !(c >= 48 && c <= 57) && c !== 45 && c !== 95) return -1
  }
  return -1
}

const isLetter = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90)

function lowerKey (key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c >= 65 && c <= 90) return key.toLowerCase()
  }
  return key
}

/** Empty or white space only (a line of blanks ends an object, as in parseWhoisText). */
function isBlank (text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c !== SPACE && c !== TAB && c !== CR && c !== 11 && c !== 12) return false
  }
  return true
}

/** zlib's error for input that ends inside the gzip stream ("unexpected end of file"). */
function isGzipCutShort (err: unknown): boolean {
  const e = err as { code?: unknown, message?: unknown } | null
  return e?.code === 'Z_BUF_ERROR' || (typeof e?.message === 'string' && e.message.includes('unexpected end of file'))
}

/** The dump's text bytes: the input itself, or gunzipped when it starts with the gzip magic. */
async function * dumpText (input: NodeJS.ReadableStream | AsyncIterable<Buffer>, source: { gzip: boolean }): AsyncGenerator<Buffer> {
  const it = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]()
  try {
    const head: Buffer[] = []
    let headBytes = 0
    while (headBytes < 2) {
      const r = await it.next()
      if (r.done === true) break
      head.push(asBuffer(r.value))
      headBytes += head[head.length - 1].length
    }
    const first = head.length === 1 ? head[0] : Buffer.concat(head)
    source.gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b
    if (source.gzip) {
      yield * gunzipped(first, it)
    } else {
      if (first.length > 0) yield first
      for (let r = await it.next(); r.done !== true; r = await it.next()) yield asBuffer(r.value)
    }
  } finally {
    await it.return?.()
  }
}

/** `first` and the rest of `it`, gunzipped (zlib reads concatenated gzip members as one stream). */
async function * gunzipped (first: Buffer, it: AsyncIterator<Buffer | string>): AsyncGenerator<Buffer> {
  const compressed = Readable.from((async function * () {
    yield first
    for (let r = await it.next(); r.done !== true; r = await it.next()) yield asBuffer(r.value)
  })(), { objectMode: false })
  const gunzip = createGunzip({ chunkSize: 64 * 1024 })
  pipeline(compressed, gunzip, () => { /* an error surfaces in the iteration below */ })
  try {
    for await (const chunk of gunzip) yield chunk as Buffer
  } finally {
    compressed.destroy()
    gunzip.destroy()
  }
}

function asBuffer (chunk: Buffer | string | Uint8Array): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}
