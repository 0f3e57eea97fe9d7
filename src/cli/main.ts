/**
 * The `whoismesh` command line. Each command validates its flags where they enter (naming the bad
 * one) and hands plain options to the concept that does the work.
 */
import { Command, CommanderError, Option } from 'commander'
import { reportError } from './errors.js'
import { sampleLimit, positiveInt, nonNegativeInt, port, nonNegativeNumber, ipv4Argument, sinceArgument, listenAddress } from './options.js'
import { runSample } from './commands/sample.js'
import { REGISTRY_IDS } from '../registry/interface.js'
import { DUMP_FORMATS } from '../report/dump.js'
import { EXPORT_FORMATS } from '../export/interface.js'
import { VERSION } from '../version.js'
import { defaultNodeOptions } from '../node/options.js'
import { SERVE_PACE_DEFAULTS } from '../serve/pace.js'

// the other commands are loaded when they run, so that a usage error, --help, dump or lookup do not
// wait for libp2p to load (about two seconds)
const sim = async () => await import('./commands/sim.js')
const nodeStart = async () => await import('./commands/node-start.js')
const read = async () => await import('./commands/read.js')
const id = async () => await import('./commands/id.js')
const metrics = async () => await import('./commands/metrics.js')
const repair = async () => await import('./commands/repair.js')
const importCmd = async () => await import('./commands/import.js')
const distrust = async () => await import('./commands/distrust.js')

const DEFAULT_DATA = defaultNodeOptions.dataDir

/**
 * The exit code a command asks for when it returns normally (docs/operating.md, "Exit codes"):
 * 0 done, 3 given up. Errors map to theirs in errors.ts (2 a user mistake, 1 a bug).
 */
export interface CommandOutcome { exitCode: number }

