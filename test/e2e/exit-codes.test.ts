/**
 * The exit codes the README and docs/operating.md document, from the built command as users run
 * it: 3 given up (`node start --exit-when-done` with addresses given up on; `metrics` that heard no
 * node, `--follow` included) and 0 done (`metrics` that heard one; `node start` in test/e2e/node.test.ts). 2, a user
 * mistake, is test/faults/operator-input.test.ts. Real processes, the registry simulator and a
 * libp2p peer on loopback.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { startSimulator, writeRegistriesFile, type Simulator } from '../../src/sim/index.js'
import { Mesh, generateSwarmKey, loadSwarmKey } from '../../src/mesh/index.js'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'
import { silentLogger } from '../../src/util/logger.js'
import { collect, runCli, spawnCli, waitFor } from '../helpers/cli.js'

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

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

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

test('metrics exits 3 and says in one line that it reached no node when nothing answers at the bootstrap address', async () => {
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const bootstrap = `/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${peer}`
  const r = await runCli(['metrics', '--bootstrap', bootstrap, '--listen', LISTEN, '--wait-ms', '1500'], { timeoutMs: 60_000 })
  assert.equal(r.code, 3, `exit ${String(r.code)}: ${r.stderr}`)
  assert.equal(r.stdout, '[]\n', 'stdout still holds the (empty) JSON answer')
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, `more than one stderr line: ${r.stderr}`)
  assert.match(lines[0], new RegExp(`^whoismesh: reached no node: could not connect to ${bootstrap.replace(/[/.]/g, '\\$&')} within 1\\.5 s `))

  const table = await runCli(['metrics', '--bootstrap', bootstrap, '--listen', LISTEN, '--wait-ms', '1000', '--table'], { timeoutMs: 60_000 })
  assert.equal(table.code, 3, `--table: exit ${String(table.code)}: ${table.stderr}`)
  assert.match(table.stderr, /^whoismesh: reached no node: could not connect to /)
})

test('metrics --follow --table that hears no node says so in the table it redraws, and exits 3 when stopped', async () => {
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const bootstrap = `/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${peer}`
  const child = spawnCli(['metrics', '--bootstrap', bootstrap, '--listen', LISTEN, '--wait-ms', '500', '--follow', '--table'])
  let stdout = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  const done = collect(child, 60_000)
  // a redraw clears the screen, the line on stderr with it: the table itself carries the line
  await waitFor(() => /\x1b\[2J\x1b\[H[^\x1b]*whoismesh: reached no node: could not connect to [^\n]*; still listening\n/.test(stdout), 30_000, 'a table saying no node was reached')
  child.kill('SIGINT')
  const r = await done
  assert.equal(r.code, 3, `exit ${String(r.code)}: ${r.stderr}`)
})

test('metrics names the node it heard and exits 0; without the fleet\'s swarm key it says it could not connect and exits 3', async () => {
  const zero = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
  const keyFile = join(dir, 'swarm.key')
  await writeFile(keyFile, generateSwarmKey())
  // a crawling peer of a private mesh (no store: it only sends heartbeats)
  const node = new Mesh({ listen: [LISTEN], heartbeatIntervalMs: 300, swarmKey: await loadSwarmKey(keyFile) }, {
    privateKey: await generateKeyPair('Ed25519'),
    logger: silentLogger,
    heartbeat: () => ({ version: 'test', counters: { lookups: 7 }, demand: zero, rates: zero, backoff: {}, index: { networks: 3, negatives: 0, digest: 'ab'.repeat(32) }, sample: { total: 10, resolved: 4 } })
  })
  await node.start()
  try {
    const id = node.peerId.toString()
    const args = ['metrics', '--bootstrap', node.listenAddrs()[0], '--listen', LISTEN, '--wait-ms', '4000']
    const member = await runCli([...args, '--swarm-key', keyFile], { timeoutMs: 60_000 })
    assert.equal(member.code, 0, `exit ${String(member.code)}: ${member.stderr}`)
    const heard = JSON.parse(member.stdout) as Array<{ peerId: string, index: { networks: number } }>
    assert.deepEqual(heard.map(h => [h.peerId, h.index.networks]), [[id, 3]])
    assert.equal(member.stderr, `heard 1 node: ${id}\n`)

    const outsider = await runCli(args, { timeoutMs: 60_000 })
    assert.equal(outsider.code, 3, `without the key: exit ${String(outsider.code)}: ${outsider.stderr}`)
    assert.equal(outsider.stdout, '[]\n')
    assert.match(outsider.stderr, /^whoismesh: reached no node: could not connect to .*--swarm-key/)
  } finally {
    await node.stop()
  }
})
