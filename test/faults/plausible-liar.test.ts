/**
 * Scenario 5b — a plausible liar. Three honest `whoismesh node start` processes crawl a sample of
 * the nested simulator in a private mesh. A peer holding the fleet key (key-holder.ts) tells lies
 * that pass every check a message alone allows, each signed by its own peer id:
 *
 * - heartbeats of a full crawler with work at ARIN that announce an hour's ARIN back-off (it owns
 *   a share of the sample it never crawls, and would pause the fleet's ARIN requests);
 * - a customer assignment spanning the whole /8 that holds the most sample addresses (everything
 *   in it would look answered, so nobody would ask) and "not found" notes for 300 sample
 *   addresses: the delegation files contradict both, so every node drops them on arrival
 *   (mesh/plausibility.ts) and counts them;
 * - copies of 50 real networks with a false name and org and an earlier fetch time, which nothing
 *   a node knows contradicts: they win the pick rule on every replica.
 *
 * The liar then falls silent; the fleet finishes its crawl with the lies in place: where a
 * registry answer lost to a forged copy, the node that asked names the liar as the copy's author
 * (a contradiction) and every node gives up the addresses the dispute leaves open
 * (crawl/contradiction.ts); a listing replaces a forged copy of the container it lists. The
 * operator runs `whoismesh distrust <liar>` on every honest node at once while they run. Pass: the
 * announced pause never exceeds the 5-minute cap and ends when the liar is no longer live; every
 * contradiction names the liar; the liar's records were stored (the lies are plausible) and are
 * all gone after distrust; the honest fleet
 * finishes with identical dumps in which every sample address's answer is the simulator's ground
 * truth (the registry's own most specific network), with no record the liar authored; the lookups
 * the lies cost are reported.
 */
import '../../src/util/polyfill.js'
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import type { MeshLibp2p } from '../../src/mesh/libp2p.js'
import { encodeMessage } from '../../src/mesh/messages.js'
import { callControl } from '../../src/node/control.js'
import type { CrawlStatus } from '../../src/crawl/interface.js'
import type { NegativeRecord, NetworkRecord } from '../../src/record/index.js'
import { NetworkStore } from '../../src/store/index.js'
import { sampleSlice } from '../../src/sample/index.js'
import { formatIPv4, parseIPv4, rangeToCidrs } from '../../src/util/ipv4.js'
import { runCli, waitFor } from '../helpers/cli.js'
import { waitForLog, killAll, type FleetNode } from '../helpers/fleet.js'
import { describeJudgement, inProcessTruth, judgeExact } from '../helpers/exact.js'
import { recordFigures } from './report.js'
import { crawlerHeartbeat, keyHolder, keyedSetting, livePeers, publishToAll, startHonestFleet, NETS, METRICS, type HonestNode, type KeyedSetting } from './key-holder.js'

const SAMPLE_LIMIT = 1500
const BUDGET = 'all=100'
/** every forged network carries this in its name and org */
const MARK = 'LIAR'
/** what a peer's announced back-off may hold a registry at most (BudgetShare maxPeerBackoffMs) */
const BACKOFF_CAP_MS = 300_000
/** the liar's heartbeats: at most this many, one a second */
const MAX_HEARTBEATS = 300

let setting: KeyedSetting
const honest: HonestNode[] = []
let liar: MeshLibp2p | undefined

before(async () => { setting = await keyedSetting('whoismesh-liar-', BUDGET) })

after(async () => {
  await Promise.resolve(liar?.stop()).catch(() => {})
  await killAll(honest)
  await setting?.sim.close()
  if (setting !== undefined) await rm(setting.dir, { recursive: true, force: true })
})

async function status (n: FleetNode): Promise<CrawlStatus> {
  return await callControl(n.data, '/v1/status', {}) as CrawlStatus
}

async function coverage (n: FleetNode): Promise<Record<string, any>> {
  const r = await runCli(['coverage', '--json', '--data', n.data])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout)
}

