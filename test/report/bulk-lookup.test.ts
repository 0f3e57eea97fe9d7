/**
 * `whoismesh lookup -` (src/report/bulk-lookup.ts) as users run it: the built command, a real
 * LevelDB in a temp directory with nested crawled networks, listings, notes, holes left by a
 * distrusted peer and two imported dumps (through `whoismesh import`). Every answer must be the
 * one `lookup <ip> --json` gives (lookupReport, whose JSON that command prints — checked on the
 * real command for a few addresses), on the stopped directory (the answer table, built and then
 * read back from its cache) and through a running node's control endpoint (its live store, whose
 * dumps answer only the addresses routed to their registry).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import { NetworkStore } from '../../src/store/index.js'
import { networkKey } from '../../src/store/keys.js'
import { networkValue } from '../../src/store/value-format.js'
import { canonicalNetwork } from '../../src/record/index.js'
import { lookupReport, type LookupReport } from '../../src/report/lookup.js'
import { BULK_FIELDS } from '../../src/report/bulk-lookup.js'
import { ControlServer } from '../../src/node/control.js'
import { controlRoutes } from '../../src/node/control-routes.js'
import { registryForAddress, SPECIAL_PURPOSE_BLOCKS } from '../../src/registry/iana.js'
import { SAMPLE_SIZE, isSampleAddress, sampleSlice, prng } from '../../src/sample/index.js'
import { formatIPv4 } from '../../src/util/ipv4.js'
import { BIN, collect, runCli } from '../helpers/cli.js'
import { ip, neg, net, tempDir } from '../store/helpers/records.js'

const HONEST = '12D3KooWHonestPeer1111111111111111111111111111111'
const LIAR = '12D3KooWLiarPeer22222222222222222222222222222222222'
const SLICE = 3000

let dir: string
let data: string
let cleanup: () => Promise<void>
/** the addresses every comparison asks about */
let addresses: number[]

/** Runs `whoismesh lookup - ARGS` with `input` on standard input. */
async function bulk (input: string, args: string[] = [], dataDir = data): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'lookup', '-', '--data', dataDir, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.end(input)
  return await collect(child, 120_000)
}

const statsOf = (stderr: string): any => JSON.parse(stderr.split('\n').find(l => l.startsWith('{')) ?? '{}')

/** Asserts that every JSONL answer is lookupReport's for its address. */
function assertSameAnswers (lines: string[], reports: LookupReport[], path: string): void {
  assert.equal(lines.length, reports.length, `${path}: one answer per address`)
  reports.forEach((r, i) => {
    const o = JSON.parse(lines[i])
    const want = { address: r.address, status: r.status, exact: r.exact, in_sample: r.in_sample, ...(r.special !== undefined ? { special: r.special } : {}), network: r.networks[0] ?? null }
    assert.deepEqual(o, want, `${path}: ${r.address}`)
  })
}

async function reportsOf (store: NetworkStore): Promise<LookupReport[]> {
  const out: LookupReport[] = []
  for (const a of addresses) out.push(await lookupReport(store, a))
  return out
}

const RIPE_DUMP = `# a crafted excerpt in the layout of ripe.db.inetnum

inetnum: 193.0.16.0 - 193.0.31.255
netname: SAME-RANGE-AS-CRAWLED
country: NL
status: SUB-ALLOCATED PA
source: RIPE

inetnum: 193.0.17.0 - 193.0.17.255
netname: MORE-SPECIFIC-THAN-CRAWLED
country: NL
status: ASSIGNED PA
source: RIPE

inetnum: 193.0.0.0 - 193.1.255.255
netname: LARGER-THAN-CRAWLED
country: NL
status: ALLOCATED PA
source: RIPE

inetnum: 193.1.128.0 - 193.1.128.255
netname: BULK-LEAF
descr: Example, "Quoted" Ltd.
country: DE
status: ASSIGNED PI
source: RIPE

inetnum: 193.2.0.0 - 193.2.0.255
netname: OVERLAP-A
country: NL
status: ASSIGNED PA
source: RIPE

inetnum: 193.2.0.128 - 193.2.1.127
netname: OVERLAP-B
country: NL
status: ASSIGNED PA
source: RIPE
`

