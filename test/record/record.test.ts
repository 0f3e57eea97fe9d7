import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  InvalidRecordError, canonicalFailure, canonicalNegative, canonicalNetwork, decodeValue, encodeRecord, encodeValue,
  isCanonical, recordWork
} from '../../src/record/index.js'
import { encodeMessage, encodeNetsMessage } from '../../src/mesh/messages.js'
import { neg, net } from '../store/helpers/records.js'

test('a canonical record is rebuilt once: canonicalising it again returns the same frozen object', () => {
  const before = recordWork.canonicalised
  const r = canonicalNetwork({ extra: 'dropped', ...net('8.8.8.0', '8.8.8.255') })
  assert.equal(recordWork.canonicalised - before, 1)
  assert.equal(canonicalNetwork(r), r)
  assert.equal(recordWork.canonicalised - before, 1, 'the second call rebuilt nothing')
  assert.ok(Object.isFrozen(r) && Object.isFrozen(r.cidrs))
  assert.equal('extra' in r, false)
  assert.throws(() => { (r as any).name = 'changed' }, TypeError)
  assert.throws(() => { r.cidrs.push('1.0.0.0/8') }, TypeError)
})

test('a copy of a canonical record is checked again, and a record of one kind is not canonical as another', () => {
  const r = canonicalNetwork(net('8.8.8.0', '8.8.8.255'))
  const copy = { ...r, end: 'x' }
  assert.equal(isCanonical(copy, 'network'), false)
  assert.throws(() => canonicalNetwork(copy), (e: unknown) => e instanceof InvalidRecordError && e.field === 'network.end')
  assert.throws(() => canonicalNegative(r), InvalidRecordError)
  assert.throws(() => canonicalFailure(canonicalNegative(neg('8.8.8.1'))), InvalidRecordError)
})

test('a canonical record is encoded once, to the bytes encodeValue gives', () => {
  const r = canonicalNetwork(net('8.8.8.0', '8.8.8.255'))
  const before = recordWork.encoded
  const bytes = encodeRecord(r)
  assert.equal(encodeRecord(r), bytes)
  assert.equal(recordWork.encoded - before, 1)
  assert.deepEqual(bytes, encodeValue(r))
  assert.deepEqual(decodeValue(bytes), { ...r })
})

test('a nets message spliced from record encodings is byte for byte the encoded message', () => {
  const long = 'ÿ'.repeat(200) + '網絡'.repeat(40)
  for (const [nNets, nNegs] of [[0, 0], [1, 0], [0, 1], [15, 16], [16, 15], [300, 2], [2, 70_000]]) {
    const networks = Array.from({ length: nNets }, (_, i) => canonicalNetwork(net(0x08000000 + i * 256, 0x08000000 + i * 256 + 255, { name: i % 2 === 0 ? long : `N${i}`, org: 'x'.repeat(i % 300) })))
    const negatives = Array.from({ length: nNegs }, (_, i) => canonicalNegative(neg(0x09000000 + i, { fetchedAt: 1_700_000_000_000 + i * 7919 })))
    assert.deepEqual(encodeNetsMessage(networks, negatives), Buffer.from(encodeMessage({ networks, negatives })), `${nNets} networks, ${nNegs} negatives`)
  }
})

test('a record\'s author is kept in the canonical form when given, absent from it (and from its bytes) when not, and must be a peer id', () => {
  const author = '12D3KooWRecordAuthorDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD'
  const plain = canonicalNetwork(net('8.8.8.0', '8.8.8.255'))
  assert.equal('author' in plain, false)
  const signed = canonicalNetwork({ ...net('8.8.8.0', '8.8.8.255'), author })
  assert.equal(signed.author, author)
  assert.deepEqual(Object.keys(signed).slice(-1), ['author'], 'the author comes last in canonical order')
  assert.equal('author' in (decodeValue(encodeRecord(plain)) as object), false, 'a record without an author encodes as before provenance')
  assert.deepEqual(decodeValue(encodeRecord(signed)), { ...signed })
  assert.equal(canonicalNegative({ ...neg('8.8.8.1'), author }).author, author)
  for (const bad of ['', 'x', 'peer id with spaces', '0OIl'.repeat(5), 'A'.repeat(129), 42]) {
    assert.throws(() => canonicalNetwork({ ...net('8.8.8.0', '8.8.8.255'), author: bad }), (e: unknown) => e instanceof InvalidRecordError && e.field === 'network.author', String(bad))
    assert.throws(() => canonicalNegative({ ...neg('8.8.8.1'), author: bad }), (e: unknown) => e instanceof InvalidRecordError && e.field === 'negative.author', String(bad))
  }
})
