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
export { startSimulator, writeRegistriesFile, type Simulator, type SimulatorModules, type FaultsBody, type StormBody } from './simulator.js'
export {
  defaultSimulatorOptions, resolveSimulatorOptions, parseLatency, parseWorldKind, WORLD_KINDS, type WorldKind, parseFaultKinds, parseFaultsUpdate, parseStormRequest,
  FAULT_KINDS, STORM_MODES, type SimulatorOptions, type SimulatorInit, type FaultKind, type FaultsUpdate, type StormMode,
  type StormRequest
} from './options.js'
export type { SimStats, RegistryStats, FaultPlanState } from './metrics.js'
export { buildWorld, buildWorldFrom, World, type WorldCounts, type WorldOptions } from './world.js'
export { describeNetwork, identityOf, type SimNetwork } from './records.js'
export { NestedWorld, type TreeNode, type NestedCounts } from './nested.js'
export { describeNode } from './nested-records.js'
export { NEST_PARAMS, type NestParams } from './nested-params.js'
export { truthFor, type Truth } from './truth.js'
export { allocationsOf, delegationsOf } from './simulator.js'
export { SimulatorOptionsError, DatasetError } from './errors.js'