export function buildProgram (outcome: CommandOutcome = { exitCode: 0 }): Command {
  const program = new Command('whoismesh')
    .description('Peer-to-peer crawler of the WHOIS/RDAP networks covering the IPv4 space')
    .version(VERSION)
    .exitOverride()
    // a usage error is one line: "whoismesh: <what is wrong> (run with --help for usage)"
    .configureOutput({
      writeErr: s => process.stderr.write(s.startsWith('error:') ? `whoismesh: ${s}` : s),
      outputError: (s, write) => write(`whoismesh: ${s.replace(/^error: /, '').trimEnd()} (run with --help for usage)\n`)
    })

  program.command('sample')
    .description('the 4,706,768-address IPv4 sample, in its shuffled crawl order')
    .option('--count', 'print only the number of addresses')
    .option('--out <file>', 'write one address per line to FILE (default: standard output)')
    .option('--sample-limit <n>', 'only the first N addresses of the shuffled order', sampleLimit)
    .action(async (o) => { await runSample(o) })

  program.command('sim')
    .description('run the registry simulator (RDAP + WHOIS servers for the five RIRs) on loopback until killed')
    .option('--registries-out <file>', 'write the registries JSON for `node start --registries` here once every server listens (atomically; removed when the simulator exits)')
    .option('--budget <spec>', 'global budget per registry, e.g. all=200 or arin=10,lacnic=10/min')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--control-port <port>', 'port of the control server (GET /stats); 0 = any', port('--control-port'), 0)
    .option('--latency-ms <ms>', 'added answer latency in ms, or a range MIN-MAX')
    .option('--fault-rate <p>', 'share of answers (0–1) replaced by a fault', nonNegativeNumber('--fault-rate', 1), 0)
    .option('--faults <kinds>', 'fault kinds to inject, comma-separated: timeout,reset,truncated,malformed,huge')
    .option('--ban-ms <ms>', 'how long a client that keeps exceeding the budget is banned', positiveInt('--ban-ms'))
    .option('--huge-bytes <n>', 'size of a "huge" fault answer, streamed (default 100 MiB)', positiveInt('--huge-bytes'))
    .option('--hang-ms <ms>', 'how long a "timeout" fault holds the connection before dropping it (default 60000)', positiveInt('--hang-ms'))
    .option('--world <kind>', 'flat (every address in one network) or nested (the registries\' trees: allocations, sub-allocations, assignments)', 'nested')
    .option('--leaf-density <share>', 'nested world: share (0–1] of the calibrated customer assignments generated; 1 = the real registries\' shape (RIPE NCC\'s dump 4.2 million objects)', nonNegativeNumber('--leaf-density', 1), 1)
    .action(async (o) => { await (await sim()).runSim(o) })

  const node = program.command('node').description('run a crawler node')
  node.command('start')
    .description('start a node: crawl its share of the sample into the data directory')
    .option('--data <dir>', 'data directory (LevelDB index, node key, control file)', DEFAULT_DATA)
    .option('--listen <multiaddrs>', 'comma-separated libp2p addresses to listen on', defaultNodeOptions.mesh.listen.join(','))
    .option('--bootstrap <multiaddrs>', 'comma-separated peers to join, e.g. /ip4/10.0.0.1/tcp/4001/p2p/<id> (see `whoismesh id`)')
    .option('--swarm-key <file>', 'the fleet\'s private-network key (see `whoismesh swarm-key`): only peers holding it can connect')
    .option('--heartbeat-ms <ms>', 'interval of the metrics heartbeat', positiveInt('--heartbeat-ms'), defaultNodeOptions.mesh.heartbeatIntervalMs)
    .option('--registries <file|sim>', 'registries JSON (e.g. from `whoismesh sim --registries-out`), or `sim`: start the bundled registry simulator inside this node (with its --budget; a file named sim is ./sim); default: the real RIRs')
    .option('--registries-wait <s>', 'seconds to wait for a --registries file that does not exist yet (the simulator writes it once its servers listen); 0 = do not wait', nonNegativeNumber('--registries-wait', 3600), 60)
    .option('--delegations <source>', 'route each address to the registry holding it by the RIRs\' delegation files: auto (fetched from the registries, cached a day in the data directory), off (by the IANA /8 table; transferred space costs a redirect), or a local file in that format', 'auto')
    .option('--bulk <source>', 'use the registries\' public database dumps (RIPE NCC, APNIC, AFRINIC), so their space is answered without a lookup: auto (fetched from the registries — or the simulator — when their serial changed), off, or a directory holding the files under the registries\' names (ripe.db.inetnum.gz, ripe.db.organisation.gz, RIPE.CURRENTSERIAL, apnic.db.…, afrinic.db.gz)', 'off')
    .option('--budget <spec>', 'the whole fleet\'s requests per second per registry (give every node the same), e.g. arin=10,ripe=10,apnic=10,lacnic=10/min,afrinic=1 (default: those, or the budgets in --registries)')
    .option('--sample-limit <n>', 'crawl only the first N addresses of the shuffled sample', sampleLimit)
    .option('--exit-when-done', 'exit once every sample address is resolved (0) or given up on (3)')
    .addOption(new Option('--resolve <rule>', 'when an address counts as done: exact (the registry\'s own answer for it is known; containers are listed where the registry allows) or covered (inside any known network: fewer lookups, coarse where networks nest)').choices(['exact', 'covered']).default(defaultNodeOptions.resolve))
    .option('--contact <email-or-url>', 'operator contact sent in the User-Agent, as registries ask of bulk clients')
    .option('--concurrency <n>', 'lookups in flight per registry', positiveInt('--concurrency', 64), defaultNodeOptions.maxInFlightPerRegistry)
    .option('--timeout-ms <ms>', 'timeout of one registry request', positiveInt('--timeout-ms'), defaultNodeOptions.timeoutMs)
    .option('--give-up-unreachable <s>', 'with --exit-when-done: seconds a registry may stay unreachable (name not resolved, connection refused, no answer) before its addresses are given up on for this run (exit 3); without it a node keeps probing such a registry', nonNegativeNumber('--give-up-unreachable', 86_400), 300)
    .option('--peer-stall <s>', 'seconds a peer that owns open sample addresses may go without a record of its own arriving before its share of the sample goes to the others (it comes back with its next record)', positiveInt('--peer-stall', 86_400), defaultNodeOptions.peerStallMs / 1000)
    .option('--audit-share <fraction>', 'audits per lookup: the share of this node\'s lookups that asks the registries again about records peers published (a peer they contradict is audited more); 0 = none', nonNegativeNumber('--audit-share', 0.5), defaultNodeOptions.auditShare)
    .option('--audit-distrust <n>', 'distrust a peer (as `whoismesh distrust` does) once the registries contradicted this many of its records; 0 = never', nonNegativeInt('--audit-distrust', 1000), defaultNodeOptions.auditDistrust)
    .option('--retry-failed-after <s>', 'seconds before an address given up on is asked again while the node runs, doubling per round up to an hour (with --exit-when-done: one round); 0 = only at the next start', nonNegativeNumber('--retry-failed-after', 86_400), 600)
    .option('--control-port <port>', 'loopback port for dump/lookup/coverage while running; 0 = any', port('--control-port'), defaultNodeOptions.controlPort)
    .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:PORT/metrics', port('--metrics-port'))
    .option('--serve-whois <[addr:]port>', 'answer WHOIS clients (port 43 protocol; bulk mode: begin/verbose/…/end) from this node\'s replica; PORT alone listens on 127.0.0.1, 0.0.0.0:PORT on every address', listenAddress('--serve-whois'))
    .option('--serve-rdap <[addr:]port>', 'answer RDAP clients (GET /ip/ADDRESS, /ip/PREFIX/LEN) from this node\'s replica; PORT alone listens on 127.0.0.1, 0.0.0.0:PORT on every address', listenAddress('--serve-rdap'))
    .option('--serve-share <share>', `with --serve-whois/--serve-rdap: the services answer while the node's event loop is busy less than this share of the time (0–1), so that the crawl keeps its pace; 1 = answer as fast as they can`, nonNegativeNumber('--serve-share', 1), SERVE_PACE_DEFAULTS.maxBusy)
    .option('--status-interval <s>', 'seconds between progress log lines when stderr is not a terminal (on a terminal: a live status line, refreshed every second)', positiveInt('--status-interval'), 10)
    .addOption(new Option('--log-format <format>', 'log line format').choices(['json', 'pretty']))
    .option('--quiet', 'only warnings and errors')
    .option('--verbose', 'debug logs (every stored network)')
    .action(async (o) => { outcome.exitCode = await (await nodeStart()).runNodeStart(o) })

  program.command('metrics')
    .description('join the mesh as a light peer (crawls nothing) and print the nodes\' heartbeats')
    .requiredOption('--bootstrap <multiaddrs>', 'comma-separated peers of the fleet, with /p2p/<id>')
    .option('--swarm-key <file>', 'the fleet\'s private-network key, when it has one')
    .option('--follow', 'keep printing: one JSON line per heartbeat (or a refreshed table)')
    .option('--table', 'a cluster summary table instead of JSON lines')
    .option('--listen <multiaddrs>', 'where this light peer listens', '/ip4/0.0.0.0/tcp/0')
    .option('--wait-ms <ms>', 'without --follow: how long to collect heartbeats before printing', positiveInt('--wait-ms'), 5000)
    .action(async (o) => { outcome.exitCode = await (await metrics()).runMetrics(o) })

  program.command('id')
    .description("print this node's libp2p peer id (first line), creating its key in the data directory if needed")
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .action(async (o) => { await (await id()).runId(o) })

  program.command('swarm-key')
    .description('make a new private-network key for a fleet (give every node the same file with --swarm-key)')
    .option('--out <file>', 'write it to FILE (mode 0600; refuses to overwrite) instead of standard output')
    .action(async (o) => { await (await id()).runSwarmKey(o) })

  program.command('repair')
    .description('repair a damaged data directory in place (stop its node first): LevelDB\'s repair, then every record checked and the derived headers rebuilt; the node re-fetches or re-syncs what was dropped')
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .action(async (o) => { await (await repair()).runRepair(o) })

  program.command('import')
    .description('import registries\' database dumps into a stopped node\'s data directory, so their space is answered without a lookup (files as the registries name them: ripe.db.inetnum.gz ripe.db.organisation.gz RIPE.CURRENTSERIAL, apnic.db.…, afrinic.db.gz)')
    .argument('[files...]', 'dump files (gzip or plain RPSL) and optionally each registry\'s CURRENTSERIAL file')
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .option('--serial <n>', 'the dumps\' serial, when no CURRENTSERIAL file is given', nonNegativeInt('--serial', Number.MAX_SAFE_INTEGER))
    .option('--remove <registry>', 'drop a registry\'s imported dump instead (ripe, apnic or afrinic): its space is crawled again')
    .action(async (files: string[], o) => { outcome.exitCode = await (await importCmd()).runImport(files, o) })

  program.command('distrust')
    .description('drop every record these peers authored and refuse their records and messages from now on (works while the node runs; run it on every node); without peers: list the distrusted ones')
    .argument('[peers...]', 'peer ids (as `whoismesh id` prints them)')
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .option('--undo', 'trust these peers again')
    .action(async (peers: string[], o) => { await (await distrust()).runDistrust(peers, o) })

  program.command('serve')
    .description('answer WHOIS and RDAP clients from a stopped node\'s data directory, until stopped (a running node serves with node start --serve-whois/--serve-rdap)')
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .option('--whois <[addr:]port>', 'port-43 WHOIS service (bulk mode: begin/verbose/…/end); PORT alone listens on 127.0.0.1, 0.0.0.0:PORT on every address', listenAddress('--whois'))
    .option('--rdap <[addr:]port>', 'RDAP service (GET /ip/ADDRESS, /ip/PREFIX/LEN, RFC 9082/9083); PORT alone listens on 127.0.0.1', listenAddress('--rdap'))
    .addOption(new Option('--log-format <format>', 'log line format').choices(['json', 'pretty']))
    .action(async (o) => { outcome.exitCode = await (await import('./commands/serve.js')).runServe(o) })

  program.command('dump')
    .description("print the node's networks, one per line (works while the node runs)")
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .addOption(new Option('--format <format>', 'jsonl or csv: one network per line; mmdb: a MaxMind DB file answering each IPv4 address with its most specific network (for mmdblookup and the MaxMind DB readers); parquet: typed columns (for DuckDB, pandas…); mmdb and parquet need --out').choices([...DUMP_FORMATS, ...EXPORT_FORMATS]).default('jsonl'))
    .option('--out <file>', 'write to FILE instead of standard output, through a temporary file renamed once complete (a failure leaves nothing half-written); prints a JSON summary on standard error')
    .addOption(new Option('--registry <rir>', 'only networks of this registry').choices(REGISTRY_IDS as unknown as string[]))
    .option('--since <date>', 'only networks fetched at or after this time (ISO date)', sinceArgument)
    .action(async (o) => { await (await read()).runDump(o) })

  program.command('merge')
    .description('merge JSONL dumps of several nodes into one, one network per range (what ansible/collect.yml does)')
    .argument('<files...>', 'dump files (`whoismesh dump` JSONL)')
    .option('--out <file>', 'write the merged dump to FILE (default: standard output)')
    .action(async (files: string[], o) => { await (await read()).runMerge(files, o) })

  program.command('lookup')
    .description('the most specific stored network containing an address, and its parents; `lookup -`: every address on standard input, one answer line each')
    .argument('<ip>', 'IPv4 address, or - to read addresses from standard input, one per line', (v: string) => v === '-' ? '-' : ipv4Argument(v))
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .option('--json', 'print JSON (with -: JSON lines, the default)')
    .addOption(new Option('--format <format>', 'with -: JSON lines, or CSV with a header').choices(DUMP_FORMATS as string[]))
    .option('--stats', 'with -: print counts and timings as one JSON line on standard error')
    .addHelpText('after', `
With -, each input line gets one output line, in order: the address, status (network,
unallocated, special-purpose, unknown, or invalid for a line that is not an IPv4 address), exact,
in_sample, special, and the most specific network's fields as \`dump\` prints them — not its
parents (\`lookup <ip>\` shows those). Blank lines and lines starting with # are skipped. The
answers are those \`lookup <ip> --json\` gives. Exit code 2 (and a line on standard error) when
a line was invalid; its answer line says so and the other lines are answered all the same.
  whoismesh lookup - < addresses.txt > answers.jsonl
  cut -d' ' -f1 access.log | whoismesh lookup - --format csv > owners.csv`)
    .action(async (ip: number | '-', o) => { outcome.exitCode = await (await read()).runLookup(ip, o) })

  program.command('coverage')
    .description('networks, addresses covered, share of IPv4 and of the sample, per registry')
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .option('--json', 'print one JSON object')
    .option('--sample-limit <n>', 'measure against the first N sample addresses (default: what the node crawls)', sampleLimit)
    .option('--png <file>', 'instead: draw IPv4 on a Hilbert curve coloured by registry into a PNG, print its totals')
    .addOption(new Option('--size <pixels>', 'side of the --png map: 4096 (1 pixel = /24), 2048 (/22), 1024 (/20), 512 (/18)').choices(['4096', '2048', '1024', '512']).default('4096'))
    .action(async (o) => {
      // the PNG encoder is loaded only for --png
      if (o.png != null) await (await import('./commands/coverage-map.js')).runCoverageMap({ ...o, size: Number(o.size) })
      else await (await read()).runCoverage(o)
    })

  return program
}

export async function main (argv: string[]): Promise<number> {
  const outcome: CommandOutcome = { exitCode: 0 }
  const program = buildProgram(outcome)
  try {
    if (argv.length <= 2) {
      program.outputHelp()
      return 0
    }
    await program.parseAsync(argv)
    // the one channel for a command's exit code: process.exitCode would be overridden by the
    // explicit process.exit below
    return outcome.exitCode
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander
      return err.exitCode === 0 ? 0 : 2
    }
    return reportError(err)
  }
}

const code = await main(process.argv)
// exit explicitly: keep-alive sockets of HTTP agents must not hold the process open
process.stdout.write('', () => process.exit(code))
