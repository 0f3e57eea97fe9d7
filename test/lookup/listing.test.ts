/**
 * Listing a container's children (lookup/listing.ts ↔ sim/listing.ts), over real sockets against
 * the simulator's nested world: RIPE NCC, APNIC and AFRINIC answer WHOIS `-r -m -T inetnum <range>`
 * with the first-level more specific inetnums; ARIN answers RDAP `rirSearch1/rdap-down/<prefix>`
 * with at most RDAP_SEARCH_MAX_RESULTS children and a truncation notice beyond; LACNIC lists
 * nothing. Each listing is one request against the registry's budget. The children the client
 * reads are exactly the world's.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { RegistryClient, canList, parseRpslListing } from '../../src/lookup/index.js'
import { buildWorld } from '../../src/sim/world.js'
import { NestedWorld, startSimulator, type Simulator, type TreeNode } from '../../src/sim/index.js'
import { RDAP_SEARCH_MAX_RESULTS } from '../../src/sim/listing.js'
import { formatIPv4 } from '../../src/util/ipv4.js'

let nested: NestedWorld
let sim: Simulator
let client: RegistryClient
let requests = 0

/** A container of `registry` whose child count passes `ok` (CIDR-aligned when `cidr`). */
function findContainer (registry: RegistryId, ok: (kids: number) => boolean, cidr = false): { node: TreeNode, kids: TreeNode[] } {
  for (let a = 0; a < nested.count; a += 3) {
    if (nested.ownerOf(a) !== registry) continue
    const stack: TreeNode[] = [nested.allocationNode(a)]
    while (stack.length > 0) {
      const node = stack.pop()!
      const kids = nested.childrenOf(node, false)
      const size = node.end - node.start + 1
      const aligned = (size & (size - 1)) === 0 && node.start % size === 0
      if (kids.length > 0 && ok(kids.length) && (!cidr || aligned)) return { node, kids }
      if (node.depth < 2) stack.push(...kids.filter(k => k.container))
    }
  }
  throw new Error(`no ${registry} container found`)
}

const ranges = (xs: Array<{ start: number, end: number }>): string[] => xs.map(x => `${formatIPv4(x.start)} - ${formatIPv4(x.end)}`)

