import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { sampleSlice } from '../../sample/index.js'
import { formatIPv4 } from '../../util/ipv4.js'
import { UserError } from '../errors.js'

export interface SampleCommandOptions { count?: boolean, out?: string, sampleLimit?: number }

export async function runSample (o: SampleCommandOptions): Promise<void> {
  const sample = sampleSlice(o.sampleLimit)
  if (o.count === true) {
    process.stdout.write(`${sample.length}\n`)
    return
  }
  let out: Writable = process.stdout
  if (o.out != null) {
    const file = createWriteStream(o.out)
    try {
      await once(file, 'open')
    } catch (err: any) {
      throw new UserError(`cannot write ${o.out}: ${err.code ?? err.message}`)
    }
    out = file
  }
  const CHUNK = 65536
  for (let i = 0; i < sample.length; i += CHUNK) {
    let s = ''
    for (const a of sample.subarray(i, i + CHUNK)) s += formatIPv4(a) + '\n'
    if (!out.write(s)) await once(out, 'drain')
  }
  if (out !== process.stdout) {
    out.end()
    await once(out, 'finish')
  }
}
