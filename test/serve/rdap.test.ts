/**
 * The RDAP service (src/serve/rdap) on a real socket, answering from a real LevelDB store in a temp
 * dir (crawled networks, a registry's "not allocated", and RIPE NCC's real dump excerpt imported),
 * read by clients that are not ours: curl for status codes and headers, and the RDAP client of the
 * npm package @cacheable/net pointed at the service as its RDAP server. The answers are checked
 * against RFC 9083 (ip network object, error bodies), RFC 9082 (prefix queries) and the cidr0
 * extension; the limits (head size, request time, answer time, connections) against raw sockets.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { Registry } from 'prom-client'
import { rdap as cacheableRdap } from '@cacheable/net'
import { NetworkStore } from '../../src/store/index.js'
import { importDump, localDumpFile } from '../../src/bulk/import.js'
import { storeAnswerSource } from '../../src/serve/source.js'
import type { AnswerSource } from '../../src/serve/interface.js'
import { createRdapMetrics, startRdapServer, type RdapServer } from '../../src/serve/rdap/index.js'
import { createLogger } from '../../src/util/logger.js'
import { parseIPv4 } from '../../src/util/ipv4.js'
import { net, neg, tempDir } from '../store/helpers/records.js'
import { skipOutsideCi } from '../helpers/skip.js'
import { waitFor } from '../helpers/wait.js'

const execFileAsync = promisify(execFile)
const T0 = Date.parse('2026-03-01T00:00:00Z')
const DUMP_TAKEN = Date.parse('2026-02-27T06:00:00Z')
const PEER = '12D3KooWRdapServedByNodeAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const AUTHOR = '12D3KooWRdapAuthorBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'

let cleanup: () => Promise<void>
let store: NetworkStore
let srv: RdapServer
const register = new Registry()

before(async () => {
  let dir: string
  ({ dir, cleanup } = await tempDir())
  const data = join(dir, 'data')
  // RIPE NCC's real dump excerpt (test/fixtures/bulk), imported as serial 7
  const dump = join(dir, 'ripe.db.inetnum')
  await writeFile(dump, readFileSync(new URL('../fixtures/bulk/ripe.db.inetnum', import.meta.url)))
  await importDump(data, 'ripe', [await localDumpFile(dump)], { serial: 7, takenAt: DUMP_TAKEN })
  store = await NetworkStore.open({ dataDir: data })
  await store.commit({
    networks: [
      net('8.0.0.0', '8.127.255.255', { registry: 'arin', handle: 'NET-8-0-0-0-1', name: 'LVLT-ORG-8-8', org: 'Level 3 Parent, LLC', country: 'US', type: 'Direct Allocation', queryAddress: parseIPv4('8.0.0.1'), fetchedAt: T0 }),
      net('8.8.8.0', '8.8.8.255', { registry: 'arin', handle: 'NET-8-8-8-0-2', name: 'GOGL', org: 'Google LLC', country: 'US', parentHandle: 'NET-8-0-0-0-1', type: 'REASSIGNMENT', registered: '2014-03-14T16:52:05-04:00', lastChanged: '2014-03-14', queryAddress: parseIPv4('8.8.8.8'), fetchedAt: T0 + 3_600_000, author: AUTHOR }),
      // a range that is not one prefix: two CIDR blocks
      net('193.0.0.0', '193.0.2.255', { registry: 'ripe', handle: '193.0.0.0 - 193.0.2.255', name: 'RIPE-NCC', org: '', country: 'NL', type: 'ASSIGNED PA', registered: '', lastChanged: 'not a date', fetchedAt: T0 })
    ],
    negatives: [neg('45.1.2.3', { registry: 'arin' })]
  })
  srv = await startRdapServer({ host: '127.0.0.1', port: 0 }, { source: storeAnswerSource(store, PEER), metrics: createRdapMetrics(register) })
})

after(async () => {
  await srv?.close()
  await store?.close()
  await cleanup?.()
})

interface Reply { status: number, headers: Map<string, string>, body: string }

/** Runs curl (-i) and splits its output; skips the test where curl is missing. */
async function curl (t: { skip: (m?: string) => void }, args: string[]): Promise<Reply | undefined> {
  let stdout: string
  try {
    ({ stdout } = await execFileAsync('curl', ['-s', '-i', '--max-time', '10', ...args], { encoding: 'utf8', maxBuffer: 1 << 22 }))
  } catch (err: any) {
    if (err.code === 'ENOENT') { skipOutsideCi(t, 'curl is not installed'); return undefined }
    throw err
  }
  const cut = stdout.indexOf('\r\n\r\n')
  const head = stdout.slice(0, cut === -1 ? stdout.length : cut).split('\r\n')
  const m = /^HTTP\/[\d.]+ (\d{3})/.exec(head[0])
  assert.ok(m, `curl ${args.join(' ')}: no status line in ${JSON.stringify(stdout.slice(0, 200))}`)
  const headers = new Map<string, string>()
  for (const line of head.slice(1)) {
    const i = line.indexOf(':')
    headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim())
  }
  return { status: Number(m[1]), headers, body: cut === -1 ? '' : stdout.slice(cut + 4) }
}

