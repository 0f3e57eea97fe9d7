import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRegistriesFile } from '../../src/registry/endpoints.js'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { registryForAddress, slashEightOf } from '../../src/registry/iana.js'
import { formatIPv4, parseIPv4 } from '../../src/util/ipv4.js'
import { parseRdapNetwork } from '../../src/lookup/rdap-parser.js'
import { parseWhoisAnswer } from '../../src/lookup/whois-parser.js'
import { whoisQuery } from '../../src/lookup/whois-client.js'
import { RegistryClient } from '../../src/lookup/client.js'
import type { NetworkIdentity } from '../../src/record/index.js'
import { TransientLookupError } from '../../src/lookup/errors.js'
import { startSimulator, writeRegistriesFile, type Simulator } from '../../src/sim/index.js'
import { describeNetwork, identityOf } from '../../src/sim/records.js'
import { buildWorld, type World } from '../../src/sim/world.js'
import { whois } from '../helpers/whois.js'

let world: World
let sim: Simulator


async function rdap (s: Simulator, registry: RegistryId, address: string): Promise<Response> {
  return await fetch(`${s.endpoints[registry].rdapBaseUrl}ip/${address}`, { redirect: 'manual' })
}

function identity (n: NetworkIdentity): NetworkIdentity {
  return { start: n.start, end: n.end, registry: n.registry, handle: n.handle, name: n.name, org: n.org, country: n.country }
}

/** A deterministic spread of world networks: per owner, plain ranges, gap blocks, multi-CIDR ranges, transfers. */
function sampleNetworks (w: World, perKind: number): number[] {
  const picked: number[] = []
  const counts = new Map<string, number>()
  for (let i = 0; i < w.count; i += 37) {
    const n = describeNetwork(w, i)
    const kind = n.gap ? 'gap' : n.administeredBy !== n.registry ? 'transferred' : n.cidrs.length > 1 ? 'multi' : 'range'
    const key = `${n.registry}/${kind}`
    const c = counts.get(key) ?? 0
    if (c >= perKind) continue
    counts.set(key, c + 1)
    picked.push(i)
  }
  return picked
}

