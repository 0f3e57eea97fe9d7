/**
 * The read commands (`dump`, `lookup`, `coverage`) on a stopped node's data directory open the
 * store and print: they load no libp2p (about two seconds to load), since nothing of the mesh is
 * needed. Checked on the real command, with a preload that logs every module URL it resolves.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dataDirWith, net } from '../store/helpers/records.js'
import { collect, spawnCli } from '../helpers/cli.js'

const HOOK = fileURLToPath(new URL('../helpers/log-resolved.mjs', import.meta.url))

let dir: string
let cleanup: () => Promise<void>
let data: string

before(async () => {
  ({ dir, data, cleanup } = await dataDirWith({ networks: [net('193.0.0.0', '193.0.7.255', { registry: 'ripe' })] }))
})

after(async () => { await cleanup() })

/** Runs the command; returns its output and the URLs of the libp2p modules it resolved. */
async function run (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string, libp2p: string[] }> {
  const log = join(dir, `resolved-${args[0]}-${Date.now()}.log`)
  await writeFile(log, '')
  const child = spawnCli(args, { env: { WHOISMESH_RESOLVE_LOG: log, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${HOOK}`.trim() } })
  const r = await collect(child, 60_000)
  const urls = (await readFile(log, 'utf8')).split('\n').filter(u => u !== '')
  assert.ok(urls.length > 0, `${args.join(' ')}: the preload logged nothing (${r.stderr})`)
  return { ...r, libp2p: urls.filter(u => /libp2p/.test(u)) }
}

test('dump, lookup and coverage on a stopped node\'s store load no libp2p module', async () => {
  for (const args of [
    ['dump', '--data', data],
    ['dump', '--format', 'csv', '--registry', 'ripe', '--data', data],
    ['lookup', '193.0.1.1', '--json', '--data', data],
    ['coverage', '--json', '--sample-limit', '1000', '--data', data]
  ]) {
    const r = await run(args)
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stdout, /193\.0\.0\.0|"networks":1/, `${args.join(' ')} printed the store's network`)
    assert.deepEqual(r.libp2p.slice(0, 3), [], `${args.join(' ')} loaded ${r.libp2p.length} libp2p modules`)
  }
})

test('the check sees libp2p where a command does load it (`id` reads the node key)', async () => {
  const r = await run(['id', '--data', data])
  assert.equal(r.code, 0, r.stderr)
  assert.ok(r.libp2p.length > 0, 'id resolved no libp2p module: the preload does not see them')
})
