/**
 * The port-43 WHOIS service (src/serve/whois) read by the clients people use: Debian's `whois`
 * for one query and `nc` in bulk mode (Team Cymru's begin/verbose/…/end convention), on a real
 * store in a temp dir; then its limits over raw sockets — every refusal says why before the
 * connection closes — and the commands that start it (`whoismesh serve`, `node start
 * --serve-whois`) as users run them.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { connect } from 'node:net'
import { once } from 'node:events'
import { promisify } from 'node:util'
import { NetworkStore } from '../../src/store/index.js'
import { lookupReport } from '../../src/report/lookup.js'
import { storeAnswerSource } from '../../src/serve/index.js'
import { startWhoisService, type WhoisService, type WhoisServiceOptions } from '../../src/serve/whois/server.js'
import { bulkLine } from '../../src/serve/whois/format.js'
import { formatIPv4 } from '../../src/util/ipv4.js'
import { dataDirWith, ip, neg, net, rng, tempDir, withStore } from '../store/helpers/records.js'
import { skipOutsideCi } from '../helpers/skip.js'
import { BIN, assertBuilt, runCli, waitFor } from '../helpers/cli.js'
import { openFleetFixture, closeFleetFixture, startNode, waitForLog, type FleetFixture, type FleetNode } from '../helpers/fleet.js'
import { join } from 'node:path'
import { rm } from 'node:fs/promises'

const run = promisify(execFile)
const T0 = Date.parse('2026-11-30T12:00:00Z')

const NETWORKS = [
  net('8.0.0.0', '8.127.255.255', { registry: 'arin', handle: 'NET-8-0-0-0-1', name: 'LVLT-ORG-8-8', org: 'Level 3 Parent, LLC', type: 'Direct Allocation', fetchedAt: T0, queryAddress: ip('8.0.0.1') }),
  net('8.8.8.0', '8.8.8.255', { registry: 'arin', handle: 'NET-8-8-8-0-2', name: 'GOGL', org: 'Google LLC', country: 'US', parentHandle: 'NET-8-0-0-0-1', type: 'Direct Assignment', fetchedAt: T0, queryAddress: ip('8.8.8.1') }),
  net('193.0.0.0', '193.0.7.255', { registry: 'ripe', name: 'RIPE-NCC', org: 'Reseaux IP Europeens | Network Coordination Centre', country: 'NL', type: 'ASSIGNED PA', fetchedAt: T0 })
]

/** Which tool is missing, if any. */
async function missing (tool: string): Promise<boolean> {
  return await run('sh', ['-c', `command -v ${tool}`]).then(() => false, () => true)
}

/** Sends `text` on a new connection (ending our side when `end`), resolves with all the server wrote before it closed. */
async function exchange (port: number, text: string, end = true): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  socket.setEncoding('utf8')
  let got = ''
  socket.on('data', (d: string) => { got += d })
  await once(socket, 'connect')
  if (text !== '') socket.write(text)
  if (end) socket.end()
  await once(socket, 'close')
  return got
}

/** A describe's store of NETWORKS in a temp dir: opened before its tests (given to `set`), closed and removed after. */
function openStoreEach (set: (store: NetworkStore) => void): void {
  let dir: string | undefined
  let store: NetworkStore | undefined
  before(async () => {
    dir = (await tempDir()).dir
    store = await NetworkStore.open({ dataDir: join(dir, 'data') })
    await store.commit({ networks: NETWORKS })
    set(store)
  })
  after(async () => {
    await store?.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })
}

