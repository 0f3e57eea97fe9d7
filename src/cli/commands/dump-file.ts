/**
 * `whoismesh dump --out FILE`: the dump written to a file instead of standard output — JSONL or CSV
 * as on standard output, or the binary exports (src/export: `--format mmdb`, `--format parquet`,
 * which need --out: a binary file is not for a terminal, and the file is written through a
 * temporary one, so a failure leaves nothing half-written). From the store opened directly, or,
 * while a node runs on the data directory, from the JSONL dump it streams (`/v1/dump`). Prints one
 * JSON summary line on standard error.
 */
import { createWriteStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { PassThrough, type Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { callControl, ControlError } from '../../node/control.js'
import { writeDump, type DumpFormat } from '../../report/dump.js'
import type { RegistryId } from '../../registry/interface.js'
import { isExportFormat, type ExportFormat } from '../../export/interface.js'
import { writeAtomically } from '../../export/atomic-file.js'
import { UserError } from '../errors.js'
import { withStore } from './read.js'

export interface DumpFileOptions {
  data: string
  format: DumpFormat | ExportFormat
  registry?: RegistryId
  since?: number
  out?: string
}

/** The --out a format needs: binary formats refuse standard output (a clear error, no stack). */
export function checkDumpOutput (o: { format: string, out?: string }): void {
  if (isExportFormat(o.format) && (o.out == null || o.out === '')) {
    throw new UserError(`--format ${o.format} writes a binary file: give the file with --out FILE (e.g. --out networks.${o.format})`)
  }
}

export async function runDumpFile (o: DumpFileOptions): Promise<void> {
  checkDumpOutput(o)
  const out = o.out as string
  const t0 = performance.now()
  const scope = { registry: o.registry, since: o.since }
  const query = { registry: o.registry, since: o.since?.toString() }
  let networks: number | undefined
  let details: Record<string, number | string> = {}
  const format = o.format
  if (isExportFormat(format)) {
    // the writers (hyparquet-writer) are loaded only for these formats
    const exp = await import('../../export/index.js')
    const summary = await withStore(o.data,
      async store => await exp.exportRows(format, exp.storeRows(store, scope), out, scope),
      async () => {
        const stream = new PassThrough()
        const call = nodeDump(o.data, { format: 'jsonl', ...query }, stream)
          .then(() => { stream.end() }, (err: Error) => { stream.destroy(err) })
        const result = await exp.exportRows(format, exp.jsonlRows(stream), out, scope)
        await call
        return result
      })
    networks = summary.networks
    details = summary.details
  } else {
    networks = await writeAtomically(out, async tmp => {
      const file = createWriteStream(tmp)
      const opened = new Promise<void>((resolve, reject) => { file.once('open', () => resolve()); file.once('error', reject) })
      await opened
      const n = await withStore(o.data,
        async store => await writeDump(store, { format, registry: o.registry, since: o.since }, file),
        async () => { await nodeDump(o.data, { format, ...query }, file); return undefined })
      await endStream(file)
      return n
    })
  }
  const { size } = await stat(out)
  process.stderr.write(JSON.stringify({ format, out, networks: networks ?? null, bytes: size, seconds: Number(((performance.now() - t0) / 1000).toFixed(2)), ...details }) + '\n')
}

/** The running node's dump streamed to `out`; the node stopping mid-dump (a reset, an aborted answer) is said as such. */
async function nodeDump (data: string, query: Record<string, string | undefined>, out: Writable): Promise<void> {
  try {
    await callControl(data, '/v1/dump', query, out)
  } catch (err: any) {
    throw err?.name === 'ControlError' ? err : new ControlError(`the running node's dump broke off: ${String(err?.message ?? err)}`)
  }
}

async function endStream (w: Writable): Promise<void> {
  w.end()
  await finished(w)
}
