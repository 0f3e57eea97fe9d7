/**
 * End to end, as a user runs it: the registry simulator on loopback (its default world, the
 * nested one: registries' trees; global budgets enforced) and `whoismesh node start` with its
 * default rule (exact) as a real child process with a real LevelDB. Answers are judged against
 * the simulator's ground truth (test/helpers/exact.ts).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator, writeRegistriesFile, type Simulator } from '../../src/sim/index.js'
import { parseIPv4, formatIPv4 } from '../../src/util/ipv4.js'
import { sampleSlice } from '../../src/sample/index.js'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { sumRegistryStats, type SimTotals } from '../helpers/sim-totals.js'
import { runCli, spawnCli, collect, waitFor, coverageJson } from '../helpers/cli.js'
import { answerDifferences, answersOf, describeJudgement, inProcessTruth, judgeExact } from '../helpers/exact.js'

const SAMPLE_LIMIT = 3000
const BUDGET = 'all=400'
/** any free loopback port: tests run side by side */
const LISTEN = '/ip4/127.0.0.1/tcp/0'

let sim: Simulator
let dir: string
let registriesFile: string
/** each sample address's answer after an uninterrupted crawl (answersOf), from the first test */
let referenceAnswers: string[] | undefined

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-e2e-'))
  sim = await startSimulator({ budgetPerSecond: BUDGET })
  registriesFile = join(dir, 'registries.json')
  await writeRegistriesFile(sim, registriesFile)
})

after(async () => {
  await sim?.close()
  await rm(dir, { recursive: true, force: true })
})

/** the simulator's counters summed over the registries */
const simTotals = (): SimTotals => sumRegistryStats(sim.stats())

const coverage = coverageJson

test('a node crawls its sample to completion within the budget, answers every address with its registry\'s own network, and asks inside a leaf once', async () => {
  sim.reset()
  const data = join(dir, 'full')
  const r = await runCli(['node', 'start', '--data', data, '--registries', registriesFile, '--sample-limit', String(SAMPLE_LIMIT), '--exit-when-done', '--log-format', 'json', '--listen', LISTEN])
  assert.equal(r.code, 0, `node exited ${String(r.code)}: ${r.stderr.slice(-2000)}`)

  const totals = simTotals()
  assert.equal(totals.bans, 0, 'the simulator banned the node')
  assert.equal(totals.rateLimited, 0, 'the node went over budget')

  const cov = await coverage(data)
  assert.equal(cov.sample_total, SAMPLE_LIMIT)
  assert.equal(cov.sample_resolved, SAMPLE_LIMIT, 'every sample address is covered or recorded unallocated')
  assert.equal(cov.sample_exact, SAMPLE_LIMIT, 'every sample address has its registry\'s own answer')
  assert.ok(cov.networks > SAMPLE_LIMIT / 2, `only ${String(cov.networks)} networks`)
  // a leaf holds no other network: once one is known nothing inside it is asked again (containers
  // are answered once per address asked in space none of their known children covers)
  assert.ok(totals.leafAnswers > 0 && totals.leafAnswers / totals.distinctLeaves <= 1.05, `registry side: ${totals.leafAnswers} answers carried ${totals.distinctLeaves} leaves`)
  assert.ok(cov.networks >= totals.distinct, `the node stored ${String(cov.networks)} networks, fewer than the ${totals.distinct} distinct ones the registries served`)
  assert.match(cov.digest, /^[0-9a-f]{64}$/)
  for (const k of ['addresses_covered', 'percent_ipv4', 'registries']) assert.ok(k in cov, `coverage --json lacks ${k}`)
  // the text report's registry table: each registry's share of the allocatable space, said as such
  const text = await runCli(['coverage', '--data', data])
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /^registry +networks +addresses covered +% of allocatable$/m)
  for (const id of REGISTRY_IDS) {
    const r = cov.registries[id]
    assert.match(text.stdout, new RegExp(`^${id} +${r.networks.toLocaleString('en-US')} +${r.addresses_covered.toLocaleString('en-US')} +${r.percent_ipv4.toFixed(2)}$`, 'm'), `${id}'s row`)
  }
  const sample = sampleSlice(SAMPLE_LIMIT)
  const j = await judgeExact(data, sample, inProcessTruth(sim.nested!))
  assert.equal(j.outside, 0, describeJudgement(j))
  assert.ok(j.rate >= 0.995, `exact-answer rate under the 99.5% target: ${describeJudgement(j)}`)
  referenceAnswers = await answersOf(data, sample)

  // every sample address is inside a dumped network (or unallocated / special-purpose)
  const dump = await runCli(['dump', '--data', data])
  assert.equal(dump.code, 0, dump.stderr)
  const rows = dump.stdout.trim().split('\n').map(line => JSON.parse(line))
  assert.equal(rows.length, cov.networks)
  const ranges = rows.map(x => [parseIPv4(x.start_address), parseIPv4(x.end_address)] as const).sort((a, b) => a[0] - b[0])
  // networks nest: the last one starting at or before an address may be a child that ends before
  // it while its parent holds it, so compare with the largest end among them
  const maxEnd: number[] = []
  for (const [i, r] of ranges.entries()) maxEnd.push(Math.max(r[1], i > 0 ? maxEnd[i - 1] : -1))
  const covered = (a: number): boolean => {
    let lo = 0; let hi = ranges.length - 1
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (ranges[mid][0] <= a) lo = mid + 1; else hi = mid - 1 }
    return hi >= 0 && maxEnd[hi] >= a
  }
  const uncovered = Array.from(sampleSlice(SAMPLE_LIMIT)).filter(a => !covered(a))
  assert.ok(uncovered.length <= cov.sample_reserved + cov.negatives, `${uncovered.length} sample addresses in no dumped network: ${uncovered.slice(0, 5).map(formatIPv4).join(', ')}`)

  const csv = await runCli(['dump', '--data', data, '--format', 'csv', '--registry', 'lacnic'])
  assert.equal(csv.code, 0, csv.stderr)
  const lines = csv.stdout.trim().split('\r\n')
  assert.equal(lines[0].split(',')[0], 'cidr')
  assert.equal(lines.length - 1, cov.registries.lacnic.networks)

  // (networks found by listing a container's children carry the query address 0.0.0.0)
  const q = rows.find(x => x.query_address !== '0.0.0.0')
  const lookup = await runCli(['lookup', q.query_address, '--data', data, '--json'])
  assert.equal(lookup.code, 0, lookup.stderr)
  const lr = JSON.parse(lookup.stdout)
  assert.equal(lr.status, 'network')
  assert.equal(lr.networks[0].handle, q.handle)
})

