/**
 * Private networks: real libp2p nodes on 127.0.0.1. Peers with the same swarm key connect and
 * talk; a peer without it, or with another key, cannot connect either way.
 */
import '../../src/util/polyfill.js'
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { generateSwarmKey, parseSwarmKey, swarmProtector } from '../../src/mesh/swarm-key.js'

const libp2ps: MeshLibp2p[] = []
after(async () => { for (const l of libp2ps) await Promise.resolve(l.stop()).catch(() => {}) })

async function start (swarmKey?: Uint8Array): Promise<MeshLibp2p> {
  const l = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], swarmKey })
  libp2ps.push(l)
  return l
}

test('a swarm key parses from the file format; anything else is a user error naming the file', () => {
  const text = generateSwarmKey()
  assert.match(text, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
  assert.equal(parseSwarmKey(text, 'k').length, 95)
  assert.deepEqual(parseSwarmKey(text.replace(/\n/g, '\r\n'), 'k'), parseSwarmKey(text, 'k'))
  for (const bad of ['', 'hello', text.replace('/base16/', '/base64/'), text.slice(0, -5), text.replace('1.0.0', '2.0.0')]) {
    assert.throws(() => parseSwarmKey(bad, 'the swarm key /x'), (e: any) => e.name === 'UserError' && e.message.includes('/x'))
  }
})

test('only peers holding the fleet key can connect', async () => {
  const key = parseSwarmKey(generateSwarmKey(), 'k')
  const other = parseSwarmKey(generateSwarmKey(), 'k')
  const a = await start(key)
  const b = await start(key)
  const outsider = await start()
  const wrongKey = await start(other)

  a.services.pubsub.subscribe('t')
  b.services.pubsub.subscribe('t')
  const received = new Promise<string>(resolve => a.services.pubsub.addEventListener('message', e => resolve(new TextDecoder().decode(e.detail.data)), { once: true }))
  const conn = await b.dial(a.getMultiaddrs()[0])
  assert.equal(conn.remotePeer.toString(), a.peerId.toString())
  // a gossip message proves streams work through the protector; publish until the mesh has formed
  const publisher = setInterval(() => { void b.services.pubsub.publish('t', new TextEncoder().encode('hello')).catch(() => {}) }, 200)
  try {
    assert.equal(await received, 'hello')
  } finally {
    clearInterval(publisher)
  }

  for (const [name, intruder] of [['no key', outsider], ['another key', wrongKey]] as const) {
    await assert.rejects(intruder.dial(a.getMultiaddrs()[0], { signal: AbortSignal.timeout(8000) }), `${name}: dial to a fleet member`)
    await assert.rejects(a.dial(intruder.getMultiaddrs()[0], { signal: AbortSignal.timeout(8000) }), `${name}: dial from a fleet member`)
    assert.equal(a.getConnections(intruder.peerId).length, 0, name)
    assert.equal(intruder.getConnections().length, 0, name)
  }
})

test('one large write through the swarm key\'s cipher does not make every later write grow its memory until the process dies', async () => {
  swarmProtector(parseSwarmKey(generateSwarmKey(), 'k'))
  // the cipher pnet wraps every connection in (the same module instance: hoisted, one copy)
  const xsalsa20 = createRequire(import.meta.url)('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => { update: (b: Uint8Array) => Uint8Array }
  const key = new Uint8Array(32).fill(3)
  const a = xsalsa20(new Uint8Array(24).fill(1), key)
  const b = xsalsa20(new Uint8Array(24).fill(2), key)
  const big = a.update(new Uint8Array(2 * 1024 * 1024))
  // two connections taking turns: unfixed, each write grew the shared memory by a page and the
  // 64 MiB maximum was reached after about a thousand writes
  for (let i = 0; i < 5000; i++) assert.doesNotThrow(() => (i % 2 === 0 ? a : b).update(new Uint8Array(1500)), `write ${i}`)
  // and the keystream is still right: a fresh cipher with a's nonce gives the same first bytes
  const again = xsalsa20(new Uint8Array(24).fill(1), key).update(new Uint8Array(64))
  assert.deepEqual(big.subarray(0, 64), again)
})
