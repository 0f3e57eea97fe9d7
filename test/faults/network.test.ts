/**
 * Hosts and network faults: every node on a host of its own (a network namespace with its own
 * address, test/faults/lab.ts), the simulator on another, all holding one swarm key.
 *
 * 1. churn: kill -9 two nodes (the bootstrap among them) mid-crawl, add a node, restart the two;
 * 2. partition 2 | 3 mid-crawl, heal, then one node's link down and up;
 * 3. slow, lossy links: every node-to-node connection through a proxy adding 100 ± 50 ms per
 *    chunk, resetting connections and capping bandwidth;
 * 6. outsiders — without the key, or with another — cannot join.
 * Figures go to .faults/ (test/faults/report.ts).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, chmod, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Lab, labAvailable, NODE_PORT, type LabHost } from './lab.js'
import { recordFigures, HEAVY } from './report.js'
import { BIN, runCli, waitFor } from '../helpers/cli.js'
import { startNode, waitForLog, killAll, type FleetNode } from '../helpers/fleet.js'
import { REGISTRY_IDS } from '../../src/registry/interface.js'

const skip = await labAvailable() ?? false
const HEARTBEAT_MS = 1000

let lab: Lab
let dir: string
let registries: string
let swarmKey: string
let statsUrl: string
const all: FleetNode[] = []

before(async () => {
  if (skip !== false) return
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-net-'))
  await chmod(dir, 0o755)
  lab = await Lab.create(['sim', 'proxy', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'x1'])
  registries = join(dir, 'registries.json')
  swarmKey = join(dir, 'swarm.key')
  assert.equal((await runCli(['swarm-key', '--out', swarmKey])).code, 0)
  const sim = lab.host('sim')
  lab.spawn(sim, process.execPath, [BIN, 'sim', '--host', sim.ip, '--budget', 'all=50', '--registries-out', registries, '--control-port', '8080'], { stdio: ['ignore', 'ignore', 'ignore'] })
  await waitFor(() => existsSync(registries), 60_000, 'the simulator')
  statsUrl = JSON.parse(await readFile(registries, 'utf8')).stats
})

after(async () => {
  if (skip !== false) return
  await killAll(all)
  await lab?.destroy()
  await rm(dir, { recursive: true, force: true })
})

interface SimTotals { queries: number, networkAnswers: number, distinct: number, rateLimited: number, bans: number }

async function simTotals (): Promise<SimTotals> {
  const s = JSON.parse(await lab.fetchText(lab.host('sim'), statsUrl))
  const t: SimTotals = { queries: 0, networkAnswers: 0, distinct: 0, rateLimited: 0, bans: 0 }
  for (const id of REGISTRY_IDS) {
    const r = s.registries[id]
    t.queries += r.queries; t.networkAnswers += r.network_answers; t.distinct += r.distinct_networks; t.rateLimited += r.rate_limited; t.bans += r.bans
  }
  return t
}

/** Before each scenario: no node of an earlier one is left, the counters and budgets are fresh. */
async function simReset (): Promise<void> {
  await killAll(all)
  await lab.heal()
  await lab.fetchText(lab.host('sim'), statsUrl.replace(/\/stats$/, '/reset?limits=1'), 'POST')
}

interface Started { host: LabHost, node: FleetNode }

/** Starts `whoismesh node start` on a lab host (data under `scenario/`), verbose: every stored network is logged. */
function start (scenario: string, hostName: string, o: { sampleLimit: number, bootstrap?: Started[], key?: string | null, registries?: string }): Started {
  const host = lab.host(hostName)
  const node = startNode({
    dir: join(dir, scenario),
    name: hostName,
    registries: o.registries ?? registries,
    sampleLimit: o.sampleLimit,
    heartbeatMs: HEARTBEAT_MS,
    listen: `/ip4/${host.ip}/tcp/${NODE_PORT}`,
    bootstrap: o.bootstrap?.map(b => `/ip4/${b.host.ip}/tcp/${NODE_PORT}/p2p/${b.node.peerId!}`),
    extraArgs: ['--verbose', ...(o.key === null ? [] : ['--swarm-key', o.key ?? swarmKey])],
    spawnProcess: (cmd, args) => lab.spawn(host, cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  })
  all.push(node)
  return { host, node }
}

async function coverage (s: Started): Promise<any> {
  const r = await lab.exec(s.host, process.execPath, [BIN, 'coverage', '--json', '--data', s.node.data])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout)
}