describe('the port-43 WHOIS service', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let store: NetworkStore
  let service: WhoisService

  before(async () => {
    ({ dir, cleanup } = await tempDir())
    store = await NetworkStore.open({ dataDir: join(dir, 'data') })
    await store.commit({ networks: NETWORKS, negatives: [neg('45.1.2.3', { registry: 'ripe' })] })
    service = await startWhoisService({ port: 0 }, { source: storeAnswerSource(store, '12D3KooWServeTestPeer') })
  })
  after(async () => {
    await service?.close()
    await store?.close()
    await cleanup?.()
  })

  it('answers Debian\'s whois client with the most specific network, the one it lies in, and that it is a replica', async (t) => {
    if (await missing('whois')) return skipOutsideCi(t, 'Debian\'s whois client is not installed (apt-get install whois)')
    const { stdout } = await run('whois', ['-h', '127.0.0.1', '-p', String(service.port), '8.8.8.8'], { timeout: 20_000 })
    const lines = stdout.split(/\r?\n/)
    assert.ok(lines.some(l => /^% This is whoismesh node 12D3KooWServeTestPeer: a replica .*not a registry\.$/.test(l)), stdout)
    assert.match(stdout, /^% Fetched from ARIN over RDAP at 2026-11-30T12:00:00\.000Z \(\d+d \d+h ago\)\.$/m)
    const answer = lines.indexOf('inetnum:        8.8.8.0 - 8.8.8.255')
    const parent = lines.indexOf('inetnum:        8.0.0.0 - 8.127.255.255')
    assert.ok(answer > 0 && parent > answer, `the answer first, then the network it lies in:\n${stdout}`)
    for (const l of ['cidr:           8.8.8.0/24', 'netname:        GOGL', 'org-name:       Google LLC', 'country:        US', 'exact:          yes', 'registry:       arin', 'parent:         NET-8-0-0-0-1']) assert.ok(lines.includes(l), `${l}\n${stdout}`)
    assert.ok(lines.includes('% The registry\'s own answer: whois -h whois.arin.net 8.8.8.0'), stdout)

    const special = (await run('whois', ['-h', '127.0.0.1', '-p', String(service.port), '10.1.2.3'], { timeout: 20_000 })).stdout
    assert.match(special, /% No match: 10\.1\.2\.3 is special-purpose address space \(Private-Use\), allocated to no registry\./)
    const unallocated = (await run('whois', ['-h', '127.0.0.1', '-p', String(service.port), '45.1.2.3'], { timeout: 20_000 })).stdout
    assert.match(unallocated, /% No match: the registry answered that 45\.1\.2\.3 is not allocated\./)
    const coarse = (await run('whois', ['-h', '127.0.0.1', '-p', String(service.port), '8.64.0.1'], { timeout: 20_000 })).stdout
    assert.match(coarse, /% The most specific network known for 8\.64\.0\.1 \(container: a more specific network may exist\):/)
    assert.match(coarse, /^exact: {10}no$/m)
  })

  it('answers nc in bulk mode one line per address, in order, an error line for a bad one', async (t) => {
    if (await missing('nc')) return skipOutsideCi(t, 'netcat is not installed (apt-get install netcat-openbsd)')
    const input = 'begin\nverbose\n8.8.8.8\nnot-an-address\n10.0.0.1\n# a comment\n\n45.1.2.3\n8.64.0.1\n193.0.1.1\n1.2.3.4\nend\n'
    const child = spawn('nc', ['-N', '127.0.0.1', String(service.port)], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
    child.stdin.end(input)
    const [code] = await once(child, 'close')
    assert.equal(code, 0)
    const lines = out.split('\r\n').filter(l => l !== '')
    assert.match(lines[0], /^Bulk mode; whoismesh replica \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\]$/)
    assert.equal(lines[1], 'IP | Status | Network | Registry | CC | Org | Range | Handle | Name | Type | Leaf | Fetched | Source')
    assert.deepEqual(lines.slice(2).map(l => l.split(' | ').slice(0, 2)), [
      ['8.8.8.8', 'exact'], ['not-an-address', 'error'], ['10.0.0.1', 'special-purpose'], ['45.1.2.3', 'unallocated'],
      ['8.64.0.1', 'coarse'], ['193.0.1.1', 'exact'], ['1.2.3.4', 'unknown']
    ])
    assert.equal(lines[2], '8.8.8.8 | exact | 8.8.8.0/24 | arin | US | Google LLC | 8.8.8.0 - 8.8.8.255 | NET-8-8-8-0-2 | GOGL | Direct Assignment | true | 2026-11-30T12:00:00.000Z | rdap')
    // a "|" inside a value would shift the columns: written as "/"
    assert.ok(lines[7].includes('| Reseaux IP Europeens / Network Coordination Centre |'), lines[7])
    assert.equal(lines.length, 9)
  })

  it('keeps the order of thousands of addresses whose lookups finish out of order', async () => {
    const random = rng(7)
    const addresses = Array.from({ length: 3000 }, (_, i) => i % 3 === 0 ? ip('8.8.8.0') + Math.floor(random() * 256) : Math.floor(random() * 2 ** 32))
    const got = (await exchange(service.port, `begin\n${addresses.map(formatIPv4).join('\n')}\nend\n`)).split('\r\n').filter(l => l !== '')
    assert.equal(got.length, addresses.length + 2)
    const want = await Promise.all(addresses.map(async a => bulkLine(await lookupReport(store, a), false).replace(/\r\n$/, '')))
    assert.deepEqual(got.slice(2), want)
  })
})

