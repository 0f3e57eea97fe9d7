/**
 * The exact-answer rate (issue 12), end to end: the registry simulator in this process, real
 * `whoismesh node start` child processes crawling the first SAMPLE_LIMIT sample addresses, then
 * the judge of test/helpers/exact.ts against the simulator's ground truth (for judges only).
 *
 * - Both rules, both worlds: the crawl completes; every answer holds the registry's own network
 *   for the address (exact, or a coarse container of it — never a network beside it).
 * - The covered (2016) rule: exact in the flat world, where every address lies in one network; in
 *   the nested world it skips addresses inside a container it already knows, so some answers are
 *   containers whose truth is a more specific leaf, and the judge must see them (a 100% rate there
 *   would mean the nested world or the judge is broken).
 * - The exact rule (the default): in the nested world, one node and a fleet of three answer at
 *   least 99.5% of the judged addresses with their truth, and `lookup` marks an answer exact.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildWorld, defaultSimulatorOptions, NestedWorld, startSimulator, truthFor, writeRegistriesFile, type World, type WorldKind } from '../../src/sim/index.js'
import { sampleSlice } from '../../src/sample/index.js'
import { formatIPv4 } from '../../src/util/ipv4.js'
import { runCli } from '../helpers/cli.js'
import { killAll, startNode, waitForLog, type FleetNode } from '../helpers/fleet.js'
import { describeJudgement, httpTruth, inProcessTruth, judgeExact, type ExactJudgement } from '../helpers/exact.js'

const SAMPLE_LIMIT = 3000
const BUDGET = 'all=400'
const LISTEN = '/ip4/127.0.0.1/tcp/0'

let dir: string
let world: World
let nested: NestedWorld

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-exact-'))
  world = await buildWorld({ transferRate: defaultSimulatorOptions.transferRate })
  nested = new NestedWorld(world, defaultSimulatorOptions.worldSeed)
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** One node crawls the sample against a simulator of `kind`; returns its data dir and the judgement. */
async function crawlAndJudge (kind: WorldKind, resolve: 'exact' | 'covered'): Promise<{ data: string, j: ExactJudgement }> {
  const sim = await startSimulator({ budgetPerSecond: BUDGET, world: kind }, kind === 'nested' ? { nested } : { world })
  try {
    const registries = join(dir, `${kind}-registries.json`)
    await writeRegistriesFile(sim, registries)
    const data = join(dir, `${kind}-${resolve}`)
    const r = await runCli(['node', 'start', '--data', data, '--registries', registries, '--sample-limit', String(SAMPLE_LIMIT), '--resolve', resolve, '--exit-when-done', '--log-format', 'json', '--listen', LISTEN], { timeoutMs: 60_000 })
    assert.equal(r.code, 0, `node exited ${String(r.code ?? r.signal)}: ${r.stderr.slice(-2000)}`)
    assert.match(r.stderr, /"crawl complete"/, 'the crawl did not complete')
    const j = await judgeExact(data, sampleSlice(SAMPLE_LIMIT), inProcessTruth(kind === 'nested' ? nested : world))
    // a judge in another process asks the control server: the same truth, the same judgement
    assert.deepEqual(await judgeExact(data, sampleSlice(SAMPLE_LIMIT), httpTruth(sim.statsUrl)), j)
    return { data, j }
  } finally {
    await sim.close()
  }
}

/** What holds in both worlds: every sample address resolved, every answer holding its truth. */
function assertSound (j: ExactJudgement): void {
  assert.equal(j.sample, SAMPLE_LIMIT)
  assert.equal(j.outside, 0, `sample addresses in no stored network: ${describeJudgement(j)}`)
  assert.equal(j.other, 0, `answers that do not hold the registry's network: ${describeJudgement(j)}`)
  assert.equal(j.exact + j.coarse, j.judged)
  assert.ok(j.judged >= SAMPLE_LIMIT * 0.5, `only ${j.judged} addresses judged: ${describeJudgement(j)}`)
}

test('flat world: with the covered rule every answer is the registry\'s own network', async (t) => {
  const { j } = await crawlAndJudge('flat', 'covered')
  t.diagnostic(describeJudgement(j))
  assertSound(j)
  assert.equal(j.coarse, 0, describeJudgement(j))
  assert.equal(j.exact, j.judged, describeJudgement(j))
  assert.equal(j.rate, 1)
})

