/**
 * `whoismesh coverage --png FILE`: the IPv4 space on a Hilbert curve (see hilbert.ts), coloured by
 * what the store knows about each /24.
 *
 * Every /24 gets one class:
 *   - a registry's colour when a stored network overlaps it (the most specific one wins where
 *     networks nest, e.g. space transferred from ARIN to RIPE NCC inside an ARIN /8);
 *   - grey when IANA marks it reserved or special-purpose (the RESERVED /8s — 0, 127, 224–255 —
 *     and blocks such as 10/8, 100.64/10, 192.168/16); this wins over any stored network;
 *   - dark when it is allocated space no stored network covers yet.
 * At 4096 × 4096 each /24 is a pixel; smaller sizes show /22 (2048), /20 (1024) or /18 (512)
 * pixels, each the class most of its /24s have. Totals are always counted in /24s.
 *
 *   const grid = await CoverageGrid.fromRanges(store.networks())
 *   const png = renderCoverageMap(grid, { size: 1024 })    // a PNG file's bytes
 */
import { PNG } from 'pngjs'
import { REGISTRY_IDS, REGISTRY_NAMES, type RegistryId } from '../registry/interface.js'
import { slashEights, SPECIAL_PURPOSE_BLOCKS } from '../registry/iana.js'
import { hilbertD2xy } from './hilbert.js'
import { drawText, GLYPH_ADVANCE, GLYPH_HEIGHT } from './bitmap-font.js'

/** A stored network as the map needs it (NetworkRecord and dump rows provide it). */
export interface MapRange { start: number, end: number, registry: RegistryId }

/** Class of a /24 in CoverageGrid.cells. */
export const CELL_UNKNOWN = 0
export const CELL_RESERVED = 1
/** registry i of REGISTRY_IDS is class CELL_REGISTRY + i */
export const CELL_REGISTRY = 2

export const SLASH24_COUNT = 2 ** 24

export type Rgb = [number, number, number]

/** Colours. Registries use the Tableau 10 palette: distinct, and kind to colour-blind eyes. */
export const MAP_COLOURS: { registries: Record<RegistryId, Rgb>, reserved: Rgb, unknown: Rgb, background: Rgb, text: Rgb } = {
  registries: {
    arin: [0x4e, 0x79, 0xa7],
    ripe: [0xf2, 0x8e, 0x2b],
    apnic: [0x59, 0xa1, 0x4f],
    lacnic: [0xe1, 0x57, 0x59],
    afrinic: [0xed, 0xc9, 0x48]
  },
  reserved: [0x8c, 0x8c, 0x8c],
  unknown: [0x26, 0x2a, 0x33],
  background: [0x10, 0x12, 0x16],
  text: [0xee, 0xee, 0xee]
}

/** Map sizes offered: side in pixels → prefix length of one pixel. */
export const MAP_SIZES: Readonly<Record<number, number>> = { 4096: 24, 2048: 22, 1024: 20, 512: 18 }
/** 4096 × 4096, one pixel per /24 (a few hundred KiB: flat colours compress well; see docs/operating.md, "The coverage map") */
export const DEFAULT_MAP_SIZE = 4096

export interface MapTotals {
  /** /24s per class; they add up to 2^24 */
  slash24s: { reserved: number, unknown: number, registries: Record<RegistryId, number> }
  /** allocated /24s (2^24 less reserved and special-purpose) */
  allocatedSlash24s: number
  /** networks drawn, per registry */
  networks: Record<RegistryId, number>
}

export class CoverageGrid {
  /** one class per /24 (CELL_*), index = address >>> 8 */
  readonly cells: Uint8Array
  readonly networks: Record<RegistryId, number>

  private constructor (cells: Uint8Array, networks: Record<RegistryId, number>) {
    this.cells = cells
    this.networks = networks
  }

  /** Classes every /24 from the networks (any order) and IANA's reserved and special-purpose space. */
  static async fromRanges (ranges: AsyncIterable<MapRange> | Iterable<MapRange>): Promise<CoverageGrid> {
    let starts = new Uint32Array(1024)
    let ends = new Uint32Array(1024)
    let regs = new Uint8Array(1024)
    let n = 0
    const networks = Object.fromEntries(REGISTRY_IDS.map(id => [id, 0])) as Record<RegistryId, number>
    for await (const r of ranges) {
      const reg = REGISTRY_IDS.indexOf(r.registry)
      if (reg < 0 || !(r.start <= r.end)) continue
      if (n === starts.length) {
        starts = grow(starts, Uint32Array)
        ends = grow(ends, Uint32Array)
        regs = grow(regs, Uint8Array)
      }
      starts[n] = r.start; ends[n] = r.end; regs[n] = reg
      networks[r.registry]++
      n++
    }
    // paint the largest networks first, so the most specific one wins where they nest
    const order = Array.from({ length: n }, (_, i) => i)
    order.sort((a, b) => (ends[b] - starts[b]) - (ends[a] - starts[a]) || starts[a] - starts[b])
    const cells = new Uint8Array(SLASH24_COUNT)
    for (const i of order) cells.fill(CELL_REGISTRY + regs[i], starts[i] >>> 8, (ends[i] >>> 8) + 1)
    // IANA's reserved and special-purpose space is grey whatever was stored there
    for (const s of slashEights()) {
      if (s.status === 'RESERVED' || s.registry == null) cells.fill(CELL_RESERVED, s.octet << 16, (s.octet + 1) << 16)
    }
    for (const b of SPECIAL_PURPOSE_BLOCKS) cells.fill(CELL_RESERVED, b.start >>> 8, (b.end >>> 8) + 1)
    return new CoverageGrid(cells, networks)
  }

