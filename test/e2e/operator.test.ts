/**
 * What an operator sees: the live status line of `node start` in a real pseudo-terminal (util-linux
 * `script` gives the node a pty), the structured progress lines when stderr is not a terminal, and
 * the coverage map drawn from a running node over its control endpoint. Registry simulator and
 * nodes are real, on loopback.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PNG } from 'pngjs'
import { startSimulator, writeRegistriesFile, type Simulator } from '../../src/sim/index.js'
import { hilbertD2xy } from '../../src/report/hilbert.js'
import { MAP_COLOURS } from '../../src/report/map.js'
import { parseIPv4 } from '../../src/util/ipv4.js'
import { BIN, collect, runCli, spawnCli, waitFor } from '../helpers/cli.js'

const LISTEN = '/ip4/127.0.0.1/tcp/0'
const SAMPLE_LIMIT = 300

let sim: Simulator
let dir: string
let registriesFile: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-operator-'))
  sim = await startSimulator({ budgetPerSecond: 'all=400' })
  registriesFile = join(dir, 'registries.json')
  await writeRegistriesFile(sim, registriesFile)
})

after(async () => {
  await sim?.close()
  await rm(dir, { recursive: true, force: true })
})

const hasScript = spawnSync('script', ['--version']).status === 0

/** Runs `whoismesh args…` with its stdio on a pseudo-terminal of 160 columns; resolves with everything it wrote. */
async function runInPty (args: string[], timeoutMs: number): Promise<{ code: number | null, out: string }> {
  const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`
  const command = `stty cols 160 rows 40; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`
  // -q quiet, -f flush at once, -e exit with the command's code, -c the command; no typescript file
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
  const r = await collect(child, timeoutMs)
  child.stdin?.end()
  return { code: r.code, out: r.stdout + r.stderr }
}

const LOG_LINE = /\d\d:\d\d:\d\d\.\d{3} (debug|info|warn|error) /

test('on a terminal, node start keeps one live status line, redrawn in place, with log lines printed above it', { skip: !hasScript && 'util-linux script is not installed' }, async () => {
  const data = join(dir, 'tty')
  // a small budget, so the crawl lasts several refreshes of the line
  const r = await runInPty(['node', 'start', '--data', data, '--registries', registriesFile, '--sample-limit', String(SAMPLE_LIMIT),
    '--budget', 'all=15', '--heartbeat-ms', '500', '--exit-when-done', '--listen', LISTEN], 90_000)
  assert.equal(r.code, 0, r.out.slice(-3000))

  // the status line: drawn after "\r + erase line", refreshed in place (no newline between refreshes)
  const redraws = r.out.split('\r\x1b[2Kslice ').length - 1
  assert.ok(redraws >= 3, `${redraws} status line draws: ${JSON.stringify(r.out.slice(0, 2000))}`)
  const statuses = [...r.out.matchAll(/\r\x1b\[2K(slice [^\r\n\x1b]*)/g)].map(m => m[1])
  for (const s of statuses) {
    assert.match(s, /^slice [\d,]+\/[\d,]+ [\d.]+% \| sample [\d,]+\/300 [\d.]+% \| [\d,]+ nets \| (ETA (-|\S+)|slice done)( \| req\/s .*)?$/, `status line ${JSON.stringify(s)}`)
    assert.ok(s.length < 160, `a status line of ${s.length} characters on a 160-column terminal`)
  }
  assert.ok(statuses.some(s => /\| req\/s sent\/share (arin|ripe|apnic|lacnic|afrinic) \d+\.\d\/\d+\.\d/.test(s)), 'no status line showed registry rates sent against budget shares')
  assert.ok(statuses.some(s => /\| ETA \d+(s|m\d\ds)/.test(s)), 'no status line showed an ETA')

  // log lines start on a clean row (the status line is erased first) and end it
  for (const msg of ['node ready', 'crawl started', 'crawl complete']) {
    assert.match(r.out, new RegExp(`\\r\\x1b\\[2K${LOG_LINE.source}+\\s*${msg}[^\\r\\n]*\\r\\n`), `log line "${msg}" was not printed on its own row`)
  }
  for (const row of r.out.split('\n')) {
    // on any row, what follows the last erase is what the terminal shows: never a status line with a log line glued on
    const shown = row.split('\x1b[2K').pop() ?? ''
    assert.ok(!(shown.includes('slice ') && LOG_LINE.test(shown)), `a status line and a log line share a row: ${JSON.stringify(row)}`)
  }
  // the line is erased before the final report
  assert.match(r.out, /\r\x1b\[2Knetworks +[\d,]+\r\n/)
})

test('on a terminal, --quiet and --log-format json show no status line', { skip: !hasScript && 'util-linux script is not installed' }, async () => {
  const base = ['node', 'start', '--registries', registriesFile, '--sample-limit', String(SAMPLE_LIMIT), '--heartbeat-ms', '500', '--exit-when-done', '--listen', LISTEN]
  const quiet = await runInPty([...base, '--data', join(dir, 'tty-quiet'), '--quiet'], 90_000)
  assert.equal(quiet.code, 0, quiet.out.slice(-3000))
  assert.doesNotMatch(quiet.out, /slice \d/)
  assert.doesNotMatch(quiet.out, /\x1b\[2K/)

  const json = await runInPty([...base, '--data', join(dir, 'tty-json'), '--log-format', 'json', '--status-interval', '1'], 90_000)
  assert.equal(json.code, 0, json.out.slice(-3000))
  assert.doesNotMatch(json.out, /\x1b\[2K/)
  const lines = json.out.split('\r\n').filter(l => l.startsWith('{'))
  assert.ok(lines.length > 3)
  for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `not JSON: ${l}`)
})

test('off a terminal, node start logs one progress line per interval with rates, budget shares and ETA; coverage --png reads the running node', async () => {
  const data = join(dir, 'piped')
  const child = spawnCli(['node', 'start', '--data', data, '--registries', registriesFile, '--sample-limit', String(SAMPLE_LIMIT),
    '--budget', 'all=40', '--heartbeat-ms', '500', '--status-interval', '1', '--log-format', 'json', '--listen', LISTEN])
  const done = collect(child, 120_000)
  let stderr = ''
  child.stderr?.on('data', (d: Buffer | string) => { stderr += String(d) })
  const logs = (): Array<Record<string, any>> => stderr.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l))
  try {
    const doneAt = (): number => logs().findIndex(l => l.msg === 'crawl done; serving dump/lookup/coverage until stopped (Ctrl-C)')
    await waitFor(() => doneAt() >= 0, 90_000, 'the crawl to finish')
    // one more progress line once the crawl is done
    await waitFor(() => logs().slice(doneAt()).some(l => l.msg === 'progress'), 30_000, 'a progress line after the crawl')
    const progress = logs().filter(l => l.msg === 'progress')
    assert.ok(progress.length >= 3, `${progress.length} progress lines`)
    for (const p of progress) {
      for (const k of ['resolved', 'total', 'sliceResolved', 'sliceTotal', 'networks', 'requestsPerSecond', 'budgetShare', 'remaining', 'etaSeconds', 'lookups']) {
        assert.ok(k in p, `progress line lacks ${k}: ${JSON.stringify(p)}`)
      }
      assert.equal(p.total, SAMPLE_LIMIT)
    }
    assert.ok(progress.some(p => Object.values(p.requestsPerSecond as Record<string, number>).some(v => v > 0)), 'no progress line shows a request rate')
    const last = progress[progress.length - 1]
    assert.equal(last.sliceResolved, last.sliceTotal)
    assert.equal(last.etaSeconds, 0)
    assert.doesNotMatch(stderr, /\r|\x1b\[/, 'terminal control characters in a log that is not a terminal')

    // the node holds the LevelDB lock: the map is drawn from its dump over the control endpoint
    const out = join(dir, 'live-map.png')
    const map = await runCli(['coverage', '--data', data, '--png', out, '--size', '4096'], { timeoutMs: 60_000 })
    assert.equal(map.code, 0, map.stderr)
    const dump = await runCli(['dump', '--data', data])
    assert.equal(dump.code, 0, dump.stderr)
    const rows = dump.stdout.trim().split('\n').map(l => JSON.parse(l))
    assert.match(map.stdout, new RegExp(`^arin +${rows.filter(r => r.registry === 'arin').length.toLocaleString('en-US')} `, 'm'))
    const png = PNG.sync.read(await readFile(out))
    // a /24 inside a network no other network nests in has its registry's colour (away from the
    // /8 labels in the top-left corner of each 256-pixel /8 square)
    const nested = (r: any): boolean => rows.some(o => o !== r && parseIPv4(o.start_address) >= parseIPv4(r.start_address) && parseIPv4(o.end_address) <= parseIPv4(r.end_address))
    let checked = 0
    for (const r of rows) {
      if (checked === 20 || nested(r)) continue
      const { x, y } = hilbertD2xy(12, parseIPv4(r.start_address) >>> 8)
      if (x % 256 < 80 && y % 256 < 40) continue
      const o = (y * png.width + x) * 4
      assert.deepEqual([png.data[o], png.data[o + 1], png.data[o + 2]], MAP_COLOURS.registries[r.registry as 'arin'], `pixel of ${r.cidr} (${r.registry})`)
      checked++
    }
    assert.ok(checked >= 5, `only ${checked} networks checked on the map`)
  } finally {
    child.kill('SIGTERM')
  }
  const r = await done
  assert.equal(r.code, 0, r.stderr.slice(-2000))
})
