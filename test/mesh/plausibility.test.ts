/**
 * Plausibility (src/mesh/plausibility.ts): every network the simulated registries answer with
 * agrees with their delegation files — in the nested world's trees and in the flat world — and the
 * lies a key holder could tell (a leaf spanning a /8, another registry's space, a listing vouching
 * across allocations, "not found" in allocated space) do not. validateRecords drops those alone.
 */
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { DelegationTable, parseDelegations, formatDelegations } from '../../src/registry/delegations.js'
import { canonicalNegative, canonicalNetwork, type CanonicalNetwork, type NetworkRecord } from '../../src/record/index.js'
import { DelegationPlausibility } from '../../src/mesh/plausibility.js'
import { validateRecords } from '../../src/mesh/validation.js'
import { RecordChecks } from '../../src/node/record-checks.js'
import { createMeshMetrics, Registry } from '../../src/metrics/index.js'
import type { Logger } from '../../src/util/logger.js'
import { allocationsOf, delegationsOf, describeNetwork, describeNode, NestedWorld, resolveSimulatorOptions, type SimNetwork } from '../../src/sim/index.js'
import { buildWorld, type World } from '../../src/sim/world.js'
import { parseIPv4, rangeToCidrs } from '../../src/util/ipv4.js'

const AUTHOR = '12D3KooWPeerAuthorXyz'

let world: World
let nested: NestedWorld

before(async () => {
  world = await buildWorld()
  nested = new NestedWorld(world, resolveSimulatorOptions({}).worldSeed)
})

/** the table a node builds from the registries' files, through the files' text as a node reads it */
function tableOf (entries: (id: typeof REGISTRY_IDS[number]) => Array<{ start: number, count: number }>): DelegationTable {
  return new DelegationTable(REGISTRY_IDS.flatMap(id => parseDelegations(formatDelegations(id, entries(id))).entries))
}

function asRecord (n: SimNetwork, type: string, listed = false): CanonicalNetwork {
  const r: NetworkRecord = {
    start: n.start, end: n.end, registry: n.registry, handle: n.handle, name: n.name, org: n.org, country: n.country,
    cidrs: rangeToCidrs(n.start, n.end), type, parentHandle: n.parentHandle, registered: n.registered, lastChanged: n.lastChanged,
    source: 'rdap', fetchedAt: Date.UTC(2026, 10, 1), queryAddress: n.start, author: AUTHOR,
    ...(listed ? { listedSample: 1000, listedAt: Date.UTC(2026, 10, 1) } : {})
  }
  return canonicalNetwork(r)
}

const forged = (start: string, end: string, registry: NetworkRecord['registry'], type: string, listed = false): CanonicalNetwork => canonicalNetwork({
  start: parseIPv4(start), end: parseIPv4(end), registry, handle: 'LIAR', name: 'LIAR', org: 'LIAR', country: 'ZZ', cidrs: rangeToCidrs(parseIPv4(start), parseIPv4(end)),
  type, parentHandle: '', registered: '', lastChanged: '', source: 'rdap', fetchedAt: Date.UTC(2026, 10, 1), queryAddress: parseIPv4(start), author: AUTHOR,
  ...(listed ? { listedSample: 1000, listedAt: Date.UTC(2026, 10, 1) } : {})
})

describe('the simulated registries\' answers are plausible', () => {
  it('every network of every 40th allocation\'s tree in the nested world, in its RDAP and WHOIS types, listed or not', () => {
    const p = new DelegationPlausibility(tableOf(id => allocationsOf(nested, id)))
    let checked = 0
    const picked: number[] = []
    for (let a = 0; a < nested.count; a += 40) picked.push(a)
    nested.forEachNetwork(node => {
      const n = describeNode(nested, node)
      for (const type of [n.type, n.whoisType]) {
        for (const listed of [false, true]) {
          const v = p.network(asRecord(n, type, listed))
          assert.ok('network' in v && v.unlisted === undefined, `${n.handle} ${n.registry} ${type}: ${JSON.stringify(v)}`)
          checked++
        }
      }
    }, picked)
    assert.ok(checked > 10_000, `only ${checked} checked`)
  })

  it('every network of the flat world', () => {
    const p = new DelegationPlausibility(tableOf(id => delegationsOf(world, id)))
    for (let i = 0; i < world.count; i += 7) {
      const n = describeNetwork(world, i)
      const v = p.network(asRecord(n, n.type))
      assert.ok('network' in v && v.unlisted === undefined, `${n.handle}: ${JSON.stringify(v)}`)
    }
  })
})