const AFRINIC_DUMP = `inetnum: 41.0.0.0 - 41.0.255.255
netname: AF-ALLOC
country: ZA
status: ALLOCATED PA
source: AFRINIC

inetnum: 41.0.1.0 - 41.0.1.255
netname: AF-LEAF
country: ZA
status: ASSIGNED PA
source: AFRINIC

inetnum: 193.2.0.0 - 193.2.0.255
netname: AF-IN-RIPE-SPACE
country: ZA
status: ASSIGNED PA
source: AFRINIC
`

before(async () => {
  ({ dir, cleanup } = await tempDir())
  data = join(dir, 'data')
  // a container listed for a slice of the sample, around one of the slice's addresses
  const inSlice = [...sampleSlice(SLICE)].find(a => registryForAddress(a) === 'ripe' && a >>> 24 !== 193 && a >>> 24 !== 62) as number
  const slice16 = (inSlice & 0xffff0000) >>> 0
  const store = await NetworkStore.open({ dataDir: data })
  await store.commit({
    networks: [
      net('193.0.0.0', '193.0.255.255', { type: 'ALLOCATED PA', queryAddress: ip('193.0.200.1') }),
      net('193.0.16.0', '193.0.31.255', { type: 'SUB-ALLOCATED PA', queryAddress: ip('193.0.16.1'), name: 'Example, "Quoted" Ltd.' }),
      net('193.0.16.0', '193.0.16.255', { type: 'ASSIGNED PA', queryAddress: ip('193.0.16.1') }),
      net('62.0.0.0', '62.0.255.255', { type: 'ALLOCATED PA', listedSample: SAMPLE_SIZE, listedAt: 5_000, queryAddress: ip('62.0.0.1') }),
      net('62.0.12.0', '62.0.12.255', { type: 'ASSIGNED PA' }),
      net(slice16, slice16 + 0xffff, { type: 'ALLOCATED PA', listedSample: SLICE, listedAt: 5_000 }),
      net('8.8.0.0', '8.8.7.255', { registry: 'arin', type: 'Direct Allocation' }),
      net('8.8.4.0', '8.8.11.255', { registry: 'arin', type: 'Direct Allocation' }),
      net('8.8.6.0', '8.8.6.255', { registry: 'arin', type: 'Reassigned' }),
      net('192.0.0.0', '192.0.3.255', { registry: 'arin', type: 'Direct Allocation' }),
      net('62.8.0.0', '62.15.255.255', { type: 'ALLOCATED PA', listedSample: SAMPLE_SIZE, listedAt: 5_000, author: HONEST }),
      net('62.10.5.0', '62.10.5.255', { type: 'ASSIGNED PA', author: HONEST }),
      net('1.0.0.0', '1.0.0.255', { registry: 'apnic', type: 'ASSIGNED PORTABLE', source: 'whois' })
    ],
    negatives: [
      neg('193.0.100.1', { registry: 'ripe', reason: 'answered' }),
      neg('193.0.20.65', { registry: 'ripe', reason: 'answered' }),
      neg('193.0.50.1', { registry: 'ripe', reason: 'not-found' }),
      neg('8.20.0.1'), neg('8.20.0.2', { reason: 'reserved' }), neg('8.30.0.1', { reason: 'answered' }),
      neg('62.10.1.1', { registry: 'ripe', reason: 'answered', author: HONEST })
    ]
  })
  // a liar's copy of 62.10.0.0/16 ("fetched" earlier, so kept), then distrusted: a hole in the listed 62.8.0.0/13
  await store.commit({ networks: [net('62.10.0.0', '62.10.255.255', { type: 'SUB-ALLOCATED PA', author: LIAR, fetchedAt: 1_000 })] })
  await store.distrust([LIAR])
  await store.close()
  const files = join(dir, 'files')
  await mkdir(files)
  await writeFile(join(files, 'ripe.db.inetnum'), RIPE_DUMP)
  await writeFile(join(files, 'afrinic.db'), AFRINIC_DUMP)
  for (const f of ['ripe.db.inetnum', 'afrinic.db']) {
    const r = await runCli(['import', '--data', data, '--serial', '7', join(files, f)])
    assert.equal(r.code, 0, r.stderr)
  }

  // every boundary of every network, note and special block, addresses inside, the sample, and random ones
  const set = new Set<number>()
  const around = (a: number): void => { for (const d of [-1, 0, 1]) if (a + d >= 0 && a + d <= 0xffffffff) set.add(a + d) }
  const ranges: Array<[number, number]> = [
    ...(await (async () => { const s = await NetworkStore.open({ dataDir: data }); const out: Array<[number, number]> = []; for await (const r of s.networks()) out.push([r.start, r.end]); for await (const r of s.bulkLayer.records()) out.push([r.start, r.end]); await s.close(); return out })()),
    ...SPECIAL_PURPOSE_BLOCKS.map(b => [b.start, b.end] as [number, number]),
    [ip('62.10.0.0'), ip('62.10.255.255')]
  ]
  const next = prng(7)
  for (const [s, e] of ranges) {
    around(s); around(e)
    for (let k = 0; k < 8; k++) set.add(s + (next() % (e - s + 1)))
  }
  for (const a of ['193.0.100.1', '193.0.20.65', '193.0.50.1', '8.20.0.1', '8.20.0.2', '8.30.0.1', '62.10.1.1', '0.0.0.0', '255.255.255.255']) around(ip(a))
  // sample addresses in the listed containers (in and out of the slice) and in the hole
  for (const [s, e] of [[ip('62.0.0.0'), ip('62.0.255.255')], [slice16, slice16 + 0xffff], [ip('62.10.0.0'), ip('62.10.255.255')]]) {
    for (let a = s + 1; a <= e; a += 0x3100) if (isSampleAddress(a)) set.add(a)
    for (let a = s + 1; a <= e; a += 256 * 12) set.add(a)
  }
  set.add(inSlice)
  for (let k = 0; k < 1500; k++) set.add(next())
  addresses = [...set]
})

