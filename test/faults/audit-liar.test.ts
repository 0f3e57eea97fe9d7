/**
 * Scenario 5d — liars caught by audits. Three honest `whoismesh node start` processes crawl a
 * sample of the nested simulator in a private mesh, auditing 20% of their lookups
 * (`--audit-share 0.2`, default `--audit-distrust 3`). Peers holding the fleet key
 * (key-holder.ts) each publish, signed by their own ids, 300 copies of real networks that answer
 * addresses outside the crawl's sample (so no lookup of the crawl meets them), every one with an
 * earlier fetch time (a forged copy wins the pick rule against the registry's answer) and some
 * with a false org: the first liar while the fleet crawls (one in five forged), the second once
 * the crawl is done (every one: idle nodes audit within the floor of the budgets). Nothing a
 * node knows contradicts the copies: only asking the registry does. Pass: every honest node
 * distrusts both liars by itself (no operator), naming no honest peer; the fleet finishes exact on
 * the whole sample (ground truth) with identical dumps and no record of either liar; the audits
 * and lookups they cost are reported.
 */
import '../../src/util/polyfill.js'
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import type { MeshLibp2p } from '../../src/mesh/libp2p.js'
import { encodeMessage } from '../../src/mesh/messages.js'
import type { NetworkRecord } from '../../src/record/index.js'
import { sampleSlice } from '../../src/sample/index.js'
import { formatIPv4 } from '../../src/util/ipv4.js'
import { parseRdapNetwork } from '../../src/lookup/rdap-parser.js'
import { nestedView } from '../../src/sim/responder.js'
import { rdapNetworkBody } from '../../src/sim/rdap-format.js'
import { runCli, waitFor } from '../helpers/cli.js'
import { waitForLog, killAll } from '../helpers/fleet.js'
import { describeJudgement, inProcessTruth, judgeExact } from '../helpers/exact.js'
import { recordFigures } from './report.js'
import { keyHolder, keyedSetting, publishToAll, scrape, series, startHonestFleet, NETS, type HonestNode, type KeyedSetting } from './key-holder.js'

/** large enough that the first liar's copies arrive while the fleet still crawls, on a busy machine too */
const SAMPLE_LIMIT = 3000
const BUDGET = 'all=100'
const AUDIT_SHARE = 0.2
const RECORDS = 300
/** one record in FORGE_EVERY carries a false org (the first liar's) */
const FORGE_EVERY = 5
/**
 * the second liar's: every one. A node whose crawl is done audits within the floor of the
 * budgets (2% of a registry's, shared by up to 64 nodes: 0.03 requests/s per registry here), so
 * each audit is ~30 s of a registry's slots; three strikes then take one to three rounds
 */
const FORGE_EVERY_IDLE = 1
const MARK = 'LIAR'
const DISTRUSTING = 'distrusting a peer: the registries contradicted records it published'

let setting: KeyedSetting
const honest: HonestNode[] = []
const liars: MeshLibp2p[] = []

before(async () => { setting = await keyedSetting('whoismesh-audit-liar-', BUDGET) })

after(async () => {
  await Promise.all(liars.map(async l => { await Promise.resolve(l.stop()).catch(() => {}) }))
  await killAll(honest)
  await setting?.sim.close()
  if (setting !== undefined) await rm(setting.dir, { recursive: true, force: true })
})

/**
 * Copies of the registries' networks answering addresses just past the crawl's sample, none
 * holding a sample address: each as the crawler would store the simulator's RDAP answer.
 */
function copies (author: string, forgeEvery: number, skip = 0): NetworkRecord[] {
  const view = nestedView(setting.sim.nested!)
  const crawled = [...sampleSlice(SAMPLE_LIMIT)]
  const holdsSample = (s: number, e: number): boolean => crawled.some(a => a >= s && a <= e)
  const earlier = Date.now() - 86_400_000
  const out: NetworkRecord[] = []
  const seen = new Set<number>()
  for (const a of sampleSlice(SAMPLE_LIMIT + 40 * RECORDS).subarray(SAMPLE_LIMIT)) {
    const chain = view.answer(a)?.chain
    const n = chain?.[chain.length - 1]
    if (n === undefined || seen.has(n.start) || holdsSample(n.start, n.end)) continue
    seen.add(n.start)
    if (seen.size <= skip) continue
    const parsed = parseRdapNetwork(rdapNetworkBody(n, 'http://127.0.0.1/', `http://127.0.0.1/ip/${formatIPv4(a)}`), n.registry, a, 0)
    const forged = out.length % forgeEvery === 0
    out.push({ ...parsed, org: forged ? `${MARK} Org` : parsed.org, source: 'rdap', fetchedAt: earlier, queryAddress: a, author })
    if (out.length === RECORDS) break
  }
  assert.equal(out.length, RECORDS)
  return out
}

/** the audits a node has run, by verdict */
async function auditCounts (n: HonestNode): Promise<string> {
  const text = await scrape(n.metricsPort)
  return `${series(text, 'whoismesh_audits_total{verdict="agreed"}')}/${series(text, 'whoismesh_audits_total{verdict="contradicted"}')}`
}

