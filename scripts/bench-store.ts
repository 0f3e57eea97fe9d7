/**
 * Store benchmark: loads synthetic networks into a real LevelDB in a temp dir and measures the
 * in-memory index against a LevelDB seek per check. Prints one JSON object.
 *
 *   node --expose-gc --import tsx scripts/bench-store.ts [--networks 470000] [--inserts 170000]
 *
 * The load runs in this process; open/memory/queries and the random inserts each run in a fresh
 * child process (`--phase query|inserts`), so RSS is not inflated by the generator's records.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Level } from 'level'
import type { NetworkRecord } from '../src/record/index.js'
import { NetworkStore } from '../src/store/index.js'
import { NetworkIndex } from '../src/store/interval-index.js'
import { networkBounds, networkKey } from '../src/store/keys.js'
import { REGISTRY_IDS } from '../src/registry/interface.js'
import { rangeToCidrs } from '../src/util/ipv4.js'
import { prngFloat as rng } from '../src/util/prng.js'

const { values: args } = parseArgs({
  options: {
    networks: { type: 'string', default: '470000' },
    inserts: { type: 'string', default: '170000' },
    checks: { type: 'string', default: '10000000' },
    seeks: { type: 'string', default: '50000' },
    phase: { type: 'string', default: 'main' },
    dir: { type: 'string' }
  }
})
const NETWORKS = Number(args.networks)
const INSERTS = Number(args.inserts)
const CHECKS = Number(args.checks)
const SEEKS = Number(args.seeks)


/** prefix lengths roughly as registries hand them out: mostly /19–/24, some /25–/29, few large */
function prefixLength (r: number): number {
  if (r < 0.0005) return 8 + Math.floor(r / 0.0005 * 4) // /8–/11
  if (r < 0.02) return 12 + Math.floor((r - 0.0005) / 0.0195 * 5) // /12–/16
  if (r < 0.35) return 17 + Math.floor((r - 0.02) / 0.33 * 5) // /17–/21
  if (r < 0.75) return 22 + Math.floor((r - 0.35) / 0.4 * 3) // /22–/24
  return 25 + Math.floor((r - 0.75) / 0.25 * 5) // /25–/29
}

function syntheticNetworks (n: number, seed: number): NetworkRecord[] {
  const random = rng(seed)
  const seen = new Set<string>()
  const out: NetworkRecord[] = []
  while (out.length < n) {
    const len = prefixLength(random())
    const size = 2 ** (32 - len)
    const addr = Math.floor((1 + random() * 222) * 2 ** 24) // 1.0.0.0 – 223.255.255.255
    const start = addr - (addr % size)
    const end = start + size - 1
    const k = `${start}/${len}`
    if (seen.has(k)) continue
    seen.add(k)
    const i = out.length
    out.push({
      start,
      end,
      registry: REGISTRY_IDS[i % 5],
      handle: `NET-${start}-${len}`,
      name: `EXAMPLE-NET-${i}`,
      org: `Example Organisation ${i % 5000}`,
      country: 'NL',
      cidrs: rangeToCidrs(start, end),
      type: 'ASSIGNED PA',
      parentHandle: '',
      registered: '2010-05-05T00:00:00Z',
      lastChanged: '2021-02-03T00:00:00Z',
      source: 'rdap',
      fetchedAt: 1_700_000_000_000 + i,
      queryAddress: start + Math.floor(random() * size)
    })
  }
  return out
}

function shuffle<T> (xs: T[], seed: number): T[] {
  const random = rng(seed)
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j], xs[i]]
  }
  return xs
}

const gc = (globalThis as { gc?: () => void }).gc
const mb = (n: number): number => Math.round(n / 1024 / 1024 * 10) / 10
const now = (): number => performance.now()
const round = (n: number, d = 0): number => Math.round(n * 10 ** d) / 10 ** d
/** RSS split (Linux): anonymous memory (heap, buffers, the index) and file pages (LevelDB maps its tables) */
function rssSplit (): { anonMB?: number, fileMB?: number } {
  try {
    const kb = (field: string): number | undefined => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))
      return m === null ? undefined : round(Number(m[1]) / 1024, 1)
    }
    return { anonMB: kb('RssAnon'), fileMB: kb('RssFile') }
  } catch {
    return {}
  }
}
function memory (): { rssMB: number, heapUsedMB: number, externalMB: number, anonMB?: number, fileMB?: number } {
  gc?.()
  const m = process.memoryUsage()
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), externalMB: mb(m.external + m.arrayBuffers), ...rssSplit() }
}

