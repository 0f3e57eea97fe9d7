/**
 * A fleet of real `whoismesh node start` processes on loopback, for mesh tests and benches.
 * Each node logs JSON lines on stderr; the harness parses them and resolves waits on events.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator, writeRegistriesFile, type Simulator, type SimulatorInit } from '../../src/sim/index.js'
import { BIN } from './cli.js'

export interface FleetNode {
  name: string
  data: string
  child: ChildProcess
  /** parsed JSON log lines */
  logs: Array<Record<string, any>>
  /** resolves with the exit code (or null when killed) */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  peerId?: string
  listen?: string[]
  stderrTail: string
}

export interface StartNodeOptions {
  dir: string
  name: string
  registries: string
  sampleLimit: number
  bootstrap?: string[]
  heartbeatMs?: number
  exitWhenDone?: boolean
  extraArgs?: string[]
  /** default /ip4/127.0.0.1/tcp/0 */
  listen?: string
  /** starts the process (default: spawn directly); e.g. inside a network namespace (test/faults/lab.ts) */
  spawnProcess?: (cmd: string, args: string[]) => ChildProcess
}

export function startNode (o: StartNodeOptions): FleetNode {
  const data = join(o.dir, o.name)
  const args = [
    BIN, 'node', 'start', '--data', data, '--registries', o.registries,
    '--sample-limit', String(o.sampleLimit), '--listen', o.listen ?? '/ip4/127.0.0.1/tcp/0',
    '--heartbeat-ms', String(o.heartbeatMs ?? 1000), '--log-format', 'json', '--status-interval', '5',
    ...(o.bootstrap != null && o.bootstrap.length > 0 ? ['--bootstrap', o.bootstrap.join(',')] : []),
    ...(o.exitWhenDone === true ? ['--exit-when-done'] : []),
    ...(o.extraArgs ?? [])
  ]
  const child = o.spawnProcess != null
    ? o.spawnProcess(process.execPath, args)
    : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const node: FleetNode = {
    name: o.name,
    data,
    child,
    logs: [],
    stderrTail: '',
    exited: new Promise(resolve => child.on('close', (code, signal) => resolve({ code, signal })))
  }
  let buf = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    node.stderrTail = (node.stderrTail + d).slice(-6000)
    buf += d
    let i: number
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      if (!line.startsWith('{')) continue
      try {
        const entry = JSON.parse(line)
        node.logs.push(entry)
        if (entry.msg === 'node ready') { node.peerId = entry.peerId; node.listen = entry.listen }
      } catch { /* not a log line */ }
    }
  })
  return node
}

/** Resolves when the node has logged a line with `msg` (or one of them), rejects if it exits first or after timeoutMs. */
export async function waitForLog (node: FleetNode, msg: string | string[], timeoutMs: number): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void node.exited.then(() => { exited = true })
  const msgs = Array.isArray(msg) ? msg : [msg]
  for (;;) {
    const hit = node.logs.find(l => msgs.includes(l.msg))
    if (hit != null) return hit
    if (exited) throw new Error(`${node.name} exited before logging "${msgs.join('" or "')}": ${node.stderrTail.slice(-1500)}`)
    if (Date.now() > deadline) throw new Error(`${node.name} did not log "${msgs.join('" or "')}" within ${timeoutMs} ms: ${node.stderrTail.slice(-1500)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** Kills every node still running (SIGKILL) and waits for them. */
export async function killAll (nodes: FleetNode[]): Promise<void> {
  for (const n of nodes) if (n.child.exitCode == null && n.child.signalCode == null) n.child.kill('SIGKILL')
  await Promise.all(nodes.map(async n => await n.exited))
}

/** A test file's simulator, in a temp dir with its registries file (what `startNode` is given). */
export interface FleetFixture { dir: string, sim: Simulator, registries: string }

/** Starts a simulator with `init` and writes its registries file into a new temp dir named `prefix…` (a test file's `before`). */
export async function openFleetFixture (prefix: string, init: SimulatorInit): Promise<FleetFixture> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  const sim = await startSimulator(init)
  const registries = join(dir, 'registries.json')
  await writeRegistriesFile(sim, registries)
  return { dir, sim, registries }
}

/** Kills `nodes`, closes the simulator and removes the dir (a test file's `after`; parts never opened are passed over). */
export async function closeFleetFixture (f: Partial<FleetFixture>, nodes: FleetNode[]): Promise<void> {
  await killAll(nodes)
  await f.sim?.close()
  if (f.dir !== undefined) await rm(f.dir, { recursive: true, force: true })
}