/** Publishes `networks` from `l` and waits for every honest node to distrust it: seconds each took. */
async function caught (l: MeshLibp2p, networks: NetworkRecord[], what: string, timeoutMs: number): Promise<number[]> {
  const id = l.peerId.toString()
  const publishedAt = Date.now()
  await publishToAll(l, NETS, encodeMessage({ networks, negatives: [] }), honest, what)
  return await Promise.all(honest.map(async n => {
    const distrusts = (): Record<string, any> | undefined => n.logs.find(x => x.msg === DISTRUSTING && x.peer === id)
    await waitFor(() => distrusts() !== undefined, timeoutMs, `${n.name} to distrust ${what}'s author`).catch(async err => {
      // what the node's audits did meanwhile, for the failure message
      const said = n.logs.filter(x => /audit|reopened|crawl done/.test(String(x.msg))).slice(-8).map(x => `${String(x.msg)} ${JSON.stringify(x).slice(0, 160)}`)
      throw new Error(`${String(err.message)}; audits agreed/contradicted ${await auditCounts(n)}; ${said.join(' | ')}`)
    })
    return (Date.parse(distrusts()!.time) - publishedAt) / 1000
  }))
}

const span = (xs: number[]): string => `${Math.min(...xs).toFixed(1)}..${Math.max(...xs).toFixed(1)}`

test('key holders that forge one in five of the records they publish, during the crawl or after it, are distrusted by every honest node\'s audits; the fleet ends exact and identical without their records', async () => {
  const t0 = Date.now()
  await startHonestFleet(setting, { budget: BUDGET, sampleLimit: SAMPLE_LIMIT, extraArgs: ['--audit-share', String(AUDIT_SHARE)] }, honest)
  // one liar while the fleet crawls: audits earned by the crawl's lookups
  const a = liars[0] = await keyHolder(setting.swarmKey, honest)
  const duringCrawlS = await caught(a, copies(a.peerId.toString(), FORGE_EVERY), 'the first liar\'s copies', 120_000)
  const auditsDuringCrawl = await Promise.all(honest.map(auditCounts))
  await Promise.all(honest.map(async n => await waitForLog(n, 'crawl complete', 180_000)))
  // another once the crawl is done: audits earned by the idle nodes' share of the budgets
  const b = liars[1] = await keyHolder(setting.swarmKey, honest)
  const afterCrawlS = await caught(b, copies(b.peerId.toString(), FORGE_EVERY_IDLE, RECORDS), 'the second liar\'s copies', 240_000)
  const auditsAfter = await Promise.all(honest.map(auditCounts))
  const liarIds = liars.map(l => l.peerId.toString())
  for (const n of honest) {
    const others = n.logs.filter(x => x.msg === DISTRUSTING && !liarIds.includes(x.peer))
    assert.deepEqual(others, [], `${n.name} distrusted an honest peer`)
  }

  // the replicas agree again, byte for byte
  let dumps: Array<{ code: number | null, stdout: string, stderr: string }> = []
  await waitFor(async () => {
    dumps = await Promise.all(honest.map(async n => await runCli(['dump', '--data', n.data])))
    return dumps.every(d => d.code === 0 && d.stdout === dumps[0].stdout)
  }, 60_000, 'the honest nodes\' dumps to be identical')
  const covs = await Promise.all(honest.map(async n => {
    const r = await runCli(['coverage', '--json', '--data', n.data])
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as Record<string, number>
  }))
  await Promise.all(liars.splice(0).map(async l => { await l.stop() }))
  for (const n of honest) n.child.kill('SIGTERM')
  await Promise.all(honest.map(async n => await n.exited))
  const truth = inProcessTruth(setting.sim.nested ?? setting.sim.world)
  for (const [i, n] of honest.entries()) {
    assert.ok(!dumps[i].stdout.includes(MARK) && liarIds.every(id => !dumps[i].stdout.includes(id)), `${n.name} still holds a liar's record`)
    const j = await judgeExact(n.data, sampleSlice(SAMPLE_LIMIT), truth)
    assert.ok(j.exact === j.judged && j.outside === 0, `${n.name}: ${describeJudgement(j)}`)
  }

  await recordFigures({
    scenario: '5d-audit-liar',
    title: 'Key holders mixing forged copies into real ones, caught by audits during and after the crawl',
    injected: `two peer ids minted with the fleet key each publish ${RECORDS} copies of real networks answering addresses outside the crawl's sample, all with an earlier fetch time (they win the pick rule): the first, one in ${FORGE_EVERY} with a false org, while 3 honest nodes crawl ${SAMPLE_LIMIT} addresses of the nested simulator; the second, every one, once they are done (${BUDGET}, --audit-share ${AUDIT_SHARE}, --audit-distrust 3)`,
    checked: 'every honest node distrusts both liars by itself, and no honest peer; the fleet finishes exact on the whole sample (ground truth) with identical dumps and no record of either liar',
    figures: {
      'honest nodes': honest.length,
      'records sent per liar; forged by the first, the second': `${RECORDS}; ${RECORDS / FORGE_EVERY}, ${RECORDS / FORGE_EVERY_IDLE}`,
      'first liar (during the crawl) distrusted after its copies arrived, s (min..max)': span(duringCrawlS),
      'second liar (after the crawl) distrusted after its copies arrived, s (min..max)': span(afterCrawlS),
      'audits agreed/contradicted per node, when the first was distrusted': auditsDuringCrawl.join(', '),
      'audits agreed/contradicted per node, when the second was distrusted': auditsAfter.join(', '),
      'lookups, all nodes': covs.reduce((n, c) => n + c.lookups, 0),
      'audits, all nodes': covs.reduce((n, c) => n + c.audits, 0),
      'wall s': Number(((Date.now() - t0) / 1000).toFixed(1))
    }
  })
})
