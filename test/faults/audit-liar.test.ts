/**
 * Scenario 5d — a liar caught by audits. Three honest `whoismesh node start` processes crawl a
 * sample of the nested simulator in a private mesh, auditing 20% of their lookups
 * (`--audit-share 0.2`, default `--audit-distrust 3`). A peer holding the fleet key
 * (key-holder.ts) publishes, signed by its own id, 300 copies of real networks that answer
 * addresses outside the crawl's sample (so no lookup of the crawl meets them), one in five with a
 * false org and every one with an earlier fetch time (a forged copy wins the pick rule against
 * the registry's answer). Nothing a node knows contradicts them: only asking the registry does.
 * Pass: every honest node distrusts the liar by itself (no operator), naming no honest peer; the
 * fleet finishes exact on the whole sample (ground truth) with identical dumps and no record of
 * the liar left; the audits and lookups it cost are reported.
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
import { runCli } from '../helpers/cli.js'
import { waitForLog, killAll } from '../helpers/fleet.js'
import { describeJudgement, inProcessTruth, judgeExact } from '../helpers/exact.js'
import { recordFigures } from './report.js'
import { keyHolder, keyedSetting, publishToAll, scrape, series, startHonestFleet, NETS, type HonestNode, type KeyedSetting } from './key-holder.js'

const SAMPLE_LIMIT = 1500
const BUDGET = 'all=100'
const AUDIT_SHARE = 0.2
const RECORDS = 300
/** one record in FORGE_EVERY carries a false org */
const FORGE_EVERY = 5
const MARK = 'LIAR'
const DISTRUSTING = 'distrusting a peer: the registries contradicted records it published'

let setting: KeyedSetting
const honest: HonestNode[] = []
let liar: MeshLibp2p | undefined

before(async () => { setting = await keyedSetting('whoismesh-audit-liar-', BUDGET) })

after(async () => {
  await Promise.resolve(liar?.stop()).catch(() => {})
  await killAll(honest)
  await setting?.sim.close()
  if (setting !== undefined) await rm(setting.dir, { recursive: true, force: true })
})

/**
 * Copies of the registries' networks answering addresses just past the crawl's sample, none
 * holding a sample address: each as the crawler would store the simulator's RDAP answer.
 */
function copies (author: string): NetworkRecord[] {
  const view = nestedView(setting.sim.nested!)
  const crawled = [...sampleSlice(SAMPLE_LIMIT)]
  const holdsSample = (s: number, e: number): boolean => crawled.some(a => a >= s && a <= e)
  const earlier = Date.now() - 86_400_000
  const out: NetworkRecord[] = []
  const seen = new Set<number>()
  for (const a of sampleSlice(SAMPLE_LIMIT + 20 * RECORDS).subarray(SAMPLE_LIMIT)) {
    const chain = view.answer(a)?.chain
    const n = chain?.[chain.length - 1]
    if (n === undefined || seen.has(n.start) || holdsSample(n.start, n.end)) continue
    seen.add(n.start)
    const parsed = parseRdapNetwork(rdapNetworkBody(n, 'http://127.0.0.1/', `http://127.0.0.1/ip/${formatIPv4(a)}`), n.registry, a, 0)
    const forged = out.length % FORGE_EVERY === 0
    out.push({ ...parsed, org: forged ? `${MARK} Org` : parsed.org, source: 'rdap', fetchedAt: earlier, queryAddress: a, author })
    if (out.length === RECORDS) break
  }
  assert.equal(out.length, RECORDS)
  return out
}

test('a key holder that forges one in five of the records it publishes is distrusted by every honest node\'s audits; the fleet ends exact and identical without its records', async () => {
  const t0 = Date.now()
  await startHonestFleet(setting, { budget: BUDGET, sampleLimit: SAMPLE_LIMIT, extraArgs: ['--audit-share', String(AUDIT_SHARE)] }, honest)
  const l = liar = await keyHolder(setting.swarmKey, honest)
  const liarId = l.peerId.toString()

  const networks = copies(liarId)
  const publishedAt = Date.now()
  await publishToAll(l, NETS, encodeMessage({ networks, negatives: [] }), honest, 'the copies')

  // every honest node distrusts the liar by itself, naming it and no one else
  const lines = await Promise.all(honest.map(async n => await waitForLog(n, DISTRUSTING, 120_000)))
  for (const [i, line] of lines.entries()) assert.equal(line.peer, liarId, `${honest[i].name}: ${JSON.stringify(line)}`)
  const distrustedAfterS = lines.map(line => (Date.parse(line.time) - publishedAt) / 1000)
  const audits = await Promise.all(honest.map(async n => {
    const text = await scrape(n.metricsPort)
    return { agreed: series(text, 'whoismesh_audits_total{verdict="agreed"}'), contradicted: series(text, 'whoismesh_audits_total{verdict="contradicted"}') }
  }))

  await Promise.all(honest.map(async n => await waitForLog(n, 'crawl complete', 180_000)))
  for (const n of honest) {
    const others = n.logs.filter(x => x.msg === DISTRUSTING && x.peer !== liarId)
    assert.deepEqual(others, [], `${n.name} distrusted an honest peer`)
  }
  const covs = await Promise.all(honest.map(async n => {
    const r = await runCli(['coverage', '--json', '--data', n.data])
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as Record<string, number>
  }))
  const dumps = await Promise.all(honest.map(async n => await runCli(['dump', '--data', n.data])))
  await l.stop()
  liar = undefined
  for (const n of honest) n.child.kill('SIGTERM')
  await Promise.all(honest.map(async n => await n.exited))
  const truth = inProcessTruth(setting.sim.nested ?? setting.sim.world)
  for (const [i, n] of honest.entries()) {
    assert.equal(dumps[i].code, 0, dumps[i].stderr)
    assert.ok(dumps[i].stdout === dumps[0].stdout, `${n.name}'s dump differs from ${honest[0].name}'s`)
    assert.ok(!dumps[i].stdout.includes(MARK) && !dumps[i].stdout.includes(liarId), `${n.name} still holds a record of the liar`)
    const j = await judgeExact(n.data, sampleSlice(SAMPLE_LIMIT), truth)
    assert.ok(j.exact === j.judged && j.outside === 0, `${n.name}: ${describeJudgement(j)}`)
  }

  await recordFigures({
    scenario: '5d-audit-liar',
    title: 'A key holder mixing forged copies into real ones, caught by audits',
    injected: `one peer id minted with the fleet key publishes ${RECORDS} copies of real networks answering addresses outside the crawl's sample, one in ${FORGE_EVERY} with a false org, all with an earlier fetch time (they win the pick rule), into 3 honest nodes crawling ${SAMPLE_LIMIT} addresses of the nested simulator (${BUDGET}, --audit-share ${AUDIT_SHARE}, --audit-distrust 3)`,
    checked: 'every honest node distrusts the liar by itself, and no honest peer; the fleet finishes exact on the whole sample (ground truth) with identical dumps and no record of the liar',
    figures: {
      'honest nodes': honest.length,
      'records sent, forged': `${RECORDS}, ${RECORDS / FORGE_EVERY}`,
      'distrusted after the copies arrived, s (min..max)': `${Math.min(...distrustedAfterS).toFixed(1)}..${Math.max(...distrustedAfterS).toFixed(1)}`,
      'audits agreed / contradicted when distrusted, per node': audits.map(a => `${a.agreed}/${a.contradicted}`).join(', '),
      'lookups, all nodes': covs.reduce((n, c) => n + c.lookups, 0),
      'wall s': Number(((Date.now() - t0) / 1000).toFixed(1))
    }
  })
})