/** Asserts the parts of RFC 9083 every ip network answer must have; returns the body. */
function checkIpNetwork (r: Reply, what: string): any {
  assert.equal(r.status, 200, `${what}: ${r.body}`)
  assert.equal(r.headers.get('content-type'), 'application/rdap+json', `${what}: content type`)
  assert.equal(r.headers.get('access-control-allow-origin'), '*', `${what}: CORS`)
  const b = JSON.parse(r.body)
  assert.ok(b.rdapConformance.includes('rdap_level_0') && b.rdapConformance.includes('cidr0') && b.rdapConformance.includes('whoismesh'), `${what}: rdapConformance ${JSON.stringify(b.rdapConformance)}`)
  assert.equal(b.objectClassName, 'ip network', what)
  assert.equal(b.ipVersion, 'v4', what)
  // cidr0: the blocks cover startAddress–endAddress exactly, in order
  let next = parseIPv4(b.startAddress)
  for (const c of b.cidr0_cidrs) {
    assert.equal(parseIPv4(c.v4prefix), next, `${what}: cidr0 block ${c.v4prefix}/${c.length} is not where the last one ended`)
    next += 2 ** (32 - c.length)
  }
  assert.equal(next - 1, parseIPv4(b.endAddress), `${what}: cidr0 blocks end at the end address`)
  for (const e of b.events ?? []) assert.ok(!Number.isNaN(Date.parse(e.eventDate)) && /T/.test(e.eventDate), `${what}: eventDate ${e.eventDate} is RFC 3339`)
  assert.ok(b.notices.some((n: any) => n.title === 'whoismesh replica'), `${what}: the replica notice`)
  return b
}

/** Asserts an RFC 9083 §6 error answer; returns the body. */
function checkError (r: Reply, status: number, what: string): any {
  assert.equal(r.status, status, `${what}: status (body ${r.body})`)
  assert.equal(r.headers.get('content-type'), 'application/rdap+json', `${what}: content type`)
  assert.equal(r.headers.get('access-control-allow-origin'), '*', `${what}: CORS`)
  const b = JSON.parse(r.body)
  assert.equal(b.errorCode, status, `${what}: errorCode`)
  assert.equal(typeof b.title, 'string', `${what}: title`)
  assert.ok(Array.isArray(b.description) && b.description.length > 0 && b.description.every((d: unknown) => typeof d === 'string'), `${what}: description`)
  return b
}