after(async () => { await cleanup() })

test('on a stopped node\'s directory every answer is `lookup <ip> --json`\'s, built once and then read back from the cache', async (t) => {
  t.diagnostic(`${addresses.length} addresses`)
  const input = '# addresses\n\n' + addresses.map(formatIPv4).join('\n') + '\n'
  const first = await bulk(input, ['--stats'])
  assert.equal(first.code, 0, first.stderr)
  assert.equal(statsOf(first.stderr).cache, 'written')
  const second = await bulk(input, ['--stats'])
  assert.equal(second.code, 0, second.stderr)
  assert.equal(statsOf(second.stderr).cache, 'used')
  assert.equal(second.stdout, first.stdout, 'the cached answers are the built ones')

  const store = await NetworkStore.open({ dataDir: data })
  const reports = await reportsOf(store)
  await store.close()
  assertSameAnswers(first.stdout.trimEnd().split('\n'), reports, 'stopped')
  const statuses = new Set(reports.map(r => `${r.status}/${String(r.exact)}/${r.networks[0]?.source ?? '-'}`))
  for (const s of ['network/true/rdap', 'network/false/rdap', 'network/true/bulk', 'network/true/whois', 'unallocated/true/-', 'unknown/false/-', 'special-purpose/true/-']) {
    assert.ok(statuses.has(s), `the addresses include a ${s} answer`)
  }
  assert.ok(reports.some(r => r.in_sample && r.exact && r.networks[0]?.listed_sample === SLICE), 'a listing for a slice of the sample answers one of its addresses')
  assert.ok(reports.some(r => r.in_sample && !r.exact && r.networks[0]?.start_address === '62.8.0.0'), 'a listing answers nothing in the hole a distrusted peer left')

  // the report function is what `lookup <ip> --json` prints
  for (const r of reports.filter((_, i) => i % 400 === 0)) {
    const one = await runCli(['lookup', r.address, '--json', '--data', data])
    assert.equal(one.code, 0, one.stderr)
    assert.deepEqual(JSON.parse(one.stdout), r, `lookup ${r.address} --json`)
  }
})

