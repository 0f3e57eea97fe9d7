/**
 * Simulator options: plain data, every field with its default below. Validated where they enter
 * (resolveSimulatorOptions); each error names the bad field.
 */
import { DEFAULT_BUDGETS, parseBudgets, type Budgets } from '../registry/budget.js'
import { REGISTRY_IDS, isRegistryId, type RegistryId } from '../registry/interface.js'
import { SimulatorOptionsError } from './errors.js'

export const FAULT_KINDS = ['timeout', 'reset', 'truncated', 'malformed', 'huge'] as const
/**
 * - timeout: the server never answers (holds the connection for `hangMs`, then drops it)
 * - reset: the connection is destroyed without an answer
 * - truncated: half the answer, then the connection ends: WHOIS closes cleanly (as a server that
 *   crashed or a middlebox would; only the answer's structure tells), RDAP resets short of its
 *   Content-Length
 * - malformed: garbage instead of JSON / WHOIS text
 * - huge: an endless-looking answer of `hugeBytes`, streamed (clients must cap what they read)
 */
export type FaultKind = typeof FAULT_KINDS[number]

export interface SimulatorOptions {
  /** address every server listens on */
  host: string
  /** port of the control server (GET /stats, POST /reset); 0 = chosen by the OS */
  controlPort: number
  /** RDAP port per registry; missing or 0 = chosen by the OS */
  rdapPorts: Partial<Record<RegistryId, number>>
  /** WHOIS port per registry; missing or 0 = chosen by the OS */
  whoisPorts: Partial<Record<RegistryId, number>>
  /** queries per second each registry answers, all clients and both protocols together */
  budgetPerSecond: Budgets
  /** token-bucket depth in seconds of budget (the bucket holds at least one query) */
  burstSeconds: number
  /** over-budget queries from one client (by remote IP) within `banWindowMs` that earn a ban */
  banAfterOverBudget: number
  banWindowMs: number
  /** how long a banned client is refused everything by that registry */
  banMs: number
  /** delay before each answer: fixed, or uniformly drawn from [min, max] */
  latencyMs: number | [number, number]
  /** share (0–1) of answers replaced by a fault */
  faultRate: number
  /** the faults to draw from */
  faultKinds: FaultKind[]
  /** the registries whose answers may be replaced by a fault */
  faultRegistries: RegistryId[]
  /** seed of the fault and latency draws (the same seed and query order give the same faults) */
  seed: number
  /** size of a "huge" answer */
  hugeBytes: number
  /** how long a "timeout" fault holds the connection before dropping it */
  hangMs: number
  /** HTTP: time allowed to receive a whole request (headers included) */
  requestTimeoutMs: number
  /** HTTP keep-alive idle time; WHOIS: silence allowed before the query line arrives */
  idleTimeoutMs: number
  /** HTTP: largest request head (request line + headers) */
  maxRequestHeaderBytes: number
  /** WHOIS: longest query line */
  maxQueryLineBytes: number
  /** simultaneous connections per server */
  maxConnections: number
  /** share (0–1) of ranges outside legacy space transferred to another RIR (world building) */
  transferRate: number
  /**
   * `flat`: today's partition, every address in exactly one network; `nested`: the registries'
   * trees (allocations above the ranges, sub-allocations and assignments below; docs/simulator.md)
   */
  world: WorldKind
  /** seed of the nested world's allocations and generated networks (the same seed gives the same world) */
  worldSeed: number
  /**
   * nested world: the share (0–1] of the calibrated customer assignments generated (scales each
   * registry's `used24Share`, nested-params.ts). 1 is the real registries' shape (RIPE NCC's dump
   * 4.2 million objects); tests that import whole dumps use a sparse world (0.02: ~10× fewer objects)
   */
  leafDensity: number
}

export const WORLD_KINDS = ['flat', 'nested'] as const
export type WorldKind = typeof WORLD_KINDS[number]