/** the sample addresses `n` holds no exact answer for, each with what it holds there */
async function openAddresses (n: FleetNode): Promise<string[]> {
  const open: string[] = []
  for (const a of sampleSlice(SAMPLE_LIMIT)) {
    const r = await callControl(n.data, '/v1/lookup', { ip: formatIPv4(a) }) as Record<string, any>
    if (r.exact !== true) open.push(`${formatIPv4(a)} ${JSON.stringify(r)}`)
  }
  const st = await status(n)
  open.push(`status ${JSON.stringify(Object.fromEntries(Object.entries(st.registries).map(([k, v]) => [k, { q: v.queued, o: v.othersOwn, f: v.inFlight, r: v.retrying }])))} resolved ${st.sampleResolved}`)
  return open
}

/** The forged records, built from what the registries really hold (a liar can read them too). */
function lies (author: string): { networks: NetworkRecord[], negatives: NegativeRecord[], slash8: number } {
  const truth = inProcessTruth(setting.sim.nested ?? setting.sim.world)
  const sample = [...sampleSlice(SAMPLE_LIMIT)].filter(a => truth(a) !== undefined)
  const per8 = new Map<number, number>()
  for (const a of sample) per8.set(a >>> 24, (per8.get(a >>> 24) ?? 0) + 1)
  const slash8 = [...per8.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0][0]
  const inside = sample.filter(a => a >>> 24 === slash8)
  const outside = sample.filter(a => a >>> 24 !== slash8)
  const earlier = Date.now() - 86_400_000
  const forged = (start: number, end: number, handle: string, registry: NetworkRecord['registry'], queryAddress: number): NetworkRecord => ({
    start, end, registry, handle, name: MARK, org: `${MARK} Org`, country: 'ZZ', cidrs: rangeToCidrs(start, end), type: 'ASSIGNED PA',
    parentHandle: '', registered: '', lastChanged: '', source: 'rdap', fetchedAt: earlier, queryAddress, author
  })
  const t8 = truth(inside[0]) as { registry: NetworkRecord['registry'] }
  const networks = [forged(slash8 * 2 ** 24, slash8 * 2 ** 24 + 0xffffff, `${MARK}-${slash8}-8`, t8.registry, inside[0])]
  const negatives: NegativeRecord[] = outside.slice(0, 300).map(address => ({ address, registry: (truth(address) as { registry: NegativeRecord['registry'] }).registry, reason: 'not-found', fetchedAt: earlier, author }))
  const copied = new Set<string>()
  for (const a of outside.slice(300)) {
    const t = truth(a) as { start: string, end: string, handle: string, registry: NetworkRecord['registry'] }
    if (copied.has(t.start + t.end)) continue
    copied.add(t.start + t.end)
    networks.push(forged(parseIPv4(t.start), parseIPv4(t.end), t.handle, t.registry, a))
    if (copied.size === 50) break
  }
  return { networks, negatives, slash8 }
}