describe('a key holder\'s lies are not', () => {
  // 41.0.0.0/16 and 41.1.0.0/16 to AFRINIC, 41.2.0.0/16 to RIPE NCC (transferred), 41.4.0.0/16 undelegated
  const table = new DelegationTable(parseDelegations([
    formatDelegations('afrinic', [{ start: parseIPv4('41.0.0.0'), count: 65536 }, { start: parseIPv4('41.1.0.0'), count: 65536 }, { start: parseIPv4('41.3.0.0'), count: 65536 }]),
    formatDelegations('ripe', [{ start: parseIPv4('41.2.0.0'), count: 65536 }])
  ].join('')).entries)
  const p = new DelegationPlausibility(table)

  it('a leaf across separate delegations, even two adjacent ones of one registry, or into undelegated space', () => {
    for (const [s, e] of [['41.0.0.0', '41.255.255.255'], ['41.0.128.0', '41.1.127.255'], ['41.3.255.0', '41.4.0.255']]) {
      const v = p.network(forged(s, e, 'afrinic', 'ASSIGNED PA'))
      assert.ok('dropped' in v && v.dropped.reason === 'spans-delegations' && v.dropped.author === AUTHOR, `${s}-${e}: ${JSON.stringify(v)}`)
    }
    const inside = p.network(forged('41.1.0.0', '41.1.255.255', 'afrinic', 'ASSIGNED PA'))
    assert.ok('network' in inside, 'a leaf that is exactly one delegation')
  })

  it('another registry\'s space, whatever its size', () => {
    const v = p.network(forged('41.2.3.0', '41.2.3.255', 'afrinic', 'ASSIGNED PA'))
    assert.ok('dropped' in v && v.dropped.reason === 'foreign-space', JSON.stringify(v))
    assert.ok('network' in p.network(forged('41.2.3.0', '41.2.3.255', 'ripe', 'ASSIGNED PA')), 'its holder\'s network')
    assert.ok('network' in p.network(forged('41.4.3.0', '41.4.3.255', 'ripe', 'ASSIGNED PA')), 'undelegated space: nothing to say')
  })

  it('a container across delegations is kept (a registry\'s per-/8 block answers for unallocated addresses), its listing is not', () => {
    const unlisted = p.network(forged('41.0.0.0', '41.255.255.255', 'afrinic', 'ALLOCATED UNSPECIFIED'))
    assert.ok('network' in unlisted && unlisted.unlisted === undefined)
    const listed = p.network(forged('41.0.0.0', '41.255.255.255', 'afrinic', 'ALLOCATED UNSPECIFIED', true))
    assert.ok('network' in listed && listed.unlisted?.reason === 'listing-spans-delegations', JSON.stringify(listed))
    assert.equal(listed.network.listedSample, undefined)
    assert.equal(listed.network.listedAt, undefined)
    assert.equal(listed.network.handle, 'LIAR')
    assert.ok('network' in p.network(forged('41.1.0.0', '41.1.255.255', 'afrinic', 'ALLOCATED PA', true)), 'a listed allocation that is one delegation')
  })

  it('"not found" in delegated space; other notes, and "not found" elsewhere, pass', () => {
    const negative = (address: string, reason: 'not-found' | 'answered'): ReturnType<typeof canonicalNegative> => canonicalNegative({ address: parseIPv4(address), registry: 'afrinic', reason, fetchedAt: Date.UTC(2026, 10, 1), author: AUTHOR })
    assert.equal(p.negative(negative('41.1.2.3', 'not-found'))?.reason, 'delegated-negative')
    assert.equal(p.negative(negative('41.1.2.3', 'answered')), undefined)
    assert.equal(p.negative(negative('41.4.2.3', 'not-found')), undefined)
  })

  it('validateRecords drops the implausible records alone, and says which', () => {
    const good = forged('41.1.0.0', '41.1.0.255', 'afrinic', 'ASSIGNED PA')
    const bad = forged('41.0.0.0', '41.255.255.255', 'afrinic', 'ASSIGNED PA')
    const neg = { address: parseIPv4('41.0.0.9'), registry: 'afrinic', reason: 'not-found', fetchedAt: Date.UTC(2026, 10, 1), author: AUTHOR }
    const v = validateRecords([good, bad], [neg], Date.now(), AUTHOR, p)
    assert.equal(v.result, 'accept')
    assert.ok(v.result === 'accept')
    assert.deepEqual(v.value.networks.map(n => n.handle), ['LIAR'])
    assert.equal(v.value.networks[0].end, parseIPv4('41.1.0.255'))
    assert.equal(v.value.negatives.length, 0)
    assert.deepEqual(v.value.implausible.map(i => i.reason), ['spans-delegations', 'delegated-negative'])
    // without the files, nothing is dropped
    const w = validateRecords([good, bad], [neg], Date.now(), AUTHOR)
    assert.ok(w.result === 'accept' && w.value.networks.length === 2 && w.value.negatives.length === 1 && w.value.implausible.length === 0)
  })
})

