/**
 * One batch of the import's parsing (a worker thread of parse-pool.ts runs it): a batch of an
 * inetnum file's paragraphs into rows — range, leaf flag and the encoded fields (snapshot.ts).
 *
 * Per object it does only what the snapshot keeps: a batch that is all ASCII (nearly every one)
 * is decoded once and its paragraphs parsed from that string; the fields go straight into one
 * buffer for the batch; no CIDR list is made.
 */
import { isAscii } from 'node:buffer'
import type { DumpRegistry } from '../registry/interface.js'
import { INETNUM_ATTRIBUTES, inetnumFields } from './inetnum.js'
import { newDumpStats, parseParagraph, parseParagraphText, type DumpObject } from './rpsl-dump.js'
import { fieldsText, flagsOf } from './snapshot.js'
import type { ParseRequest, ParseResult } from './parse-pool.js'

/** The rows of a batch; `names`: org-name by upper-case organisation handle. */
export function parseBatch (m: ParseRequest, names: ReadonlyMap<string, string>, registry: DumpRegistry): ParseResult {
  const bytes = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength)
  const n = m.lines.length
  const stats = newDumpStats()
  const start = new Uint32Array(n)
  const end = new Uint32Array(n)
  const flags = new Uint8Array(n)
  const lengths = new Uint32Array(n)
  // the fields take less room than the text they come from, but for a name or org decoded as
  // Latin-1 that UTF-8 makes two bytes of: grown when needed
  let details = Buffer.allocUnsafe(Math.max(4096, bytes.length))
  let at = 0
  const ascii = isAscii(bytes)
  const text = ascii ? bytes.toString('latin1') : ''
  let rows = 0
  let placeholders = 0
  let unusable = 0
  let firstProblem: string | undefined
  for (let k = 0; k < n; k++) {
    const o: DumpObject | undefined = ascii
      ? parseParagraphText(text, m.offsets[k], m.offsets[k + 1], m.lines[k], false, stats, INETNUM_ATTRIBUTES)
      : parseParagraph({ bytes: bytes.subarray(m.offsets[k], m.offsets[k + 1]), line: m.lines[k] }, stats, INETNUM_ATTRIBUTES)
    if (o === undefined) continue
    let net
    try {
      net = inetnumFields(o.obj, names, registry)
    } catch (err: any) {
      unusable++
      firstProblem ??= `line ${o.line}: ${String(err?.message ?? err)}`
      continue
    }
    if (net === undefined) { placeholders++; continue }
    const t = fieldsText(net)
    if (at + t.length * 3 > details.length) {
      const grown = Buffer.allocUnsafe(Math.max(details.length * 2, at + t.length * 3))
      details.copy(grown, 0, 0, at)
      details = grown
    }
    const written = details.write(t, at, 'utf8')
    at += written
    start[rows] = net.start
    end[rows] = net.end
    flags[rows] = flagsOf(net)
    lengths[rows] = written
    rows++
  }
  const result: ParseResult = {
    seq: m.seq,
    rows,
    start: start.subarray(0, rows),
    end: end.subarray(0, rows),
    flags: flags.subarray(0, rows),
    lengths: lengths.subarray(0, rows),
    // copied to its size: the main thread keeps it until written, the batch-sized buffer it came in need not stay
    details: Uint8Array.prototype.slice.call(details, 0, at),
    objects: stats.objects,
    skipped: stats.skipped,
    latin1Objects: stats.latin1Objects,
    placeholders,
    unusable,
    ...(stats.firstProblem !== undefined || firstProblem !== undefined ? { firstProblem: stats.firstProblem ?? firstProblem } : {})
  }
  return result
}