test('a key holder\'s lies the delegation files contradict are dropped on arrival, the others stored, then dropped when the operator distrusts it; the pause it announced stays under the cap and ends with it; the honest fleet ends exact and identical', async () => {
  const t0 = Date.now()
  // the operator distrusts the liar here; the nodes would by themselves after 3 contradictions (5d)
  await startHonestFleet(setting, { budget: BUDGET, sampleLimit: SAMPLE_LIMIT, extraArgs: ['--audit-distrust', '0'] }, honest)

  const l = liar = await keyHolder(setting.swarmKey, honest)
  const liarId = l.peerId.toString()

  // --- a fake crawler announcing a back-off: counted live, its pause honoured up to the cap
  let beats = 0
  const beating = (async () => {
    while (liar !== undefined && beats < MAX_HEARTBEATS) {
      // a full crawler with work at ARIN, announcing an hour's ARIN back-off
      await l.services.pubsub.publish(METRICS, crawlerHeartbeat(liarId, beats++, SAMPLE_LIMIT, { backoff: { arin: Date.now() + 3_600_000 } })).catch(() => {})
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
  })()
  await waitFor(async () => (await Promise.all(honest.map(livePeers))).every(c => c === 3), 30_000, 'the honest nodes to count the liar as a live crawler')
  let maxPauseMs = 0
  await waitFor(async () => {
    const paused = await Promise.all(honest.map(async n => (await status(n)).registries.arin.pausedForMs))
    maxPauseMs = Math.max(maxPauseMs, ...paused)
    return paused.every(p => p > 0)
  }, 30_000, 'the liar\'s ARIN back-off to hold every honest node')
  assert.ok(maxPauseMs <= BACKOFF_CAP_MS, `an announced back-off paused ARIN for ${maxPauseMs} ms, more than the ${BACKOFF_CAP_MS} ms cap`)

  // --- the lies, one signed message: every check a message alone allows passes
  const { networks, negatives, slash8 } = lies(liarId)
  await publishToAll(l, NETS, encodeMessage({ networks, negatives }), honest, 'the lies')
  // the /8 leaf and the "not found" notes disagree with the delegation files: dropped on arrival
  const implausible = await Promise.all(honest.map(async n => await waitForLog(n, 'dropped records from a peer that disagree with the delegation files', 30_000)))
  for (const [i, line] of implausible.entries()) {
    // the /8 lies across the allocations in it (or starts in another registry's transferred space)
    assert.ok(line.records === 1 + negatives.length && line.reasons['delegated-negative'] === negatives.length, `${honest[i].name}: ${JSON.stringify(line)}`)
    assert.deepEqual(line.authors, [liarId])
  }
  // the copies are believed
  const probe = formatIPv4(networks[1].queryAddress)
  await waitFor(async () => (await Promise.all(honest.map(async n => (await runCli(['lookup', probe, '--json', '--data', n.data])).stdout))).every(out => out.includes(`${MARK} Org`)),
    30_000, `every honest node to answer ${probe} with the liar's copy`)
  const forged8 = formatIPv4(networks[0].queryAddress)
  for (const n of honest) assert.ok(!(await runCli(['lookup', forged8, '--json', '--data', n.data])).stdout.includes(`${MARK}-${slash8}-8`), `${n.name} stored the forged /8`)

  // --- the liar goes silent: no longer live, it owns nothing and its pause ends with it
  const silentAt = Date.now()
  liar = undefined
  await beating
  await l.stop()
  await waitFor(async () => (await Promise.all(honest.map(livePeers))).every(c => c === 2), 30_000, 'the honest nodes to stop counting the silent liar')
  await waitFor(async () => (await Promise.all(honest.map(async n => (await status(n)).registries.arin.pausedForMs))).every(p => p === 0), 10_000, 'the ARIN pause to end with the liar')
  const pauseEndedMs = Date.now() - silentAt
  // the fleet finishes, the lies answering what they cover; where a registry answer lost to a
  // forged copy, the node says which peer's copy contradicts it and gives the address up
  await Promise.all(honest.map(async n => await waitForLog(n, ['crawl complete', 'crawl finished with addresses given up on'], 120_000))).catch(async err => {
    throw new Error(`${String(err.message).slice(0, 300)}: ${(await Promise.all(honest.map(async n => `${n.name}: ${(await openAddresses(n)).join(', ')}`))).join('; ')}`)
  })

  const contradictions = honest.flatMap(n => n.logs.filter(l => String(l.msg).startsWith('the registry contradicts')))
  assert.ok(contradictions.every(l => l.author === liarId), `a contradiction named another author than the liar: ${JSON.stringify(contradictions.find(l => l.author !== liarId))}`)

  // --- the operator distrusts the liar on every node at once, as ansible/distrust.yml does
  const distrustedAt = Date.now()
  const dropped = await Promise.all(honest.map(async n => {
    const r = await runCli(['distrust', liarId, '--data', n.data])
    assert.equal(r.code, 0, r.stderr)
    const m = /dropped (\d+) networks and (\d+) address notes/.exec(r.stdout)
    assert.ok(m != null, r.stdout)
    return Number(m[1]) + Number(m[2])
  }))

  // --- the honest fleet finishes what the lies had answered
  let covs: Array<Record<string, any>> = []
  let dumps: Array<Awaited<ReturnType<typeof runCli>>> = []
  // the nodes run on. The digest is of what the networks are (store/digest.ts), not of how they
  // were fetched: two nodes that each fetched one network again after the distrust hold copies
  // that differ in fetch metadata (author, fetched_at, query address) under one digest, until a
  // sync's pick rule makes them one (a periodic sync: up to a sync interval per hop). So the dumps
  // compared below are taken once the digests agree, until they are taken identical
  await waitFor(async () => {
    covs = await Promise.all(honest.map(coverage))
    if (!covs.every(c => c.sample_exact === SAMPLE_LIMIT) || new Set(covs.map(c => c.digest)).size !== 1) return false
    dumps = await Promise.all(honest.map(async n => await runCli(['dump', '--data', n.data])))
    return dumps.every(d => d.code !== 0 || d.stdout === dumps[0].stdout)
  }, 180_000, 'every honest node to be exact on the whole sample again, with one digest and one dump').catch(async err => {
    // which addresses are open, and what the first node holds there, for the failure message
    const open = await openAddresses(honest[0])
    throw new Error(`${String(err.message)}: not exact on ${honest[0].name}: ${open.join(', ')}; ${covs.map((c, i) => `${honest[i].name} exact ${String(c.sample_exact)} networks ${String(c.networks)} digest ${String(c.digest).slice(0, 8)}`).join('; ')}; dumps ${dumps.map((d, i) => `${honest[i].name} ${d.stdout === dumps[0]?.stdout ? 'as ' + honest[0].name + "'s" : 'different'}`).join(', ')}`)
  })
  const doneAfterDistrustS = (Date.now() - distrustedAt) / 1000
  for (const n of honest) n.child.kill('SIGTERM')
  await Promise.all(honest.map(async n => await n.exited))

  const truth = inProcessTruth(setting.sim.nested ?? setting.sim.world)
  for (const [i, n] of honest.entries()) {
    assert.equal(dumps[i].code, 0, dumps[i].stderr)
    assert.ok(dumps[i].stdout === dumps[0].stdout, `${n.name}'s dump differs from ${honest[0].name}'s`)
    assert.ok(!dumps[i].stdout.includes(MARK) && !dumps[i].stdout.includes(liarId), `${n.name} still holds a record of the liar`)
    const j = await judgeExact(n.data, sampleSlice(SAMPLE_LIMIT), truth)
    assert.ok(j.exact === j.judged && j.outside === 0, `${n.name}: ${describeJudgement(j)}`)
    const store = await NetworkStore.open({ dataDir: n.data })
    try {
      let authored = 0
      for await (const r of store.negatives()) if (r.author === liarId) authored++
      assert.equal(authored, 0, `${n.name} holds the liar's notes`)
      assert.deepEqual(store.distrusted(), [liarId])
    } finally {
      await store.close()
    }
  }

  await recordFigures({
    scenario: '5b-plausible-liar',
    title: 'A plausible liar holding the swarm key, distrusted by the operator',
    injected: `one peer id minted with the fleet key: heartbeats of a full crawler with ARIN work announcing an hour's ARIN back-off (${beats} sent); one signed message of ${networks.length + negatives.length} valid-looking records — an assignment spanning ${slash8}.0.0.0/8, ${negatives.length} "not found" notes for sample addresses, ${networks.length - 1} real networks with a false name and org and an earlier fetch time; then the liar falls silent, the fleet finishes, and \`whoismesh distrust\` runs on each honest node at once. Into 3 honest nodes crawling ${SAMPLE_LIMIT} addresses of the nested simulator (${BUDGET}, --audit-distrust 0: the operator distrusts)`,
    checked: `the liar counted live and its pause honoured only up to the ${BACKOFF_CAP_MS / 1000} s cap, both ending once it fell silent; the /8 and the notes dropped on arrival by every node (the delegation files contradict them), the copies stored; the fleet ends its crawl, every contradiction naming the liar; after distrust: every record it authored gone, the honest nodes exact on the whole sample again (ground truth), identical dumps, no liar record`,
    figures: {
      'honest nodes': honest.length,
      'forged records sent': networks.length + negatives.length,
      'dropped on arrival as implausible, per node': 1 + negatives.length,
      'longest ARIN pause seen, s': Number((maxPauseMs / 1000).toFixed(1)),
      'pause cap, s': BACKOFF_CAP_MS / 1000,
      'pause ended after the liar fell silent, s': Number((pauseEndedMs / 1000).toFixed(1)),
      'contradictions the honest nodes reported, all naming the liar': contradictions.length,
      'records dropped per node (min..max)': `${Math.min(...dropped)}..${Math.max(...dropped)}`,
      'exact again after distrust, s': Number(doneAfterDistrustS.toFixed(1)),
      'lookups, all nodes': covs.reduce((n, c) => n + (c.lookups as number), 0),
      'networks per honest node': covs[0].networks,
      'wall s': Number(((Date.now() - t0) / 1000).toFixed(1))
    }
  })
})
