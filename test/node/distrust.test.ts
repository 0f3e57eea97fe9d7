/**
 * `whoismesh distrust` on a stopped node's data directory: drops what a peer authored (the dump
 * loses exactly those rows), lists the distrusted peers, trusts again with --undo, and refuses
 * user mistakes with one line and exit code 2 — a malformed peer id, the node's own id, --undo
 * without peers. (On a running node the command goes through the control endpoint: the hostile
 * peer scenario, test/faults/hostile-peer.test.ts, runs it there.)
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { dataDirWith, net, neg } from '../store/helpers/records.js'
import { runCli } from '../helpers/cli.js'

const HONEST = '12D3KooWHonestPeer1111111111111111111111111111111'
const LIAR = '12D3KooWLiarPeer22222222222222222222222222222222222'

let cleanup: () => Promise<void>
let data: string

before(async () => {
  ({ data, cleanup } = await dataDirWith({
    networks: [net('62.1.0.0', '62.1.0.255', { author: HONEST }), net('41.0.0.0', '41.255.255.255', { registry: 'afrinic', type: 'ALLOCATED PA', author: LIAR }), net('62.3.0.0', '62.3.0.255', { author: LIAR })],
    negatives: [neg('8.20.0.2', { author: LIAR })]
  }))
})

after(async () => { await cleanup?.() })

async function cli (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await runCli(args, { timeoutMs: 60_000 })
}

async function dumpedAuthors (): Promise<Array<string | null>> {
  const r = await cli('dump', '--data', data)
  assert.equal(r.code, 0, r.stderr)
  return r.stdout.trim().split('\n').map(l => JSON.parse(l).author)
}

test('distrust drops the peer\'s records, lists it, and --undo trusts it again', async () => {
  assert.deepEqual(await dumpedAuthors(), [LIAR, HONEST, LIAR])
  const none = await cli('distrust', '--data', data)
  assert.deepEqual([none.code, none.stdout], [0, ''], none.stderr)

  const r = await cli('distrust', LIAR, '--data', data)
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /dropped 2 networks and 1 address notes/)
  assert.deepEqual(await dumpedAuthors(), [HONEST])
  const listed = await cli('distrust', '--data', data)
  assert.equal(listed.stdout, `${LIAR}\n`)

  const undo = await cli('distrust', '--undo', LIAR, '--data', data)
  assert.equal(undo.code, 0, undo.stderr)
  assert.equal((await cli('distrust', '--data', data)).stdout, '')
  assert.deepEqual(await dumpedAuthors(), [HONEST], 'records dropped do not come back by themselves')
})

test('distrust refuses a malformed peer id, the node\'s own id and --undo without peers, with one line and exit code 2', async () => {
  const own = await cli('id', '--data', data)
  assert.equal(own.code, 0, own.stderr)
  const self = own.stdout.trim()
  for (const [args, message] of [
    [['distrust', 'root@example', '--data', data], /is not a peer id/],
    [['distrust', self, '--data', data], /is the peer id of the node on .* itself/],
    [['distrust', '--undo', '--data', data], /--undo needs the peers/]
  ] as Array<[string[], RegExp]>) {
    const r = await cli(...args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
  }
  assert.deepEqual(await dumpedAuthors(), [HONEST], 'nothing changed')
})
