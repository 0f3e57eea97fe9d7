/**
 * Audits of peers' records (src/crawl/audits.ts): the verdicts, the share of lookups they take,
 * the reservoir per author, strikes and the distrust they lead to — and how many records a liar
 * that forges 1% of what it publishes gets out before a node auditing 1% of its lookups
 * distrusts it (reported: `.faults/5e-audit-catch.json`, docs/reliability.md).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Audits, judgeAudit, registryDateMs, type AuditJob } from '../../src/crawl/audits.js'
import { canonicalNegative, canonicalNetwork, type CanonicalNetwork, type NegativeRecord, type NetworkRecord } from '../../src/record/index.js'
import { prngFloat } from '../../src/util/prng.js'
import { recordFigures } from '../faults/report.js'

const LIAR = '12D3KooWLiarPeerXyz'
const HONEST = ['12D3KooWHonestPeerA', '12D3KooWHonestPeerB', '12D3KooWHonestPeerC']
const SELF = '12D3KooWThisNodeXyz'

function net (start: number, end: number, author: string | undefined, over: Partial<NetworkRecord> = {}): CanonicalNetwork {
  return canonicalNetwork({
    start, end, registry: 'arin', handle: `NET-${start}`, name: `N${start}`, org: 'Org', country: 'US', cidrs: [], type: 'Reassigned',
    parentHandle: '', registered: '', lastChanged: '', source: 'rdap', fetchedAt: Date.UTC(2026, 10, 1), queryAddress: start + 1, author, ...over
  })
}

const job = (r: CanonicalNetwork): AuditJob => {
  const a = new Audits({ share: 1 }, SELF)
  a.offer({ networks: [r], negatives: [] })
  a.earn()
  const j = a.take(r.registry)
  assert.ok(j !== undefined)
  return j
}

describe('judgeAudit', () => {
  const leaf = job(net(1000, 1255, LIAR))
  const container = job(net(1000, 2023, LIAR, { type: 'Direct Allocation' }))
  it('a network: the same range and identity agrees; another identity, no network, a network not inside it contradict', () => {
    assert.equal(leaf.address, 1001)
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0]) }), 'agreed')
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0], { org: 'Other' }) }), 'contradicted')
    assert.equal(judgeAudit(leaf, { notFound: true }), 'contradicted')
    assert.equal(judgeAudit(leaf, { network: net(0, 4095, HONEST[0], { type: 'Direct Allocation' }) }), 'contradicted')
  })
  it('a difference the registry dates after the peer\'s fetch proves nothing, unless the record claims a fetch older than 30 days', () => {
    const soon = Date.UTC(2026, 10, 15)
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0], { org: 'Renamed', lastChanged: '2026-11-20T00:00:00Z' }) }, soon), 'inconclusive')
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0], { org: 'Renamed', lastChanged: '2026-10-20T00:00:00Z' }) }, soon), 'contradicted')
    // a date alone is the end of its day: a change that day may come after the fetch
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0], { org: 'Renamed', lastChanged: '2026-11-01' }) }, soon), 'inconclusive')
    assert.equal(registryDateMs('2026-11-01T10:00'), Date.UTC(2026, 10, 1, 10))
    assert.ok(Number.isNaN(registryDateMs('')))
    // a backdated copy: the excuse is not taken
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0], { org: 'Renamed', lastChanged: '2026-11-20T00:00:00Z' }) }, Date.UTC(2027, 0, 15)), 'contradicted')
  })

  it('across RDAP and WHOIS the type counts as leaf or container and the org without case or punctuation; a claimed source excuses nothing else', () => {
    const whois = { source: 'whois' as const }
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0], { ...whois, org: 'org.', type: 'reassigned' }) }), 'agreed')
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0], { ...whois, org: 'Another Org' }) }), 'contradicted')
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0], { ...whois, country: 'DE' }) }), 'contradicted')
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0], { ...whois, name: 'OTHER' }) }), 'contradicted')
    assert.equal(judgeAudit(leaf, { network: net(1000, 1255, HONEST[0], { ...whois, type: 'Direct Allocation' }) }), 'contradicted', 'a leaf the registry calls a container')
  })

  it('a leaf answered by another range inside it is contradicted (a leaf has no children); a container so answered says nothing', () => {
    assert.equal(judgeAudit(leaf, { network: net(1000, 1127, HONEST[0]) }), 'contradicted')
    assert.equal(judgeAudit(container, { network: net(1000, 1127, HONEST[0]) }), 'inconclusive')
    assert.equal(judgeAudit(container, { network: net(500, 1127, HONEST[0]) }), 'contradicted')
  })
  it('notes: "not found" against any network, "answered" (a container is the answer) against a leaf', () => {
    const a = new Audits({ share: 1 }, SELF)
    const note = (reason: NegativeRecord['reason']): ReturnType<typeof canonicalNegative> => canonicalNegative({ address: 7, registry: 'arin', reason, fetchedAt: 1, author: LIAR })
    a.offer({ networks: [], negatives: [note('not-found'), note('answered'), note('reserved')] })
    const jobs: AuditJob[] = []
    for (let i = 0; i < 3; i++) { a.earn(); const j = a.take('arin'); if (j !== undefined) jobs.push(j) }
    assert.deepEqual(jobs.map(j => j.note).sort(), ['answered', 'not-found'], 'reserved space is never asked')
    const nf = jobs.find(j => j.note === 'not-found')!
    const an = jobs.find(j => j.note === 'answered')!
    assert.equal(judgeAudit(nf, { notFound: true }), 'agreed')
    assert.equal(judgeAudit(nf, { network: net(0, 255, HONEST[0]) }), 'contradicted')
    assert.equal(judgeAudit(an, { network: net(0, 255, HONEST[0], { type: 'Direct Allocation' }) }), 'agreed')
    assert.equal(judgeAudit(an, { network: net(0, 255, HONEST[0]) }), 'contradicted')
    // a network registered after the note's fetch (time 1 here, long ago: no excuse); a recent note is excused
    const recent = { ...an, fetchedAt: Date.UTC(2026, 10, 1) }
    assert.equal(judgeAudit(recent, { network: net(0, 255, HONEST[0], { registered: '2026-11-10' }) }, Date.UTC(2026, 10, 15)), 'inconclusive')
    assert.equal(judgeAudit({ ...nf, fetchedAt: Date.UTC(2026, 10, 1) }, { network: net(0, 255, HONEST[0], { registered: '2026-11-10' }) }, Date.UTC(2026, 10, 15)), 'inconclusive')
    assert.equal(judgeAudit({ ...nf, fetchedAt: Date.UTC(2026, 10, 1) }, { network: net(0, 255, HONEST[0], { registered: '2020-11-10' }) }, Date.UTC(2026, 10, 15)), 'contradicted')
  })
})

describe('Audits', () => {
  it('audits only peers\' records, one per 1/share lookups, each record once, of the registry asking', () => {
    const a = new Audits({ share: 0.01 }, SELF)
    a.offer({ networks: [net(0, 255, SELF), net(256, 511, LIAR), net(512, 767, HONEST[0], { registry: 'ripe' }), net(768, 1023, undefined)], negatives: [] })
    for (let i = 0; i < 99; i++) a.earn()
    assert.equal(a.take('arin'), undefined, 'not earned yet')
    a.earn()
    assert.equal(a.take('apnic'), undefined, 'nothing of that registry')
    assert.equal(a.take('arin')?.address, 257)
    for (let i = 0; i < 100; i++) a.earn()
    assert.equal(a.take('arin'), undefined, 'each record once')
    assert.equal(a.take('ripe')?.author, HONEST[0])
    assert.deepEqual(a.stats()[LIAR], { audits: 1, strikes: 0, waiting: 0 })
    assert.equal(new Audits({ share: 0 }, SELF).stats()[LIAR], undefined)
  })

  it('keeps a uniform sample of at most perAuthor records per author', () => {
    const a = new Audits({ share: 1, perAuthor: 100 }, SELF, prngFloat(7))
    for (let i = 0; i < 10_000; i++) a.offer({ networks: [net(i * 256, i * 256 + 255, LIAR)], negatives: [] })
    assert.equal(a.stats()[LIAR].waiting, 100)
    // the sample spreads over the whole stream, not its first hundred
    let late = 0
    for (let i = 0; i < 100; i++) {
      a.earn()
      const j = a.take('arin')
      if (j !== undefined && j.author === LIAR && j.address > 5000 * 256) late++
    }
    assert.ok(late > 30 && late < 70, `${late} of 100 from the second half`)
  })

  it('distinct contradicted records strike (never this node\'s own); at distrustAfter the author is distrusted once, its records no longer audited until it is forgiven', () => {
    const a = new Audits({ share: 1, distrustAfter: 3 }, SELF)
    const distrusted: Array<[string, number]> = []
    a.on('distrust', (p, n) => distrusted.push([p, n]))
    a.strike(LIAR, '1-2')
    a.strike(LIAR, '1-2')
    a.strike(LIAR, '3-4')
    assert.deepEqual(distrusted, [])
    a.strike(LIAR, '5-6')
    a.strike(LIAR, '7-8')
    assert.deepEqual(distrusted, [[LIAR, 3]])
    a.offer({ networks: [net(0, 255, LIAR)], negatives: [] })
    a.earn()
    assert.equal(a.take('arin'), undefined)
    // trusted again by the operator: it starts afresh
    a.forgive(LIAR)
    a.offer({ networks: [net(0, 255, LIAR)], negatives: [] })
    a.earn()
    assert.equal(a.take('arin')?.author, LIAR)
    // this node's own records: the registry changed between two of its lookups, no strike
    for (let i = 0; i < 5; i++) a.strike(SELF, String(i))
    assert.deepEqual(distrusted, [[LIAR, 3]])
    assert.equal(a.stats()[SELF], undefined)
    const never = new Audits({ share: 1, distrustAfter: 0 }, SELF)
    never.on('distrust', () => assert.fail('distrustAfter 0 never distrusts'))
    for (let i = 0; i < 10; i++) never.strike(LIAR, String(i))
  })

  it('records that arrive while the node is idle (its crawl done) are audited before the reservoirs', () => {
    const a = new Audits({ share: 1 }, SELF)
    for (let i = 0; i < 100; i++) a.offer({ networks: [net(i * 256, i * 256 + 255, HONEST[0])], negatives: [] })
    a.idle = true
    a.offer({ networks: [net(1 << 24, (1 << 24) + 255, LIAR), net(2 << 24, (2 << 24) + 255, LIAR)], negatives: [] })
    const taken: string[] = []
    for (let i = 0; i < 3; i++) { a.earn(); taken.push(a.take('arin')!.author) }
    assert.deepEqual(taken, [LIAR, LIAR, HONEST[0]])
    assert.equal(a.stats()[LIAR].audits, 2)
  })

  it('makes room for a new author by dropping the one offered a record least recently, never one with strikes', () => {
    const a = new Audits({ share: 1, maxAuthors: 2 }, SELF)
    a.offer({ networks: [net(0, 255, HONEST[0])], negatives: [] })
    a.offer({ networks: [net(256, 511, LIAR)], negatives: [] })
    a.strike(LIAR, 'x')
    a.offer({ networks: [net(512, 767, HONEST[1])], negatives: [] })
    assert.deepEqual(Object.keys(a.stats()).sort(), [HONEST[1], LIAR].sort())
    // every kept author has strikes: a new one is not kept
    a.strike(HONEST[1], 'y')
    a.offer({ networks: [net(768, 1023, HONEST[2])], negatives: [] })
    assert.deepEqual(Object.keys(a.stats()).sort(), [HONEST[1], LIAR].sort())
  })

  it('a job that got no slot waits again with its credit back; a peer the operator distrusted is audited no more', () => {
    const a = new Audits({ share: 1 }, SELF)
    a.offer({ networks: [net(0, 255, LIAR)], negatives: [] })
    a.earn()
    const j = a.take('arin')!
    a.untake(j)
    assert.deepEqual(a.stats()[LIAR], { audits: 0, strikes: 0, waiting: 1 })
    assert.equal(a.take('arin')?.address, j.address)
    a.untake(j)
    a.distrusted(LIAR)
    assert.equal(a.take('arin'), undefined)
    assert.equal(a.stats()[LIAR].waiting, 0)
  })

  it('a suspect\'s records go first, and lookups earn suspectBoost times as many audits while it has records left', () => {
    const a = new Audits({ share: 0.01, suspectBoost: 10 }, SELF)
    for (let i = 0; i < 50; i++) a.offer({ networks: [net(i * 256, i * 256 + 255, HONEST[0]), net(i * 256, i * 256 + 255, LIAR)], negatives: [] })
    a.strike(LIAR, 'x')
    let taken = 0
    for (let i = 0; i < 100; i++) {
      a.earn()
      const j = a.take('arin')
      if (j !== undefined) { taken++; assert.equal(j.author, LIAR) }
    }
    assert.equal(taken, 10)
  })
})

/**
 * One node of a fleet of four equal crawlers, one of them a liar: every tick each peer publishes
 * one record and the node makes one lookup. The liar forges each record with probability
 * `forge`; the registry changed an honest record between its fetch and the audit with
 * probability `churn`. Returns the liar's records published when the first audit caught it and
 * when the node distrusted it, and the honest peers distrusted (none, we hope).
 */
