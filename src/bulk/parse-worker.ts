/**
 * A worker thread of the import (parse-pool.ts): turns batches of an inetnum file's paragraphs into
 * rows — range, leaf flag and the encoded fields (snapshot.ts) — so the parsing, the import's
 * largest cost, runs on every core while the main thread reads, inflates and writes.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { DumpRegistry } from '../registry/interface.js'
import { INETNUM_ATTRIBUTES, inetnumNetwork } from './inetnum.js'
import { newDumpStats, parseParagraph, type Paragraph } from './rpsl-dump.js'
import { encodeFields, flagsOf } from './snapshot.js'
import type { ParseRequest, ParseResult } from './parse-pool.js'

const { registry, orgNames } = workerData as { registry: DumpRegistry, orgNames: Array<[string, string]> }
const names = new Map(orgNames)

parentPort!.on('message', (m: ParseRequest) => {
  const bytes = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength)
  const n = m.lines.length
  const stats = newDumpStats()
  const start = new Uint32Array(n)
  const end = new Uint32Array(n)
  const flags = new Uint8Array(n)
  const lengths = new Uint32Array(n)
  const fields: Buffer[] = []
  let rows = 0
  let placeholders = 0
  let unusable = 0
  let firstProblem: string | undefined
  for (let k = 0; k < n; k++) {
    const p: Paragraph = { bytes: bytes.subarray(m.offsets[k], m.offsets[k + 1]), line: m.lines[k] }
    const o = parseParagraph(p, stats, INETNUM_ATTRIBUTES)
    if (o === undefined) continue
    let net
    try {
      net = inetnumNetwork(o.obj, names, registry)
    } catch (err: any) {
      unusable++
      firstProblem ??= `line ${o.line}: ${String(err?.message ?? err)}`
      continue
    }
    if (net === undefined) { placeholders++; continue }
    const b = encodeFields(net)
    start[rows] = net.start
    end[rows] = net.end
    flags[rows] = flagsOf(net)
    lengths[rows] = b.length
    fields.push(b)
    rows++
  }
  const details = Buffer.concat(fields)
  const result: ParseResult = {
    seq: m.seq,
    rows,
    start: start.subarray(0, rows),
    end: end.subarray(0, rows),
    flags: flags.subarray(0, rows),
    lengths: lengths.subarray(0, rows),
    details,
    objects: stats.objects,
    skipped: stats.skipped,
    latin1Objects: stats.latin1Objects,
    placeholders,
    unusable,
    ...(stats.firstProblem !== undefined || firstProblem !== undefined ? { firstProblem: stats.firstProblem ?? firstProblem } : {})
  }
  parentPort!.postMessage(result, [start.buffer, end.buffer, flags.buffer, lengths.buffer])
})
