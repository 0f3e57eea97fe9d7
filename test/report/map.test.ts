import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PNG } from 'pngjs'
import { hilbertD2xy, hilbertXy2d } from '../../src/report/hilbert.js'
import {
  CoverageGrid, renderCoverageMap, formatMapTotals, MAP_COLOURS, SLASH24_COUNT, CELL_RESERVED, CELL_UNKNOWN, CELL_REGISTRY
} from '../../src/report/map.js'
import { NetworkStore } from '../../src/store/index.js'
import { REGISTRY_IDS } from '../../src/registry/interface.js'
import { net, tempDir, ip } from '../store/helpers/records.js'
import { runCli } from '../helpers/cli.js'

test('the Hilbert mapping round-trips index → cell → index at every order up to 7, exhaustively', () => {
  for (let order = 0; order <= 7; order++) {
    const n = 2 ** order
    const seen = new Set<number>()
    for (let d = 0; d < n * n; d++) {
      const { x, y } = hilbertD2xy(order, d)
      assert.ok(x >= 0 && x < n && y >= 0 && y < n, `order ${order}, d ${d}: cell (${x}, ${y}) outside the square`)
      seen.add(y * n + x)
      assert.equal(hilbertXy2d(order, x, y), d, `order ${order}: d ${d} → (${x}, ${y}) → ${hilbertXy2d(order, x, y)}`)
    }
    assert.equal(seen.size, n * n, `order ${order}: the curve does not visit every cell once`)
  }
})

test('the map curve (order 12, one /24 per cell) round-trips and keeps adjacent /24s in adjacent pixels', () => {
  let prev = hilbertD2xy(12, 0)
  // every /24 of a few /8s, and a stride through all of them
  const indices: number[] = []
  for (const octet of [0, 8, 100, 193, 255]) for (let i = 0; i < 65536; i++) indices.push(octet * 65536 + i)
  for (const d of indices) {
    const c = hilbertD2xy(12, d)
    assert.equal(hilbertXy2d(12, c.x, c.y), d, `/24 #${d}`)
    if (d > 0 && d % 65536 !== 0) {
      assert.equal(Math.abs(c.x - prev.x) + Math.abs(c.y - prev.y), 1, `/24 #${d - 1} at (${prev.x}, ${prev.y}) and #${d} at (${c.x}, ${c.y}) are not neighbours`)
    }
    prev = c
  }
  for (let d = 1; d < SLASH24_COUNT; d += 65_521) {
    const a = hilbertD2xy(12, d - 1)
    const b = hilbertD2xy(12, d)
    assert.equal(Math.abs(a.x - b.x) + Math.abs(a.y - b.y), 1, `/24 #${d - 1} and #${d} are not neighbours`)
  }
})

test('it is the standard Hilbert curve: starts top-left, ends top-right, and each /8 is an aligned square of the coarser curve', () => {
  assert.deepEqual([0, 1, 2, 3].map(d => hilbertD2xy(1, d)), [{ x: 0, y: 0 }, { x: 0, y: 1 }, { x: 1, y: 1 }, { x: 1, y: 0 }])
  assert.deepEqual(hilbertD2xy(12, 0), { x: 0, y: 0 })
  assert.deepEqual(hilbertD2xy(12, SLASH24_COUNT - 1), { x: 4095, y: 0 })
  // the 2×2 pattern repeats at every scale: cell of d at order 12 lies in the cell of d >> 2k at order 12 − k
  for (let d = 0; d < SLASH24_COUNT; d += 9973) {
    const fine = hilbertD2xy(12, d)
    for (const k of [2, 4, 8]) {
      const coarse = hilbertD2xy(12 - k, Math.floor(d / 4 ** k))
      assert.deepEqual({ x: fine.x >> k, y: fine.y >> k }, coarse, `/24 #${d} at order 12 − ${k}`)
    }
  }
  assert.throws(() => hilbertD2xy(2, 16), RangeError)
  assert.throws(() => hilbertXy2d(2, 4, 0), RangeError)
})

/** Colour of the map pixel holding `address` in a decoded map of side `size`. */
function pixelOf (png: PNG, size: number, address: number): [number, number, number] {
  const order = Math.log2(size)
  const { x, y } = hilbertD2xy(order, Math.floor((address >>> 8) / (SLASH24_COUNT / (size * size))))
  const o = (y * png.width + x) * 4
  return [png.data[o], png.data[o + 1], png.data[o + 2]]
}

