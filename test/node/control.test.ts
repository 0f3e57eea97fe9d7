/**
 * The node's control endpoint (src/node/control.ts) on a real loopback socket: only a request
 * carrying the token of `<data>/control.json` is answered; any other — none, a wrong one of the
 * same length, a prefix of the right one — gets 401.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ControlServer, readControlFile } from '../../src/node/control.js'

test('the control endpoint answers the token holder only', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'whoismesh-control-'))
  const server = new ControlServer({ dataDir: dir }, { '/ping': async () => ({ pong: true }) })
  t.after(async () => { await server.stop(); await rm(dir, { recursive: true, force: true }) })
  const port = await server.start()
  const { token } = await readControlFile(dir)
  const status = async (authorization?: string): Promise<number> => (await fetch(`http://127.0.0.1:${port}/ping`, { headers: authorization === undefined ? {} : { authorization } })).status
  const wrong = token.replace(/^./, c => c === '0' ? '1' : '0')
  assert.equal(await status(`Bearer ${token}`), 200)
  assert.deepEqual([await status(), await status(`Bearer ${wrong}`), await status(`Bearer ${token.slice(0, -1)}`), await status(`Bearer ${token}x`)], [401, 401, 401, 401])
})