  totals (): MapTotals {
    const counts = new Array<number>(CELL_REGISTRY + REGISTRY_IDS.length).fill(0)
    for (let i = 0; i < this.cells.length; i++) counts[this.cells[i]]++
    return {
      slash24s: {
        reserved: counts[CELL_RESERVED],
        unknown: counts[CELL_UNKNOWN],
        registries: Object.fromEntries(REGISTRY_IDS.map((id, i) => [id, counts[CELL_REGISTRY + i]])) as Record<RegistryId, number>
      },
      allocatedSlash24s: SLASH24_COUNT - counts[CELL_RESERVED],
      networks: { ...this.networks }
    }
  }

  /** Class of the /24 holding `address`. */
  classOf (address: number): number {
    return this.cells[address >>> 8]
  }
}

function grow<T extends Uint32Array | Uint8Array> (a: T, Ctor: new (n: number) => T): T {
  const b = new Ctor(a.length * 2)
  b.set(a)
  return b
}

export function colourOfClass (c: number): Rgb {
  if (c === CELL_UNKNOWN) return MAP_COLOURS.unknown
  if (c === CELL_RESERVED) return MAP_COLOURS.reserved
  return MAP_COLOURS.registries[REGISTRY_IDS[c - CELL_REGISTRY]]
}

export interface RenderMapOptions {
  /** side of the map in pixels, a key of MAP_SIZES (default DEFAULT_MAP_SIZE) */
  size?: number
  /** print each /8's first octet in the corner of its square (default true) */
  labels?: boolean
  /** the legend strip under the map (default true) */
  legend?: boolean
  /** a line at the bottom of the legend, e.g. where and when the data came from */
  caption?: string
}

export interface RenderedMap {
  png: Buffer
  width: number
  height: number
  /** prefix length of the block one pixel stands for */
  pixelPrefix: number
}

/** Height of the legend strip under a map of side `size`. */
export function legendHeight (size: number): number {
  return 74 * fontScale(size)
}

function fontScale (size: number): number {
  return Math.max(1, size / 512)
}

/** The map as a PNG: the square Hilbert map on top, the legend with the totals underneath. */
export function renderCoverageMap (grid: CoverageGrid, opts: RenderMapOptions = {}): RenderedMap {
  const size = opts.size ?? DEFAULT_MAP_SIZE
  const pixelPrefix = MAP_SIZES[size]
  if (pixelPrefix == null) throw new RangeError(`map size must be one of ${Object.keys(MAP_SIZES).join(', ')}, got ${size}`)
  const order = Math.log2(size)
  const width = size
  const height = size + (opts.legend === false ? 0 : legendHeight(size))
  const data = Buffer.alloc(width * height * 3)
  const set = (x: number, y: number, [r, g, b]: Rgb): void => {
    const o = (y * width + x) * 3
    data[o] = r; data[o + 1] = g; data[o + 2] = b
  }

  // the map: pixel d of the curve stands for cellsPerPixel consecutive /24s, which form an aligned
  // block, so its cell on the finer curve lies inside this pixel's square
  const cellsPerPixel = SLASH24_COUNT / (size * size)
  const tally = new Uint32Array(CELL_REGISTRY + REGISTRY_IDS.length)
  for (let d = 0; d < size * size; d++) {
    let cls: number
    if (cellsPerPixel === 1) {
      cls = grid.cells[d]
    } else {
      tally.fill(0)
      for (let i = d * cellsPerPixel, e = i + cellsPerPixel; i < e; i++) tally[grid.cells[i]]++
      cls = 0
      for (let c = 1; c < tally.length; c++) if (tally[c] > tally[cls]) cls = c
    }
    const { x, y } = hilbertD2xy(order, d)
    set(x, y, colourOfClass(cls))
  }

  const scale = fontScale(size)
  const blend = (x: number, y: number, [r, g, b]: Rgb, alpha: number): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return
    const o = (y * width + x) * 3
    data[o] = Math.round(data[o] * (1 - alpha) + r * alpha)
    data[o + 1] = Math.round(data[o + 1] * (1 - alpha) + g * alpha)
    data[o + 2] = Math.round(data[o + 2] * (1 - alpha) + b * alpha)
  }
  if (opts.labels !== false) {
    // each /8 is a (size/16)-pixel square; its first octet in the square's top-left corner
    const side = size / 16
    const labelScale = Math.max(1, scale / 2)
    for (let octet = 0; octet < 256; octet++) {
      const { x, y } = hilbertD2xy(4, octet)
      drawText(String(octet), x * side + 2 * labelScale, y * side + 2 * labelScale, labelScale, (px, py) => blend(px, py, [255, 255, 255], 0.75))
    }
  }
  if (opts.legend !== false) drawLegend(grid.totals(), { width, top: size, scale, pixelPrefix, caption: opts.caption }, set)

  // RGB in, RGB out (colour type 2): no alpha channel to store. pngjs reads only width, height and data.
  const png = PNG.sync.write({ width, height, data } as unknown as PNG, { colorType: 2, inputColorType: 2, inputHasAlpha: false })
  return { png, width, height, pixelPrefix }
}