test('through a running node\'s control endpoint the answers are its live store\'s, whose dumps answer only what is routed to them', async () => {
  const store = await NetworkStore.open({ dataDir: data })
  store.bulkLayer.setRouting(registryForAddress)
  const server = new ControlServer({ dataDir: data }, controlRoutes({}, {
    store,
    crawler: { status: () => { throw new Error('no crawler in this test') } },
    distrust: async (peers, undo) => await store.distrust(peers, undo)
  }))
  try {
    await server.start()
    const reports = await reportsOf(store)
    const r = await bulk(addresses.map(formatIPv4).join('\n'), ['--stats'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(statsOf(r.stderr).source, 'node')
    assertSameAnswers(r.stdout.trimEnd().split('\n'), reports, 'running node')
    const routed = reports.find(x => x.address === '193.2.0.1')
    assert.equal(routed?.networks[0]?.name, 'OVERLAP-A', 'RIPE NCC space is answered by RIPE NCC\'s dump, not AFRINIC\'s')
    const csv = await bulk('193.2.0.1\n8.8.8.8\n', ['--format', 'csv'])
    assert.equal(csv.code, 0, csv.stderr)
    assert.equal(csv.stdout.split('\r\n')[0], BULK_FIELDS.join(','))
  } finally {
    await server.stop()
    await store.close()
  }
  const stopped = await bulk('193.2.0.1\n')
  assert.equal(JSON.parse(stopped.stdout).network.name, 'AF-IN-RIPE-SPACE', 'unrouted, the smallest of the dumps\' networks answers, as `lookup` on a stopped node does')
})

test('a write to the store, even one without a generation token, makes the next `lookup -` read it again', async () => {
  const probe = '77.77.77.77\n77.88.0.1\n'
  const before = await bulk(probe, ['--stats'])
  assert.equal(JSON.parse(before.stdout.split('\n')[0]).status, 'unknown')
  let store = await NetworkStore.open({ dataDir: data })
  await store.commit({ networks: [net('77.77.0.0', '77.77.255.255', { type: 'ASSIGNED PA' })] })
  await store.close()
  const after = await bulk(probe, ['--stats'])
  assert.equal(statsOf(after.stderr).cache, 'written')
  assert.equal(JSON.parse(after.stdout.split('\n')[0]).network.start_address, '77.77.0.0')
  assert.equal(statsOf((await bulk(probe, ['--stats'])).stderr).cache, 'used')
  // as an older whoismesh would write: straight into LevelDB, no generation token
  const db = new Level<Buffer, Buffer>(data, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  const raw = canonicalNetwork(net('77.88.0.0', '77.88.0.255', { type: 'ASSIGNED PA' }))
  await db.put(networkKey(raw.start, raw.end), networkValue(raw))
  await db.close()
  const raw1 = await bulk(probe, ['--stats'])
  assert.equal(statsOf(raw1.stderr).cache, 'written')
  assert.equal(JSON.parse(raw1.stdout.split('\n')[1]).network.start_address, '77.88.0.0')
  store = await NetworkStore.open({ dataDir: data })
  assert.deepEqual(JSON.parse(raw1.stdout.split('\n')[1]).network, (await lookupReport(store, ip('77.88.0.1'))).networks[0])
  await store.close()
})

test('a store no write of this version marked (no generation token) is answered without a cache', async () => {
  const old = join(dir, 'old')
  const db = new Level<Buffer, Buffer>(old, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  const r = canonicalNetwork(net('77.99.0.0', '77.99.0.255', { type: 'ASSIGNED PA' }))
  await db.put(networkKey(r.start, r.end), networkValue(r))
  await db.close()
  const out = await bulk('77.99.0.1\n77.99.1.1\n', ['--stats'], old)
  assert.equal(out.code, 0, out.stderr)
  assert.equal(statsOf(out.stderr).cache, 'none')
  const store = await NetworkStore.open({ dataDir: old })
  const reports = [await lookupReport(store, ip('77.99.0.1')), await lookupReport(store, ip('77.99.1.1'))]
  await store.close()
  assertSameAnswers(out.stdout.trimEnd().split('\n'), reports, 'unmarked store')
})

test('invalid lines are answered as such and set exit code 2; comments, blank lines, white space, CRLF and a byte order mark are handled', async () => {
  const r = await bulk('\ufeff 193.0.16.5 \r\n\n# comment\n\tnot-an-address\r\n193.000.016.005\r\n1.2.3\n256.1.1.1\n1.2.3.4.5\n1.2.3.0004\n1.2.3.4\r\r\n193.0.16.6', ['--stats'])
  assert.equal(r.code, 2)
  const lines = r.stdout.trimEnd().split('\n').map(l => JSON.parse(l))
  assert.deepEqual(lines.map(l => [l.address, l.status]), [
    ['193.0.16.5', 'network'], ['not-an-address', 'invalid'], ['193.0.16.5', 'network'], ['1.2.3', 'invalid'],
    ['256.1.1.1', 'invalid'], ['1.2.3.4.5', 'invalid'], ['1.2.3.0004', 'invalid'], ['1.2.3.4', 'unknown'], ['193.0.16.6', 'network']
  ])
  assert.deepEqual(lines[1], { address: 'not-an-address', status: 'invalid', exact: false, in_sample: false, network: null })
  assert.match(r.stderr, /^whoismesh: 5 of 9 input lines are not an IPv4 address \(answered with status "invalid"\), the first on line 4: "not-an-address"$/m)
  assert.equal(statsOf(r.stderr).invalid, 5)
})

test('CSV has a header and one quoted row per address', async () => {
  const r = await bulk('193.0.20.1\n10.1.2.3\nx,y\n', ['--format', 'csv'])
  assert.equal(r.code, 2)
  const rows = r.stdout.split('\r\n')
  assert.equal(rows.length, 5, 'header, three rows, and the last line end')
  assert.equal(rows[0], BULK_FIELDS.join(','))
  assert.match(rows[1], /^193\.0\.20\.1,network,true,false,,193\.0\.16\.0\/20,193\.0\.16\.0,193\.0\.31\.255,ripe,[^,]*,"Example, ""Quoted"" Ltd\.",/)
  assert.equal(rows[2], `10.1.2.3,special-purpose,true,false,Private-Use${','.repeat(19)}`)
  assert.equal(rows[3], `"x,y",invalid,false,false,${','.repeat(19)}`)
  assert.equal(rows[4], '')
})

test('a reader that goes away ends the job quietly', async () => {
  const child = spawn(process.execPath, [BIN, 'lookup', '-', '--data', data], { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines: string[] = []
  for (let k = 0; k < 200_000; k++) lines.push(formatIPv4((k * 2654435761) >>> 0))
  child.stdin.on('error', () => {})
  child.stdin.end(lines.join('\n'))
  child.stdout.once('data', () => child.stdout.destroy())
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)))
  assert.equal(code, 0, stderr)
  assert.equal(stderr, '')
})

test('each line is answered as it arrives, before the input ends (`tail -f | whoismesh lookup -`)', async () => {
  const child = spawn(process.execPath, [BIN, 'lookup', '-', '--data', data], { stdio: ['pipe', 'pipe', 'pipe'] })
  const done = collect(child, 120_000)
  let seen = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { seen += s })
  for (const [k, address] of ['193.0.16.5', '10.1.2.3', '193.0.16.6'].entries()) {
    child.stdin.write(`${address}\n`)
    // the next chunk of output, the command's end, or 60 s without the answer
    const deadline = Date.now() + 60_000
    while (seen.split('\n').length <= k + 1) {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>(resolve => { timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now())) })
      const next = await Promise.race([once(child.stdout, 'data').then(() => 'data' as const), done.then(() => 'ended' as const), late])
      clearTimeout(timer)
      if (next === 'ended') assert.fail(`the command ended before answering ${address}: ${(await done).stderr}`)
      if (next === 'late') assert.fail(`no answer for ${address} within 60 s while the input stayed open`)
    }
    assert.equal(JSON.parse(seen.split('\n')[k]).address, address)
  }
  child.stdin.end()
  const r = await done
  assert.equal(r.code, 0, r.stderr)
  assert.equal(seen.trimEnd().split('\n').length, 3)
})

