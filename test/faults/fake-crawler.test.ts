/**
 * Scenario 5c — a fake crawler. Three honest `whoismesh node start` processes (`--peer-stall 8`)
 * crawl a sample of the nested simulator in a private mesh; a peer holding the fleet key
 * (key-holder.ts) sends a full crawler's heartbeats with work at ARIN, once a second, and never
 * publishes a record. Counted live, it owns a share of the sample that nobody asks. Pass: every
 * honest node takes its share away within the stall time and a few heartbeats of its first
 * heartbeat (and says so, naming it), and the fleet finishes exact on the whole sample (ground
 * truth) while the fake still sends heartbeats and is still counted live.
 */
import '../../src/util/polyfill.js'
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import type { MeshLibp2p } from '../../src/mesh/libp2p.js'
import { sampleSlice } from '../../src/sample/index.js'
import { runCli, waitFor } from '../helpers/cli.js'
import { waitForLog, killAll } from '../helpers/fleet.js'
import { describeJudgement, inProcessTruth, judgeExact } from '../helpers/exact.js'
import { recordFigures } from './report.js'
import { crawlerHeartbeat, keyHolder, keyedSetting, livePeers, startHonestFleet, METRICS, type HonestNode, type KeyedSetting } from './key-holder.js'

const SAMPLE_LIMIT = 1500
const BUDGET = 'all=100'
const STALL_S = 8
/** the fake's heartbeats: at most this many, one a second */
const MAX_HEARTBEATS = 150
const STALLED = 'a peer owns open sample addresses and shows no work: its share goes to the others'

let setting: KeyedSetting
const honest: HonestNode[] = []
let fake: MeshLibp2p | undefined
let beating = false

before(async () => { setting = await keyedSetting('whoismesh-fake-crawler-', BUDGET) })

after(async () => {
  beating = false
  await Promise.resolve(fake?.stop()).catch(() => {})
  await killAll(honest)
  await setting?.sim.close()
  if (setting !== undefined) await rm(setting.dir, { recursive: true, force: true })
})

test('a key holder that heartbeats as a crawler and never crawls loses its share of the sample within the stall time; the fleet finishes exact while it is still live', async () => {
  const t0 = Date.now()
  await startHonestFleet(setting, { budget: BUDGET, sampleLimit: SAMPLE_LIMIT, extraArgs: ['--peer-stall', String(STALL_S)] }, honest)
  const f = fake = await keyHolder(setting.swarmKey, honest)
  const fakeId = f.peerId.toString()

  let beats = 0
  let firstBeatAt = 0
  beating = true
  const loop = (async () => {
    while (beating && beats < MAX_HEARTBEATS) {
      await f.services.pubsub.publish(METRICS, crawlerHeartbeat(fakeId, beats++, SAMPLE_LIMIT)).catch(() => {})
      if (firstBeatAt === 0) firstBeatAt = Date.now()
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
  })()
  await waitFor(async () => (await Promise.all(honest.map(livePeers))).every(c => c === 3), 30_000, 'the honest nodes to count the fake as a live crawler')

  // each honest node takes the fake's share away, naming it
  const stalledAfterS = await Promise.all(honest.map(async n => {
    const line = await waitForLog(n, STALLED, 60_000)
    assert.equal(line.peer, fakeId)
    return (Date.parse(line.time) - firstBeatAt) / 1000
  }))
  // the fleet finishes while the fake still beats and is counted live
  await Promise.all(honest.map(async n => await waitForLog(n, 'crawl complete', 120_000)))
  assert.ok(beating && beats < MAX_HEARTBEATS, 'the fake stopped before the fleet finished')
  assert.ok((await Promise.all(honest.map(livePeers))).every(c => c === 3), 'the fake is still counted live')
  const covs = await Promise.all(honest.map(async n => {
    const r = await runCli(['coverage', '--json', '--data', n.data])
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as Record<string, number>
  }))
  beating = false
  await loop
  for (const n of honest) n.child.kill('SIGTERM')
  await Promise.all(honest.map(async n => await n.exited))
  const j = await judgeExact(honest[0].data, sampleSlice(SAMPLE_LIMIT), inProcessTruth(setting.sim.nested ?? setting.sim.world))
  assert.ok(j.exact === j.judged && j.outside === 0, describeJudgement(j))
  // within the stall time and a few heartbeats (the watch judges once a heartbeat; 1 s here)
  for (const s of stalledAfterS) assert.ok(s <= STALL_S + 5, `a node took the fake's share away ${s} s after its first heartbeat (stall time ${STALL_S} s)`)

  await recordFigures({
    scenario: '5c-fake-crawler',
    title: 'A key holder heartbeating as a crawler that never crawls',
    injected: `one peer id minted with the fleet key, sending a full crawler's heartbeats with ARIN work once a second (${beats} sent) and no record, into 3 honest nodes crawling ${SAMPLE_LIMIT} addresses of the nested simulator (${BUDGET}, --peer-stall ${STALL_S})`,
    checked: 'every honest node takes the fake\'s share of the sample away within the stall time plus a few heartbeats, naming it; the fleet finishes exact on the whole sample (ground truth) while the fake is still live',
    figures: {
      'honest nodes': honest.length,
      'stall time, s': STALL_S,
      'share taken away after its first heartbeat, s (min..max)': `${Math.min(...stalledAfterS).toFixed(1)}..${Math.max(...stalledAfterS).toFixed(1)}`,
      'exact answers': `${j.exact} of ${j.judged}`,
      'lookups, all nodes': covs.reduce((n, c) => n + c.lookups, 0),
      'wall s': Number(((Date.now() - t0) / 1000).toFixed(1))
    }
  })
})
