/**
 * The answer to an `/ip` query, from an AnswerSource (serve/interface.ts): the status and the RDAP
 * body. What `whoismesh lookup` says (report/lookup.ts), in RDAP's terms:
 *
 * - a network: 200 and the `ip network` object (objects.ts);
 * - unknown space (nothing stored holds it: not crawled yet, or outside the sample), and space the
 *   registry said is not allocated: 404 with an error body (RFC 7480 §5.3, RFC 9083 §6) saying
 *   which of these it is;
 * - special-purpose and IANA-reserved space: 404, titled so and naming the block.
 *
 * For a prefix, RFC 9082 §3.1.1 asks for the most specific network that holds all of it (what the
 * RIRs answer). The report lists the networks holding the prefix's first address, most specific
 * first; the answer is the first one that reaches the prefix's end. It is exact when it is a leaf,
 * or when it is the report's own exact answer for that first address (nothing more specific holds
 * that address, so nothing more specific holds the prefix).
 */
import type { LookupReport } from '../../report/lookup.js'
import type { DumpRow } from '../../report/dump.js'
import { formatLookup } from '../../report/lookup.js'
import { specialBlockOf } from '../../registry/iana.js'
import { formatIPv4, parseIPv4 } from '../../util/ipv4.js'
import type { AnswerSource } from '../interface.js'
import { errorBody, ipNetworkObject, type NetworkContext, type RdapBody } from './objects.js'
import type { RdapQuery } from './query.js'

export interface RdapAnswer {
  status: number
  body: RdapBody
}

type IpQuery = Extract<RdapQuery, { kind: 'ip' }>

/** The special-purpose block holding `address`: IANA's special-purpose registry's, else its reserved /8. */
function specialBlock (address: number, name: string | undefined): { cidr: string, start: number, end: number, name: string } {
  const block = specialBlockOf(address)
  if (block !== undefined) return block
  const start = (address >>> 24) * 2 ** 24
  return { cidr: `${formatIPv4(start)}/8`, start, end: start + 2 ** 24 - 1, name: name ?? 'reserved by IANA' }
}

/** The answer for `q`, given the source's report for its first address. */
export function answerFromReport (q: IpQuery, report: LookupReport, ctx: Omit<NetworkContext, 'exact' | 'inSample'>): RdapAnswer {
  const isPrefix = q.prefixLength < 32
  if (report.status === 'network') {
    const at = report.networks.findIndex(n => parseIPv4(n.end_address) >= q.end)
    if (at !== -1) {
      const row: DumpRow = report.networks[at]
      const exact = row.leaf || (at === 0 && report.exact)
      return { status: 200, body: ipNetworkObject(row, { ...ctx, exact, inSample: report.in_sample }) }
    }
    const first = report.networks[0]
    return {
      status: 404,
      body: errorBody(404, 'Not Found', [
        `No network in this replica holds the whole of ${q.text}.`,
        `The most specific one holding ${report.address} is ${first.cidr} (${first.start_address} - ${first.end_address}, ${first.registry} ${first.handle}): ask for ${report.address} alone.`
      ])
    }
  }
  if (report.status === 'special-purpose') {
    const block = specialBlock(q.start, report.special)
    if (block.start <= q.start && q.end <= block.end) {
      return {
        status: 404,
        body: errorBody(404, 'Special-Purpose Address Space', [
          `${q.text} is in ${block.cidr}, special-purpose address space (${block.name}): no registry registers networks in it, and the crawl never asks about it.`
        ])
      }
    }
    return {
      status: 404,
      body: errorBody(404, 'Not Found', [
        `No network in this replica holds the whole of ${q.text}: it begins in ${block.cidr}, special-purpose address space (${block.name}).`
      ])
    }
  }
  const line = formatLookup(report).trim()
  if (report.status === 'unallocated') {
    return {
      status: 404,
      body: errorBody(404, 'Not Allocated', isPrefix ? [`No network in this replica holds ${q.text}.`, line] : [line])
    }
  }
  return {
    status: 404,
    body: errorBody(404, 'Not Found', isPrefix ? [`No network in this replica holds ${q.text}.`, line] : [line])
  }
}

/** Looks `q` up in `source` and answers it. Rejects when the source does. */
export async function answerIpQuery (q: IpQuery, source: AnswerSource, ctx: Omit<NetworkContext, 'exact' | 'inSample' | 'replica'>): Promise<RdapAnswer> {
  const report = await source.lookup(q.start)
  return answerFromReport(q, report, { ...ctx, replica: source.replica() })
}