test('an address is answered with the most specific network as an RFC 9083 ip network object, with cidr0, the registrant, events, links and the replica notice', async t => {
  const r = await curl(t, [`${srv.url}ip/8.8.8.8`])
  if (r === undefined) return
  const b = checkIpNetwork(r, '8.8.8.8')
  assert.equal(b.handle, 'NET-8-8-8-0-2')
  assert.deepEqual([b.startAddress, b.endAddress, b.name, b.type, b.country, b.parentHandle], ['8.8.8.0', '8.8.8.255', 'GOGL', 'REASSIGNMENT', 'US', 'NET-8-0-0-0-1'])
  assert.deepEqual(b.cidr0_cidrs, [{ v4prefix: '8.8.8.0', length: 24 }])
  assert.deepEqual(b.entities[0].roles, ['registrant'])
  assert.deepEqual(b.entities[0].vcardArray[1].find((p: any[]) => p[0] === 'fn'), ['fn', {}, 'text', 'Google LLC'])
  assert.deepEqual(b.events, [{ eventAction: 'registration', eventDate: '2014-03-14T16:52:05-04:00' }, { eventAction: 'last changed', eventDate: '2014-03-14T00:00:00Z' }])
  const self = b.links.find((l: any) => l.rel === 'self')
  assert.equal(self.href, `${srv.url}ip/8.8.8.0/24`)
  assert.equal(self.value, `${srv.url}ip/8.8.8.8`)
  assert.equal(b.links.find((l: any) => l.rel === 'related').href, 'https://rdap.arin.net/registry/ip/8.8.8.0/24', 'related: ARIN\'s own answer')
  assert.equal(b.port43, 'whois.arin.net')
  const notice = b.notices.find((n: any) => n.title === 'whoismesh replica').description.join('\n')
  assert.match(notice, /not from the registry itself/)
  assert.match(notice, /ARIN gave this network over RDAP on 2026-03-01T01:00:00\.000Z, \d+ days ago \(asked about 8\.8\.8\.8\)/)
  assert.match(notice, new RegExp(`served by node ${PEER}`))
  assert.deepEqual(b.whoismesh_replica, { registry: 'arin', source: 'rdap', fetchedAt: '2026-03-01T01:00:00.000Z', queryAddress: '8.8.8.8', leaf: true, exact: true, inSample: false, author: AUTHOR, servedBy: PEER })
  assert.deepEqual(b.remarks.map((x: any) => x.title), ['leaf network'], 'a leaf is exact: no "possibly coarse" remark')
})

test('a container found through another address is answered but marked possibly coarse, for people (a remark) and programs (whoismesh_replica.exact)', async t => {
  const r = await curl(t, [`${srv.url}ip/8.100.0.1`])
  if (r === undefined) return
  const b = checkIpNetwork(r, '8.100.0.1')
  assert.equal(b.handle, 'NET-8-0-0-0-1')
  assert.deepEqual(b.cidr0_cidrs, [{ v4prefix: '8.0.0.0', length: 9 }])
  assert.deepEqual(b.remarks.map((x: any) => x.title), ['container network', 'possibly coarse'])
  assert.equal(b.whoismesh_replica.exact, false)
  assert.equal(b.whoismesh_replica.inSample, true)
})

test('a range of two CIDR blocks lists both in cidr0_cidrs and links itself by its start address; absent fields are left out', async t => {
  const r = await curl(t, [`${srv.url}ip/193.0.2.1`])
  if (r === undefined) return
  const b = checkIpNetwork(r, '193.0.2.1')
  assert.deepEqual(b.cidr0_cidrs, [{ v4prefix: '193.0.0.0', length: 23 }, { v4prefix: '193.0.2.0', length: 24 }])
  assert.equal(b.links.find((l: any) => l.rel === 'self').href, `${srv.url}ip/193.0.0.0`)
  assert.equal(b.links.find((l: any) => l.rel === 'related').href, 'https://rdap.db.ripe.net/ip/193.0.0.0')
  assert.equal(b.entities, undefined, 'no org: no registrant entity')
  assert.equal(b.events, undefined, 'no registration date, and a last-changed that is no date: no events')
  assert.equal(b.parentHandle, undefined)
})

