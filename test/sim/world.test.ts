import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { SPECIAL_PURPOSE_BLOCKS, slashEightOf, slashEights } from '../../src/registry/iana.js'
import { formatIPv4, parseCidr } from '../../src/util/ipv4.js'
import { parseAsnCsv, parseCountryCsv } from '../../src/sim/dataset.js'
import { abbreviatedCidr, describeNetwork } from '../../src/sim/records.js'
import { allowedSegments, buildWorld, buildWorldFrom, cidrBlocks, type World } from '../../src/sim/world.js'

let world: World

describe('simulator world', () => {
  before(async () => {
    world = await buildWorld()
  })

  it('holds about 412k dataset ranges and 55k gap blocks, built in a few seconds and a few MB', () => {
    const c = world.counts
    assert.ok(c.datasetRows > 400_000 && c.datasetRows < 430_000, `dataset rows ${c.datasetRows}`)
    // ranges: every dataset row, split at /8 boundaries and around special space; LACNIC's split into CIDRs
    assert.ok(c.ranges >= c.datasetRows && c.ranges < c.datasetRows * 1.05, `ranges ${c.ranges}`)
    assert.ok(c.gaps > 50_000 && c.gaps < 60_000, `gap blocks ${c.gaps}`)
    assert.equal(c.networks, c.ranges + c.gaps)
    assert.equal(REGISTRY_IDS.reduce((n, id) => n + c.byRegistry[id], 0), c.networks)
    assert.ok(world.byteSize() < 16 * 2 ** 20, `typed arrays take ${world.byteSize()} bytes`)
    assert.ok(c.buildMs < 10_000, `build took ${c.buildMs} ms`)
  })

  it('is a sorted, disjoint partition of allocated space with nothing in special or reserved space', () => {
    const segments = allowedSegments()
    let s = 0
    let covered = 0
    for (let i = 0; i < world.count; i++) {
      const start = world.start[i]
      const end = world.end[i]
      assert.ok(start <= end, `network ${i} starts after it ends`)
      if (i > 0) assert.ok(start > world.end[i - 1], `network ${i} (${formatIPv4(start)}) overlaps or is out of order`)
      assert.equal(start >>> 24, end >>> 24, `network ${i} (${formatIPv4(start)}) crosses a /8 boundary`)
      assert.notEqual(slashEightOf(start).status, 'RESERVED', `network ${i} (${formatIPv4(start)}) is in a reserved /8`)
      for (const b of SPECIAL_PURPOSE_BLOCKS) {
        assert.ok(end < b.start || start > b.end, `network ${formatIPv4(start)} - ${formatIPv4(end)} overlaps ${b.cidr}`)
      }
      while (segments[s][1] < start) s++
      assert.ok(start >= segments[s][0] && end <= segments[s][1], `network ${formatIPv4(start)} is outside allocated space`)
      covered += end - start + 1
    }
    // …and it covers all of it: gaps fill everything between ranges
    const allocated = segments.reduce((n, [a, b]) => n + b - a + 1, 0)
    assert.equal(covered, allocated)
  })

  it('never puts two gap blocks side by side (one block per gap, split only at /8s and special space)', () => {
    for (let i = 1; i < world.count; i++) {
      if (!world.isGap(i) || !world.isGap(i - 1)) continue
      const adjacent = world.start[i] === world.end[i - 1] + 1 && (world.start[i] >>> 24) === (world.end[i - 1] >>> 24)
      // LACNIC gaps are split into CIDR blocks, as LACNIC registers only CIDRs
      if (adjacent) assert.equal(world.ownerOf(i), 'lacnic', `gap blocks ${i - 1} and ${i} (${formatIPv4(world.start[i])}) touch`)
    }
  })

  it('transfers legacy ranges to the RIR of their country and about 3% of the others', () => {
    const c = world.counts
    assert.ok(c.legacyTransferred > 1000, `legacy transfers ${c.legacyTransferred}`)
    const other = c.transferred - c.legacyTransferred
    let nonLegacyRanges = 0
    for (let i = 0; i < world.count; i++) if (!world.isGap(i) && slashEightOf(world.start[i]).status !== 'LEGACY') nonLegacyRanges++
    const share = other / nonLegacyRanges
    assert.ok(share > 0.02 && share < 0.045, `non-legacy transfer share ${share}`)
    // 137.158.0.0/16 (University of Cape Town) sits in ARIN's legacy 137/8 and is AFRINIC's, as in reality
    const i = world.find(parseCidr('137.158.0.0/16').start)
    assert.ok(i >= 0)
    assert.equal(world.administratorOf(i), 'arin')
    assert.equal(world.ownerOf(i), 'afrinic')
    // gap blocks are never transferred
    for (let j = 0; j < world.count; j++) {
      if (world.isGap(j)) assert.equal(world.ownerOf(j), world.administratorOf(j), `gap ${formatIPv4(world.start[j])} is transferred`)
    }
  })

  it('gives LACNIC only CIDR blocks and finds the network holding any address', () => {
    for (let i = 0; i < world.count; i++) {
      if (world.ownerOf(i) === 'lacnic') assert.equal(cidrBlocks(world.start[i], world.end[i]).length, 2, `LACNIC network ${formatIPv4(world.start[i])} is no CIDR`)
    }
    for (let i = 0; i < world.count; i += 997) {
      const mid = world.start[i] + Math.floor((world.end[i] - world.start[i]) / 2)
      assert.equal(world.find(mid), i, `address ${formatIPv4(mid)}`)
    }
    assert.equal(world.find(parseCidr('10.1.2.3/32').start), -1)
    assert.equal(world.find(parseCidr('192.168.1.1/32').start), -1)
    assert.equal(world.find(parseCidr('100.64.0.1/32').start), -1)
    assert.equal(world.find(parseCidr('240.0.0.1/32').start), -1)
  })

  it('describes networks in each owner\'s handle style', () => {
    const seen = new Set<string>()
    for (let i = 0; i < world.count && seen.size < 10; i += 101) {
      const n = describeNetwork(world, i)
      const key = `${n.registry}-${n.gap}`
      if (seen.has(key)) continue
      seen.add(key)
      const where = `${key} ${formatIPv4(n.start)}`
      switch (n.registry) {
        case 'arin': assert.match(n.handle, /^NET-\d+-\d+-\d+-\d+-[01]$/, where); break
        case 'lacnic': assert.equal(n.handle, `${formatIPv4(n.start)}/${n.blocks[0][1]}`, where); assert.equal(n.name, '', where); break
        default: assert.equal(n.handle, `${formatIPv4(n.start)} - ${formatIPv4(n.end)}`, where)
      }
      assert.match(n.country, /^[A-Z]{2}$/, where)
      assert.notEqual(n.org, '', where)
      if (n.registry !== 'lacnic') assert.match(n.name, /^[A-Z0-9-]+$/, where)
    }
    assert.equal(abbreviatedCidr(parseCidr('200.57.128.0/19').start, 19), '200.57.128/19')
    assert.equal(abbreviatedCidr(parseCidr('10.0.0.0/8').start, 8), '10/8')
    assert.equal(abbreviatedCidr(parseCidr('177.0.0.0/14').start, 14), '177.0/14')
  })

  it('builds the same world every time', () => {
    const asn = parseAsnCsv('16777216,16777471,13335,"Cloudflare, Inc."\n16778240,16779263,38803,"LLC ""Q"""\n')
    const cc = parseCountryCsv('16777216,16777471,AU\n16778240,16779263,AU\n')
    assert.deepEqual(asn.orgs, ['Cloudflare, Inc.', 'LLC "Q"'])
    const a = buildWorldFrom(asn, cc)
    const b = buildWorldFrom(asn, cc)
    assert.deepEqual([...a.start], [...b.start])
    assert.deepEqual([...a.owner], [...b.owner])
    // 1.0.0.0/24 → range; then a gap; then the second range; then the rest of 1/8 is one gap
    assert.deepEqual([...a.start.subarray(0, 4)].map(formatIPv4), ['1.0.0.0', '1.0.1.0', '1.0.4.0', '1.0.8.0'])
    assert.equal(a.counts.ranges, 2)
    // every allocated /8 but 1/8 is one gap block (minus special-purpose splits)
    const allocated = slashEights().filter(r => r.status !== 'RESERVED').length
    assert.ok(a.counts.gaps >= allocated + 1, `gaps ${a.counts.gaps}`)
  })
})
