/**
 * `node start --bulk auto` end to end: two nodes fetch the simulator's dumps of RIPE NCC, APNIC
 * and AFRINIC from its control server (a sparse nested world: the dumps' import takes seconds),
 * answer the space of those registries without asking them, crawl ARIN's and LACNIC's, end exact
 * against the simulator's ground truth and with one index; a restart with a damaged dump says so
 * in one line and keeps what it had; `whoismesh import` does the same for a stopped node.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Simulator } from '../../src/sim/index.js'
import { runCli, coverageJson } from '../helpers/cli.js'
import { startNode, waitForLog, openFleetFixture, closeFleetFixture, type FleetNode } from '../helpers/fleet.js'
import { describeJudgement, inProcessTruth, judgeExact } from '../helpers/exact.js'
import { sampleSlice } from '../../src/sample/index.js'

const SAMPLE_LIMIT = 3000
const DUMPED = ['ripe', 'apnic', 'afrinic'] as const
/** the import of the three dumps, then the node's start: bounded, with room for a loaded machine */
const IMPORT_AND_READY_MS = 240_000

let sim: Simulator
let dir: string
let registries: string
const nodes: FleetNode[] = []

before(async () => {
  ({ dir, sim, registries } = await openFleetFixture('whoismesh-bulk-fleet-', { budgetPerSecond: 'all=300', leafDensity: 0.02 }))
})

after(async () => {
  await closeFleetFixture({ dir, sim }, nodes)
})

const coverage = coverageJson

/** the simulator's requests to the registries that publish dumps (lookups, listings, referrals: all of them) */
const dumpedQueries = (): number => DUMPED.reduce((n, id) => n + sim.stats().registries[id].queries, 0)

test('a fleet with --bulk auto answers the dumped registries\' space without asking them, exactly, and crawls the rest', async () => {
  const common = { dir, registries, sampleLimit: SAMPLE_LIMIT, exitWhenDone: true, extraArgs: ['--bulk', 'auto'] }
  const boot = startNode({ ...common, name: 'b0' })
  nodes.push(boot)
  // a node imports the dumps before it joins (RIPE NCC's 636k objects here: 5–25 s, the machine's load decides)
  await waitForLog(boot, 'node ready', IMPORT_AND_READY_MS)
  const second = startNode({ ...common, name: 'b1', bootstrap: [boot.listen![0]] })
  nodes.push(second)
  const results = await Promise.all([boot, second].map(async n => await n.exited))
  results.forEach((r, i) => assert.equal(r.code, 0, `node b${i} exited ${String(r.code)}: ${[boot, second][i].stderrTail.slice(-1500)}`))

  for (const n of [boot, second]) {
    const imported = n.logs.filter(l => l.msg === 'bulk data: imported').map(l => l.registry).sort()
    assert.deepEqual(imported, [...DUMPED].sort(), `${n.name} imported ${imported.join(', ')}`)
  }
  assert.equal(dumpedQueries(), 0, `the fleet asked the registries that publish dumps: ${JSON.stringify(DUMPED.map(id => [id, sim.stats().registries[id].queries]))}`)
  assert.ok(sim.stats().registries.arin.network_answers > 0, 'ARIN\'s space was not crawled')

  const covs = await Promise.all([boot, second].map(async n => await coverage(n.data)))
  assert.equal(covs[0].digest, covs[1].digest, 'the crawled indexes differ')
  for (const c of covs) {
    assert.equal(c.sample_exact, SAMPLE_LIMIT)
    assert.deepEqual(c.bulk.map((b: any) => b.registry), [...DUMPED])
    for (const b of c.bulk) assert.equal(typeof b.serial, 'number')
    assert.ok(c.sample_bulk > SAMPLE_LIMIT / 4, `only ${String(c.sample_bulk)} sample addresses answered by the dumps`)
    // the dumps' networks are not crawled records: none of those registries' is in the index
    for (const id of DUMPED) assert.equal(c.registries[id].networks, 0, `${id}: ${String(c.registries[id].networks)} crawled networks`)
  }
  const j = await judgeExact(boot.data, sampleSlice(SAMPLE_LIMIT), inProcessTruth(sim.nested!))
  assert.equal(j.outside, 0, describeJudgement(j))
  for (const id of DUMPED) assert.equal(j.byRegistry[id].exact, j.byRegistry[id].judged, `${id}: ${describeJudgement(j)}`)
  assert.ok(j.rate >= 0.995, describeJudgement(j))

  // a restart fetches nothing again: the serial is the one it holds
  const again = startNode({ ...common, name: 'b0' })
  nodes.push(again)
  assert.equal((await again.exited).code, 0, again.stderrTail.slice(-1500))
  assert.equal(again.logs.filter(l => l.msg === 'bulk data: imported').length, 0)
  assert.equal(again.logs.filter(l => l.msg === 'bulk data: this node holds the registry\'s current dump').length, 3)
})

