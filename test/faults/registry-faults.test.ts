/**
 * Scenario 4 — registry misbehaviour. The registry simulator runs as its own process
 * (`whoismesh sim`) and a crawler node as another (`whoismesh node start`), and the simulator's
 * fault plan is changed while the node crawls, over its control server:
 *
 *   1. random faults on every registry: hangs (timeouts), connection resets, truncated answers,
 *      malformed answers and 100 MiB answers;
 *   2. a 429 storm at ARIN (every answer 429, Retry-After 1) and, at the same time, a ban of every
 *      client at APNIC;
 *   3. an ARIN outage (every answer reset, hung or garbage), long enough for the node to give
 *      addresses up;
 *   4. recovery: no faults.
 *
 * Pass conditions: the node never crashes (runs until stopped, exits 0, no error logs); it never
 * goes over the budget (every 429 and ban the simulator counted is one the storms caused); it backs
 * off (retry delays and rate-limit pauses grow, and during the storm it sends almost nothing to
 * ARIN); what it gave up on is stored as failures with the reason; and once ARIN recovers the
 * running node asks those addresses again by itself and ends with every sample address answered
 * exactly as a clean crawl of the same sample answers it (the simulator's default, nested world;
 * the node's default, exact rule: listings of containers' children go through the faults too). Its memory stays bounded (100 MiB answers
 * are cut at the client's cap).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { FAULT_KINDS, type SimStats } from '../../src/sim/index.js'
import { runCli, spawnCli, waitFor, coverageJson } from '../helpers/cli.js'
import { startNode, waitForLog, killAll, type FleetNode } from '../helpers/fleet.js'
import { recordFigures, HEAVY } from './report.js'
import { answerDifferences, answersOf, describeJudgement, httpTruth, judgeExact } from '../helpers/exact.js'
import { sampleSlice } from '../../src/sample/index.js'

const SAMPLE_LIMIT = HEAVY ? 4000 : 1500
const BUDGET_PER_SECOND = 50
const BUDGET = `all=${BUDGET_PER_SECOND}`
const HUGE_BYTES = 100 * 2 ** 20
/** the 429 storm at ARIN and the ban at APNIC */
const STORM_MS = 8000
const BAN_MS = 6000
/** addresses given up on before ARIN recovers */
const GIVE_UPS_WANTED = 10
/** the node's cool-down before it asks a given-up address again */
const RETRY_FAILED_AFTER_S = 4

let dir: string
let sim: ChildProcess
let simExited: Promise<number | null>
let registries: string
let statsUrl: string
const nodes: FleetNode[] = []
/** from the clean crawl */
let reference: { answers: string[], networks: number, negatives: number, peakRssMiB?: number, seconds: number } | undefined

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-regfaults-'))
  registries = join(dir, 'registries.json')
  sim = spawnCli(['sim', '--budget', BUDGET, '--registries-out', registries, '--huge-bytes', String(HUGE_BYTES), '--hang-ms', '3000'])
  let simErr = ''
  sim.stderr!.setEncoding('utf8').on('data', (d: string) => { simErr = (simErr + d).slice(-4000) })
  sim.stdout!.resume()
  simExited = new Promise(resolve => sim.on('close', code => resolve(code)))
  await waitFor(() => existsSync(registries) || sim.exitCode != null, 60_000, 'the simulator to write its registries file')
  assert.ok(sim.exitCode == null, `the simulator exited: ${simErr}`)
  statsUrl = JSON.parse(await readFile(registries, 'utf8')).stats
})

after(async () => {
  await killAll(nodes)
  if (sim != null && sim.exitCode == null) {
    sim.kill('SIGTERM')
    await simExited
  }
  await rm(dir, { recursive: true, force: true })
})

async function stats (): Promise<SimStats> {
  return await (await fetch(statsUrl)).json() as SimStats
}

