/**
 * The simulated registries' database: a disjoint, sorted partition of all allocated and legacy IPv4
 * space (special-purpose and reserved space excluded) into networks, each owned by one RIR.
 *
 * - Every dataset range becomes a network (split at /8 boundaries, special-purpose space cut out).
 * - Every stretch of allocated space between dataset ranges becomes ONE "gap" network: the
 *   allocated-but-unassigned block a registry answers with for such addresses.
 * - A network belongs to the RIR of its /8, except "transferred" ones: in LEGACY /8s a range goes
 *   to the RIR of its country's region (as legacy space did), and elsewhere a deterministic ~3% of
 *   ranges go to another RIR, so that redirects and referrals get exercised.
 *
 * Kept in typed arrays (about 20 bytes per network); strings are made per answer.
 */
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { SPECIAL_PURPOSE_BLOCKS, slashEightOf, slashEights } from '../registry/iana.js'
import { countryAt, loadAsnRanges, loadCountryRanges, packCountry, unpackCountry, type AsnRanges, type CountryRanges } from './dataset.js'
import { regionOfCountry } from './regions.js'
import { upperBound } from '../store/sorted-array.js'

export const KIND_RANGE = 0
export const KIND_GAP = 1

export interface WorldOptions {
  /** share (0–1) of ranges outside legacy space transferred to another RIR */
  transferRate: number
}

export const defaultWorldOptions: WorldOptions = {
  /** about 3%, as the issue asks: enough redirects to exercise the crawler's following of them */
  transferRate: 0.03
}

export interface WorldCounts {
  /** all networks (ranges + gaps) */
  networks: number
  /** dataset ranges after /8 splitting and special-space removal */
  ranges: number
  /** allocated-but-unassigned gap blocks */
  gaps: number
  /** networks owned by another RIR than their /8's */
  transferred: number
  /** of which in LEGACY /8s */
  legacyTransferred: number
  /** dataset rows read */
  datasetRows: number
  /** networks owned by each RIR */
  byRegistry: Record<RegistryId, number>
  buildMs: number
}

/** 32-bit finaliser (murmur3 fmix32): a well-mixed deterministic hash of a uint32. */
export function mix32 (x: number): number {
  x = (x ^ (x >>> 16)) >>> 0
  x = Math.imul(x, 0x85ebca6b) >>> 0
  x = (x ^ (x >>> 13)) >>> 0
  x = Math.imul(x, 0xc2b2ae35) >>> 0
  return (x ^ (x >>> 16)) >>> 0
}

export const REGISTRY_INDEX: Record<RegistryId, number> = { arin: 0, ripe: 1, apnic: 2, lacnic: 3, afrinic: 4 }

export class World {
  constructor (
    readonly count: number,
    readonly start: Uint32Array,
    readonly end: Uint32Array,
    /** KIND_RANGE or KIND_GAP */
    readonly kind: Uint8Array,
    /** owning registry, index into REGISTRY_IDS */
    readonly owner: Uint8Array,
    readonly asn: Uint32Array,
    /** index into `orgs` (ranges only) */
    readonly org: Uint32Array,
    /** packed ISO country ((c0 << 8) | c1); 0 = none */
    readonly country: Uint16Array,
    readonly orgs: readonly string[],
    readonly counts: WorldCounts
  ) {}

  /** Index of the network holding `address`, or -1 (special-purpose or reserved space). */
  find (address: number): number {
    const found = upperBound(this.start, this.count, address) - 1
    if (found < 0 || this.end[found] < address) return -1
    return found
  }

  ownerOf (i: number): RegistryId {
    return REGISTRY_IDS[this.owner[i]]
  }

  /** The RIR whose /8 holds network i (the one that redirects when the network was transferred). */
  administratorOf (i: number): RegistryId {
    return slashEightOf(this.start[i]).registry!
  }

  isGap (i: number): boolean {
    return this.kind[i] === KIND_GAP
  }

  countryCodeOf (i: number): string {
    return unpackCountry(this.country[i])
  }

  orgNameOf (i: number): string {
    return this.orgs[this.org[i]]
  }

  /** Bytes held by the typed arrays (the org strings come on top). */
  byteSize (): number {
    return [this.start, this.end, this.kind, this.owner, this.asn, this.org, this.country].reduce((n, a) => n + a.byteLength, 0)
  }
}

/** Forbidden space: RESERVED /8s and special-purpose blocks, merged, sorted. */
function forbiddenIntervals (): Array<[number, number]> {
  const raw: Array<[number, number]> = SPECIAL_PURPOSE_BLOCKS.map(b => [b.start, b.end])
  for (const rec of slashEights()) {
    if (rec.status === 'RESERVED' || rec.registry == null) raw.push([rec.octet * 2 ** 24, rec.octet * 2 ** 24 + 2 ** 24 - 1])
  }
  raw.sort((a, b) => a[0] - b[0])
  const out: Array<[number, number]> = []
  for (const [s, e] of raw) {
    const last = out[out.length - 1]
    if (last != null && s <= last[1] + 1) last[1] = Math.max(last[1], e)
    else out.push([s, e])
  }
  return out
}

/** Allocated/legacy space minus special-purpose blocks, split at /8 boundaries. */
export function allowedSegments (): Array<[number, number]> {
  const forbidden = forbiddenIntervals()
  const out: Array<[number, number]> = []
  let cur = 0
  const pushSplit = (s: number, e: number): void => {
    while (s <= e) {
      const slashEightEnd = s - (s % 2 ** 24) + 2 ** 24 - 1
      const stop = Math.min(e, slashEightEnd)
      out.push([s, stop])
      s = stop + 1
    }
  }
  for (const [fs, fe] of forbidden) {
    if (fs > cur) pushSplit(cur, fs - 1)
    cur = fe + 1
  }
  if (cur <= 0xffffffff) pushSplit(cur, 0xffffffff)
  return out
}

