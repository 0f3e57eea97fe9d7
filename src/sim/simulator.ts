/**
 * The registry simulator: for each of the five RIRs an RDAP (HTTP) server and a WHOIS (TCP)
 * server on loopback, all answering from one World, plus a control server with `GET /stats`.
 */
import { rename, unlink, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo, Server as NetServer } from 'node:net'
import type { RegistriesFile } from '../registry/endpoints.js'
import { REGISTRY_IDS, type RegistryEndpoints, type RegistryId } from '../registry/interface.js'
import { SimContext } from './context.js'
import { createControlServer } from './control-server.js'
import type { SimStats } from './metrics.js'
import {
  parseFaultsUpdate, parseStormRequest, resolveSimulatorOptions, type SimulatorInit, type SimulatorOptions
} from './options.js'
import { createRdapServer } from './rdap-server.js'
import { createWhoisServer } from './whois-server.js'
import { buildWorld, type World } from './world.js'
import { NestedWorld } from './nested.js'
import { nestParamsWithDensity } from './nested-params.js'
import { flatView, nestedView } from './responder.js'
import { truthFor } from './truth.js'
import { tryParseIPv4 } from '../util/ipv4.js'
import { DELEGATION_FILE_NAMES, formatDelegations } from '../registry/delegations.js'
import { createDumpSet, dumpUrls, type DumpSet } from './dumps.js'

export interface SimulatorModules {
  /** a world already built (tests share one); built from the datasets when absent */
  world?: World
  /** a nested world already built on `world` (used when the options say `world: 'nested'`) */
  nested?: NestedWorld
}

export interface Simulator {
  /** the options in force (defaults filled in) */
  readonly opts: SimulatorOptions
  readonly world: World
  /** the nested world the servers answer from, when `opts.world` is `nested` */
  readonly nested: NestedWorld | undefined
  /** what `--registries-out` writes (src/registry/endpoints.ts format) */
  readonly registriesFile: RegistriesFile
  /** the same endpoints in the form the lookup clients take */
  readonly endpoints: RegistryEndpoints
  /** `http://host:port/stats` */
  readonly statsUrl: string
  stats: () => SimStats
  /** zeroes the counters; with `limits`, also refills every budget and lifts every ban */
  reset: (limits?: boolean) => void
  /**
   * Changes the fault plan while running, as `POST /faults` does: any of `rate`, `kinds`,
   * `registries` (the ones whose answers may fail; "all"), `hugeBytes`, `hangMs`. Returns the plan
   * in force. Throws SimulatorOptionsError naming a bad field.
   */
  setFaults: (body: FaultsBody) => SimStats['fault_plan']
  /**
   * Starts a storm, as `POST /storm` does: for `ms`, every query of `registries` (default all) is
   * refused — `mode` "rate-limit": 429 with `retryAfterSeconds` (default 1); "ban": every client
   * banned until the storm ends. `ms: 0` ends the storms there. Throws SimulatorOptionsError.
   */
  storm: (body: StormBody) => SimStats['fault_plan']
  /** the database dumps RIPE NCC, APNIC and AFRINIC publish (`GET /dumps/<file>`; `build` makes them now) */
  readonly dumps: Pick<DumpSet, 'build'>
  /** stops every server and destroys every open connection */
  close: () => Promise<void>
}

/** Body of `POST /faults` (every field optional). */
export interface FaultsBody {
  rate?: number
  kinds?: string[] | string
  registries?: string[] | string
  hugeBytes?: number
  hangMs?: number
}

/** Body of `POST /storm`. */
export interface StormBody {
  mode?: 'rate-limit' | 'ban'
  ms: number
  registries?: string[] | string
  retryAfterSeconds?: number
}

function urlHost (host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

async function listen (server: Server | NetServer, host: string, port: number): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const onError = (err: Error): void => reject(err)
    server.once('error', onError)
    server.listen({ host, port }, () => {
      server.off('error', onError)
      server.on('error', () => {})
      resolve((server.address() as AddressInfo).port)
    })
  })
}

async function closeServer (server: Server | NetServer): Promise<void> {
  if (!server.listening) return
  await new Promise<void>(resolve => server.close(() => resolve()))
}