const childArgs = (phase: string, dir: string): string[] => [
  '--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--phase', phase, '--dir', dir,
  '--networks', String(NETWORKS), '--inserts', String(INSERTS), '--checks', String(CHECKS), '--seeks', String(SEEKS)
]

function runChild (phase: string, dir: string): Record<string, unknown> {
  const r = spawnSync(process.execPath, childArgs(phase, dir), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`bench phase ${phase} exited ${String(r.status)}`)
  return JSON.parse(r.stdout)
}

/** load NETWORKS in batches of 5000 into dir */
async function phaseLoad (loadDir: string): Promise<Record<string, unknown>> {
  const records = syntheticNetworks(NETWORKS, 1)
  const store = await NetworkStore.open({ dataDir: loadDir })
  const t = now()
  for (let i = 0; i < records.length; i += 5000) await store.commit({ networks: records.slice(i, i + 5000) })
  const seconds = (now() - t) / 1000
  await store.close()
  return { batchSize: 5000, seconds: round(seconds, 2), networksPerSecond: round(records.length / seconds) }
}

/** open (rebuild), memory, queries, digests, LevelDB-seek baseline */
async function phaseQuery (loadDir: string): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {}
  const memBefore = memory()
  let t = now()
  const store = await NetworkStore.open({ dataDir: loadDir })
  const openSeconds = (now() - t) / 1000
  const memAfter = memory()
  result.open = { seconds: round(openSeconds, 2), networks: store.counts().networks, addressesCovered: store.addressesCovered() }
  result.memory = { beforeOpen: memBefore, afterOpen: memAfter, rssDeltaMB: round(memAfter.rssMB - memBefore.rssMB, 1) }

  const random = rng(3)
  const probes = new Uint32Array(CHECKS)
  for (let i = 0; i < CHECKS; i++) probes[i] = Math.floor(random() * 2 ** 32)
  let hits = 0
  for (let i = 0; i < 1_000_000; i++) if (store.isCovered(probes[i])) hits++ // warm up
  hits = 0
  t = now()
  for (let i = 0; i < CHECKS; i++) if (store.isCovered(probes[i])) hits++
  const coveredPerSecond = CHECKS / ((now() - t) / 1000)
  t = now()
  let resolved = 0
  for (let i = 0; i < CHECKS; i++) if (store.isResolved(probes[i])) resolved++
  const resolvedPerSecond = CHECKS / ((now() - t) / 1000)
  const msN = Math.min(CHECKS, 2_000_000)
  t = now()
  let found = 0
  for (let i = 0; i < msN; i++) if (store.mostSpecificRange(probes[i]) !== undefined) found++
  const mostSpecificRangePerSecond = msN / ((now() - t) / 1000)
  const asyncN = 20_000
  t = now()
  for (let i = 0; i < asyncN; i++) await store.mostSpecific(probes[i])
  const mostSpecificAsyncPerSecond = asyncN / ((now() - t) / 1000)

  t = now()
  const digest = store.digest()
  const digestMs = now() - t
  t = now()
  store.digestBySlashEight()
  const by8Ms = now() - t
  t = now()
  const whole = store.fingerprintRange(0, 0xffffffff)
  const fullRangeMs = now() - t
  const counts = store.counts()
  t = now()
  for (let i = 0; i < 10_000; i++) { const a = probes[i]; store.fingerprintRange(a, Math.min(0xffffffff, a + 5_000_000)) }
  const rangeMicros = (now() - t) / 10_000 * 1000
  result.memory = { ...(result.memory as object), afterQueriesRssMB: memory().rssMB }
  await store.close()

  // baseline: a LevelDB seek per check (the last network starting at or before the address; this
  // ignores enclosing networks, so it is cheaper than a real answer)
  const db = new Level<Buffer, Buffer>(loadDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const lowest = networkBounds().gte
  t = now()
  let seekHits = 0
  for (let i = 0; i < SEEKS; i++) {
    const a = probes[i]
    const [k] = await db.keys({ gte: lowest, lte: networkKey(a, 0xffffffff), reverse: true, limit: 1 }).all()
    if (k !== undefined && k.readUInt32BE(5) >= a) seekHits++
  }
  const seekPerSecond = SEEKS / ((now() - t) / 1000)
  await db.close()

  result.queries = {
    isCoveredPerSecond: round(coveredPerSecond),
    coveredFraction: round(hits / CHECKS, 4),
    isResolvedPerSecond: round(resolvedPerSecond),
    mostSpecificRangePerSecond: round(mostSpecificRangePerSecond),
    mostSpecificFound: round(found / msN, 4),
    mostSpecificAsyncWithDiskReadPerSecond: round(mostSpecificAsyncPerSecond),
    levelDbSeekPerCheckPerSecond: round(seekPerSecond),
    levelDbSeekHitFraction: round(seekHits / SEEKS, 4),
    isCoveredVsSeekRatio: round(coveredPerSecond / seekPerSecond)
  }
  result.digest = {
    digest: digest.slice(0, 16) + '…',
    digestMs: round(digestMs, 3),
    bySlashEightMs: round(by8Ms, 2),
    fullRangeFingerprintMs: round(fullRangeMs, 2),
    fullRangeCountMatches: whole.count === counts.networks + counts.negatives,
    randomRange5MAddressesMicros: round(rangeMicros, 1)
  }
  return result
}