/** A node's dump, one parsed row per network. */
async function dumpRows (s: Started): Promise<Array<Record<string, string>>> {
  const r = await lab.exec(s.host, process.execPath, [BIN, 'dump', '--data', s.node.data])
  assert.equal(r.code, 0, r.stderr)
  return r.stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l))
}

/** The (start,end) ranges in a node's dump. */
async function dumpRanges (s: Started): Promise<Set<string>> {
  return new Set((await dumpRows(s)).map(j => `${j.start_address}-${j.end_address}`))
}

/** Every network any of these processes logged as stored (its own lookups), as cidr lists. */
function foundCidrs (nodes: FleetNode[]): Set<string> {
  const out = new Set<string>()
  for (const n of nodes) for (const l of n.logs) if (l.msg === 'network stored') out.add(String(l.cidr).replace(/\s/g, ''))
  return out
}

async function dumpCidrs (s: Started): Promise<Set<string>> {
  return new Set((await dumpRows(s)).map(j => String(j.cidr).replace(/\s/g, '')))
}

/** Waits until every node logged 'crawl complete' and all report one digest; their coverage reports. */
async function converged (nodes: Started[], what: string): Promise<any[]> {
  await Promise.all(nodes.map(async s => await waitForLog(s.node, 'crawl complete', 240_000)))
  let covs: any[] = []
  await waitFor(async () => {
    covs = await Promise.all(nodes.map(async s => await coverage(s)))
    return new Set(covs.map(c => c.digest)).size === 1
  }, 60_000, what, 1000)
  return covs
}

function assertNoCrash (nodes: Started[]): void {
  for (const s of nodes) {
    assert.ok(!/internal error|uncaught|unhandled/i.test(s.node.stderrTail), `${s.host.name}: ${s.node.stderrTail.slice(-800)}`)
  }
}

async function stopAll (nodes: Started[]): Promise<void> {
  for (const s of nodes) if (s.node.child.exitCode == null && s.node.child.signalCode == null) s.node.child.kill('SIGTERM')
  await Promise.all(nodes.map(async s => await s.node.exited))
}

