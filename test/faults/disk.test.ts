/**
 * Disk trouble, as a user meets it: a data directory that cannot be written (read-only, or its
 * parent is a regular file), a disk that is full at start or fills up during a crawl, and a
 * corrupted LevelDB. `whoismesh node start` and `whoismesh dump` run as real processes and must
 * stop with one clear `whoismesh:` line and a non-zero exit; a damaged store must name its
 * directory and the way out, and `whoismesh repair` must bring back what can be read.
 *
 * Tests run as root in CI, where file modes stop nothing: unwritable and full disks are small
 * tmpfs mounts (read-only, or filled up). Those tests are skipped, saying why, where mounting is
 * not permitted.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { recordFigures } from './report.js'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, stat, writeFile, open as openFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { NetworkStore } from '../../src/store/index.js'
import { encodeValue } from '../../src/record/index.js'
import { frameValue } from '../../src/store/value-format.js'
import { networkKey } from '../../src/store/keys.js'
import { startSimulator, writeRegistriesFile } from '../../src/sim/index.js'
import { runCli, type CliResult } from '../helpers/cli.js'
import { writeUnreachableRegistries } from '../helpers/fake-registries.js'
import { net } from '../store/helpers/records.js'
import { skipOutsideCi } from '../helpers/skip.js'

const LISTEN = '/ip4/127.0.0.1/tcp/0'

let dir: string
/** registries on a closed port: nodes here fail before they ask anything */
let registries: string
const mounts: string[] = []
/** why mount tests are skipped, or undefined when tmpfs can be mounted */
let cannotMount: string | undefined

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-disk-'))
  registries = join(dir, 'registries.json')
  await writeUnreachableRegistries(registries)
  if (process.getuid?.() !== 0) {
    cannotMount = 'mounting a tmpfs needs root (CI runs the tests as root)'
  } else {
    try {
      const probe = await tmpfs('probe', 'size=64k')
      await unmount(probe)
    } catch (err: any) {
      cannotMount = `mount -t tmpfs is not permitted here: ${String(err.stderr ?? err.message).trim()}`
    }
  }
})

after(async () => {
  for (const m of mounts.splice(0)) await unmount(m)
  await rm(dir, { recursive: true, force: true })
})

/** mounts a tmpfs with `options` (e.g. "ro,size=1m") on a new directory under `dir` */
async function tmpfs (name: string, options: string): Promise<string> {
  const target = join(dir, name)
  await mkdir(target, { recursive: true })
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target], { stdio: 'pipe' })
  mounts.push(target)
  return target
}

async function unmount (target: string): Promise<void> {
  try {
    execFileSync('umount', ['-l', target], { stdio: 'pipe' })
  } catch {}
  const i = mounts.indexOf(target)
  if (i >= 0) mounts.splice(i, 1)
}

function remount (target: string, options: string): void {
  execFileSync('mount', ['-o', `remount,${options}`, target], { stdio: 'pipe' })
}

/** writes zeros into `target` until the file system says it is full */
async function fillUp (target: string): Promise<void> {
  const fh = await openFile(join(target, 'filler'), 'w')
  const chunk = Buffer.alloc(4096)
  try {
    for (;;) await fh.write(chunk)
  } catch (err: any) {
    assert.equal(err.code, 'ENOSPC', `filling ${target} failed with ${String(err.code)}`)
  } finally {
    await fh.close().catch(() => {})
  }
}

/** a closed store with `count` networks; returns their digest */
async function populate (dataDir: string, count = 20): Promise<string> {
  const store = await NetworkStore.open({ dataDir })
  await store.commit({ networks: Array.from({ length: count }, (_, i) => net(`${10 + i}.1.0.0`, `${10 + i}.1.255.255`, { registry: 'arin' })) })
  const digest = store.digest()
  await store.close()
  return digest
}

const nodeStart = (data: string): string[] => ['node', 'start', '--data', data, '--registries', registries, '--listen', LISTEN]

