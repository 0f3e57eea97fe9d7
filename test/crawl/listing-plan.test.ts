/**
 * ListingPlan (src/crawl/listing.ts), driven by hand: which containers are worth listing, and what
 * a listing resolves — the children that hold sample addresses (only those are stored), notes for
 * waiting addresses in no child, and child containers to list next.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ListingPlan, type SampleRanges } from '../../src/crawl/listing.js'
import { sampleSlice } from '../../src/sample/index.js'
import { formatIPv4, parseIPv4, rangeToCidrs } from '../../src/util/ipv4.js'

const ip = parseIPv4

function sampleOf (addresses: number[]): SampleRanges {
  const sorted = [...addresses].sort((a, b) => a - b)
  return {
    forEachIn: (start, end, fn) => {
      for (const a of sorted) if (a >= start && a <= end && fn(a) === false) return
    }
  }
}

function child (start: string, end: string, type: string): { start: number, end: number, registry: 'ripe', handle: string, name: string, org: string, country: string, cidrs: string[], type: string, parentHandle: string, registered: string, lastChanged: string } {
  return { start: ip(start), end: ip(end), registry: 'ripe', handle: `${start} - ${end}`, name: 'N', org: 'O', country: 'NL', cidrs: rangeToCidrs(ip(start), ip(end)), type, parentHandle: '', registered: '', lastChanged: '' }
}

const CONTAINER = { ...child('10.0.0.0', '10.0.255.255', 'ALLOCATED PA'), source: 'rdap' as const, fetchedAt: 1, queryAddress: ip('10.0.7.1') }

test('a listing stores only the children that hold a sample address, notes the waiting addresses in none (a sample that is no slice), and queues crowded child containers', () => {
  const sample = [ip('10.0.1.1'), ip('10.0.2.1'), ip('10.0.2.9'), ip('10.0.3.1'), ip('10.0.9.1')]
  const plan = new ListingPlan(sampleOf(sample), () => false, () => true)
  const [job] = plan.consider(CONTAINER)
  assert.ok(job !== undefined, 'five waiting addresses: worth a listing')
  assert.deepEqual(plan.consider(CONTAINER), [], 'listed once per run')
  const children = [
    child('10.0.1.0', '10.0.1.255', 'ASSIGNED PA'), // holds 10.0.1.1
    child('10.0.2.0', '10.0.2.255', 'SUB-ALLOCATED PA'), // holds two waiting addresses: listed next
    child('10.0.4.0', '10.0.4.255', 'ASSIGNED PA'), // holds no sample address: not stored
    child('10.0.9.0', '10.0.9.7', 'ASSIGNED PA') // 10.0.9.1 lies in it
  ]
  const r = plan.resolve(job, { children, complete: true, source: 'whois' }, 1)
  assert.deepEqual(r.networks.map(n => n.handle), ['10.0.1.0 - 10.0.1.255', '10.0.2.0 - 10.0.2.255', '10.0.9.0 - 10.0.9.7'], 'the container is not marked listed: this sample is no sampleSlice(n)')
  assert.ok(r.networks.every(n => n.queryAddress === 0 && n.source === 'whois' && n.fetchedAt === 1))
  assert.deepEqual(r.notes.map(n => [n.address, n.reason]), [[ip('10.0.3.1'), 'answered']])
  assert.deepEqual(r.next.map(j => [j.start, j.end]), [[ip('10.0.2.0'), ip('10.0.2.255')]])
})

test('a listing cut short stores the children that hold sample addresses and notes nothing', () => {
  const sample = [ip('10.0.1.1'), ip('10.0.3.1')]
  const plan = new ListingPlan(sampleOf(sample), () => false, () => true)
  const [job] = plan.consider(CONTAINER)
  const r = plan.resolve(job, { children: [child('10.0.1.0', '10.0.1.255', 'ASSIGNED PA'), child('10.0.5.0', '10.0.5.255', 'ASSIGNED PA')], complete: false, source: 'rdap' }, 1)
  assert.deepEqual(r.networks.map(n => n.handle), ['10.0.1.0 - 10.0.1.255'])
  assert.deepEqual(r.notes, [])
  assert.deepEqual(r.next, [])
})

test('a container with fewer waiting addresses than minWaiting, a leaf, or one the registry cannot list is not listed', () => {
  const one = new ListingPlan(sampleOf([ip('10.0.1.1')]), () => false, () => true)
  assert.deepEqual(one.consider(CONTAINER), [])
  const exact = new ListingPlan(sampleOf([ip('10.0.1.1'), ip('10.0.2.1')]), () => true, () => true)
  assert.deepEqual(exact.consider(CONTAINER), [], 'every address inside is exact already')
  const two = new ListingPlan(sampleOf([ip('10.0.1.1'), ip('10.0.2.1')]), () => false, () => true)
  assert.deepEqual(two.consider({ ...CONTAINER, type: 'ASSIGNED PA' }), [], 'a leaf has no children')
  assert.deepEqual(new ListingPlan(sampleOf([ip('10.0.1.1'), ip('10.0.2.1')]), () => false, () => false).consider(CONTAINER), [])
  const [job] = two.consider(CONTAINER)
  two.forget(job)
  assert.equal(two.consider(CONTAINER).length, 1, 'a listing that could not be made may be tried again')
})

test('a complete listing for a sample that is sampleSlice(n) marks the container listedSample n instead of noting addresses; a cut one marks nothing', () => {
  // the first 2000 sample addresses, and a container holding several of them
  const slice = sampleSlice(2000)
  const sorted = [...slice].sort((a, b) => a - b)
  const first = sorted[1000]
  const start = (first & 0xff000000) >>> 0
  const container = { ...CONTAINER, ...child(formatIPv4(start), formatIPv4(start + 0xffffff), 'ALLOCATED PA'), queryAddress: first }
  const inside = sorted.filter(a => a >= start && a <= start + 0xffffff)
  assert.ok(inside.length >= 2, 'the slice has addresses inside the container')
  const held = child(formatIPv4(inside[0] - 1), formatIPv4(inside[0] + 6), 'ASSIGNED PA')
  const empty = child(formatIPv4(start + 0xfffffe), formatIPv4(start + 0xfffffe), 'ASSIGNED PA') // .254 holds no sample address
  for (const complete of [true, false]) {
    const plan = new ListingPlan(sampleOf(sorted), () => false, () => true, { sampleSlice: 2000 })
    const [job] = plan.consider(container)
    const r = plan.resolve(job, { children: [held, empty], complete, source: 'rdap' }, 7)
    assert.deepEqual(r.notes, [], 'no per-address notes')
    const marked = r.networks.filter(n => n.listedSample !== undefined)
    if (!complete) {
      assert.deepEqual(marked, [], 'a listing cut short says nothing about the container\'s empty space')
      continue
    }
    assert.deepEqual(r.networks.map(n => n.handle), [held.handle, container.handle])
    assert.equal(marked.length, 1)
    const { listedSample, listedAt, ...rest } = marked[0]
    assert.deepEqual([listedSample, listedAt], [2000, 7])
    assert.deepEqual(rest, container, 'the container\'s record as the crawl had it, fetchedAt and queryAddress kept')
  }
  // a child peers would refuse: the container is not marked (a peer holding the mark without the
  // child would take the container for that child's answer); the waiting addresses get notes
  const refused = new ListingPlan(sampleOf(sorted), () => false, () => true, { sampleSlice: 2000, shareable: n => n.handle !== held.handle })
  const r = refused.resolve(refused.consider(container)[0], { children: [held, empty], complete: true, source: 'rdap' }, 7)
  assert.deepEqual(r.networks.map(n => [n.handle, n.listedSample]), [[held.handle, undefined]])
  assert.deepEqual(r.notes.map(n => n.address), inside.filter(a => a < held.start || a > held.end))
})
