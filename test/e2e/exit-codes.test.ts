/**
 * The exit codes the README and docs/operating.md document, from the built command as users run
 * it: 3 given up (`node start --exit-when-done` with addresses given up on); 0 done is
 * test/e2e/node.test.ts, 2 (a user mistake) test/faults/operator-input.test.ts. Real processes
 * and the registry simulator on loopback.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator, writeRegistriesFile, type Simulator } from '../../src/sim/index.js'
import { runCli } from '../helpers/cli.js'

const LISTEN = '/ip4/127.0.0.1/tcp/0'

let sim: Simulator
let dir: string
let registriesFile: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-exit-codes-'))
  // every answer of every registry is garbage: each lookup is given up on after its attempts
  sim = await startSimulator({ budgetPerSecond: 'all=200', faultRate: 1, faultKinds: ['malformed'] })
  registriesFile = join(dir, 'registries.json')
  await writeRegistriesFile(sim, registriesFile)
})

after(async () => {
  await sim?.close()
  await rm(dir, { recursive: true, force: true })
})

test('node start --exit-when-done exits 3 when every sample address was given up on', async () => {
  const r = await runCli(['node', 'start', '--data', join(dir, 'given-up'), '--registries', registriesFile, '--delegations', 'off',
    '--sample-limit', '5', '--exit-when-done', '--retry-failed-after', '0', '--heartbeat-ms', '500', '--listen', LISTEN, '--log-format', 'json'])
  assert.equal(r.code, 3, `exit ${String(r.code)} (signal ${String(r.signal)}): ${r.stderr.slice(-3000)}`)
  const logs = r.stderr.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l))
  const end = logs.find(l => l.msg === 'crawl finished with addresses given up on')
  assert.ok(end != null, `no "crawl finished with addresses given up on" line: ${r.stderr.slice(-3000)}`)
  assert.deepEqual([end.sampleResolved, end.sampleTotal], [0, 5])
  assert.ok(logs.some(l => l.msg === 'giving up on address'), 'no address was given up on')
})