/** exit 2, one line starting "whoismesh:" that matches `says`, no stack trace, no "internal error" */
function assertOneLine (r: CliResult, says: RegExp, what: string): void {
  const lines = r.stderr.split('\n').filter(l => l.trim() !== '')
  assert.equal(r.code, 2, `${what} exited ${String(r.code)}: ${r.stderr}`)
  assert.equal(lines.length, 1, `${what} printed ${lines.length} lines: ${r.stderr}`)
  assert.match(lines[0], /^whoismesh: /, `${what} said: ${r.stderr}`)
  assert.match(lines[0], says, `${what} said: ${r.stderr}`)
  assert.doesNotMatch(r.stderr, /^\s+at |internal error/m, `${what} printed a stack trace or an internal error`)
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

test('a data directory that cannot be created (its parent is a regular file) stops node start and dump with one line', async () => {
  const file = join(dir, 'a-regular-file')
  await writeFile(file, 'x')
  const data = join(file, 'data')
  assertOneLine(await runCli(nodeStart(data), { timeoutMs: 30_000 }), new RegExp(`cannot open store ${escape(data)}: ENOTDIR: not a directory`), 'node start')
  assertOneLine(await runCli(['dump', '--data', data], { timeoutMs: 30_000 }), new RegExp(`cannot use data directory ${escape(data)}: ENOTDIR`), 'dump')
})

test('a read-only data directory stops node start and dump with one line naming it', async (t) => {
  if (cannotMount != null) { skipOutsideCi(t, cannotMount); return }
  // empty and read-only: nothing can be created in it
  const empty = await tmpfs('ro-empty', 'ro,size=1m')
  assertOneLine(await runCli(nodeStart(empty), { timeoutMs: 30_000 }), new RegExp(`cannot open store ${escape(empty)}: .*Read-only file system`), 'node start (empty)')
  assertOneLine(await runCli(nodeStart(join(empty, 'sub')), { timeoutMs: 30_000 }), /cannot open store .*sub: cannot create it: EROFS/, 'node start (to be created)')
  // a store with data, then mounted read-only: LevelDB cannot take its lock
  const full = await tmpfs('ro-store', 'size=4m')
  await populate(full)
  remount(full, 'ro')
  assertOneLine(await runCli(nodeStart(full), { timeoutMs: 30_000 }), new RegExp(`cannot open store ${escape(full)}: .*Read-only file system`), 'node start (store)')
  assertOneLine(await runCli(['dump', '--data', full], { timeoutMs: 30_000 }), new RegExp(`cannot open store ${escape(full)}: .*Read-only file system`), 'dump')
  await unmount(empty)
  await unmount(full)
})

test('a disk that is full at start stops node start and dump with one line saying so', async (t) => {
  if (cannotMount != null) { skipOutsideCi(t, cannotMount); return }
  const fresh = await tmpfs('full-empty', 'size=64k')
  await fillUp(fresh)
  assertOneLine(await runCli(nodeStart(fresh), { timeoutMs: 30_000 }), new RegExp(`cannot open store ${escape(fresh)}: .*No space left on device`), 'node start (new store)')

  const used = await tmpfs('full-store', 'size=512k')
  await populate(used)
  await fillUp(used)
  assertOneLine(await runCli(nodeStart(used), { timeoutMs: 30_000 }), new RegExp(`cannot open store ${escape(used)}: .*No space left on device`), 'node start (store)')
  assertOneLine(await runCli(['dump', '--data', used], { timeoutMs: 30_000 }), new RegExp(`cannot open store ${escape(used)}: .*No space left on device`), 'dump')
  await unmount(fresh)
  await unmount(used)
})

/** ways to damage LevelDB's bookkeeping that its repair can undo without losing a record */
const DAMAGE: Array<{ what: string, damage: (data: string) => Promise<void> }> = [
  {
    what: 'MANIFEST overwritten with garbage',
    damage: async data => {
      const manifest = (await readdir(data)).find(n => n.startsWith('MANIFEST-'))
      assert.ok(manifest != null, 'no MANIFEST')
      await writeFile(join(data, manifest), Buffer.alloc(300, 0x41))
    }
  },
  { what: 'CURRENT overwritten with garbage', damage: async data => { await writeFile(join(data, 'CURRENT'), 'garbage\n') } },
  { what: 'CURRENT deleted', damage: async data => { await rm(join(data, 'CURRENT')) } }
]

for (const { what, damage } of DAMAGE) {
  test(`a store with its ${what}: node start and dump name the directory and the repair, and whoismesh repair brings every record back`, async () => {
    const data = join(dir, `corrupt-${what.replace(/\W+/g, '-')}`)
    const digest = await populate(data, 20)
    await damage(data)
    const corrupt = new RegExp(`store ${escape(data)} is corrupt .*whoismesh repair --data ${escape(data)}.*move the directory aside`)
    assertOneLine(await runCli(nodeStart(data), { timeoutMs: 30_000 }), corrupt, 'node start')
    assertOneLine(await runCli(['dump', '--data', data], { timeoutMs: 30_000 }), corrupt, 'dump')

    const r = await runCli(['repair', '--data', data], { timeoutMs: 60_000 })
    assert.equal(r.code, 0, `repair exited ${String(r.code)}: ${r.stderr}`)
    assert.match(r.stdout, /repaired .*: 20 networks/)
    const cov = await runCli(['coverage', '--json', '--data', data], { timeoutMs: 30_000 })
    assert.equal(cov.code, 0, cov.stderr)
    assert.equal(JSON.parse(cov.stdout).networks, 20)
    assert.equal(JSON.parse(cov.stdout).digest, digest, 'the repaired store holds a different set')
  })
}

test('whoismesh repair sets unreadable table files aside, drops undecodable records and rebuilds wrong headers', async () => {
  const data = join(dir, 'damaged-records')
  const records = Array.from({ length: 30 }, (_, i) => net(`${40 + i}.0.0.0`, `${40 + i}.0.255.255`))
  let store = await NetworkStore.open({ dataDir: data })
  await store.commit({ networks: records })
  await store.close()
  // reopening turns the log into a table file: damage that one table later
  store = await NetworkStore.open({ dataDir: data })
  await store.close()
  const tables = (await readdir(data)).filter(n => n.endsWith('.ldb'))
  assert.equal(tables.length, 1, `expected one table, found ${tables.join(', ')}`)

  // three more records in a second table, then damage the first one's records
  const later = [net('100.0.0.0', '100.0.255.255'), net('101.0.0.0', '101.0.255.255'), net('102.0.0.0', '102.0.255.255')]
  store = await NetworkStore.open({ dataDir: data })
  await store.commit({ networks: later })
  await store.close()
  const db = new Level<Buffer, Buffer>(data, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  await db.put(networkKey(later[0].start, later[0].end), frameValue(0, Buffer.alloc(32), encodeValue(later[0]))) // wrong registry and hash in the header
  await db.put(networkKey(later[1].start, later[1].end), Buffer.from('not a record at all'))
  await db.put(Buffer.from('zz-stray-key'), Buffer.from('?'))
  await db.close()
  const size = (await stat(join(data, tables[0]))).size
  await writeFile(join(data, tables[0]), Buffer.alloc(size, 0x5a))

  assertOneLine(await runCli(nodeStart(data), { timeoutMs: 30_000 }), new RegExp(`store ${escape(data)} is corrupt .*whoismesh repair --data`), 'node start')

  const r = await runCli(['repair', '--data', data], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, `repair exited ${String(r.code)}: ${r.stderr}`)
  assert.match(r.stdout, /: 2 networks/, r.stdout)
  assert.match(r.stdout, /damaged entries dropped: 2; headers rebuilt: 1/, r.stdout)
  assert.match(r.stdout, new RegExp(`moved to ${escape(data)}/lost/: ${escape(tables[0])}`), r.stdout)
  assert.match(r.stdout, /gets it from its peers by sync/)

  // what is left is exactly the records that were readable, with headers as a fresh store writes them
  const reference = join(dir, 'damaged-records-reference')
  const ref = await NetworkStore.open({ dataDir: reference })
  await ref.commit({ networks: [later[0], later[2]] })
  const want = ref.digest()
  await ref.close()
  store = await NetworkStore.open({ dataDir: data })
  try {
    assert.equal(store.counts().networks, 2)
    assert.equal(store.digest(), want)
    assert.equal(store.mostSpecificRange(later[0].start)?.registry, later[0].registry, 'the rebuilt header names the wrong registry')
  } finally {
    await store.close()
  }
})

test('whoismesh repair refuses a store that a running process holds', async () => {
  const data = join(dir, 'held')
  await populate(data)
  const store = await NetworkStore.open({ dataDir: data })
  try {
    const r = await runCli(['repair', '--data', data], { timeoutMs: 30_000 })
    assertOneLine(r, new RegExp(`store ${escape(data)} is in use by another process .*stop the node before repairing`), 'repair')
  } finally {
    await store.close()
  }
})

test('a disk that fills up during a crawl stops the node with one line, keeps everything stored, and a restart finishes', async (t) => {
  if (cannotMount != null) { skipOutsideCi(t, cannotMount); return }
  const sim = await startSimulator({ budgetPerSecond: 'all=400' })
  try {
    const simRegistries = join(dir, 'sim-registries.json')
    await writeRegistriesFile(sim, simRegistries)
    // 256 KiB hold the node key, LevelDB's files and a few hundred networks of the ~2,400 found
    const data = await tmpfs('fills-up', 'size=256k')
    const args = ['node', 'start', '--data', data, '--registries', simRegistries, '--sample-limit', '3000', '--listen', LISTEN, '--log-format', 'json']
    const r = await runCli([...args, '--verbose', '--exit-when-done'], { timeoutMs: 120_000 })
    const lines = r.stderr.split('\n').filter(l => l.trim() !== '')
    const plain = lines.filter(l => !l.startsWith('{'))
    assert.equal(r.code, 2, `node exited ${String(r.code)}: ${plain.join('\n')}`)
    assert.equal(plain.length, 1, `expected one line besides the JSON logs: ${plain.join('\n')}`)
    assert.match(plain[0], new RegExp(`^whoismesh: cannot write to store ${escape(data)} \\(.*No space left on device\\); stopped: what was stored before is kept`))
    assert.doesNotMatch(r.stderr, /^\s+at |internal error/m)

    // every network the node logged as stored is still there once the disk has room again
    const stored = lines.filter(l => l.startsWith('{')).map(l => JSON.parse(l)).filter(l => l.msg === 'network stored')
    assert.ok(stored.length > 50, `only ${stored.length} networks were stored before the disk was full`)
    remount(data, 'size=16m')
    const dump = await runCli(['dump', '--data', data], { timeoutMs: 30_000 })
    assert.equal(dump.code, 0, dump.stderr)
    const kept = new Set(dump.stdout.trim().split('\n').map(l => JSON.parse(l)).map(n => `${String(n.registry)} ${String(n.handle)} ${String(n.cidr).replace(/, /g, ',')}`))
    const lost = stored.filter(s => !kept.has(`${String(s.registry)} ${String(s.handle)} ${String(s.cidr)}`))
    assert.deepEqual(lost.map(s => s.cidr), [], `${lost.length} of ${stored.length} stored networks were lost`)

    const again = await runCli([...args, '--quiet', '--exit-when-done'], { timeoutMs: 120_000 })
    assert.equal(again.code, 0, `the restart exited ${String(again.code)}: ${again.stderr.slice(-2000)}`)
    const cov = await runCli(['coverage', '--json', '--data', data], { timeoutMs: 30_000 })
    assert.equal(cov.code, 0, cov.stderr)
    assert.equal(JSON.parse(cov.stdout).sample_resolved, 3000)
    await unmount(data)
    await recordFigures({
      scenario: '7-disk',
      title: 'Disk trouble: unwritable, full, corrupt, filling up mid-crawl',
      injected: 'data directory under a regular file; read-only tmpfs; full tmpfs at start; garbage MANIFEST / CURRENT, deleted CURRENT, garbage table file, undecodable values; a 256 KiB tmpfs that fills up during a 3,000-address crawl',
      checked: 'one clear line and a non-zero exit each (corrupt: naming the directory and `whoismesh repair`); repair keeps every readable record; the crawl that hits a full disk exits 2 keeping every network it logged as stored, and a restart finishes',
      figures: { 'networks stored before the disk was full': stored.length, 'of them lost': lost.length, 'restart: sample resolved': '3000/3000' }
    })
  } finally {
    await sim.close()
  }
})
