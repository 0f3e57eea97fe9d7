/**
 * Ownership split per registry where the crawlers hold different dumps (src/fleet/dump-ownership.ts):
 * a registry's addresses go only to the crawlers without its dump, the rest as before, and every
 * crawler, with the dump or without, computes the same owners.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DumpAwareOwnership } from '../../src/fleet/dump-ownership.js'
import { Ownership } from '../../src/fleet/ownership.js'
import type { RegistryId } from '../../src/registry/interface.js'

const A = '12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const B = '12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
const C = '12D3KooWCccccccccccccccccccccccccccccccccccccccccccc'
const peers = [A, B, C]

/** addresses below 128.0.0.0 are "ripe", the others "arin" (a stand-in for the delegation files) */
const registryOf = (a: number): RegistryId => a < 2 ** 31 ? 'ripe' : 'arin'

function view (self: string, holders: Record<string, RegistryId[]>): DumpAwareOwnership {
  const o = new DumpAwareOwnership(new Ownership({ prefixLength: 12 }), registryOf)
  o.setPeers(peers, self, id => new Set(holders[id] ?? []))
  return o
}

/** one address per /12 block */
const blocks = Array.from({ length: 4096 }, (_, k) => k * 2 ** 20)

test('a registry\'s addresses go only to the crawlers without its dump, and they agree on the owners', () => {
  const holders = { [A]: ['ripe'] as RegistryId[] }
  const b = view(B, holders)
  const c = view(C, holders)
  const ripe = blocks.filter(a => registryOf(a) === 'ripe')
  const arin = blocks.filter(a => registryOf(a) === 'arin')
  for (const a of ripe) {
    assert.equal(b.ownerOf(a), c.ownerOf(a))
    assert.notEqual(b.ownerOf(a), A, 'a holder of the dump owns its registry\'s address')
    assert.equal(b.isMine(a) !== c.isMine(a), true, 'exactly one of B and C owns each ripe block')
  }
  assert.deepEqual(b.splitRegistries, ['ripe'])
  // the other registry: all three, as without dumps; the holder's own view agrees there
  const a = view(A, holders)
  const plain = new Ownership({ prefixLength: 12 })
  plain.setPeers(peers, B)
  for (const x of arin) {
    assert.equal(b.ownerOf(x), plain.ownerOf(x))
    assert.equal(a.ownerOf(x), plain.ownerOf(x))
  }
  assert.ok(arin.some(x => b.ownerOf(x) === A), 'A owns none of the other registry\'s blocks')
  // the holder sees the same owners and owns none of its registry's addresses (those its dump
  // does not hold, transferred since, are asked once, by B or C)
  assert.deepEqual(a.splitRegistries, ['ripe'])
  for (const x of ripe) {
    assert.equal(a.ownerOf(x), b.ownerOf(x))
    assert.equal(a.isMine(x), false)
  }
})

test('when every crawler holds the dump, or none does, nothing is split; dropping a dump merges again', () => {
  assert.deepEqual(view(B, { [A]: ['ripe'], [B]: ['ripe'], [C]: ['ripe'] }).splitRegistries, [])
  assert.deepEqual(view(B, {}).splitRegistries, [])
  const o = new DumpAwareOwnership(new Ownership({ prefixLength: 12 }), registryOf)
  assert.equal(o.setPeers(peers, B, id => new Set(id === A ? ['ripe'] : [])), true)
  assert.equal(o.setPeers(peers, B, id => new Set(id === A ? ['ripe'] : [])), false, 'the same holders again: no change')
  assert.equal(o.setPeers(peers, B, () => new Set()), true, 'A dropped its dump: owners change')
  assert.deepEqual(o.splitRegistries, [])
  assert.ok(blocks.some(a => registryOf(a) === 'ripe' && o.ownerOf(a) === A))
})