test('a network from a registry\'s database dump says so: the dump\'s date and serial, and source bulk', async t => {
  const r = await curl(t, [`${srv.url}ip/193.135.138.7`])
  if (r === undefined) return
  const b = checkIpNetwork(r, '193.135.138.7')
  assert.equal(b.name, 'VILLE-DE-STE-CROIX')
  assert.equal(b.entities[0].vcardArray[1].find((p: any[]) => p[0] === 'fn')[3], 'Commune de Ste-Croix')
  const notice = b.notices.find((n: any) => n.title === 'whoismesh replica').description.join('\n')
  assert.match(notice, /From RIPE NCC's database dump taken 2026-02-27T06:00:00\.000Z \(serial 7\), \d+ days ago, imported into the replica/)
  assert.equal(b.whoismesh_replica.source, 'bulk')
  assert.equal(b.whoismesh_replica.exact, true, 'a dump lists every network it holds')
})

test('a prefix is answered with the most specific network holding all of it (RFC 9082 §3.1.1), or 404 naming what holds its first address', async t => {
  const cases: Array<[string, string | number]> = [
    ['8.8.8.0/24', 'NET-8-8-8-0-2'],
    ['8.8.8.128/25', 'NET-8-8-8-0-2'],
    ['8.8.0.0/16', 'NET-8-0-0-0-1'],
    ['8.0.0.0/9', 'NET-8-0-0-0-1'],
    ['8.0.0.0/8', 404],
    ['193.0.0.0/24', '193.0.0.0 - 193.0.2.255'],
    ['10.0.0.0/8', 404],
    ['0.0.0.0/0', 404]
  ]
  for (const [prefix, want] of cases) {
    const r = await curl(t, [`${srv.url}ip/${prefix}`])
    if (r === undefined) return
    if (typeof want === 'string') {
      const b = checkIpNetwork(r, prefix)
      assert.equal(b.handle, want, prefix)
      assert.equal(b.links.find((l: any) => l.rel === 'self').value, `${srv.url}ip/${prefix}`, `${prefix}: the link's context is what was asked`)
    } else {
      checkError(r, want, prefix)
    }
  }
  const parent = JSON.parse((await curl(t, [`${srv.url}ip/8.8.0.0/16`]))!.body)
  assert.equal(parent.whoismesh_replica.exact, false, 'a parent of the first address\'s network: possibly coarse')
  const none = JSON.parse((await curl(t, [`${srv.url}ip/8.0.0.0/8`]))!.body)
  assert.match(none.description.join(' '), /No network in this replica holds the whole of 8\.0\.0\.0\/8.*8\.0\.0\.0\/9/)
  const special = JSON.parse((await curl(t, [`${srv.url}ip/10.0.0.0/8`]))!.body)
  assert.equal(special.title, 'Special-Purpose Address Space')
  const all = JSON.parse((await curl(t, [`${srv.url}ip/0.0.0.0/0`]))!.body)
  assert.equal(all.title, 'Not Found', 'the whole space is not special-purpose, though its first /8 is')
  assert.match(all.description[0], /begins in 0\.0\.0\.0\/8/)
})

test('unknown, unallocated, special-purpose and IANA-reserved space get 404 with an RDAP error body that says which', async t => {
  const cases: Array<[string, string, RegExp]> = [
    ['9.9.9.9', 'Not Found', /is not a sample address.*no stored network contains it/],
    ['8.200.0.1', 'Not Found', /no stored network contains it \(not crawled yet\)/],
    ['45.1.2.3', 'Not Allocated', /the registry answered that it is not allocated/],
    ['10.1.2.3', 'Special-Purpose Address Space', /10\.0\.0\.0\/8, special-purpose address space \(Private-Use\)/],
    ['240.0.0.1', 'Special-Purpose Address Space', /240\.0\.0\.0\/4, special-purpose address space \(Reserved\)/]
  ]
  for (const [address, title, description] of cases) {
    const r = await curl(t, [`${srv.url}ip/${address}`])
    if (r === undefined) return
    const b = checkError(r, 404, address)
    assert.equal(b.title, title, address)
    assert.match(b.description.join(' '), description, address)
    assert.ok(b.rdapConformance.includes('rdap_level_0'), `${address}: rdapConformance`)
  }
})

test('bad queries get 400 saying what is wrong (host bits set: the block meant), other query types and IPv6 501, other paths 404, other methods 405 or 501', async t => {
  const cases: Array<[string[], number, RegExp]> = [
    [[`${srv.url}ip/256.1.1.1`], 400, /not an IPv4 address/],
    [[`${srv.url}ip/1.2.3`], 400, /not an IPv4 address/],
    [[`${srv.url}ip/01.2.3.4`], 400, /no leading zeros/],
    [[`${srv.url}ip/8.8.8.0/33`], 400, /not a CIDR length/],
    [[`${srv.url}ip/8.8.8.5/24`], 400, /host bits set.*8\.8\.8\.0\/24/],
    [[`${srv.url}ip/8.8.8.0/24/1`], 400, /not \/ip\/<IPv4 address>/],
    [[`${srv.url}ip/%zz`], 400, /percent-encoding/],
    [[`${srv.url}ip/2001:db8::1`], 501, /IPv6/],
    [[`${srv.url}autnum/15169`], 501, /\/ip queries only/],
    [[`${srv.url}domains?name=example.*`], 501, /\/ip queries only/],
    [[`${srv.url}favicon.ico`], 404, /not an RDAP query/],
    [['-X', 'POST', '-d', 'x=1', `${srv.url}ip/8.8.8.8`], 405, /not POST/],
    [['-X', 'BREW', `${srv.url}ip/8.8.8.8`], 501, /Unknown method/]
  ]
  for (const [args, status, description] of cases) {
    const r = await curl(t, args)
    if (r === undefined) return
    const b = checkError(r, status, args.join(' '))
    assert.match(b.description.join(' '), description, args.join(' '))
    if (status === 405) assert.equal(r.headers.get('allow'), 'GET, HEAD, OPTIONS')
  }
})

test('HEAD answers the headers GET would, without a body; OPTIONS answers a CORS preflight', async t => {
  const get = await curl(t, [`${srv.url}ip/8.8.8.8`])
  if (get === undefined) return
  const head = (await curl(t, ['-I', `${srv.url}ip/8.8.8.8`]))!
  assert.equal(head.status, 200)
  assert.equal(head.body, '')
  assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(get.body)))
  assert.equal(head.headers.get('content-type'), 'application/rdap+json')
  assert.equal((await curl(t, ['-I', `${srv.url}ip/9.9.9.9`]))!.status, 404)
  const pre = (await curl(t, ['-X', 'OPTIONS', '-H', 'Origin: https://lookup.example', '-H', 'Access-Control-Request-Method: GET', '-H', 'Access-Control-Request-Headers: accept, x-trace', `${srv.url}ip/8.8.8.8`]))!
  assert.equal(pre.status, 204)
  assert.equal(pre.headers.get('access-control-allow-origin'), '*')
  assert.equal(pre.headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS')
  assert.equal(pre.headers.get('access-control-allow-headers'), 'accept, x-trace')
})

