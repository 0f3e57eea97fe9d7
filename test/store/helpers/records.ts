import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NegativeRecord, NetworkRecord } from '../../../src/record/index.js'
import { NetworkStore, type CommitInput } from '../../../src/store/index.js'
import { parseIPv4, rangeToCidrs } from '../../../src/util/ipv4.js'

/** A network record for [start, end] (dotted quads or numbers) with plausible defaults. */
export function net (start: string | number, end: string | number, over: Partial<NetworkRecord> = {}): NetworkRecord {
  const s = typeof start === 'number' ? start : parseIPv4(start)
  const e = typeof end === 'number' ? end : parseIPv4(end)
  return {
    start: s,
    end: e,
    registry: 'ripe',
    handle: `H-${s}-${e}`,
    name: `NET-${s}`,
    org: 'Example Org',
    country: 'NL',
    cidrs: rangeToCidrs(s, e),
    type: 'ASSIGNED PA',
    parentHandle: '',
    registered: '2001-01-01T00:00:00Z',
    lastChanged: '2020-01-01T00:00:00Z',
    source: 'rdap',
    fetchedAt: 1_700_000_000_000,
    queryAddress: s,
    ...over
  }
}

export function neg (address: string | number, over: Partial<NegativeRecord> = {}): NegativeRecord {
  return {
    address: typeof address === 'number' ? address : parseIPv4(address),
    registry: 'arin',
    reason: 'not-found',
    fetchedAt: 1_700_000_000_000,
    ...over
  }
}

/** A fresh temp directory holding a data directory `data` whose store holds what `input` commits (closed again). */
export async function dataDirWith (input: CommitInput): Promise<{ dir: string, data: string, cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir()
  const data = join(dir, 'data')
  const store = await NetworkStore.open({ dataDir: data })
  try {
    await store.commit(input)
  } finally {
    await store.close()
  }
  return { dir, data, cleanup }
}

/** Runs `fn` on a store opened in a fresh temp directory (the store's own); closes and removes it after. */
export async function withStore (fn: (store: NetworkStore, dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir()
  const store = await NetworkStore.open({ dataDir: dir })
  try {
    await fn(store, dir)
  } finally {
    await store.close()
    await cleanup()
  }
}

/** A fresh temp directory and its cleanup. */
export async function tempDir (): Promise<{ dir: string, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-store-'))
  return { dir, cleanup: async () => { await rm(dir, { recursive: true, force: true }) } }
}

/** Deterministic PRNG so randomized tests are reproducible. */
export { prngFloat as rng } from '../../../src/util/prng.js'

export const ip = parseIPv4