function drawLegend (t: MapTotals, g: { width: number, top: number, scale: number, pixelPrefix: number, caption?: string }, set: (x: number, y: number, c: Rgb) => void): void {
  const { width, top, scale: f } = g
  for (let y = top; y < top + legendHeight(width); y++) for (let x = 0; x < width; x++) set(x, y, MAP_COLOURS.background)
  const text = (s: string, x: number, y: number): void => {
    drawText(s.toUpperCase(), x, y, f, (px, py) => { if (px < width) set(px, py, MAP_COLOURS.text) })
  }
  // a swatch with a thin light outline, so the dark "not yet known" one shows on the background
  const swatch = (x: number, y: number, c: Rgb): void => {
    const side = GLYPH_HEIGHT * f
    const edge = Math.max(1, Math.floor(f / 2))
    for (let dy = 0; dy < side; dy++) {
      for (let dx = 0; dx < side; dx++) {
        const outline = dx < edge || dy < edge || dx >= side - edge || dy >= side - edge
        set(x + dx, y + dy, outline ? MAP_COLOURS.reserved : c)
      }
    }
  }
  const pct = (n: number): string => `${(100 * n / SLASH24_COUNT).toFixed(1)}%`
  const margin = 6 * f
  text(`IPv4 by registry, Hilbert curve, 1 pixel = /${g.pixelPrefix}, % of all IPv4`, margin, top + 4 * f)
  const entries: Array<[Rgb, string]> = REGISTRY_IDS.map(id => [
    MAP_COLOURS.registries[id],
    `${REGISTRY_NAMES[id].padEnd(8)} ${pct(t.slash24s.registries[id]).padStart(6)} ${t.networks[id].toLocaleString('en-US').padStart(9)} nets`
  ])
  const known = REGISTRY_IDS.reduce((s, id) => s + t.slash24s.registries[id], 0)
  entries.push([MAP_COLOURS.unknown, `not yet known    ${pct(t.slash24s.unknown).padStart(6)}`])
  entries.push([MAP_COLOURS.reserved, `reserved/special ${pct(t.slash24s.reserved).padStart(6)}`])
  const col = Math.floor(width / 2)
  entries.forEach(([colour, label], i) => {
    const x = margin + (i < 4 ? 0 : col)
    const y = top + 17 * f + (i % 4) * 11 * f
    swatch(x, y, colour)
    text(label, x + (GLYPH_HEIGHT + 4) * f, y)
  })
  const networks = REGISTRY_IDS.reduce((s, id) => s + t.networks[id], 0)
  text(`known ${(100 * known / t.allocatedSlash24s).toFixed(1)}% of allocated, ${networks.toLocaleString('en-US')} nets`, margin + col, top + 17 * f + 3 * 11 * f)
  if (g.caption != null) text(g.caption.slice(0, Math.floor((width - 2 * margin) / (GLYPH_ADVANCE * f))), margin, top + 17 * f + 4 * 11 * f)
}

/** The totals as text lines (what `coverage --png` prints). */
export function formatMapTotals (t: MapTotals): string {
  const pct = (n: number, of: number): string => `${(100 * n / of).toFixed(2)}%`
  const lines = ['class                       networks        /24s   % of IPv4   % of allocated']
  const row = (name: string, nets: string, n: number, ofAllocated: boolean): string =>
    `${name.padEnd(24)} ${nets.padStart(11)} ${n.toLocaleString('en-US').padStart(11)} ${pct(n, SLASH24_COUNT).padStart(11)} ${(ofAllocated ? pct(n, t.allocatedSlash24s) : '-').padStart(16)}`
  for (const id of REGISTRY_IDS) lines.push(row(id, t.networks[id].toLocaleString('en-US'), t.slash24s.registries[id], true))
  lines.push(row('not yet known', '', t.slash24s.unknown, true))
  lines.push(row('IANA reserved/special', '', t.slash24s.reserved, false))
  return lines.join('\n') + '\n'
}
