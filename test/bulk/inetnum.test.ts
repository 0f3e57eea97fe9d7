/**
 * Inetnum objects of the RIRs' dumps as networks: the real excerpts of RIPE's, APNIC's and
 * AFRINIC's dumps (test/fixtures/bulk/) joined with their organisation objects, placeholders and
 * other classes dropped, and — for a few hundred networks of the simulator's nested world — the
 * very fields the crawler's WHOIS parser reads from the same inetnum in the registry's answer.
 */
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { parseWhoisText, type TextObject } from '../../src/lookup/parse-util.js'
import { parseWhoisAnswer } from '../../src/lookup/whois-parser.js'
import { INETNUM_ATTRIBUTES, inetnumFields, organisationEntry, type DumpRegistry } from '../../src/bulk/inetnum.js'
import { newDumpStats, readRpslDump } from '../../src/bulk/rpsl-dump.js'
import { describeNode, NestedWorld, type SimNetwork, type TreeNode } from '../../src/sim/index.js'
import { buildWorld } from '../../src/sim/world.js'
import { rpslInetnumLines, rpslNetworkAnswer } from '../../src/sim/whois-format.js'
import type { ParsedNetwork } from '../../src/record/index.js'
import { rangeToCidrs } from '../../src/util/ipv4.js'

/** An inetnum of a dump as a snapshot gives it back: its fields, the CIDR list made from the range. */
function inetnumNetwork (o: TextObject, orgNames: ReadonlyMap<string, string>, registry: DumpRegistry): ParsedNetwork | undefined {
  const f = inetnumFields(o, orgNames, registry)
  return f === undefined ? undefined : { ...f, cidrs: rangeToCidrs(f.start, f.end) }
}

const FIXTURES = new URL('../fixtures/bulk/', import.meta.url)

async function objectsOf (bytes: Buffer, cls: string): Promise<TextObject[]> {
  const out: TextObject[] = []
  for await (const o of readRpslDump(Readable.from([bytes]), newDumpStats(), { classes: new Set([cls]) })) out.push(o.obj)
  return out
}

async function orgNamesOf (bytes: Buffer): Promise<Map<string, string>> {
  const names = new Map<string, string>()
  for (const o of await objectsOf(bytes, 'organisation')) {
    const e = organisationEntry(o)
    if (e !== undefined) names.set(...e)
  }
  return names
}

async function fixtureNetworks (inetnums: string, organisations: string, registry: DumpRegistry): Promise<Array<{ obj: TextObject, net: ParsedNetwork | undefined }>> {
  const orgNames = await orgNamesOf(readFileSync(new URL(organisations, FIXTURES)))
  const objs = await objectsOf(gzipSync(readFileSync(new URL(inetnums, FIXTURES))), 'inetnum')
  return objs.map(obj => ({ obj, net: inetnumNetwork(obj, orgNames, registry) }))
}

/** The text of an object as a registry prints it. */
function rpslText (o: TextObject): string {
  return o.attrs.map(a => `${`${a.key}:`.padEnd(16)}${a.value}`).join('\n')
}

const FOOTER = '% This query was served by the RIPE Database Query Service version 1.114 (TEST)\n'

