/**
 * The first run and the registries that are not there, from the built command as users run it:
 * a stale registries file (every server gone) is said in one line per registry within seconds and
 * a batch run gives up after --give-up-unreachable (exit 3); `node start` waits for a registries
 * file that does not exist yet (and says when it stops waiting); `whoismesh sim` removes its file
 * when it exits; `node start --registries sim` crawls the bundled simulator inside its own
 * process. Real processes and sockets on loopback.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { startSimulator, writeRegistriesFile, type Simulator } from '../../src/sim/index.js'
import { closedPort } from '../helpers/fake-registries.js'
import { collect, runCli, spawnCli, waitFor } from '../helpers/cli.js'

const LISTEN = '/ip4/127.0.0.1/tcp/0'

let dir: string
let sim: Simulator | undefined

before(async () => { dir = await mkdtemp(join(tmpdir(), 'whoismesh-unreachable-')) })
after(async () => {
  await sim?.close()
  await rm(dir, { recursive: true, force: true })
})

type Log = Record<string, any> & { msg: string, time: string }
const logsOf = (stderr: string): Log[] => stderr.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l))

test('a stale registries file is said unreachable in one line per registry within seconds, and a batch run gives up on them after --give-up-unreachable with exit 3', async () => {
  // what a simulator that has exited leaves behind: its ports, its delegation files' URLs
  const port = await closedPort()
  const file = join(dir, 'stale.json')
  await writeFile(file, JSON.stringify({
    version: 1,
    registries: Object.fromEntries(REGISTRY_IDS.map(id => [id, { rdap: `http://127.0.0.1:${port}/`, whois: `127.0.0.1:${port}`, delegations: `http://127.0.0.1:${port}/delegated-${id}` }])),
    stats: `http://127.0.0.1:${port}/stats`
  }))
  const t0 = performance.now()
  const r = await runCli(['node', 'start', '--data', join(dir, 'stale'), '--registries', file, '--budget', 'all=50', '--sample-limit', '60',
    '--exit-when-done', '--give-up-unreachable', '2', '--heartbeat-ms', '500', '--listen', LISTEN, '--log-format', 'json'], { timeoutMs: 90_000 })
  const seconds = (performance.now() - t0) / 1000
  assert.equal(r.code, 3, `exit ${String(r.code)} (signal ${String(r.signal)}): ${r.stderr.slice(-3000)}`)
  const logs = logsOf(r.stderr)
  const started = logs.find(l => l.msg === 'crawl started')
  assert.ok(started != null, r.stderr.slice(-3000))
  const withWork = REGISTRY_IDS.filter(id => started.queued[id] > 0)
  assert.ok(withWork.length >= 4, `registries with sample addresses: ${withWork.join(', ')}`)
  for (const id of withWork) {
    const down = logs.filter(l => l.msg.startsWith(`registry ${id} unreachable (`))
    assert.equal(down.length, 1, `${id}: ${down.length} unreachable lines`)
    assert.match(down[0].msg, new RegExp(`^registry ${id} unreachable \\(connection refused: .+\\) since \\S+Z; retrying in 1s`))
    const after = Date.parse(down[0].time) - Date.parse(started.time)
    assert.ok(after < 3000, `${id}: said unreachable ${after} ms after the crawl started`)
    const given = logs.filter(l => l.msg.startsWith(`registry ${id} unreachable for `))
    assert.equal(given.length, 1, `${id}: ${given.length} give-up lines`)
    assert.match(given[0].msg, new RegExp(`: giving up on its ${String(started.queued[id])} addresses for this run`))
  }
  assert.deepEqual(logs.filter(l => l.msg === 'giving up on address'), [], 'no line per address')
  // the delegation files are as gone as the registries: one line, not "routing by … blocks=0"
  assert.equal(logs.filter(l => l.msg.startsWith('no delegation file could be loaded')).length, 1)
  assert.equal(logs.filter(l => l.msg === 'routing by delegation files' || l.msg.startsWith('delegation file unavailable')).length, 0)
  assert.ok(logs.some(l => l.msg === 'crawl finished with addresses given up on'))
  // settle (2.5 heartbeats) + LACNIC's and the others' 2 s + libp2p's load: far from 25 minutes
  assert.ok(seconds < 40, `took ${seconds.toFixed(1)} s`)
})

test('node start waits for a registries file that does not exist yet, says so, and crawls once the simulator has written it', async () => {
  const file = join(dir, 'late.json')
  const child = spawnCli(['node', 'start', '--data', join(dir, 'late'), '--registries', file, '--delegations', 'off', '--sample-limit', '30',
    '--exit-when-done', '--heartbeat-ms', '500', '--listen', LISTEN, '--log-format', 'json'])
  const result = collect(child, 90_000)
  let stderr = ''
  child.stderr!.on('data', (d: string) => { stderr += d })
  await waitFor(() => logsOf(stderr).some(l => l.msg.startsWith(`waiting for the registries file ${file}`)) || child.exitCode != null, 30_000, 'the waiting line')
  assert.equal(child.exitCode, null, `node start exited: ${stderr}`)
  sim = await startSimulator({ budgetPerSecond: 'all=200' })
  await writeRegistriesFile(sim, file)
  const r = await result
  assert.equal(r.code, 0, `exit ${String(r.code)}: ${r.stderr.slice(-3000)}`)
  assert.ok(logsOf(r.stderr).some(l => l.msg === 'crawl complete'))
})

test('a registries file that never appears ends the wait after --registries-wait in one line, exit 2', async () => {
  const file = join(dir, 'never.json')
  const t0 = performance.now()
  const r = await runCli(['node', 'start', '--data', join(dir, 'never'), '--registries', file, '--registries-wait', '1', '--listen', LISTEN, '--log-format', 'json'], { timeoutMs: 30_000 })
  assert.equal(r.code, 2, r.stderr)
  const last = r.stderr.trim().split('\n').at(-1)!
  assert.equal(last, `whoismesh: --registries: ${file} did not appear within 1 s (start \`whoismesh sim --registries-out ${file}\` first, give a longer --registries-wait, or use --registries sim)`)
  assert.ok(performance.now() - t0 < 15_000)
})

test('whoismesh sim writes its registries file once it listens and removes it when it exits', async () => {
  const file = join(dir, 'sim.json')
  const child = spawnCli(['sim', '--budget', 'all=100', '--registries-out', file])
  const result = collect(child, 60_000)
  await waitFor(() => existsSync(file) || child.exitCode != null, 30_000, 'the registries file')
  const written = JSON.parse(readFileSync(file, 'utf8'))
  assert.deepEqual(Object.keys(written.registries).sort(), [...REGISTRY_IDS].sort())
  child.kill('SIGTERM')
  const r = await result
  assert.equal(r.code, 0, r.stderr)
  assert.equal(existsSync(file), false, 'the registries file outlived the simulator')
})

test('node start --registries sim crawls the bundled simulator inside its own process, with the node\'s budget, and stops it', async () => {
  const r = await runCli(['node', 'start', '--data', join(dir, 'bundled'), '--registries', 'sim', '--budget', 'all=200', '--sample-limit', '300',
    '--exit-when-done', '--heartbeat-ms', '500', '--listen', LISTEN, '--log-format', 'json'], { cwd: dir, timeoutMs: 120_000 })
  assert.equal(r.code, 0, `exit ${String(r.code)}: ${r.stderr.slice(-3000)}`)
  const logs = logsOf(r.stderr)
  const listening = logs.find(l => l.msg === 'bundled simulator listening')
  assert.ok(listening != null, r.stderr.slice(-3000))
  assert.match(listening.stats, /^http:\/\/127\.0\.0\.1:\d+\/stats$/)
  assert.equal(listening.budgets, 'arin=200,ripe=200,apnic=200,lacnic=200,afrinic=200', 'the simulator enforces the node\'s --budget')
  const complete = logs.find(l => l.msg === 'crawl complete')
  assert.ok(complete != null)
  assert.equal(complete.sampleExact, 300)
  // every request the node sent reached the bundled simulator: address lookups and container listings
  const stopped = logs.find(l => l.msg === 'bundled simulator stopped')
  assert.ok(stopped != null && stopped.queries === complete.lookups + complete.listings, `the simulator counted ${String(stopped?.queries)} queries for ${String(complete.lookups)} lookups and ${String(complete.listings)} listings`)
  assert.equal(existsSync(join(dir, 'sim')), false, 'no file named sim was read or written')
})
