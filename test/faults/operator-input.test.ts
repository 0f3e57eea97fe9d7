/**
 * Bad operator input, as a user types it: every case runs the real `whoismesh` command and must
 * print exactly one line starting `whoismesh:` that says what is wrong (naming the flag or file),
 * exit 2, and print no stack trace and no "internal error".
 *
 * Nodes started here never reach a registry: the registries file points at closed loopback ports,
 * and every case fails while the node starts.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { recordFigures } from './report.js'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../helpers/cli.js'
import { writeUnreachableRegistries } from '../helpers/fake-registries.js'

/** any free loopback port: tests run side by side */
const LISTEN = '/ip4/127.0.0.1/tcp/0'
const PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'

let dir: string
let registries: string
/** a TCP port this test holds, so that whoever else listens on it fails */
let busy: Server
let busyPort: number

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whoismesh-operator-'))
  registries = join(dir, 'registries.json')
  await writeUnreachableRegistries(registries)
  await writeFile(join(dir, 'malformed.json'), '{"version": 1, "registries": {')
  await writeFile(join(dir, 'no-registries.json'), '{"version": 1}')
  await writeFile(join(dir, 'bad.key'), '/key/swarm/psk/1.0.0/\n/base16/\nnot-hex\n')
  await writeFile(join(dir, 'a-file'), 'not a directory\n')
  await mkdir(join(dir, 'not-a-store'))
  busy = createServer()
  await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
  busyPort = (busy.address() as { port: number }).port
})

after(async () => {
  await new Promise<void>(resolve => busy?.close(() => resolve()))
  await rm(dir, { recursive: true, force: true })
})

interface Case { args: () => string[], says: RegExp }

/** `node start` with everything valid except what `extra` overrides, in its own data dir */
let n = 0
const nodeStart = (...extra: string[]): string[] =>
  ['node', 'start', '--data', join(dir, `node-${++n}`), '--registries', registries, '--listen', LISTEN, ...extra]
const missing = (): string => join(dir, 'no-such-file')

