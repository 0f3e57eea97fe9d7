import { startSimulator, writeRegistriesFile } from '../../sim/index.js'
import { DEFAULT_BUDGETS, parseBudgets } from '../../registry/budget.js'
import { UserError } from '../errors.js'

export interface SimCommandOptions {
  registriesOut?: string
  budget?: string
  host: string
  controlPort: number
  latencyMs?: string
  faultRate: number
  faults?: string
  banMs?: number
}

function parseLatency (v: string | undefined): number | [number, number] | undefined {
  if (v == null) return undefined
  const m = /^(\d+)(?:-(\d+))?$/.exec(v.trim())
  if (m == null) throw new UserError(`--latency-ms takes MS or MIN-MAX, got "${v}"`)
  if (m[2] == null) return Number(m[1])
  const lo = Number(m[1]); const hi = Number(m[2])
  if (hi < lo) throw new UserError(`--latency-ms range "${v}" has its maximum below its minimum`)
  return [lo, hi]
}

const FAULT_KINDS = ['timeout', 'reset', 'truncated', 'malformed', 'huge'] as const

function parseFaultKinds (v: string | undefined): Array<typeof FAULT_KINDS[number]> | undefined {
  if (v == null) return undefined
  const kinds = v.split(',').map(s => s.trim()).filter(s => s !== '')
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new UserError(`unknown fault kind "${k}" in --faults (expected ${FAULT_KINDS.join(', ')})`)
  }
  return kinds as Array<typeof FAULT_KINDS[number]>
}

export async function runSim (o: SimCommandOptions): Promise<void> {
  const budgets = o.budget != null ? parseBudgets(o.budget, DEFAULT_BUDGETS) : undefined
  const latencyMs = parseLatency(o.latencyMs)
  const faultKinds = parseFaultKinds(o.faults)
  process.stderr.write('whoismesh sim: building the simulated registry world…\n')
  const sim = await startSimulator({
    host: o.host,
    controlPort: o.controlPort,
    ...(budgets != null ? { budgetPerSecond: budgets } : {}),
    ...(latencyMs != null ? { latencyMs } : {}),
    faultRate: o.faultRate,
    ...(faultKinds != null ? { faultKinds } : {}),
    ...(o.banMs != null ? { banMs: o.banMs } : {})
  })
  if (o.registriesOut != null) await writeRegistriesFile(sim, o.registriesOut)
  process.stderr.write(`whoismesh sim: listening; stats at ${sim.registriesFile.stats ?? '-'}${o.registriesOut != null ? `; registries written to ${o.registriesOut}` : ''}\n`)
  if (o.registriesOut == null) process.stdout.write(JSON.stringify(sim.registriesFile) + '\n')
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  const stats = sim.stats()
  await sim.close()
  process.stdout.write(JSON.stringify(stats) + '\n')
}
