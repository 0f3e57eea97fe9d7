/**
 * A worker thread of the import (parse-pool.ts): parses the batches of an inetnum file's
 * paragraphs the main thread sends (parse-batch.ts) and sends back the rows.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { DumpRegistry } from '../registry/interface.js'
import { parseBatch } from './parse-batch.js'
import type { ParseRequest } from './parse-pool.js'

const { registry, orgNames } = workerData as { registry: DumpRegistry, orgNames: Array<[string, string]> }
const names = new Map(orgNames)

parentPort!.on('message', (m: ParseRequest) => {
  const result = parseBatch(m, names, registry)
  const transfer: ArrayBuffer[] = [result.start.buffer, result.end.buffer, result.flags.buffer, result.lengths.buffer] as ArrayBuffer[]
  transfer.push(result.details.buffer as ArrayBuffer)
  parentPort!.postMessage(result, transfer)
})