async function storeWithNetworks (dir: string): Promise<void> {
  const store = await NetworkStore.open({ dataDir: dir })
  try {
    await store.commit({
      networks: [
        net('193.0.0.0', '193.0.7.255', { registry: 'ripe' }),
        // an ARIN /9 with a RIPE /24 inside it (a transfer): the most specific network wins
        net('8.0.0.0', '8.127.255.255', { registry: 'arin' }),
        net('8.8.8.0', '8.8.8.255', { registry: 'ripe' }),
        // a whole /20 of APNIC, for the 1024 map where a pixel is a /20
        net('1.0.0.0', '1.0.15.255', { registry: 'apnic' }),
        net('200.57.128.0', '200.57.159.255', { registry: 'lacnic' }),
        net('41.0.0.0', '41.0.0.127', { registry: 'afrinic' })
      ]
    })
  } finally {
    await store.close()
  }
}

test('the map colours a stored network by registry, reserved space grey and allocated unknown space dark', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await storeWithNetworks(dir)
    const store = await NetworkStore.open({ dataDir: dir })
    let grid: CoverageGrid
    try {
      grid = await CoverageGrid.fromRanges(store.networks())
    } finally {
      await store.close()
    }
    const map = renderCoverageMap(grid, { size: 4096, labels: false })
    assert.equal(map.pixelPrefix, 24)
    const png = PNG.sync.read(map.png)
    assert.equal(png.width, 4096)
    assert.ok(png.height > 4096, 'no legend strip under the map')
    const cases: Array<[string, [number, number, number]]> = [
      ['193.0.4.1', MAP_COLOURS.registries.ripe],
      ['8.8.8.8', MAP_COLOURS.registries.ripe],
      ['8.8.9.1', MAP_COLOURS.registries.arin],
      ['8.127.255.1', MAP_COLOURS.registries.arin],
      ['1.0.9.1', MAP_COLOURS.registries.apnic],
      ['200.57.130.1', MAP_COLOURS.registries.lacnic],
      ['41.0.0.1', MAP_COLOURS.registries.afrinic],
      ['240.1.2.3', MAP_COLOURS.reserved], // an IANA-reserved /8
      ['127.0.0.1', MAP_COLOURS.reserved],
      ['100.64.1.1', MAP_COLOURS.reserved], // special-purpose inside an allocated /8
      ['192.168.1.1', MAP_COLOURS.reserved],
      ['8.128.0.1', MAP_COLOURS.unknown], // allocated, no network stored
      ['45.1.2.3', MAP_COLOURS.unknown],
      ['193.0.8.1', MAP_COLOURS.unknown]
    ]
    for (const [addr, colour] of cases) assert.deepEqual(pixelOf(png, 4096, ip(addr)), colour, `pixel of ${addr}`)

    const t = grid.totals()
    assert.equal(t.slash24s.registries.ripe, 8 + 1)
    assert.equal(t.slash24s.registries.arin, 128 * 256 - 1)
    assert.equal(t.slash24s.registries.apnic, 16)
    assert.equal(t.slash24s.registries.afrinic, 1, 'a /25 counts as its /24')
    assert.equal(t.slash24s.reserved + t.slash24s.unknown + REGISTRY_IDS.reduce((s, id) => s + t.slash24s.registries[id], 0), SLASH24_COUNT)
    assert.equal(t.allocatedSlash24s, SLASH24_COUNT - t.slash24s.reserved)
    assert.deepEqual(t.networks, { arin: 1, ripe: 2, apnic: 1, lacnic: 1, afrinic: 1 })
    assert.equal(grid.classOf(ip('10.0.0.1')), CELL_RESERVED)
    assert.equal(grid.classOf(ip('45.0.0.1')), CELL_UNKNOWN)
    assert.equal(grid.classOf(ip('8.8.8.8')), CELL_REGISTRY + REGISTRY_IDS.indexOf('ripe'))
    assert.match(formatMapTotals(t), /^ripe +2 +9 /m)

    // at 1024 a pixel is a /20, coloured as most of its /24s
    const small = PNG.sync.read(renderCoverageMap(grid, { size: 1024, labels: false }).png)
    assert.equal(small.width, 1024)
    assert.deepEqual(pixelOf(small, 1024, ip('1.0.0.1')), MAP_COLOURS.registries.apnic)
    assert.deepEqual(pixelOf(small, 1024, ip('8.8.8.8')), MAP_COLOURS.registries.arin, 'one RIPE /24 among 16 ARIN ones')
    assert.deepEqual(pixelOf(small, 1024, ip('240.0.0.1')), MAP_COLOURS.reserved)
    assert.deepEqual(pixelOf(small, 1024, ip('45.0.0.1')), MAP_COLOURS.unknown)
    assert.throws(() => renderCoverageMap(grid, { size: 1000 }), /map size must be one of/)
  } finally {
    await cleanup()
  }
})