test('1 churn: kill -9 two nodes (the bootstrap too), add one, restart both — nothing lost, identical digests', { skip, timeout: 300_000 }, async () => {
  await simReset()
  const SAMPLE = HEAVY ? 20_000 : 3000
  const t0 = Date.now()
  const boot = start('churn', 'n1', { sampleLimit: SAMPLE })
  await waitForLog(boot.node, 'node ready', 30_000)
  const others = ['n2', 'n3', 'n4', 'n5'].map(h => start('churn', h, { sampleLimit: SAMPLE, bootstrap: [boot] }))
  await Promise.all(others.map(async s => await waitForLog(s.node, 'node ready', 30_000)))
  const first = [boot, ...others]

  // mid-crawl: kill -9 the bootstrap and n2
  await waitFor(async () => (await simTotals()).networkAnswers >= SAMPLE / 6, 120_000, 'the crawl to get going', 1000)
  const killed = [first[0], first[1]]
  for (const s of killed) s.node.child.kill('SIGKILL')
  await Promise.all(killed.map(async s => await s.node.exited))
  const answersAtKill = (await simTotals()).networkAnswers
  // a new node joins, then the killed ones come back (pointed at survivors)
  const joiner = start('churn', 'n6', { sampleLimit: SAMPLE, bootstrap: [first[2]] })
  await waitForLog(joiner.node, 'node ready', 30_000)
  // the joiner has joined before the killed ones return: it counts the three survivors (and
  // itself) as live and has started crawling its share
  await waitFor(() => {
    const membership = joiner.node.logs.filter(l => l.msg === 'membership changed').at(-1)
    return membership != null && membership.livePeers >= 4 && joiner.node.logs.some(l => l.msg === 'crawl started')
  }, 90_000, 'the joiner to count the three survivors and start crawling', 200)
  const restarted = [start('churn', 'n1', { sampleLimit: SAMPLE, bootstrap: [first[3]] }), start('churn', 'n2', { sampleLimit: SAMPLE, bootstrap: [first[4]] })]
  const restartedAt = Date.now()
  const live = [first[2], first[3], first[4], joiner, ...restarted]
  const covs = await converged(live, 'identical digests')
  const convergedMs = Date.now() - restartedAt
  for (const [i, c] of covs.entries()) assert.equal(c.sample_resolved, SAMPLE, `${live[i].host.name}`)

  // nothing lost: every network any process stored (killed ones included) is in the final set
  const found = foundCidrs([...first, joiner, ...restarted].map(s => s.node))
  const final = await dumpCidrs(live[0])
  const lost = [...found].filter(c => !final.has(c))
  assert.deepEqual(lost, [], 'networks stored during the run but missing at the end')
  assert.equal(final.size, covs[0].networks)
  const sim = await simTotals()
  assert.equal(sim.bans, 0)
  assertNoCrash(live)
  const lookups = covs.reduce((s, c) => s + (c.lookups as number), 0)
  await recordFigures({
    scenario: '1-churn',
    title: 'Churn: kill -9 the bootstrap and one more mid-crawl, add a node, restart the two',
    injected: `5 nodes on 5 hosts, ${SAMPLE} addresses; SIGKILL of 2 (bootstrap included) after ${answersAtKill} answers; a 6th node joins; the 2 restart`,
    checked: 'every sample address resolved on every node; identical digests; every network stored by any process (killed ones included) in the final set',
    figures: {
      'sample resolved': `${covs[0].sample_resolved as number}/${SAMPLE}`,
      networks: covs[0].networks,
      'records lost': lost.length,
      'converged after restart (s)': Number((convergedMs / 1000).toFixed(1)),
      'crawl wall time (s)': Number(((Date.now() - t0) / 1000).toFixed(1)),
      'lookups ÷ networks (live nodes)': Number((lookups / covs[0].networks).toFixed(4)),
      'registry answers ÷ distinct networks': Number((sim.networkAnswers / sim.distinct).toFixed(4)),
      '429s': sim.rateLimited,
      bans: sim.bans
    }
  })
  await stopAll(live)
})