describe('registry simulator servers', () => {
  before(async () => {
    world = await buildWorld()
    sim = await startSimulator({ world: 'flat', budgetPerSecond: 'all=1000000' }, { world })
  })
  after(async () => {
    await sim.close()
  })

  it('writes a registries file the crawler loads, atomically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'whoismesh-sim-'))
    try {
      const path = join(dir, 'registries.json')
      await writeRegistriesFile(sim, path)
      assert.deepEqual(await readdir(dir), ['registries.json'])
      const loaded = await loadRegistriesFile(path)
      assert.deepEqual(loaded.endpoints, sim.endpoints)
      assert.equal(loaded.statsUrl, sim.statsUrl)
      assert.equal(loaded.budgets.arin, 1_000_000)
      const raw = JSON.parse(await readFile(path, 'utf8'))
      assert.equal(raw.version, 1)
      assert.match(raw.registries.ripe.rdap, /^http:\/\/127\.0\.0\.1:\d+\/$/)
      assert.match(raw.registries.ripe.whois, /^127\.0\.0\.1:\d+$/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('answers RDAP and WHOIS with the network the world holds, identically, for every RIR (parsed by the crawler\'s parsers)', async () => {
    const picked = sampleNetworks(world, 4)
    const owners = new Set(picked.map(i => world.ownerOf(i)))
    assert.deepEqual([...owners].sort(), [...REGISTRY_IDS].sort())
    for (const i of picked) {
      const expected = identityOf(describeNetwork(world, i))
      const addresses = [world.start[i], world.end[i], world.start[i] + Math.floor((world.end[i] - world.start[i]) / 2)]
      for (const address of addresses) {
        const ip = formatIPv4(address)
        const where = `${expected.registry} ${expected.handle} at ${ip}`
        const res = await rdap(sim, expected.registry, ip)
        assert.equal(res.status, 200, where)
        assert.equal(res.headers.get('content-type'), 'application/rdap+json', where)
        const text = await res.text()
        const fromRdap = parseRdapNetwork(JSON.parse(text), expected.registry, address, text.length)
        assert.deepEqual(identity(fromRdap), expected, `RDAP ${where}`)

        const w = await whois(sim.endpoints[expected.registry].whoisPort, whoisQuery(expected.registry, address))
        assert.equal(w.error, undefined, where)
        const answer = parseWhoisAnswer(w.text, expected.registry, address)
        assert.equal(answer.kind, 'network', `WHOIS ${where}: ${JSON.stringify(answer)}`)
        if (answer.kind === 'network') {
          assert.deepEqual(identity(answer.network), expected, `WHOIS ${where}`)
          assert.deepEqual(answer.network.cidrs, fromRdap.cidrs, `cidrs ${where}`)
        }
      }
    }
  })

  it('writes LACNIC WHOIS networks as abbreviated CIDRs with CRLF lines and ARIN multi-block ranges as a CIDR list', async () => {
    let lacnic = -1
    let arinMulti = -1
    for (let i = 0; i < world.count && (lacnic < 0 || arinMulti < 0); i++) {
      const n = describeNetwork(world, i)
      if (lacnic < 0 && n.registry === 'lacnic' && !n.gap && n.blocks[0][1] % 8 !== 0) lacnic = i
      if (arinMulti < 0 && n.registry === 'arin' && n.cidrs.length >= 3) arinMulti = i
    }
    const l = describeNetwork(world, lacnic)
    const lt = await whois(sim.endpoints.lacnic.whoisPort, formatIPv4(l.start))
    assert.match(lt.text, /\r\ninetnum: {5}\d+(\.\d+){0,3}\/\d+\r\n/)
    assert.match(lt.text, /\r\nowner: {7}/)
    assert.match(lt.text, /\r\ncreated: {5}\d{8}\r\n/)
    const a = describeNetwork(world, arinMulti)
    const at = await whois(sim.endpoints.arin.whoisPort, `n + ${formatIPv4(a.start)}`)
    assert.ok(at.text.includes(`CIDR:           ${a.cidrs.join(', ')}\n`), at.text)
    const res = await rdap(sim, 'arin', formatIPv4(a.start))
    const body = await res.json() as { cidr0_cidrs: unknown[], startAddress: string, endAddress: string }
    assert.equal(body.cidr0_cidrs.length, a.cidrs.length)
    assert.equal(body.endAddress, formatIPv4(a.end))
  })

  it('redirects RDAP and refers WHOIS to the owning RIR when another RIR owns the address', async () => {
    let checked = 0
    const statuses = new Set<number>()
    for (let i = 0; i < world.count && checked < 40; i += 211) {
      const n = describeNetwork(world, i)
      const ip = formatIPv4(n.start)
      for (const asked of REGISTRY_IDS) {
        if (asked === n.registry) continue
        const where = `${ip} (owner ${n.registry}) asked of ${asked}`
        const res = await rdap(sim, asked, ip)
        assert.ok([301, 302, 303, 307, 308].includes(res.status), `${where}: HTTP ${res.status}`)
        statuses.add(res.status)
        assert.equal(res.headers.get('location'), `${sim.endpoints[n.registry].rdapBaseUrl}ip/${ip}`, where)
        const w = await whois(sim.endpoints[asked].whoisPort, whoisQuery(asked, n.start))
        const answer = parseWhoisAnswer(w.text, asked, n.start)
        assert.equal(answer.kind, 'referral', `${where}: ${w.text}`)
        if (answer.kind === 'referral') assert.equal(answer.registry, n.registry, where)
        assert.ok(w.text.includes(`whois://127.0.0.1:${sim.endpoints[n.registry].whoisPort}`), `${where}: no sim host:port`)
      }
      checked++
    }
    assert.deepEqual([...statuses].sort(), [301, 302, 303, 307, 308])
  })

  it('lets the crawler\'s registry client follow transfers from the /8\'s RIR to the owner over RDAP and WHOIS', async () => {
    const transferred: number[] = []
    for (let i = 0; i < world.count && transferred.length < 12; i += 53) {
      if (!world.isGap(i) && world.ownerOf(i) !== world.administratorOf(i)) transferred.push(i)
    }
    for (const protocol of ['rdap', 'whois'] as const) {
      const client = new RegistryClient({ endpoints: sim.endpoints, protocols: [protocol] }, { gate: { acquire: async () => {} } })
      try {
        for (const i of transferred) {
          const expected = identityOf(describeNetwork(world, i))
          const first = registryForAddress(world.start[i])!
          assert.equal(first, slashEightOf(world.start[i]).registry)
          const r = await client.lookup(world.start[i], first)
          assert.equal(r.registry, expected.registry, `${protocol} ${expected.handle}`)
          assert.deepEqual(r.hops, [first, expected.registry])
          assert.deepEqual(identity(r.network), expected, `${protocol} ${expected.handle}`)
        }
      } finally {
        await client.close()
      }
    }
  })

  it('answers not found for special-purpose and reserved space, in each RIR\'s wording', async () => {
    const expectedText: Record<RegistryId, RegExp> = {
      arin: /No match found for n \+ /,
      ripe: /%ERROR:101: no entries found/,
      apnic: /%ERROR:101: no entries found/,
      afrinic: /%ERROR:101: no entries found/,
      lacnic: /% No match found for /
    }
    for (const ip of ['10.1.2.3', '192.168.0.1', '100.64.1.1', '198.51.100.7', '240.1.1.1', '0.1.2.3']) {
      for (const id of REGISTRY_IDS) {
        const res = await rdap(sim, id, ip)
        assert.equal(res.status, 404, `${id} ${ip}`)
        const body = await res.json() as { errorCode: number, title: string }
        assert.equal(body.errorCode, 404)
        const w = await whois(sim.endpoints[id].whoisPort, whoisQuery(id, parseIPv4(ip)))
        assert.match(w.text, expectedText[id], `${id} ${ip}`)
        assert.equal(parseWhoisAnswer(w.text, id, parseIPv4(ip)).kind, 'not-found', `${id} ${ip}`)
      }
    }
  })

  it('accepts other RIPE flags and rejects junk without dying', async () => {
    const i = world.find(parseIPv4('62.239.237.1'))
    const n = describeNetwork(world, i)
    const ripe = sim.endpoints.ripe.whoisPort
    for (const q of ['-r -B 62.239.237.1', '-B -r -T inetnum 62.239.237.1', '62.239.237.1', '-s RIPE -r 62.239.237.1']) {
      const answer = parseWhoisAnswer((await whois(ripe, q)).text, 'ripe', parseIPv4('62.239.237.1'))
      assert.equal(answer.kind, n.registry === 'ripe' ? 'network' : 'referral', q)
    }
    const junk = await whois(ripe, 'hello world')
    assert.match(junk.text, /%ERROR:108/)
    const long = await whois(ripe, 'x'.repeat(5000))
    assert.match(long.text, /%ERROR:107: input line too long/)
    const bad = await fetch(`${sim.endpoints.arin.rdapBaseUrl}../../etc/passwd`)
    assert.equal(bad.status, 400)
    const post = await fetch(`${sim.endpoints.arin.rdapBaseUrl}ip/8.8.8.8`, { method: 'POST', body: 'x'.repeat(100_000) })
    assert.equal(post.status, 400)
    const huge = await fetch(`${sim.endpoints.arin.rdapBaseUrl}ip/8.8.8.8`, { headers: { 'x-junk': 'y'.repeat(20_000) } })
    assert.equal(huge.status, 431)
    // still serving
    assert.equal((await rdap(sim, 'arin', '8.8.8.8')).status, 200)
  })

  it('reports stats with exactly the documented shape', async () => {
    const res = await fetch(sim.statsUrl)
    assert.equal(res.status, 200)
    const stats = await res.json() as Record<string, any>
    assert.deepEqual(Object.keys(stats.registries).sort(), [...REGISTRY_IDS].sort())
    for (const id of REGISTRY_IDS) {
      assert.deepEqual(Object.keys(stats.registries[id]).sort(),
        ['bans', 'distinct_leaves', 'distinct_networks', 'leaf_answers', 'listed_networks', 'listings', 'network_answers', 'not_found', 'queries', 'rate_limited', 'redirects'], id)
      for (const v of Object.values(stats.registries[id])) assert.equal(typeof v, 'number', id)
      assert.ok(stats.registries[id].queries > 0, id)
      assert.ok(stats.registries[id].distinct_networks <= stats.registries[id].network_answers, id)
      assert.ok(stats.registries[id].distinct_leaves <= stats.registries[id].leaf_answers && stats.registries[id].leaf_answers <= stats.registries[id].network_answers, id)
    }
    assert.ok(stats.registries.arin.redirects > 0 && stats.registries.arin.not_found > 0)
    assert.deepEqual(stats, { ...stats, faults: { timeout: 0, reset: 0, truncated: 0, malformed: 0, huge: 0 } })
    const reset = await fetch(sim.statsUrl.replace('/stats', '/reset'), { method: 'POST' })
    assert.equal(reset.status, 200)
    assert.equal(sim.stats().registries.arin.queries, 0)
  })
})

describe('registry simulator budgets and bans', () => {
  before(async () => {
    world ??= await buildWorld()
  })

  it('answers a burst over budget with 429 and Retry-After, shares the budget across RDAP and WHOIS, and counts it', async () => {
    const s = await startSimulator({ world: 'flat', budgetPerSecond: 'arin=2', banAfterOverBudget: 1000 }, { world })
    try {
      const results = await Promise.all(Array.from({ length: 8 }, async () => await rdap(s, 'arin', '8.8.8.8')))
      const ok = results.filter(r => r.status === 200).length
      const limited = results.filter(r => r.status === 429)
      assert.ok(ok >= 2 && ok <= 3, `${ok} answered`)
      assert.equal(limited.length, 8 - ok)
      for (const r of limited) {
        assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/)
        const body = await r.json() as { errorCode: number }
        assert.equal(body.errorCode, 429)
      }
      const w = await whois(s.endpoints.arin.whoisPort, 'n + 8.8.8.8')
      const answer = parseWhoisAnswer(w.text, 'arin', parseIPv4('8.8.8.8'))
      assert.equal(answer.kind, 'rate-limited', w.text)
      assert.ok(answer.kind === 'rate-limited' && answer.retryAfterMs !== undefined && answer.retryAfterMs >= 1000)
      const st = s.stats().registries.arin
      assert.equal(st.queries, 9)
      assert.equal(st.rate_limited, 9 - ok)
      assert.equal(st.network_answers, ok)
      assert.equal(st.distinct_networks, 1)
      assert.equal(s.stats().registries.ripe.queries, 0)
    } finally {
      await s.close()
    }
  })

  it('bans a client that keeps querying over budget, refusing RDAP and WHOIS until the ban ends', async () => {
    const s = await startSimulator({ world: 'flat', budgetPerSecond: 'ripe=1', banAfterOverBudget: 3, banWindowMs: 60_000, banMs: 120_000 }, { world })
    try {
      const statuses: number[] = []
      for (let k = 0; k < 6; k++) statuses.push((await rdap(s, 'ripe', '62.239.237.1')).status)
      // 1 answered, 3 over budget tolerated, the 4th over budget starts the ban
      assert.deepEqual(statuses.slice(0, 4), [200, 429, 429, 429])
      const banned = await rdap(s, 'ripe', '62.239.237.1')
      assert.equal(banned.status, 403)
      const retry = Number(banned.headers.get('retry-after'))
      assert.ok(retry > 60 && retry <= 120, `Retry-After ${retry}`)
      assert.match(await banned.text(), /banned/)
      const w = await whois(s.endpoints.ripe.whoisPort, '-r 62.239.237.1')
      assert.match(w.text, /%ERROR:201: access denied/)
      const answer = parseWhoisAnswer(w.text, 'ripe', parseIPv4('62.239.237.1'))
      assert.equal(answer.kind, 'banned')
      assert.ok(answer.kind === 'banned' && answer.retryAfterMs !== undefined && answer.retryAfterMs > 60_000)
      const st = s.stats()
      assert.equal(st.registries.ripe.bans, 1)
      assert.equal(st.banned_clients.ripe, 1)
      // another registry is not affected
      assert.equal((await rdap(s, 'ripe', '8.8.8.8')).status, 403)
      assert.equal((await rdap(s, 'arin', '8.8.8.8')).status, 200)
      s.reset(true)
      assert.equal((await rdap(s, 'ripe', '62.239.237.1')).status, 200)
    } finally {
      await s.close()
    }
  })

  it('answers LACNIC bans with 429 and rate limits in LACNIC\'s and ARIN\'s wording', async () => {
    const s = await startSimulator({ world: 'flat', budgetPerSecond: 'lacnic=1/min', banAfterOverBudget: 1, banMs: 300_000 }, { world })
    try {
      assert.equal((await rdap(s, 'lacnic', '200.57.141.161')).status, 200)
      const w = await whois(s.endpoints.lacnic.whoisPort, '200.57.141.161')
      assert.match(w.text, /Query rate limit exceeded\. Try again in \d+ seconds/)
      assert.equal(parseWhoisAnswer(w.text, 'lacnic', parseIPv4('200.57.141.161')).kind, 'rate-limited')
      const b = await rdap(s, 'lacnic', '200.57.141.161')
      assert.equal(b.status, 429)
      assert.equal(b.headers.get('retry-after'), '300')
      assert.match(await b.text(), /banned/)
      assert.equal(s.stats().registries.lacnic.bans, 1)
    } finally {
      await s.close()
    }
  })
})

describe('registry simulator faults', () => {
  before(async () => {
    world ??= await buildWorld()
  })

  it('sends garbage instead of JSON or WHOIS text when the fault is "malformed"', async () => {
    const s = await startSimulator({ world: 'flat', budgetPerSecond: 'all=1000', faultRate: 1, faultKinds: ['malformed'] }, { world })
    try {
      const res = await rdap(s, 'arin', '8.8.8.8')
      assert.equal(res.status, 200)
      await assert.rejects(async () => JSON.parse(await res.text()))
      const w = await whois(s.endpoints.apnic.whoisPort, '-r 1.1.1.1')
      assert.throws(() => parseWhoisAnswer(w.text, 'apnic', parseIPv4('1.1.1.1')), { name: 'MalformedResponseError' })
      assert.equal(s.stats().faults.malformed, 2)
      assert.equal(s.stats().registries.arin.network_answers, 0)
    } finally {
      await s.close()
    }
  })

  it('streams a huge answer when the fault is "huge", without holding it in memory', async () => {
    const s = await startSimulator({ world: 'flat', budgetPerSecond: 'all=1000', faultRate: 1, faultKinds: ['huge'], hugeBytes: 256 * 2 ** 20 }, { world })
    try {
      const w = await whois(s.endpoints.ripe.whoisPort, '-r 62.239.237.1', { maxBytes: 8 * 2 ** 20 })
      assert.equal(w.error, 'too-large')
      assert.ok(w.bytes > 8 * 2 ** 20)
      const res = await rdap(s, 'ripe', '62.239.237.1')
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-length'), null)
      const reader = res.body!.getReader()
      let got = 0
      while (got < 8 * 2 ** 20) {
        const { value, done } = await reader.read()
        if (done) break
        got += value.length
      }
      await reader.cancel()
      assert.ok(got >= 8 * 2 ** 20, `read ${got}`)
      assert.equal(s.stats().faults.huge, 2)
    } finally {
      await s.close()
    }
  })

  it('delays answers by latencyMs', async () => {
    const s = await startSimulator({ world: 'flat', budgetPerSecond: 'all=1000', latencyMs: [150, 200] }, { world })
    try {
      const t0 = performance.now()
      assert.equal((await rdap(s, 'arin', '8.8.8.8')).status, 200)
      assert.ok(performance.now() - t0 >= 140, 'RDAP delayed')
      const t1 = performance.now()
      assert.match((await whois(s.endpoints.arin.whoisPort, 'n + 8.8.8.8')).text, /NetRange:/)
      assert.ok(performance.now() - t1 >= 140, 'WHOIS delayed')
    } finally {
      await s.close()
    }
  })

  it('resets, truncates or hangs the connection for those faults', async () => {
    const s = await startSimulator({ world: 'flat', budgetPerSecond: 'all=1000', faultRate: 1, faultKinds: ['reset'] }, { world })
    try {
      await assert.rejects(rdap(s, 'arin', '8.8.8.8'))
      const w = await whois(s.endpoints.arin.whoisPort, 'n + 8.8.8.8')
      assert.equal(w.text, '')
      assert.ok(w.error === 'ECONNRESET' || w.error === 'closed', w.error)
    } finally {
      await s.close()
    }
    const t = await startSimulator({ world: 'flat', budgetPerSecond: 'all=1000', faultRate: 1, faultKinds: ['truncated'] }, { world })
    try {
      const res = await rdap(t, 'arin', '8.8.8.8')
      assert.equal(res.status, 200)
      await assert.rejects(res.text())
      const w = await whois(t.endpoints.arin.whoisPort, 'n + 8.8.8.8')
      assert.ok(w.text.length > 0 && !w.text.includes('OrgName'), 'half an answer')
      assert.equal(w.error, undefined, 'WHOIS closes cleanly: only the parser can tell the answer is cut')
      assert.throws(() => parseWhoisAnswer(w.text, 'arin', parseIPv4('8.8.8.8')), (err: unknown) => err instanceof TransientLookupError && err.kind === 'truncated')
    } finally {
      await t.close()
    }
    const h = await startSimulator({ world: 'flat', budgetPerSecond: 'all=1000', faultRate: 1, faultKinds: ['timeout'], hangMs: 300 }, { world })
    try {
      const t0 = performance.now()
      const w = await whois(h.endpoints.arin.whoisPort, 'n + 8.8.8.8')
      assert.equal(w.text, '')
      assert.ok(performance.now() - t0 >= 250, 'held the connection')
      // close() drops a hanging connection at once
      const pending = whois(h.endpoints.ripe.whoisPort, '-r 2.2.2.2')
      await new Promise(resolve => setTimeout(resolve, 50))
      const c0 = performance.now()
      await h.close()
      assert.ok(performance.now() - c0 < 1000)
      assert.equal((await pending).text, '')
      assert.equal(h.stats().faults.timeout, 2)
    } finally {
      await h.close()
    }
  })
})