test('the legend and the /8 labels are drawn into the image', async () => {
  const grid = await CoverageGrid.fromRanges([{ start: ip('193.0.0.0'), end: ip('193.0.7.255'), registry: 'ripe' }])
  const bare = PNG.sync.read(renderCoverageMap(grid, { size: 512, labels: false, legend: false }).png)
  const full = PNG.sync.read(renderCoverageMap(grid, { size: 512, caption: 'test' }).png)
  assert.equal(bare.height, 512)
  assert.ok(full.height > 512)
  const countText = (png: PNG, fromRow: number, toRow: number): number => {
    let n = 0
    for (let y = fromRow; y < toRow; y++) {
      for (let x = 0; x < png.width; x++) {
        const o = (y * png.width + x) * 4
        if (png.data[o] === MAP_COLOURS.text[0] && png.data[o + 1] === MAP_COLOURS.text[1] && png.data[o + 2] === MAP_COLOURS.text[2]) n++
      }
    }
    return n
  }
  assert.ok(countText(full, 512, full.height) > 1000, 'no legend text under the map')
  // the label "45" sits in the top-left corner of 45/8's square, lighter than the dark map
  const { x, y } = hilbertD2xy(4, 45)
  let lighter = 0
  for (let dy = 0; dy < 10; dy++) {
    for (let dx = 0; dx < 14; dx++) {
      const o = ((y * 32 + dy) * full.width + x * 32 + dx) * 4
      const b = ((y * 32 + dy) * bare.width + x * 32 + dx) * 4
      if (full.data[o] > bare.data[b] + 50) lighter++
    }
  }
  assert.ok(lighter > 10, `only ${lighter} label pixels in 45/8's corner`)
})

test('coverage --png writes the map of an offline data directory and prints its totals', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const data = join(dir, 'data')
    await storeWithNetworks(data)
    const out = join(dir, 'map.png')
    const r = await runCli(['coverage', '--data', data, '--png', out, '--size', '1024'], { timeoutMs: 60_000 })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^wrote .*map\.png: 1024×\d+ PNG, 1 pixel = \/20/)
    assert.match(r.stdout, /^arin +1 +32,767 /m)
    assert.match(r.stdout, /^IANA reserved\/special /m)
    const png = PNG.sync.read(await readFile(out))
    assert.equal(png.width, 1024)
    assert.deepEqual(pixelOf(png, 1024, ip('1.0.0.1')), MAP_COLOURS.registries.apnic)

    const json = await runCli(['coverage', '--data', data, '--png', out, '--size', '512', '--json'], { timeoutMs: 60_000 })
    assert.equal(json.code, 0, json.stderr)
    const j = JSON.parse(json.stdout)
    assert.equal(j.width, 512)
    assert.equal(j.pixel_prefix, 18)
    assert.equal(j.slash24s.registries.apnic, 16)

    const bad = await runCli(['coverage', '--data', data, '--png', out, '--size', '1000'])
    assert.equal(bad.code, 2)
    const unwritable = join(dir, 'file')
    await writeFile(unwritable, '')
    const nowhere = await runCli(['coverage', '--data', data, '--png', join(unwritable, 'map.png')])
    assert.equal(nowhere.code, 2, nowhere.stderr)
    assert.match(nowhere.stderr, /^whoismesh: cannot write .*map\.png: ENOTDIR\n$/)
  } finally {
    await cleanup()
  }
})
