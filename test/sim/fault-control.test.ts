/**
 * The simulator's fault plan changed while it runs, over its control server: faults switched on
 * for some registries and off again (so a registry can recover), 429 storms, ban storms, and huge
 * answers of a chosen size streamed without being held in memory.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { parseIPv4 } from '../../src/util/ipv4.js'
import { parseWhoisAnswer } from '../../src/lookup/whois-parser.js'
import { startSimulator, type Simulator } from '../../src/sim/index.js'
import { buildWorld, type World } from '../../src/sim/world.js'
import { waitFor } from '../helpers/cli.js'
import { whois } from '../helpers/whois.js'

let world: World

before(async () => {
  world = await buildWorld()
})

async function rdap (s: Simulator, registry: RegistryId, address: string): Promise<Response> {
  return await fetch(`${s.endpoints[registry].rdapBaseUrl}ip/${address}`, { redirect: 'manual' })
}


async function control (s: Simulator, path: string, body: unknown): Promise<{ status: number, json: any }> {
  const res = await fetch(s.statsUrl.replace('/stats', path), { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  return { status: res.status, json: await res.json() }
}

describe('registry simulator fault plan at run time', () => {
  let sim: Simulator
  before(async () => {
    sim = await startSimulator({ world: 'flat', budgetPerSecond: 'all=1000' }, { world })
  })
  after(async () => { await sim?.close() })

  it('switches faults on for the registries named and off again over POST /faults, and says what is in force', async () => {
    assert.equal((await rdap(sim, 'arin', '8.8.8.8')).status, 200)
    const on = await control(sim, '/faults', { rate: 1, kinds: ['malformed'], registries: ['arin'] })
    assert.equal(on.status, 200)
    assert.deepEqual({ rate: on.json.rate, kinds: on.json.kinds, registries: on.json.registries }, { rate: 1, kinds: ['malformed'], registries: ['arin'] })
    const bad = await rdap(sim, 'arin', '8.8.8.8')
    await assert.rejects(async () => JSON.parse(await bad.text()), 'ARIN answers garbage')
    const w = await whois(sim.endpoints.arin.whoisPort, 'n + 8.8.8.8')
    assert.throws(() => parseWhoisAnswer(w.text, 'arin', parseIPv4('8.8.8.8')), { name: 'MalformedResponseError' })
    // the other registries are not affected
    assert.equal((await rdap(sim, 'ripe', '62.239.237.1')).status, 200)
    assert.equal(sim.stats().faults.malformed, 2)
    assert.deepEqual(sim.stats().fault_plan.registries, ['arin'])

    const off = await control(sim, '/faults', { rate: 0 })
    assert.equal(off.json.rate, 0)
    const good = await rdap(sim, 'arin', '8.8.8.8')
    assert.equal(good.status, 200)
    assert.equal((await good.json() as { handle: string }).handle.length > 0, true, 'ARIN recovered')
    const plan = await (await fetch(sim.statsUrl.replace('/stats', '/faults'))).json() as any
    assert.equal(plan.rate, 0)
  })

  it('refuses a bad fault plan with 400 naming the field, and keeps the plan in force', async () => {
    await control(sim, '/faults', { rate: 0, kinds: 'reset,timeout', registries: 'all' })
    for (const [body, field] of [
      [{ rate: 2 }, /^rate: /],
      [{ kinds: ['reset', 'gremlins'] }, /unknown fault "gremlins"/],
      [{ registries: ['arin', 'iana'] }, /^registries: unknown registry "iana"/],
      [{ hugeBytes: 0 }, /^hugeBytes: /],
      [{ rtae: 1 }, /^rtae: unknown field/],
      ['{not json', /^body: not JSON/]
    ] as Array<[unknown, RegExp]>) {
      const r = await control(sim, '/faults', body)
      assert.equal(r.status, 400, JSON.stringify(body))
      assert.match(r.json.error, field, JSON.stringify(body))
    }
    const bad = await control(sim, '/storm', { mode: 'hail', ms: 10 })
    assert.equal(bad.status, 400)
    assert.match(bad.json.error, /^mode: /)
    assert.deepEqual(sim.stats().fault_plan.kinds, ['reset', 'timeout'])
    assert.deepEqual(sim.stats().fault_plan.registries, [...REGISTRY_IDS])
  })

  it('answers every query of a registry 429 with Retry-After during a rate-limit storm, then recovers by itself', async () => {
    sim.reset(true)
    const r = await control(sim, '/storm', { mode: 'rate-limit', ms: 1500, registries: ['ripe'], retryAfterSeconds: 7 })
    assert.equal(r.status, 200)
    assert.equal(r.json.storms.ripe.mode, 'rate-limit')
    for (let i = 0; i < 3; i++) {
      const res = await rdap(sim, 'ripe', '62.239.237.1')
      assert.equal(res.status, 429, `query ${i}`)
      assert.equal(res.headers.get('retry-after'), '7')
    }
    const w = await whois(sim.endpoints.ripe.whoisPort, '-r 62.239.237.1')
    const answer = parseWhoisAnswer(w.text, 'ripe', parseIPv4('62.239.237.1'))
    assert.equal(answer.kind, 'rate-limited', w.text)
    assert.equal((await rdap(sim, 'arin', '8.8.8.8')).status, 200, 'ARIN is not in the storm')
    const st = sim.stats()
    assert.equal(st.storm_refusals.ripe, 4)
    assert.equal(st.registries.ripe.rate_limited, 4)
    assert.equal(st.registries.ripe.bans, 0)
    await waitFor(() => sim.stats().fault_plan.storms.ripe === undefined, 5000, 'the storm to end')
    assert.equal((await rdap(sim, 'ripe', '62.239.237.1')).status, 200, 'RIPE answers again after the storm')
  })

  it('bans every client for the length of a ban storm, counting one ban per client, then lets them back', async () => {
    sim.reset(true)
    await control(sim, '/storm', { mode: 'ban', ms: 1500, registries: 'apnic,lacnic' })
    const res = await rdap(sim, 'apnic', '1.1.1.1')
    assert.equal(res.status, 403)
    assert.ok(Number(res.headers.get('retry-after')) >= 1)
    assert.match(await res.text(), /banned/)
    assert.equal((await rdap(sim, 'lacnic', '200.57.141.161')).status, 429, 'LACNIC answers bans with 429')
    const w = await whois(sim.endpoints.apnic.whoisPort, '-r 1.1.1.1')
    assert.equal(parseWhoisAnswer(w.text, 'apnic', parseIPv4('1.1.1.1')).kind, 'banned', w.text)
    const st = sim.stats()
    assert.equal(st.registries.apnic.bans, 1, 'one client, one ban')
    assert.equal(st.storm_bans.apnic, 1)
    assert.equal(st.storm_bans.lacnic, 1)
    assert.equal(st.banned_clients.apnic, 1)
    assert.equal(st.storm_refusals.apnic, 2)
    // ms 0 ends it at once
    await control(sim, '/storm', { ms: 0, registries: ['apnic'] })
    assert.equal((await rdap(sim, 'apnic', '1.1.1.1')).status, 200)
    await waitFor(async () => (await rdap(sim, 'lacnic', '200.57.141.161')).status === 200, 5000, 'LACNIC to let the client back')
  })

  it('streams a 100 MiB huge answer of the size asked for without holding it in memory', async () => {
    const size = 100 * 2 ** 20
    await control(sim, '/faults', { rate: 1, kinds: ['huge'], registries: ['afrinic'], hugeBytes: size })
    const before = process.memoryUsage().rss
    let peak = before
    const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 20)
    const w = await whois(sim.endpoints.afrinic.whoisPort, '-r 41.0.0.1', { maxBytes: Infinity, keepBytes: 64 * 1024 })
    clearInterval(timer)
    assert.equal(w.error, undefined)
    assert.equal(w.bytes, size, 'the whole answer, exactly hugeBytes')
    // the simulator and this reader share the process: neither held the answer
    assert.ok(peak - before < 48 * 2 ** 20, `RSS grew by ${Math.round((peak - before) / 2 ** 20)} MiB while 100 MiB were streamed`)
    await control(sim, '/faults', { hugeBytes: 4096 })
    const small = await whois(sim.endpoints.afrinic.whoisPort, '-r 41.0.0.1')
    assert.equal(small.bytes, 4096)
    await control(sim, '/faults', { rate: 0 })
    assert.equal(sim.stats().faults.huge, 2)
  })
})
