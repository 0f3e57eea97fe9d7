/**
 * The real registry answers in test/fixtures/registry-responses/ (RDAP JSON and WHOIS text, listed
 * in its index.json) and what the parser tests need to read them: the query address each answer
 * was for, and the network a WHOIS answer must give.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { WhoisAnswer } from '../../src/lookup/interface.js'
import type { ParsedNetwork } from '../../src/record/index.js'
import { parseIPv4 as ip } from '../../src/util/ipv4.js'

/** The fixtures directory, with a trailing slash: `${FIXTURES}${file}`. */
export const FIXTURES = fileURLToPath(new URL('../fixtures/registry-responses/', import.meta.url))

export interface IndexEntry {
  file: string
  registry: string
  kind: 'rdap' | 'whois'
  query_ip: string | null
}

/** index.json: every fixture file with its registry, protocol and query address. */
export const fixtureIndex = JSON.parse(readFileSync(`${FIXTURES}index.json`, 'utf8')) as IndexEntry[]

/** The query address: as recorded, else the network start the file is named after. */
export function queryOf (e: IndexEntry): number {
  if (e.query_ip != null && e.query_ip !== 'unknown') return ip(e.query_ip)
  const m = /-(\d+\.\d+\.\d+\.\d+)(?:-[\w]+)?\.(?:json|txt)$/.exec(e.file)
  assert.ok(m != null, `${e.file}: no address in the file name`)
  return ip(m[1])
}

/** The network of a WHOIS answer that must be one (`file` names it in the failure). */
export function expectNetwork (answer: WhoisAnswer, file: string): ParsedNetwork {
  assert.equal(answer.kind, 'network', `${file}: expected a network, got ${JSON.stringify(answer)}`)
  return (answer as { kind: 'network', network: ParsedNetwork }).network
}
