import { readFile, unlink } from 'node:fs/promises'
import { startSimulator, writeRegistriesFile, parseLatency, parseFaultKinds, parseWorldKind } from '../../sim/index.js'
import { DEFAULT_BUDGETS, parseBudgets } from '../../registry/budget.js'
import { UserError } from '../errors.js'
import { budgetFlag } from '../options.js'

export interface SimCommandOptions {
  registriesOut?: string
  budget?: string
  host: string
  controlPort: number
  latencyMs?: string
  faultRate: number
  faults?: string
  banMs?: number
  hugeBytes?: number
  hangMs?: number
  world?: string
  leafDensity?: number
}

/** Runs a parser of the simulator's options, naming the command-line flag in its error. */
function flag<T> (name: string, parse: () => T): T {
  try {
    return parse()
  } catch (err: any) {
    throw new UserError(`${name}: ${String(err.message).replace(/^\w+: /, '')}`)
  }
}

export async function runSim (o: SimCommandOptions): Promise<void> {
  const budgets = o.budget != null ? budgetFlag(() => parseBudgets(o.budget!, DEFAULT_BUDGETS)) : undefined
  const latencyMs = o.latencyMs != null ? flag('--latency-ms', () => parseLatency(o.latencyMs!)) : undefined
  const faultKinds = o.faults != null ? flag('--faults', () => parseFaultKinds(o.faults!)) : undefined
  const world = o.world != null ? flag('--world', () => parseWorldKind(o.world!)) : undefined
  // listen for the stop signals before the file exists: a SIGTERM between writing it and
  // listening would kill the process with its file left behind
  let stopRequested = false
  const stopped = new Promise<void>(resolve => {
    const stop = (): void => { stopRequested = true; resolve() }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  process.stderr.write('whoismesh sim: building the simulated registry world…\n')
  const sim = await startSimulator({
    host: o.host,
    controlPort: o.controlPort,
    ...(budgets != null ? { budgetPerSecond: budgets } : {}),
    ...(latencyMs != null ? { latencyMs } : {}),
    faultRate: o.faultRate,
    ...(faultKinds != null ? { faultKinds } : {}),
    ...(o.banMs != null ? { banMs: o.banMs } : {}),
    ...(o.hugeBytes != null ? { hugeBytes: o.hugeBytes } : {}),
    ...(o.hangMs != null ? { hangMs: o.hangMs } : {}),
    ...(world != null ? { world } : {}),
    ...(o.leafDensity != null ? { leafDensity: flag('--leaf-density', () => { if (!(o.leafDensity! > 0)) throw new Error('must be above 0'); return o.leafDensity! }) } : {})
  })
  if (o.registriesOut != null && !stopRequested) await writeRegistriesFile(sim, o.registriesOut)
  process.stderr.write(`whoismesh sim: listening; stats at ${sim.registriesFile.stats ?? '-'}${o.registriesOut != null ? `; registries written to ${o.registriesOut}` : ''}\n`)
  if (o.registriesOut == null) process.stdout.write(JSON.stringify(sim.registriesFile) + '\n')
  await stopped
  const stats = sim.stats()
  await sim.close()
  // a file left behind would send the next node to ports nothing listens on
  if (o.registriesOut != null) await removeRegistriesFile(o.registriesOut, sim.registriesFile)
  process.stdout.write(JSON.stringify(stats) + '\n')
}

/** Removes the registries file this simulator wrote, unless another one has replaced it since. */
async function removeRegistriesFile (path: string, ours: object): Promise<void> {
  try {
    if (JSON.stringify(JSON.parse(await readFile(path, 'utf8'))) === JSON.stringify(ours)) await unlink(path)
  } catch {} // gone already, or not ours any more
}
