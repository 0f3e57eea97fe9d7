/**
 * WHOIS answers cut short: the connection closed early and WHOIS has no length to tell. Every real
 * answer in the fixtures and a simulated answer of every registry, cut at every line end and in the
 * middle of every line, give the whole network or fail (truncated or malformed), never a network
 * with fields missing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { isRegistryId, REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { MalformedResponseError, TransientLookupError } from '../../src/lookup/errors.js'
import { parseWhoisAnswer } from '../../src/lookup/whois-parser.js'
import { describeNetwork, identityOf } from '../../src/sim/records.js'
import { arinNetworkAnswer, lacnicNetworkAnswer, rpslNetworkAnswer } from '../../src/sim/whois-format.js'
import { buildWorld } from '../../src/sim/world.js'
import { FIXTURES, fixtureIndex, queryOf } from '../helpers/registry-fixtures.js'

/** The answer's outcome, as a comparable string: the network's identity, the referral, or the error. */
function outcomeOf (text: string, registry: RegistryId, query: number): string {
  try {
    const a = parseWhoisAnswer(text, registry, query)
    if (a.kind !== 'network') return JSON.stringify(a)
    const { start, end, registry: r, handle, name, org, country } = a.network
    return JSON.stringify({ start, end, r, handle, name, org, country })
  } catch (err) {
    if (err instanceof TransientLookupError) return `TransientLookupError(${err.kind})`
    if (err instanceof MalformedResponseError) return 'MalformedResponseError'
    throw err
  }
}

/** Every line end and, inside each line, its middle: where a cut leaves the most plausible text. */
function cutPoints (text: string): number[] {
  const points = new Set<number>()
  let lineStart = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\n') continue
    points.add(i + 1)
    points.add(lineStart + Math.floor((i - lineStart) / 2))
    lineStart = i + 1
  }
  return [...points].filter(p => p > 0 && p < text.length).sort((a, b) => a - b)
}

test('a real WHOIS answer cut anywhere gives its whole network or fails (truncated or malformed), never a network with fields missing', () => {
  let cuts = 0
  let truncated = 0
  for (const e of fixtureIndex.filter(e => e.kind === 'whois' && isRegistryId(e.registry))) {
    const text = readFileSync(`${FIXTURES}${e.file}`, 'utf8')
    // a client's referral chain: a cut before the last section leaves an earlier server's answer
    if (/^#\s*whois\.\S+\s*$/m.test(text)) continue
    const registry = e.registry as RegistryId
    const query = queryOf(e)
    const whole = outcomeOf(text, registry, query)
    if (whole.startsWith('TransientLookupError') || whole === 'MalformedResponseError') continue
    for (const at of cutPoints(text)) {
      const cut = outcomeOf(text.slice(0, at), registry, query)
      cuts++
      if (cut === 'TransientLookupError(truncated)') truncated++
      assert.ok(cut === whole || cut === 'TransientLookupError(truncated)' || cut === 'MalformedResponseError',
        `${e.file} cut after ${at} of ${text.length} characters: ${cut} instead of ${whole}\n--- the text ends:\n${text.slice(Math.max(0, at - 200), at)}`)
    }
  }
  assert.ok(cuts > 1000 && truncated > 500, `${cuts} cuts, ${truncated} truncated`)
})

test('a simulated WHOIS answer of every registry cut anywhere gives its whole network or fails as truncated', async () => {
  const world = await buildWorld()
  const seen = new Set<string>()
  let truncated = 0
  for (let i = 0; i < world.count && seen.size < REGISTRY_IDS.length * 2; i += 97) {
    const n = describeNetwork(world, i)
    const key = `${n.registry}:${n.gap ? 'gap' : 'range'}`
    if (seen.has(key)) continue
    seen.add(key)
    const text = n.registry === 'arin' ? arinNetworkAnswer(n, 'http://rdap.example/') : n.registry === 'lacnic' ? lacnicNetworkAnswer(n) : rpslNetworkAnswer(n)
    const whole = outcomeOf(text, n.registry, n.start)
    const { start, end, registry: r, handle, name, org, country } = identityOf(n)
    assert.equal(whole, JSON.stringify({ start, end, r, handle, name, org, country }), `${key}: the whole answer`)
    for (const at of cutPoints(text)) {
      const cut = outcomeOf(text.slice(0, at), n.registry, n.start)
      if (cut === 'TransientLookupError(truncated)') truncated++
      assert.ok(cut === whole || cut === 'TransientLookupError(truncated)' || cut === 'MalformedResponseError', `${key} cut after ${at}: ${cut}`)
    }
  }
  assert.equal(seen.size, REGISTRY_IDS.length * 2)
  assert.ok(truncated > 100, `${truncated} cuts seen as truncated`)
})