describe('bulk mode\'s cells of each network, made once (store/answer-memo.ts)', () => {
  const bulk = async (port: number, addresses: string[]): Promise<string[]> =>
    (await exchange(port, `begin\n${addresses.join('\n')}\nend\n`)).split('\r\n').filter(l => l !== '').slice(2)

  for (const warm of [true, false]) {
    it(`answers a network replaced since its cells were made with its new record (${warm ? 'warmed at the start' : 'made as addresses need them'})`, async () => {
      await withStore(async store => {
        const s = await startWhoisService({ port: 0, warm }, { source: storeAnswerSource(store) })
        try {
          await store.commit({ networks: NETWORKS })
          const asked = ['8.8.8.8', '8.1.2.3', '193.0.0.1']
          const before = await bulk(s.port, asked)
          // bulk mode started the warm-up (when `warm`); it has made each network's cells since
          assert.deepEqual(await s.warm(), warm ? { made: NETWORKS.length, complete: true } : { made: 0, complete: false })
          assert.match(before[0], /^8\.8\.8\.8 \| exact \| 8\.8\.8\.0\/24 \| arin \| US \| Google LLC$/)
          // an earlier observation of the network replaces the record under the same range (store/pick.ts)
          await store.commit({ networks: [{ ...NETWORKS[1], org: 'Google Renamed LLC', fetchedAt: T0 - 60_000 }] })
          const after = await bulk(s.port, asked)
          assert.match(after[0], /^8\.8\.8\.8 \| exact \| 8\.8\.8\.0\/24 \| arin \| US \| Google Renamed LLC$/)
          assert.deepEqual(after.slice(1), before.slice(1))
          // and what a single query says of each
          const want = await Promise.all(asked.map(async a => bulkLine(await lookupReport(store, ip(a)), false).replace(/\r\n$/, '')))
          assert.deepEqual(after, want)
        } finally {
          await s.close()
        }
      })
    })
  }

  it('makes every network\'s cells once asked to, and answers as a single query does', async () => {
    await withStore(async store => {
      await store.commit({ networks: NETWORKS })
      const s = await startWhoisService({ port: 0 }, { source: storeAnswerSource(store) })
      try {
        assert.deepEqual(await s.warm(), { made: NETWORKS.length, complete: true })
        const asked = ['8.8.8.8', '8.1.2.3', '193.0.0.1', '8.200.0.1', '10.0.0.1', '45.1.2.3']
        const want = await Promise.all(asked.map(async a => bulkLine(await lookupReport(store, ip(a)), true).replace(/\r\n$/, '')))
        assert.deepEqual((await exchange(s.port, `begin\nverbose\n${asked.join('\n')}\nend\n`)).split('\r\n').filter(l => l !== '').slice(2), want)
      } finally {
        await s.close()
      }
    })
  })
})

