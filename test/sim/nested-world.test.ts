import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { parseDelegations } from '../../src/registry/delegations.js'
import { formatIPv4, parseIPv4 } from '../../src/util/ipv4.js'
import { parseRdapNetwork } from '../../src/lookup/rdap-parser.js'
import { parseWhoisAnswer } from '../../src/lookup/whois-parser.js'
import { whoisQuery } from '../../src/lookup/whois-client.js'
import {
  describeNetwork, describeNode, NestedWorld, resolveSimulatorOptions, startSimulator, truthFor, type Simulator, type TreeNode, type Truth
} from '../../src/sim/index.js'
import { TYPE_WORDS } from '../../src/sim/nested-records.js'
import { prngFloat } from '../../src/util/prng.js'
import { buildWorld, type World } from '../../src/sim/world.js'
import { whois } from '../helpers/whois.js'

let world: World
let nested: NestedWorld
let sim: Simulator

/** Every `step`-th allocation of each registry, up to `per` each: a spread sample of the tree. */
function sampleAllocations (nw: NestedWorld, per: number): number[] {
  const out: number[] = []
  for (const id of REGISTRY_IDS) {
    const mine: number[] = []
    for (let a = 0; a < nw.count; a++) if (nw.ownerOf(a) === id) mine.push(a)
    const step = Math.max(1, Math.floor(mine.length / per))
    for (let k = 0; k < mine.length && out.length < (REGISTRY_IDS.indexOf(id) + 1) * per; k += step) out.push(mine[k])
  }
  return out
}

/** Allocations whose tree goes at least `depth` levels below the allocation (found by a bounded walk). */
function deepAddresses (nw: NestedWorld, registry: RegistryId, depth: number, want: number): number[] {
  const out: number[] = []
  for (let a = 0; a < nw.count && out.length < want; a += 7) {
    if (nw.ownerOf(a) !== registry) continue
    let node: TreeNode = nw.allocationNode(a)
    let kids = nw.childrenOf(node)
    while (kids.length > 0 && node.depth < depth) {
      node = kids[Math.floor(kids.length / 2)]
      kids = nw.childrenOf(node)
    }
    if (node.depth >= depth) out.push(node.start + Math.floor((node.end - node.start) / 2))
  }
  return out
}

async function truthOf (s: Simulator, ip: string): Promise<{ status: number, body: any }> {
  const res = await fetch(`${s.statsUrl.replace(/\/stats$/, '')}/truth?ip=${ip}`)
  return { status: res.status, body: await res.json() }
}