/** INSERTS networks, one commit each, random order, into a fresh store; and the index alone */
async function phaseInserts (insertDir: string): Promise<Record<string, unknown>> {
  const inserts = shuffle(syntheticNetworks(INSERTS, 2), 5)
  const index = new NetworkIndex()
  const hash = new Uint8Array(32)
  let t = now()
  for (const r of inserts) index.add(r.start, r.end, 0, hash, { leaf: false, classified: true })
  const indexOnlySeconds = (now() - t) / 1000
  const store = await NetworkStore.open({ dataDir: insertDir })
  const quarter = Math.floor(inserts.length / 4)
  const lap: number[] = []
  t = now()
  for (let i = 0; i < inserts.length; i++) {
    await store.commit({ networks: [inserts[i]] })
    if ((i + 1) % quarter === 0) lap.push(now())
  }
  const insertSeconds = (now() - t) / 1000
  const quarters = lap.map((x, i) => round(quarter / ((x - (i === 0 ? t : lap[i - 1])) / 1000)))
  const random = rng(4)
  const probes = new Uint32Array(CHECKS)
  for (let i = 0; i < CHECKS; i++) probes[i] = Math.floor(random() * 2 ** 32)
  let hits = 0
  t = now()
  for (let i = 0; i < CHECKS; i++) if (store.isCovered(probes[i])) hits++
  const coveredAfterInserts = CHECKS / ((now() - t) / 1000)
  const result = {
    networks: INSERTS,
    oneCommitEach: { seconds: round(insertSeconds, 2), commitsPerSecond: round(INSERTS / insertSeconds), commitsPerSecondByQuarter: quarters },
    indexOnly: { seconds: round(indexOnlySeconds, 3), insertsPerSecond: round(INSERTS / indexOnlySeconds) },
    isCoveredPerSecondAfter: round(coveredAfterInserts),
    coveredFractionAfter: round(hits / CHECKS, 4),
    rssMBIncludingBenchRecords: memory().rssMB
  }
  await store.close()
  return result
}

if (args.phase === 'query') {
  console.log(JSON.stringify(await phaseQuery(args.dir as string)))
} else if (args.phase === 'inserts') {
  console.log(JSON.stringify(await phaseInserts(args.dir as string)))
} else {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-bench-'))
  try {
    const loadDir = join(dir, 'load')
    const result: Record<string, unknown> = { networks: NETWORKS, node: process.version, gcExposed: gc !== undefined }
    result.bulkLoad = await phaseLoad(loadDir)
    Object.assign(result, runChild('query', loadDir))
    result.randomInserts = runChild('inserts', join(dir, 'inserts'))
    console.log(JSON.stringify(result, null, 2))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