describe('inetnum objects of the dumps as networks', () => {
  it('gives RIPE inetnums their organisation\'s name, dates, type and handle', async () => {
    const nets = await fixtureNetworks('ripe.db.inetnum', 'ripe.db.organisation', 'ripe')
    assert.equal(nets.length, 6)
    assert.deepEqual(nets[0].net, {
      start: 0xc1878a00,
      end: 0xc1878aff,
      registry: 'ripe',
      handle: '193.135.138.0 - 193.135.138.255',
      name: 'VILLE-DE-STE-CROIX',
      org: 'Commune de Ste-Croix',
      country: 'CH',
      cidrs: ['193.135.138.0/24'],
      type: 'ASSIGNED PI',
      parentHandle: '',
      registered: '2004-11-30T10:47:47Z',
      lastChanged: '2018-11-09T15:48:31Z'
    })
    assert.deepEqual(nets.map(n => n.net?.org), [
      'Commune de Ste-Croix',
      'Haute ecole d ingenierie et de gestion du canton de Vaud',
      'Haute ecole d ingenierie et de gestion du canton de Vaud',
      'Haute ecole d ingenierie et de gestion du canton de Vaud',
      'Ville de Nyon',
      'Commune de Moudon'
    ])
  })

  it('falls back to the first descr when the organisation is not known, as the WHOIS parser does', async () => {
    const [first, eivd] = await fixtureNetworks('ripe.db.inetnum', 'ripe.db.organisation', 'ripe')
    assert.equal(inetnumNetwork(first.obj, new Map(), 'ripe')?.org, 'Commune de Ste-Croix')
    assert.equal(eivd.net?.org, 'Haute ecole d ingenierie et de gestion du canton de Vaud')
    assert.equal(inetnumNetwork(eivd.obj, new Map(), 'ripe')?.org, 'Ecole d Ingenieurs de l Etat de Vaud')
  })

  it('reads APNIC\'s inetnums, the one whose range is continued on a second line too', async () => {
    const nets = await fixtureNetworks('apnic.db.inetnum', 'apnic.db.organisation', 'apnic')
    assert.deepEqual(nets.map(n => [n.net?.handle, n.net?.cidrs, n.net?.name, n.net?.org, n.net?.country, n.net?.type, n.net?.lastChanged]), [
      ['118.102.134.160 - 118.102.134.175', ['118.102.134.160/28'], 'Dodsal-Enterprises-Pvt-Ltd', '702, Prism Tower, Mind Space,Link Road,Goregaon (W), Mumbai 400 062', 'IN', 'ASSIGNED NON-PORTABLE', '2010-07-01T06:17:58Z'],
      ['36.64.0.0 - 36.95.255.255', ['36.64.0.0/11'], 'TELKOMNET', 'Telekomunikasi Indonesia (PT)', 'ID', 'ALLOCATED PORTABLE', '2017-12-02T13:07:17Z']
    ])
  })

  it('reads AFRINIC\'s single dump twice (organisations, then inetnums): mixed-case handles joined, dates from "changed:", the 0/0 placeholder dropped', async () => {
    const nets = await fixtureNetworks('afrinic.db', 'afrinic.db', 'afrinic')
    assert.deepEqual(nets.map(n => n.net === undefined ? attr0(n.obj) : [n.net.name, n.net.org, n.net.type, n.net.registered, n.net.lastChanged]), [
      '0.0.0.0 - 255.255.255.255',
      ['SENTECH-ZA', 'Sentech Ltd', 'ALLOCATED PA', '', '2013-07-04'],
      ['MA-MARWAN-20040518', 'CNRST (Centre National pour la Recherche Scientifique et Technique)', 'ALLOCATED PA', '', '2023-10-31'],
      ['MARWAN-ANYCAST', 'CNRST (Centre National pour la Recherche Scientifique et Technique)', 'ASSIGNED ANYCAST', '', '2022-04-26'],
      ['DATATECH-IKATEL', 'DATATECH ISP in Bamako', 'ASSIGNED PA', '', '2005-06-28'],
      ['ML-IKATEL-20070912', 'Orange Mali SA', 'ALLOCATED PA', '', '2024-02-26']
    ])
  })

  it('gives for each real inetnum the network the WHOIS parser reads from an answer holding it and its organisation', async () => {
    for (const [inetnums, organisations, registry] of [['ripe.db.inetnum', 'ripe.db.organisation', 'ripe'], ['apnic.db.inetnum', 'apnic.db.organisation', 'apnic'], ['afrinic.db', 'afrinic.db', 'afrinic']] as const) {
      const orgs = await objectsOf(readFileSync(new URL(organisations, FIXTURES)), 'organisation')
      for (const { obj, net } of await fixtureNetworks(inetnums, organisations, registry)) {
        const org = orgs.find(o => o.attrs[0].value.toUpperCase() === obj.attrs.find(a => a.key === 'org')?.value.toUpperCase())
        const answer = [rpslText(obj), ...(org !== undefined ? [rpslText(org)] : []), FOOTER].join('\n\n')
        const parsed = parseWhoisAnswer(answer, registry, -1)
        assert.deepEqual(net, parsed.kind === 'network' ? parsed.network : undefined, `${registry} ${attr0(obj)}: ${JSON.stringify(parsed)}`)
      }
    }
  })

  it('gives the same networks from objects read with only the attributes it reads (what an import keeps)', async () => {
    for (const [inetnums, organisations, registry] of [['ripe.db.inetnum', 'ripe.db.organisation', 'ripe'], ['apnic.db.inetnum', 'apnic.db.organisation', 'apnic'], ['afrinic.db', 'afrinic.db', 'afrinic']] as const) {
      const orgNames = await orgNamesOf(readFileSync(new URL(organisations, FIXTURES)))
      const lean: Array<ParsedNetwork | undefined> = []
      for await (const o of readRpslDump(Readable.from([readFileSync(new URL(inetnums, FIXTURES))]), newDumpStats(), { classes: new Set(['inetnum']), attributes: INETNUM_ATTRIBUTES })) lean.push(inetnumNetwork(o.obj, orgNames, registry))
      assert.deepEqual(lean, (await fixtureNetworks(inetnums, organisations, registry)).map(x => x.net), inetnums)
    }
  })

  it('drops the registries\' placeholder objects, IPv6 and other classes', () => {
    const placeholders = [
      'inetnum: 6.0.0.0 - 13.115.255.255\nnetname: NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK\ndescr: IPv4 address block not managed by the RIPE NCC\ncountry: EU # Country is really world wide\nstatus: ALLOCATED UNSPECIFIED\nsource: RIPE',
      'inetnum: 8.0.0.0 - 8.255.255.255\nnetname: IANA-NETBLOCK-8\ndescr: This network range is not allocated to APNIC.\ncountry: AU\nsource: APNIC',
      'inetnum: 24.0.0.0 - 24.255.255.255\nnetname: ERX-NETBLOCK\ndescr: Early registration addresses\ncountry: AU\nsource: APNIC',
      'inetnum: 0.0.0.0 - 255.255.255.255\nnetname: IANA-BLOCK\ndescr: General placeholder reference for all IPv4 addresses\ncountry: AU\nsource: APNIC',
      'inetnum: 196.0.0.0 - 196.255.255.255\nnetname: SOME-NET\ndescr: not managed by AFRINIC\ncountry: ZA\nsource: AFRINIC',
      'inetnum: 41.0.0.0 - 41.255.255.255\nnetname: SOME-NET\nstatus: ALLOCATED UNSPECIFIED\nsource: AFRINIC'
    ]
    for (const text of placeholders) {
      const [o] = parseWhoisText(text).objects
      assert.equal(inetnumNetwork(o, new Map(), 'ripe'), undefined, text)
    }
    for (const text of ['inet6num: 2001:db8::/32\nnetname: V6\nsource: RIPE', 'organisation: ORG-X1-RIPE\norg-name: X\nsource: RIPE', 'inetnum: not a range\nnetname: X', 'inetnum: 10.0.1.0 - 10.0.0.0\nnetname: BACKWARDS']) {
      assert.equal(inetnumNetwork(parseWhoisText(text).objects[0], new Map(), 'ripe'), undefined, text)
    }
  })

  it('makes an organisation entry of an organisation object only: upper-case handle and org-name', () => {
    const [o] = parseWhoisText('organisation: ORG-CNpl1-AFRINIC # comment\norg-name: CNRST\nsource: AFRINIC').objects
    assert.deepEqual(organisationEntry(o), ['ORG-CNPL1-AFRINIC', 'CNRST'])
    assert.equal(organisationEntry(parseWhoisText('organisation: ORG-X1-RIPE\nsource: RIPE').objects[0]), undefined)
    assert.equal(organisationEntry(parseWhoisText('inetnum: 10.0.0.0 - 10.0.0.255\norg-name: X').objects[0]), undefined)
  })
})