describe('the WHOIS service\'s limits: each refusal is said before the connection closes', () => {
  let store: NetworkStore
  openStoreEach(s => { store = s })

  async function withService (opts: Partial<WhoisServiceOptions>, fn: (s: WhoisService) => Promise<void>): Promise<void> {
    const s = await startWhoisService({ port: 0, ...opts }, { source: storeAnswerSource(store) })
    try { await fn(s) } finally { await s.close() }
  }

  it('answers an over-long line in bulk mode with an error line and goes on; refuses an over-long query', async () => {
    await withService({ maxLineBytes: 100 }, async s => {
      const lines = (await exchange(s.port, `begin\n8.8.8.8\n${'9'.repeat(5000)}\n8.8.8.9\nend\n`)).split('\r\n')
      assert.deepEqual(lines.slice(2, 5).map(l => l.split(' | ').slice(0, 2)), [['8.8.8.8', 'exact'], ['9'.repeat(64), 'error'], ['8.8.8.9', 'exact']])
      assert.match(lines[3], /line over 100 bytes/)
      assert.equal(await exchange(s.port, `${'1'.repeat(300)}\n`), '% Query over 100 bytes refused.\r\n')
    })
  })

  it('closes a connection after its lines, an idle one, and refuses a client holding too many', async () => {
    await withService({ maxLinesPerConnection: 3, idleTimeoutMs: 300, maxConnectionsPerClient: 2 }, async s => {
      const capped = (await exchange(s.port, 'begin\n8.8.8.1\n8.8.8.2\n8.8.8.3\n8.8.8.4\n8.8.8.5\n', false)).split('\r\n').filter(l => l !== '')
      assert.equal(capped.length, 2 + 3 + 1, capped.join('\n'))
      assert.equal(capped[5], '% Limit of 3 lines per connection reached: closing; send the rest on a new connection.')
      // silent: closed after the idle time, with a line saying so
      assert.equal(await exchange(s.port, '', false), '% Idle for 0.3 s: closing.\r\n')
      // two held open (bulk mode, nothing asked yet), a third refused
      const held = [connect(s.port, '127.0.0.1'), connect(s.port, '127.0.0.1')]
      try {
        await Promise.all(held.map(async h => { await once(h, 'connect'); h.write('begin\n') }))
        assert.equal(await exchange(s.port, '8.8.8.8\n', false), '% Refused: too many connections from 127.0.0.1 (at most 2 at once); try again later.\r\n')
      } finally {
        for (const h of held) h.destroy()
      }
    })
  })
})

describe('a client that does not read what it asked for', () => {
  let store: NetworkStore
  openStoreEach(s => { store = s })

  /** A connection sending `begin` and many addresses, reading nothing; resolves once the service stops reading it (or 20 s). */
  async function flooding (port: number): Promise<ReturnType<typeof connect>> {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    await once(socket, 'connect')
    socket.pause()
    // more than loopback's socket buffers hold on both sides, so the service must stop reading
    socket.write('begin\nverbose\n' + '8.8.8.8\n'.repeat(4_000_000))
    // the service applies back-pressure: what we sent stops being taken
    let last = -1
    let still = 0
    await waitFor(() => {
      still = socket.bytesWritten === last && socket.writableLength > 0 ? still + 1 : 0
      last = socket.bytesWritten
      return still >= 3
    }, 20_000, 'the service to stop reading a client that does not read', 100)
    return socket
  }

  it('is cut off after the idle time, and its connection slot is freed', async () => {
    const s = await startWhoisService({ port: 0, idleTimeoutMs: 500, maxConnectionsPerClient: 1 }, { source: storeAnswerSource(store) })
    try {
      const socket = await flooding(s.port)
      // cut off: a reset, as the service destroys the connection with our answers unread
      await new Promise(resolve => socket.once('close', resolve))
      // the slot is free again: a new connection is answered, not refused
      assert.match(await exchange(s.port, '8.8.8.8\n'), /^netname: {8}GOGL\r$/m)
    } finally {
      await s.close()
    }
  })

  it('resetting the connection mid-answer harms nothing: the service answers the next client', async () => {
    const s = await startWhoisService({ port: 0 }, { source: storeAnswerSource(store) })
    try {
      const socket = await flooding(s.port)
      socket.resetAndDestroy()
      await once(socket, 'close')
      assert.match(await exchange(s.port, '8.8.8.8\n'), /^netname: {8}GOGL\r$/m)
    } finally {
      await s.close()
    }
  })
})

