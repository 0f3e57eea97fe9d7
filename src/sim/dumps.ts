/**
 * The database dumps the simulated RIPE NCC, APNIC and AFRINIC publish, as the real ones do every
 * day (docs/simulator.md "Bulk dumps"): every inetnum the registry holds, in RPSL, with personal
 * data dummified, gzip-compressed, beside a serial file.
 * - RIPE NCC and APNIC split their dump by object class: `ripe.db.inetnum.gz` and
 *   `ripe.db.organisation.gz` (APNIC: `apnic.db.…`); AFRINIC publishes one `afrinic.db.gz` with
 *   every class (here also a maintainer and a filtered person).
 * - Each opens with the objects the registry keeps for space not its own (IANA-BLK, RIPE NCC's
 *   NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK, APNIC's IANA-NETBLOCK-<n>): no importer may take them for networks.
 * - `<SOURCE>.CURRENTSERIAL` holds the serial of the database state the dump was taken at.
 *
 * The dumps describe the very networks the registry's WHOIS and RDAP servers answer with
 * (`WorldView.forEachOwned`), so `/truth` judges an import as it judges a crawl. They are built on
 * the first request for any of a registry's files, into a temporary directory (RIPE NCC's: 4.2
 * million objects in the nested world), and removed when the simulator closes.
 */
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGzip, type Gzip } from 'node:zlib'
import { slashEightOf } from '../registry/iana.js'
import { DUMP_REGISTRY_IDS, type DumpRegistry, type RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import type { SimNetwork } from './records.js'
import type { WorldView } from './responder.js'

const DUMP_REGISTRIES = DUMP_REGISTRY_IDS

const SOURCE: Record<DumpRegistry, string> = { ripe: 'RIPE', apnic: 'APNIC', afrinic: 'AFRINIC' }

/** The files each registry publishes, by the names the real ones use (the serial file last). */
export function dumpFileNames (reg: DumpRegistry): string[] {
  const data = reg === 'afrinic' ? ['afrinic.db.gz'] : [`${reg}.db.inetnum.gz`, `${reg}.db.organisation.gz`]
  return [...data, `${SOURCE[reg]}.CURRENTSERIAL`]
}

/** The registry publishing `file`, or undefined. */
export function dumpRegistryOf (file: string): DumpRegistry | undefined {
  return DUMP_REGISTRIES.find(r => dumpFileNames(r).includes(file))
}

/** The header comment the RIPE NCC's split files open with (the others' alike). */
function header (reg: DumpRegistry): string {
  const name = reg === 'ripe' ? 'RIPE Database' : reg === 'apnic' ? 'APNIC Whois Database' : 'AFRINIC Database'
  return `#\n# The contents of this file are subject to\n# ${name} Terms and Conditions\n#\n# (simulated dump: whoismesh registry simulator)\n#\n\n`
}

/** Pads "key:" to the value column, as the dumps do. */
function attr (key: string, value: string): string {
  return `${`${key}:`.padEnd(16)}${value}\n`
}

const DUMMY_REMARKS = [
  '****************************',
  '* THIS OBJECT IS MODIFIED',
  '* Please note that all data that is generally regarded as personal',
  '* data has been removed from this object.',
  '* To view the original object, please query the RIPE Database at:',
  '* http://www.ripe.net/whois',
  '****************************'
]

/**
 * One inetnum object as the dump prints it: contacts replaced by the dummy handle, the remarks block
 * saying so appended (RIPE-NCC/whois DummifierNrtm; a real excerpt in test/fixtures/bulk/).
 */
export function dumpInetnum (n: SimNetwork): string {
  const reg = n.registry as DumpRegistry
  const source = SOURCE[reg]
  let s = attr('inetnum', `${formatIPv4(n.start)} - ${formatIPv4(n.end)}`)
  s += attr('netname', n.name)
  s += attr('descr', n.org)
  s += attr('country', n.country === 'EU' ? 'EU # Country is really world wide' : n.country)
  s += attr('org', n.orgHandle)
  s += attr('admin-c', `DUMY-${source}`)
  s += attr('tech-c', `DUMY-${source}`)
  s += attr('status', n.whoisType)
  s += attr('mnt-by', `${source}-HM-MNT`)
  if (reg !== 'afrinic') {
    s += attr('created', `${n.registered}T10:15:30Z`)
    s += attr('last-modified', `${n.lastChanged}T10:15:30Z`)
  }
  if (reg === 'afrinic' && n.parentHandle !== '') s += attr('parent', n.parentHandle)
  s += attr('source', source)
  if (reg === 'ripe') for (const r of DUMMY_REMARKS) s += attr('remarks', r)
  return `${s}\n`
}

/** The organisation object of a holder, as the dumps print it: name, type and country kept, the rest dummified. */
export function dumpOrganisation (reg: DumpRegistry, handle: string, name: string, country: string, rir: boolean): string {
  const source = SOURCE[reg]
  let s = attr('organisation', handle)
  s += attr('address', `Dummy address for ${handle}`)
  s += attr('country', country === 'EU' ? 'NL' : country)
  s += attr('e-mail', 'unread@ripe.net')
  s += attr('mnt-ref', `${source}-HM-MNT`)
  s += attr('mnt-by', `${source}-HM-MNT`)
  s += attr('org-name', name)
  s += attr('org-type', rir ? 'RIR' : 'LIR')
  s += attr('source', source)
  if (reg === 'ripe') for (const r of DUMMY_REMARKS) s += attr('remarks', r)
  return `${s}\n`
}

/**
 * The objects a registry's database holds for space that is not its own (the real dumps carry
 * them; an importer must not take them for networks): the whole space as IANA's, and for each run
 * of /8s another RIR administers, a placeholder naming it (RIPE NCC's
 * NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK, APNIC's IANA-NETBLOCK-<n>).
 */
function placeholders (reg: DumpRegistry): string {
  const source = SOURCE[reg]
  const object = (start: number, end: number, name: string, descr: string): string =>
    attr('inetnum', `${formatIPv4(start)} - ${formatIPv4(end)}`) + attr('netname', name) + attr('descr', descr) +
    attr('country', 'EU # Country is really world wide') + attr('admin-c', `DUMY-${source}`) + attr('tech-c', `DUMY-${source}`) +
    attr('status', 'ALLOCATED UNSPECIFIED') + attr('mnt-by', `${source}-HM-MNT`) + attr('source', source) + '\n'
  let s = object(0, 0xffffffff, reg === 'apnic' ? 'IANA-BLOCK' : 'IANA-BLK', 'The whole IPv4 address space')
  if (reg === 'afrinic') return s
  let runStart = -1
  for (let o = 0; o <= 256; o++) {
    const theirs = o < 256 && slashEightOf(o * 2 ** 24).registry !== reg
    if (theirs && runStart < 0) runStart = o
    if (!theirs && runStart >= 0) {
      s += reg === 'ripe'
        ? object(runStart * 2 ** 24, o * 2 ** 24 - 1, 'NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK', 'IPv4 address block not managed by the RIPE NCC')
        : object(runStart * 2 ** 24, o * 2 ** 24 - 1, `IANA-NETBLOCK-${runStart}`, 'Not allocated by APNIC')
      runStart = -1
    }
  }
  return s
}

/** AFRINIC's one file holds every class: a maintainer and a person, filtered as its dump filters them. */
function otherObjects (reg: DumpRegistry): string {
  const source = SOURCE[reg]
  return attr('mntner', `${source}-HM-MNT`) + attr('descr', 'hostmaster maintainer') + attr('admin-c', `DUMY-${source}`) +
    attr('upd-to', '***@afrinic.net') + attr('auth', 'BCRYPT-PW # Filtered') + attr('mnt-by', `${source}-HM-MNT`) + attr('source', `${source} # Filtered`) + '\n' +
    attr('person', 'Name Removed') + attr('address', '***') + attr('address', 'Ebene') + attr('phone', 'tel:+230-.......') +
    attr('e-mail', '***@afrinic.net') + attr('nic-hdl', `DUMY-${source}`) + attr('mnt-by', `${source}-HM-MNT`) + attr('source', `${source} # Filtered`) + '\n'
}

/** Characters outside Latin-1: such an object is written in UTF-8 (the rest in Latin-1, the RIPE database's own encoding). */
const BEYOND_LATIN1 = /[^\x00-\xff]/

/** A gzip file being written, with backpressure. */
class GzipFile {
  private readonly gzip: Gzip = createGzip({ level: 1 })
  private readonly done: Promise<unknown>
  private pending: Buffer[] = []
  private pendingBytes = 0

  constructor (path: string, private readonly latin1: boolean) {
    const out = createWriteStream(path)
    this.gzip.pipe(out)
    this.done = once(out, 'close')
    out.on('error', err => this.gzip.destroy(err))
  }

  /** adds objects' text: in Latin-1 (the RIPE database's own encoding), an object beyond it in UTF-8 */
  add (text: string): void {
    if (!this.latin1 || !BEYOND_LATIN1.test(text)) {
      this.push(Buffer.from(text, this.latin1 ? 'latin1' : 'utf8'))
      return
    }
    for (const object of text.split('\n\n')) if (object !== '') this.push(Buffer.from(`${object}\n\n`, BEYOND_LATIN1.test(object) ? 'utf8' : 'latin1'))
  }

  private push (b: Buffer): void {
    this.pending.push(b)
    this.pendingBytes += b.length
  }

  async flushIfFull (): Promise<void> {
    if (this.pendingBytes >= 1 << 20) await this.flush()
  }

  async flush (): Promise<void> {
    if (this.pending.length === 0) return
    const chunk = Buffer.concat(this.pending)
    this.pending = []
    this.pendingBytes = 0
    if (!this.gzip.write(chunk)) await once(this.gzip, 'drain')
  }

  async end (): Promise<void> {
    await this.flush()
    this.gzip.end()
    await this.done
  }
}

export interface DumpSet {
  /** serves GET/HEAD of one dump file; false when `file` is none of the dumps */
  serve: (file: string, head: boolean, res: ServerResponse) => Promise<boolean>
  /** builds a registry's files now (tests, benchmarks); resolves with their paths */
  build: (reg: DumpRegistry) => Promise<Record<string, string>>
  close: () => Promise<void>
}

/**
 * The dumps of `view`'s world, built on first demand. `serial` is the database serial they are
 * taken at, `takenAt` (ms) when (the files' Last-Modified).
 */
export function createDumpSet (view: Pick<WorldView, 'forEachOwned'>, serial: number, takenAt: number): DumpSet {
  let dir: Promise<string> | undefined
  const built = new Map<DumpRegistry, Promise<Record<string, string>>>()
  const workDir = async (): Promise<string> => { dir ??= mkdtemp(join(tmpdir(), 'whoismesh-sim-dumps-')); return await dir }

  const make = async (reg: DumpRegistry): Promise<Record<string, string>> => {
    const base = await workDir()
    const names = dumpFileNames(reg)
    const paths = Object.fromEntries(names.map(n => [n, join(base, n)]))
    const inetnums = new GzipFile(paths[names[0]], reg !== 'apnic')
    const orgFile = reg === 'afrinic' ? inetnums : new GzipFile(paths[names[1]], reg !== 'apnic')
    inetnums.add(header(reg))
    inetnums.add(placeholders(reg))
    if (orgFile !== inetnums) orgFile.add(header(reg))
    const orgs = new Set<string>()
    // one allocation's tree at a time, so a large registry never sits in memory as text
    for (const batch of view.forEachOwned(reg)) {
      let text = ''
      for (const n of batch) {
        text += dumpInetnum(n)
        if (!orgs.has(n.orgHandle)) {
          orgs.add(n.orgHandle)
          orgFile.add(dumpOrganisation(reg, n.orgHandle, n.org, n.country, n.gap))
        }
      }
      inetnums.add(text)
      await inetnums.flushIfFull()
      if (orgFile !== inetnums) await orgFile.flushIfFull()
    }
    if (reg === 'afrinic') inetnums.add(otherObjects(reg))
    await inetnums.end()
    if (orgFile !== inetnums) await orgFile.end()
    // the serial alone, no newline, as RIPE NCC writes it
    await writeFile(paths[names[names.length - 1]], String(serial))
    return paths
  }
  const build = async (reg: DumpRegistry): Promise<Record<string, string>> => {
    let p = built.get(reg)
    if (p === undefined) {
      p = make(reg)
      built.set(reg, p)
      p.catch(() => built.delete(reg))
    }
    return await p
  }

  return {
    build,
    serve: async (file, head, res) => {
      const reg = dumpRegistryOf(file)
      if (reg === undefined) return false
      if (file.endsWith('.CURRENTSERIAL')) {
        // known without building the dump: a node reads it first, to skip a dump it holds
        const body = Buffer.from(String(serial))
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length), 'last-modified': new Date(takenAt).toUTCString() })
        res.end(head ? undefined : body)
        return true
      }
      const path = (await build(reg))[file]
      const { size } = await stat(path)
      res.writeHead(200, {
        'content-type': file.endsWith('.gz') ? 'application/gzip' : 'text/plain; charset=utf-8',
        'content-length': String(size),
        'last-modified': new Date(takenAt).toUTCString()
      })
      if (head) { res.end(); return true }
      const stream = createReadStream(path)
      stream.on('error', () => res.destroy())
      stream.pipe(res)
      return true
    },
    close: async () => {
      if (dir !== undefined) await rm(await dir, { recursive: true, force: true })
    }
  }
}

/** For the registries JSON: the URLs of a registry's dump files under `base` (the control server). */
export function dumpUrls (reg: RegistryId, base: string): { files: string[], serial: string } | undefined {
  if (!(DUMP_REGISTRIES as readonly string[]).includes(reg)) return undefined
  const names = dumpFileNames(reg as DumpRegistry)
  return { files: names.slice(0, -1).map(n => `${base}/dumps/${n}`), serial: `${base}/dumps/${names[names.length - 1]}` }
}