test('a damaged dump is said in one line and changes nothing; `whoismesh import` refuses it too', async () => {
  // the files as an operator downloads them, RIPE NCC's inetnum file cut in the middle
  const files = join(dir, 'dumps')
  await mkdir(files, { recursive: true })
  for (const id of DUMPED) {
    const paths = await sim.dumps.build(id)
    for (const [name, path] of Object.entries(paths)) await copyFile(path, join(files, name))
  }
  const whole = await readFile(join(files, 'ripe.db.inetnum.gz'))
  await writeFile(join(files, 'ripe.db.inetnum.gz'), whole.subarray(0, Math.floor(whole.length / 2)))
  await writeFile(join(files, 'RIPE.CURRENTSERIAL'), '99')

  const before = await coverage(join(dir, 'b0'))
  const queries = dumpedQueries()
  const n = startNode({ dir, registries, sampleLimit: SAMPLE_LIMIT, exitWhenDone: true, name: 'b0', extraArgs: ['--bulk', files] })
  nodes.push(n)
  assert.equal((await n.exited).code, 0, n.stderrTail.slice(-1500))
  const warned = n.logs.filter(l => l.level === 'warn' && String(l.msg).startsWith('bulk data:'))
  assert.equal(warned.length, 1, JSON.stringify(warned))
  assert.match(warned[0].msg, /ripe's dump not imported \(.*cut short.*\); the one imported before stays in use/)
  const after = await coverage(join(dir, 'b0'))
  assert.deepEqual(after.bulk.map((b: any) => [b.registry, b.serial, b.networks]), before.bulk.map((b: any) => [b.registry, b.serial, b.networks]))
  assert.equal(after.sample_exact, SAMPLE_LIMIT)
  assert.equal(dumpedQueries(), queries, 'the registries were asked after the damaged dump')

  const r = await runCli(['import', '--data', join(dir, 'b1'), join(files, 'ripe.db.inetnum.gz'), join(files, 'ripe.db.organisation.gz'), join(files, 'RIPE.CURRENTSERIAL')])
  assert.equal(r.code, 1, r.stdout + r.stderr)
  assert.match(r.stderr, /^ripe: not imported: .*cut short.*; the snapshot it had \(if any\) is kept\n$/)
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace')
})

test('a node without the dumps its peer holds crawls their space at once; a late joiner with the same serials is sent only crawled records', async () => {
  const common = { dir, registries, sampleLimit: SAMPLE_LIMIT }
  // the holder runs as a service; the other has no dump and would wait --peer-stall (10 min) for
  // the holder's share of the dumped registries' addresses if the holder still owned them
  const holder = startNode({ ...common, name: 'm0', extraArgs: ['--bulk', 'auto'] })
  nodes.push(holder)
  await waitForLog(holder, 'node ready', IMPORT_AND_READY_MS)
  const queries = dumpedQueries()
  const lacking = startNode({ ...common, name: 'm1', exitWhenDone: true, bootstrap: [holder.listen![0]], extraArgs: ['--bulk', 'off', '--peer-stall', '600'] })
  nodes.push(lacking)
  const r = await lacking.exited
  assert.equal(r.code, 0, lacking.stderrTail.slice(-1500))
  assert.ok(dumpedQueries() > queries, 'the node without dumps did not ask the registries that publish them')
  await waitForLog(holder, 'crawl complete', 120_000)
  const [h, l] = await Promise.all([holder, lacking].map(async n => await coverage(n.data)))
  assert.equal(l.sample_exact, SAMPLE_LIMIT)
  assert.equal(l.bulk.length, 0)
  assert.equal(h.sample_exact, SAMPLE_LIMIT)

  const late = startNode({ ...common, name: 'm2', exitWhenDone: true, bootstrap: [holder.listen![0]], extraArgs: ['--bulk', 'auto'] })
  nodes.push(late)
  assert.equal((await late.exited).code, 0, late.stderrTail.slice(-1500))
  const c = await coverage(late.data)
  assert.equal(c.lookups, 0, 'the late joiner asked the registries')
  assert.equal(c.digest, h.digest)
  const received = late.logs.filter(x => x.msg === 'sync session completed').reduce((n, x) => n + (x.networksAccepted as number), 0)
  assert.ok(received > 0 && received <= h.networks, `received ${received} networks by sync; the holder has ${String(h.networks)} crawled (its dumps hold ${String(h.bulk.reduce((n: number, b: any) => n + (b.networks as number), 0))})`)
  holder.child.kill('SIGTERM')
  await holder.exited
})