describe('whoismesh serve and node start --serve-whois --serve-rdap', () => {
  let fixture: FleetFixture | undefined
  const nodes: FleetNode[] = []
  before(() => { assertBuilt() })
  after(async () => { await closeFleetFixture(fixture ?? {}, nodes) })

  it('serves a stopped data directory until SIGTERM, and says what is wrong with a bad invocation', async (t) => {
    if (await missing('whois')) return skipOutsideCi(t, 'Debian\'s whois client is not installed (apt-get install whois)')
    const { data, cleanup } = await dataDirWith({ networks: NETWORKS })
    try {
      const none = await runCli(['serve', '--data', data], { timeoutMs: 30_000 })
      assert.equal(none.code, 2)
      assert.equal(none.stderr, 'whoismesh: say what to serve: --whois [ADDR:]PORT and/or --rdap [ADDR:]PORT\n')
      const bad = await runCli(['serve', '--data', data, '--whois', 'example.org:43'], { timeoutMs: 30_000 })
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /--whois: "example\.org" is not an IP address/)

      const child = spawn(process.execPath, [BIN, 'serve', '--data', data, '--whois', '0', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] })
      let err = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
      const exited = once(child, 'close')
      const port = await new Promise<number>((resolve, reject) => {
        const check = (): void => {
          const m = /"msg":"serving".*"whois":(\d+)/.exec(err)
          if (m !== null) resolve(Number(m[1]))
        }
        child.stderr.on('data', check)
        void exited.then(() => reject(new Error(`serve exited: ${err}`)))
      })
      const { stdout } = await run('whois', ['-h', '127.0.0.1', '-p', String(port), '193.0.1.1'], { timeout: 20_000 })
      assert.match(stdout, /^netname: {8}RIPE-NCC$/m)
      assert.match(stdout, /^% This is whoismesh \(a stopped node's data directory\)/m)
      child.kill('SIGTERM')
      const [code] = await exited
      assert.equal(code, 0, err)
    } finally {
      await cleanup()
    }
  })

  it('a crawling node answers WHOIS and RDAP queries from its replica', async (t) => {
    if (await missing('whois')) return skipOutsideCi(t, 'Debian\'s whois client is not installed (apt-get install whois)')
    if (await missing('curl')) return skipOutsideCi(t, 'curl is not installed (apt-get install curl)')
    fixture = await openFleetFixture('whoismesh-serve-', { budgetPerSecond: 'all=200' })
    const node = startNode({ dir: fixture.dir, name: 'a', registries: fixture.registries, sampleLimit: 200, extraArgs: ['--serve-whois', '127.0.0.1:0', '--serve-rdap', '127.0.0.1:0'] })
    nodes.push(node)
    const ready = await waitForLog(node, 'node ready', 60_000)
    const port = ready.serving?.whois
    const rdapPort = ready.serving?.rdap
    assert.equal(typeof port, 'number', JSON.stringify(ready))
    assert.equal(typeof rdapPort, 'number', JSON.stringify(ready))
    await waitForLog(node, 'crawl complete', 120_000)
    // the first sample address is the first the crawl resolves: it has a network now
    const sample = (await runCli(['sample', '--sample-limit', '1'], { timeoutMs: 30_000 })).stdout.trim()
    const { stdout } = await run('whois', ['-h', '127.0.0.1', '-p', String(port), sample], { timeout: 20_000 })
    assert.match(stdout, new RegExp(`^% This is whoismesh node ${String(node.peerId)}: a replica`, 'm'))
    assert.match(stdout, /^inetnum: {8}\d+\.\d+\.\d+\.\d+ - \d+\.\d+\.\d+\.\d+$/m)
    assert.match(stdout, /^exact: {10}yes$/m)
    const inetnum = /^inetnum: {8}(\S+) - (\S+)$/m.exec(stdout)!
    const rdap = await run('curl', ['-sS', '-D', '-', `http://127.0.0.1:${String(rdapPort)}/ip/${sample}`], { timeout: 20_000 })
    assert.match(rdap.stdout, /^HTTP\/1\.1 200 /)
    assert.match(rdap.stdout, /^content-type: application\/rdap\+json/im)
    const body = JSON.parse(rdap.stdout.slice(rdap.stdout.indexOf('\r\n\r\n') + 4))
    assert.deepEqual([body.objectClassName, body.startAddress, body.endAddress], ['ip network', inetnum[1], inetnum[2]])
    // a simulator's answers link to the simulator's own RDAP server, not a real registry's
    assert.ok(body.links.some((l: any) => l.rel === 'related' && l.href.startsWith('http://127.0.0.1:')), JSON.stringify(body.links))
  })
})