describe('a node\'s own records, by the same files', () => {
  const table = new DelegationTable(parseDelegations(formatDelegations('afrinic', [{ start: parseIPv4('41.0.0.0'), count: 65536 }, { start: parseIPv4('41.1.0.0'), count: 65536 }])).entries)
  const warned: Array<Record<string, unknown> | undefined> = []
  const logger: Logger = { debug: () => {}, info: () => {}, warn: (_m, ctx) => { warned.push(ctx) }, error: () => {}, child: () => logger }
  const metrics = createMeshMetrics(new Registry())
  const checks = new RecordChecks({ logger, metrics })

  it('without files everything is shareable and nothing is said', () => {
    assert.equal(checks.shareable(forged('41.0.0.0', '41.1.255.255', 'afrinic', 'ASSIGNED PA')), true)
    checks.warnIfImplausible([forged('41.0.0.0', '41.1.255.255', 'afrinic', 'ASSIGNED PA')])
    assert.equal(warned.length, 0)
  })

  it('with them, a listing its peers would strip is not made, and an answer they would drop is said', async () => {
    checks.setTable(table)
    assert.equal(checks.shareable(forged('41.0.0.0', '41.1.255.255', 'afrinic', 'ALLOCATED UNSPECIFIED')), true, 'a container across delegations, unlisted')
    assert.equal(checks.shareable(forged('41.0.0.0', '41.1.255.255', 'afrinic', 'ALLOCATED UNSPECIFIED', true)), false, 'the same, listed')
    assert.equal(checks.shareable(forged('41.1.0.0', '41.1.255.255', 'afrinic', 'ALLOCATED PA', true)), true, 'a listed allocation that is one delegation')
    checks.warnIfImplausible([forged('41.1.0.0', '41.1.0.255', 'afrinic', 'ASSIGNED PA'), forged('41.0.0.0', '41.1.255.255', 'afrinic', 'ASSIGNED PA')])
    assert.equal(warned.length, 1)
    assert.equal(warned[0]?.reason, 'spans-delegations')
    checks.onImplausible([{ reason: 'delegated-negative', detail: 'x', author: AUTHOR }], 'someone')
    assert.match(await metrics.implausibleRecordsTotal.get().then(m => JSON.stringify(m.values)), /delegated-negative/)
  })
})