export const defaultSimulatorOptions: SimulatorOptions = {
  host: '127.0.0.1',
  controlPort: 0,
  rdapPorts: {},
  whoisPorts: {},
  /** the real registries' documented or observed budgets (src/registry/budget.ts) */
  budgetPerSecond: { ...DEFAULT_BUDGETS },
  /** about one second's worth */
  burstSeconds: 1,
  banAfterOverBudget: 20,
  banWindowMs: 10_000,
  /** LACNIC's documented ban: about five minutes */
  banMs: 300_000,
  latencyMs: 0,
  faultRate: 0,
  faultKinds: [...FAULT_KINDS],
  faultRegistries: [...REGISTRY_IDS],
  seed: 0x51a1,
  /** 100 MiB */
  hugeBytes: 100 * 1024 * 1024,
  hangMs: 60_000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  maxRequestHeaderBytes: 8 * 1024,
  maxQueryLineBytes: 1024,
  maxConnections: 1024,
  transferRate: 0.03,
  /** the registries' trees; 'flat' (every address in one network) is kept for comparison */
  world: 'nested',
  worldSeed: 0x5eed,
  leafDensity: 1
}

/** What callers may pass: any subset; budgets also partially or as a `--budget` string. */
export type SimulatorInit = Partial<Omit<SimulatorOptions, 'budgetPerSecond'>> & {
  budgetPerSecond?: Partial<Budgets> | string
}

/** "nested" → 'nested'. Throws SimulatorOptionsError. */
export function parseWorldKind (text: string): WorldKind {
  if (!(WORLD_KINDS as readonly string[]).includes(text)) throw new SimulatorOptionsError(`world: must be ${WORLD_KINDS.join(' or ')}, got "${text}"`)
  return text as WorldKind
}

/** "25" → 25; "10-50" → [10, 50]. Throws SimulatorOptionsError. */
export function parseLatency (text: string): number | [number, number] {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*(?:ms)?\s*$/.exec(text)
  if (m == null) throw new SimulatorOptionsError(`latencyMs: "${text}" is not N or MIN-MAX (milliseconds)`)
  return m[2] === undefined ? Number(m[1]) : [Number(m[1]), Number(m[2])]
}

/** "reset,huge" → ['reset', 'huge']. Throws SimulatorOptionsError naming the unknown kind. */
export function parseFaultKinds (text: string): FaultKind[] {
  const kinds = text.split(',').map(s => s.trim()).filter(s => s !== '')
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new SimulatorOptionsError(`faultKinds: unknown fault "${k}" (expected ${FAULT_KINDS.join(', ')})`)
  }
  if (kinds.length === 0) throw new SimulatorOptionsError('faultKinds: empty list')
  return kinds as FaultKind[]
}