test('a node killed with SIGKILL mid-crawl resumes and ends with the answers of an uninterrupted crawl', async () => {
  sim.reset()
  const data = join(dir, 'killed')
  const args = ['node', 'start', '--data', data, '--registries', registriesFile, '--sample-limit', String(SAMPLE_LIMIT), '--log-format', 'json', '--listen', LISTEN]
  // a tenth of the simulator's budget, so the crawl is still running when it is killed, however
  // slow the machine is; the restart then goes at full speed
  const child = spawnCli([...args, '--budget', 'all=40'])
  const done = collect(child, 120_000)
  // wait until it has stored a good part of the crawl, then kill it without warning
  await waitFor(() => simTotals().networkAnswers >= 300, 60_000, '300 answers from the simulator')

  // while it runs, dump/lookup/coverage are answered by the running node (LevelDB is locked)
  const live = await coverage(data)
  assert.ok(live.networks >= 250, `coverage while running saw ${String(live.networks)} networks`)
  const liveDump = await runCli(['dump', '--data', data])
  assert.equal(liveDump.code, 0, liveDump.stderr)
  assert.ok(liveDump.stdout.split('\n').length > 250)

  child.kill('SIGKILL')
  const killed = await done
  assert.equal(killed.signal, 'SIGKILL')
  // what the registries had served when the process died (nothing more can reach them from it):
  // a network served twice before this point was not asked again because of the restart
  const atKill = simTotals()
  const before = await coverage(data)
  assert.ok(before.sample_exact < SAMPLE_LIMIT, 'the crawl was already finished when killed')

  const r = await runCli([...args, '--budget', 'all=380', '--exit-when-done'])
  assert.equal(r.code, 0, r.stderr.slice(-2000))
  const cov = await coverage(data)
  assert.equal(cov.sample_exact, SAMPLE_LIMIT)
  assert.ok(referenceAnswers != null, 'the uninterrupted crawl must run first')
  // the same answer for every sample address (the networks stored besides may differ: which
  // containers were listed depends on the order answers came in)
  const sample = sampleSlice(SAMPLE_LIMIT)
  const answers = await answersOf(data, sample)
  assert.deepEqual(answerDifferences(answers, referenceAnswers, sample), [], 'the resumed crawl answers differently from the uninterrupted one')
  // answered leaves are not asked inside again: the restart repeats at most the requests in flight
  // at the kill (4 per registry)
  const totals = simTotals()
  const repeatedBefore = atKill.leafAnswers - atKill.distinctLeaves
  const repeatedSince = totals.leafAnswers - totals.distinctLeaves - repeatedBefore
  assert.ok(repeatedSince <= 5 * 4, `${repeatedSince} leaves were served again after the restart (${repeatedBefore} twice before the kill)`)
  assert.equal(totals.bans, 0)
})

// bad operator input (flags, files, ports): test/faults/operator-input.test.ts

test('the sample command prints the sample size and writes addresses in crawl order', async () => {
  const r = await runCli(['sample', '--count'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout.trim(), '4706768')
  const out = join(dir, 'sample.txt')
  const w = await runCli(['sample', '--sample-limit', '5', '--out', out])
  assert.equal(w.code, 0, w.stderr)
  assert.deepEqual((await readFile(out, 'utf8')).trim().split('\n'), Array.from(sampleSlice(5), formatIPv4))
})

test('whoismesh id prints a stable peer id before the node ever starts', async () => {
  const data = join(dir, 'id-only')
  const a = await runCli(['id', '--data', data])
  assert.equal(a.code, 0, a.stderr)
  const id = a.stdout.split('\n')[0]
  assert.match(id, /^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/)
  const b = await runCli(['id', '--data', data])
  assert.equal(b.stdout.split('\n')[0], id, 'the peer id changed between two calls')
})