describe('listing a container\'s children', () => {
  before(async () => {
    nested = new NestedWorld(await buildWorld(), 0x5eed)
    sim = await startSimulator({ budgetPerSecond: 'all=1000000', world: 'nested' }, { nested })
    client = new RegistryClient({ endpoints: sim.endpoints, timeoutMs: 10_000 }, { gate: { acquire: async () => { requests++ } } })
  })
  after(async () => {
    await client.close()
    await sim.close()
  })

  for (const registry of ['ripe', 'apnic', 'afrinic'] as const) {
    it(`${registry}: WHOIS -m lists exactly the first-level children, with their status words, in one request`, async () => {
      const { node, kids } = findContainer(registry, n => n >= 2 && n <= 400)
      const before = requests
      const listing = await client.listChildren(node, registry)
      assert.equal(requests - before, 1)
      assert.equal(listing.complete, true)
      assert.equal(listing.source, 'whois')
      assert.deepEqual(ranges(listing.children), ranges(kids))
      assert.ok(listing.children.every(c => c.registry === registry && c.type !== '' && c.name !== ''), JSON.stringify(listing.children[0]))
    })
  }

  it('ripe: a container without children answers "no entries found": an empty, complete listing', async () => {
    const { node, kids } = findContainer('ripe', n => n >= 1)
    const leaf = kids.find(k => !k.container) ?? kids[0]
    const listing = await client.listChildren(leaf, 'ripe')
    assert.deepEqual(listing, { children: [], complete: true, source: 'whois' })
    assert.ok(node.end >= leaf.end)
  })

  it('arin: RDAP rdap-down lists the children of a CIDR container; beyond the cap the set is marked truncated', async () => {
    const small = findContainer('arin', n => n >= 2 && n <= RDAP_SEARCH_MAX_RESULTS, true)
    const listing = await client.listChildren(small.node, 'arin')
    assert.equal(listing.complete, true)
    assert.equal(listing.source, 'rdap')
    assert.deepEqual(ranges(listing.children), ranges(small.kids))

    const big = findContainer('arin', n => n > RDAP_SEARCH_MAX_RESULTS, true)
    const cut = await client.listChildren(big.node, 'arin')
    assert.equal(cut.complete, false, 'a truncated result set is not a complete listing')
    assert.equal(cut.children.length, RDAP_SEARCH_MAX_RESULTS)
    assert.deepEqual(ranges(cut.children), ranges(big.kids.slice(0, RDAP_SEARCH_MAX_RESULTS)))
  })

  it('arin: a prefix that is no registered network is answered as RIPE\'s server answers it — below the network holding it, the children inside it, and inside a child crossing its edge, that child\'s children', async () => {
    // a container child K with children whose start is no edge of a larger block: the smallest
    // CIDR block holding K.start - 1 and K.start crosses K's edge and stays inside K's parent
    let found: { parent: TreeNode, k: TreeNode, block: { start: number, end: number } } | undefined
    for (let a = 0; a < nested.count && found === undefined; a += 7) {
      if (nested.ownerOf(a) !== 'arin') continue
      const parent = nested.allocationNode(a)
      for (const k of nested.childrenOf(parent, false)) {
        if (!k.container || k.start === parent.start || nested.childrenOf(k, false).length < 2) continue
        let size = 2
        while ((k.start - 1) - ((k.start - 1) % size) + size - 1 < k.start) size *= 2
        const start = (k.start - 1) - ((k.start - 1) % size)
        const block = { start, end: start + size - 1 }
        if (block.start >= parent.start && block.end <= parent.end && block.end < k.end && nested.childrenOf(k, false).some(g => g.end <= block.end)) { found = { parent, k, block }; break }
      }
    }
    assert.ok(found !== undefined, 'no such child in the world')
    const { parent, k, block } = found
    const listing = await client.listChildren(block, 'arin')
    const inK = nested.childrenOf(k, false).filter(g => g.end <= block.end)
    const direct = nested.childrenOf(parent, false).filter(c => c.start >= block.start && c.end <= block.end)
    assert.deepEqual(ranges(listing.children).sort(), ranges([...direct, ...inK]).sort())
    assert.ok(!listing.children.some(c => c.start === k.start), 'the crossing child itself is not listed')
  })

  it('only what a registry offers is asked: LACNIC never, ARIN only for a CIDR block', () => {
    assert.equal(canList('lacnic', { start: 0xc8000000, end: 0xc80000ff }), false)
    assert.equal(canList('arin', { start: 0x08000000, end: 0x08000002 }), false)
    assert.equal(canList('arin', { start: 0x08000000, end: 0x080000ff }), true)
    for (const id of REGISTRY_IDS) if (id !== 'lacnic' && id !== 'arin') assert.equal(canList(id, { start: 1, end: 5 }), true)
  })

  it('the simulator counts each listing against the registry\'s stats', () => {
    const s = sim.stats()
    assert.ok(s.registries.ripe.listings >= 2 && s.registries.arin.listings >= 2, JSON.stringify(s.registries.ripe))
  })
})

describe('reading a listing', () => {
  it('refusals are rate limits, a cut answer is transient, garbage is malformed', () => {
    const c = { start: 0xc1000000, end: 0xc100ffff }
    assert.throws(() => parseRpslListing('%ERROR:201: access denied for 127.0.0.1\n%\n% Sorry, access from your host has been temporarily denied.\n\n', 'ripe', c), { name: 'RateLimitedError' })
    assert.throws(() => parseRpslListing('inetnum:        193.0.4.0 - 193.0.4.255\nnetname:  X', 'ripe', c), { name: 'TransientLookupError' })
    assert.throws(() => parseRpslListing('hello\n\n', 'ripe', c), { name: 'MalformedResponseError' })
    assert.throws(() => parseRpslListing('inetnum:        10.0.0.0 - 10.0.0.255\nnetname:        X\nstatus:         ASSIGNED PA\n\n', 'ripe', c), { name: 'MalformedResponseError' }, 'a network outside the container')
  })

  it('keeps the first level only when a server sends deeper networks too', () => {
    const text = [
      'inetnum:        193.0.4.0 - 193.0.7.255', 'netname:        SUB', 'status:         SUB-ALLOCATED PA', '',
      'inetnum:        193.0.5.0 - 193.0.5.255', 'netname:        DEEP', 'status:         ASSIGNED PA', '',
      'inetnum:        193.0.9.0 - 193.0.9.127', 'netname:        LEAF', 'status:         ASSIGNED PA', '', ''
    ].join('\n')
    const l = parseRpslListing(text, 'ripe', { start: 0xc1000000, end: 0xc100ffff })
    assert.deepEqual(l.children.map(c => c.name), ['SUB', 'LEAF'])
  })
})