function model (seed: number, forge: number, churn: number, maxTicks: number): { firstStrike: number, distrustedAt: number, honestDistrusted: number, audits: number } {
  const random = prngFloat(seed)
  const draw = prngFloat(seed ^ 0x5eed)
  const a = new Audits({ share: 0.01 }, SELF, random)
  const forged = new Set<number>()
  let firstStrike = -1
  let distrustedAt = -1
  let honestDistrusted = 0
  let audits = 0
  let tick = 0
  a.on('distrust', peer => { if (peer === LIAR) distrustedAt = tick; else honestDistrusted++ })
  for (; tick < maxTicks && distrustedAt < 0; tick++) {
    const liar = net(tick * 256, tick * 256 + 255, LIAR)
    if (draw() < forge) forged.add(liar.start)
    a.offer({ networks: [liar, ...HONEST.map((p, k) => net(tick * 256 + k * 64, tick * 256 + k * 64 + 63, p))], negatives: [] })
    a.earn()
    for (let j = a.take('arin'); j !== undefined; j = a.take('arin')) {
      audits++
      const lie = j.author === LIAR ? forged.has(j.network!.start) : draw() < churn
      a.verdict(j, lie ? 'contradicted' : 'agreed')
      if (lie && j.author === LIAR && firstStrike < 0) firstStrike = tick + 1
    }
  }
  return { firstStrike, distrustedAt: distrustedAt < 0 ? -1 : distrustedAt + 1, honestDistrusted, audits }
}