test('through a shell pipe whose reader goes away (`| head -c 100`), the job ends quietly', async () => {
  // a child's 'pipe' here is a socket pair: bash makes a real pipe, as a user's shell does
  const input = join(dir, 'many.txt')
  const lines: string[] = []
  for (let k = 0; k < 200_000; k++) lines.push(formatIPv4((k * 2654435761) >>> 0))
  await writeFile(input, lines.join('\n'))
  for (const format of ['jsonl', 'csv']) {
    const child = spawn('bash', ['-c', '"$@" < "$IN" | head -c 100 > /dev/null; echo "${PIPESTATUS[0]}"', 'bash', process.execPath, BIN, 'lookup', '-', '--data', data, '--format', format],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, IN: input } })
    const r = await collect(child, 120_000)
    assert.equal(r.stdout.trim(), '0', `${format}: the command's exit code; ${r.stderr}`)
    assert.equal(r.stderr, '', format)
  }
})

test('non-blocking standard input and output (as another process may leave them) are read and written all the same', async () => {
  // the command reads and writes its descriptors itself (util/fd-io.ts) and turns to
  // process.stdin and process.stdout when they answer EAGAIN; python3 sets both non-blocking first
  const input: string[] = []
  for (let k = 0; k < 100_000; k++) input.push(formatIPv4((k * 2654435761) >>> 0))
  const text = input.join('\n') + '\n'
  const want = await bulk(text, ['--format', 'csv'])
  assert.equal(want.code, 0, want.stderr)
  const child = spawn('python3', ['-c', 'import os, sys; os.set_blocking(0, False); os.set_blocking(1, False); os.execv(sys.argv[1], sys.argv[1:])',
    process.execPath, BIN, 'lookup', '-', '--data', data, '--format', 'csv'], { stdio: ['pipe', 'pipe', 'pipe'] })
  const done = collect(child, 120_000)
  // the input in parts, some time apart: reads find the pipe empty; the output is not read at
  // first: writes find it full
  child.stdout.pause()
  for (let k = 0; k < 4; k++) {
    child.stdin.write(text.slice((k * text.length) / 4, ((k + 1) * text.length) / 4))
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  child.stdin.end()
  child.stdout.resume()
  const r = await done
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, want.stdout)
})

test('user mistakes print one line and exit 2', async () => {
  for (const [args, message] of [
    [['lookup', '8.8.8.8', '--format', 'csv', '--data', data], /--format is for `lookup -`/],
    [['lookup', '-', '--json', '--format', 'csv', '--data', data], /contradict/],
    [['lookup', '-', '--data', join(dir, 'nope')], /no data directory/],
    [['lookup', '-', '--format', 'xml', '--data', data], /xml/]
  ] as Array<[string[], RegExp]>) {
    const r = await runCli(args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
    assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')} printed one line: ${r.stderr}`)
  }
})