test('keep-alive: curl sends a second query on the first connection', async t => {
  let out: string
  try {
    ({ stdout: out } = await execFileAsync('curl', ['-s', '-o', '/dev/null', '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\\n', `${srv.url}ip/8.8.8.8`, `${srv.url}ip/9.9.9.9`], { encoding: 'utf8' }))
  } catch (err: any) {
    if (err.code === 'ENOENT') return skipOutsideCi(t, 'curl is not installed')
    throw err
  }
  assert.deepEqual(out.trim().split('\n'), ['200 1', '404 0'], 'the second transfer opened no connection')
})

test('links follow the Host the client used, or the configured base URL; /help describes the service', async t => {
  const r = await curl(t, ['-H', 'Host: rdap.example.net:8080', `${srv.url}ip/8.8.8.8`])
  if (r === undefined) return
  assert.equal(JSON.parse(r.body).links.find((l: any) => l.rel === 'self').href, 'http://rdap.example.net:8080/ip/8.8.8.0/24')
  const odd = (await curl(t, ['-H', 'Host: <script>', `${srv.url}ip/8.8.8.8`]))!
  assert.equal(JSON.parse(odd.body).links.find((l: any) => l.rel === 'self').href, `${srv.url}ip/8.8.8.0/24`, 'an odd Host header is not echoed')
  const based = await startRdapServer({ port: 0, baseUrl: 'https://rdap.example.org/whoismesh/' }, { source: storeAnswerSource(store) })
  try {
    const b = JSON.parse((await curl(t, [`${based.url}ip/8.8.8.8`]))!.body)
    assert.equal(b.links.find((l: any) => l.rel === 'self').href, 'https://rdap.example.org/whoismesh/ip/8.8.8.0/24')
    assert.equal(b.whoismesh_replica.servedBy, undefined, 'a stopped data directory is served by no node')
  } finally {
    await based.close()
  }
  const help = (await curl(t, [`${srv.url}help`]))!
  assert.equal(help.status, 200)
  assert.match(JSON.parse(help.body).notices[0].description.join('\n'), /RIPE NCC's database dump taken 2026-02-27T06:00:00\.000Z \(serial 7\)/)
})

test('an RDAP client library from npm (@cacheable/net) reads the answers with the service as its RDAP server', async () => {
  const r = await cacheableRdap('8.8.8.8', { server: srv.url })
  assert.equal(r.type, 'ipv4')
  const data = r.data as any
  assert.equal(data.objectClassName, 'ip network')
  assert.equal(data.handle, 'NET-8-8-8-0-2')
  assert.deepEqual(data.cidr0_cidrs, [{ v4prefix: '8.8.8.0', length: 24 }])
  const bulk = (await cacheableRdap('193.247.203.9', { server: srv.url })).data as any
  assert.equal(bulk.name, 'EIVD')
  await assert.rejects(cacheableRdap('9.9.9.9', { server: srv.url }), /status 404/)
  await assert.rejects(cacheableRdap('10.0.0.1', { server: srv.url }), /status 404/)
})

test('a source that throws gives a 500 RDAP error without its message or stack, and a log line with them', async t => {
  const lines: string[] = []
  const failing: AnswerSource = {
    lookup: async () => { throw new Error('disk on fire at /var/secret/db') },
    firstMany: async () => { throw new Error('disk on fire at /var/secret/db') },
    warm: async () => ({ made: 0, complete: true }),
    replica: () => ({ networks: 0, dumps: [] })
  }
  const s = await startRdapServer({ port: 0 }, { source: failing, logger: createLogger({ format: 'json', write: l => lines.push(l) }) })
  try {
    const r = await curl(t, [`${s.url}ip/8.8.8.8`])
    if (r === undefined) return
    const b = checkError(r, 500, 'throwing source')
    assert.doesNotMatch(r.body, /disk on fire|secret|at .*\.ts/)
    assert.equal(lines.length, 1)
    const line = JSON.parse(lines[0])
    assert.equal(line.level, 'error')
    assert.equal(line.query, '8.8.8.8')
    assert.match(line.error, /disk on fire/)
    assert.equal(b.title, 'Internal Server Error')
  } finally {
    await s.close()
  }
})

test('a source too slow gets 503 with Retry-After after answerTimeoutMs', { timeout: 30_000 }, async t => {
  const stuck: AnswerSource = { lookup: async () => await new Promise(() => {}), firstMany: async () => await new Promise(() => {}), warm: async () => ({ made: 0, complete: true }), replica: () => ({ networks: 0, dumps: [] }) }
  const s = await startRdapServer({ port: 0, answerTimeoutMs: 50 }, { source: stuck })
  try {
    const r = await curl(t, [`${s.url}ip/8.8.8.8`])
    if (r === undefined) return
    checkError(r, 503, 'stuck source')
    assert.equal(r.headers.get('retry-after'), '1')
  } finally {
    await s.close()
  }
})

test('a request head over maxHeaderBytes gets 431, and a request not sent within requestTimeoutMs gets 408 and a closed connection', { timeout: 30_000 }, async t => {
  const big = await curl(t, ['-H', `X-Padding: ${'a'.repeat(9000)}`, `${srv.url}ip/8.8.8.8`])
  if (big === undefined) return
  checkError(big, 431, 'a 9000-byte header')
  const s = await startRdapServer({ port: 0, requestTimeoutMs: 200 }, { source: storeAnswerSource(store) })
  try {
    const socket = connect(s.port, '127.0.0.1')
    let got = ''
    socket.setEncoding('utf8')
    socket.on('data', d => { got += d })
    socket.on('error', () => {})
    socket.write('GET /ip/8.8.8.8 HTTP/1.1\r\nHost: 127.0.0.1\r\n') // the head never ends
    await new Promise<void>(resolve => socket.once('close', () => resolve()))
    assert.match(got, /^HTTP\/1\.1 408 Request Timeout\r\n/)
    assert.equal(JSON.parse(got.slice(got.indexOf('\r\n\r\n') + 4)).errorCode, 408)
  } finally {
    await s.close()
  }
})

/** One keep-alive request on a raw socket: resolves with the socket once the answer has come. */
async function openAnswered (port: number): Promise<ReturnType<typeof connect>> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.write('GET /ip/8.8.8.8 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  await new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve())
    socket.once('close', () => reject(new Error('closed before an answer')))
  })
  return socket
}