async function control (path: string, body: unknown = {}): Promise<any> {
  const res = await fetch(statsUrl.replace(/\/stats$/, path), { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  const json = await res.json()
  assert.equal(res.status, 200, `POST ${path}: ${JSON.stringify(json)}`)
  return json
}

const sum = (s: SimStats, field: keyof SimStats['registries']['arin']): number => REGISTRY_IDS.reduce((n, id) => n + s.registries[id][field], 0)

/** Peak resident memory of a process so far (VmHWM), in MiB; undefined where /proc has none. */
function peakRssMiB (pid: number | undefined): number | undefined {
  if (pid == null) return undefined
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m != null ? Number(m[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

/** Samples the peak RSS of a running process until stopped; returns the last reading. */
function watchRss (child: ChildProcess): () => number | undefined {
  let peak: number | undefined
  const t = setInterval(() => { peak = peakRssMiB(child.pid) ?? peak }, 250)
  return () => { clearInterval(t); return peak }
}

const coverage = async (data: string): Promise<any> => await coverageJson(data, 60_000)

/** The network identities one store holds and the other does not, for the message of a failed comparison. */
async function differences (a: string, b: string): Promise<string> {
  const dump = async (data: string): Promise<Set<string>> => {
    const r = await runCli(['dump', '--data', data], { timeoutMs: 60_000 })
    assert.equal(r.code, 0, r.stderr)
    return new Set(r.stdout.split('\n').filter(l => l !== '').map(l => {
      const r = JSON.parse(l)
      // what digests cover (NetworkIdentity)
      return JSON.stringify([r.start_address, r.end_address, r.registry, r.handle, r.name, r.org, r.country])
    }))
  }
  const [x, y] = [await dump(a), await dump(b)]
  const only = (p: Set<string>, q: Set<string>): string[] => [...p].filter(k => !q.has(k)).slice(0, 5)
  return `only in ${a}: ${only(x, y).join(' ')}; only in ${b}: ${only(y, x).join(' ')}`
}

/** No crash: no error-level log line, no "internal error", no stack trace. */
function assertNoCrash (node: FleetNode): void {
  const errors = node.logs.filter(l => l.level === 'error' || l.level === 'fatal')
  assert.deepEqual(errors.map(l => `${String(l.msg)} ${JSON.stringify(l)}`.slice(0, 300)), [], `${node.name} logged errors`)
  assert.doesNotMatch(node.stderrTail, /internal error|^\s+at .+:\d+:\d+\)?$/m, `${node.name} printed an internal error or a stack trace`)
}

test('a clean crawl of the sample (the reference for the faulted one)', async () => {
  await control('/reset?limits=1')
  const t0 = performance.now()
  const node = startNode({ dir, name: 'clean', registries, sampleLimit: SAMPLE_LIMIT, exitWhenDone: true, extraArgs: ['--budget', BUDGET] })
  nodes.push(node)
  const stopRss = watchRss(node.child)
  const { code } = await node.exited
  const peak = stopRss()
  assert.equal(code, 0, node.stderrTail.slice(-2000))
  assertNoCrash(node)
  const cov = await coverage(node.data)
  assert.equal(cov.sample_exact, SAMPLE_LIMIT)
  const s = await stats()
  assert.equal(sum(s, 'rate_limited'), 0, 'a clean crawl is never rate-limited')
  const j = await judgeExact(node.data, sampleSlice(SAMPLE_LIMIT), httpTruth(statsUrl))
  assert.ok(j.outside === 0 && j.rate >= 0.995, `the clean crawl's answers: ${describeJudgement(j)}`)
  reference = { answers: await answersOf(node.data, sampleSlice(SAMPLE_LIMIT)), networks: cov.networks, negatives: cov.negatives, peakRssMiB: peak, seconds: (performance.now() - t0) / 1000 }
})

test('a node crawling through timeouts, resets, bad and 100 MiB answers, a 429 storm, a ban and an outage stays within budget, backs off, records what failed and finishes once the registry recovers', async () => {
  assert.ok(reference != null, 'the clean crawl must run first')
  await control('/reset?limits=1')
  // 1. random faults of every kind on every registry, from the first query
  await control('/faults', { rate: 0.12, kinds: [...FAULT_KINDS], registries: 'all', hugeBytes: HUGE_BYTES, hangMs: 3000 })
  const t0 = performance.now()
  const node = startNode({
    dir,
    name: 'faulted',
    registries,
    sampleLimit: SAMPLE_LIMIT,
    extraArgs: ['--budget', BUDGET, '--timeout-ms', '2000', '--retry-failed-after', String(RETRY_FAILED_AFTER_S), '--verbose']
  })
  nodes.push(node)
  const stopRss = watchRss(node.child)
  // the simulator's counters every half second, for the request rates
  const snapshots: Array<{ at: number, s: SimStats }> = []
  let polling = true
  const poller = (async () => {
    while (polling) {
      try {
        snapshots.push({ at: performance.now(), s: await stats() })
      } catch {} // a failed poll only leaves a gap in the rates
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  })()
  const alive = (): boolean => node.child.exitCode == null && node.child.signalCode == null
  try {
    await waitFor(async () => {
      assert.ok(alive(), `the node exited: ${node.stderrTail.slice(-1500)}`)
      return sum(await stats(), 'network_answers') >= 250
    }, 90_000, '250 network answers under random faults')

    // 2. a 429 storm at ARIN and a ban of every client at APNIC, together
    const beforeStorm = await stats()
    const stormAt = performance.now()
    await control('/storm', { mode: 'rate-limit', ms: STORM_MS, registries: ['arin'], retryAfterSeconds: 1 })
    await control('/storm', { mode: 'ban', ms: BAN_MS, registries: ['apnic'] })
    await waitFor(async () => Object.keys((await stats()).fault_plan.storms).length === 0, STORM_MS + 10_000, 'the storms to end')
    const afterStorm = await stats()
    const stormSeconds = (performance.now() - stormAt) / 1000
    // every query during a storm is refused by it, and counted apart
    const arinDuringStorm = afterStorm.storm_refusals.arin - beforeStorm.storm_refusals.arin
    const apnicDuringBan = afterStorm.storm_refusals.apnic - beforeStorm.storm_refusals.apnic
    assert.ok(alive(), 'the node survived the storms')

    // 3. an ARIN outage: every answer reset, hung or garbage, until addresses are given up on
    await control('/faults', { rate: 1, kinds: ['reset', 'timeout', 'malformed'], registries: ['arin'] })
    const givenUp = (): Set<string> => new Set(node.logs.filter(l => l.msg === 'giving up on address').map(l => String(l.address)))
    await waitFor(() => {
      assert.ok(alive(), `the node exited: ${node.stderrTail.slice(-1500)}`)
      return givenUp().size >= GIVE_UPS_WANTED
    }, 90_000, `${GIVE_UPS_WANTED} addresses given up on during the outage`)
    // what was given up on is stored, as failures
    const during = await coverage(node.data)
    assert.ok(during.failures >= 1, `coverage while ARIN is down shows ${String(during.failures)} failures`)
    assert.ok(during.sample_resolved < SAMPLE_LIMIT)

    // 4. recovery
    await control('/faults', { rate: 0 })
    const recoveredAt = performance.now()
    await waitForLog(node, 'crawl complete', 150_000)
    const finishSeconds = (performance.now() - recoveredAt) / 1000
    assert.ok(alive(), 'the node keeps serving once done')
    const final = await coverage(node.data)
    assert.equal(final.sample_exact, SAMPLE_LIMIT, 'every sample address answered exactly')
    assert.equal(final.failures, 0, 'every failure cleared by a later answer')

    polling = false
    await poller
    node.child.kill('SIGTERM')
    const { code } = await node.exited
    const peak = stopRss()
    assert.equal(code, 0, `the node exited ${String(code)} when stopped: ${node.stderrTail.slice(-1500)}`)
    assertNoCrash(node)
    // the same answer for every sample address as the clean crawl (the networks stored besides
    // may differ: which containers were listed depends on the order answers came in)
    const sample = sampleSlice(SAMPLE_LIMIT)
    const answers = await answersOf(node.data, sample)
    const differ = answerDifferences(answers, reference.answers, sample)
    if (differ.length > 0) {
      assert.fail(`the faulted crawl answers differently from a clean one: ${differ.join('; ')} ` +
        `(networks ${String(final.networks)} against ${String(reference.networks)}, notes ${String(final.negatives)} against ${String(reference.negatives)}; ${await differences(join(dir, 'clean'), node.data)})`)
    }
    const totalSeconds = (performance.now() - t0) / 1000

    // --- every fault kind was injected, and the storms were answered as planned
    const s = await stats()
    const faults = s.faults
    for (const k of FAULT_KINDS) assert.ok(faults[k] > 0, `no "${k}" fault was injected`)
    assert.ok(s.storm_refusals.arin > 0, 'the node never met the 429 storm')
    assert.equal(s.storm_bans.apnic, 1, 'the node met the APNIC ban once')

    // --- budget: every 429 and every ban the simulator counted is one the storms caused
    for (const id of REGISTRY_IDS) {
      assert.equal(s.registries[id].rate_limited, s.storm_refusals[id], `${id}: ${s.registries[id].rate_limited - s.storm_refusals[id]} answers over budget`)
      assert.equal(s.registries[id].bans, s.storm_bans[id], `${id}: a ban the node earned itself`)
    }
    // request rates per registry over windows of at least 3 s
    let maxRate = 0
    let maxRateAt = ''
    for (let i = 0; i < snapshots.length; i++) {
      let j = i + 1
      while (j < snapshots.length && snapshots[j].at - snapshots[i].at < 3000) j++
      if (j >= snapshots.length) break
      for (const id of REGISTRY_IDS) {
        const rate = (snapshots[j].s.registries[id].queries - snapshots[i].s.registries[id].queries) / ((snapshots[j].at - snapshots[i].at) / 1000)
        if (rate > maxRate) { maxRate = rate; maxRateAt = id }
      }
    }
    assert.ok(maxRate <= BUDGET_PER_SECOND * 1.1, `${maxRateAt} saw ${maxRate.toFixed(1)} requests/s (budget ${BUDGET_PER_SECOND}/s)`)

    // --- back-off: during the storm ARIN heard almost nothing, and the pauses grew
    const allowed = BUDGET_PER_SECOND * stormSeconds
    assert.ok(arinDuringStorm <= allowed * 0.1, `${arinDuringStorm} requests to ARIN during an ${stormSeconds.toFixed(1)} s storm (the budget allows ${Math.round(allowed)})`)
    const pauses = node.logs.filter(l => l.msg === 'registry rate-limited us; backing off' && l.registry === 'arin' && l.banned !== true).map(l => Number(l.pauseMs))
    const steps = pauses.filter((p, i) => i === 0 || p !== pauses[i - 1])
    // for a failure's message: ARIN's refusals and answers from the storm on, ms after its start
    const stormTimeline = (): string => {
      const start = Date.now() - (performance.now() - stormAt)
      return node.logs
        .filter(l => l.registry === 'arin' && (l.msg === 'registry rate-limited us; backing off' || l.msg === 'network stored') && Date.parse(String(l.time)) >= start)
        .slice(0, 40)
        .map(l => `${Date.parse(String(l.time)) - start}:${l.msg === 'network stored' ? 'answer' : `429(${String(l.pauseMs)})`}`)
        .join(' ')
    }
    assert.ok(steps.length >= 2, `ARIN pauses did not grow: ${pauses.join(', ')}; ARIN from the storm on: ${stormTimeline()}`)
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i] > steps[i - 1], `ARIN pauses shrank while the storm went on: ${pauses.join(', ')}; ARIN from the storm on: ${stormTimeline()}`)
    assert.ok(apnicDuringBan <= BUDGET_PER_SECOND * BAN_MS / 1000 * 0.1, `${apnicDuringBan} requests to APNIC during the ${BAN_MS / 1000} s ban`)
    const banPauses = node.logs.filter(l => l.msg === 'registry rate-limited us; backing off' && l.registry === 'apnic' && l.banned === true).map(l => Number(l.pauseMs))
    // transient retries: per address and round (a give-up starts a new round after the
    // cool-down, with fresh attempts), each delay doubles the one before
    const rounds: number[][] = []
    const current = new Map<string, number[]>()
    for (const l of node.logs) {
      const address = String(l.address)
      if (l.msg === 'giving up on address') {
        const r = current.get(address)
        if (r != null) rounds.push(r)
        current.delete(address)
      } else if (l.msg === 'lookup failed; will retry' && String(l.error).startsWith('TransientLookupError')) {
        current.set(address, [...(current.get(address) ?? []), Number(l.delayMs)])
      }
    }
    rounds.push(...current.values())
    let doubled = 0
    for (const delays of rounds) {
      for (let i = 1; i < delays.length; i++) assert.equal(delays[i], Math.min(60_000, 2 * delays[i - 1]), `retry delays in one round: ${delays.join(', ')}`)
      if (delays.length >= 2) doubled++
    }
    assert.ok(doubled >= 1, 'no address was retried twice with a growing delay')
    const maxRetryDelay = Math.max(...rounds.flat())

    // --- what was given up on, with the reason, and asked again after the cool-down
    const giveUps = node.logs.filter(l => l.msg === 'giving up on address')
    assert.ok(giveUps.length >= GIVE_UPS_WANTED)
    const byReason: Record<string, number> = {}
    for (const g of giveUps) {
      const reason = String(g.reason)
      assert.match(reason, /^(TransientLookupError\((timeout|reset|too-large|server-error|truncated)\)|MalformedResponseError): \S/, `reason of ${String(g.address)}`)
      assert.ok(Number(g.retryInMs) >= RETRY_FAILED_AFTER_S * 1000, `${String(g.address)} is not asked again after a cool-down`)
      const kind = reason.replace(/:.*$/s, '')
      byReason[kind] = (byReason[kind] ?? 0) + 1
    }

    // --- memory: 100 MiB answers were cut at the client's cap
    if (peak != null && reference.peakRssMiB != null) {
      assert.ok(peak <= reference.peakRssMiB + 64, `peak RSS ${peak.toFixed(0)} MiB against ${reference.peakRssMiB.toFixed(0)} MiB for the clean crawl`)
    }

    await recordFigures({
      scenario: '4-registry-faults',
      title: 'Registry misbehaviour: timeouts, resets, bad and 100 MiB answers, a 429 storm, a ban, an outage',
      injected: `whoismesh sim (${BUDGET}) as its own process, one node (--budget ${BUDGET}, --timeout-ms 2000, --retry-failed-after ${RETRY_FAILED_AFTER_S}) on ${SAMPLE_LIMIT} sample addresses; ` +
        `12% of answers faulted (timeout/reset/truncated/malformed/huge of ${HUGE_BYTES / 2 ** 20} MiB) on every registry; then an ${STORM_MS / 1000} s 429 storm at ARIN (Retry-After 1) with a ${BAN_MS / 1000} s ban of every client at APNIC; ` +
        `then an ARIN outage (every answer reset, hung or malformed) until ${GIVE_UPS_WANTED} addresses were given up on; then recovery`,
      checked: 'node runs until stopped and exits 0 with no error log; every 429 and ban counted by the simulator was caused by a storm (no over-budget answer); requests to ARIN during the storm ≤ 10% of the budget and the pauses grew; transient retry delays doubled; ' +
        'give-ups stored as failures with their reason; after recovery the running node, unrestarted, answered every sample address as the clean crawl did; peak RSS ≤ clean crawl + 64 MiB',
      figures: {
        'sample addresses': SAMPLE_LIMIT,
        ...Object.fromEntries(FAULT_KINDS.map(k => [`faults injected: ${k}`, faults[k]])),
        '429s answered (all storm)': sum(s, 'rate_limited'),
        'bans (all from the ban storm)': sum(s, 'bans'),
        'over-budget answers': sum(s, 'rate_limited') - REGISTRY_IDS.reduce((n, id) => n + s.storm_refusals[id], 0),
        'requests to ARIN during the 429 storm': arinDuringStorm,
        'storm length s': Number(stormSeconds.toFixed(1)),
        'requests the budget allowed in that time': Math.round(allowed),
        'requests to APNIC during the ban': apnicDuringBan,
        'ARIN pauses ms (in order)': steps.join(' → '),
        'APNIC ban pauses ms': [...new Set(banPauses)].join(', ') || '-',
        'max requests/s to one registry (3 s windows)': Number(maxRate.toFixed(1)),
        'retry rounds with a doubled delay': doubled,
        'longest retry delay ms': maxRetryDelay,
        'give-ups recorded': giveUps.length,
        'distinct addresses given up on': givenUp().size,
        ...Object.fromEntries(Object.entries(byReason).map(([k, v]) => [`give-ups: ${k}`, v])),
        'failures stored during the outage': during.failures,
        'failures left at the end': final.failures,
        'time to finish after recovery s': Number(finishSeconds.toFixed(1)),
        'faulted crawl s': Number(totalSeconds.toFixed(1)),
        'clean crawl s': Number(reference.seconds.toFixed(1)),
        'peak RSS MiB (faulted)': peak != null ? Math.round(peak) : 'n/a',
        'peak RSS MiB (clean)': reference.peakRssMiB != null ? Math.round(reference.peakRssMiB) : 'n/a',
        'answers equal to the clean crawl\'s': 'yes',
        crashes: 0
      }
    })
  } finally {
    polling = false
    await poller
    stopRss()
  }
})
