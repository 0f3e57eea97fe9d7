/**
 * `whoismesh coverage --png FILE [--size N]`: renders the Hilbert map of IPv4 (src/report/map.ts)
 * from the data directory — or, while a node runs on it, from that node's dump streamed over the
 * control endpoint — writes the PNG and prints the totals.
 */
import { writeFile } from 'node:fs/promises'
import { PassThrough } from 'node:stream'
import { callControl } from '../../node/control.js'
import { CoverageGrid, formatMapTotals, renderCoverageMap, DEFAULT_MAP_SIZE, type MapRange } from '../../report/map.js'
import { isRegistryId } from '../../registry/interface.js'
import { parseIPv4 } from '../../util/ipv4.js'
import { UserError } from '../errors.js'
import { withStore } from './read.js'

export interface CoverageMapOptions {
  data: string
  png: string
  size?: number
  json?: boolean
}

export async function runCoverageMap (o: CoverageMapOptions): Promise<void> {
  const size = o.size ?? DEFAULT_MAP_SIZE
  const t0 = performance.now()
  const grid = await withStore(o.data,
    async store => await CoverageGrid.fromRanges(store.networks()),
    async () => await CoverageGrid.fromRanges(remoteRanges(o.data)))
  const caption = `whoismesh coverage ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`
  const map = renderCoverageMap(grid, { size, caption })
  try {
    await writeFile(o.png, map.png)
  } catch (err: any) {
    throw new UserError(`cannot write ${o.png}: ${String(err.code ?? err.message)}`)
  }
  const totals = grid.totals()
  const ms = Math.round(performance.now() - t0)
  if (o.json === true) {
    process.stdout.write(JSON.stringify({ png: o.png, width: map.width, height: map.height, pixel_prefix: map.pixelPrefix, bytes: map.png.length, render_ms: ms, ...snake(totals) }) + '\n')
  } else {
    process.stdout.write(`wrote ${o.png}: ${map.width}×${map.height} PNG, 1 pixel = /${map.pixelPrefix}, ${map.png.length.toLocaleString('en-US')} bytes, ${ms} ms\n` + formatMapTotals(totals))
  }
}

function snake (t: ReturnType<CoverageGrid['totals']>): Record<string, unknown> {
  return { slash24s: t.slash24s, allocated_slash24s: t.allocatedSlash24s, networks: t.networks }
}

/** The running node's networks, from its JSONL dump over the control endpoint. */
async function * remoteRanges (dataDir: string): AsyncGenerator<MapRange> {
  const body = new PassThrough()
  body.setEncoding('utf8')
  const done = callControl(dataDir, '/v1/dump', { format: 'jsonl' }, body).then(() => { body.end() }, (err: unknown) => { body.destroy(err as Error) })
  let rest = ''
  for await (const chunk of body) {
    const lines = (rest + (chunk as string)).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) if (line !== '') yield rangeOfDumpLine(line)
  }
  if (rest !== '') yield rangeOfDumpLine(rest)
  await done
}

function rangeOfDumpLine (line: string): MapRange {
  const row = JSON.parse(line) as { start_address?: string, end_address?: string, registry?: string }
  if (row.start_address == null || row.end_address == null || row.registry == null || !isRegistryId(row.registry)) {
    throw new UserError(`the running node's dump has an unexpected line: ${line.slice(0, 200)}`)
  }
  return { start: parseIPv4(row.start_address), end: parseIPv4(row.end_address), registry: row.registry }
}