test('connections beyond maxConnections are closed unanswered, and counted; a freed slot is used again', { timeout: 30_000 }, async () => {
  const reg = new Registry()
  const s = await startRdapServer({ port: 0, maxConnections: 2 }, { source: storeAnswerSource(store), metrics: createRdapMetrics(reg) })
  try {
    const a = await openAnswered(s.port)
    const b = await openAnswered(s.port)
    await assert.rejects(openAnswered(s.port), /closed before an answer/)
    assert.match(await reg.metrics(), /whoismesh_rdap_dropped_connections_total 1\b/)
    a.end()
    await new Promise<void>(resolve => a.once('close', () => resolve()))
    // the server counts the connection gone when its own side has closed, which may come a moment
    // after ours: retry, bounded
    await waitFor(async () => await openAnswered(s.port).then(c => { c.destroy(); return true }, () => false), 5000, 'a connection to be accepted again', 20)
    b.destroy()
  } finally {
    await s.close()
  }
})

test('answers are counted by status in whoismesh_rdap_requests_total', async () => {
  const text = await register.metrics()
  const count = (status: string): number => Number(new RegExp(`whoismesh_rdap_requests_total\\{status="${status}"\\} (\\d+)`).exec(text)?.[1] ?? 0)
  assert.ok(count('200') >= 5, text)
  assert.ok(count('404') >= 5, text)
  assert.ok(count('400') >= 5, text)
  assert.match(text, /whoismesh_rdap_request_seconds_count \d+/)
})

test('bad options are refused naming the field, and a port in use names the address', async () => {
  const source = storeAnswerSource(store)
  await assert.rejects(startRdapServer({ host: 'rdap.example.net' }, { source }), (err: any) => err.name === 'RdapOptionsError' && err.field === 'host')
  await assert.rejects(startRdapServer({ port: 70000 }, { source }), (err: any) => err.name === 'RdapOptionsError' && err.field === 'port')
  await assert.rejects(startRdapServer({ baseUrl: 'https://no-slash.example' }, { source }), (err: any) => err.name === 'RdapOptionsError' && err.field === 'baseUrl')
  await assert.rejects(startRdapServer({ port: srv.port }, { source }), (err: any) => err.name === 'RdapListenError' && err.code === 'EADDRINUSE' && err.message.includes(`127.0.0.1:${srv.port}`))
})