/** Fills defaults and checks every field. */
export function resolveSimulatorOptions (init: SimulatorInit = {}): SimulatorOptions {
  const defined = Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined)) as SimulatorInit
  const { budgetPerSecond: budgetInit, ...rest } = defined
  let budgetPerSecond: Budgets
  if (typeof budgetInit === 'string') {
    try {
      budgetPerSecond = parseBudgets(budgetInit, defaultSimulatorOptions.budgetPerSecond)
    } catch (err) {
      throw new SimulatorOptionsError(`budgetPerSecond: ${(err as Error).message}`)
    }
  } else {
    budgetPerSecond = { ...defaultSimulatorOptions.budgetPerSecond, ...(budgetInit ?? {}) }
  }
  const o: SimulatorOptions = { ...defaultSimulatorOptions, ...rest, budgetPerSecond }
  const fail = (field: string, msg: string): never => { throw new SimulatorOptionsError(`${field} ${msg}`) }
  const port = (field: string, v: unknown): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) fail(field, `must be a port number 0–65535, got ${String(v)}`)
  }
  const positive = (field: keyof SimulatorOptions, allowZero = false): void => {
    const v = o[field]
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) fail(field, `must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(v)}`)
  }
  if (typeof o.host !== 'string' || o.host === '') fail('host', 'must be a host name or address')
  port('controlPort', o.controlPort)
  for (const field of ['rdapPorts', 'whoisPorts'] as const) {
    for (const [id, p] of Object.entries(o[field])) {
      if (!isRegistryId(id)) fail(`${field}.${id}`, `is no registry (expected ${REGISTRY_IDS.join(', ')})`)
      port(`${field}.${id}`, p)
    }
  }
  for (const id of REGISTRY_IDS) {
    const b = o.budgetPerSecond[id]
    if (typeof b !== 'number' || !Number.isFinite(b) || b <= 0) fail(`budgetPerSecond.${id}`, `must be a positive number, got ${String(b)}`)
  }
  for (const f of ['burstSeconds', 'banWindowMs', 'hugeBytes', 'requestTimeoutMs', 'idleTimeoutMs', 'maxRequestHeaderBytes', 'maxQueryLineBytes', 'maxConnections'] as const) positive(f)
  for (const f of ['banMs', 'hangMs'] as const) positive(f, true)
  if (!Number.isInteger(o.banAfterOverBudget) || o.banAfterOverBudget < 1) fail('banAfterOverBudget', `must be an integer ≥ 1, got ${String(o.banAfterOverBudget)}`)
  const lat = o.latencyMs
  if (Array.isArray(lat)) {
    if (lat.length !== 2 || !lat.every(x => typeof x === 'number' && Number.isFinite(x) && x >= 0) || lat[0] > lat[1]) fail('latencyMs', `must be [min, max] with 0 ≤ min ≤ max, got ${JSON.stringify(lat)}`)
  } else if (typeof lat !== 'number' || !Number.isFinite(lat) || lat < 0) {
    fail('latencyMs', `must be a non-negative number or [min, max], got ${String(lat)}`)
  }
  for (const f of ['faultRate', 'transferRate'] as const) {
    if (typeof o[f] !== 'number' || !(o[f] >= 0 && o[f] <= 1)) fail(f, `must be between 0 and 1, got ${String(o[f])}`)
  }
  if (!Array.isArray(o.faultKinds) || o.faultKinds.length === 0 || o.faultKinds.some(k => !(FAULT_KINDS as readonly string[]).includes(k))) {
    fail('faultKinds', `must be a non-empty list of ${FAULT_KINDS.join(', ')}, got ${JSON.stringify(o.faultKinds)}`)
  }
  if (!Array.isArray(o.faultRegistries) || o.faultRegistries.length === 0 || o.faultRegistries.some(r => !isRegistryId(r))) {
    fail('faultRegistries', `must be a non-empty list of ${REGISTRY_IDS.join(', ')}, got ${JSON.stringify(o.faultRegistries)}`)
  }
  if (!Number.isInteger(o.seed)) fail('seed', `must be an integer, got ${String(o.seed)}`)
  if (!Number.isInteger(o.worldSeed)) fail('worldSeed', `must be an integer, got ${String(o.worldSeed)}`)
  if (typeof o.leafDensity !== 'number' || !(o.leafDensity > 0 && o.leafDensity <= 1)) fail('leafDensity', `must be above 0 and at most 1, got ${String(o.leafDensity)}`)
  if (!(WORLD_KINDS as readonly unknown[]).includes(o.world)) fail('world', `must be ${WORLD_KINDS.join(' or ')}, got ${JSON.stringify(o.world)}`)
  return o
}

/**
 * A change of the fault plan while the simulator runs (`POST /faults`): any subset of
 * `rate` (0–1), `kinds` (list or comma-separated), `registries` (list, comma-separated, or
 * "all"), `hugeBytes`, `hangMs`. Throws SimulatorOptionsError naming the bad field.
 */
export interface FaultsUpdate {
  faultRate?: number
  faultKinds?: FaultKind[]
  faultRegistries?: RegistryId[]
  hugeBytes?: number
  hangMs?: number
}

const FAULTS_UPDATE_FIELDS = ['rate', 'kinds', 'registries', 'hugeBytes', 'hangMs']

function listField (field: string, v: unknown): string[] {
  if (typeof v === 'string') return v.split(',').map(s => s.trim()).filter(s => s !== '')
  if (Array.isArray(v) && v.every(x => typeof x === 'string')) return v
  throw new SimulatorOptionsError(`${field}: must be a list of names or a comma-separated string, got ${JSON.stringify(v)}`)
}