describe('dump networks of the simulated registries', () => {
  let networks: SimNetwork[]

  before(async () => {
    const nw = new NestedWorld(await buildWorld(), 0x5eed)
    networks = []
    for (const registry of ['ripe', 'apnic', 'afrinic'] as const) networks.push(...sample(nw, registry, 150))
  })

  it('gives every field the WHOIS parser reads from the registry\'s answer, for RIPE, APNIC and AFRINIC networks', async () => {
    // the registries' split dumps: every inetnum in one, the organisations they name in the other
    const inetnumDump = gzipSync(networks.map(n => `${rpslInetnumLines(n).join('\n')}\n`).join('\n'))
    const orgDump = gzipSync(networks.map(n => organisationParagraph(rpslNetworkAnswer(n))).join('\n'))
    const orgNames = await orgNamesOf(orgDump)
    const objs = await objectsOf(inetnumDump, 'inetnum')
    assert.equal(objs.length, networks.length)
    const compared = { ripe: 0, apnic: 0, afrinic: 0 }
    for (let i = 0; i < networks.length; i++) {
      const n = networks[i]
      const registry = n.registry as DumpRegistry
      const answer = parseWhoisAnswer(rpslNetworkAnswer(n), registry, n.start)
      const net = inetnumNetwork(objs[i], orgNames, registry)
      assert.deepEqual(net, answer.kind === 'network' ? answer.network : undefined, `${registry} ${n.handle} (${n.whoisType}): ${JSON.stringify(answer)}`)
      if (net !== undefined) compared[registry]++
    }
    for (const [registry, count] of Object.entries(compared)) assert.ok(count >= 100, `${count} ${registry} networks compared`)
  })
})

function attr0 (o: TextObject): string {
  return o.attrs[0].value
}

/** The organisation object of a simulated RPSL answer. */
function organisationParagraph (answer: string): string {
  const p = answer.split(/\n\s*\n/).find(x => x.startsWith('organisation:'))
  assert.ok(p !== undefined, `no organisation in\n${answer}`)
  return `${p}\n`
}

/** Up to `want` networks of `registry`'s tree: spread allocations, each with some of its children and grandchildren. */
function sample (nw: NestedWorld, registry: string, want: number): SimNetwork[] {
  const allocations: number[] = []
  for (let a = 0; a < nw.count; a++) if (nw.ownerOf(a) === registry) allocations.push(a)
  const out: SimNetwork[] = []
  const step = Math.max(1, Math.floor(allocations.length / 60))
  for (let k = 0; k < allocations.length && out.length < want; k += step) {
    const top = nw.allocationNode(allocations[k])
    const nodes: TreeNode[] = [top]
    for (const child of nw.childrenOf(top).slice(0, 2)) nodes.push(child, ...nw.childrenOf(child).slice(0, 1))
    for (const node of nodes) if (out.length < want) out.push(describeNode(nw, node))
  }
  return out
}
