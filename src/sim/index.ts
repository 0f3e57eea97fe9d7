/**
 * The registry simulator: the five RIRs' RDAP and WHOIS services on loopback, answering from a
 * world built from real data, with the registries' budgets, bans, redirects and formats.
 *
 * ```ts
 * const sim = await startSimulator({ budgetPerSecond: 'all=200' })
 * await writeRegistriesFile(sim, 'registries.json')
 * …
 * console.log(sim.stats().registries.arin.network_answers)
 * await sim.close()
 * ```
 */
export { startSimulator, writeRegistriesFile, type Simulator, type SimulatorModules } from './simulator.js'
export {
  defaultSimulatorOptions, resolveSimulatorOptions, parseLatency, parseFaultKinds, FAULT_KINDS,
  type SimulatorOptions, type SimulatorInit, type FaultKind
} from './options.js'
export type { SimStats, RegistryStats } from './metrics.js'
export { buildWorld, buildWorldFrom, World, type WorldCounts, type WorldOptions } from './world.js'
export { describeNetwork, identityOf, type SimNetwork } from './records.js'
export { SimulatorOptionsError, DatasetError } from './errors.js'