/** [start, end, start, end, …] of the CIDR blocks exactly covering [s, e] (largest aligned first). */
export function cidrBlocks (s: number, e: number): number[] {
  const out: number[] = []
  let cur = s
  while (cur <= e) {
    let size = 1
    while (size < 2 ** 32 && cur % (size * 2) === 0 && cur + size * 2 - 1 <= e) size *= 2
    out.push(cur, cur + size - 1)
    cur += size
  }
  return out
}

/** Builds the world from parsed datasets (pure and deterministic). */
export function buildWorldFrom (asn: AsnRanges, countries: CountryRanges, opts: Partial<WorldOptions> = {}): World {
  const t0 = performance.now()
  const { transferRate } = { ...defaultWorldOptions, ...opts }
  const transferThreshold = Math.round(transferRate * 2 ** 32)
  const segments = allowedSegments()

  // room for every row, the gaps between them and LACNIC's CIDR splits; grows if that is short
  let cap = asn.count + (asn.count >> 2) + segments.length + 16
  const byRegistry = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
  let n = 0
  let ranges = 0
  let gaps = 0
  let transferred = 0
  let legacyTransferred = 0

  let start: Uint32Array = new Uint32Array(cap)
  let end: Uint32Array = new Uint32Array(cap)
  let kind: Uint8Array = new Uint8Array(cap)
  let owner: Uint8Array = new Uint8Array(cap)
  let asnOut: Uint32Array = new Uint32Array(cap)
  let org: Uint32Array = new Uint32Array(cap)
  let country: Uint16Array = new Uint16Array(cap)
  const grow = (): void => {
    cap *= 2
    const g32 = (a: Uint32Array): Uint32Array => { const b = new Uint32Array(cap); b.set(a); return b }
    const g8 = (a: Uint8Array): Uint8Array => { const b = new Uint8Array(cap); b.set(a); return b }
    start = g32(start); end = g32(end); asnOut = g32(asnOut); org = g32(org)
    kind = g8(kind); owner = g8(owner)
    const c = new Uint16Array(cap); c.set(country); country = c
  }
  /** Appends one network; returns how many were appended (LACNIC networks are split into CIDR blocks). */
  const emit = (s: number, e: number, k: number, reg: RegistryId, a: number, o: number, cc: number): number => {
    // LACNIC registers only CIDR blocks (its WHOIS writes `inetnum: 200.57.128/19`), so a range it
    // owns that is not one CIDR becomes one network per block.
    const pieces = reg === 'lacnic' ? cidrBlocks(s, e) : [s, e]
    for (let p = 0; p < pieces.length; p += 2) {
      if (n === cap) grow()
      start[n] = pieces[p]; end[n] = pieces[p + 1]; kind[n] = k; owner[n] = REGISTRY_INDEX[reg]; asnOut[n] = a; org[n] = o; country[n] = cc
      byRegistry[reg]++
      n++
    }
    return pieces.length / 2
  }

  let j = 0
  for (const [segStart, segEnd] of segments) {
    const rec = slashEightOf(segStart)
    const admin = rec.registry!
    const legacy = rec.status === 'LEGACY'
    let cursor = segStart
    while (j < asn.count && asn.end[j] < segStart) j++
    let k = j
    while (k < asn.count && asn.start[k] <= segEnd) {
      const rs = Math.max(asn.start[k], cursor)
      const re = Math.min(asn.end[k], segEnd)
      if (rs <= re) {
        if (rs > cursor) gaps += emit(cursor, rs - 1, KIND_GAP, admin, 0, 0, 0)
        let cc = countryAt(countries, rs)
        const ccText = unpackCountry(cc)
        if (cc === 0) cc = packCountry('ZZ')
        let reg = admin
        const region = regionOfCountry(ccText)
        if (legacy) {
          if (region != null && region !== admin) reg = region
        } else {
          const h = mix32(rs ^ 0x5eed5eed)
          if (h < transferThreshold) {
            reg = region != null && region !== admin
              ? region
              : REGISTRY_IDS.filter(id => id !== admin)[mix32(h) % 4]
          }
        }
        const pieces = emit(rs, re, KIND_RANGE, reg, asn.asn[k], asn.org[k], cc)
        ranges += pieces
        if (reg !== admin) {
          transferred += pieces
          if (legacy) legacyTransferred += pieces
        }
        cursor = re + 1
      }
      if (asn.end[k] > segEnd) break // continues into the next segment
      k++
    }
    j = k
    if (cursor <= segEnd) gaps += emit(cursor, segEnd, KIND_GAP, admin, 0, 0, 0)
  }
  const counts: WorldCounts = {
    networks: n, ranges, gaps, transferred, legacyTransferred, datasetRows: asn.count, byRegistry, buildMs: 0
  }
  const world = new World(n, start.slice(0, n), end.slice(0, n), kind.slice(0, n), owner.slice(0, n), asnOut.slice(0, n),
    org.slice(0, n), country.slice(0, n), asn.orgs, counts)
  counts.buildMs = Math.round(performance.now() - t0)
  return world
}

/** Loads both datasets from the installed packages and builds the world. */
export async function buildWorld (opts: Partial<WorldOptions> = {}): Promise<World> {
  const t0 = performance.now()
  const [asn, countries] = await Promise.all([loadAsnRanges(), loadCountryRanges()])
  const world = buildWorldFrom(asn, countries, opts)
  world.counts.buildMs = Math.round(performance.now() - t0)
  return world
}