const CASES: Case[] = [
  // multiaddrs
  { args: () => nodeStart('--listen', 'tcp/4001'), says: /^whoismesh: --listen: "tcp\/4001" is not a multiaddr/ },
  { args: () => nodeStart('--listen', '/ip4/127.0.0.1/udp/4001'), says: /^whoismesh: --listen: .* has no \/tcp\/<port>/ },
  { args: () => nodeStart('--listen', '/ip4/300.0.0.1/tcp/4001'), says: /^whoismesh: --listen: "\/ip4\/300\.0\.0\.1\/tcp\/4001" is not a multiaddr/ },
  { args: () => nodeStart('--listen', ','), says: /^whoismesh: --listen needs at least one address/ },
  { args: () => nodeStart('--bootstrap', 'garbage'), says: /^whoismesh: --bootstrap: "garbage" is not a multiaddr/ },
  { args: () => nodeStart('--bootstrap', '/ip4/127.0.0.1/tcp/4001'), says: /^whoismesh: --bootstrap: .* has no \/p2p\/<peer id>; get it with `whoismesh id/ },
  { args: () => nodeStart('--bootstrap', '/ip4/127.0.0.1/tcp/4001/p2p/not-a-peer-id'), says: /^whoismesh: --bootstrap: .* has a bad peer id "not-a-peer-id"/ },
  { args: () => nodeStart('--bootstrap', `/ip4/127.0.0.1/p2p/${PEER}`), says: /^whoismesh: --bootstrap: .* has no \/tcp\/<port>/ },
  { args: () => ['metrics', '--bootstrap', '/ip4/127.0.0.1/tcp/4001', '--listen', LISTEN], says: /^whoismesh: --bootstrap: .* has no \/p2p\/<peer id>/ },
  { args: () => ['metrics', '--listen', LISTEN], says: /^whoismesh: required option '--bootstrap <multiaddrs>' not specified/ },

  // budgets
  { args: () => nodeStart('--budget', 'arni=10'), says: /^whoismesh: --budget: unknown registry "arni"/ },
  { args: () => nodeStart('--budget', 'arin=0'), says: /^whoismesh: --budget: budget "arin=0" must be greater than zero/ },
  { args: () => nodeStart('--budget', 'arin=-5'), says: /^whoismesh: --budget: bad budget "arin=-5"/ },
  { args: () => nodeStart('--budget', 'lacnic=10/day'), says: /^whoismesh: --budget: unknown unit "\/day" in budget "lacnic=10\/day": use \/s, \/min or \/h/ },
  { args: () => nodeStart('--budget', 'arin=ten'), says: /^whoismesh: --budget: bad budget "arin=ten"/ },
  { args: () => nodeStart('--budget', '!!!'), says: /^whoismesh: --budget: bad budget "!!!"/ },
  { args: () => nodeStart('--budget', ','), says: /^whoismesh: --budget: empty budget/ },
  { args: () => ['sim', '--budget', 'all=-1'], says: /^whoismesh: --budget: bad budget "all=-1"/ },

  // registries
  { args: () => ['dump', '--data', join(dir, 'never-created'), '--registry', 'iana'], says: /^whoismesh: option '--registry <rir>' argument 'iana' is invalid\. Allowed choices are arin, ripe, apnic, lacnic, afrinic/ },

  // ports in use (a port this test holds)
  { args: () => nodeStart('--listen', `/ip4/127.0.0.1/tcp/${busyPort}`), says: /^whoismesh: --listen: cannot listen on \/ip4\/127\.0\.0\.1\/tcp\/\d+: address already in use$/ },
  { args: () => nodeStart('--listen', '/ip4/192.0.2.1/tcp/0'), says: /^whoismesh: --listen: cannot listen on \/ip4\/192\.0\.2\.1\/tcp\/0: address not available/ },
  { args: () => nodeStart('--control-port', String(busyPort)), says: /^whoismesh: --control-port: cannot listen on 127\.0\.0\.1:\d+: address already in use$/ },
  { args: () => nodeStart('--metrics-port', String(busyPort)), says: /^whoismesh: --metrics-port: .*\d+.* already in use$/ },
  { args: () => nodeStart('--control-port', '65536'), says: /^whoismesh: option '--control-port <port>' argument '65536' is invalid\. --control-port takes a port number/ },
  { args: () => ['metrics', '--bootstrap', `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, '--listen', `/ip4/127.0.0.1/tcp/${busyPort}`], says: /^whoismesh: --listen: cannot listen on .*: address already in use$/ },

  // files
  { args: () => nodeStart('--registries', missing(), '--registries-wait', '0'), says: /^whoismesh: cannot read registries file .*no-such-file: ENOENT/ },
  { args: () => nodeStart('--registries', dir), says: /^whoismesh: cannot read registries file .*: EISDIR/ },
  { args: () => nodeStart('--registries', join(dir, 'malformed.json')), says: /^whoismesh: registries file .*malformed\.json is not valid JSON/ },
  { args: () => nodeStart('--registries', join(dir, 'no-registries.json')), says: /^whoismesh: registries file .*no-registries\.json: missing "registries" object/ },
  { args: () => nodeStart('--swarm-key', missing()), says: /^whoismesh: cannot read the swarm key .*no-such-file: ENOENT/ },
  { args: () => nodeStart('--swarm-key', join(dir, 'bad.key')), says: /^whoismesh: the swarm key .*bad\.key is not a swarm key/ },
  { args: () => ['metrics', '--bootstrap', `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, '--swarm-key', missing()], says: /^whoismesh: cannot read the swarm key/ },
  { args: () => ['sample', '--sample-limit', '3', '--out', join(missing(), 'sample.txt')], says: /^whoismesh: cannot write .*sample\.txt: ENOENT/ },

  // data directories
  { args: () => ['node', 'start', '--data', join(dir, 'a-file'), '--registries', registries, '--listen', LISTEN], says: /^whoismesh: cannot open store .*a-file: the path exists but is not a directory/ },
  { args: () => ['dump', '--data', join(dir, 'never-created')], says: /^whoismesh: no data directory .*never-created/ },
  { args: () => ['dump', '--data', join(dir, 'a-file')], says: /^whoismesh: .*a-file is not a directory/ },
  { args: () => ['repair', '--data', join(dir, 'never-created')], says: /^whoismesh: cannot open store .*never-created: ENOENT/ },
  { args: () => ['repair', '--data', join(dir, 'not-a-store')], says: /^whoismesh: cannot open store .*not-a-store: no LevelDB database in it/ },

  // --sample-limit
  { args: () => nodeStart('--sample-limit', '0'), says: /^whoismesh: .*--sample-limit must be between 1 and 4706768, got 0/ },
  { args: () => nodeStart('--sample-limit', '4706769'), says: /^whoismesh: .*--sample-limit must be between 1 and 4706768/ },
  { args: () => nodeStart('--sample-limit', 'lots'), says: /^whoismesh: .*--sample-limit takes a whole number, got "lots"/ },
  { args: () => nodeStart('--sample-limit', '1.5'), says: /^whoismesh: .*--sample-limit takes a whole number, got "1\.5"/ },
  { args: () => nodeStart('--sample-limit', '-3'), says: /^whoismesh: .*--sample-limit takes a whole number, got "-3"/ },
  { args: () => ['coverage', '--data', join(dir, 'never-created'), '--sample-limit', '10k'], says: /^whoismesh: .*--sample-limit takes a whole number, got "10k"/ },
  { args: () => ['sample', '--count', '--sample-limit', '0'], says: /^whoismesh: .*--sample-limit must be between 1 and 4706768/ },

  // lookup's address
  { args: () => ['lookup', '300.1.2.3', '--data', join(dir, 'never-created')], says: /^whoismesh: .*"300\.1\.2\.3" is not an IPv4 address/ },
  { args: () => ['lookup', '1.2.3', '--data', join(dir, 'never-created')], says: /^whoismesh: .*"1\.2\.3" is not an IPv4 address/ },
  { args: () => ['lookup', '2001:db8::1', '--data', join(dir, 'never-created')], says: /^whoismesh: .*"2001:db8::1" is not an IPv4 address/ },
  { args: () => ['lookup', 'example.com', '--data', join(dir, 'never-created')], says: /^whoismesh: .*"example\.com" is not an IPv4 address/ },
  { args: () => ['lookup', '--data', join(dir, 'never-created')], says: /^whoismesh: missing required argument 'ip'/ },

  // --since
  { args: () => ['dump', '--data', join(dir, 'never-created'), '--since', 'yesterday'], says: /^whoismesh: .*--since takes a date such as 2026-11-27 .*got "yesterday"/ },
  { args: () => ['dump', '--data', join(dir, 'never-created'), '--since', '2026-13-45'], says: /^whoismesh: .*--since takes a date .*got "2026-13-45"/ },
  { args: () => ['dump', '--data', join(dir, 'never-created'), '--since', '2026-02-30'], says: /^whoismesh: .*--since takes a date .*got "2026-02-30"/ },
  { args: () => ['dump', '--data', join(dir, 'never-created'), '--since', 'March 7'], says: /^whoismesh: .*--since takes a date .*got "March 7"/ },
  { args: () => ['dump', '--data', join(dir, 'never-created'), '--since', '-5'], says: /^whoismesh: .*--since takes a date .*got "-5"/ },

  // other flags and commands
  { args: () => ['dump', '--data', join(dir, 'never-created'), '--format', 'xml'], says: /^whoismesh: option '--format <format>' argument 'xml' is invalid/ },
  { args: () => ['sim', '--latency-ms', 'fast'], says: /^whoismesh: --latency-ms: "fast" is not N or MIN-MAX/ },
  { args: () => ['sim', '--faults', 'reset,explode'], says: /^whoismesh: --faults: unknown fault "explode"/ },
  { args: () => nodeStart('--heartbeat-ms', '0'), says: /^whoismesh: .*--heartbeat-ms must be between 1 and/ },
  { args: () => ['frobnicate'], says: /^whoismesh: unknown command 'frobnicate'/ },
  { args: () => ['dump', '--data', join(dir, 'never-created'), '--nonsense'], says: /^whoismesh: unknown option '--nonsense'/ }
]

/** runs `fn` over `items`, `width` at a time */
async function pool<T> (items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++])
  }))
}

test('every bad operator input prints one whoismesh: line naming what is wrong and exits 2, never a stack trace', async () => {
  const failures: string[] = []
  await pool(CASES, 2, async c => {
    const args = c.args()
    const what = `whoismesh ${args.join(' ')}`
    const r = await runCli(args, { timeoutMs: 120_000 })
    const lines = r.stderr.split('\n').filter(l => l.trim() !== '')
    const problems = [
      r.code !== 2 && `exited ${String(r.code)}${r.signal != null ? ` (${r.signal})` : ''}, not 2`,
      lines.length !== 1 && `printed ${lines.length} lines on stderr, not 1`,
      !c.says.test(lines[0] ?? '') && `does not match ${String(c.says)}`,
      /^\s+at /m.test(r.stderr) && 'printed a stack trace',
      /internal error/.test(r.stderr) && 'called it an internal error'
    ].filter(p => p !== false)
    if (problems.length > 0) failures.push(`${what}: ${problems.join('; ')}\n    stderr: ${r.stderr.trim().split('\n').join('\n            ')}`)
  })
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`)
  await recordFigures({
    scenario: '8-operator-input',
    title: 'Bad operator input',
    injected: 'bad multiaddrs (--listen, --bootstrap without or with a bad /p2p id), bad budgets, unknown registries, ports in use (--listen, --control-port, --metrics-port), missing and malformed files (--registries, --swarm-key), bad --sample-limit, addresses, dates, flags',
    checked: 'each: exit 2, exactly one stderr line starting `whoismesh:` that names the problem, no stack trace, no "internal error"',
    figures: { cases: CASES.length, 'cases with one clear line and exit 2': CASES.length - failures.length, 'stack traces': 0 }
  })
})