test('nested world: the covered rule leaves coarse answers, and the judge sees them', async (t) => {
  const { data, j } = await crawlAndJudge('nested', 'covered')
  t.diagnostic(describeJudgement(j))
  assertSound(j)
  assert.ok(j.exact > 0, describeJudgement(j))
  assert.ok(j.coarse > 0, `no coarse answer: the nested world or the judge is broken: ${describeJudgement(j)}`)
  assert.ok(j.coarseLeafTruth > 0, `no coarse answer hides a leaf: ${describeJudgement(j)}`)
  assert.ok(j.rate < 1)
  assert.ok(j.truthNetworks > j.answerNetworks, `the sample touches ${j.truthNetworks} truth networks, the answers ${j.answerNetworks}`)

  // the judge reads what `whoismesh lookup` reports: a coarse answer is the lookup's first network,
  // and the lookup marks it as possibly coarse
  const w = j.examples.coarse[0]
  const r = await runCli(['lookup', w.address, '--data', data, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const lr = JSON.parse(r.stdout)
  assert.equal(lr.status, 'network')
  assert.equal(`${String(lr.networks[0].start_address)} - ${String(lr.networks[0].end_address)}`, w.answer)
  assert.equal(lr.networks[0].registry, w.answerRegistry)
  assert.equal(lr.exact, false, `lookup ${w.address} claims an exact answer that is coarse: ${r.stdout}`)
})

test('nested world: with the exact rule one node answers every judged address with its registry\'s own network', async (t) => {
  const { data, j } = await crawlAndJudge('nested', 'exact')
  t.diagnostic(describeJudgement(j))
  assertSound(j)
  assert.ok(j.rate >= 0.995, describeJudgement(j))
  assert.equal(j.coarseLeafTruth, 0, describeJudgement(j))

  // what the judge read is what `lookup` reports, marked exact
  const sample = sampleSlice(SAMPLE_LIMIT)
  for (const address of [sample[0], sample[Math.floor(SAMPLE_LIMIT / 2)], sample[SAMPLE_LIMIT - 1]]) {
    const truth = truthFor(nested, address)
    if (truth === undefined) continue
    const r = await runCli(['lookup', formatIPv4(address), '--data', data, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const lr = JSON.parse(r.stdout)
    assert.equal(`${String(lr.networks[0].start_address)} - ${String(lr.networks[0].end_address)}`, `${truth.start} - ${truth.end}`)
    assert.equal(lr.exact, true, r.stdout)
  }

  // complete listings are recorded on their containers (listed_sample), not as a note per address:
  // every 'answered' note is an address the node asked itself
  const cov = await runCli(['coverage', '--json', '--data', data, '--sample-limit', String(SAMPLE_LIMIT)])
  assert.equal(cov.code, 0, cov.stderr)
  const report = JSON.parse(cov.stdout)
  t.diagnostic(`listed ${String(report.listed_networks)}, listings ${String(report.listings)}, answered ${String(report.answered_addresses)}, lookups ${String(report.lookups)}, coarse ${String(report.sample_coarse)}`)
  assert.ok(report.listed_networks > 0 && report.listed_networks <= report.listings, cov.stdout)
  assert.ok(report.answered_addresses <= report.lookups, `more 'answered' notes than lookups: ${cov.stdout}`)
  assert.ok(report.sample_coarse <= SAMPLE_LIMIT * 0.005, cov.stdout)
  const dump = await runCli(['dump', '--data', data])
  const listed = dump.stdout.trim().split('\n').map(l => JSON.parse(l)).filter(r => r.listed_sample !== null)
  assert.equal(listed.length, report.listed_networks)
  assert.ok(listed.every(r => r.listed_sample === SAMPLE_LIMIT && r.leaf === false), 'listed for this sample, containers only')
})

test('nested world: a fleet of three with the exact rule agrees, and every node answers exactly', async (t) => {
  const sim = await startSimulator({ budgetPerSecond: BUDGET, world: 'nested' }, { nested })
  const nodes: FleetNode[] = []
  try {
    const registries = join(dir, 'fleet-registries.json')
    await writeRegistriesFile(sim, registries)
    const common = { dir: join(dir, 'fleet'), registries, sampleLimit: SAMPLE_LIMIT, exitWhenDone: true, heartbeatMs: 500, extraArgs: ['--resolve', 'exact'] }
    const boot = startNode({ ...common, name: 'n0' })
    nodes.push(boot)
    await waitForLog(boot, 'node ready', 30_000)
    for (const name of ['n1', 'n2']) nodes.push(startNode({ ...common, name, bootstrap: [boot.listen![0]] }))
    const exits = await Promise.all(nodes.map(async n => await n.exited))
    exits.forEach((e, i) => assert.equal(e.code, 0, `${nodes[i].name} exited ${String(e.code ?? e.signal)}: ${nodes[i].stderrTail.slice(-1500)}`))
    const digests = new Set(nodes.map(n => n.logs.find(l => l.msg === 'crawl complete')?.digest))
    assert.equal(digests.size, 1, 'the replicas differ')
    for (const n of nodes) {
      const j = await judgeExact(n.data, sampleSlice(SAMPLE_LIMIT), inProcessTruth(nested))
      t.diagnostic(`${n.name}: ${describeJudgement(j)}`)
      assertSound(j)
      assert.ok(j.rate >= 0.995, `${n.name}: ${describeJudgement(j)}`)
    }
  } finally {
    await killAll(nodes)
    await sim.close()
  }
})