test('2 partition 2 | 3 mid-crawl, heal, link down/up — within budget, converges', { skip, timeout: 300_000 }, async () => {
  await simReset()
  const SAMPLE = HEAVY ? 20_000 : 4000
  const PARTITION_MS = HEAVY ? 40_000 : 20_000
  const boot = start('partition', 'n1', { sampleLimit: SAMPLE })
  await waitForLog(boot.node, 'node ready', 30_000)
  const nodes = [boot, ...['n2', 'n3', 'n4', 'n5'].map(h => start('partition', h, { sampleLimit: SAMPLE, bootstrap: [boot] }))]
  await Promise.all(nodes.map(async s => await waitForLog(s.node, 'node ready', 30_000)))
  // mid-crawl: every node has taken its share and stored networks of its own
  await waitFor(() => nodes.every(s => s.node.logs.filter(l => l.msg === 'network stored').length >= 20), 120_000, 'every node to crawl', 500)

  const sideA = nodes.slice(0, 2)
  const sideB = nodes.slice(2)
  const before = await simTotals()
  const storedBefore = nodes.map(s => s.node.logs.filter(l => l.msg === 'network stored').length)
  await lab.partition(sideA.map(s => s.host), sideB.map(s => s.host))
  const cutAt = Date.now()
  await new Promise(resolve => setTimeout(resolve, PARTITION_MS))
  const during = await simTotals()
  const storedDuring = nodes.map((s, i) => s.node.logs.filter(l => l.msg === 'network stored').length - storedBefore[i])
  await lab.heal()
  const healedAt = Date.now()
  // what existed anywhere at the heal must reach everyone
  const unionAtHeal = new Set<string>()
  for (const s of nodes) for (const r of await dumpRanges(s)) unionAtHeal.add(r)
  await waitFor(async () => {
    for (const s of nodes) {
      const mine = await dumpRanges(s)
      for (const r of unionAtHeal) if (!mine.has(r)) return false
    }
    return true
  }, 60_000, 'both sides to hold what either found before the heal', 1000)
  const convergeMs = Date.now() - healedAt

  // one host's cable out and back in
  const unplugged = nodes[4]
  await lab.linkDown(unplugged.host)
  await new Promise(resolve => setTimeout(resolve, 8000))
  await lab.linkUp(unplugged.host)

  const covs = await converged(nodes, 'identical digests after the heal')
  const end = await simTotals()
  for (const c of covs) assert.equal(c.sample_resolved, SAMPLE)
  // both sides kept crawling while cut off from each other
  assert.ok(storedDuring[0] + storedDuring[1] > 0, `side A stored nothing while cut: ${storedDuring.join(',')}`)
  assert.ok(storedDuring[2] + storedDuring[3] + storedDuring[4] > 0, `side B stored nothing while cut: ${storedDuring.join(',')}`)
  // within the one budget: the registry never had to refuse or ban anyone
  assert.equal(end.bans, 0, 'bans')
  assert.equal(end.rateLimited, 0, 'the fleet went over the global budget (429s)')
  assert.ok(convergeMs <= 30_000, `converged ${convergeMs} ms after the heal`)
  assertNoCrash(nodes)
  const lookups = covs.reduce((s, c) => s + (c.lookups as number), 0)
  await recordFigures({
    scenario: '2-partition',
    title: 'Partition 2 | 3 mid-crawl, heal; then one host\'s link down 8 s and up',
    injected: `5 nodes on 5 hosts, ${SAMPLE} addresses, global budget all=50; iptables DROP between the sides for ${PARTITION_MS / 1000} s; link down/up`,
    checked: 'both sides crawl while cut; 0 rate-limit answers and 0 bans from the simulator; what either side held at the heal reaches all within 30 s; identical digests at the end',
    figures: {
      'partition (s)': PARTITION_MS / 1000,
      'networks stored while cut, side A / side B': `${storedDuring[0] + storedDuring[1]} / ${storedDuring[2] + storedDuring[3] + storedDuring[4]}`,
      'registry queries while cut': during.queries - before.queries,
      'converged after heal (s)': Number((convergeMs / 1000).toFixed(1)),
      'lookups ÷ networks': Number((lookups / covs[0].networks).toFixed(4)),
      'lookups wasted (both sides asked)': lookups - (covs[0].networks as number),
      '429s': end.rateLimited,
      bans: end.bans,
      'cut lasted (s)': Number(((healedAt - cutAt) / 1000).toFixed(1))
    }
  })
  await stopAll(nodes)
})