function registriesField (field: string, v: unknown): RegistryId[] {
  const names = v === 'all' ? [...REGISTRY_IDS] : listField(field, v)
  if (names.length === 0) throw new SimulatorOptionsError(`${field}: empty list (use "all" for every registry)`)
  for (const n of names) if (!isRegistryId(n)) throw new SimulatorOptionsError(`${field}: unknown registry "${n}" (expected ${REGISTRY_IDS.join(', ')} or "all")`)
  return names as RegistryId[]
}

export function parseFaultsUpdate (body: unknown): FaultsUpdate {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SimulatorOptionsError('body: must be a JSON object')
  const b = body as Record<string, unknown>
  for (const k of Object.keys(b)) if (!FAULTS_UPDATE_FIELDS.includes(k)) throw new SimulatorOptionsError(`${k}: unknown field (expected ${FAULTS_UPDATE_FIELDS.join(', ')})`)
  const u: FaultsUpdate = {}
  if (b.rate !== undefined) {
    if (typeof b.rate !== 'number' || !(b.rate >= 0 && b.rate <= 1)) throw new SimulatorOptionsError(`rate: must be between 0 and 1, got ${JSON.stringify(b.rate)}`)
    u.faultRate = b.rate
  }
  if (b.kinds !== undefined) u.faultKinds = parseFaultKinds(listField('kinds', b.kinds).join(','))
  if (b.registries !== undefined) u.faultRegistries = registriesField('registries', b.registries)
  for (const f of ['hugeBytes', 'hangMs'] as const) {
    const v = b[f]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isInteger(v) || v < (f === 'hangMs' ? 0 : 1)) throw new SimulatorOptionsError(`${f}: must be an integer ≥ ${f === 'hangMs' ? 0 : 1}, got ${JSON.stringify(v)}`)
    u[f] = v
  }
  return u
}

export const STORM_MODES = ['rate-limit', 'ban'] as const
/**
 * - rate-limit: every query of the registry is answered 429 / "rate limit exceeded" with
 *   `retryAfterSeconds`, whatever the budget
 * - ban: every client is banned by the registry (403, LACNIC 429, WHOIS "access denied") until
 *   the storm ends; Retry-After is the time left
 */
export type StormMode = typeof STORM_MODES[number]

/** A storm (`POST /storm`): `mode`, `ms` (0 ends the storms of those registries), `registries`, `retryAfterSeconds`. */
export interface StormRequest {
  mode: StormMode
  ms: number
  registries: RegistryId[]
  /** rate-limit mode: the Retry-After sent (default 1) */
  retryAfterSeconds: number
}

const STORM_FIELDS = ['mode', 'ms', 'registries', 'retryAfterSeconds']

export function parseStormRequest (body: unknown): StormRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SimulatorOptionsError('body: must be a JSON object')
  const b = body as Record<string, unknown>
  for (const k of Object.keys(b)) if (!STORM_FIELDS.includes(k)) throw new SimulatorOptionsError(`${k}: unknown field (expected ${STORM_FIELDS.join(', ')})`)
  const mode = b.mode ?? 'rate-limit'
  if (!(STORM_MODES as readonly unknown[]).includes(mode)) throw new SimulatorOptionsError(`mode: must be ${STORM_MODES.join(' or ')}, got ${JSON.stringify(mode)}`)
  if (typeof b.ms !== 'number' || !Number.isFinite(b.ms) || b.ms < 0 || b.ms > 24 * 3600_000) throw new SimulatorOptionsError(`ms: must be a number of milliseconds 0–86400000, got ${JSON.stringify(b.ms)}`)
  const registries = b.registries === undefined ? [...REGISTRY_IDS] : registriesField('registries', b.registries)
  const retryAfterSeconds = b.retryAfterSeconds ?? 1
  if (typeof retryAfterSeconds !== 'number' || !Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 1) throw new SimulatorOptionsError(`retryAfterSeconds: must be an integer ≥ 1, got ${JSON.stringify(retryAfterSeconds)}`)
  return { mode: mode as StormMode, ms: b.ms, registries, retryAfterSeconds }
}
