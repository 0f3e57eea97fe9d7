import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NetworkStore, StoreCorruptError, StoreLockedError, StoreOpenError } from '../../src/store/index.js'
import { net, tempDir } from './helpers/records.js'

const childScript = fileURLToPath(new URL('./helpers/open-store-child.ts', import.meta.url))

/** opens `dir` in a separate node process; resolves with what it printed */
async function openInChild (dir: string): Promise<{ ok: boolean, name?: string, message?: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  assert.equal(code, 0, `child exited ${String(code)}: ${err}`)
  return JSON.parse(out.trim().split('\n').pop() ?? '{}')
}

/** a store with some data, closed */
async function populated (dir: string): Promise<void> {
  const store = await NetworkStore.open({ dataDir: dir })
  await store.commit({ networks: [net('1.0.0.0', '1.0.0.255'), net('2.0.0.0', '2.0.0.255')] })
  await store.close()
}

test('opening a store that another process holds fails with StoreLockedError naming the directory', async () => {
  const { dir, cleanup } = await tempDir()
  const store = await NetworkStore.open({ dataDir: dir })
  try {
    const res = await openInChild(dir)
    assert.equal(res.ok, false)
    assert.equal(res.name, 'StoreLockedError')
    assert.match(res.message ?? '', new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
  } finally {
    await store.close()
  }
  try {
    assert.deepEqual(await openInChild(dir), { ok: true }, 'once closed, another process can open it')
  } finally {
    await cleanup()
  }
})

test('opening the same directory twice in one process fails with StoreLockedError', async () => {
  const { dir, cleanup } = await tempDir()
  const store = await NetworkStore.open({ dataDir: dir })
  try {
    await assert.rejects(NetworkStore.open({ dataDir: dir }), (err: unknown) => err instanceof StoreLockedError && err.dataDir === dir)
  } finally {
    await store.close()
    await cleanup()
  }
})

test('a data dir the store creates is the user\'s alone (0700)', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const data = join(dir, 'a', 'b')
    const store = await NetworkStore.open({ dataDir: data })
    await store.close()
    assert.equal((await stat(data)).mode & 0o777, 0o700)
  } finally {
    await cleanup()
  }
})

test('a data dir that cannot be created fails with StoreOpenError giving the directory and the OS reason', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const file = join(dir, 'a-file')
    await writeFile(file, 'x')
    const target = join(file, 'sub') // under a regular file: fails even for root
    await assert.rejects(NetworkStore.open({ dataDir: target }), (err: unknown) =>
      err instanceof StoreOpenError && err.dataDir === target && err.message.includes(target) && /ENOTDIR/.test(err.message))
  } finally {
    await cleanup()
  }
})

test('a data dir path that is a regular file fails with StoreOpenError saying it is not a directory', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const file = join(dir, 'a-file')
    await writeFile(file, 'x')
    await assert.rejects(NetworkStore.open({ dataDir: file }), (err: unknown) =>
      err instanceof StoreOpenError && err.message.includes(file) && /not a directory/.test(err.message))
  } finally {
    await cleanup()
  }
})

test('a store whose MANIFEST is garbage fails with StoreCorruptError naming the directory and the way out', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await populated(dir)
    const manifest = (await readdir(dir)).find(n => n.startsWith('MANIFEST-'))
    assert.ok(manifest !== undefined)
    await writeFile(join(dir, manifest), Buffer.alloc(200, 0x41))
    await assert.rejects(NetworkStore.open({ dataDir: dir }), (err: unknown) =>
      err instanceof StoreCorruptError && err.dataDir === dir && err.message.includes(dir) && /move the directory aside/.test(err.message))
  } finally {
    await cleanup()
  }
})

test('a store whose CURRENT file is garbage fails with StoreCorruptError', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await populated(dir)
    await writeFile(join(dir, 'CURRENT'), 'garbage\n')
    await assert.rejects(NetworkStore.open({ dataDir: dir }), (err: unknown) => err instanceof StoreCorruptError && err.dataDir === dir)
  } finally {
    await cleanup()
  }
})

test('a store that lost its CURRENT file fails with StoreCorruptError instead of silently starting empty', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await populated(dir)
    await rm(join(dir, 'CURRENT'))
    await assert.rejects(NetworkStore.open({ dataDir: dir }), (err: unknown) => err instanceof StoreCorruptError && err.dataDir === dir)
  } finally {
    await cleanup()
  }
})