describe('nested world', () => {
  before(async () => {
    world = await buildWorld()
    nested = new NestedWorld(world, 0x5eed)
    sim = await startSimulator({ budgetPerSecond: 'all=1000000', world: 'nested' }, { nested })
  })
  after(async () => {
    await sim.close()
  })

  it('has RIR-level allocations near the delegated files\' counts, built fast, covering the flat world exactly', () => {
    const c = nested.counts
    assert.ok(c.byRegistry.arin > 60_000 && c.byRegistry.arin < 95_000, `arin ${c.byRegistry.arin}`)
    assert.ok(c.byRegistry.ripe > 70_000 && c.byRegistry.ripe < 95_000, `ripe ${c.byRegistry.ripe}`)
    assert.ok(c.byRegistry.apnic > 40_000 && c.byRegistry.apnic < 60_000, `apnic ${c.byRegistry.apnic}`)
    assert.ok(c.buildMs < 2_000, `allocations built in ${c.buildMs} ms`)
    let covered = 0
    for (let a = 0; a < nested.count; a++) {
      if (a > 0) assert.ok(nested.start[a] > nested.end[a - 1], `allocation ${a} overlaps the one before`)
      assert.equal(nested.start[a], world.start[nested.first[a]])
      assert.equal(nested.end[a], world.end[nested.last[a]])
      covered += nested.end[a] - nested.start[a] + 1
      if (nested.ownerOf(a) === 'lacnic') {
        const size = nested.end[a] - nested.start[a] + 1
        assert.ok((size & (size - 1)) === 0 && nested.start[a] % size === 0, `LACNIC allocation ${formatIPv4(nested.start[a])} is no CIDR`)
      }
    }
    let flat = 0
    for (let i = 0; i < world.count; i++) flat += world.end[i] - world.start[i] + 1
    assert.equal(covered, flat)
  })

  it('is a tree on a sample: children strictly inside, siblings disjoint, leaves childless, type words per level', () => {
    let networks = 0
    let leaves = 0
    let nonCidr = 0
    const depths = new Set<number>()
    for (const a of sampleAllocations(nested, 60)) {
      const registry = nested.ownerOf(a)
      nested.forEachNetwork(node => {
        networks++
        depths.add(node.depth)
        const kids = nested.childrenOf(node, false)
        if (!node.container) { leaves++; assert.equal(kids.length, 0, `leaf ${formatIPv4(node.start)} has children`) }
        for (let k = 0; k < kids.length; k++) {
          const c = kids[k]
          assert.ok(c.start >= node.start && c.end <= node.end && c.end - c.start < node.end - node.start, `child ${formatIPv4(c.start)} not strictly inside ${formatIPv4(node.start)}`)
          if (k > 0) assert.ok(c.start > kids[k - 1].end, `siblings ${formatIPv4(kids[k - 1].start)} and ${formatIPv4(c.start)} overlap`)
          assert.equal(c.depth, node.depth + 1)
        }
        const size = node.end - node.start + 1
        if ((size & (size - 1)) !== 0 || node.start % size !== 0) {
          nonCidr++
          assert.notEqual(registry, 'lacnic', `LACNIC network ${formatIPv4(node.start)} is no CIDR`)
        }
        const d = describeNode(nested, node)
        const words = TYPE_WORDS[registry]
        const allowed = [words.allocation, words.allocationLeaf, words.sub, words.leaf, words.unassigned].map(w => w[0])
        if (d.type !== 'LEGACY') assert.ok(allowed.includes(d.type), `${d.type} for ${registry}`)
        if (node.level === 'leaf' && d.type !== 'LEGACY') assert.equal(d.type, words.leaf[0])
        assert.equal(d.leaf, !node.container && d.type !== 'LEGACY')
        if (node.level === 'sub' && d.type !== 'LEGACY') assert.equal(d.type, words.sub[0])
        if (node.parent !== undefined) assert.equal(d.parentHandle, describeNode(nested, node.parent).handle)
      }, [a])
    }
    assert.ok(networks > 5_000, `${networks} networks in the sample`)
    assert.ok(leaves > networks / 2, `${leaves} leaves of ${networks}`)
    assert.ok(Math.max(...depths) >= 3, `deepest level ${Math.max(...depths)}`)
    assert.ok(nonCidr > 0, 'some RPSL ranges are not one CIDR block')
  })

  it('gives every address one most specific network: the smallest of the networks that hold it', () => {
    const rand = prngFloat(12)
    for (const a of sampleAllocations(nested, 20)) {
      const all: TreeNode[] = []
      nested.forEachNetwork(n => all.push(n), [a])
      for (let k = 0; k < 20; k++) {
        const address = nested.start[a] + Math.floor(rand() * (nested.end[a] - nested.start[a] + 1))
        const holding = all.filter(n => n.start <= address && address <= n.end).sort((x, y) => x.depth - y.depth)
        // nested: each holds the next, one per depth
        for (let i = 1; i < holding.length; i++) {
          assert.equal(holding[i].depth, holding[i - 1].depth + 1, `two networks at one depth hold ${formatIPv4(address)}`)
          assert.ok(holding[i].start >= holding[i - 1].start && holding[i].end <= holding[i - 1].end)
        }
        const chain = nested.chainAt(address)!
        assert.deepEqual(chain.map(n => [n.start, n.end, n.depth]), holding.map(n => [n.start, n.end, n.depth]), formatIPv4(address))
      }
    }
  })

  it('is deterministic: the same seed gives the same networks, another seed others', () => {
    const again = new NestedWorld(world, 0x5eed)
    const other = new NestedWorld(world, 0x5eee)
    const picked = sampleAllocations(nested, 10)
    const list = (nw: NestedWorld): string[] => {
      const out: string[] = []
      nw.forEachNetwork(n => { const d = describeNode(nw, n); out.push(`${d.handle}|${d.type}|${d.parentHandle}|${d.org}`) }, picked.filter(a => a < nw.count))
      return out
    }
    assert.deepEqual(Array.from(again.start), Array.from(nested.start))
    assert.deepEqual(list(again), list(nested))
    assert.notDeepEqual(list(other), list(nested))
  })

  it('answers RDAP and WHOIS with the network /truth names, for random addresses of every RIR', async () => {
    const rand = prngFloat(7)
    const addresses: number[] = []
    for (const id of REGISTRY_IDS) {
      addresses.push(...deepAddresses(nested, id, 2, 6))
      for (let k = 0; k < 6; k++) {
        const a = Math.floor(rand() * nested.count)
        addresses.push(nested.start[a] + Math.floor(rand() * (nested.end[a] - nested.start[a] + 1)))
      }
    }
    const leafRegistries = new Set<string>()
    for (const address of addresses) {
      const ip = formatIPv4(address)
      const t = await truthOf(sim, ip)
      assert.equal(t.status, 200, ip)
      const truth = t.body as Truth
      assert.deepEqual(truth, truthFor(nested, address))
      if (truth.leaf) leafRegistries.add(truth.registry)
      const chain = nested.chainAt(address)!
      const expected = describeNode(nested, chain[chain.length - 1])
      const where = `${truth.registry} ${truth.handle} at ${ip}`

      const res = await fetch(`${sim.endpoints[truth.registry].rdapBaseUrl}ip/${ip}`, { redirect: 'manual' })
      assert.equal(res.status, 200, where)
      const text = await res.text()
      const body = JSON.parse(text)
      assert.deepEqual(body.status, ['active'])
      assert.equal(body.type, expected.type, where)
      assert.equal(body.parentHandle ?? '', expected.parentHandle, where)
      const fromRdap = parseRdapNetwork(body, truth.registry, address, text.length)
      assert.deepEqual([formatIPv4(fromRdap.start), formatIPv4(fromRdap.end), fromRdap.handle], [truth.start, truth.end, truth.handle], `RDAP ${where}`)

      const w = await whois(sim.endpoints[truth.registry].whoisPort, whoisQuery(truth.registry, address))
      assert.equal(w.error, undefined, where)
      const answer = parseWhoisAnswer(w.text, truth.registry, address)
      assert.equal(answer.kind, 'network', `WHOIS ${where}`)
      if (answer.kind === 'network') {
        assert.deepEqual([formatIPv4(answer.network.start), formatIPv4(answer.network.end), answer.network.handle], [truth.start, truth.end, truth.handle], `WHOIS ${where}`)
        assert.equal(answer.network.name, expected.name, where)
      }
      if (truth.registry !== 'arin' && truth.registry !== 'lacnic') assert.match(w.text, new RegExp(`^status: +${expected.whoisType}$`, 'm'))
      if (truth.registry === 'lacnic' && chain.length > 1) assert.match(w.text, new RegExp(`^inetnum-up: +${expected.parentHandle.replace(/[./]/g, '\\$&')}\\r$`, 'm'))
    }
    assert.deepEqual([...leafRegistries].sort(), [...REGISTRY_IDS].sort(), 'a leaf answered at every RIR')
  })

  it('lists ARIN\'s chain for `n + <ip>` from the allocation down, and the parser takes the most specific', async () => {
    const [address] = deepAddresses(nested, 'arin', 3, 1)
    assert.ok(address !== undefined, 'an ARIN address three levels deep')
    const chain = nested.chainAt(address)!.map(n => describeNode(nested, n))
    const w = await whois(sim.endpoints.arin.whoisPort, whoisQuery('arin', address))
    assert.equal(w.text.match(/^# start$/gm)?.length, chain.length)
    assert.equal(w.text.match(/^# end$/gm)?.length, chain.length)
    const handles = [...w.text.matchAll(/^NetHandle: +(\S+)$/gm)].map(m => m[1])
    assert.deepEqual(handles, chain.map(n => n.handle))
    const types = [...w.text.matchAll(/^NetType: +(.+)$/gm)].map(m => m[1])
    assert.equal(types[0], 'Direct Allocation')
    assert.ok(types.slice(1, -1).every(t => t === 'Reallocated'), types.join(', '))
    const parents = [...w.text.matchAll(/^Parent: +.*\((\S*)\)$/gm)].map(m => m[1])
    assert.deepEqual(parents.slice(1), chain.slice(0, -1).map(n => n.handle))
    const answer = parseWhoisAnswer(w.text, 'arin', address)
    assert.equal(answer.kind, 'network')
    if (answer.kind === 'network') assert.equal(answer.network.handle, chain[chain.length - 1].handle)
  })

  it('publishes only RIR-level allocations in the delegation files', async () => {
    const subs: Array<[number, number]> = []
    for (const a of sampleAllocations(nested, 5)) nested.forEachNetwork(n => { if (n.depth > 0) subs.push([n.start, n.end - n.start + 1]) }, [a])
    assert.ok(subs.length > 100)
    for (const id of REGISTRY_IDS) {
      const res = await fetch(sim.registriesFile.registries[id].delegations!)
      const { entries, malformed } = parseDelegations(await res.text())
      assert.equal(malformed, 0)
      const mine: Array<[number, number]> = []
      for (let a = 0; a < nested.count; a++) if (nested.ownerOf(a) === id) mine.push([nested.start[a], nested.end[a] - nested.start[a] + 1])
      assert.deepEqual(entries.map(e => [e.start, e.count]), mine, id)
      const listed = new Set(entries.map(e => `${e.start}/${e.count}`))
      for (const [s, count] of subs) assert.ok(!listed.has(`${s}/${count}`), `${formatIPv4(s)} (${count} addresses) is below an allocation but listed by ${id}`)
    }
  })

  it('answers /truth with 404 for special-purpose space and 400 for no address', async () => {
    assert.equal((await truthOf(sim, '10.1.2.3')).status, 404)
    assert.equal((await truthOf(sim, '192.0.2.1')).status, 404)
    assert.equal((await truthOf(sim, 'nope')).status, 400)
    assert.equal(truthFor(nested, parseIPv4('127.0.0.1')), undefined)
  })

  it('is the default world, and keeps the flat one on request, unchanged', async () => {
    assert.equal(resolveSimulatorOptions({}).world, 'nested')
    const flat = await startSimulator({ world: 'flat', budgetPerSecond: 'all=1000000' }, { world })
    try {
      assert.equal(flat.opts.world, 'flat')
      assert.throws(() => resolveSimulatorOptions({ world: 'tree' as any }), /world must be flat or nested/)
      assert.equal(flat.nested, undefined)
      assert.equal(flat.stats().world.kind, undefined)
      const address = world.start[12345] + 1
      const n = describeNetwork(world, world.find(address))
      const t = await truthOf(flat, formatIPv4(address))
      assert.equal(t.status, 200)
      assert.deepEqual([t.body.start, t.body.end, t.body.handle, t.body.registry], [formatIPv4(n.start), formatIPv4(n.end), n.handle, n.registry])
      const text = await (await fetch(flat.registriesFile.registries[n.registry].delegations!)).text()
      assert.doesNotMatch(text, /^# start/m)
    } finally {
      await flat.close()
    }
  })
})