describe('an audit at 1% against a liar forging 1%', () => {
  it('distrusts it within a bounded number of its records, and no honest peer (registries changing 0.05% of records meanwhile)', async () => {
    const runs = Array.from({ length: 12 }, (_, i) => model(1000 + i, 0.01, 0.0005, 1_000_000))
    for (const r of runs) {
      assert.ok(r.distrustedAt > 0, `a liar not distrusted within 1,000,000 of its records: ${JSON.stringify(r)}`)
      assert.equal(r.honestDistrusted, 0, JSON.stringify(r))
    }
    const sorted = (k: 'firstStrike' | 'distrustedAt'): number[] => runs.map(r => r[k]).sort((x, y) => x - y)
    const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)]
    await recordFigures({
      scenario: '5e-audit-catch',
      title: 'Audits at 1% of the lookups against a liar forging 1% of its records (model of one node, src/crawl/audits.ts)',
      injected: 'one node auditing with the defaults (--audit-share 0.01, --audit-distrust 3, 10× for a peer once contradicted) in a fleet of four equal crawlers: each tick each peer publishes one record and the node makes one lookup; one peer forges each record with probability 1%; the registries change an honest record between its fetch and its audit with probability 0.05%; 12 seeded runs',
      checked: 'every run distrusts the liar, no run distrusts an honest peer',
      figures: {
        runs: runs.length,
        'liar records published until its first contradiction (median, max)': `${median(sorted('firstStrike'))}, ${Math.max(...sorted('firstStrike'))}`,
        'liar records published until distrusted (median, max)': `${median(sorted('distrustedAt'))}, ${Math.max(...sorted('distrustedAt'))}`,
        'audits the node ran until then (median)': median(runs.map(r => r.audits).sort((x, y) => x - y)),
        'honest peers distrusted': runs.reduce((n, r) => n + r.honestDistrusted, 0)
      }
    })
  })
})