test('3 slow, lossy links (100 ± 50 ms, resets, bandwidth cap) — completes and converges; 6 outsiders cannot join', { skip, timeout: 300_000 }, async () => {
  await simReset()
  const SAMPLE = HEAVY ? 10_000 : 2000
  const hosts = ['n1', 'n2', 'n3', 'n4'].map(h => lab.host(h))
  const proxy = await lab.slowLinks(hosts, lab.host('proxy'), { delayMs: 100, jitterMs: 50, resetPerSecond: 0.05, bytesPerSecond: 256 * 1024, seed: 7 })
  const t0 = Date.now()
  const boot = start('slow', 'n1', { sampleLimit: SAMPLE })
  await waitForLog(boot.node, 'node ready', 30_000)
  const nodes = [boot, ...['n2', 'n3', 'n4'].map(h => start('slow', h, { sampleLimit: SAMPLE, bootstrap: [boot] }))]

  // 6: outsiders on their own hosts: no key, and another key
  const otherKey = join(dir, 'other.key')
  assert.equal((await runCli(['swarm-key', '--out', otherKey])).code, 0)
  // (they crawl too, alone, against registries nobody answers for: a request of theirs to the
  // simulator would spend the fleet's budget — with a budget of one an hour, the first request of
  // each, five per outsider, still went out at once and, landing while the fleet used all of it,
  // drew 429s the fleet was blamed for)
  const nowhere = join(dir, 'outsider-registries.json')
  const file = JSON.parse(await readFile(registries, 'utf8'))
  for (const r of Object.values(file.registries) as Array<Record<string, string>>) Object.assign(r, { rdap: 'http://127.0.0.1:1/', whois: '127.0.0.1:1', delegations: 'http://127.0.0.1:1/delegated' })
  await writeFile(nowhere, JSON.stringify(file))
  const outsiders = [start('slow', 'n6', { sampleLimit: SAMPLE, bootstrap: [boot], key: null, registries: nowhere }), start('slow', 'x1', { sampleLimit: SAMPLE, bootstrap: [boot], key: otherKey, registries: nowhere })]

  const covs = await converged(nodes, 'identical digests')
  const wallMs = Date.now() - t0
  for (const c of covs) assert.equal(c.sample_resolved, SAMPLE)
  assert.ok(proxy.connections > 0, 'no connection went through the lossy proxy')
  const sim = await simTotals()
  assert.equal(sim.bans, 0)
  assert.equal(sim.rateLimited, 0, 'the fleet went over the global budget (429s)')
  assertNoCrash(nodes)

  // the outsiders never saw a fleet member, and no member ever counted them
  const ids = new Set(nodes.map(s => s.node.peerId))
  for (const o of outsiders) {
    assert.ok(!o.node.logs.some(l => l.msg === 'membership changed' && l.livePeers > 1), `${o.host.name} joined the fleet`)
    assert.ok(!ids.has(o.node.peerId))
  }
  for (const s of nodes) assert.ok(!s.node.logs.some(l => l.msg === 'membership changed' && l.livePeers > nodes.length), `${s.host.name} counted an outsider`)
  await recordFigures({
    scenario: '3-slow-links',
    title: 'Slow, lossy links between every pair of nodes',
    injected: `4 nodes on 4 hosts, ${SAMPLE} addresses; every node-to-node TCP connection through a userspace proxy: 100 ± 50 ms per chunk, each connection reset with p = 0.05 per second, 256 KiB/s each way`,
    checked: 'every sample address resolved; identical digests; 0 rate-limit answers, 0 bans',
    figures: {
      'crawl wall time (s)': Number((wallMs / 1000).toFixed(1)),
      'proxied connections': proxy.connections,
      'connections reset': proxy.resets,
      'MiB through the proxy': Number((proxy.bytes / 1048576).toFixed(2)),
      networks: covs[0].networks,
      bans: sim.bans,
      '429s': sim.rateLimited
    }
  })
  await recordFigures({
    scenario: '6-outsider',
    title: 'Outsiders: a node without the fleet key, a node with another key',
    injected: 'two nodes on their own hosts given the bootstrap address, one with no --swarm-key, one with a different key, for the whole slow-links crawl',
    checked: 'neither ever counts a live peer; no fleet member ever counts more peers than the fleet has',
    figures: {
      'outsiders that joined': outsiders.filter(o => o.node.logs.some(l => l.msg === 'membership changed' && l.livePeers > 1)).length,
      'fleet members that counted an outsider': nodes.filter(s => s.node.logs.some(l => l.msg === 'membership changed' && l.livePeers > nodes.length)).length
    }
  })
  await stopAll([...nodes, ...outsiders])
})