/** Starts every server; resolves once all of them listen. */
export async function startSimulator (init: SimulatorInit = {}, modules: SimulatorModules = {}): Promise<Simulator> {
  const opts = resolveSimulatorOptions(init)
  const world = modules.nested?.world ?? modules.world ?? await buildWorld({ transferRate: opts.transferRate })
  const nested = opts.world === 'nested' ? (modules.nested ?? new NestedWorld(world, opts.worldSeed, nestParamsWithDensity(opts.leafDensity))) : undefined
  const view = nested !== undefined ? nestedView(nested) : flatView(world)
  const ctx = new SimContext(world, opts, view)
  const startedAt = performance.now()

  const stats = (): SimStats => ({
    ...ctx.metrics.snapshot(),
    fault_plan: ctx.faultPlanState(),
    banned_clients: Object.fromEntries(REGISTRY_IDS.map(id => [id, ctx.gates[id].bannedCount() + ctx.stormBanned(id)])) as Record<RegistryId, number>,
    uptime_ms: Math.round(performance.now() - startedAt),
    world: {
      networks: world.counts.networks,
      ranges: world.counts.ranges,
      gaps: world.counts.gaps,
      transferred: world.counts.transferred,
      ...(nested !== undefined ? { kind: 'nested' as const, allocations: nested.count } : {})
    }
  })
  const reset = (limits = false): void => {
    ctx.metrics.reset()
    if (limits) for (const id of REGISTRY_IDS) ctx.gates[id].reset()
  }

  const setFaults = (body: FaultsBody): SimStats['fault_plan'] => {
    ctx.setFaults(parseFaultsUpdate(body))
    return ctx.faultPlanState()
  }
  const storm = (body: StormBody): SimStats['fault_plan'] => {
    ctx.storm(parseStormRequest(body))
    return ctx.faultPlanState()
  }

  const servers: Array<Server | NetServer> = []
  // the world never changes while the simulator runs: one serial, the dumps taken at the start
  const dumps = createDumpSet(view, DUMP_SERIAL_BASE + (opts.worldSeed & 0xffff), Date.now())
  const close = async (): Promise<void> => {
    ctx.shutdown()
    for (const s of servers) if ('closeAllConnections' in s) s.closeAllConnections()
    await Promise.all(servers.map(closeServer))
    await dumps.close()
  }

  try {
    const endpoints: Partial<RegistryEndpoints> = {}
    const files: Partial<RegistriesFile['registries']> = {}
    for (const id of REGISTRY_IDS) {
      const rdap = createRdapServer(ctx, id)
      const whois = createWhoisServer(ctx, id)
      servers.push(rdap, whois)
      const rdapPort = await listen(rdap, opts.host, opts.rdapPorts[id] ?? 0)
      const whoisPort = await listen(whois, opts.host, opts.whoisPorts[id] ?? 0)
      endpoints[id] = { rdapBaseUrl: `http://${urlHost(opts.host)}:${rdapPort}/`, whoisHost: opts.host, whoisPort }
      files[id] = { rdap: endpoints[id].rdapBaseUrl, whois: `${urlHost(opts.host)}:${whoisPort}`, budgetPerSecond: opts.budgetPerSecond[id] }
    }
    ctx.endpoints = endpoints as RegistryEndpoints
    const delegationFiles = new Map<string, string>()
    const delegations = (fileName: string): string | undefined => {
      const id = REGISTRY_IDS.find(r => fileName === `delegated-${DELEGATION_FILE_NAMES[r]}-extended-latest`)
      if (id === undefined) return undefined
      let text = delegationFiles.get(id)
      if (text === undefined) {
        text = formatDelegations(id, nested !== undefined ? allocationsOf(nested, id) : delegationsOf(world, id))
        delegationFiles.set(id, text)
      }
      return text
    }
    const truth = (ip: string): ReturnType<typeof truthFor> | 'bad' => {
      const address = tryParseIPv4(ip)
      return address === undefined ? 'bad' : truthFor(view, address)
    }
    const control = createControlServer(ctx, { stats, reset, faults: setFaults, storm, plan: () => ctx.faultPlanState(), delegations, truth, dumps: dumps.serve })
    servers.push(control)
    const controlPort = await listen(control, opts.host, opts.controlPort)
    const statsUrl = `http://${urlHost(opts.host)}:${controlPort}/stats`
    const controlBase = `http://${urlHost(opts.host)}:${controlPort}`
    for (const id of REGISTRY_IDS) {
      files[id]!.delegations = `${controlBase}/delegated-${DELEGATION_FILE_NAMES[id]}-extended-latest`
      const bulk = dumpUrls(id, controlBase)
      if (bulk !== undefined) files[id]!.bulk = bulk
    }
    const registriesFile: RegistriesFile = {
      version: 1,
      registries: files as RegistriesFile['registries'],
      stats: statsUrl
    }
    return { opts, world, nested, registriesFile, endpoints: ctx.endpoints, statsUrl, stats, reset, setFaults, storm, dumps, close }
  } catch (err) {
    await close()
    throw err
  }
}

/** The serial of the simulated databases' dumps: a real RIPE NCC serial's order of magnitude, plus the seed's low bits. */
const DUMP_SERIAL_BASE = 40_000_000

/**
 * Writes the simulator's registries file to `path` atomically (a temporary file renamed over it),
 * so a node polling for the file never reads it half-written. Call it after startSimulator has
 * resolved, when every server listens.
 */
export async function writeRegistriesFile (sim: Pick<Simulator, 'registriesFile'>, path: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now().toString(36)}.tmp`
  try {
    await writeFile(tmp, `${JSON.stringify(sim.registriesFile, null, 2)}\n`, { mode: 0o644 })
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}

/**
 * What registry `id` would publish about the world: its networks, adjacent ones merged into one
 * block (a real file lists allocations, each holding many networks), in address order.
 */
export function delegationsOf (world: World, id: RegistryId): Array<{ start: number, count: number }> {
  const out: Array<{ start: number, count: number }> = []
  const owner = REGISTRY_IDS.indexOf(id)
  for (let i = 0; i < world.count; i++) {
    if (world.owner[i] !== owner) continue
    const last = out[out.length - 1]
    if (last !== undefined && last.start + last.count === world.start[i]) last.count += world.end[i] - world.start[i] + 1
    else out.push({ start: world.start[i], count: world.end[i] - world.start[i] + 1 })
  }
  return out
}

/**
 * What registry `id` publishes about the nested world: its RIR-level allocations and assignments
 * only (never the sub-allocations and customer blocks below them), one line each, in address order.
 */
export function allocationsOf (nested: NestedWorld, id: RegistryId): Array<{ start: number, count: number }> {
  const out: Array<{ start: number, count: number }> = []
  for (let a = 0; a < nested.count; a++) {
    if (nested.ownerOf(a) === id) out.push({ start: nested.start[a], count: nested.end[a] - nested.start[a] + 1 })
  }
  return out
}
