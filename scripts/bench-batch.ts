/**
 * LevelDB batch forms (bench.ts step "batch_forms"): the same puts written through abstract-level's
 * array form (`db.batch(ops)`) and through a chained batch (`db.batch().put(…).write()`, what
 * src/store/level-db.ts writeBatch uses), in batches of 5,000 puts of 100-byte values, each form
 * timed twice into a fresh key range of one store in a temp directory.
 *
 *   node --import tsx scripts/bench-batch.ts [--puts 200000]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { Level } from 'level'

const BATCH = 5000

export async function benchBatchForms (puts = 200_000): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-batch-'))
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  let next = 0
  const ops = (): Array<{ type: 'put', key: Buffer, value: Buffer }> => Array.from({ length: puts }, () => {
    const key = Buffer.alloc(8)
    key.writeUInt32BE(next++, 4)
    return { type: 'put', key, value: Buffer.alloc(100, next & 255) }
  })
  const usPerPut = async (write: (slice: Array<{ type: 'put', key: Buffer, value: Buffer }>) => Promise<void>): Promise<number> => {
    const all = ops()
    const t = performance.now()
    for (let i = 0; i < all.length; i += BATCH) await write(all.slice(i, i + BATCH))
    return (performance.now() - t) * 1000 / all.length
  }
  // as the store wrote it before: with its options object (sync: false), which abstract-level copies into every operation
  const array = async (slice: Array<{ type: 'put', key: Buffer, value: Buffer }>): Promise<void> => { await db.batch(slice, { sync: false }) }
  const chained = async (slice: Array<{ type: 'put', key: Buffer, value: Buffer }>): Promise<void> => {
    const b = db.batch()
    for (const o of slice) b.put(o.key, o.value)
    await b.write({ sync: false })
  }
  try {
    const runs = { array: [] as number[], chained: [] as number[] }
    for (let round = 0; round < 2; round++) {
      runs.array.push(await usPerPut(array))
      runs.chained.push(await usPerPut(chained))
    }
    const best = (xs: number[]): number => Math.min(...xs)
    return {
      puts_per_form_and_round: puts,
      array_us_per_put: Number(best(runs.array).toFixed(2)),
      chained_us_per_put: Number(best(runs.chained).toFixed(2)),
      array_over_chained: Number((best(runs.array) / best(runs.chained)).toFixed(1))
    }
  } finally {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { puts: { type: 'string', default: '200000' } } })
  process.stdout.write(JSON.stringify(await benchBatchForms(Number(values.puts)), null, 2) + '\n')
}
