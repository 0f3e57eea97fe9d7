/**
 * RegistryClient over real sockets against fake registries on 127.0.0.1: transport failures, each
 * a TransientLookupError of its kind. Servers that never answer or trickle (timeout within
 * timeoutMs), answers past maxResponseBytes (too-large, the connection closed), refused
 * connections, host names that do not resolve (dns), resets and closes without an answer; and an
 * abort of the caller's signal, which rejects with its reason. (Answers, redirects, referrals and
 * the WHOIS fallback: registry-client-answers.test.ts.)
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { TransientLookupError, unreachableKind } from '../../src/lookup/index.js'
import { parseIPv4 } from '../../src/util/ipv4.js'
import { closedPort } from '../helpers/fake-registries.js'
import { fake, makeClient, rejection, useFakeRegistries } from '../helpers/registry-client-harness.js'

useFakeRegistries()

describe('RDAP', () => {
  test('an RDAP server that never answers fails with a timeout within timeoutMs', async () => {
    fake.rdap.arin = () => {} // accepts the request, never answers
    const { client } = makeClient({ timeoutMs: 300, protocols: ['rdap'] })
    const t0 = performance.now()
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    const elapsed = performance.now() - t0
    assert.ok(err instanceof TransientLookupError, `got ${String(err)}`)
    assert.equal(err.kind, 'timeout')
    assert.ok(elapsed >= 250 && elapsed < 1500, `timed out after ${Math.round(elapsed)} ms`)
  })

  test('an RDAP body that trickles in is cut off at the total timeout although it is never idle', async () => {
    fake.rdap.arin = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rdap+json' })
      res.write('{')
      const timer = setInterval(() => res.write(' '), 50)
      res.on('close', () => clearInterval(timer))
    }
    const { client } = makeClient({ timeoutMs: 300, idleTimeoutMs: 10_000, protocols: ['rdap'] })
    const t0 = performance.now()
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    const elapsed = performance.now() - t0
    assert.ok(err instanceof TransientLookupError && err.kind === 'timeout', `got ${String(err)}`)
    assert.ok(elapsed < 1500, `timed out after ${Math.round(elapsed)} ms`)
  })

  test('an RDAP body larger than maxResponseBytes fails with too-large and the connection is closed', async () => {
    let serverSocketClosed!: Promise<void>
    let written = 0
    fake.rdap.arin = (req, res) => {
      serverSocketClosed = new Promise(resolve => req.socket.once('close', () => resolve()))
      res.writeHead(200, { 'content-type': 'application/rdap+json' }) // chunked, no Content-Length
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      const pump = (): void => {
        while (!res.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length
          if (!res.write(chunk)) { res.once('drain', pump); return }
        }
      }
      pump()
    }
    const { client } = makeClient({ maxResponseBytes: 256 * 1024, protocols: ['rdap'] })
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    assert.ok(err instanceof TransientLookupError, `got ${String(err)}`)
    assert.equal(err.kind, 'too-large')
    await serverSocketClosed
    assert.ok(written < 64 * 1024 * 1024, `server stopped after ${written} bytes`)
  })

  test('a Content-Length above maxResponseBytes fails with too-large before the body is read', async () => {
    fake.rdap.arin = (_req, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) })
      res.write('{')
    }
    const { client } = makeClient({ maxResponseBytes: 1024, protocols: ['rdap'] })
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    assert.ok(err instanceof TransientLookupError && err.kind === 'too-large', `got ${String(err)}`)
  })

  test('an RDAP server that refuses connections fails with refused', async () => {
    const port = await closedPort()
    const endpoints = { ...fake.endpoints, arin: { ...fake.endpoints.arin, rdapBaseUrl: `http://127.0.0.1:${port}/` } }
    const { client } = makeClient({ endpoints, protocols: ['rdap'] })
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    assert.ok(err instanceof TransientLookupError && err.kind === 'refused', `got ${String(err)}`)
  })

  test('an RDAP host name that does not resolve fails with dns, not refused', async () => {
    // .invalid never resolves (RFC 6761), and the lookup sends nothing off the machine
    const endpoints = { ...fake.endpoints, arin: { ...fake.endpoints.arin, rdapBaseUrl: 'http://nonexistent.invalid/' } }
    const { client } = makeClient({ endpoints, protocols: ['rdap'] })
    const err = await rejection(client.lookup(parseIPv4('74.125.225.229'), 'arin'))
    assert.ok(err instanceof TransientLookupError && err.kind === 'dns', `got ${String(err)}`)
    assert.equal(unreachableKind(err), 'dns')
  })

  test('an abort of the caller signal rejects with its reason, not a lookup error', async () => {
    fake.rdap.arin = () => {}
    const { client } = makeClient({ protocols: ['rdap'] })
    const ac = new AbortController()
    const p = client.lookup(parseIPv4('74.125.225.229'), 'arin', ac.signal)
    const reason = new Error('crawl stopped')
    setImmediate(() => ac.abort(reason))
    assert.equal(await rejection(p), reason)
  })
})

describe('WHOIS', () => {
  test('a WHOIS connection reset fails with reset', async () => {
    fake.whois.ripe = (_q, socket) => { socket.resetAndDestroy() }
    const { client } = makeClient({ protocols: ['whois'] })
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'ripe'))
    assert.ok(err instanceof TransientLookupError, `got ${String(err)}`)
    assert.equal(err.kind, 'reset')
  })

  test('a WHOIS server that closes without answering fails with reset', async () => {
    fake.whois.ripe = (_q, socket) => { socket.end() }
    const { client } = makeClient({ protocols: ['whois'] })
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'ripe'))
    assert.ok(err instanceof TransientLookupError && err.kind === 'reset', `got ${String(err)}`)
  })

  test('a WHOIS server that refuses connections fails with refused', async () => {
    const port = await closedPort()
    const endpoints = { ...fake.endpoints, ripe: { ...fake.endpoints.ripe, whoisPort: port } }
    const { client } = makeClient({ endpoints, protocols: ['whois'] })
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'ripe'))
    assert.ok(err instanceof TransientLookupError && err.kind === 'refused', `got ${String(err)}`)
  })

  test('a WHOIS host name that does not resolve fails with dns, not refused', async () => {
    const endpoints = { ...fake.endpoints, ripe: { ...fake.endpoints.ripe, whoisHost: 'nonexistent.invalid' } }
    const { client } = makeClient({ endpoints, protocols: ['whois'] })
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'ripe'))
    assert.ok(err instanceof TransientLookupError && err.kind === 'dns', `got ${String(err)}`)
    assert.equal(unreachableKind(err), 'dns')
  })

  test('a silent WHOIS server fails with a timeout within timeoutMs', async () => {
    fake.whois.ripe = () => {}
    const { client } = makeClient({ timeoutMs: 300, protocols: ['whois'] })
    const t0 = performance.now()
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'ripe'))
    const elapsed = performance.now() - t0
    assert.ok(err instanceof TransientLookupError && err.kind === 'timeout', `got ${String(err)}`)
    assert.ok(elapsed >= 250 && elapsed < 1500, `timed out after ${Math.round(elapsed)} ms`)
  })

  test('a WHOIS answer larger than maxResponseBytes fails with too-large and the connection is closed', async () => {
    let closed!: Promise<void>
    fake.whois.ripe = (_q, socket) => {
      closed = new Promise(resolve => socket.once('close', () => resolve()))
      const chunk = Buffer.alloc(64 * 1024, 0x25)
      const pump = (): void => {
        while (!socket.destroyed) {
          if (!socket.write(chunk)) { socket.once('drain', pump); return }
        }
      }
      pump()
    }
    const { client } = makeClient({ maxResponseBytes: 256 * 1024, protocols: ['whois'] })
    const err = await rejection(client.lookup(parseIPv4('62.239.237.1'), 'ripe'))
    assert.ok(err instanceof TransientLookupError && err.kind === 'too-large', `got ${String(err)}`)
    await closed
  })
})
